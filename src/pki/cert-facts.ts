// The facts `plan` needs from a certificate or a private key, read straight from DER. The full
// parsers (@peculiar/x509, node:crypto's createPrivateKey) are exact but cost a millisecond a
// file; a 1,000-node tree must plan in well under a second.
import { createPrivateKey, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { children, oidText, parseTime, readTlv, unsignedInteger, value, type Tlv } from './der.js';
import { decodePem } from './pem.js';
import { formatIP } from '../core/hosts.js';
import type { SanHosts } from './san.js';

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectAltName: '2.5.29.17',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

/** Hash for each signature algorithm certgen or cockroach can produce; null = Ed25519. */
const SIGNATURE_HASH: Record<string, string | null> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
};

export interface CertFacts {
  tbs: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  subjectCN: string | undefined;
  subjectO: string | undefined;
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** RSA modulus (no sign padding), when the key is RSA. */
  rsaModulus: Uint8Array | undefined;
  /** RSA modulus size in bits, when the key is RSA. */
  keyBits: number | undefined;
  san: SanHosts;
}

function bitLength(n: Uint8Array): number {
  const top = n[0] ?? 0;
  return n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(top));
}

function rsaModulusOfSpki(spki: Uint8Array): Uint8Array | undefined {
  const [alg, bits] = children(spki, readTlv(spki, 0));
  if (!alg || !bits) throw new Error('malformed SubjectPublicKeyInfo');
  const algOid = children(spki, alg)[0];
  if (!algOid || oidText(value(spki, algOid)) !== OID.rsaEncryption) return undefined;
  const key = value(spki, bits).subarray(1); // skip the unused-bits octet
  const [modulus] = children(key, readTlv(key, 0));
  return modulus ? unsignedInteger(value(key, modulus)) : undefined;
}

function nameAttributes(der: Uint8Array, name: Tlv): Map<string, string> {
  const out = new Map<string, string>();
  for (const rdn of children(der, name)) {
    for (const atv of children(der, rdn)) {
      const [type, val] = children(der, atv);
      if (type && val && !out.has(oidText(value(der, type)))) out.set(oidText(value(der, type)), Buffer.from(value(der, val)).toString('utf8'));
    }
  }
  return out;
}

function sanOf(der: Uint8Array, extensions: Tlv | undefined): SanHosts {
  const san: SanHosts = { dns: [], ips: [], other: [] };
  if (!extensions) return san;
  const seq = children(der, extensions)[0];
  for (const ext of seq ? children(der, seq) : []) {
    const parts = children(der, ext);
    const id = parts[0];
    const octets = parts[parts.length - 1];
    if (!id || !octets || oidText(value(der, id)) !== OID.subjectAltName) continue;
    const names = value(der, octets);
    for (const gn of children(names, readTlv(names, 0))) {
      const v = value(names, gn);
      if (gn.tag === 0x82) san.dns.push(Buffer.from(v).toString('latin1'));
      else if (gn.tag === 0x87) san.ips.push(formatIP(v));
      else san.other.push(`tag${gn.tag & 0x1f}:${Buffer.from(v).toString('latin1')}`);
    }
  }
  return san;
}

/** Reads the facts of one DER certificate; throws when it is not one. */
export function parseCertFacts(der: Uint8Array): CertFacts {
  const cert = readTlv(der, 0);
  if (cert.end !== der.length) throw new Error('trailing data after the certificate');
  const [tbsTlv, sigAlg, sig] = children(der, cert);
  // The tags too, or a damaged certificate passes here that every other X.509 reader refuses
  // (plan once planned to copy such a ca.crt everywhere, and apply crashed on it).
  const SEQ = 0x30;
  if (cert.tag !== SEQ || tbsTlv?.tag !== SEQ || sigAlg?.tag !== SEQ || sig?.tag !== 0x03) throw new Error('malformed certificate');
  const fields = children(der, tbsTlv);
  const off = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version is optional (v1)
  const validity = fields[off + 3];
  const subject = fields[off + 4];
  const spkiTlv = fields[off + 5];
  if (validity?.tag !== SEQ || subject?.tag !== SEQ || spkiTlv?.tag !== SEQ) throw new Error('malformed certificate');
  const [nb, na] = children(der, validity);
  if (!nb || !na) throw new Error('malformed validity');
  const extensions = fields.slice(off + 6).find((f) => f.tag === 0xa3);
  const attrs = nameAttributes(der, subject);
  const spki = der.subarray(spkiTlv.pos, spkiTlv.end);
  const rsaModulus = rsaModulusOfSpki(spki);
  const sigAlgOid = children(der, sigAlg)[0];
  return {
    tbs: der.subarray(tbsTlv.pos, tbsTlv.end),
    signatureAlgorithm: sigAlgOid ? oidText(value(der, sigAlgOid)) : '',
    signature: value(der, sig).subarray(1),
    subjectCN: attrs.get(OID.commonName),
    subjectO: attrs.get(OID.organization),
    notBefore: parseTime(nb.tag, value(der, nb)),
    notAfter: parseTime(na.tag, value(der, na)),
    spki,
    rsaModulus,
    keyBits: rsaModulus ? bitLength(rsaModulus) : undefined,
    san: sanOf(der, extensions),
  };
}


/** Whether `cert` carries a valid signature by `issuerKey`. */
export function isSignedBy(cert: CertFacts, issuerKey: KeyObject): boolean {
  const hash = SIGNATURE_HASH[cert.signatureAlgorithm];
  if (hash === undefined) return false;
  try {
    return cryptoVerify(hash, cert.tbs, issuerKey, cert.signature);
  } catch {
    return false;
  }
}

export function publicKeyOf(cert: CertFacts): KeyObject {
  return createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
}

/**
 * What identifies a private key for matching against a certificate: for RSA the modulus, read
 * from PKCS#1 or PKCS#8 DER (checking the whole RSAPrivateKey structure is there); for other keys
 * the SPKI DER of its public half (via node:crypto).
 */
export interface KeyFacts {
  rsaModulus: Uint8Array | undefined;
  spki: Uint8Array | undefined;
}

function rsaPrivateModulus(der: Uint8Array): Uint8Array {
  const parts = children(der, readTlv(der, 0));
  // RSAPrivateKey: version, n, e, d, p, q, dP, dQ, qInv: all INTEGERs.
  if (parts.length < 9 || parts.slice(0, 9).some((p) => p.tag !== 0x02)) throw new Error('malformed RSA private key');
  return unsignedInteger(value(der, parts[1] as Tlv));
}

function pkcs8Facts(der: Uint8Array): KeyFacts {
  const [, alg, octets] = children(der, readTlv(der, 0));
  const algOid = alg ? children(der, alg)[0] : undefined;
  if (algOid && octets && oidText(value(der, algOid)) === OID.rsaEncryption) return { rsaModulus: rsaPrivateModulus(value(der, octets)), spki: undefined };
  const key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  return { rsaModulus: undefined, spki: createPublicKey(key).export({ type: 'spki', format: 'der' }) };
}

/** Raw DER PKCS#8 (a `.pk8` file). */
export function parsePkcs8Facts(der: Uint8Array): KeyFacts {
  try {
    return pkcs8Facts(der);
  } catch {
    throw new Error('failed to parse PKCS#8 private key');
  }
}

/** Reads the first `… PRIVATE KEY` PEM block; throws with a short reason when it is unusable. */
export function parsePrivateKeyFacts(pem: Uint8Array): KeyFacts {
  const block = decodePem(Buffer.from(pem)).find((b) => b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY'));
  if (!block) throw new Error('no PEM private key found');
  try {
    if (block.type === 'RSA PRIVATE KEY') return { rsaModulus: rsaPrivateModulus(block.der), spki: undefined };
    if (block.type === 'PRIVATE KEY') return pkcs8Facts(block.der);
  } catch {
    throw new Error('failed to parse private key');
  }
  try {
    const key = createPrivateKey({ key: Buffer.from(pem), format: 'pem' });
    return { rsaModulus: undefined, spki: createPublicKey(key).export({ type: 'spki', format: 'der' }) };
  } catch {
    throw new Error('failed to parse private key');
  }
}

/** Whether two private keys are the same key. */
export function sameKey(a: KeyFacts, b: KeyFacts): boolean {
  if (a.rsaModulus && b.rsaModulus) return Buffer.from(a.rsaModulus).equals(Buffer.from(b.rsaModulus));
  if (a.spki && b.spki) return Buffer.from(a.spki).equals(Buffer.from(b.spki));
  return false;
}

/** Whether the private key belongs to the certificate. */
export function keyMatches(cert: CertFacts, key: KeyFacts): boolean {
  if (key.rsaModulus && cert.rsaModulus) return Buffer.from(key.rsaModulus).equals(Buffer.from(cert.rsaModulus));
  if (key.spki) return Buffer.from(key.spki).equals(Buffer.from(cert.spki));
  return false;
}
