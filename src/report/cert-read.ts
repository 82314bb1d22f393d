// Each certificate of a report read once. The certificates certgen and cockroach write (plain
// X.509 v3: RSA, ECDSA or Ed25519 keys, printable names, the usual six extensions) are read
// straight from their DER: subject, dates, serial, fingerprint, SANs, key, and what issuer
// matching needs. Any other certificate goes the exact way it always went: @peculiar/x509 (what
// `cert list` uses) and node:crypto's X509Certificate. The plain reading is strict on purpose:
// whatever it accepts, both full parsers accept and read the same way, so the report's columns,
// notes and issuer matches do not depend on which way a certificate went.
import { X509Certificate as NodeX509, createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { bytes, readCertificate, x509 } from '../pki/x509.js';
import { describeKey } from '../pki/keys.js';
import { children, parseTime, readTlv, value, type Tlv } from '../pki/der.js';
import { formatIP } from '../core/hosts.js';
import type { CertReader } from '../cert/certs-dir.js';

/** What the plain reading keeps of a certificate. */
interface Plain {
  /** As @peculiar/x509's `subject` writes it. */
  subject: string;
  /** The first CN of the subject. */
  cn: string | undefined;
  notBefore: Date;
  notAfter: Date;
  /** As node:crypto's `serialNumber`, uppercase. */
  serial: string;
  fingerprint: string;
  /** 'rsa' (rsaEncryption), 'ec' or 'ed25519', as node:crypto's asymmetricKeyType. */
  keyType: string;
  /** The key columns, as describeCertKey gives them for node:crypto's view of the key. */
  keyColumns: KeyColumns;
  /** node:crypto's view of the key, made when needed (RSA keys are described from the DER). */
  publicKey: KeyObject | undefined;
  /** SubjectPublicKeyInfo DER, as in the certificate. */
  spki: Buffer;
  /** Subject and issuer as OpenSSL compares them (X509_NAME_cmp's canonical form), one entry per RDN. */
  subjectCanon: string[];
  issuerCanon: string[];
  dns: string[];
  ips: string[];
  /** Authority key id ([0] only) and subject key id, when present. */
  akid: Buffer | undefined;
  skid: Buffer | undefined;
  /** First octet of the key usage bits, when the extension is present. */
  keyUsage: number | undefined;
  /** Key type the signature algorithm needs ('rsa', 'ec', 'ed25519') and its hash (null for Ed25519). */
  sigKeyType: string;
  sigHash: string | null;
  tbs: Buffer;
  signature: Buffer;
}

/** A certificate of the report, as scanCertsDir hands it over. */
export interface ReportCert {
  der: Buffer;
  /** Set when the plain reading took it. */
  plain?: Plain;
  /** @peculiar/x509's reading: certificates the plain reading did not take (and, on demand, the others). */
  x509?: x509.X509Certificate;
  /** node:crypto's reading, made on demand; null when it cannot parse the certificate. */
  node?: NodeX509 | null;
}

// --- object identifiers ---------------------------------------------------------------------------

function encodeOid(text: string): string {
  const arcs = text.split('.').map(Number);
  const out: number[] = [];
  const base128 = (n: number): void => {
    const groups = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  };
  base128((arcs[0] ?? 0) * 40 + (arcs[1] ?? 0));
  for (const a of arcs.slice(2)) base128(a);
  return Buffer.from(out).toString('hex');
}

/** Known OIDs by the hex of their (canonical) encoding. */
function oidTable(texts: readonly string[]): Map<string, string> {
  return new Map(texts.map((t) => [encodeOid(t), t]));
}

/** @peculiar/x509's short names for name attributes (other attributes: not plain). */
const NAME_SHORT: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '2.5.4.4': 'SN',
  '2.5.4.12': 'T',
};
const NAME_OIDS = oidTable(Object.keys(NAME_SHORT));

/** Signature algorithms: the key type they need, their hash, whether their parameters are NULL (else absent). */
const SIGNATURES: Record<string, { keyType: string; hash: string | null; nullParams: boolean }> = {
  '1.2.840.113549.1.1.5': { keyType: 'rsa', hash: 'sha1', nullParams: true },
  '1.2.840.113549.1.1.11': { keyType: 'rsa', hash: 'sha256', nullParams: true },
  '1.2.840.113549.1.1.12': { keyType: 'rsa', hash: 'sha384', nullParams: true },
  '1.2.840.113549.1.1.13': { keyType: 'rsa', hash: 'sha512', nullParams: true },
  '1.2.840.10045.4.3.2': { keyType: 'ec', hash: 'sha256', nullParams: false },
  '1.2.840.10045.4.3.3': { keyType: 'ec', hash: 'sha384', nullParams: false },
  '1.2.840.10045.4.3.4': { keyType: 'ec', hash: 'sha512', nullParams: false },
  '1.3.101.112': { keyType: 'ed25519', hash: null, nullParams: false },
};
const SIGNATURE_OIDS = oidTable(Object.keys(SIGNATURES));

const EXT = {
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;
const EXT_OIDS = oidTable(Object.values(EXT));

const RSA_ENCRYPTION = encodeOid('1.2.840.113549.1.1.1');

// --- the plain reading ---------------------------------------------------------------------------

class NotPlain extends Error {}

function need(ok: unknown): asserts ok {
  if (!ok) throw new NotPlain();
}

function tlvs(der: Uint8Array, t: Tlv | undefined, tag: number): Tlv[] {
  need(t && t.tag === tag);
  return children(der, t);
}

function oidOf(der: Uint8Array, t: Tlv | undefined, table: Map<string, string>): string {
  need(t && t.tag === 0x06);
  const text = table.get(Buffer.from(value(der, t)).toString('hex'));
  need(text !== undefined);
  return text;
}

/** A positive INTEGER in minimal DER: its magnitude. */
function positiveInteger(der: Uint8Array, t: Tlv | undefined): Buffer {
  need(t && t.tag === 0x02);
  const v = value(der, t);
  const first = v[0];
  need(first !== undefined && !(first & 0x80));
  need(first !== 0 || (v.length > 1 && (v[1] ?? 0) & 0x80));
  const magnitude = Buffer.from(first === 0 ? v.subarray(1) : v);
  need(magnitude.some((b) => b !== 0));
  return magnitude;
}

function bitLength(n: Buffer): number {
  return (n.length - 1) * 8 + (32 - Math.clz32(n[0] ?? 0));
}

/**
 * n and e of an rsaEncryption SubjectPublicKeyInfo (NULL parameters, a whole RSAPublicKey of two
 * positive INTEGERs in minimal DER, nothing after); undefined for any other key or encoding.
 */
function rsaPublicNumbers(spki: Buffer): [Buffer, Buffer] | undefined {
  try {
    const top = readTlv(spki, 0);
    need(top.tag === 0x30 && top.end === spki.length);
    const [alg, bits, ...rest] = children(spki, top);
    need(rest.length === 0 && bits && bits.tag === 0x03);
    const [oid, params, ...more] = tlvs(spki, alg, 0x30);
    need(oid && oid.tag === 0x06 && Buffer.from(value(spki, oid)).toString('hex') === RSA_ENCRYPTION);
    need(params && params.tag === 0x05 && params.end === params.start && more.length === 0);
    const bitString = value(spki, bits);
    need(bitString[0] === 0);
    const key = bitString.subarray(1);
    const seq = readTlv(key, 0);
    need(seq.tag === 0x30 && seq.end === key.length);
    const [n, e, ...others] = children(key, seq);
    need(others.length === 0);
    return [positiveInteger(key, n), positiveInteger(key, e)];
  } catch {
    return undefined;
  }
}

/** @peculiar/x509's escaping of a name value (the value is printable ASCII). */
function escapeValue(v: string): string {
  return v
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1');
}

/** OpenSSL's canonical form of a string value: trimmed, inner spaces collapsed, ASCII lowercased. */
function canonical(v: string): string {
  return v.trim().replace(/ +/g, ' ').toLowerCase();
}

interface PlainName {
  text: string;
  canon: string[];
  cn: string | undefined;
}

/** A Name of single-valued RDNs, each a known attribute with a PrintableString or UTF8String of printable ASCII. */
function readName(der: Uint8Array, t: Tlv | undefined): PlainName {
  const parts: string[] = [];
  const canon: string[] = [];
  let cn: string | undefined;
  for (const rdn of tlvs(der, t, 0x30)) {
    const set = tlvs(der, rdn, 0x31);
    need(set.length === 1);
    const [type, val, ...rest] = tlvs(der, set[0], 0x30);
    need(rest.length === 0 && val && (val.tag === 0x13 || val.tag === 0x0c));
    const oid = oidOf(der, type, NAME_OIDS);
    const raw = value(der, val);
    need(raw.length > 0 && raw.every((b) => b >= 0x20 && b <= 0x7e));
    const text = Buffer.from(raw).toString('latin1');
    parts.push(`${NAME_SHORT[oid] ?? oid}=${escapeValue(text)}`);
    canon.push(`${oid}\u0000${canonical(text)}`);
    if (oid === '2.5.4.3' && cn === undefined) cn = text;
  }
  return { text: parts.join(', '), canon, cn };
}

interface Extensions {
  dns: string[];
  ips: string[];
  akid: Buffer | undefined;
  skid: Buffer | undefined;
  keyUsage: number | undefined;
}

/** The usual extensions, each at most once, each well formed; anything else is not plain. */
function readExtensions(der: Uint8Array, t: Tlv | undefined): Extensions {
  const out: Extensions = { dns: [], ips: [], akid: undefined, skid: undefined, keyUsage: undefined };
  if (t === undefined) return out;
  const [list, ...rest] = tlvs(der, t, 0xa3);
  need(rest.length === 0);
  const exts = tlvs(der, list, 0x30);
  need(exts.length > 0);
  const seen = new Set<string>();
  for (const ext of exts) {
    const parts = tlvs(der, ext, 0x30);
    need(parts.length === 2 || parts.length === 3);
    const id = oidOf(der, parts[0], EXT_OIDS);
    need(!seen.has(id));
    seen.add(id);
    if (parts.length === 3) {
      const critical = parts[1] as Tlv;
      need(critical.tag === 0x01 && critical.end - critical.start === 1 && der[critical.start] === 0xff);
    }
    const octets = parts[parts.length - 1] as Tlv;
    need(octets.tag === 0x04);
    const v = value(der, octets);
    const top = readTlv(v, 0);
    need(top.end === v.length);
    switch (id) {
      case EXT.subjectKeyId:
        need(top.tag === 0x04 && top.end > top.start);
        out.skid = Buffer.from(value(v, top));
        break;
      case EXT.authorityKeyId: {
        const [keyId, ...others] = tlvs(v, top, 0x30);
        need(others.length === 0 && keyId && keyId.tag === 0x80 && keyId.end > keyId.start);
        out.akid = Buffer.from(value(v, keyId));
        break;
      }
      case EXT.keyUsage: {
        need(top.tag === 0x03);
        const bits = value(v, top);
        const unused = bits[0] ?? 8;
        need((bits.length === 2 || bits.length === 3) && unused < 8);
        // OpenSSL clears the unused bits of the last octet.
        out.keyUsage = bits.length === 2 ? (bits[1] ?? 0) & (0xff << unused) & 0xff : bits[1];
        break;
      }
      case EXT.extKeyUsage: {
        const purposes = tlvs(v, top, 0x30);
        need(purposes.length > 0);
        for (const p of purposes) need(p.tag === 0x06 && p.end > p.start && !((v[p.end - 1] ?? 0) & 0x80) && v[p.start] !== 0x80);
        break;
      }
      case EXT.basicConstraints: {
        const fields = tlvs(v, top, 0x30);
        const [first, second, ...more] = fields;
        need(more.length === 0);
        let ca = false;
        let pathLen: Tlv | undefined;
        if (first?.tag === 0x01) {
          need(first.end - first.start === 1 && v[first.start] === 0xff);
          ca = true;
          pathLen = second;
        } else {
          need(second === undefined);
          pathLen = first;
        }
        if (pathLen !== undefined) {
          need(ca && pathLen.tag === 0x02 && pathLen.end > pathLen.start && !((v[pathLen.start] ?? 0) & 0x80));
        }
        break;
      }
      case EXT.subjectAltName: {
        const names = tlvs(v, top, 0x30);
        need(names.length > 0);
        for (const gn of names) {
          const raw = value(v, gn);
          if (gn.tag === 0x82) {
            need(raw.length > 0 && raw.every((b) => b > 0x20 && b <= 0x7e));
            out.dns.push(Buffer.from(raw).toString('latin1'));
          } else {
            need(gn.tag === 0x87 && (raw.length === 4 || raw.length === 16));
            out.ips.push(formatIP(raw));
          }
        }
        break;
      }
    }
  }
  return out;
}

/** The plain reading of a DER certificate; throws NotPlain (or a DER error) when it is not one. */
function readPlain(der: Buffer): Plain {
  const cert = readTlv(der, 0);
  need(cert.tag === 0x30 && cert.end === der.length);
  const [tbsTlv, sigAlg, sig, ...extra] = children(der, cert);
  need(tbsTlv && sigAlg && sig && extra.length === 0 && tbsTlv.tag === 0x30 && sigAlg.tag === 0x30 && sig.tag === 0x03);
  const [version, serial, innerAlg, issuer, validity, subject, spki, exts, ...more] = children(der, tbsTlv);
  need(more.length === 0);
  // v3, with the same signature algorithm inside and outside.
  const [versionInt, ...versionRest] = tlvs(der, version, 0xa0);
  need(versionRest.length === 0 && versionInt && versionInt.tag === 0x02 && versionInt.end - versionInt.start === 1 && der[versionInt.start] === 2);
  const serialBytes = positiveInteger(der, serial);
  need(innerAlg && Buffer.from(der.subarray(innerAlg.pos, innerAlg.end)).equals(Buffer.from(der.subarray(sigAlg.pos, sigAlg.end))));
  const [algOid, params, ...algRest] = tlvs(der, sigAlg, 0x30);
  const sigName = oidOf(der, algOid, SIGNATURE_OIDS);
  const sigInfo = SIGNATURES[sigName];
  need(sigInfo && algRest.length === 0);
  if (sigInfo.nullParams) need(params && params.tag === 0x05 && params.end === params.start);
  else need(params === undefined);
  const signatureBits = value(der, sig);
  need(signatureBits.length > 1 && signatureBits[0] === 0);

  const issuerName = readName(der, issuer);
  const subjectName = readName(der, subject);
  const [nb, na, ...timesRest] = tlvs(der, validity, 0x30);
  need(nb && na && timesRest.length === 0 && (nb.tag === 0x17 || nb.tag === 0x18) && (na.tag === 0x17 || na.tag === 0x18));
  const notBefore = parseTime(nb.tag, value(der, nb));
  const notAfter = parseTime(na.tag, value(der, na));
  need(!Number.isNaN(notBefore.getTime()) && !Number.isNaN(notAfter.getTime()));

  need(spki && spki.tag === 0x30 && spki.end > spki.start);
  const spkiDer = der.subarray(spki.pos, spki.end);
  // An rsaEncryption key with well-formed n and e is described from the DER (node:crypto reads
  // the same modulus); any other key is handed to node:crypto now.
  const rsa = rsaPublicNumbers(spkiDer);
  let publicKey: KeyObject | undefined;
  let keyType = 'rsa';
  let keyColumns: KeyColumns;
  if (rsa) {
    const bits = bitLength(rsa[0]);
    keyColumns = { keyAlgorithm: 'RSA', keySize: bits, key: `RSA ${bits}` };
  } else {
    publicKey = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
    keyType = publicKey.asymmetricKeyType ?? '';
    need(keyType === 'ec' || keyType === 'ed25519');
    keyColumns = describeCertKey(publicKey);
  }

  need(exts === undefined || exts.tag === 0xa3);
  const e = readExtensions(der, exts);
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return {
    subject: subjectName.text,
    cn: subjectName.cn,
    notBefore,
    notAfter,
    serial: serialBytes.toString('hex').toUpperCase(),
    fingerprint: hex.replace(/(..)(?!$)/g, '$1:'),
    keyType,
    keyColumns,
    publicKey,
    spki: spkiDer,
    subjectCanon: subjectName.canon,
    issuerCanon: issuerName.canon,
    dns: e.dns,
    ips: e.ips,
    akid: e.akid,
    skid: e.skid,
    keyUsage: e.keyUsage,
    sigKeyType: sigInfo.keyType,
    sigHash: sigInfo.hash,
    tbs: der.subarray(tbsTlv.pos, tbsTlv.end),
    signature: der.subarray(sig.start + 1, sig.end),
  };
}

/** The plain reading, or undefined when the certificate is not plain. */
function tryPlain(der: Buffer): Plain | undefined {
  try {
    return readPlain(der);
  } catch {
    return undefined;
  }
}

/** scanCertsDir's reader for reports: plain certificates read once, the others by @peculiar/x509 (which throws for what is not a certificate). */
export const REPORT_CERT_READER: CertReader<ReportCert> = {
  read(der: Buffer): ReportCert {
    const plain = tryPlain(der);
    if (plain) return { der, plain };
    return { der, x509: readCertificate(der) };
  },
  notAfter(cert: ReportCert): Date {
    return cert.plain ? cert.plain.notAfter : x509Of(cert).notAfter;
  },
};

/** @peculiar/x509's reading (made now for a plain certificate). */
export function x509Of(cert: ReportCert): x509.X509Certificate {
  cert.x509 ??= new x509.X509Certificate(bytes(cert.der));
  return cert.x509;
}

/** node:crypto's reading; undefined when it cannot parse the certificate. */
export function nodeOf(cert: ReportCert): NodeX509 | undefined {
  if (cert.node === undefined) {
    try {
      cert.node = new NodeX509(cert.der);
    } catch {
      cert.node = null;
    }
  }
  return cert.node ?? undefined;
}

/** The certificate's public key (node:crypto's `publicKey`). */
export function publicKeyOfCert(cert: ReportCert): KeyObject {
  const p = cert.plain;
  if (p) {
    p.publicKey ??= createPublicKey({ key: p.spki, format: 'der', type: 'spki' });
    return p.publicKey;
  }
  const node = nodeOf(cert);
  if (!node) throw new Error('certificate cannot be parsed');
  return node.publicKey;
}

export interface KeyColumns {
  keyAlgorithm: string;
  keySize: number | null;
  key: string;
}

export interface CertColumns {
  subject: string;
  notBefore: Date;
  notAfter: Date;
  serial: string;
  fingerprint: string;
  key: KeyColumns;
}

/** What a row shows of the certificate; undefined when node:crypto cannot parse it (a corrupt row). */
export function columnsOf(cert: ReportCert): CertColumns | undefined {
  const p = cert.plain;
  if (p) return { subject: p.subject, notBefore: p.notBefore, notAfter: p.notAfter, serial: p.serial, fingerprint: p.fingerprint, key: p.keyColumns };
  const node = nodeOf(cert);
  if (!node) return undefined;
  const c = x509Of(cert);
  return { subject: c.subject, notBefore: c.notBefore, notAfter: c.notAfter, serial: node.serialNumber.toUpperCase(), fingerprint: node.fingerprint256, key: describeCertKey(node.publicKey) };
}

/** The SAN hosts (for the `addresses:` note) and the first CN (for `user:`) of a plain certificate. */
export function plainNotesFacts(cert: ReportCert): { dns: string[]; ips: string[]; cn: string | undefined } | undefined {
  return cert.plain ? { dns: cert.plain.dns, ips: cert.plain.ips, cn: cert.plain.cn } : undefined;
}

/**
 * node:crypto's `cert.checkIssued(issuer) && cert.verify(issuer.publicKey)`. For two plain
 * certificates, OpenSSL 3's X509_check_issued step by step: the names (canonical forms), the
 * authority key id against the subject key id, the issuer's key usage (keyCertSign), the signature
 * algorithm against the issuer's key type; then the signature itself.
 */
export function issuedBy(cert: ReportCert, issuer: ReportCert): boolean {
  const s = cert.plain;
  const i = issuer.plain;
  if (!s || !i) {
    const a = nodeOf(cert);
    const b = nodeOf(issuer);
    if (!a || !b) throw new Error('certificate cannot be parsed');
    return a.checkIssued(b) && a.verify(b.publicKey);
  }
  if (s.issuerCanon.length !== i.subjectCanon.length || s.issuerCanon.some((c, k) => c !== i.subjectCanon[k])) return false;
  if (s.akid && i.skid && !s.akid.equals(i.skid)) return false;
  if (i.keyUsage !== undefined && !(i.keyUsage & 0x04)) return false;
  if (i.keyType !== s.sigKeyType) return false;
  try {
    return cryptoVerify(s.sigHash, s.tbs, publicKeyOfCert(issuer), s.signature);
  } catch {
    return false;
  }
}

/** Key algorithm and size columns, from node:crypto's view of the key. */
export function describeCertKey(key: KeyObject): KeyColumns {
  const d = describeKey(key);
  const size = d.bits ?? (d.curve ? Number(/\d+/.exec(d.curve)?.[0] ?? Number.NaN) : Number.NaN);
  const text = [d.algorithm, d.bits !== undefined ? String(d.bits) : d.curve].filter((s) => s).join(' ');
  return { keyAlgorithm: d.algorithm, keySize: Number.isFinite(size) ? size : null, key: text };
}

// --- private keys --------------------------------------------------------------------------------
// node:crypto's answer (parse the key, derive its public half, compare SPKIs) costs a millisecond a
// key; for the RSA keys certgen and cockroach write, the modulus and exponent read straight from the
// DER give the same "it matches". Anything else (other key types, PEM headers, unusual encodings, a
// mismatch) goes the node:crypto way, which also words the verdict.

/** The first `… PRIVATE KEY` block, found as findPrivateKeyInPem finds it. */
const PEM_BLOCK = /-----BEGIN ([^-\n]*)-----\r?\n[\s\S]*?-----END \1-----/g;

/** n and e of a two-prime PKCS#1 RSAPrivateKey. */
function rsaPrivateNumbers(der: Uint8Array): [Buffer, Buffer] {
  const seq = readTlv(der, 0);
  need(seq.tag === 0x30 && seq.end === der.length);
  const parts = children(der, seq);
  need(parts.length === 9);
  const version = parts[0] as Tlv;
  need(version.tag === 0x02 && version.end - version.start === 1 && der[version.start] === 0);
  const ints = parts.slice(1).map((p) => positiveInteger(der, p));
  return [ints[0] as Buffer, ints[1] as Buffer];
}

/** n and e of a PKCS#8 PrivateKeyInfo holding an RSA key (rsaEncryption, NULL parameters, no attributes). */
function pkcs8RsaNumbers(der: Uint8Array): [Buffer, Buffer] {
  const seq = readTlv(der, 0);
  need(seq.tag === 0x30 && seq.end === der.length);
  const [version, alg, octets, ...rest] = children(der, seq);
  need(version && alg && octets && rest.length === 0 && version.tag === 0x02 && octets.tag === 0x04);
  need(version.end - version.start === 1 && der[version.start] === 0);
  const [oid, params, ...more] = tlvs(der, alg, 0x30);
  need(oid && oid.tag === 0x06 && Buffer.from(value(der, oid)).toString('hex') === RSA_ENCRYPTION);
  need(params && params.tag === 0x05 && params.end === params.start && more.length === 0);
  return rsaPrivateNumbers(value(der, octets));
}

/** n and e of the certificate's key, when it is rsaEncryption. */
function certRsaNumbers(cert: ReportCert): [Buffer, Buffer] {
  const rsa = cert.plain ? rsaPublicNumbers(cert.plain.spki) : undefined;
  need(rsa);
  return rsa;
}

function sameNumbers(cert: ReportCert, read: () => [Buffer, Buffer]): boolean {
  try {
    const [n, e] = read();
    const [cn, ce] = certRsaNumbers(cert);
    return n.equals(cn) && e.equals(ce);
  } catch {
    return false;
  }
}

/** Whether the PEM text's first private key is, read from its DER, the key of `cert`; false means "ask node:crypto". */
export function pemKeyIsCerts(text: string, cert: ReportCert): boolean {
  return sameNumbers(cert, () => {
    const m = text.matchAll(PEM_BLOCK);
    for (const block of m) {
      const type = block[1] ?? '';
      if (type !== 'PRIVATE KEY' && !type.endsWith(' PRIVATE KEY')) continue;
      // Plain blocks only: no headers, canonical base64 in lines of at most 64 characters.
      const lines = block[0].split('\n').slice(1, -1);
      need(lines.length > 0 && lines.every((l) => /^[A-Za-z0-9+/=]{1,64}$/.test(l)));
      const body = lines.join('');
      const der = Buffer.from(body, 'base64');
      need(der.toString('base64') === body);
      need(type === 'RSA PRIVATE KEY' || type === 'PRIVATE KEY');
      return type === 'RSA PRIVATE KEY' ? rsaPrivateNumbers(der) : pkcs8RsaNumbers(der);
    }
    throw new NotPlain();
  });
}

/** Whether raw DER PKCS#8 is, read directly, the key of `cert`; false means "ask node:crypto". */
export function pkcs8KeyIsCerts(der: Buffer, cert: ReportCert): boolean {
  return sameNumbers(cert, () => pkcs8RsaNumbers(der));
}
