// `certgen report`: every certificate of a cluster (with its spec) or of any CockroachDB certs
// folder (without one), one row per certificate, as `cert list` sees it and more: status against
// the renewal window, fingerprints, key, issuer, what `apply` would do to it, and a forecast of
// renewals and of the CA rotation deadline. Reads only: nothing here writes, creates or locks.
//
// Bad input never stops a report: a corrupt PEM, a key that does not match, a missing key, a
// folder that cannot be read or a junk file each becomes a row with `status: error` and a reason,
// and every other row is still there.
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { X509Certificate as NodeX509, createPrivateKey, type KeyObject } from 'node:crypto';
import { x509 } from '../pki/x509.js';
import { describeKey, findPrivateKeyInPem, publicKeyDer } from '../pki/keys.js';
import { scanCertsDir } from '../cert/certs-dir.js';
import { CA_CERT, CERT_EXTENSION, KEY_EXTENSION, isCAUsage, keyFileFor, parseCertFileName, type PemUsage } from '../core/cert-names.js';
import { certNotes } from '../cert/list.js';
import { formatDuration } from '../core/duration.js';
import { CLIENTS_DIR, LOCK_FILE, NODES_DIR, desiredArtifacts } from '../tree/layout.js';
import { plan as computePlan } from '../apply.js';
import type { Change, Plan, PlanError } from '../core/plan.js';
import { DEFAULT_RENEW_BEFORE_NS, type ClusterSpec } from '../spec/spec.js';
import { errnoText } from '../io/files.js';

export const REPORT_VERSION = 1;

const DAY_MS = 24 * 3600 * 1000;
/** cockroach backdates NotBefore by a day (validFrom), so validity = lifetime + 24h. */
const BACKDATE_MS = DAY_MS;

export type ReportStatus = 'ok' | 'renew-soon' | 'expired' | 'error';
export const REPORT_STATUSES: readonly ReportStatus[] = ['ok', 'renew-soon', 'expired', 'error'];

/** Why a row is in error (machine-readable; `error` has the sentence). */
export type ReportProblem =
  /** An artifact the spec asks for does not exist yet. */
  | 'missing'
  /** A folder or file exists but cannot be read (permissions, I/O). */
  | 'unreadable'
  /** A .crt file that is not PEM certificates. */
  | 'corrupt'
  /** A .crt file whose name CockroachDB does not recognise (cockroach skips it with a warning). */
  | 'bad-filename'
  | 'key-missing'
  | 'key-unreadable'
  | 'key-mismatch'
  /** The key file is more open than CockroachDB accepts. */
  | 'key-permissions'
  /** Not signed by any CA certificate trusted in its folder. */
  | 'not-signed'
  /** NotBefore is in the future: peers reject it until then (clock skew?). */
  | 'not-yet-valid'
  /** A file that is neither a certificate nor the key of one. */
  | 'junk'
  /** A folder where none belongs (spec mode) that holds no certificate. */
  | 'stray-folder';

export interface ReportRow {
  /** Spec mode: `ca`, `node/<name>`, `client/<user>`, or the path of an orphan. Certs-dir mode: ''. */
  artifact: string;
  /** Node name, user, `CA` (`client CA`, `UI CA`, `tenant …`), or `(none)` for files nobody owns. */
  owner: string;
  ownerKind: 'ca' | 'node' | 'client' | 'tenant' | 'none';
  /** `cert list`'s usage (CA, Client CA, UI CA, Node, UI, Client, …); '' for junk and bad names. */
  usage: PemUsage | '';
  /** Relative to the certs dir, with `/`; folders end with `/`. */
  file: string;
  /** 1-based place of this certificate in its file, and how many the file holds (CA bundles). */
  position: number;
  certsInFile: number;
  /** The private key this certificate was checked against (spec mode: the CA key, relative to the certs dir). */
  keyFile: string;
  subject: string;
  /** RFC 3339 UTC, null when there is no certificate to read. */
  notBefore: string | null;
  expires: string | null;
  /** Whole days from `now` to expiry (floor; negative once expired). */
  daysLeft: number | null;
  /** Go duration; null for certificates that are never renewed (older CAs in a bundle, copies). */
  renewBefore: string | null;
  /** When the certificate enters its renewal window (for the active CA: see the CA rotation). */
  renewalStarts: string | null;
  status: ReportStatus;
  /** What `cert list` prints: `num certs: N`, `addresses: …`, `user: …` (later CA bundle certs: `cert i of N in the bundle`). */
  notes: string;
  /** Uppercase hex, as `openssl x509 -serial` prints it. */
  serial: string;
  /** SHA-256 of the DER, uppercase hex pairs joined by `:` (`openssl x509 -fingerprint -sha256`). */
  fingerprint: string;
  /** `RSA`, `ECDSA`, `Ed25519`; '' without a certificate. */
  keyAlgorithm: string;
  /** Modulus bits (RSA) or curve bits (ECDSA); null when not applicable. */
  keySize: number | null;
  /** `RSA 2048`, `ECDSA P-256`, `Ed25519`. */
  key: string;
  /** Fingerprint of the CA certificate in the tree that signed it (self for a root CA); '' when not found. */
  issuerFingerprint: string;
  /** Spec mode: what apply would do (`reissue: hosts-changed`, `orphan: …`); '' when nothing. */
  pending: string;
  /** Spec mode: the file or folder is not in the spec. */
  orphan: boolean;
  problem: ReportProblem | null;
  error: string;
}

/** One artifact's next renewal. */
export interface RenewalForecast {
  artifact: string;
  owner: string;
  file: string;
  expires: string | null;
  renewBefore: string | null;
  /** When it enters its renewal window: `expires - renewBefore` (the active CA: see its rotation); null without a certificate. */
  windowOpens: string | null;
  /** When `apply` next replaces it: `windowOpens`, or `now` when it is in the window, broken, missing or out of step with the spec. */
  renewsAt: string;
  /** Whole days from now to `renewsAt`. */
  daysUntil: number;
  status: ReportStatus;
  /** Why it renews then: `renewal window`, or what `apply` would do now (`reissue: hosts-changed`, `missing`, the error). */
  why: string;
}

/** The latest safe start of a CA rotation; see {@link rotationDeadline} for the formula. */
export interface CaRotation {
  owner: string;
  file: string;
  fingerprint: string;
  expires: string;
  /** How many leaves the CA is responsible for renewing. */
  leaves: number;
  /** The rotation deadline: the new CA must be in every ca.crt by then. */
  rotateBy: string;
  daysUntil: number;
  /** rotateBy minus the longest renewBefore of its leaves: when the CA's own renewal window opens. */
  windowOpens: string;
  lead: string;
  overdue: boolean;
  /** The renewal that sets the deadline, if any leaf does. */
  binding: { artifact: string; file: string; renewsAt: string; lifetime: string; needsCaUntil: string } | null;
  /** One paragraph for people. */
  explanation: string;
}

export interface ReportSummary {
  total: number;
  ok: number;
  renewSoon: number;
  expired: number;
  error: number;
}

export interface Report {
  version: typeof REPORT_VERSION;
  /** The instant the report is for (RFC 3339). */
  now: string;
  source: { kind: 'spec'; specFile: string; certsDir: string } | { kind: 'certs-dir'; certsDir: string; recursive: boolean };
  summary: ReportSummary;
  rows: ReportRow[];
  forecast: { renewals: RenewalForecast[]; caRotations: CaRotation[] };
  /**
   * Spec mode: what `certgen plan` says (every change but `keep`, as in schemas/plan.schema.json),
   * how many of them apply would carry out (orphans only with --prune), and the errors that block
   * apply; null for a bare certs dir.
   */
  plan: { pendingChanges: number; changes: Change[]; errors: PlanError[]; warnings: string[] } | null;
  /** Things worth knowing that are not rows (sub-folders skipped without --recursive, …). */
  warnings: string[];
}

export interface ReportOptions {
  /** The clock (a Date or a function returning one); default the current time. */
  now?: Date | (() => Date);
  /** Certs-dir mode: the renewal window used for every leaf (default 720h). Spec mode: for orphans. */
  renewBefore?: bigint;
  /** Certs-dir mode: also report every sub-folder (skipping dot-folders such as Kubernetes' `..data`). */
  recursive?: boolean;
  /** COCKROACH_SKIP_KEY_PERMISSION_CHECK; default false. */
  skipKeyPermissionCheck?: boolean;
  /** How to name the spec file and the certs dir in the output (default their absolute paths). */
  specFileLabel?: string;
  certsDirLabel?: string;
}

export type ReportSource = { spec: ClusterSpec } | { certsDir: string };

/** A report for a spec (`certgen report FILE`) or for a certs folder (`certgen report --certs-dir DIR`). */
export async function buildReport(source: ReportSource, opts: ReportOptions = {}): Promise<Report> {
  return 'spec' in source ? reportForSpec(source.spec, opts) : reportForCertsDir(source.certsDir, opts);
}

// ---------------------------------------------------------------------------------------------
// Reading one folder

/** A row under construction, with the parsed certificate kept for issuer matching. */
interface Work {
  row: ReportRow;
  folder: string;
  cert?: NodeX509;
  leaf: boolean;
  /** First certificate of a CA file: the one that signs. */
  activeCA: boolean;
  /** Lifetime in ms of the next issue of this leaf (spec value, else the certificate's own). */
  lifetimeMs?: number;
  renewBeforeNs?: bigint;
  /** When it has to be replaced regardless of expiry (missing, broken, plan says reissue). */
  replaceNow?: boolean;
}

interface FolderScan {
  works: Work[];
  subdirs: string[];
  error?: string;
}

const USAGE_ORDER: PemUsage[] = ['CA', 'Client CA', 'Tenant Client CA', 'UI CA', 'Node', 'UI', 'Client', 'Tenant Client', 'Tenant Signing'];

function emptyRow(partial: Partial<ReportRow> & Pick<ReportRow, 'file'>): ReportRow {
  const row: ReportRow = {
    artifact: '',
    owner: '(none)',
    ownerKind: 'none',
    usage: '',
    file: partial.file,
    position: 1,
    certsInFile: 0,
    keyFile: '',
    subject: '',
    notBefore: null,
    expires: null,
    daysLeft: null,
    renewBefore: null,
    renewalStarts: null,
    status: 'error',
    notes: '',
    serial: '',
    fingerprint: '',
    keyAlgorithm: '',
    keySize: null,
    key: '',
    issuerFingerprint: '',
    pending: '',
    orphan: false,
    problem: null,
    error: '',
  };
  // Assigned, not spread into the literal: keys keep the order above (and in the JSON).
  return Object.assign(row, partial);
}

const join = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}


function describeCertKey(cert: NodeX509): { keyAlgorithm: string; keySize: number | null; key: string } {
  const d = describeKey(cert.publicKey);
  const size = d.bits ?? (d.curve ? Number(/\d+/.exec(d.curve)?.[0] ?? Number.NaN) : Number.NaN);
  const key = [d.algorithm, d.bits !== undefined ? String(d.bits) : d.curve].filter((s) => s).join(' ');
  return { keyAlgorithm: d.algorithm, keySize: Number.isFinite(size) ? size : null, key };
}

/** Fills the certificate columns of a row. */
function certColumns(row: ReportRow, cert: x509.X509Certificate): NodeX509 | undefined {
  let node: NodeX509;
  try {
    node = new NodeX509(Buffer.from(cert.rawData));
  } catch {
    return undefined;
  }
  row.subject = cert.subject;
  row.notBefore = iso(cert.notBefore);
  row.expires = iso(cert.notAfter);
  row.serial = node.serialNumber.toUpperCase();
  row.fingerprint = node.fingerprint256;
  Object.assign(row, describeCertKey(node));
  return node;
}

function problemOf(message: string): ReportProblem {
  if (/^could not stat key file .*no such file or directory$/.test(message)) return 'key-missing';
  if (/^key file .* has permissions /.test(message)) return 'key-permissions';
  if (/^could not (stat|read) key file /.test(message) || /^key file .* is not a regular file$/.test(message)) return 'key-unreadable';
  return 'corrupt';
}

interface ScanContext {
  root: string;
  skipKeyPermissionCheck: boolean;
  /** Turns an absolute path inside the root into its relative form in messages. */
  rel: (msg: string) => string;
}

function makeRel(root: string): (msg: string) => string {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return (msg) => msg.split(prefix).join('');
}

async function keyMatches(abs: string, cert: NodeX509): Promise<string | undefined> {
  let key: KeyObject;
  try {
    key = findPrivateKeyInPem(await fs.readFile(abs, 'latin1'));
  } catch (err) {
    return `cannot be used as a private key (${errnoText(err)})`;
  }
  return publicKeyDer(key).equals(publicKeyDer(cert.publicKey)) ? undefined : 'does not match the certificate';
}

async function pkcs8Matches(abs: string, cert: NodeX509): Promise<string | undefined> {
  try {
    const key = createPrivateKey({ key: await fs.readFile(abs), format: 'der', type: 'pkcs8' });
    return publicKeyDer(key).equals(publicKeyDer(cert.publicKey)) ? undefined : 'does not hold the key of the certificate';
  } catch (err) {
    return `is not a DER PKCS#8 private key (${errnoText(err)})`;
  }
}

/**
 * One folder as a CockroachDB certs dir: a row per certificate in every `.crt` file (CA files: one
 * per certificate in the bundle), a row per `.crt` with a name cockroach rejects, and a row per
 * file that is neither a certificate nor the key of one. Sub-folders are returned, not entered.
 */
async function scanFolder(ctx: ScanContext, folder: string): Promise<FolderScan> {
  const abs = folder === '' ? ctx.root : path.join(ctx.root, ...folder.split('/'));
  let entries: Dirent[];
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch (err) {
    return { works: [], subdirs: [], error: `cannot read folder ${folder === '' ? '.' : folder}: ${errnoText(err)}` };
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  const subdirs: string[] = [];
  for (const e of entries) {
    // Kubernetes secret volumes keep their real files in `..<timestamp>/` behind a `..data` link
    // and link each file to it: the links are the certs dir, the `..` entries are plumbing.
    if (e.name.startsWith('..')) continue;
    if (e.isDirectory()) subdirs.push(e.name);
    else if (e.isSymbolicLink() && (await fs.stat(path.join(abs, e.name)).then((st) => st.isDirectory(), () => false))) continue; // not followed
    else files.push(e.name);
  }

  let scan;
  try {
    scan = await scanCertsDir(abs, { skipKeyPermissionCheck: ctx.skipKeyPermissionCheck });
  } catch (err) {
    return { works: [], subdirs, error: ctx.rel(`cannot read folder ${folder === '' ? '.' : folder}: ${(err as Error).message}`) };
  }
  const unreadable = new Map<string, string>();
  for (const w of scan.warnings) {
    const m = /^could not read certificate file (.*?): (.*)$/.exec(w);
    if (m) unreadable.set(path.basename(m[1] ?? ''), m[2] ?? '');
  }

  const claimed = new Set<string>([LOCK_FILE]);
  const works: Work[] = [];
  const infos = [...scan.certs].sort((a, b) => USAGE_ORDER.indexOf(a.usage) - USAGE_ORDER.indexOf(b.usage) || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  for (const info of infos) {
    claimed.add(info.filename);
    const ca = isCAUsage(info.usage);
    const keyName = ca ? '' : keyFileFor(info.filename);
    if (!ca) {
      claimed.add(keyName);
      if (info.usage === 'Client') claimed.add(`${keyName}.pk8`);
    }
    const base = {
      file: join(folder, info.filename),
      usage: info.usage,
      keyFile: ca || info.error !== undefined ? '' : join(folder, keyName),
      certsInFile: info.certs.length,
      notes: certNotes(info),
    };
    let error = info.error === undefined ? '' : ctx.rel(info.error);
    let problem: ReportProblem | null = info.error === undefined ? null : problemOf(info.error);
    const readFailure = unreadable.get(info.filename);
    if (readFailure !== undefined) {
      error = `could not read certificate file ${base.file}: ${readFailure}`;
      problem = 'unreadable';
    }
    if (info.certs.length === 0) {
      works.push({ row: emptyRow({ ...base, problem, error }), folder, leaf: !ca, activeCA: false });
      continue;
    }
    const certs = ca ? info.certs : info.certs.slice(0, 1);
    for (const [i, cert] of certs.entries()) {
      const row = emptyRow({ ...base, position: i + 1, problem, error });
      if (i > 0) row.notes = `cert ${i + 1} of ${info.certs.length} in the bundle`;
      const node = certColumns(row, cert);
      if (!node && !row.error) {
        row.problem = 'corrupt';
        row.error = `certificate ${i} in ${base.file} cannot be parsed`;
      }
      // The key cockroach found must also be the certificate's own.
      if (node && !ca && info.error === undefined && info.keyFilename) {
        const bad = await keyMatches(path.join(abs, info.keyFilename), node);
        if (bad) {
          row.problem = bad.startsWith('does not') ? 'key-mismatch' : 'key-unreadable';
          row.error = `key file ${join(folder, info.keyFilename)} ${bad}`;
        } else if (info.usage === 'Client' && files.includes(`${info.keyFilename}.pk8`)) {
          const badPk8 = await pkcs8Matches(path.join(abs, `${info.keyFilename}.pk8`), node);
          if (badPk8) {
            row.problem = badPk8.startsWith('does not') ? 'key-mismatch' : 'key-unreadable';
            row.error = `${join(folder, `${info.keyFilename}.pk8`)} ${badPk8}`;
          }
        }
      }
      works.push({ row, folder, cert: node, leaf: !ca, activeCA: ca && i === 0 });
    }
  }
  // Then .crt files cockroach skips for their names, then everything else nobody claimed.
  const unclaimed = files.filter((n) => !claimed.has(n));
  for (const name of unclaimed.filter((n) => n.endsWith(CERT_EXTENSION))) {
    const file = join(folder, name);
    const parsed = parseCertFileName(name);
    const why = 'error' in parsed ? parsed.error : 'not a certificate file';
    works.push({ row: emptyRow({ file, problem: 'bad-filename', error: `bad filename ${file}: ${why} (cockroach ignores this file)` }), folder, leaf: false, activeCA: false });
  }
  for (const name of unclaimed.filter((n) => !n.endsWith(CERT_EXTENSION))) {
    const file = join(folder, name);
    let error: string;
    if (name === 'ca.key' || /^ca-.*\.key$/.test(name)) error = `${file} looks like a CA private key: keep CA keys out of certs folders, which are copied to nodes and clients`;
    else if (name.endsWith(KEY_EXTENSION) || name.endsWith(`${KEY_EXTENSION}.pk8`)) error = `${file} is a key file without its certificate`;
    else error = `${file} is not a certificate or a key CockroachDB uses`;
    works.push({ row: emptyRow({ file, problem: 'junk', error }), folder, leaf: false, activeCA: false });
  }
  return { works, subdirs };
}

// ---------------------------------------------------------------------------------------------
// Issuers, statuses and the forecast

/** Fills issuerFingerprint; flags leaves no trusted CA signed. `trust(folder)` lists the CA certs a folder trusts. */
function matchIssuers(works: Work[], trust: (folder: string) => Work[]): void {
  for (const w of works) {
    if (!w.cert) continue;
    const candidates = trust(w.folder).filter((c) => c.cert);
    if (w.row.usage !== '' && isCAUsage(w.row.usage)) candidates.unshift(w);
    let issuer: Work | undefined;
    for (const c of candidates) {
      try {
        if (c.cert && w.cert.checkIssued(c.cert) && w.cert.verify(c.cert.publicKey)) {
          issuer = c;
          break;
        }
      } catch {
        // an unusable candidate key: try the next
      }
    }
    if (issuer) w.row.issuerFingerprint = issuer.row.fingerprint;
    else if (w.leaf && candidates.length > 0 && !w.row.error) {
      w.row.problem = 'not-signed';
      const files = [...new Set(candidates.map((c) => c.row.file))].join(', ');
      w.row.error = `${w.row.file} is not signed by any CA certificate in ${files}`;
    }
  }
}

function setStatus(row: ReportRow, nowMs: number): void {
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

/** A leaf the CA will have to renew: when first, how long each issue lasts, how early it renews. */
export interface LeafRenewal {
  artifact: string;
  file: string;
  /** Next renewal (ms since epoch): max(now, expiry − renewBefore), or now when it must be replaced anyway. */
  firstRenewalMs: number;
  lifetimeMs: number;
  renewBeforeMs: number;
}

/**
 * The CA rotation deadline. The formula:
 *
 *   A CA can sign a certificate only if it outlives it (cockroach's checkLifetimeAgainstCA, and
 *   certgen's plan error ca-lifetime-too-short): a leaf issued at t with lifetime L needs the CA
 *   valid until t + L. Each leaf i is renewed when it enters its renewal window, r_i(0) =
 *   max(now, notAfter_i − renewBefore_i) (now if it must be replaced anyway), and after that every
 *   L_i − renewBefore_i: r_i(k) = r_i(0) + k·(L_i − renewBefore_i). The first renewal the current
 *   CA cannot sign is r_i(k_i) with k_i the smallest k such that r_i(k) + L_i > caNotAfter.
 *
 *   rotateBy = min_i r_i(k_i)        (caNotAfter when the CA has no leaves)
 *
 *   From rotateBy on, renewals must be signed by a new CA, so the new CA must already be in every
 *   ca.crt (prepended, old CA kept) on every node and client by then. Starting the rotation by
 *   rotateBy makes the new CA overlap every leaf it must replace: each old-CA leaf was issued to
 *   end by caNotAfter and is renewed, by the new CA, at latest renewBefore_i before its own end,
 *   so every old leaf is replaced while the old CA is still valid and trusted.
 *
 * The CA's own renewal window opens `lead` (the longest renewBefore among its leaves) before
 * rotateBy, the same warning a leaf gets before its expiry.
 */
export function rotationDeadline(caNotAfterMs: number, leaves: LeafRenewal[]): { rotateByMs: number; binding: LeafRenewal | null; bindingNeedsMs: number } {
  let best = caNotAfterMs;
  let binding: LeafRenewal | null = null;
  let bindingNeeds = caNotAfterMs;
  for (const l of leaves) {
    const step = l.lifetimeMs - l.renewBeforeMs;
    let at: number;
    if (l.firstRenewalMs + l.lifetimeMs > caNotAfterMs || step <= 0) at = l.firstRenewalMs;
    else at = l.firstRenewalMs + (Math.floor((caNotAfterMs - l.lifetimeMs - l.firstRenewalMs) / step) + 1) * step;
    if (at < best || (binding === null && at <= best)) {
      best = at;
      binding = l;
      bindingNeeds = at + l.lifetimeMs;
    }
  }
  return { rotateByMs: best, binding, bindingNeedsMs: bindingNeeds };
}

function msToGo(ms: number): string {
  return formatDuration(BigInt(Math.round(ms / 1000)) * 1_000_000_000n);
}

function rotationFor(ca: Work, leaves: Work[], nowMs: number, defaultLeadNs: bigint): CaRotation {
  const caNotAfter = Date.parse(ca.row.expires ?? '');
  const renewals: LeafRenewal[] = leaves.map((w) => {
    const lifetimeMs = w.lifetimeMs ?? DAY_MS;
    const renewBeforeMs = Number((w.renewBeforeNs ?? defaultLeadNs) / 1_000_000n);
    const due = w.row.expires === null ? nowMs : Date.parse(w.row.expires) - renewBeforeMs;
    const firstRenewalMs = w.replaceNow || w.row.status === 'error' || w.row.status === 'expired' ? nowMs : Math.max(nowMs, due);
    return { artifact: w.row.artifact || w.row.owner, file: w.row.file, firstRenewalMs, lifetimeMs, renewBeforeMs };
  });
  const { rotateByMs, binding, bindingNeedsMs } = rotationDeadline(caNotAfter, renewals);
  const leadMs = renewals.length > 0 ? Math.max(...renewals.map((r) => r.renewBeforeMs)) : Number(defaultLeadNs / 1_000_000n);
  const rotateBy = iso(new Date(rotateByMs));
  const overdue = rotateByMs <= nowMs;
  const where = ca.row.file;
  let explanation: string;
  if (binding) {
    explanation =
      `The CA in ${where} expires ${ca.row.expires}. A CA can only sign certificates that end before it does: ` +
      `${binding.artifact} (${binding.file}) renews on ${rotateBy} for ${msToGo(binding.lifetimeMs)} and would need a CA valid until ${iso(new Date(bindingNeedsMs))}` +
      `, the earliest renewal of its ${renewals.length} lea${renewals.length === 1 ? 'f' : 'ves'} the current CA cannot sign. ` +
      `So a new CA must be created and prepended to ca.crt on every node and client by ${rotateBy}` +
      ` (renewal window from ${iso(new Date(rotateByMs - leadMs))}, ${msToGo(leadMs)} ahead, the longest renewBefore). ` +
      `Formula: rotate by min over leaves of the first renewal r = max(now, expiry - renewBefore) + k*(lifetime - renewBefore) with r + lifetime > CA expiry; ` +
      `every leaf of the old CA is then replaced by the new one while the old CA is still valid.`;
  } else {
    explanation = `The CA in ${where} expires ${ca.row.expires} and signs no leaf here: rotate it before it expires (renewal window from ${iso(new Date(rotateByMs - leadMs))}).`;
  }
  if (overdue) explanation = `OVERDUE: ${explanation}`;
  return {
    owner: ca.row.owner,
    file: ca.row.file,
    fingerprint: ca.row.fingerprint,
    expires: ca.row.expires ?? '',
    leaves: renewals.length,
    rotateBy,
    daysUntil: Math.floor((rotateByMs - nowMs) / DAY_MS),
    windowOpens: iso(new Date(rotateByMs - leadMs)),
    lead: msToGo(leadMs),
    overdue,
    binding: binding ? { artifact: binding.artifact, file: binding.file, renewsAt: rotateBy, lifetime: msToGo(binding.lifetimeMs), needsCaUntil: iso(new Date(bindingNeedsMs)) } : null,
    explanation,
  };
}

function certLifetimeMs(row: ReportRow): number {
  if (row.expires === null || row.notBefore === null) return DAY_MS;
  const v = Date.parse(row.expires) - Date.parse(row.notBefore);
  return v > BACKDATE_MS ? v - BACKDATE_MS : v;
}

function renewalEntry(w: Work, nowMs: number): RenewalForecast {
  const opens = w.row.renewalStarts !== null ? Date.parse(w.row.renewalStarts) : null;
  const now = w.replaceNow || w.row.status === 'error' || w.row.status === 'expired' || opens === null || opens <= nowMs;
  const when = now ? nowMs : (opens ?? nowMs);
  let why = 'renewal window';
  if (w.row.pending) why = w.row.pending;
  else if (w.row.status === 'error') why = w.row.problem ?? 'error';
  else if (w.row.status === 'expired') why = 'expired';
  else if (opens !== null && opens <= nowMs) why = 'in its renewal window';
  return {
    artifact: w.row.artifact,
    owner: w.row.owner,
    file: w.row.file,
    expires: w.row.expires,
    renewBefore: w.row.renewBefore,
    windowOpens: w.row.renewalStarts,
    renewsAt: iso(new Date(when)),
    daysUntil: Math.floor((when - nowMs) / DAY_MS),
    status: w.row.status,
    why,
  };
}

/** Soonest first; ties keep the report's row order (the sort is stable). */
function byRenewal(a: RenewalForecast, b: RenewalForecast): number {
  return a.renewsAt < b.renewsAt ? -1 : a.renewsAt > b.renewsAt ? 1 : 0;
}

function summarize(rows: ReportRow[]): ReportSummary {
  const n = (s: ReportStatus): number => rows.filter((r) => r.status === s).length;
  return { total: rows.length, ok: n('ok'), renewSoon: n('renew-soon'), expired: n('expired'), error: n('error') };
}

function resolveNow(now: ReportOptions['now']): Date {
  if (now === undefined) return new Date();
  return typeof now === 'function' ? now() : now;
}

// ---------------------------------------------------------------------------------------------
// A bare certs dir

function bareOwner(w: Work): void {
  const r = w.row;
  const folderName = w.folder === '' ? '' : (w.folder.split('/').pop() ?? '');
  switch (r.usage) {
    case 'CA':
      Object.assign(r, { owner: 'CA', ownerKind: 'ca' });
      break;
    case 'Client CA':
      Object.assign(r, { owner: 'client CA', ownerKind: 'ca' });
      break;
    case 'UI CA':
      Object.assign(r, { owner: 'UI CA', ownerKind: 'ca' });
      break;
    case 'Tenant Client CA':
      Object.assign(r, { owner: 'tenant client CA', ownerKind: 'ca' });
      break;
    case 'Node':
      Object.assign(r, { owner: folderName || 'node', ownerKind: 'node' });
      break;
    case 'UI':
      Object.assign(r, { owner: folderName || 'ui', ownerKind: 'node' });
      break;
    case 'Client': {
      const user = /^client\.(.*)\.crt$/.exec(r.file.split('/').pop() ?? '')?.[1] ?? '';
      Object.assign(r, { owner: user || '(none)', ownerKind: 'client' });
      break;
    }
    case 'Tenant Client':
    case 'Tenant Signing': {
      const id = /^[^.]*\.(.*)\.crt$/.exec(r.file.split('/').pop() ?? '')?.[1] ?? '';
      Object.assign(r, { owner: `tenant ${id}`, ownerKind: 'tenant' });
      break;
    }
    default:
      Object.assign(r, { owner: folderName || '(none)', ownerKind: 'none' });
  }
}

/**
 * `certgen report --certs-dir DIR`: `cert list` for DIR (and, recursively, every sub-folder), one
 * row per certificate. Leaves renew `renewBefore` (default 720h) before expiry; each CA file's first
 * certificate gets a rotation deadline computed from the leaves it signed.
 */
export async function reportForCertsDir(certsDir: string, opts: ReportOptions = {}): Promise<Report> {
  const now = resolveNow(opts.now);
  const nowMs = now.getTime();
  const root = path.resolve(certsDir);
  const ctx: ScanContext = { root, skipKeyPermissionCheck: opts.skipKeyPermissionCheck ?? false, rel: makeRel(root) };
  const renewBeforeNs = opts.renewBefore ?? DEFAULT_RENEW_BEFORE_NS;
  const works: Work[] = [];
  const warnings: string[] = [];
  const caByFolder = new Map<string, Work[]>();

  let rootExists = true;
  try {
    const st = await fs.stat(root);
    if (!st.isDirectory()) {
      works.push({ row: emptyRow({ file: '.', problem: 'unreadable', error: `${certsDir} is not a folder` }), folder: '', leaf: false, activeCA: false });
      rootExists = false;
    }
  } catch (err) {
    works.push({ row: emptyRow({ file: '.', problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable', error: `cannot read certs dir ${certsDir}: ${errnoText(err)}` }), folder: '', leaf: false, activeCA: false });
    rootExists = false;
  }
  const visit = async (folder: string): Promise<void> => {
    const scan = await scanFolder(ctx, folder);
    if (scan.error) {
      works.push({ row: emptyRow({ file: folder === '' ? './' : `${folder}/`, problem: 'unreadable', error: scan.error }), folder, leaf: false, activeCA: false });
      return;
    }
    works.push(...scan.works);
    caByFolder.set(folder, scan.works.filter((w) => w.row.usage !== '' && isCAUsage(w.row.usage)));
    for (const sub of scan.subdirs) {
      const rel = join(folder, sub);
      if (!opts.recursive) warnings.push(`sub-folder ${rel}/ not reported (use --recursive)`);
      else if (sub.startsWith('.')) warnings.push(`hidden folder ${rel}/ skipped`);
      else await visit(rel);
    }
  };
  if (rootExists) await visit('');

  for (const w of works) bareOwner(w);
  matchIssuers(works, (folder) => [...(caByFolder.get(folder) ?? []), ...(folder === '' ? [] : (caByFolder.get('') ?? []))]);
  for (const w of works) {
    if (w.leaf && w.cert) {
      w.renewBeforeNs = renewBeforeNs;
      w.lifetimeMs = certLifetimeMs(w.row);
      w.row.renewBefore = formatDuration(renewBeforeNs);
      if (w.row.expires) w.row.renewalStarts = iso(new Date(Date.parse(w.row.expires) - Number(renewBeforeNs / 1_000_000n)));
    }
  }
  // Status first without the CA windows (leaves decide the rotation), then the CA rows.
  for (const w of works) setStatus(w.row, nowMs);
  const rotations: CaRotation[] = [];
  const seen = new Map<string, CaRotation>();
  for (const ca of works.filter((w) => w.activeCA && w.cert && !w.row.error)) {
    let rot = seen.get(ca.row.fingerprint);
    if (!rot) {
      // Leaves it renews: those signed by any certificate of a bundle this CA heads.
      const headed = new Set(works.filter((h) => h.activeCA && h.row.fingerprint === ca.row.fingerprint).map((h) => h.row.file));
      const family = new Set(works.filter((w) => headed.has(w.row.file)).map((w) => w.row.fingerprint));
      const leaves = works.filter((w) => w.leaf && w.cert && family.has(w.row.issuerFingerprint));
      rot = rotationFor(ca, leaves, nowMs, renewBeforeNs);
      seen.set(ca.row.fingerprint, rot);
      rotations.push(rot);
    }
    ca.row.renewalStarts = rot.windowOpens;
    ca.row.renewBefore = msToGo(Date.parse(ca.row.expires ?? '') - Date.parse(rot.windowOpens));
    setStatus(ca.row, nowMs);
  }
  const renewals = works
    .filter((w) => w.cert && (w.leaf || (w.activeCA && seen.has(w.row.fingerprint))))
    .filter((w, i, all) => w.leaf || all.findIndex((o) => o.row.fingerprint === w.row.fingerprint) === i)
    .map((w) => renewalEntry(w, nowMs))
    .sort(byRenewal);
  const rows = works.map((w) => w.row);
  return {
    version: REPORT_VERSION,
    now: iso(now),
    source: { kind: 'certs-dir', certsDir: opts.certsDirLabel ?? certsDir, recursive: opts.recursive ?? false },
    summary: summarize(rows),
    rows,
    forecast: { renewals, caRotations: rotations },
    plan: null,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// A spec's tree

function describeChange(c: Change, prune: boolean): string {
  if (c.action === 'orphan') return prune ? 'prune: not in the spec' : 'orphan: not in the spec (apply --prune removes it)';
  const codes = [...new Set(c.reasons.map((r) => r.code))];
  return `${c.action}: ${codes.join(', ')}`;
}

/**
 * `certgen report FILE`: every artifact of the spec's tree. Rows: each certificate of the CA
 * bundle (`ca.crt`), then each node's and each client's certificate in spec order (a folder's
 * ca.crt only when it differs from the bundle, as rows of its own), then anything the spec does
 * not name (orphans). Missing artifacts are rows with `problem: missing`. The `pending` column
 * says what `certgen apply` would do, from the same plan.
 */
export async function reportForSpec(spec: ClusterSpec, opts: ReportOptions = {}): Promise<Report> {
  const now = resolveNow(opts.now);
  const nowMs = now.getTime();
  const root = spec.certsDir;
  const ctx: ScanContext = { root, skipKeyPermissionCheck: opts.skipKeyPermissionCheck ?? false, rel: makeRel(root) };
  const orphanRenewBefore = opts.renewBefore ?? DEFAULT_RENEW_BEFORE_NS;
  const thePlan: Plan = await computePlan(spec, { now: () => now, specFileLabel: opts.specFileLabel, certsDirLabel: opts.certsDirLabel });
  const artifacts = desiredArtifacts(spec);
  const caKeyRel = path.relative(root, spec.caKey).split(path.sep).join('/');

  const works: Work[] = [];
  /** Files and folders the spec does not name: listed after the spec's artifacts, by path. */
  const orphans: Work[] = [];
  const warnings: string[] = [];
  const orphanWork = (w: Work, owner: string, kind: ReportRow['ownerKind'], artifact: string): Work => {
    Object.assign(w.row, { owner, ownerKind: kind, artifact, orphan: true });
    if (w.leaf && w.cert) {
      w.renewBeforeNs = orphanRenewBefore;
      w.lifetimeMs = certLifetimeMs(w.row);
    }
    return w;
  };
  /** Scans a folder nobody in the spec owns: its files as rows, or one row for the folder. */
  const scanOrphanFolder = async (folder: string, owner: string, kind: ReportRow['ownerKind'], artifact: string): Promise<void> => {
    const scan = await scanFolder(ctx, folder);
    if (scan.error) {
      orphans.push(orphanWork({ row: emptyRow({ file: `${folder}/`, problem: 'unreadable', error: scan.error }), folder, leaf: false, activeCA: false }, owner, kind, artifact));
      return;
    }
    for (const w of scan.works) orphans.push(orphanWork(w, owner, kind, artifact));
    for (const sub of scan.subdirs) {
      orphans.push(orphanWork({ row: emptyRow({ file: `${folder}/${sub}/`, problem: 'stray-folder', error: `${folder}/${sub}/ is a folder the spec does not name` }), folder, leaf: false, activeCA: false }, owner, kind, artifact));
    }
    if (scan.works.length === 0 && scan.subdirs.length === 0) {
      orphans.push(orphanWork({ row: emptyRow({ file: `${folder}/`, problem: 'stray-folder', error: `${folder}/ is an empty folder the spec does not name` }), folder, leaf: false, activeCA: false }, owner, kind, artifact));
    }
  };

  // --- the top folder: the CA bundle, plus anything else lying there --------------------------
  let rootState: 'ok' | 'missing' | 'error' = 'ok';
  let rootError = '';
  try {
    const st = await fs.stat(root);
    if (!st.isDirectory()) {
      rootState = 'error';
      rootError = `the certs dir ${opts.certsDirLabel ?? root} is not a folder`;
    }
  } catch (err) {
    rootState = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'error';
    rootError = `cannot read the certs dir ${opts.certsDirLabel ?? root}: ${errnoText(err)}`;
  }
  const top: FolderScan = rootState === 'ok' ? await scanFolder(ctx, '') : { works: [], subdirs: [] };
  if (rootState === 'error' || top.error) {
    works.push({ row: emptyRow({ file: './', owner: 'CA', ownerKind: 'ca', artifact: 'ca', problem: 'unreadable', error: top.error ?? rootError }), folder: '', leaf: false, activeCA: false });
  }
  const bundle = top.works.filter((w) => w.row.file === CA_CERT);
  const bundleBytes = await fs.readFile(path.join(root, CA_CERT)).catch(() => undefined);
  if (bundle.length === 0 && rootState !== 'error' && !top.error) {
    const why = rootState === 'missing' ? `the certs dir does not exist yet, so neither does ${CA_CERT}` : `${CA_CERT} does not exist`;
    works.push({ row: emptyRow({ file: CA_CERT, usage: 'CA', keyFile: caKeyRel, problem: 'missing', error: why }), folder: '', leaf: false, activeCA: false, replaceNow: true });
  }
  for (const w of bundle) {
    w.row.keyFile = w.row.position === 1 ? caKeyRel : '';
    works.push(w);
  }
  for (const w of works) Object.assign(w.row, { owner: 'CA', ownerKind: 'ca', artifact: 'ca' });
  const activeCA = bundle.find((w) => w.activeCA && w.cert);
  if (activeCA && !activeCA.row.error && activeCA.cert) {
    let problem: ReportProblem | null = null;
    let error = '';
    try {
      const key = findPrivateKeyInPem(await fs.readFile(spec.caKey, 'latin1'));
      if (!publicKeyDer(key).equals(publicKeyDer(activeCA.cert.publicKey))) {
        problem = 'key-mismatch';
        error = `the CA key ${caKeyRel} does not match the first certificate in ${CA_CERT}`;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problem = code === 'ENOENT' ? 'key-missing' : 'key-unreadable';
      error = code === 'ENOENT' ? `the CA key ${caKeyRel} does not exist: certgen cannot sign anything until it is restored` : `the CA key ${caKeyRel} cannot be used: ${errnoText(err)}`;
    }
    Object.assign(activeCA.row, { problem, error });
  }
  const topOthers = top.works.filter((w) => w.row.file !== CA_CERT);
  for (const w of topOthers) orphans.push(orphanWork(w, '(none)', 'none', w.row.file));
  for (const sub of top.subdirs) {
    if (sub === NODES_DIR || sub === CLIENTS_DIR) continue;
    await scanOrphanFolder(sub, '(none)', 'none', sub);
  }

  // --- nodes and clients ------------------------------------------------------------------------
  const listDir = async (rel: string): Promise<{ names: string[]; files: string[]; error?: string }> => {
    try {
      const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
      const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
      const files = entries.filter((e) => !e.isDirectory()).map((e) => e.name).sort();
      return { names, files };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { names: [], files: [] };
      return { names: [], files: [], error: `cannot read folder ${rel}: ${errnoText(err)}` };
    }
  };
  const parents = { [NODES_DIR]: await listDir(NODES_DIR), [CLIENTS_DIR]: await listDir(CLIENTS_DIR) };
  for (const [parent, listing] of Object.entries(parents)) {
    if (listing.error) works.push({ row: emptyRow({ file: `${parent}/`, problem: 'unreadable', error: listing.error }), folder: parent, leaf: false, activeCA: false });
  }
  const wanted = new Set<string>();
  for (const a of artifacts) {
    if (a.kind === 'ca') continue;
    wanted.add(a.dir);
    const name = a.id.slice(a.id.indexOf('/') + 1);
    const leafSpec = a.kind === 'node' ? spec.nodes.find((n) => n.name === name) : spec.clients.find((c) => c.user === name);
    const certRel = a.files.find((f) => f.role === 'cert')?.rel ?? '';
    const keyRel = a.files.find((f) => f.role === 'key')?.rel ?? '';
    const bundleRel = a.files.find((f) => f.role === 'ca-bundle')?.rel ?? '';
    const usage: PemUsage = a.kind === 'node' ? 'Node' : 'Client';
    const who = { owner: name, ownerKind: a.kind, artifact: a.id } as const;
    const lifetimeMs = Number((leafSpec?.lifetime ?? 0n) / 1_000_000n);
    const leafOf = (w: Work): Work => Object.assign(w, { lifetimeMs, renewBeforeNs: leafSpec?.renewBefore ?? orphanRenewBefore });
    const [parent, dirName] = a.dir.split('/') as [string, string];
    const parentListing = parents[parent as typeof NODES_DIR];
    if (parentListing?.error) continue; // already a row: the parent cannot be read
    if (!parentListing?.names.includes(dirName)) {
      const notDir = parentListing?.files.includes(dirName);
      works.push(
        leafOf({
          row: emptyRow({ ...who, file: certRel, usage, keyFile: keyRel, problem: notDir ? 'unreadable' : 'missing', error: notDir ? `${a.dir} is a file, not a folder` : `${a.dir}/ does not exist yet` }),
          folder: a.dir,
          leaf: true,
          activeCA: false,
          replaceNow: true,
        }),
      );
      continue;
    }
    const scan = await scanFolder(ctx, a.dir);
    if (scan.error) {
      works.push(leafOf({ row: emptyRow({ ...who, file: `${a.dir}/`, usage, keyFile: keyRel, problem: 'unreadable', error: scan.error }), folder: a.dir, leaf: true, activeCA: false, replaceNow: true }));
      continue;
    }
    const mine = new Set(a.files.map((f) => f.rel));
    const leafWork = scan.works.find((w) => w.row.file === certRel);
    if (leafWork) works.push(leafOf(Object.assign(leafWork, { row: Object.assign(leafWork.row, who) })));
    else works.push(leafOf({ row: emptyRow({ ...who, file: certRel, usage, keyFile: keyRel, problem: 'missing', error: `${certRel} does not exist` }), folder: a.dir, leaf: true, activeCA: false, replaceNow: true }));
    // The folder's copy of the bundle: shown only when it is not the bundle itself.
    const copy = scan.works.filter((w) => w.row.file === bundleRel);
    const copyBytes = await fs.readFile(path.join(root, ...bundleRel.split('/'))).catch(() => undefined);
    if (copy.length === 0) {
      works.push({ row: emptyRow({ ...who, file: bundleRel, usage: 'CA', problem: 'missing', error: `${bundleRel} does not exist: ${a.kind === 'node' ? 'the node' : 'the client'} cannot verify its peers` }), folder: a.dir, leaf: false, activeCA: false });
    } else if (!(copyBytes && bundleBytes && copyBytes.equals(bundleBytes))) {
      for (const w of copy) {
        w.activeCA = false;
        Object.assign(w.row, who);
        if (!w.row.error) w.row.notes = `${w.row.notes}; differs from ${CA_CERT}`;
        works.push(w);
      }
    }
    for (const w of scan.works) {
      if (w === leafWork || copy.includes(w)) continue;
      if (mine.has(w.row.file)) continue;
      orphans.push(orphanWork(w, name, a.kind, w.row.file));
    }
    for (const sub of scan.subdirs) {
      orphans.push(orphanWork({ row: emptyRow({ file: `${a.dir}/${sub}/`, problem: 'stray-folder', error: `${a.dir}/${sub}/ is a folder the spec does not name` }), folder: a.dir, leaf: false, activeCA: false }, name, a.kind, `${a.dir}/${sub}`));
    }
  }
  for (const [parent, listing] of Object.entries(parents)) {
    for (const f of listing.files) {
      const rel = `${parent}/${f}`;
      orphans.push(orphanWork({ row: emptyRow({ file: rel, problem: 'junk', error: `${rel} is not a folder of the spec` }), folder: parent, leaf: false, activeCA: false }, '(none)', 'none', rel));
    }
    for (const d of listing.names) {
      const rel = `${parent}/${d}`;
      if (wanted.has(rel)) continue;
      await scanOrphanFolder(rel, d, parent === NODES_DIR ? 'node' : 'client', `${parent === NODES_DIR ? 'node' : 'client'}/${d}`);
    }
  }

  // Orphans the plan sees that no row shows yet (e.g. a .pk8 the spec no longer asks for).
  for (const c of thePlan.changes) {
    if (c.action !== 'orphan') continue;
    for (const f of c.files) {
      if (orphans.some((w) => w.row.file === f || w.row.file.startsWith(`${f}/`))) continue;
      const [parent, dir] = f.split('/');
      const owned = f.split('/').length > 2 && (parent === NODES_DIR || parent === CLIENTS_DIR);
      const kind = owned ? (parent === NODES_DIR ? 'node' : 'client') : 'none';
      orphans.push(orphanWork({ row: emptyRow({ file: f, problem: 'junk', error: `${f} is not in the spec` }), folder: f.split('/').slice(0, -1).join('/'), leaf: false, activeCA: false }, owned ? (dir ?? '') : '(none)', kind, f));
    }
  }
  orphans.sort((a, b) => (a.row.file < b.row.file ? -1 : a.row.file > b.row.file ? 1 : 0));
  works.push(...orphans);

  // --- issuers, the plan's verdicts, statuses, the forecast ----------------------------------------
  const trusted = bundle.filter((w) => w.cert);
  matchIssuers(works, (folder) => {
    const own = works.filter((w) => w.folder === folder && w.cert && w.row.usage !== '' && isCAUsage(w.row.usage));
    return folder === '' ? trusted : [...own, ...trusted];
  });
  for (const c of thePlan.changes) {
    if (c.action === 'keep') continue;
    const text = describeChange(c, thePlan.prune);
    let targets: Work[];
    if (c.action === 'orphan') targets = works.filter((w) => c.files.some((f) => w.row.file === f || w.row.file.startsWith(`${f}/`)));
    else if (c.action === 'update-ca-bundle') {
      targets = works.filter((w) => c.files.includes(w.row.file));
      if (targets.length === 0) targets = works.filter((w) => w.row.artifact === c.artifact && w.leaf && !w.row.orphan);
    } else if (c.artifact === 'ca') targets = works.filter((w) => w.row.artifact === 'ca' && w.row.position === 1 && !w.row.orphan).slice(0, 1);
    else targets = works.filter((w) => w.row.artifact === c.artifact && w.leaf && !w.row.orphan);
    for (const w of targets) {
      w.row.pending = w.row.pending ? `${w.row.pending}; ${text}` : text;
      if (c.action === 'create' || c.action === 'reissue') w.replaceNow = true;
    }
  }
  for (const w of works) {
    if (w.leaf && w.renewBeforeNs !== undefined) {
      w.row.renewBefore = formatDuration(w.renewBeforeNs);
      if (w.row.expires) w.row.renewalStarts = iso(new Date(Date.parse(w.row.expires) - Number(w.renewBeforeNs / 1_000_000n)));
    }
    setStatus(w.row, nowMs);
  }
  const rotations: CaRotation[] = [];
  if (activeCA && activeCA.cert && activeCA.row.expires) {
    const leaves = works.filter((w) => w.leaf && !w.row.orphan);
    const maxRenewBefore = [...spec.nodes, ...spec.clients].reduce((m, l) => (l.renewBefore > m ? l.renewBefore : m), 0n) || DEFAULT_RENEW_BEFORE_NS;
    const rot = rotationFor(activeCA, leaves, nowMs, maxRenewBefore);
    rotations.push(rot);
    activeCA.row.renewalStarts = rot.windowOpens;
    activeCA.row.renewBefore = msToGo(Date.parse(activeCA.row.expires) - Date.parse(rot.windowOpens));
    setStatus(activeCA.row, nowMs);
  }
  const forecastWorks = works.filter((w) => !w.row.orphan && ((w.leaf && w.row.artifact !== '') || w === activeCA || (w.row.artifact === 'ca' && w.row.problem === 'missing')));
  const renewals = forecastWorks.map((w) => renewalEntry(w, nowMs)).sort(byRenewal);
  const rows = works.map((w) => w.row);
  warnings.push(...thePlan.warnings);
  return {
    version: REPORT_VERSION,
    now: iso(now),
    source: { kind: 'spec', specFile: opts.specFileLabel ?? spec.file, certsDir: opts.certsDirLabel ?? spec.certsDir },
    summary: summarize(rows),
    rows,
    forecast: { renewals, caRotations: rotations },
    plan: {
      pendingChanges: thePlan.changes.filter((c) => c.action !== 'keep' && (c.action !== 'orphan' || thePlan.prune)).length,
      changes: thePlan.changes.filter((c) => c.action !== 'keep'),
      errors: thePlan.errors,
      warnings: thePlan.warnings,
    },
    warnings,
  };
}
