// Subject alternative names read back from a certificate, in cockroach's terms.
import type { x509 } from './x509.js';
import { formatIP } from '../core/hosts.js';

export interface SanHosts {
  /** DNS names in certificate order. */
  dns: string[];
  /** IP addresses in certificate order, as Go's net.IP.String prints them. */
  ips: string[];
  /** Anything else (URIs, e-mail addresses), as `type:value`. */
  other: string[];
}

export function sanHosts(cert: x509.X509Certificate): SanHosts {
  const out: SanHosts = { dns: [], ips: [], other: [] };
  // By OID, so this module does not load @peculiar/x509 (report and check import it, and read
  // certificates without it); the extension factory has made it a SubjectAlternativeNameExtension.
  const san = cert.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension | null;
  for (const n of san?.names?.items ?? []) {
    if (n.type === 'dns') out.dns.push(n.value);
    else if (n.type === 'ip') {
      // GeneralName keeps the raw DER; the OCTET STRING body is the address.
      const raw = new Uint8Array(n.rawData);
      out.ips.push(formatIP(raw.subarray(raw.length - (raw[1] ?? 0))));
    } else out.other.push(`${n.type}:${n.value}`);
  }
  return out;
}
