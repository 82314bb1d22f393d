// Pure: the `<key>.age` copies of the keys the spec encrypts (`encrypt: { age: [...] }`), and their
// index. age output is random, so an .age file is written only when what it must hold changed:
// a new key (create, reissue), a key that is not the one the index says the file holds, other
// recipients, or a missing file. The index (AGE_INDEX, committed with the certificates) records,
// per file, the SHA-256 of the plaintext key, the recipients and the SHA-256 of the file itself,
// so the plan can tell all of that without decrypting. A key restored from its .age file (read
// with an identity, tree/age-facts.ts) is a `restore`: written, not reissued.
import { createHash } from 'node:crypto';
import { AGE_FILE_MODE, AGE_INDEX, KEY_MODE, encryptedCAKey, encryptedKeys, type EncryptedKey } from '../tree/layout.js';
import type { ActualTree } from '../tree/read-tree.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import type { Change, PlanError, Reason } from './types.js';

export const AGE_INDEX_FORMAT = 'certgen-age-index';

/** What one `.age` file holds. */
export interface AgeIndexEntry {
  key: string;
  plaintextSha256: string;
  recipients: string[];
  ageSha256: string;
}

export interface AgeIndex {
  format: typeof AGE_INDEX_FORMAT;
  version: 1;
  /** By `.age` file, relative to the certs dir. */
  files: Record<string, AgeIndexEntry>;
}

export const sha256Hex = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** The index as read (an unreadable or foreign one is empty: every .age is then rewritten once). */
export function parseAgeIndex(bytes: Buffer | undefined): AgeIndex {
  const empty: AgeIndex = { format: AGE_INDEX_FORMAT, version: 1, files: {} };
  if (!bytes) return empty;
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Partial<AgeIndex>;
    if (v.format !== AGE_INDEX_FORMAT || v.version !== 1 || typeof v.files !== 'object' || v.files === null) return empty;
    return { ...empty, files: v.files };
  } catch {
    return empty;
  }
}

/** The index's bytes: sorted, so the same content is the same file. */
export function renderAgeIndex(files: Record<string, AgeIndexEntry>): string {
  const sorted: Record<string, AgeIndexEntry> = {};
  for (const k of Object.keys(files).sort()) {
    const e = files[k] as AgeIndexEntry;
    sorted[k] = { key: e.key, plaintextSha256: e.plaintextSha256, recipients: [...e.recipients].sort(), ageSha256: e.ageSha256 };
  }
  return `${JSON.stringify({ format: AGE_INDEX_FORMAT, version: 1, files: sorted }, null, 2)}\n`;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** Why `k`'s .age file must be written (undefined: it holds the key for these recipients). */
function staleness(k: EncryptedKey, tree: ActualTree, index: AgeIndex): Reason | undefined {
  const age = tree.entries[k.age];
  const key = tree.entries[k.key];
  if (!age || age.type === 'missing') return { code: 'missing', message: `${k.age} does not exist: the key is encrypted for ${k.recipients.length} recipient${k.recipients.length === 1 ? '' : 's'}`, file: k.age };
  const e = index.files[k.age];
  if (!e || !key?.bytes || !age.bytes || e.plaintextSha256 !== sha256Hex(key.bytes) || e.ageSha256 !== sha256Hex(age.bytes)) {
    return { code: 'age-stale', message: `${k.age} is not known to hold ${k.key} (${AGE_INDEX} says otherwise, or the file changed): it is encrypted again`, file: k.age };
  }
  if (!sameSet(e.recipients, k.recipients)) {
    const added = k.recipients.filter((r) => !e.recipients.includes(r));
    const removed = e.recipients.filter((r) => !k.recipients.includes(r));
    return { code: 'age-recipients-changed', message: `${k.age} is encrypted for other recipients (${[...added.map((r) => `+${r.slice(0, 12)}…`), ...removed.map((r) => `-${r.slice(0, 12)}…`)].join(' ')}): it is encrypted again`, file: k.age, added, removed };
  }
  return undefined;
}

/** The key written from its `.age` file (decrypted by the read), the pair kept. */
function restoreChange(k: EncryptedKey): Change {
  return {
    artifact: k.artifact,
    kind: k.kind,
    action: 'restore',
    files: [k.key],
    reasons: [{ code: 'key-missing', message: `${k.key} does not exist: it is decrypted from ${k.age} (0600), and the pair is kept`, file: k.key }],
    ops: { write: [{ file: k.key, content: 'key', mode: KEY_MODE, from: k.age }], chmod: [], remove: [] },
  };
}

/**
 * `certgen decrypt`'s program: every key the read restored, whatever else the plan would do to its
 * pair, and a `.pk8` the spec wants and is missing, derived again from its restored key.
 */
export function restoreChanges(spec: ClusterSpec, tree: ActualTree): Change[] {
  const out: Change[] = [];
  for (const k of encryptedKeys(spec)) {
    if (tree.entries[k.key]?.restoredFrom === undefined) continue;
    out.push(restoreChange(k));
    const pk8 = `${k.key}.pk8`;
    const wantsPk8 = spec.clients.some((c) => c.pkcs8 && k.artifact === `client/${c.user}`);
    if (wantsPk8 && (tree.entries[pk8] === undefined || tree.entries[pk8]?.type === 'missing')) {
      out.push({ artifact: k.artifact, kind: k.kind, action: 'create', files: [pk8], reasons: [{ code: 'missing', message: `${pk8} does not exist: written from the restored key`, file: pk8 }], ops: { write: [{ file: pk8, content: 'pkcs8', mode: KEY_MODE, from: k.key }], chmod: [], remove: [] } });
    }
  }
  return out;
}

/**
 * Adds the .age writes to the leaves' changes (a new key is encrypted in the same change), an
 * `update` per stale .age file, a `restore` per restored key, the index's change, and the errors
 * of keys that cannot be restored. Mutates only the changes this diff made.
 */
export function diffAgeKeys(spec: ClusterSpec, tree: ActualTree, out: { changes: Change[]; errors: PlanError[]; warnings: string[] }): void {
  for (const l of tree.lockedKeys ?? []) {
    // Missing only because it is encrypted: that is the error, not a reissue. A pair due anyway
    // (expired, hosts changed, …) gets a new key and .age file, so nothing needs restoring.
    const i = out.changes.findIndex((c) => c.artifact === l.artifact && c.ops.newKey !== undefined);
    const issuing = out.changes[i];
    const onlyMissing = issuing !== undefined && issuing.reasons.every((r) => r.code === 'key-missing' || r.code === 'mode-too-open' || r.code === 'mode-changed');
    if (issuing !== undefined && !onlyMissing) continue;
    if (issuing !== undefined) out.changes.splice(i, 1);
    out.errors.push({ artifact: l.artifact, code: l.code, message: l.message });
  }
  const keys = encryptedKeys(spec);
  const indexFact = tree.entries[AGE_INDEX];
  const index = parseAgeIndex(indexFact?.bytes);
  const caAge = encryptedCAKey(spec);
  let indexStale = Object.keys(index.files).some((f) => !keys.some((k) => k.age === f) && f !== caAge?.age);
  if (diffCAKeyAge(spec, tree, index, out)) indexStale = true;
  const dropKeep = (artifact: string): void => {
    const i = out.changes.findIndex((c) => c.artifact === artifact && c.action === 'keep');
    if (i >= 0) out.changes.splice(i, 1);
  };
  for (const k of keys) {
    if (tree.lockedKeys?.some((l) => l.key === k.key) && !out.changes.some((c) => c.artifact === k.artifact && c.ops.newKey !== undefined)) continue;
    const ageWrite = { file: k.age, content: 'key-age' as const, mode: AGE_FILE_MODE, recipients: [...k.recipients] };
    const issuing = out.changes.find((c) => c.artifact === k.artifact && c.ops.newKey !== undefined && c.ops.write.some((w) => w.file === k.key));
    if (issuing) {
      issuing.ops.write.push(ageWrite);
      issuing.files.push(k.age);
      indexStale = true;
      continue;
    }
    const key = tree.entries[k.key];
    if (key?.type !== 'file' || !key.bytes) continue; // the leaf's own change or error says why
    if (key.restoredFrom !== undefined) {
      dropKeep(k.artifact);
      out.changes.push(restoreChange(k));
    }
    const why = staleness(k, tree, index);
    if (!why) continue;
    dropKeep(k.artifact);
    indexStale = true;
    out.changes.push({ artifact: k.artifact, kind: k.kind, action: 'update', files: [k.age], reasons: [why], ops: { write: [{ ...ageWrite, from: k.key }], chmod: [], remove: [] } });
  }
  if (!indexStale) return;
  const exists = indexFact !== undefined && indexFact.type !== 'missing';
  out.changes.push({
    artifact: AGE_INDEX,
    kind: 'file',
    action: exists ? 'update' : 'create',
    files: [AGE_INDEX],
    reasons: [exists ? { code: 'age-index-stale', message: `${AGE_INDEX} is rewritten for the .age files this apply writes or no longer keeps`, file: AGE_INDEX } : { code: 'missing', message: `${AGE_INDEX} does not exist: it records what each .age file holds (hashes and recipients, nothing secret)`, file: AGE_INDEX }],
    ops: { write: [{ file: AGE_INDEX, content: 'age-index', mode: AGE_FILE_MODE }], chmod: [], remove: [] },
  });
}

/**
 * The CA key's `.age` file (caKey ending in .age) kept like a leaf's: recorded in the index and
 * encrypted again, from the key decrypted in memory, when the recipients changed or the index does
 * not vouch for the file. X25519 stanzas do not name their recipient, so only the index can say
 * who a file is for: a file it does not record (an older certgen's index, a rotation's switch, a
 * restore from backup) is encrypted once again when the key is open to this run, and then
 * recorded. Without the CA's identity (CI holds the leaf keys' only) that is a warning, never an
 * error: nothing else waits for it. True when the index must be written.
 */
function diffCAKeyAge(spec: ClusterSpec, tree: ActualTree, index: AgeIndex, out: { changes: Change[]; errors: PlanError[]; warnings: string[] }): boolean {
  const ca = encryptedCAKey(spec);
  if (ca === undefined) return false;
  const created = out.changes.find((c) => c.artifact === 'ca' && c.ops.write.some((w) => w.content === 'ca-key-age'));
  if (created) return true;
  const key = tree.caKey;
  // Missing, a dangling link, damaged: the CA's own error or change says so.
  if (key.type !== 'file' || !key.armored || key.sealed?.kind === 'corrupt') return false;
  if (out.errors.some((e) => e.artifact === 'ca')) return false;
  const e = index.files[ca.age];
  const open = key.bytes !== undefined && key.sealed === undefined;
  const n = `${ca.recipients.length} recipient${ca.recipients.length === 1 ? '' : 's'}`;
  let why: Reason | undefined;
  let warning: string | undefined;
  if (!e || e.ageSha256 !== sha256Hex(key.armored) || (open && e.plaintextSha256 !== sha256Hex(key.bytes as Buffer))) {
    const detail = !e ? `${AGE_INDEX} has no entry for it (an older certgen, or a rotation, wrote the file)` : `the file is not the one ${AGE_INDEX} records (a rotation's switch, a restore, an edit)`;
    why = { code: 'age-stale', message: `the CA key ${ca.age} is not known to be encrypted for the spec's recipients: ${detail}, and age does not say who a file is for; it is encrypted again for ${n} and recorded`, file: ca.age };
    warning = `the CA key ${ca.age} cannot be vouched for: ${detail}, and age does not say who a file is for`;
  } else if (!sameSet(e.recipients, ca.recipients)) {
    const added = ca.recipients.filter((r) => !e.recipients.includes(r));
    const removed = e.recipients.filter((r) => !ca.recipients.includes(r));
    const change = [...added.map((r) => `+${r.slice(0, 12)}…`), ...removed.map((r) => `-${r.slice(0, 12)}…`)].join(' ');
    why = { code: 'age-recipients-changed', message: `the CA key ${ca.age} is encrypted for other recipients (${change}): it is encrypted again`, file: ca.age, added, removed };
    warning = `the CA key ${ca.age} is encrypted for other recipients than the spec lists (${change})`;
  }
  if (why === undefined) return false;
  if (!open) {
    out.warnings.push(`${warning ?? ''}; encrypting it again needs the CA key decrypted: run certgen apply --identity <admin identity> (the rest of the plan does not wait for it)`);
    return false;
  }
  const i = out.changes.findIndex((c) => c.artifact === 'ca' && c.action === 'keep');
  if (i >= 0) out.changes.splice(i, 1);
  out.changes.push({ artifact: 'ca', kind: 'ca', action: 'update', files: [ca.age], reasons: [why], ops: { write: [{ file: ca.age, caKey: true, content: 'ca-key-age', mode: KEY_MODE, recipients: [...ca.recipients] }], chmod: [], remove: [] } });
  return true;
}
