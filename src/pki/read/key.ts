// The one private-key reader, and the one key↔certificate match, with Go's rules (crypto/tls's
// parsePrivateKey, x509's PKCS#1, PKCS#8 and SEC1 parsers). Keys are read straight from their DER:
// matching an RSA modulus and exponent costs nothing, where node:crypto's parse costs a millisecond
// a key; an EC key's public half is derived from its scalar (as Go does, ignoring any embedded
// point), an Ed25519 key's from its seed.
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { Cursor, bitStringBytes, integerValue, isMinimalInteger, oidText, readTlv, unsignedInteger, value, type Tlv } from './der.js';
import { CURVES, OID } from './oids.js';
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
  /** 'rsa', 'ec' or 'ed25519', as node:crypto's asymmetricKeyType. */
  type: string;
  /** RSA: modulus and public exponent (no sign padding), and the modulus size in bits. */
  rsaModulus?: Uint8Array;
  rsaExponent?: Uint8Array;
  bits?: number;
  /** ECDSA: 'P-224' | 'P-256' | 'P-384' | 'P-521'. */
  curve?: string;
  /** Other keys: the SPKI DER of the public half, derived from the private half as Go derives it. */
  spki?: Uint8Array;
}

/** A parsed key: its facts, and how node:crypto loads it for signing. */
interface Parsed {
  facts: KeyFacts;
  load: () => KeyObject;
}

const malformed = (): never => {
  throw new KeyReadError('malformed', 'failed to parse private key');
};

function tlvAt(der: Uint8Array, pos: number): Tlv | undefined {
  try {
    return readTlv(der, pos);
  } catch {
    return undefined;
  }
}

function bitLength(n: Uint8Array): number {
  return n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0] ?? 0));
}

/** A minimal INTEGER that fits Go's int (encoding/asn1 parseInt64), as a number. */
function smallInt(der: Uint8Array, t: Tlv | undefined): number | undefined {
  if (!t) return undefined;
  const v = value(der, t);
  if (!isMinimalInteger(v) || v.length > 8) return undefined;
  return Number(integerValue(v));
}

/**
 * x509.ParsePKCS1PrivateKey, two-prime keys only (what every tool writes): version 0, nine minimal
 * INTEGERs, nothing after them and nothing after the SEQUENCE.
 */
function parsePkcs1(der: Uint8Array): Parsed | undefined {
  const top = tlvAt(der, 0);
  if (!top || top.tag !== 0x30 || top.end !== der.length) return undefined;
  const c = Cursor.of(der, top);
  const ints = [];
  for (let i = 0; i < 9; i++) {
    const t = c.read(0x02);
    if (!t || !isMinimalInteger(value(der, t))) return undefined;
    ints.push(value(der, t));
  }
  if (!c.empty() || ints[0]?.length !== 1 || ints[0][0] !== 0) return undefined;
  const modulus = unsignedInteger(ints[1] as Uint8Array);
  const facts: KeyFacts = { type: 'rsa', rsaModulus: modulus, rsaExponent: unsignedInteger(ints[2] as Uint8Array), bits: bitLength(modulus) };
  return { facts, load: () => createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }) };
}

/**
 * x509's parseECPrivateKey: SEQUENCE { version 1, privateKey OCTET STRING, [0] curve OID OPTIONAL,
 * [1] publicKey BIT STRING OPTIONAL, … }. The curve given by a PKCS#8 wrapping wins over [0]; the
 * public key is derived from the scalar (an embedded one is ignored, as Go ignores it); bytes after
 * the SEQUENCE and elements after [1] are ignored, as encoding/asn1 ignores them.
 */
function parseSec1(der: Uint8Array, wrapperCurve: string | undefined): Parsed | undefined {
  const top = tlvAt(der, 0);
  if (!top || top.tag !== 0x30) return undefined;
  const c = Cursor.of(der, top);
  if (smallInt(der, c.read(0x02)) !== 1) return undefined;
  const octets = c.read(0x04);
  if (!octets) return undefined;
  let innerCurve: string | undefined;
  const params = c.read(0xa0);
  if (params) {
    const oid = tlvAt(der, params.start);
    if (!oid || oid.tag !== 0x06 || oid.end > params.end) return undefined;
    innerCurve = oidText(value(der, oid));
    if (innerCurve === undefined) return undefined;
  }
  const pub = c.read(0xa1);
  if (pub) {
    const bits = tlvAt(der, pub.start);
    if (!bits || bits.tag !== 0x03 || bits.end > pub.end || bitStringBytes(value(der, bits)) === undefined) return undefined;
  }
  const curve = CURVES[wrapperCurve ?? innerCurve ?? ''];
  if (!curve) return undefined;
  let k = value(der, octets);
  // Leading zero padding is tolerated, a missing one too (OpenSSL used to strip it); the scalar
  // must be below the group order.
  while (k.length > curve.bytes) {
    if (k[0] !== 0) return undefined;
    k = k.subarray(1);
  }
  const scalar = Buffer.alloc(curve.bytes);
  scalar.set(k, curve.bytes - k.length);
  if (BigInt(`0x${scalar.toString('hex') || '0'}`) >= (CURVE_ORDER[curve.name] ?? 0n)) return undefined;
  let point: Buffer;
  try {
    const ecdh = createECDH(NODE_CURVE[curve.name] ?? '');
    ecdh.setPrivateKey(scalar);
    point = ecdh.getPublicKey();
  } catch {
    // The zero scalar: Go loads it (a key that matches no certificate); nothing can use it.
    return undefined;
  }
  // SPKI and SEC1 are written out here: JWK (node:crypto's other way in) has no P-224.
  const curveOid = CURVE_OID_DER[curve.name] as Buffer;
  const spki = derSeq(derSeq(ID_EC_PUBLIC_KEY, curveOid), derTlv(0x03, Buffer.concat([Buffer.of(0), point])));
  const sec1 = derSeq(derTlv(0x02, Buffer.of(1)), derTlv(0x04, scalar), derTlv(0xa0, curveOid), derTlv(0xa1, derTlv(0x03, Buffer.concat([Buffer.of(0), point]))));
  return { facts: { type: 'ec', curve: curve.name, spki }, load: () => createPrivateKey({ key: sec1, format: 'der', type: 'sec1' }) };
}

function derTlv(tag: number, body: Uint8Array): Buffer {
  const len = body.length;
  const head = len < 0x80 ? [len] : len < 0x100 ? [0x81, len] : [0x82, len >> 8, len & 0xff];
  return Buffer.concat([Buffer.of(tag, ...head), body]);
}
const derSeq = (...parts: Uint8Array[]): Buffer => derTlv(0x30, Buffer.concat(parts));
const ID_EC_PUBLIC_KEY = Buffer.from('06072a8648ce3d0201', 'hex');
const CURVE_OID_DER: Record<string, Buffer> = {
  'P-224': Buffer.from('06052b81040021', 'hex'),
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
  'P-521': Buffer.from('06052b81040023', 'hex'),
};

/** The group orders Go checks a scalar against. */
const CURVE_ORDER: Record<string, bigint> = {
  'P-224': 0xffffffffffffffffffffffffffff16a2e0b8f03e13dd29455c5c2a3dn,
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  'P-384': 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  'P-521': 0x01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};
const NODE_CURVE: Record<string, string> = { 'P-224': 'secp224r1', 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

/** The PKCS#8 wrapping of an Ed25519 seed, as Go's MarshalPKCS8PrivateKey writes it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * x509.ParsePKCS8PrivateKey: SEQUENCE { version, AlgorithmIdentifier, privateKey OCTET STRING, … }
 * holding an RSA, ECDSA or Ed25519 key. `whole`: nothing may follow the SEQUENCE (a `.pk8` file);
 * inside a PEM block Go ignores what follows.
 */
function parsePkcs8(der: Uint8Array, whole: boolean): Parsed | undefined {
  const top = tlvAt(der, 0);
  if (!top || top.tag !== 0x30 || (whole && top.end !== der.length)) return undefined;
  const c = Cursor.of(der, top);
  if (smallInt(der, c.read(0x02)) === undefined) return undefined;
  const alg = c.read(0x30);
  const octets = c.read(0x04);
  if (!alg || !octets) return undefined;
  const a = Cursor.of(der, alg);
  const oidTlv = a.read(0x06);
  const oid = oidTlv ? oidText(value(der, oidTlv)) : undefined;
  if (oid === undefined) return undefined;
  const params = a.next();
  const inner = value(der, octets);
  switch (oid) {
    case OID.rsaEncryption:
      return parsePkcs1(inner);
    case OID.ecPublicKey: {
      // A parameter that is not an OID leaves the curve to the inner key's [0].
      const curve = params && params.tag === 0x06 ? oidText(value(der, params)) : undefined;
      if (curve !== undefined && !CURVES[curve]) return undefined;
      return parseSec1(inner, curve);
    }
    case OID.ed25519: {
      if (params) return undefined;
      const seedTlv = tlvAt(inner, 0);
      if (!seedTlv || seedTlv.tag !== 0x04 || seedTlv.end - seedTlv.start !== 32) return undefined;
      const pkcs8 = Buffer.concat([ED25519_PKCS8_PREFIX, value(inner, seedTlv)]);
      const key = (): KeyObject => createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      return { facts: { type: 'ed25519', spki: createPublicKey(key()).export({ type: 'spki', format: 'der' }) }, load: key };
    }
    default:
      return undefined;
  }
}

/** crypto/tls's parsePrivateKey (pkg/security's too): PKCS#1, then PKCS#8, then SEC1, whatever the PEM type says. */
function parseKeyDer(der: Uint8Array): Parsed {
  return parsePkcs1(der) ?? parsePkcs8(der, false) ?? parseSec1(der, undefined) ?? malformed();
}

/** A DER PKCS#8 PrivateKeyInfo (a `.pk8` file), nothing after it. */
export function readPkcs8Der(der: Uint8Array): KeyFacts {
  return (parsePkcs8(der, true) ?? malformed()).facts;
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

function parseBlock(block: PemBlock): Parsed {
  if (block.headers['Proc-Type']?.includes('ENCRYPTED')) throw new KeyReadError('encrypted', 'failed to parse private key: key is encrypted');
  return parseKeyDer(block.der);
}

/** The key in one `… PRIVATE KEY` block: PKCS#1, PKCS#8 or SEC1 (as Go, whatever the type says); never an encrypted one. */
export function readPrivateKeyBlock(block: PemBlock): KeyFacts {
  return parseBlock(block).facts;
}

/** The first `… PRIVATE KEY` block of a PEM file, other blocks skipped (the key half of tls.LoadX509KeyPair). */
export function readPrivateKeyPem(pem: Uint8Array | string): KeyFacts {
  return readPrivateKeyBlock(findPrivateKeyBlock(pem));
}

/**
 * A block's key for signing: its facts (so exactly the keys {@link readPrivateKeyBlock} accepts
 * are used) and node:crypto's object, built from what Go would use (an EC key's derived public half).
 */
export function loadPrivateKeyBlock(block: PemBlock): { facts: KeyFacts; key: KeyObject } {
  const parsed = parseBlock(block);
  try {
    return { facts: parsed.facts, key: parsed.load() };
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
