// The certificate reader of `cert list` and every `create-*`: Go's verdict first (the one
// reader), then @peculiar/x509's object, which the notes and signing use. Its own module, loaded
// by scanCertsDir only when no other reader is given: report and check never load @peculiar/x509.
import { readCertificate, type x509 } from '../pki/x509.js';
import { parseCertificate } from '../pki/read/cert.js';

/** A CertReader<x509.X509Certificate> (the type is certs-dir's, not imported: no cycle). */
export const X509_READER: { read(der: Uint8Array): x509.X509Certificate; notAfter(cert: x509.X509Certificate): Date } = {
  read: (der) => {
    parseCertificate(der);
    return readCertificate(der);
  },
  notAfter: (cert) => cert.notAfter,
};
