// A fresh checkout holds the certificates and the `<key>.age` files but no plaintext key. With an
// age identity the read step decrypts them, so the tree plan and apply see holds the keys (marked
// `restoredFrom`) and the pair is kept, not reissued; without one, or when a file cannot be
// decrypted or holds a key that is not the certificate's, that is a fact the plan turns into an
// error. Decryption happens here, once, for plan and apply alike; the key never leaves memory.
import { AgeError, decryptArmored } from '../pki/age.js';
import { keyMatchesCert } from '../pki/read/key.js';
import { readCertificateFile, readKeyFile } from '../pki/read/file.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { CertgenError } from '../errors.js';
import { encryptedKeys } from './layout.js';

/** A key that exists only as its `.age` file and cannot be restored now. */
export interface LockedKey {
  artifact: string;
  key: string;
  age: string;
  code: 'age-identity-needed' | 'age-unreadable';
  message: string;
}

/** What the reader has of a file (read-tree.ts's FileFact, the part used here). */
interface Read {
  type: string;
  bytes?: Buffer;
}

/**
 * Decrypts every encrypted key that is missing while its `.age` file and its certificate are
 * there: the keys restored (their plaintext) and the ones that cannot be.
 */
export async function restoreEncryptedKeys(spec: ClusterSpec, entries: Readonly<Record<string, Read>>, identities: readonly string[] | undefined): Promise<{ restored: { key: string; age: string; bytes: Buffer }[]; locked: LockedKey[] }> {
  const locked: LockedKey[] = [];
  const restored: { key: string; age: string; bytes: Buffer }[] = [];
  await Promise.all(
    encryptedKeys(spec).map(async (k) => {
      const key = entries[k.key];
      const age = entries[k.age];
      const cert = entries[k.cert];
      // Only a missing key is restored, and only beside its certificate (without one the pair is made anew).
      if (key !== undefined || age?.type !== 'file' || !age.bytes || cert?.type !== 'file' || !cert.bytes) return;
      if (!identities || identities.length === 0) {
        locked.push({ artifact: k.artifact, key: k.key, age: k.age, code: 'age-identity-needed', message: `${k.key} exists only encrypted, as ${k.age}: give an age identity (--identity FILE, or CERTGEN_AGE_IDENTITY) to restore it; certgen will not reissue a key it can restore` });
        return;
      }
      let plaintext: Buffer;
      try {
        plaintext = Buffer.from(await decryptArmored(age.bytes.toString('latin1'), identities, k.age));
      } catch (err) {
        if (!(err instanceof CertgenError)) throw err;
        locked.push({ artifact: k.artifact, key: k.key, age: k.age, code: 'age-unreadable', message: `${err.message}; nothing is restored or reissued until it can be (restore ${k.age} from git, or remove it to have the pair reissued)` });
        return;
      }
      let first;
      try {
        [first] = readCertificateFile(cert.bytes);
      } catch {
        return; // an unreadable certificate is the plan's to report (the pair is reissued)
      }
      let matches = false;
      try {
        matches = first !== undefined && keyMatchesCert(readKeyFile(plaintext), first);
      } catch {
        matches = false;
      }
      if (!matches) {
        // A key that is not the certificate's must not be written (nor the pair reissued over its .age).
        locked.push({ artifact: k.artifact, key: k.key, age: k.age, code: 'age-unreadable', message: `${k.age} does not hold the key of ${k.cert} (a .age file of another key?): restore it from git, or remove it to have the pair reissued` });
        return;
      }
      restored.push({ key: k.key, age: k.age, bytes: plaintext });
    }),
  );
  return { restored, locked };
}

/** Why an encrypted CA key (caKey ending in `.age`) gives no key to sign with. */
export interface SealedCAKey {
  /** `age-identity-needed`: no identity given; `age-unreadable`: none opens it, or it is damaged. */
  code: 'age-identity-needed' | 'age-unreadable';
  /** `corrupt`: not an age file or altered (damage, not a missing identity: the plan stops). */
  kind?: 'no-match' | 'corrupt' | 'identity-needed';
  message: string;
}

/**
 * Opens an encrypted CA key in memory: its plaintext PEM, or why there is none. Nothing is
 * written; the armored file stays as it is. `label` names it in messages.
 */
export async function openCAKey(armored: Buffer, identities: readonly string[] | undefined, label: string): Promise<{ plaintext: Buffer } | { sealed: SealedCAKey }> {
  if (!identities || identities.length === 0) {
    return { sealed: { code: 'age-identity-needed', kind: 'identity-needed', message: `the CA key ${label} is age-encrypted and no identity was given (--identity FILE, or CERTGEN_AGE_IDENTITY): certgen cannot sign` } };
  }
  try {
    return { plaintext: Buffer.from(await decryptArmored(armored.toString('latin1'), identities, `the CA key ${label}`)) };
  } catch (err) {
    if (!(err instanceof AgeError)) throw err;
    const kind = err.kind === 'no-match' ? 'no-match' : 'corrupt';
    return { sealed: { code: 'age-unreadable', kind, message: kind === 'no-match' ? `${err.message}, so certgen cannot sign` : `${err.message}: restore it from git or a backup; certgen cannot sign until then` } };
  }
}
