// What a report shows of a certificate, from the one reader's facts (src/pki/read): every
// certificate Go accepts gets its columns, whatever node:crypto or @peculiar/x509 make of it.
import { createRequire } from 'node:module';
import type { x509 } from '../pki/x509.js';
import { setNameFormatter, type CertFacts } from '../pki/read/cert.js';
import type { PublicKeyFacts } from '../pki/read/types.js';

export { issuedBy, isSignedBy } from '../pki/read/verify.js';

// Names the reader does not print itself (unusual attributes or strings) are printed as
// @peculiar/x509 prints them, so the Subject column is the same either way. It is loaded on the
// first such name (synchronously, as its CommonJS build; reflect-metadata first, as src/pki/x509.ts
// does): a report of certificates certgen or cockroach wrote never loads it (~0.15 s).
let NameClass: typeof x509.Name | undefined;
setNameFormatter((der) => {
  if (NameClass === undefined) {
    const require = createRequire(import.meta.url);
    require('reflect-metadata');
    NameClass = (require('@peculiar/x509') as typeof x509).Name;
  }
  return new NameClass(new Uint8Array(der)).toString();
});

/** A certificate of the report: the reader's facts. */
export type ReportCert = CertFacts;

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

/** Key algorithm and size columns: `RSA 2048`, `ECDSA P-256`, `Ed25519`. */
export function keyColumns(k: PublicKeyFacts): KeyColumns {
  switch (k.type) {
    case 'rsa':
      return { keyAlgorithm: 'RSA', keySize: k.bits ?? null, key: `RSA ${k.bits ?? 0}` };
    case 'ec':
      return { keyAlgorithm: 'ECDSA', keySize: k.bits ?? null, key: `ECDSA ${k.curve ?? ''}` };
    case 'ed25519':
      return { keyAlgorithm: 'Ed25519', keySize: null, key: 'Ed25519' };
    default:
      return { keyAlgorithm: k.type, keySize: null, key: k.type };
  }
}

/** What a row shows of the certificate. */
export function columnsOf(cert: ReportCert): CertColumns {
  return { subject: cert.subject.text, notBefore: cert.notBefore, notAfter: cert.notAfter, serial: cert.serial, fingerprint: cert.fingerprint, key: keyColumns(cert.publicKey) };
}

/** The SAN hosts (for the `addresses:` note) and the first CN (for `user:`). */
export function notesFacts(cert: ReportCert): { dns: string[]; ips: string[]; cn: string | undefined } {
  return { dns: cert.san.dns, ips: cert.san.ips, cn: cert.subject.cn };
}
