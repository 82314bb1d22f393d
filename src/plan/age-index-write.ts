// Pure: the age index after an apply: the entries of the .age files it keeps, and a fresh entry
// for each one it writes (plan/age-keys.ts says which). Apart from age-keys.ts because apply
// needs it with the plaintext and the ciphertext it has just made.
import { AGE_INDEX, encryptedCAKey, encryptedKeys } from '../tree/layout.js';
import type { ActualTree } from '../tree/read-tree.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { parseAgeIndex, renderAgeIndex, sha256Hex, type AgeIndexEntry } from './age-keys.js';
import type { WriteOp } from './types.js';

export function nextAgeIndex(tree: ActualTree, written: { op: WriteOp; plain: Buffer; armored: string | Uint8Array }[], spec: ClusterSpec): string {
  const before = parseAgeIndex(tree.entries[AGE_INDEX]?.bytes).files;
  const files: Record<string, AgeIndexEntry> = {};
  const ca = encryptedCAKey(spec);
  const keys = new Map(encryptedKeys(spec).map((k) => [k.age, k]));
  for (const age of [...keys.keys(), ...(ca ? [ca.age] : [])]) {
    const kept = before[age];
    if (kept) files[age] = kept;
  }
  for (const w of written) {
    const k = keys.get(w.op.file);
    // The CA key has no plaintext file: its entry names the CA key itself.
    files[w.op.file] = { key: k?.key ?? (w.op.caKey ? 'ca' : w.op.file.replace(/\.age$/, '')), plaintextSha256: sha256Hex(w.plain), recipients: [...(w.op.recipients ?? [])], ageSha256: sha256Hex(typeof w.armored === 'string' ? Buffer.from(w.armored) : w.armored) };
  }
  return renderAgeIndex(files);
}
