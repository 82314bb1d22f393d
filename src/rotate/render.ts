// `rotate status` for people.
import { CA_CERT, CLIENT_CA_CERT } from '../core/cert-names.js';
import type { RotationKind } from './state.js';
import type { RotateStatus } from './status.js';

const ago = (iso: string | undefined): string => iso ?? '-';

/** One rotation's status; `kind` says which when none is under way (the status then has no kind). */
export function renderRotateStatus(s: RotateStatus, kind: RotationKind = s.kind ?? 'ca'): string {
  const L = kind === 'client-ca' ? 'client CA' : 'CA';
  const bundle = kind === 'client-ca' ? CLIENT_CA_CERT : CA_CERT;
  if (s.id === null) {
    const lines = [`No ${L} rotation under way (${s.stateFile} does not exist).`];
    for (const p of s.problems) lines.push(`INCONSISTENT: ${p.code}: ${p.message}`);
    if (s.next.command) lines.push(`Next: ${s.next.command}`);
    return `${lines.join('\n')}\n`;
  }
  const lines: string[] = [];
  lines.push(`${L.charAt(0).toUpperCase()}${L.slice(1)} rotation ${s.id}${s.compromised ? ' (compromised key)' : ''}: phase ${s.phase}${s.pending ? `, entering ${s.pending} (interrupted: rerun ${s.next.command ?? 'certgen rotate continue'})` : ''}${s.aborting ? ', aborting' : ''}`);
  lines.push(`  signing ${L}: ${s.signing ?? '-'}    ${bundle}: [${s.bundle.join(', ')}]`);
  lines.push(`  old ${L} ${s.old?.sha256.slice(0, 16) ?? '-'}… expires ${s.old?.notAfter ?? '-'}`);
  lines.push(`  new ${L} ${s.new?.sha256.slice(0, 16) ?? '-'}… expires ${s.new?.notAfter ?? '-'}`);
  lines.push(`  deadline (trust and reissue done by): ${s.deadline ?? '-'}`);
  for (const [p, at] of Object.entries(s.reached)) lines.push(`  ${p.padEnd(9)} reached ${at}`);
  if (s.problems.length > 0) {
    lines.push('', 'INCONSISTENT: the tree and the rotation state disagree (certgen never repairs this):');
    for (const p of s.problems) lines.push(`  ${p.code}: ${p.message}`);
  }
  if (s.next.command) {
    lines.push('', `Next: ${s.next.command}${s.next.phase ? ` (to ${s.next.phase})` : ''}`);
    for (const n of s.next.needs) lines.push(`  - ${n}`);
  }
  if (s.nodes.length > 0) {
    lines.push('', 'Nodes:');
    for (const n of s.nodes) {
      lines.push(
        `  ${n.name}${n.ssh ? '' : ' (no ssh)'}: ${bundle} [${n.bundle.join(', ')}], leaf by ${n.leafSignedBy}; bundle shipped ${ago(n.bundleShippedAt ?? n.operatorShippedAt)}, trust verified ${ago(n.trustVerifiedAt)}, new leaf served ${ago(n.leafServedAt)}, prune verified ${ago(n.pruneVerifiedAt)}`,
      );
    }
  }
  if (s.clients.length > 0) {
    lines.push('', 'Clients:');
    for (const c of s.clients) lines.push(`  ${c.user}: leaf by ${c.leafSignedBy}; new certificate issued ${ago(c.issuedAt)}, acknowledged ${ago(c.ackedAt)}`);
  }
  return `${lines.join('\n')}\n`;
}
