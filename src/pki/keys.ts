// Private keys: generation (node:crypto, off the main thread) and the encodings cockroach uses.
// Reading one goes through the one key reader (./read/key.ts), so every command accepts the same keys.
import { createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { findPrivateKeyBlock, isPrivateKeyType, loadPrivateKeyBlock } from './read/key.js';
import { decodeFirstPem } from './read/pem.js';
import { curveOf, type KeyParams } from '../core/key-type.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/**
 * A fresh RSA key, e = 65537 as Go's rsa.GenerateKey uses. node:crypto runs this on libuv's
 * thread pool, so several calls in flight use every core.
 */
export async function generateRsaKey(bits: number): Promise<KeyPair> {
  if (!Number.isInteger(bits) || bits < 1024) {
    // Go >= 1.24 refuses keys under 1024 bits ("crypto/rsa: 512-bit keys are insecure").
    throw new Error(`crypto/rsa: ${bits}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)`);
  }
  if (bits > 16384) throw new Error(`crypto/rsa: ${bits}-bit keys are too large (at most 16384)`);
  return generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 65537 });
}

/**
 * A fresh key of any type certgen writes. EC and Ed25519 keys also come from libuv's thread pool
 * (they take tens of microseconds, so the pool's hand-off is most of their cost).
 */
export async function generateKey(p: KeyParams): Promise<KeyPair> {
  if (p.type === 'rsa') return generateRsaKey(p.bits);
  if (p.type === 'ed25519') return generateKeyPairAsync('ed25519');
  return generateKeyPairAsync('ec', { namedCurve: curveOf(p.type) as string });
}

/** PEM as cockroach writes it: PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, else PKCS#8. */
export function privateKeyToPem(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return key.export({ type: 'pkcs1', format: 'pem' }) as string;
    case 'ec':
      return key.export({ type: 'sec1', format: 'pem' }) as string;
    default:
      return key.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
}

/** Raw DER PKCS#8 PrivateKeyInfo: the `.pk8` file JDBC wants. */
export function privateKeyToPkcs8Der(key: KeyObject): Buffer {
  return key.export({ type: 'pkcs8', format: 'der' });
}

/**
 * Go's security.PEMToPrivateKey as used for a reused CA key: exactly one PEM block and nothing
 * after it, of a `… PRIVATE KEY` type, holding PKCS#1, PKCS#8 or SEC1.
 */
export function parsePrivateKeyPem(text: string): KeyObject {
  const first = decodeFirstPem(text);
  if (first === undefined) throw new Error('no PEM data found');
  if (first.rest.length > 0) throw new Error('more than one PEM block found');
  if (!isPrivateKeyType(first.block.type)) throw new Error(`PEM block is of type ${first.block.type}`);
  return loadPrivateKeyBlock(first.block).key;
}

/**
 * The key half of Go's tls.LoadX509KeyPair: the first `… PRIVATE KEY` block in the file, other
 * blocks skipped.
 */
export function findPrivateKeyInPem(text: string): KeyObject {
  return loadPrivateKeyBlock(findPrivateKeyBlock(text)).key;
}

/** The public half as SPKI DER, for comparing a certificate's key with a private key. */
export function publicKeyDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

/** Key algorithm and size for reports: `RSA 2048`, `ECDSA P-256`, `Ed25519`. */
export function describeKey(key: KeyObject): { algorithm: string; bits?: number; curve?: string } {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { algorithm: 'RSA', bits: d.modulusLength ?? 0 };
    case 'ec': {
      const curve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[d.namedCurve ?? ''] ?? d.namedCurve ?? '';
      return { algorithm: 'ECDSA', curve };
    }
    case 'ed25519':
      return { algorithm: 'Ed25519' };
    default:
      return { algorithm: String(key.asymmetricKeyType) };
  }
}

/**
 * The CA key and the signature Go's x509.CreateCertificate makes with it: `hash` is node:crypto's
 * digest for crypto.sign (null for Ed25519, which hashes itself), `oid` the signatureAlgorithm, whose
 * parameters are NULL for RSA (RFC 4055 §5) and absent for ECDSA and Ed25519 (RFC 5758 §3.2, RFC 8410 §3).
 */
export interface Signer {
  key: KeyObject;
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  oid: string;
  nullParameters: boolean;
}

/**
 * The signature Go would make with this key: RSA → sha256WithRSAEncryption (PKCS#1 v1.5), ECDSA →
 * the curve's natural hash, Ed25519 → Ed25519. Signing is node:crypto's synchronous crypto.sign
 * (about 0.1 ms for ECDSA P-256; the WebCrypto round trip through the thread pool it replaces cost more).
 */
export function toSigner(key: KeyObject): Signer {
  if (key.type !== 'private') throw new Error('a signing key must be a private key');
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { key, hash: 'sha256', oid: '1.2.840.113549.1.1.11', nullParameters: true };
    case 'ec': {
      const curve = describeKey(key).curve ?? '';
      const alg = ({ 'P-256': ['sha256', '1.2.840.10045.4.3.2'], 'P-384': ['sha384', '1.2.840.10045.4.3.3'], 'P-521': ['sha512', '1.2.840.10045.4.3.4'] } as const)[curve as 'P-256'];
      if (alg === undefined) throw new Error(`unsupported CA key curve ${curve}`);
      return { key, hash: alg[0], oid: alg[1], nullParameters: false };
    }
    case 'ed25519':
      return { key, hash: null, oid: '1.3.101.112', nullParameters: false };
    default:
      throw new Error(`unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}
