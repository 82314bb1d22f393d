// Builds certificates with exactly the fields, order and encodings of CockroachDB's
// pkg/security/x509.go (newTemplate, GenerateCA, GenerateServerCert, GenerateClientCert,
// GenerateTenantCert, GenerateTenantSigningCert).
// Pure apart from the signature: time, serial and keys are passed in.
import { createHash, type KeyObject } from 'node:crypto';
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

function directoryString(s: string): Record<string, string> {
  return isPrintable(s) ? { printableString: s } : { utf8String: s };
}

/**
 * `O=Cockroach, CN=<cn>`, one attribute per RDN, string types chosen as Go does; an empty CN is left
 * out, as pkix.Name does (COCKROACH_CERT_NODE_USER set but empty).
 */
export function cockroachSubject(commonName: string, orgUnits: string[] = []): x509.Name {
  const json = [{ O: [directoryString(ORGANIZATION)] }, ...orgUnits.map((ou) => ({ OU: [directoryString(ou)] })), ...(commonName === '' ? [] : [{ CN: [directoryString(commonName)] }])];
  return new x509.Name(json as unknown as x509.JsonName);
}

/** The subject a kind of certificate gets: the signing certificate's is its CN alone (no O). */
function subjectFor(kind: CertKind, commonName: string): x509.Name {
  if (kind === 'tenant-signing') return new x509.Name([{ CN: [directoryString(commonName)] }] as unknown as x509.JsonName);
  return cockroachSubject(commonName, kind === 'tenant' ? [TENANTS_OU] : []);
}

/** RFC 5280 method 1, as Go ≤ 1.24 fills it in: SHA-1 of the subjectPublicKey BIT STRING bytes. */
export function subjectKeyId(key: KeyObject): Buffer {
  return createHash('sha1').update(spkiPublicKeyBits(publicKeyDer(key))).digest();
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

/**
 * A validity time as Go's x509 encodes it (RFC 5280 §4.1.2.5): UTCTime for the years 1950 through
 * 2049, GeneralizedTime outside them. @peculiar/x509 would pick GeneralizedTime only after 2049 and
 * write a UTCTime for 1946 that every reader takes for 2046, so the choice is made here and handed
 * to its Time CHOICE as the alternative to set.
 */
export function x509Time(d: Date): Date {
  const year = d.getUTCFullYear();
  const choice = year >= 1950 && year <= 2049 ? { utcTime: d } : { generalTime: d };
  return choice as unknown as Date;
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

export async function issueCertificate(p: IssueParams): Promise<x509.X509Certificate> {
  const { KeyUsageFlags: KU } = x509;
  const nowMs = p.now.getTime();
  const publicKey = new x509.PublicKey(bytes(publicKeyDer(p.subjectKey)));
  const extensions: x509.Extension[] = [];
  // cockroach parses the tenant URIs before x509.CreateCertificate checks any name.
  const uris = p.kind === 'client' ? tenantUris(p.uris ?? []) : [];

  // cockroach's usages include keyEncipherment (its keys are RSA); an ECDSA or Ed25519 key cannot
  // encipher, and RFC 5480 §3 and RFC 8410 §5 leave the bit out for them, as Go's generate_cert does.
  const encipherment = p.subjectKey.asymmetricKeyType === 'rsa' ? KU.keyEncipherment : 0;
  if (p.kind === 'ca') {
    extensions.push(
      new x509.KeyUsagesExtension(KU.digitalSignature | KU.nonRepudiation | encipherment | KU.keyCertSign, true),
      new x509.BasicConstraintsExtension(true, CA_MAX_PATH_LENGTH, true),
      new x509.SubjectKeyIdentifierExtension(subjectKeyId(p.subjectKey).toString('hex')),
    );
  } else if (p.kind === 'tenant-signing') {
    // Signatures only, and never a CA: BasicConstraints present (critical, as Go marks it) with CA
    // false and no path length; no SKID (Go fills it in for CAs only), no AKID (self-signed).
    extensions.push(new x509.KeyUsagesExtension(KU.digitalSignature, true), new x509.BasicConstraintsExtension(false, undefined, true));
  } else {
    extensions.push(new x509.KeyUsagesExtension(KU.digitalSignature | encipherment, true));
    const { serverAuth, clientAuth } = x509.ExtendedKeyUsage;
    // Node: server first (it also dials other nodes); tenant: client first (KV), then server (SQL servers).
    const usages = p.kind === 'node' ? [serverAuth, clientAuth] : p.kind === 'tenant' ? [clientAuth, serverAuth] : [clientAuth];
    extensions.push(new x509.ExtendedKeyUsageExtension(usages, false));
    const skid = p.issuer?.getExtension(x509.SubjectKeyIdentifierExtension);
    if (skid) extensions.push(new x509.AuthorityKeyIdentifierExtension(skid.keyId, false));
    if ((p.kind === 'node' || p.kind === 'tenant') && (p.hosts?.length ?? 0) > 0) {
      const { dns, ips } = classifyHosts(p.hosts ?? []);
      // marshalSANs: DNS names are checked first, in order.
      for (const name of dns) checkIA5String(name);
      const names = [...dns.map((value) => ({ type: 'dns' as const, value })), ...ips.map((ip) => ({ type: 'ip' as const, value: ipForX509(ip) }))];
      extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
    }
    if (p.kind === 'client' && uris.length > 0) {
      for (const uri of uris) checkIA5String(uri);
      extensions.push(new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })), false));
    }
  }

  const subject = subjectFor(p.kind, p.commonName);
  return x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(p.serial).toString('hex'),
    subject,
    issuer: p.issuer ? new x509.Name(p.issuer.subjectName.toArrayBuffer()) : subject,
    notBefore: x509Time(truncateToSecond(nowMs - VALID_FROM_MS)),
    notAfter: x509Time(truncateToSecond(nowMs + p.lifetimeMs)),
    publicKey,
    signingKey: p.signer.cryptoKey,
    signingAlgorithm: p.signer.algorithm,
    extensions,
  });
}

/**
 * GenerateTenantSigningCert: `tenant-signing.<id>.crt`, self-signed with its own key, serial 1 ("the
 * serial number does not matter because we are not using a certificate authority"). The one maker
 * for `cert create-tenant-signing` and `apply`.
 */
export async function issueTenantSigningCert(key: KeyObject, tenantId: string, now: Date, lifetimeMs: number): Promise<x509.X509Certificate> {
  return issueCertificate({ kind: 'tenant-signing', subjectKey: key, signer: await toSigner(key), commonName: tenantSigningCommonName(tenantId), now, lifetimeMs, serial: Uint8Array.of(1) });
}

/**
 * @peculiar/x509 parses IP SAN strings itself and only knows plain dotted IPv4 and hex IPv6, so
 * hand it those forms (Go has already reduced v4-mapped addresses to 4 bytes).
 */
function ipForX509(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIP(bytes);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}
