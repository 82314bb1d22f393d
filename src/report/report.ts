// `certgen report`: every certificate of a cluster (with its spec) or of any CockroachDB certs
// folder (without one), one row per certificate, as `cert list` sees it and more: status against
// the renewal window, fingerprints, key, issuer, what `apply` would do to it, and a forecast of
// renewals and of the CA rotation deadline. Reads only: nothing here writes, creates or locks.
//
// Bad input never stops a report: a corrupt PEM, a key that does not match, a missing key, a
// folder that cannot be read or a junk file each becomes a row with `status: error` and a reason,
// and every other row is still there.
//
// The parts: spec-report.ts (a spec's tree, from one read of it) and dir-report.ts (a bare certs
// folder) put the rows together; types.ts (the output's shape), scan.ts (folders and files into
// rows), cert-read.ts (each certificate read once), status.ts (issuers and statuses), forecast.ts
// (renewals and CA rotations), time.ts.
import { reportForCertsDir } from './dir-report.js';
import { reportForSpec } from './spec-report.js';
import type { Report, ReportOptions, ReportSource } from './types.js';

export { reportForCertsDir } from './dir-report.js';
export { reportForSpec } from './spec-report.js';
export { REPORT_STATUSES, REPORT_VERSION } from './types.js';
export type { CaRotation, RenewalForecast, Report, ReportOptions, ReportProblem, ReportRow, ReportSource, ReportStatus, ReportSummary } from './types.js';
export { rotationDeadline, type LeafRenewal } from './forecast.js';

/** A report for a spec (`certgen report FILE`) or for a certs folder (`certgen report --certs-dir DIR`). */
export async function buildReport(source: ReportSource, opts: ReportOptions = {}): Promise<Report> {
  return 'spec' in source ? reportForSpec(source.spec, opts) : reportForCertsDir(source.certsDir, opts);
}
