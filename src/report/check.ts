// `certgen check`: a CI gate. Computes the plan and the report for a spec, never writes anything,
// and turns what it finds into findings, one line each, and one exit code:
//
//   0  ok        the tree matches the spec and nothing expires within the window
//   1  error     the spec is invalid or unreadable, the tree cannot be read, or the plan has errors
//                (apply would refuse to run: missing or mismatched CA key, expired CA, …)
//   2  drift     the tree differs from the spec: `certgen plan` has changes (orphans count only
//                with --prune)
//   3  expiring  a certificate (a node's, a client's or the CA's) expires within --within, by
//                default within its own renewBefore (the CA: inside its rotation window)
//
// Several at once: the most severe wins, in the order error (1) > expiring (3) > drift (2) > ok (0).
// An error means the other answers may be incomplete; an expiry is an outage on a clock; drift is
// work waiting for `apply`. Warnings (orphans without --prune, spec warnings) never change it.
import { plainStyle, type Style, type Tone } from '../core/style.js';
import { formatDuration } from '../core/duration.js';
import { CLIENT_CA_CERT } from '../core/cert-names.js';
import { CLIENT_CA_ARTIFACT } from '../tree/layout.js';
import { formatDiagnostic } from '../cluster-spec/parse-spec.js';
import { SpecError, loadSpec } from '../cluster-spec/load-spec.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { CertgenError } from '../errors.js';
import { reportForSpec, type Report, type ReportOptions } from './report.js';
import { keyLeakFindings } from './key-leaks.js';
import { DAY_MS, iso, resolveNow } from './time.js';

export const CHECK_VERSION = 1;

/** check's exit codes (see the module comment). */
export { CHECK_EXIT, CHECK_EXIT_CODES_HELP, type CheckExitCode } from './check-exit.js';
import { CHECK_EXIT, type CheckExitCode } from './check-exit.js';

export type FindingKind = 'error' | 'expiring' | 'drift' | 'warning';
/** Most severe first: the exit code is that of the first kind present. */
export const FINDING_SEVERITY: readonly FindingKind[] = ['error', 'expiring', 'drift', 'warning'];

export interface Finding {
  kind: FindingKind;
  /**
   * What it is: `spec-invalid`, `spec-unreadable`, `spec-warning`, `unreadable`, `not-yet-valid`,
   * a plan error code (`ca-key-missing`, `ca-expiring`, `key-mismatch`, …), a plan action
   * (`create`, `reissue`, `fix-mode`, `update-ca-bundle`, `update`, `orphan`), `expiring` or `expired`;
   * from git (key-leaks.ts): `key-tracked`, `key-not-ignored`, `git-unusable`.
   */
  code: string;
  /** `ca`, `node/<name>`, `client/<user>`, an orphan's path; '' for the spec itself. */
  artifact: string;
  /** The file concerned, relative to the certs dir (the spec file for spec findings; git findings: to the work tree's top). */
  file?: string;
  message: string;
}

export interface CheckResult {
  version: typeof CHECK_VERSION;
  /** The instant checked (RFC 3339). */
  now: string;
  specFile: string;
  /** null when the spec could not be loaded. */
  certsDir: string | null;
  /** The expiry window as a Go duration; null means each artifact's own renewBefore. */
  within: string | null;
  exitCode: CheckExitCode;
  status: 'ok' | 'error' | 'expiring' | 'drift';
  counts: Record<FindingKind, number>;
  findings: Finding[];
}

export interface CheckOptions {
  /** The clock (a Date or a function returning one); default the current time. */
  now?: Date | (() => Date);
  /** Expiry window in nanoseconds for every certificate; default each one's renewBefore. */
  within?: bigint;
  /** Count orphans as drift (as `plan --prune` would remove them); default they are warnings. */
  prune?: boolean;
  /** COCKROACH_SKIP_KEY_PERMISSION_CHECK. */
  skipKeyPermissionCheck?: boolean;
  /** How to name the spec file and the certs dir in the output (default their absolute paths). */
  specFileLabel?: string;
  /** A string, or a function of the loaded spec (for {@link checkSpecFile}, which loads it). */
  certsDirLabel?: string | ((spec: ClusterSpec) => string);
  /** age identities (a caKey ending in .age is checked with them, keys only in .age files restored in the read). */
  identities?: readonly string[];
}



/** The exit code for a set of findings: that of the most severe kind present. */
export function exitCodeFor(findings: readonly Pick<Finding, 'kind'>[]): CheckExitCode {
  const has = (k: FindingKind): boolean => findings.some((f) => f.kind === k);
  if (has('error')) return CHECK_EXIT.error;
  if (has('expiring')) return CHECK_EXIT.expiring;
  if (has('drift')) return CHECK_EXIT.drift;
  return CHECK_EXIT.ok;
}

const STATUS_OF: Record<CheckExitCode, CheckResult['status']> = { 0: 'ok', 1: 'error', 2: 'drift', 3: 'expiring' };

function result(base: Pick<CheckResult, 'now' | 'specFile' | 'certsDir' | 'within'>, findings: Finding[]): CheckResult {
  const order = (f: Finding): number => FINDING_SEVERITY.indexOf(f.kind);
  const sorted = [...findings].sort((a, b) => order(a) - order(b));
  const exitCode = exitCodeFor(sorted);
  const counts = { error: 0, expiring: 0, drift: 0, warning: 0 };
  for (const f of sorted) counts[f.kind]++;
  return { version: CHECK_VERSION, ...base, exitCode, status: STATUS_OF[exitCode], counts, findings: sorted };
}

/** A check's result from its findings: sorted, counted, and the exit code of the most severe (for check-staged.ts). */
export const checkResult = result;

function days(ms: number): string {
  const d = Math.floor(ms / DAY_MS);
  return `${d} day${d === 1 ? '' : 's'}`;
}

/** Findings for a loaded spec: plan errors and changes, unreadable parts of the tree, expiries. */
export function findingsFor(report: Report, opts: { within?: bigint; prune?: boolean } = {}): Finding[] {
  const findings: Finding[] = [];
  const nowMs = Date.parse(report.now);
  for (const row of report.rows) {
    if (row.problem === 'unreadable' || row.problem === 'not-yet-valid') {
      findings.push({ kind: 'error', code: row.problem, artifact: row.artifact, file: row.file, message: row.error });
    }
  }
  // Plan errors; an unreadable artifact already has its (more precise) line from the report.
  const unreadable = new Set(findings.filter((f) => f.code === 'unreadable').map((f) => f.artifact));
  for (const e of report.plan?.errors ?? []) {
    if (e.code === 'unreadable' && unreadable.has(e.artifact)) continue;
    findings.push({ kind: 'error', code: e.code, artifact: e.artifact, message: e.message });
    if (e.code === 'unreadable') unreadable.add(e.artifact);
  }
  // The CA key that cannot sign with ca.crt: the plan says so only when it has something to sign,
  // and an encrypted CA key that the given identity does not open stops nothing in a plan.
  const caKeyRow = report.rows.find((r) => r.artifact === 'ca' && r.position === 1 && (r.problem === 'key-unreadable' || r.problem === 'key-mismatch'));
  if (caKeyRow?.problem && !findings.some((f) => f.artifact === 'ca' && f.kind === 'error')) {
    findings.push({ kind: 'error', code: caKeyRow.problem, artifact: 'ca', file: caKeyRow.keyFile, message: caKeyRow.error });
  }
  // Drift: every change the plan would make (orphans: only when pruning, else a warning).
  for (const c of report.plan?.changes ?? []) {
    if (c.action === 'keep') continue;
    if (c.action === 'orphan' && c.reasons[0]?.code === 'interrupted-write') {
      findings.push({ kind: 'warning', code: 'orphan', artifact: c.artifact, file: c.files[0], message: c.reasons[0].message });
      continue;
    }
    if (c.action === 'orphan') {
      const file = c.files[0] ?? c.artifact;
      findings.push({ kind: opts.prune ? 'drift' : 'warning', code: 'orphan', artifact: c.artifact, file, message: `${file} is not in the spec (${opts.prune ? 'apply --prune removes it' : 'apply --prune would remove it'})` });
      continue;
    }
    const why = c.reasons.map((r) => `${r.code}: ${r.message}`).join('; ');
    findings.push({ kind: 'drift', code: c.action, artifact: c.artifact, file: c.files[0], message: `${c.action} (${why})` });
  }
  // Expiry: each node's, client's and tenant's certificate, and the active CA.
  for (const row of report.rows) {
    if (row.orphan || row.expires === null) continue;
    const activeCA = row.artifact === 'ca' && row.position === 1 && row.file === 'ca.crt';
    const leaf = (row.ownerKind === 'node' || row.ownerKind === 'client' || row.ownerKind === 'tenant') && (row.usage === 'Node' || row.usage === 'Client' || row.usage === 'Tenant Client' || row.usage === 'Tenant Signing' || row.usage === 'UI');
    if (!activeCA && !leaf) continue;
    const expiresMs = Date.parse(row.expires);
    const left = expiresMs - nowMs;
    const windowMs = opts.within !== undefined ? Number(opts.within / 1_000_000n) : row.renewalStarts !== null ? expiresMs - Date.parse(row.renewalStarts) : 0;
    const windowText = opts.within !== undefined ? `--within ${formatDuration(opts.within)}` : activeCA ? `its rotation window (from ${row.renewalStarts ?? ''})` : `renewBefore ${row.renewBefore ?? ''}`;
    const what = activeCA ? `the CA certificate ${row.file}` : row.file;
    if (left <= 0) {
      findings.push({ kind: 'expiring', code: 'expired', artifact: row.artifact, file: row.file, message: `${what} expired ${row.expires} (${days(-left)} ago)` });
    } else if (left < windowMs) {
      const rot = activeCA ? report.forecast.caRotations.find((r) => r.file === row.file) : undefined;
      const extra = rot ? `; rotate the CA by ${rot.rotateBy}` : '';
      findings.push({ kind: 'expiring', code: 'expiring', artifact: row.artifact, file: row.file, message: `${what} expires ${row.expires} (${days(left)} left), within ${windowText}${extra}` });
    }
  }
  findings.push(...rotationFindings(report, nowMs));
  for (const w of report.plan?.warnings ?? []) findings.push({ kind: 'warning', code: 'plan-warning', artifact: '', message: w });
  return findings;
}

/**
 * `rotation-deadline` (expiring, exit 3): the latest safe start of a CA rotation is less than the
 * CA's lead (the longest renewBefore) away, or a rotation under way has not reissued yet and its
 * deadline is that near (src/rotate/timing.ts has the rule).
 */
function rotationFindings(report: Report, nowMs: number): Finding[] {
  const out: Finding[] = [];
  const p = report.plan?.rotation;
  if (p) out.push({ kind: 'warning', code: 'rotation-phase', artifact: 'ca', message: `CA rotation ${p.id} in progress: phase ${p.phase}${p.pending ? ` (entering ${p.pending})` : ''}, the ${p.signing} CA signs (certgen rotate status)` });
  const c = report.plan?.clientCaRotation;
  if (c) out.push({ kind: 'warning', code: 'rotation-phase', artifact: CLIENT_CA_ARTIFACT, message: `Client CA rotation ${c.id} in progress: phase ${c.phase}${c.pending ? ` (entering ${c.pending})` : ''}, the ${c.signing} client CA signs (certgen rotate status --client-ca)` });
  for (const rot of report.forecast.caRotations) {
    const leadMs = Date.parse(rot.rotateBy) - Date.parse(rot.windowOpens);
    const r = rot.rotation;
    if (r !== undefined && (r.phase === 'staged' || r.phase === 'trusted') && Date.parse(r.deadline) - nowMs < leadMs) {
      const client = rot.file === CLIENT_CA_CERT;
      out.push({ kind: 'expiring', code: 'rotation-deadline', artifact: client ? CLIENT_CA_ARTIFACT : 'ca', file: rot.file, message: `rotation ${r.id} is ${r.phase}: trust and reissue must be done by ${r.deadline}; run certgen rotate continue${client ? ' --client-ca' : ''}` });
    } else if (r === undefined && rot.latestStart !== undefined && Date.parse(rot.latestStart) - nowMs < leadMs) {
      const client = rot.file === CLIENT_CA_CERT;
      out.push({ kind: 'expiring', code: 'rotation-deadline', artifact: client ? CLIENT_CA_ARTIFACT : 'ca', file: rot.file, message: `the ${client ? 'client CA' : 'CA'} rotation must start by ${rot.latestStart} (the ${client ? 'client CA' : 'CA'} expires ${rot.expires}); run certgen rotate start${client ? ' --client-ca' : ''}` });
    }
  }
  return out;
}

/**
 * `certgen check` for a loaded spec. Reads the tree (through plan and report), writes nothing.
 * Spec problems cannot happen here; {@link checkSpecFile} also reports those.
 */
export async function check(spec: ClusterSpec, opts: CheckOptions = {}): Promise<CheckResult> {
  const now = resolveNow(opts.now);
  const certsDirLabel = typeof opts.certsDirLabel === 'function' ? opts.certsDirLabel(spec) : opts.certsDirLabel;
  const reportOpts: ReportOptions = { now, skipKeyPermissionCheck: opts.skipKeyPermissionCheck, specFileLabel: opts.specFileLabel, certsDirLabel, ...(opts.identities ? { identities: opts.identities } : {}) };
  const base = {
    now: iso(now),
    specFile: opts.specFileLabel ?? spec.file,
    certsDir: certsDirLabel ?? spec.certsDir,
    within: opts.within === undefined ? null : formatDuration(opts.within),
  };
  let report: Report;
  try {
    report = await reportForSpec(spec, reportOpts);
  } catch (err) {
    if (!(err instanceof CertgenError)) throw err;
    return result(base, [{ kind: 'error', code: 'unreadable', artifact: '', message: err.message }]);
  }
  return result(base, [...findingsFor(report, opts), ...(await keyLeakFindings(spec))]);
}

/** Loads the spec (an invalid or unreadable one is exit 1 with one finding per problem), then {@link check}. */
export async function checkSpecFile(file: string, opts: CheckOptions = {}): Promise<CheckResult> {
  const now = resolveNow(opts.now);
  const warnings: Finding[] = [];
  let spec: ClusterSpec;
  try {
    spec = await loadSpec(file, { onWarning: (d) => warnings.push({ kind: 'warning', code: 'spec-warning', artifact: '', file: d.file, message: formatDiagnostic(d) }) });
  } catch (err) {
    if (!(err instanceof CertgenError)) throw err;
    const base = { now: iso(now), specFile: opts.specFileLabel ?? file, certsDir: null, within: opts.within === undefined ? null : formatDuration(opts.within) };
    const findings: Finding[] =
      err instanceof SpecError
        ? err.diagnostics.map((d) => ({ kind: 'error', code: 'spec-invalid', artifact: '', file: d.file, message: formatDiagnostic(d) }))
        : [{ kind: 'error', code: 'spec-unreadable', artifact: '', file, message: err.hint ? `${err.message} (${err.hint})` : err.message }];
    return result(base, findings);
  }
  const r = await check(spec, { ...opts, now });
  return result(r, [...r.findings, ...warnings]);
}

/** One finding on one line: `expiring: node/node1: nodes/node1/node.crt expires …`. */
export function formatFinding(f: Finding): string {
  // Each whitespace run holding a line break becomes one space. Not /\s*\n\s*/: that regex
  // backtracks quadratically over a long run of spaces (a spec path of 1 MB of spaces hung check).
  const oneLine = f.message.replace(/\s+/g, (ws) => (ws.includes('\n') ? ' ' : ws));
  return `${f.kind}: ${f.artifact ? `${f.artifact}: ` : ''}${oneLine}`;
}

const VERDICT: Record<CheckExitCode, string> = {
  0: 'ok: the certs dir matches the spec and nothing expires soon',
  1: 'error: the spec or the certs dir cannot be used as they are, or git holds or would take a private key',
  2: 'drift: the certs dir differs from the spec (certgen apply fixes it)',
  3: 'expiring: a certificate expires within the window',
};

const KIND_TONE: Record<FindingKind, Tone> = { error: 'error', expiring: 'remove', drift: 'change', warning: 'warn' };
const VERDICT_TONE: Record<CheckExitCode, Tone> = { 0: 'ok', 1: 'error', 2: 'change', 3: 'remove' };

/**
 * The lines for stderr: one per finding, then a one-line verdict with the exit code. `style`
 * colours each finding's kind and the verdict (the CLI passes one when stderr is a terminal).
 */
export function renderCheckText(r: CheckResult, style: Style = plainStyle): string {
  const c = r.counts;
  const tally = `${c.error} error${c.error === 1 ? '' : 's'}, ${c.expiring} expiring, ${c.drift} drift, ${c.warning} warning${c.warning === 1 ? '' : 's'}`;
  const finding = (f: Finding): string => {
    const line = formatFinding(f);
    return style(KIND_TONE[f.kind], f.kind) + line.slice(f.kind.length);
  };
  return [...r.findings.map(finding), style(VERDICT_TONE[r.exitCode], `check: exit ${r.exitCode}, ${VERDICT[r.exitCode]}`) + ` (${tally})`].join('\n') + '\n';
}
