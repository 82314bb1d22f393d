// A row's verdict: which CA certificate signed it, its status against the clock and its renewal
// window, and the count of rows per status.
import { isCAUsage } from '../core/cert-names.js';
import type { Work } from './scan.js';
import { issuedBy, isSignedBy } from './cert-read.js';
import { DAY_MS } from './time.js';
import type { ReportRow, ReportStatus, ReportSummary } from './types.js';

/** Fills issuerFingerprint; flags leaves no trusted CA signed. `trust(folder)` lists the CA certs a folder trusts. */
export function matchIssuers(works: Work[], trust: (folder: string) => Work[]): void {
  for (const w of works) {
    if (!w.cert) continue;
    const candidates = trust(w.folder).filter((c) => c.cert);
    if (w.row.usage !== '' && isCAUsage(w.row.usage)) candidates.unshift(w);
    // A tenant signing certificate signs itself (create-tenant-signing) and is no CA: no keyCertSign.
    const selfSigned = w.row.usage === 'Tenant Signing';
    if (selfSigned) candidates.unshift(w);
    let issuer: Work | undefined;
    for (const c of candidates) {
      try {
        if (c.cert && (c === w && selfSigned ? isSignedBy(w.cert, w.cert) : issuedBy(w.cert, c.cert))) {
          issuer = c;
          break;
        }
      } catch {
        // an unusable candidate key: try the next
      }
    }
    if (issuer) w.row.issuerFingerprint = issuer.row.fingerprint;
    // A provided UI certificate comes from a public or organisational CA, not the cluster's.
    else if (w.leaf && candidates.length > 0 && !w.row.error && w.row.usage !== 'UI') {
      w.row.problem = 'not-signed';
      const files = [...new Set(candidates.map((c) => c.row.file))].join(', ');
      w.row.error = `${w.row.file} is not signed by any CA certificate in ${files}`;
    }
  }
}

export function setStatus(row: ReportRow, nowMs: number): void {
  if (row.expires !== null && row.notBefore !== null && !row.error && Date.parse(row.notBefore) > nowMs) {
    row.problem = 'not-yet-valid';
    row.error = `${row.file} is not valid before ${row.notBefore}: peers reject it until then (check the clock of the machine that made it)`;
  }
  if (row.expires !== null) row.daysLeft = Math.floor((Date.parse(row.expires) - nowMs) / DAY_MS);
  if (row.error) row.status = 'error';
  else if (row.expires === null) row.status = 'error';
  else if (Date.parse(row.expires) <= nowMs) row.status = 'expired';
  else if (row.renewalStarts !== null && Date.parse(row.renewalStarts) <= nowMs) row.status = 'renew-soon';
  else row.status = 'ok';
}

export function summarize(rows: ReportRow[]): ReportSummary {
  const n = (s: ReportStatus): number => rows.filter((r) => r.status === s).length;
  return { total: rows.length, ok: n('ok'), renewSoon: n('renew-soon'), expired: n('expired'), error: n('error') };
}
