// The shape of `certgen report`'s output (JSON, and what every renderer reads) and its options.
import type { PemUsage } from '../core/cert-names.js';
import type { Change, PlanError, PlanRotation } from '../plan/types.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';

export const REPORT_VERSION = 1;

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
  /** What `cert list` prints: `num certs: N`, `addresses: …`, `user: …` (later CA bundle certs: `cert i of N in the bundle`); not its `; key: …` note, which `key` has for every key. */
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
  /**
   * Spec mode: the latest safe start of `certgen rotate start` for this CA (its expiry minus the
   * rotation margin (`ca.rotationMargin`, default the longest renewBefore), `ca.clientPropagation` and `ca.reissueAllowance`), and that deadline.
   */
  latestStart?: string;
  deadline?: string;
  /** A rotation under way (`certgen rotate`): its id, phase and the deadline for trust and reissue. */
  rotation?: { id: string; phase: string; deadline: string };
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
  plan: { pendingChanges: number; changes: Change[]; errors: PlanError[]; warnings: string[]; rotation?: PlanRotation; clientCaRotation?: PlanRotation } | null;
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
  /** age identities: a caKey ending in .age is then checked against ca.crt (without: not checked). */
  identities?: readonly string[];
}

export type ReportSource = { spec: ClusterSpec } | { certsDir: string };
