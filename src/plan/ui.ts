// Pure: a node's provided DB Console files (`ui:`) against their copies in its folder. certgen never
// makes or renews these (they come from a public or organisational CA): it checks what it is given
// (readable, a certificate and its key, the pair matching; expiry is a warning) and copies it in as
// ui.crt, ui.key (0600) and ca-ui.crt, the copies planned from the bytes read with the tree.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { keyMatchesCert, type KeyFacts } from '../pki/read/key.js';
import type { CertFacts } from '../pki/read/cert.js';
import { formatDuration, formatMs } from '../core/duration.js';
import { UI_CA_CERT, UI_CERT, UI_KEY } from '../core/cert-names.js';
import { CERT_MODE, KEY_MODE, NODES_DIR, nodeDir } from '../tree/layout.js';
import { certsOf, keyOf, typeText, type ActualTree, type FileFact } from '../tree/read-tree.js';
import type { ClusterSpec, NodeSpec } from '../cluster-spec/spec.js';
import { modeReason, symlinkError } from './file-reasons.js';
import type { Change, ChmodOp, PlanError, Reason, WriteOp } from './types.js';

interface UiInput {
  spec: ClusterSpec;
  tree: ActualTree;
  now: Date;
}

interface Source {
  /** The copy's name in the node's folder. */
  name: string;
  /** The provided file (absolute). */
  file: string;
  what: string;
  mode: number;
}

/**
 * Plans every node's UI copies: adds their changes to `changes` (right after the node's own, in
 * place of its `keep`) and returns the problems with the provided files (errors that stop apply:
 * the operator must fix them) and warnings (an expiring UI certificate certgen cannot renew).
 */
export function planUi(input: UiInput, blockedTops: Set<string>, changes: Change[]): { errors: PlanError[]; warnings: string[] } {
  const errors: PlanError[] = [];
  const warnings: string[] = [];
  const byArtifact = new Map<string, Change>();
  if (blockedTops.has(NODES_DIR)) return { errors, warnings };
  // The provided files are checked once per distinct ui: block (defaults.ui serves every node), and
  // each problem is said once, naming the nodes that use them.
  const checked = new Map<string, Checked>();
  const users = new Map<Checked, NodeSpec[]>();
  for (const n of input.spec.nodes) {
    if (!n.ui) continue;
    const id = JSON.stringify([n.ui.cert, n.ui.key, n.ui.ca ?? '']);
    let got = checked.get(id);
    if (!got) {
      checked.set(id, (got = checkProvided(input, n.ui)));
      users.set(got, []);
    }
    users.get(got)?.push(n);
    if (got.problems.length > 0) continue;
    const c = planNode(input, n, got, errors);
    if (c) byArtifact.set(c.artifact, c);
  }
  const shown = shownFor(input.spec);
  for (const [got, nodes] of users) {
    const names = nodes.map((n) => n.name);
    const who = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
    for (const p of got.problems) errors.push({ artifact: names.length === 1 ? `node/${names[0]}` : 'ui', code: p.code, message: `${p.message} (the ui: of ${who})` });
    // An expiring UI certificate is the operator's to renew: a warning, once per file.
    if (!got.cert) continue;
    const file = shown(got.sources[0]?.file ?? '');
    const left = got.cert.notAfter.getTime() - input.now.getTime();
    const window = nodes.reduce((m, n) => (n.renewBefore > m ? n.renewBefore : m), 0n);
    if (left <= 0) warnings.push(`the provided UI certificate ${file} (the ui: of ${who}) expired on ${got.cert.notAfter.toISOString()}: browsers refuse it; get a new one from the CA that issued it (certgen only copies it)`);
    else if (BigInt(left) * 1_000_000n < window) {
      warnings.push(`the provided UI certificate ${file} (the ui: of ${who}) expires on ${got.cert.notAfter.toISOString()} (${formatMs(left)} left, less than renewBefore ${formatDuration(window)}): renew it with the CA that issued it (certgen only copies it)`);
    }
  }
  if (byArtifact.size === 0) return { errors, warnings };
  // One pass: each UI change after the node's last change; a `keep` beside it goes.
  const last = new Map<string, number>();
  changes.forEach((c, i) => last.set(c.artifact, i));
  const merged: Change[] = [];
  changes.forEach((c, i) => {
    const ui = byArtifact.get(c.artifact);
    if (!(ui && c.action === 'keep')) merged.push(c);
    if (ui && last.get(c.artifact) === i) merged.push(ui);
  });
  changes.splice(0, changes.length, ...merged);
  return { errors, warnings };
}

/** A ui: block's provided files, read and judged: what is wrong with them, or their bytes and facts. */
interface Checked {
  problems: { code: PlanError['code']; message: string }[];
  sources: Source[];
  bytes: Map<Source, Buffer>;
  cert?: CertFacts;
}

function shownFor(spec: ClusterSpec): (abs: string) => string {
  return (abs) => path.relative(spec.baseDir, abs).split(path.sep).join('/') || abs;
}

function checkProvided(input: UiInput, ui: NonNullable<NodeSpec['ui']>): Checked {
  const { spec, tree } = input;
  const shown = shownFor(spec);
  const sources: Source[] = [
    { name: UI_CERT, file: ui.cert, what: 'UI certificate', mode: CERT_MODE },
    { name: UI_KEY, file: ui.key, what: 'UI key', mode: KEY_MODE },
    ...(ui.ca ? [{ name: UI_CA_CERT, file: ui.ca, what: 'UI CA certificate', mode: CERT_MODE }] : []),
  ];
  const out: Checked = { problems: [], sources, bytes: new Map() };
  const fail = (code: PlanError['code'], message: string): Checked => {
    out.problems.push({ code, message });
    return out;
  };
  // Each must be readable and be what its key says.
  const bytes = out.bytes;
  for (const s of sources) {
    const f = tree.provided?.[s.file];
    const why = !f || f.type === 'missing' ? 'no such file' : f.type !== 'file' ? `it is ${typeText(f.type)}` : f.bytes ? undefined : (f.error ?? 'it cannot be read');
    if (why !== undefined) fail('unreadable', `the provided ${s.what} ${shown(s.file)} cannot be read (${why}): certgen copies it into the node's folder and never makes it; fix the path in ui:, or put the file there`);
    else bytes.set(s, f?.bytes as Buffer);
  }
  if (bytes.size < sources.length) return out;
  const [certSrc, keySrc, caSrc] = sources as [Source, Source, Source | undefined];
  let cert: CertFacts | undefined;
  let key: KeyFacts | undefined;
  try {
    cert = certsOf(fact(certSrc, bytes))[0];
  } catch (err) {
    fail('unreadable', `the provided UI certificate ${shown(certSrc.file)} is not a certificate CockroachDB can load (${(err as Error).message})`);
  }
  try {
    key = keyOf(fact(keySrc, bytes));
  } catch (err) {
    fail('unreadable', `the provided UI key ${shown(keySrc.file)} is not a private key CockroachDB can load (${(err as Error).message})`);
  }
  if (caSrc) {
    try {
      certsOf(fact(caSrc, bytes));
    } catch (err) {
      fail('unreadable', `the provided UI CA certificate ${shown(caSrc.file)} cannot be read as certificates (${(err as Error).message})`);
    }
  }
  if (!cert || !key) return out;
  if (!keyMatchesCert(key, cert)) return fail('key-mismatch', `the provided UI key ${shown(keySrc.file)} does not match the provided UI certificate ${shown(certSrc.file)}: CockroachDB would refuse the pair`);
  out.cert = cert;
  return out;
}

function planNode(input: UiInput, n: NodeSpec, got: Checked, errors: PlanError[]): Change | undefined {
  const { spec, tree } = input;
  const { sources, bytes } = got;
  const cert = got.cert as CertFacts;
  const shown = shownFor(spec);
  const artifact = `node/${n.name}`;
  const dir = nodeDir(n.name);
  const entry = (rel: string): FileFact => tree.entries[rel] ?? { rel, type: 'missing', mode: 0, uid: 0, gid: 0 };
  const dirFact = entry(dir);
  // What is wrong with the folder itself is the node's own plan's to say.
  if (dirFact.type !== 'dir' && dirFact.type !== 'missing') return undefined;
  const fail = (code: PlanError['code'], message: string): undefined => void errors.push({ artifact, code, message });
  // The copies: written when missing or not the provided bytes, else their modes fixed.
  const write: WriteOp[] = [];
  const chmod: ChmodOp[] = [];
  const reasons: Reason[] = [];
  let allMissing = true;
  const certsDirRel = (abs: string): string => path.relative(spec.certsDir, abs).split(path.sep).join('/');
  for (const s of sources) {
    const rel = `${dir}/${s.name}`;
    const have = entry(rel);
    const want = bytes.get(s) as Buffer;
    if (have.type === 'symlink') return fail('symlink', symlinkError(artifact, have, 'file').message);
    if (have.type === 'dir') return fail('unreadable', `${rel} is a folder where certgen keeps a file: move it away`);
    const same = have.type === 'file' && have.bytes !== undefined && have.bytes.equals(want);
    if (same) {
      const r = modeReason(rel, have.mode, s.mode);
      if (r) {
        reasons.push(r);
        chmod.push({ file: rel, mode: s.mode });
      }
      allMissing = false;
      continue;
    }
    if (have.type === 'missing') reasons.push({ code: 'missing', message: `${rel} does not exist: copied from ${shown(s.file)}`, file: rel });
    else {
      allMissing = false;
      reasons.push(copyReason(s, rel, have, cert, shown(s.file)));
    }
    write.push({ file: rel, content: 'copy', mode: s.mode, source: certsDirRel(s.file), sha256: createHash('sha256').update(want).digest('hex') });
  }
  if (write.length === 0 && chmod.length === 0) return undefined;
  const action = write.length === 0 ? 'fix-mode' : allMissing ? 'create' : 'reissue';
  return { artifact, kind: 'node', action, files: [...write.map((w) => w.file), ...chmod.map((c) => c.file)], reasons, ops: { write, chmod, remove: [] } };
}

/** A provided file as a fact, for the one reader of certificates and keys. */
function fact(s: Source, bytes: Map<Source, Buffer>): FileFact {
  return { rel: s.file, type: 'file', mode: 0, uid: 0, gid: 0, bytes: bytes.get(s) as Buffer };
}

/** Why a copy that differs from the provided file is copied again: a key that no longer fits the certificate says so. */
function copyReason(s: Source, rel: string, have: FileFact, cert: CertFacts, source: string): Reason {
  if (s.name === UI_KEY) {
    let fits = false;
    try {
      fits = keyMatchesCert(keyOf(have), cert);
    } catch {
      fits = false;
    }
    if (!fits) return { code: 'key-mismatch', message: `${rel} does not match the UI certificate ${source}: copied again`, file: rel };
  }
  return { code: 'source-changed', message: `${rel} differs from the provided ${source}: copied again`, file: rel };
}
