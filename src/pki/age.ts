// age encryption for certgen (the npm `age-encryption` package, typage by the age authors):
// recipients checked with a clear message, data encrypted to ASCII-armored age files, and
// decrypted with the identities of an identity file (`age-keygen` output). SOPS outputs wrap their
// data key with it; encrypted key files (`<key>.age`) use it too.
import { readFile } from 'node:fs/promises';
// age-encryption (and its @noble libraries, ~65 ms) is loaded on first use, so that plan, check
// and the rest do not pay for it in a spec without `encrypt:` or age outputs.
const ageLib = (): Promise<typeof import('age-encryption')> => import('age-encryption');
import { ageRecipientProblem } from '../core/age-recipient.js';
import { CertgenError } from '../errors.js';

export { ageRecipientProblem, isAgeRecipient } from '../core/age-recipient.js';

/** What went wrong with age: a recipient, an identity (file), or the encrypted data itself. */
export type AgeErrorKind = 'recipient' | 'identity' | 'no-match' | 'corrupt';

/** A failure of age encryption or decryption, one clear line; never carries key material. */
export class AgeError extends CertgenError {
  readonly kind: AgeErrorKind;
  constructor(kind: AgeErrorKind, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.name = 'AgeError';
    this.kind = kind;
  }
}

/**
 * Checks and de-duplicates recipients (order kept).
 * @throws {@link AgeError} `recipient` naming the first that is not an X25519 age recipient.
 */
export function parseRecipients(recipients: readonly string[]): string[] {
  if (recipients.length === 0) throw new AgeError('recipient', 'no age recipients given: list at least one (age1…, from age-keygen -y)');
  const out: string[] = [];
  for (const r of recipients) {
    const problem = ageRecipientProblem(r.trim());
    if (problem !== undefined) throw new AgeError('recipient', problem);
    if (!out.includes(r.trim())) out.push(r.trim());
  }
  return out;
}

/** Encrypts `data` to every recipient; the armored age file (`-----BEGIN AGE ENCRYPTED FILE-----`, final newline). */
export async function encryptArmored(data: Uint8Array | string, recipients: readonly string[]): Promise<string> {
  const { Encrypter, armor } = await ageLib();
  const e = new Encrypter();
  for (const r of parseRecipients(recipients)) e.addRecipient(r);
  return armor.encode(await e.encrypt(data));
}

/**
 * The identities in an identity file's text: one `AGE-SECRET-KEY-1…` a line, `#` comments and
 * blank lines ignored (age's own format). `label` names the file in errors; lines are named by
 * number only, never shown.
 */
export async function parseIdentities(text: string, label: string): Promise<string[]> {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith('AGE-SECRET-KEY-1')) {
      const what = line.startsWith('age1') ? 'a recipient (public key), not an identity' : line.startsWith('AGE-SECRET-KEY-PQ-') ? 'a post-quantum identity, which certgen does not use' : 'not an age identity';
      throw new AgeError('identity', `${label}:${i + 1}: ${what}; an identity file holds AGE-SECRET-KEY-1… lines (age-keygen writes one)`);
    }
    try {
      await (await ageLib()).identityToRecipient(line);
    } catch (err) {
      throw new AgeError('identity', `${label}:${i + 1}: not a valid age identity (bad length or checksum)`, { cause: err });
    }
    out.push(line);
  }
  if (out.length === 0) throw new AgeError('identity', `${label} holds no age identity: it needs an AGE-SECRET-KEY-1… line (age-keygen -o FILE writes one)`);
  return out;
}

/** Reads and parses an identity file (see {@link parseIdentities}). */
export async function readIdentityFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new AgeError('identity', `cannot read the age identity file ${file}: ${why}`, { cause: err });
  }
  return parseIdentities(text, file);
}

/** The recipient (public key) of an identity. */
export async function recipientOf(identity: string): Promise<string> {
  return (await ageLib()).identityToRecipient(identity);
}

/**
 * Decrypts an armored age file with any of `identities`. `label` names what is decrypted in errors.
 * @throws {@link AgeError} `corrupt` when it is not an armored age file or does not authenticate,
 *   `no-match` when none of the identities is one of its recipients.
 */
export async function decryptArmored(armored: string, identities: readonly string[], label: string): Promise<Uint8Array> {
  const { Decrypter, armor } = await ageLib();
  let raw: Uint8Array;
  try {
    raw = armor.decode(armored);
  } catch (err) {
    throw new AgeError('corrupt', `${label} is not an armored age file (${(err as Error).message})`, { cause: err });
  }
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id);
  try {
    return await d.decrypt(raw);
  } catch (err) {
    // typage's message is the only sign of which failure it was.
    if (/no identity matched/.test((err as Error).message)) {
      throw new AgeError('no-match', `${label} is encrypted for other recipients: none of the given age identities can decrypt it`, { cause: err });
    }
    throw new AgeError('corrupt', `${label} cannot be decrypted: it is damaged or was altered (${(err as Error).message})`, { cause: err });
  }
}

/** {@link decryptArmored} with the identities of an identity file. */
export async function decryptWithIdentityFile(armored: string, identityFile: string, label: string): Promise<Uint8Array> {
  return decryptArmored(armored, await readIdentityFile(identityFile), label);
}
