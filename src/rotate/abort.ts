// `certgen rotate abort`: back to the old CA alone, allowed only until a leaf signed by the new CA
// has been shipped to a node (after that, nodes serve it and the only way is forward). Every
// bundle returns to [old] (locally, and on the nodes that got [new, old]), a key switch not yet
// shipped is undone (apply then re-signs by the old CA what the new one signed), and the new key
// and the state file are removed. Resumable: a killed abort is finished by running it again.
// The same for the split client CA's rotation (its ca-client.crt and clientCa.key): target.ts.
import { promises as fs } from 'node:fs';
import { apply } from '../apply.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { distribute } from '../distribute/distribute.js';
import { reloadNode } from '../distribute/rollout.js';
import { writeFilesAtomic } from '../io/files.js';
import { sha256 } from '../journal/journal.js';
import { CERT_MODE, absolute } from '../tree/layout.js';
import { readTree } from '../tree/read-tree.js';
import { journalRotation, withApplyLock, withRotationLock } from './common.js';
import { requireCAKeyIdentity } from './keys.js';
import { rotationFacts } from './derive.js';
import { RotationError, inProgress, readRotationState, removeRotationState, resolveRecorded, rotationFileFor, writeRotationState, type RotationKind, type RotationState } from './state.js';
import { selectKind, targetOf } from './target.js';

export interface AbortResult {
  kind: RotationKind;
  id: string;
  /** The phase the rotation had reached. */
  from: string;
  /** Nodes whose ca.crt was shipped back to [old]. */
  reshipped: string[];
}

export async function rotateAbort(spec: ClusterSpec, opts: { now?: () => Date; onEvent?: (m: string) => void; identities?: readonly string[]; clientCa?: boolean } = {}): Promise<AbortResult> {
  const clock = opts.now ?? (() => new Date());
  const kind = await selectKind(spec, opts.clientCa);
  const t = targetOf(spec, kind);
  const COMMAND = `rotate abort${t.flag}`;
  if (kind === 'ca') requireCAKeyIdentity(spec, opts.identities);
  const ids = opts.identities ? { identities: opts.identities } : {};
  const say = opts.onEvent ?? (() => {});
  return withRotationLock(spec, async () => {
    const state = await readRotationState(spec, kind);
    if (!inProgress(state)) throw new RotationError('no-rotation', `no ${t.label} rotation is under way`, `certgen rotate status${t.flag} shows the state`);
    const s: RotationState = state;
    const shipped = Object.entries(s.nodes).filter(([, o]) => o.leafShippedAt !== undefined).map(([n]) => n);
    if (shipped.length > 0 || !(s.phase === 'staged' || s.phase === 'trusted')) {
      const what = kind === 'ca' ? 'nodes serve leaves of the new CA' : 'nodes hold client.node.crt of the new client CA';
      throw new RotationError('abort-refused', `rotation ${s.id} is ${s.phase}${shipped.length > 0 ? ` and ${shipped.join(', ')} already got a certificate signed by the new ${t.label}` : ''}: ${what}, so the only way is forward`, `certgen rotate continue${t.flag}`);
    }
    s.aborting ??= clock().toISOString();
    await writeRotationState(spec, s);
    const next = resolveRecorded(spec, s.newKey);
    const archive = resolveRecorded(spec, s.oldKeyArchive);
    await withApplyLock(spec, async () => {
      // Undo a key switch (the reverse two renames), then the bundle.
      const f = await rotationFacts(spec, await readTree(spec, ids), s, opts.identities);
      if (f.signingKey === 'new' && f.nextKey === 'missing') await fs.rename(t.key, next);
      const g = await rotationFacts(spec, await readTree(spec, ids), s, opts.identities);
      if (g.signingKey === 'missing' && g.archiveKey === 'old') await fs.rename(archive, t.key);
      s.signing = 'old';
      const file = absolute(spec, t.bundle);
      const before = await fs.readFile(file).catch(() => undefined);
      if (!before?.equals(Buffer.from(s.old.pem))) {
        await writeFilesAtomic([{ path: file, data: s.old.pem, mode: CERT_MODE, exclusive: false }]);
        await journalRotation(spec, COMMAND, clock(), [{ file, op: 'write', old: before ? sha256(before) : null, mode: CERT_MODE, reason: 'rotation-aborted', artifact: t.artifact }]);
      }
    });
    await writeRotationState(spec, s);
    const r = await apply(spec, { journal: { command: COMMAND }, ...ids });
    if (r.applied.length > 0) say(`apply: ${r.applied.length} change${r.applied.length === 1 ? '' : 's'}`);
    // The nodes that may hold [new, old] get [old] back.
    const reshipped: string[] = [];
    for (const node of spec.nodes) {
      const o = s.nodes[node.name];
      if (node.ssh === undefined || (o?.bundleShippedAt === undefined && o?.trustVerifiedAt === undefined)) continue;
      const d = await distribute(spec, { nodes: [node.name], journal: { command: COMMAND } });
      const r = d.targets[0];
      if (r === undefined || r.status === 'failed') throw new RotationError('abort-refused', `node ${node.name}: cannot ship ${t.bundle} back: ${r?.error ?? 'not distributed'}`, `fix it and rerun certgen rotate abort${t.flag}`);
      if (r.status === 'unchanged' && node.reload !== undefined) await reloadNode(spec, node.name);
      reshipped.push(node.name);
      say(`node ${node.name}: ${t.bundle} back to the old ${t.label} alone`);
    }
    await withApplyLock(spec, async () => {
      const keyBytes = await fs.readFile(next).catch(() => undefined);
      await fs.rm(next, { force: true });
      await removeRotationState(spec, kind);
      await journalRotation(spec, COMMAND, clock(), [
        ...(keyBytes ? [{ file: next, op: 'remove' as const, old: sha256(keyBytes), new: null, reason: 'rotation-aborted', artifact: t.artifact }] : []),
        { file: rotationFileFor(spec.file, kind), op: 'remove', old: null, new: null, reason: 'rotation-aborted', artifact: 'rotation' },
      ]);
    });
    return { kind, id: s.id, from: s.phase, reshipped };
  });
}
