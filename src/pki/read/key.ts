// The one private-key reader, and the one key↔certificate match. RSA keys (what cockroach and
// certgen write) are read straight from their DER, PKCS#1 or PKCS#8: matching a modulus and an
// exponent costs nothing, where node:crypto's parse costs a millisecond a key. Any other key goes
// through node:crypto, which derives its public half.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { Cursor, isMinimalInteger, oidText, readTlv, unsignedInteger, value } from './der.js';
import { OID } from './oids.js';
import { decodePem, type PemBlock } from './pem.js';
import type { CertFacts, PublicKeyFacts } from './types.js';

/** A key that cannot be used; the message is Go's (tls.X509KeyPair) where Go has one. */
export class KeyReadError extends Error {
  readonly code: 'no-key' | 'encrypted' | 'malformed';
  constructor(code: KeyReadError['code'], message: string) {
    super(message);
    this.name = 'KeyReadError';
    this.code = code;
  }
}

export interface KeyFacts {
  /** 'rsa', 'ec', 'ed25519', … as node:crypto's asymmetricKeyType. */
  type: string;
  /** RSA: modulus and public exponent (no sign padding). */
  rsaModulus?: Uint8Array;
  rsaExponent?: Uint8Array;
  /** Other keys: the SPKI DER of the public half. */
  spki?: Uint8Array;
}

const malformed = (): never => {
  throw new KeyReadError('malformed', 'failed to parse private key');
};

/** n and e of a two-prime PKCS#1 RSAPrivateKey (version 0, nine minimal INTEGERs, nothing else). */
function rsaPrivate(der: Uint8Array): KeyFacts {
  let top;
  try {
    top = readTlv(der, 0);
  } catch {
    return malformed();
  }
  if (top.tag !== 0x30 || top.end !== der.length) return malformed();
  const c = Cursor.of(der, top);
  const ints = [];
  for (let i = 0; i < 9; i++) {
    const t = c.read(0x02);
    if (!t || !isMinimalInteger(value(der, t))) return malformed();
    ints.push(value(der, t));
  }
  if (!c.empty() || ints[0]?.length !== 1 || ints[0][0] !== 0) return malformed();
  return { type: 'rsa', rsaModulus: unsignedInteger(ints[1] as Uint8Array), rsaExponent: unsignedInteger(ints[2] as Uint8Array) };
}

function viaNode(key: Parameters<typeof createPrivateKey>[0]): KeyFacts {
  try {
    const k = createPrivateKey(key);
    return { type: String(k.asymmetricKeyType), spki: createPublicKey(k).export({ type: 'spki', format: 'der' }) };
  } catch {
    return malformed();
  }
}

/** A DER PKCS#8 PrivateKeyInfo (a `.pk8` file, or the body of a `PRIVATE KEY` block). */
export function readPkcs8Der(der: Uint8Array): KeyFacts {
  try {
    const top = readTlv(der, 0);
    if (top.tag === 0x30 && top.end === der.length) {
      const c = Cursor.of(der, top);
      const version = c.read(0x02);
      const alg = c.read(0x30);
      const octets = c.read(0x04);
      const oid = alg ? Cursor.of(der, alg).read(0x06) : undefined;
      if (version && octets && oid && oidText(value(der, oid)) === OID.rsaEncryption && c.empty()) return rsaPrivate(value(der, octets));
    }
  } catch (err) {
    if (err instanceof KeyReadError) throw err;
  }
  return viaNode({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

/** Go's test for a key block: `PRIVATE KEY` or a type ending in ` PRIVATE KEY`. */
export function isPrivateKeyType(type: string): boolean {
  return type === 'PRIVATE KEY' || type.endsWith(' PRIVATE KEY');
}

/** The first `… PRIVATE KEY` block of a PEM file, other blocks skipped (how tls.X509KeyPair finds the key). */
export function findPrivateKeyBlock(pem: Uint8Array | string): PemBlock {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('latin1');
  const block = decodePem(text).find((b) => isPrivateKeyType(b.type));
  if (!block) throw new KeyReadError('no-key', 'tls: failed to find any PEM data in key input');
  return block;
}

/** The key in one `… PRIVATE KEY` block: PKCS#1, PKCS#8 or SEC1 as its type says; never an encrypted one. */
export function readPrivateKeyBlock(block: PemBlock): KeyFacts {
  if (block.headers['Proc-Type']?.includes('ENCRYPTED')) throw new KeyReadError('encrypted', 'failed to parse private key: key is encrypted');
  if (block.type === 'RSA PRIVATE KEY') return rsaPrivate(block.der);
  if (block.type === 'PRIVATE KEY') return readPkcs8Der(block.der);
  if (block.type === 'EC PRIVATE KEY') return viaNode({ key: block.der, format: 'der', type: 'sec1' });
  return malformed();
}

/** The first `… PRIVATE KEY` block of a PEM file, other blocks skipped (the key half of tls.LoadX509KeyPair). */
export function readPrivateKeyPem(pem: Uint8Array | string): KeyFacts {
  return readPrivateKeyBlock(findPrivateKeyBlock(pem));
}

const DER_TYPE: Record<string, 'pkcs1' | 'pkcs8' | 'sec1'> = { 'RSA PRIVATE KEY': 'pkcs1', 'PRIVATE KEY': 'pkcs8', 'EC PRIVATE KEY': 'sec1' };

/**
 * A block's key for signing: its facts (so exactly the keys {@link readPrivateKeyBlock} accepts
 * are used) and node:crypto's object. Errors are readPrivateKeyBlock's.
 */
export function loadPrivateKeyBlock(block: PemBlock): { facts: KeyFacts; key: KeyObject } {
  const facts = readPrivateKeyBlock(block);
  const type = DER_TYPE[block.type];
  if (type === undefined) return malformed();
  try {
    return { facts, key: createPrivateKey({ key: block.der, format: 'der', type }) };
  } catch {
    return malformed();
  }
}

const eq = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));

/** Whether the private key belongs to the certificate. */
export function keyMatchesCert(key: KeyFacts, cert: CertFacts): boolean {
  return keyMatchesPublicKey(key, cert.publicKey);
}

/** Whether the private key is the private half of this public key. */
export function keyMatchesPublicKey(key: KeyFacts, pub: PublicKeyFacts): boolean {
  if (key.rsaModulus) return pub.type === 'rsa' && eq(key.rsaModulus, pub.rsaModulus) && eq(key.rsaExponent, pub.rsaExponent);
  return eq(key.spki, pub.spki);
}

/** Whether two private keys are the same key. */
export function sameKey(a: KeyFacts, b: KeyFacts): boolean {
  if (a.rsaModulus || b.rsaModulus) return eq(a.rsaModulus, b.rsaModulus) && eq(a.rsaExponent, b.rsaExponent);
  return eq(a.spki, b.spki);
}
