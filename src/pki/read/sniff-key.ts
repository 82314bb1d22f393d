// Pure: does a file's content hold a private key, whatever it is called? For `certgen check`'s
// `key-tracked`: PEM private-key blocks of every type (also inside JSON strings, with `\n`
// escapes), DER PKCS#1 / PKCS#8 / SEC1 (the .pk8 files), age identities, and any of these
// base64-encoded inside text (a Kubernetes Secret's `data:`, a kubeconfig's `client-key-data`),
// to a depth of two. Values a SOPS file encrypted decode to ciphertext, so they are not keys. Says
// what it found, never the key.
import { createPrivateKey } from 'node:crypto';
import { isAgeIdentity } from '../../core/age-recipient.js';

export type KeySniff =
  | { how: 'pem'; label: string }
  | { how: 'der'; encoding: 'PKCS#8' | 'PKCS#1' | 'SEC1' }
  | { how: 'age-identity' }
  | { how: 'base64'; inner: KeySniff };

/** `-----BEGIN <anything> PRIVATE KEY[ BLOCK]-----` up to its END line (OPENSSH, RSA, EC, DSA, ENCRYPTED, PGP …). */
const PEM_KEY = /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----([\s\S]{0,65536}?)-----END \1-----/g;
/** age's secret key (`age-keygen`): Bech32, upper case; a match counts when its checksum holds. */
const AGE_IDENTITY = /AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}/g;
/** A base64 run long enough to hold the smallest key (an Ed25519 PKCS#8 DER is 48 bytes, 64 characters). */
const BASE64_RUN = /[A-Za-z0-9+/]{64,}={0,2}/g;
/** Bodies shorter than this are documentation (a README quoting the header), not keys; as gitleaks' private-key rule. */
const MIN_BODY = 64;
const MAX_DER = 1 << 16;

function pemBlock(text: string): KeySniff | undefined {
  for (const m of text.matchAll(PEM_KEY)) {
    const body = (m[2] ?? '')
      .replace(/\\[nrt]/g, '\n') // a JSON or YAML double-quoted string
      .replace(/^[ \t]*[A-Za-z-]+:.*$/gm, '') // RFC 1421 / OpenPGP headers
      .replace(/[\s"'|>,]+/g, '');
    if (body.length >= MIN_BODY && /^[A-Za-z0-9+/=]+$/.test(body)) return { how: 'pem', label: m[1] as string };
  }
  return undefined;
}

/**
 * Whether `bytes` start as every unencrypted private key does (PKCS#8, PKCS#1 and SEC1 alike): a
 * SEQUENCE that fits, whose first element is the version INTEGER 0 or 1. A certificate (SEQUENCE
 * of SEQUENCE) or a line of one's base64 fails here, so node:crypto, ~1 ms a refusal, is asked
 * only about what may be a key: check of a 1,000-node repository spent 3 s refusing certificates.
 */
function keyShaped(bytes: Uint8Array): boolean {
  // By hand, not readTlv: most inputs fail, and a thrown DerError a refusal cost 0.2 s there too.
  if (bytes[0] !== 0x30) return false;
  let len = bytes[1] ?? 0;
  let start = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (bytes[start + i] ?? 0);
    start += n;
  }
  return start + len <= bytes.length && bytes[start] === 0x02 && bytes[start + 1] === 0x01 && (bytes[start + 2] ?? 2) <= 1;
}

/** A whole DER private key, as node:crypto (OpenSSL) reads one. */
function derKey(bytes: Uint8Array): KeySniff | undefined {
  if (bytes.length < 32 || bytes.length > MAX_DER || !keyShaped(bytes)) return undefined;
  const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const [type, encoding] of [
    ['pkcs8', 'PKCS#8'],
    ['pkcs1', 'PKCS#1'],
    ['sec1', 'SEC1'],
  ] as const) {
    try {
      createPrivateKey({ key, format: 'der', type });
      return { how: 'der', encoding };
    } catch {
      // not this encoding
    }
  }
  return undefined;
}

/** What private key `bytes` hold, or undefined. `depth`: how many base64 layers to look through. */
export function sniffPrivateKey(bytes: Uint8Array, depth = 2): KeySniff | undefined {
  const der = derKey(bytes);
  if (der) return der;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const pem = pemBlock(text);
  if (pem) return pem;
  for (const m of text.matchAll(AGE_IDENTITY)) if (isAgeIdentity(m[0])) return { how: 'age-identity' };
  if (depth <= 0) return undefined;
  for (const m of text.matchAll(BASE64_RUN)) {
    const run = m[0];
    const decoded = Buffer.from(run.slice(0, run.length - (run.length % 4)), 'base64');
    const inner = sniffPrivateKey(decoded, depth - 1);
    if (inner) return { how: 'base64', inner };
  }
  return undefined;
}

/** The finding's words for what was found: "a PEM RSA PRIVATE KEY block", "a DER PKCS#8 private key, base64-encoded". */
export function describeKeySniff(s: KeySniff): string {
  let layers = 0;
  let inner = s;
  while (inner.how === 'base64') {
    layers++;
    inner = inner.inner;
  }
  const what = inner.how === 'pem' ? `a PEM ${inner.label} block` : inner.how === 'der' ? `a DER ${inner.encoding} private key` : 'an age identity (AGE-SECRET-KEY-1…)';
  return layers === 0 ? what : `${what}, base64-encoded${layers > 1 ? ` (${layers} layers)` : ''}`;
}
