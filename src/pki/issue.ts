// Builds certificates with exactly the fields, order and encodings of CockroachDB's
// pkg/security/x509.go (newTemplate, GenerateCA, GenerateServerCert, GenerateClientCert).
// Pure apart from the signature: time, serial and keys are passed in.
import { createHash, type KeyObject } from 'node:crypto';
import { bytes, x509 } from './x509.js';
import { publicKeyDer, type Signer } from './keys.js';
import { children, readTlv, value } from './read/der.js';
import { classifyHosts, formatIP } from '../core/hosts.js';

export const ORGANIZATION = 'Cockroach';
export { CA_COMMON_NAME } from '../core/cert-names.js';
/** `maxPathLength` in x509.go. */
export const CA_MAX_PATH_LENGTH = 1;
/** `validFrom`: NotBefore is backdated a day "to handle clock issues, specifically boot2docker". */
export const VALID_FROM_MS = 24 * 3600 * 1000;

export type CertKind = 'ca' | 'node' | 'client';

export interface IssueParams {
  kind: CertKind;
  /** The subject's public (or private) key. */
  subjectKey: KeyObject;
  /** Signs the certificate: the CA's own key for a CA, the CA key for leaves. */
  signer: Signer;
  /** The issuing CA certificate (leaves only); its subject becomes the issuer and its SKID the AKID. */
  issuer?: x509.X509Certificate;
  commonName: string;
  /** Node certificates: SAN entries, classified as IP or DNS like Go's addHostsToTemplate. */
  hosts?: string[];
  /** Client certificates: URI SANs (tenant scopes). */
  uris?: string[];
  now: Date;
  lifetimeMs: number;
  /** 16 random bytes; certificate serials are uniform in [0, 2^128). */
  serial: Uint8Array;
}

/** Go's asn1 PrintableString alphabet for marshalling (no `*`, `&` or `_`). */
function isPrintable(s: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
}

function directoryString(s: string): Record<string, string> {
  return isPrintable(s) ? { printableString: s } : { utf8String: s };
}

/** `O=Cockroach, CN=<cn>`, one attribute per RDN, string types chosen as Go does. */
export function cockroachSubject(commonName: string): x509.Name {
  const json = [{ O: [directoryString(ORGANIZATION)] }, { CN: [directoryString(commonName)] }];
  return new x509.Name(json as unknown as x509.JsonName);
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

export async function issueCertificate(p: IssueParams): Promise<x509.X509Certificate> {
  const { KeyUsageFlags: KU } = x509;
  const nowMs = p.now.getTime();
  const publicKey = new x509.PublicKey(bytes(publicKeyDer(p.subjectKey)));
  const extensions: x509.Extension[] = [];

  if (p.kind === 'ca') {
    extensions.push(
      new x509.KeyUsagesExtension(KU.digitalSignature | KU.nonRepudiation | KU.keyEncipherment | KU.keyCertSign, true),
      new x509.BasicConstraintsExtension(true, CA_MAX_PATH_LENGTH, true),
      new x509.SubjectKeyIdentifierExtension(subjectKeyId(p.subjectKey).toString('hex')),
    );
  } else {
    extensions.push(new x509.KeyUsagesExtension(KU.digitalSignature | KU.keyEncipherment, true));
    const usages = p.kind === 'node' ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.clientAuth];
    extensions.push(new x509.ExtendedKeyUsageExtension(usages, false));
    const skid = p.issuer?.getExtension(x509.SubjectKeyIdentifierExtension);
    if (skid) extensions.push(new x509.AuthorityKeyIdentifierExtension(skid.keyId, false));
    if (p.kind === 'node' && (p.hosts?.length ?? 0) > 0) {
      const { dns, ips } = classifyHosts(p.hosts ?? []);
      const names = [...dns.map((value) => ({ type: 'dns' as const, value })), ...ips.map((ip) => ({ type: 'ip' as const, value: ipForX509(ip) }))];
      extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
    }
    if (p.kind === 'client' && (p.uris?.length ?? 0) > 0) {
      extensions.push(new x509.SubjectAlternativeNameExtension((p.uris ?? []).map((value) => ({ type: 'url' as const, value })), false));
    }
  }

  const subject = cockroachSubject(p.commonName);
  return x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(p.serial).toString('hex'),
    subject,
    issuer: p.issuer ? new x509.Name(p.issuer.subjectName.toArrayBuffer()) : subject,
    notBefore: truncateToSecond(nowMs - VALID_FROM_MS),
    notAfter: truncateToSecond(nowMs + p.lifetimeMs),
    publicKey,
    signingKey: p.signer.cryptoKey,
    signingAlgorithm: p.signer.algorithm,
    extensions,
  });
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
