// The one import site of @peculiar/x509. Its dependency-injection container needs a Reflect
// polyfill loaded first (x509 v2 made it mandatory), and it must be told to use Node's WebCrypto;
// keeping both here guarantees the order for every caller.
import 'reflect-metadata';
import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
export const subtle = webcrypto.subtle;

/** A copy backed by a plain ArrayBuffer, which @peculiar/x509's types insist on. */
export function bytes(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(data);
}

/** The extensions certgen reads back from certificates. */
const READ_EXTENSIONS: (new (raw: BufferSource) => x509.Extension)[] = [
  x509.SubjectAlternativeNameExtension,
  x509.BasicConstraintsExtension,
  x509.KeyUsagesExtension,
  x509.ExtendedKeyUsageExtension,
  x509.SubjectKeyIdentifierExtension,
  x509.AuthorityKeyIdentifierExtension,
];

/**
 * A certificate, checked as Go's x509.ParseCertificate checks it: at once. @peculiar/x509 decodes
 * an extension or the public key only when asked, and node:crypto the key likewise, so a malformed
 * one would otherwise throw later, in whatever reads it, away from the file it came from.
 * Throws when the certificate is malformed.
 */
export function readCertificate(der: Uint8Array): x509.X509Certificate {
  const cert = new x509.X509Certificate(bytes(der));
  for (const type of READ_EXTENSIONS) cert.getExtension(type);
  void cert.publicKey.algorithm;
  void new NodeX509(der).publicKey;
  return cert;
}
