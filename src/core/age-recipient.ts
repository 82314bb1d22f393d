// What an age recipient looks like, checked without any crypto: the spec rejects a bad one at its
// file:line:col before anything is encrypted. Only native X25519 recipients (`age1…`, what
// `age-keygen -y` prints) are accepted: SOPS, Flux and every age release decrypt them, while the
// post-quantum `age1pq1…` ones need age ≥ 1.3 and SOPS reads them as a plugin's.
import { bech32 } from '@scure/base';

/** Why `text` is not an X25519 age recipient, or undefined when it is one. */
export function ageRecipientProblem(text: string): string | undefined {
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
  if (/^AGE-SECRET-KEY-/i.test(text)) return `${text.slice(0, 15)}… is an age identity (a private key), not a recipient: give its public key (age-keygen -y FILE), and never put the identity in the spec`;
  if (text.startsWith('age1pq1')) return `${shown.slice(0, 20)}…" is a post-quantum age recipient: certgen writes for X25519 recipients (age1…) only, which SOPS and every age release can decrypt`;
  if (text.startsWith('ssh-')) return `${shown} is an SSH key: certgen encrypts to age X25519 recipients (age1…, from age-keygen)`;
  if (!text.startsWith('age1')) return `${shown} is not an age recipient: expected age1 followed by 58 characters (age-keygen -y prints it)`;
  try {
    const { prefix, words } = bech32.decode(text as `${string}1${string}`);
    if (prefix !== 'age' || bech32.fromWords(words).length !== 32) throw new Error('wrong length');
  } catch {
    return `${shown} is not a valid age recipient (bad length or checksum; copy it again from age-keygen -y)`;
  }
  return undefined;
}

/** Whether `text` is an X25519 age recipient. */
export function isAgeRecipient(text: string): boolean {
  return ageRecipientProblem(text) === undefined;
}

/**
 * Whether `text` is a whole X25519 age identity (`AGE-SECRET-KEY-1…`, Bech32 with a valid checksum
 * and a 32-byte key), so `check` flags real keys and not placeholders such as `AGE-SECRET-KEY-1QQQ…`.
 */
export function isAgeIdentity(text: string): boolean {
  try {
    const { prefix, words } = bech32.decode(text.toLowerCase() as `${string}1${string}`);
    return prefix === 'age-secret-key-' && bech32.fromWords(words).length === 32;
  } catch {
    return false;
  }
}
