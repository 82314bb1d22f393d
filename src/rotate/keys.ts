// The CA keys of a rotation when caKey is an `.age` file: the key at caKey, the new one beside it
// and the archived old one are all age files, opened in memory only. Every rotate step then needs
// an identity: without one it could neither tell the keys apart nor sign.
import { promises as fs } from 'node:fs';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { decryptArmored } from '../pki/age.js';
import { isEncryptedCAKey } from '../tree/layout.js';
import type { ActualTree } from '../tree/read-tree.js';
import { RotationError } from './state.js';

/** Refuses a rotate step on an encrypted CA key without an identity, or one the identity does not open. */
export function requireCAKeyIdentity(spec: ClusterSpec, identities: readonly string[] | undefined, tree?: ActualTree): void {
  if (!isEncryptedCAKey(spec.caKey)) return;
  if (!identities || identities.length === 0) {
    throw new RotationError('age-identity-needed', `the CA key ${spec.caKey} is age-encrypted: a rotation must decrypt the CA keys to tell them apart and to sign`, 'give --identity FILE, or CERTGEN_AGE_IDENTITY holding the identity');
  }
  const sealed = tree?.caKey.sealed;
  if (sealed) throw new RotationError('age-unreadable', sealed.message, 'give the identity the CA key is encrypted for');
}

/** A CA key file's PEM: as read, or decrypted in memory when it is an .age file. */
export async function readCAKeyFile(file: string, identities: readonly string[] | undefined): Promise<Buffer> {
  return openCAKeyBytes(file, await fs.readFile(file), identities);
}

/** {@link readCAKeyFile} of bytes already read. */
export async function openCAKeyBytes(file: string, bytes: Buffer, identities: readonly string[] | undefined): Promise<Buffer> {
  if (!isEncryptedCAKey(file)) return bytes;
  return Buffer.from(await decryptArmored(bytes.toString('latin1'), identities ?? [], `the CA key ${file}`));
}
