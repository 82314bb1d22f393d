// Builds certificates with exactly the fields, order and encodings of CockroachDB's
// pkg/security/x509.go (newTemplate, GenerateCA, GenerateServerCert, GenerateClientCert,
// GenerateTenantCert, GenerateTenantSigningCert).
// Pure apart from the signature: time, serial and keys are passed in.
import { createHash, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString, type IAsnConvertible } from '@peculiar/asn1-schema';
import * as asn from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { bytes, x509 } from './x509.js';
import { publicKeyDer, toSigner, type Signer } from './keys.js';
import { children, readTlv, value } from './read/der.js';
import { classifyHosts, formatIP } from '../core/hosts.js';
import { goQuote } from '../core/go-quote.js';
import { goUrlParseString } from '../core/go-url.js';
import { CertgenError } from '../errors.js';

export { ORGANIZATION, TENANTS_OU, tenantSigningCommonName } from '../core/cert-names.js';
import { ORGANIZATION, TENANTS_OU, tenantSigningCommonName } from '../core/cert-names.js';
export { CA_COMMON_NAME } from '../core/cert-names.js';
/** `maxPathLength` in x509.go. */
export const CA_MAX_PATH_LENGTH = 1;
import { VALID_FROM_MS } from './validity.js';
export { VALID_FROM_MS } from './validity.js';


/**
 * `tenant` is a tenant client certificate (`client-tenant.<id>.crt`), `tenant-signing` the
 * self-signed token signing certificate (`tenant-signing.<id>.crt`).
 */
export type CertKind = 'ca' | 'node' | 'client' | 'tenant' | 'tenant-signing';

export interface IssueParams {
  kind: CertKind;
  /** The subject's public (or private) key. */
  subjectKey: KeyObject;
  /** Signs the certificate: the CA's own key for a CA, the CA key for leaves. */
  signer: Signer;
  /** The issuing CA certificate (leaves only); its subject becomes the issuer and its SKID the AKID. */
  issuer?: x509.X509Certificate;
  commonName: string;
  /** Node and tenant client certificates: SAN entries, classified as IP or DNS like Go's addHostsToTemplate. */
  hosts?: string[];
  /**
   * Client certificates: URI SANs (tenant scopes), as the text cockroach hands to Go's url.Parse;
   * the certificate holds what URL.String gives back (percent-encoded), and a malformed escape is
   * Go's `parse "…": invalid URL escape "%zz"`.
   */
  uris?: string[];
  now: Date;
  lifetimeMs: number;
  /** 16 random bytes; certificate serials are uniform in [0, 2^128). A tenant signing certificate's is 1. */
  serial: Uint8Array;
}

/** Go's asn1 PrintableString alphabet for marshalling (no `*`, `&` or `_`). */
function isPrintable(s: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
}

/** An AttributeTypeAndValue with the string type Go picks. */
function attribute(type: string, s: string): asn.AttributeTypeAndValue {
  return new asn.AttributeTypeAndValue({ type, value: new asn.AttributeValue(isPrintable(s) ? { printableString: s } : { utf8String: s }) });
}

const OID_O = '2.5.4.10';
const OID_OU = '2.5.4.11';
const OID_CN = '2.5.4.3';

/** A Name of one attribute per RDN, in this order. */
function nameOf(attrs: [string, string][]): asn.Name {
  return new asn.Name(attrs.map(([type, v]) => new asn.RelativeDistinguishedName([attribute(type, v)])));
}

/**
 * `O=Cockroach, CN=<cn>`, one attribute per RDN, string types chosen as Go does; an empty CN is left
 * out, as pkix.Name does (COCKROACH_CERT_NODE_USER set but empty).
 */
export function cockroachSubject(commonName: string, orgUnits: string[] = []): asn.Name {
  return nameOf([[OID_O, ORGANIZATION], ...orgUnits.map((ou): [string, string] => [OID_OU, ou]), ...(commonName === '' ? [] : [[OID_CN, commonName] as [string, string]])]);
}

/** The subject a kind of certificate gets: the signing certificate's is its CN alone (no O). */
function subjectFor(kind: CertKind, commonName: string): asn.Name {
  if (kind === 'tenant-signing') return nameOf([[OID_CN, commonName]]);
  return cockroachSubject(commonName, kind === 'tenant' ? [TENANTS_OU] : []);
}

/** RFC 5280 method 1, as Go ≤ 1.24 fills it in: SHA-1 of the subjectPublicKey BIT STRING bytes. */
export function subjectKeyId(key: KeyObject): Buffer {
  return subjectKeyIdOfSpki(publicKeyDer(key));
}

function subjectKeyIdOfSpki(spki: Buffer): Buffer {
  return createHash('sha1').update(spkiPublicKeyBits(spki)).digest();
}

/** The BIT STRING contents (minus the unused-bits octet) of a SubjectPublicKeyInfo. */
function spkiPublicKeyBits(spki: Buffer): Uint8Array {
  const [, bits] = children(spki, readTlv(spki, 0));
  if (!bits || bits.tag !== 0x03) throw new Error('malformed SubjectPublicKeyInfo');
  return value(spki, bits).subarray(1);
}

/** Second precision, as x509 times are encoded; Go truncates the fraction. */
function truncateToSecond(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** The Time CHOICE Go's x509 would write for `d`: UTCTime for 1950 through 2049, else GeneralizedTime. */
export function x509Time(d: Date): { utcTime: Date } | { generalTime: Date } {
  const year = d.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? { utcTime: d } : { generalTime: d };
}

/** Go's isIA5String, the check x509.CreateCertificate makes on every DNS name and URI it writes. */
export function checkIA5String(s: string): void {
  for (const ch of s) {
    if ((ch.codePointAt(0) ?? 0) > 0x7f) throw new CertgenError(`x509: ${goQuote(s)} cannot be encoded as an IA5String`);
  }
}

/**
 * MakeTenantURISANs / MakeTenantNameURISANs: each raw URI through url.Parse, the certificate getting
 * URL.String. Throws Go's `parse "…": …` text.
 */
export function tenantUris(raw: string[]): string[] {
  return raw.map((u) => {
    const r = goUrlParseString(u);
    if ('error' in r) throw new CertgenError(r.error);
    return r.url;
  });
}

/**
 * The certificate's DER, built with @peculiar/asn1-x509's structures and signed with node:crypto's
 * synchronous crypto.sign: no WebCrypto round trip, and no parse of what was just encoded
 * (@peculiar/x509's generator serializes the to-be-signed part twice and parses the result back,
 * which was most of a fresh apply's time with ECDSA keys). What every certificate of an apply
 * shares (the issuer, the fixed extensions, the signature algorithm) is encoded once, and the
 * key's SubjectPublicKeyInfo goes in as node:crypto exports it. apply writes this; the one maker.
 */
export function issueCertificateDer(p: IssueParams): Buffer {
  const nowMs = p.now.getTime();
  // cockroach parses the tenant URIs before x509.CreateCertificate checks any name.
  const uris = p.kind === 'client' ? tenantUris(p.uris ?? []) : [];
  const spki = publicKeyDer(p.subjectKey);
  const rsa = p.subjectKey.asymmetricKeyType === 'rsa';
  const extensions = [...constantExtensions(p.kind, rsa)];
  if (p.kind === 'ca') {
    extensions.push(extension(asn.id_ce_subjectKeyIdentifier, false, new asn.SubjectKeyIdentifier(bufferOf(subjectKeyIdOfSpki(spki)))));
  } else if (p.kind !== 'tenant-signing') {
    const akid = p.issuer ? issuerOf(p.issuer).akid : undefined;
    if (akid) extensions.push(akid);
    if ((p.kind === 'node' || p.kind === 'tenant') && (p.hosts?.length ?? 0) > 0) {
      const { dns, ips } = classifyHosts(p.hosts ?? []);
      // marshalSANs: DNS names are checked first, in order.
      for (const name of dns) checkIA5String(name);
      const names = [...dns.map((dNSName) => new asn.GeneralName({ dNSName })), ...ips.map((ip) => new asn.GeneralName({ iPAddress: ipForX509(ip) }))];
      extensions.push(extension(asn.id_ce_subjectAltName, false, new asn.SubjectAlternativeName(names)));
    }
    if (p.kind === 'client' && uris.length > 0) {
      for (const uri of uris) checkIA5String(uri);
      extensions.push(extension(asn.id_ce_subjectAltName, false, new asn.SubjectAlternativeName(uris.map((uniformResourceIdentifier) => new asn.GeneralName({ uniformResourceIdentifier })))));
    }
  }
  const subject = subjectFor(p.kind, p.commonName);
  const algorithm = signatureAlgorithm(p.signer);
  const tbs = new asn.TBSCertificate({
    version: asn.Version.v3,
    serialNumber: bufferOf(serialOctets(p.serial)),
    signature: algorithm as unknown as asn.AlgorithmIdentifier,
    issuer: p.issuer ? (issuerOf(p.issuer).name as unknown as asn.Name) : subject,
    validity: validity(truncateToSecond(nowMs - VALID_FROM_MS), truncateToSecond(nowMs + p.lifetimeMs)),
    subject,
    subjectPublicKeyInfo: new Der(spki) as unknown as asn.SubjectPublicKeyInfo,
    extensions: new asn.Extensions(extensions as unknown as asn.Extension[]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = cryptoSign(p.signer.hash, tbsDer, p.signer.key);
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }, with
  // the to-be-signed part as the bytes just signed rather than encoded a second time.
  const cert = new asn1js.Sequence({ value: [new Encoded(tbsDer) as unknown as asn1js.Sequence, algorithm.toASN() as unknown as asn1js.Sequence, new asn1js.BitString({ valueHex: signature })] });
  return Buffer.from(cert.toBER());
}

/** {@link issueCertificateDer}, read back as the certificate object the `cert` commands and tests use. */
export async function issueCertificate(p: IssueParams): Promise<x509.X509Certificate> {
  return new x509.X509Certificate(bytes(issueCertificateDer(p)));
}

/** An asn1js value that is bytes already encoded (asn1js's RawData writes nothing inside a constructed value). */
class Encoded extends asn1js.RawData {
  constructor(der: Uint8Array) {
    super({ data: der });
  }
  override toBER(sizeOnly?: boolean, writer?: { write(buf: ArrayBuffer): void }): ArrayBuffer {
    const der = super.toBER(sizeOnly);
    writer?.write(der);
    return der;
  }
}

/**
 * A value encoded already, for a field of an asn1-schema structure: the serializer asks an
 * IAsnConvertible for its own asn1js value.
 */
class Der implements IAsnConvertible {
  readonly der: Uint8Array;
  constructor(der: Uint8Array) {
    this.der = der;
  }
  toASN(): asn1js.AsnType {
    return new Encoded(this.der) as unknown as asn1js.AsnType;
  }
  fromASN(): this {
    throw new Error('Der is for encoding only');
  }
  toSchema(): asn1js.BaseBlock {
    throw new Error('Der is for encoding only');
  }
}

/** An ArrayBuffer holding exactly these bytes, which asn1-schema's byte fields want. */
function bufferOf(data: Uint8Array): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

/** An Extension, encoded. */
function extension(extnID: string, critical: boolean, value: object): Der {
  return new Der(new Uint8Array(AsnConvert.serialize(new asn.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) }))));
}

/**
 * The extensions before the key identifiers, the same for every certificate of a kind: KeyUsage
 * and BasicConstraints (CA, tenant signing) or KeyUsage and ExtKeyUsage (leaves). Made once.
 */
const constantCache = new Map<string, Der[]>();
function constantExtensions(kind: CertKind, rsa: boolean): Der[] {
  const id = `${kind}/${rsa}`;
  let exts = constantCache.get(id);
  if (exts) return exts;
  const KU = asn.KeyUsageFlags;
  // cockroach's usages include keyEncipherment (its keys are RSA); an ECDSA or Ed25519 key cannot
  // encipher, and RFC 5480 §3 and RFC 8410 §5 leave the bit out for them, as Go's generate_cert does.
  const encipherment = rsa ? KU.keyEncipherment : 0;
  const keyUsage = (flags: number): Der => extension(asn.id_ce_keyUsage, true, new asn.KeyUsage(flags));
  if (kind === 'ca') {
    exts = [keyUsage(KU.digitalSignature | KU.nonRepudiation | encipherment | KU.keyCertSign), extension(asn.id_ce_basicConstraints, true, new asn.BasicConstraints({ cA: true, pathLenConstraint: CA_MAX_PATH_LENGTH }))];
  } else if (kind === 'tenant-signing') {
    // Signatures only, and never a CA: BasicConstraints present (critical, as Go marks it) with CA
    // false and no path length; no SKID (Go fills it in for CAs only), no AKID (self-signed).
    exts = [keyUsage(KU.digitalSignature), extension(asn.id_ce_basicConstraints, true, new asn.BasicConstraints({ cA: false }))];
  } else {
    const serverAuth = asn.id_kp_serverAuth;
    const clientAuth = asn.id_kp_clientAuth;
    // Node: server first (it also dials other nodes); tenant: client first (KV), then server (SQL servers).
    const usages = kind === 'node' ? [serverAuth, clientAuth] : kind === 'tenant' ? [clientAuth, serverAuth] : [clientAuth];
    exts = [keyUsage(KU.digitalSignature | encipherment), extension(asn.id_ce_extKeyUsage, false, new asn.ExtendedKeyUsage(usages))];
  }
  constantCache.set(id, exts);
  return exts;
}

interface IssuerFacts {
  /** The CA's subject, the leaves' issuer, encoded. */
  name: Der;
  /** AuthorityKeyIdentifier holding the CA's SKID, when it has one. */
  akid?: Der;
}

/** Read once per CA certificate object: every leaf of an apply shares them. */
const issuerCache = new WeakMap<x509.X509Certificate, IssuerFacts>();
function issuerOf(cert: x509.X509Certificate): IssuerFacts {
  let facts = issuerCache.get(cert);
  if (facts) return facts;
  const name = new Der(new Uint8Array(cert.subjectName.toArrayBuffer()));
  const skid = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const akid = skid ? extension(asn.id_ce_authorityKeyIdentifier, false, new asn.AuthorityKeyIdentifier({ keyIdentifier: new asn.KeyIdentifier(bufferOf(Buffer.from(skid.keyId, 'hex'))) })) : undefined;
  facts = akid ? { name, akid } : { name };
  issuerCache.set(cert, facts);
  return facts;
}

/** The signatureAlgorithm AlgorithmIdentifier, encoded once per algorithm. */
const algorithmCache = new Map<string, Der>();
function signatureAlgorithm(s: Signer): Der {
  let der = algorithmCache.get(s.oid);
  if (!der) {
    const id = new asn.AlgorithmIdentifier(s.nullParameters ? { algorithm: s.oid, parameters: null } : { algorithm: s.oid });
    algorithmCache.set(s.oid, (der = new Der(new Uint8Array(AsnConvert.serialize(id)))));
  }
  return der;
}

/**
 * A serial's INTEGER contents as @peculiar/x509 made them: leading zero bytes dropped, a zero byte
 * put in front of a high first bit (serials are positive); an all-zero serial is replaced by 16
 * random bytes.
 */
export function serialOctets(serial: Uint8Array): Uint8Array {
  const s = serial.some((b) => b > 0) ? serial : randomBytes(16);
  let first = 0;
  while (first < s.length - 1 && s[first] === 0) first++;
  const v = s.subarray(first);
  return (v[0] ?? 0) > 0x7f ? Buffer.concat([Buffer.of(0), v]) : v;
}

/**
 * Validity with times as Go's x509 encodes them (RFC 5280 §4.1.2.5): UTCTime for the years 1950
 * through 2049, GeneralizedTime outside them (asn1-x509's Time would pick GeneralizedTime only after
 * 2049 and write a UTCTime for 1946 that every reader takes for 2046).
 */
function validity(notBefore: Date, notAfter: Date): asn.Validity {
  const v = new asn.Validity();
  v.notBefore = new asn.Time(x509Time(notBefore));
  v.notAfter = new asn.Time(x509Time(notAfter));
  return v;
}

/**
 * GenerateTenantSigningCert: `tenant-signing.<id>.crt`, self-signed with its own key, serial 1 ("the
 * serial number does not matter because we are not using a certificate authority"). The one maker
 * for `cert create-tenant-signing` and `apply`.
 */
export async function issueTenantSigningCert(key: KeyObject, tenantId: string, now: Date, lifetimeMs: number): Promise<x509.X509Certificate> {
  return issueCertificate({ kind: 'tenant-signing', subjectKey: key, signer: toSigner(key), commonName: tenantSigningCommonName(tenantId), now, lifetimeMs, serial: Uint8Array.of(1) });
}

/**
 * asn1-x509's GeneralName takes an IP SAN as a string it parses itself, knowing only plain dotted
 * IPv4 and hex IPv6, so hand it those forms (Go has already reduced v4-mapped addresses to 4 bytes).
 */
function ipForX509(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIP(bytes);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}
