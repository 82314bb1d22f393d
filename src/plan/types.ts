// The plan: what `certgen apply` would do to the certs dir and why. A plain, serialisable value
// (see schemas/plan.schema.json) produced by diff.ts and consumed by apply.ts and the renderers.

export const PLAN_VERSION = 1;

/**
 * `update`: a file derived from what is kept is written again (the .gitignore's missing lines, a
 * key's `.age` copy, the age index); `restore`: a key is written from its `.age` file, not reissued.
 */
export type Action = 'create' | 'reissue' | 'fix-mode' | 'update-ca-bundle' | 'update' | 'restore' | 'orphan' | 'keep';

/** Why a change is planned; the list is the source of the type (tests derive their coverage from it). */
export const REASON_CODES = [
  'missing',
  'key-missing',
  'hosts-changed',
  'subject-changed',
  'key-size-changed',
  'key-type-changed',
  'lifetime-changed',
  'expiring',
  'expired',
  'not-signed-by-ca',
  'key-mismatch',
  'unreadable',
  'mode-too-open',
  'mode-changed',
  'ca-bundle-stale',
  'not-in-spec',
  'interrupted-write',
  'gitignore-incomplete',
  'source-changed',
  'age-stale',
  'age-recipients-changed',
  'age-index-stale',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

export interface Reason {
  code: ReasonCode;
  /** One line for a person: what is wrong, with the numbers. */
  message: string;
  /** The file it concerns, relative to the certs dir. */
  file?: string;
  /** hosts-changed; the .gitignore's lines to add. */
  added?: string[];
  removed?: string[];
  /** expiring / expired: RFC 3339 expiry, and Go durations for time left and the window. */
  notAfter?: string;
  timeLeft?: string;
  renewBefore?: string;
  /** *-changed: the value found and the value wanted. */
  actual?: string;
  expected?: string;
}

/** A key pair apply generates: `{type: 'rsa', bits}`, or `ecdsa-p256`, `ecdsa-p384`, `ed25519` (no size). */
export type { KeyParams } from '../core/key-type.js';
import type { KeyParams } from '../core/key-type.js';

/** The certificate apply signs. NotBefore is the apply's instant minus 24h, NotAfter the instant plus `lifetime`. */
export interface CertParams {
  /** `tenant`: a tenant client certificate; `tenant-signing`: its self-signed token signing certificate. */
  kind: 'ca' | 'node' | 'client' | 'tenant' | 'tenant-signing';
  commonName: string;
  /** Node and tenant certificates: the SANs, in spec order. */
  hosts?: string[];
  /** Go duration. */
  lifetime: string;
  /**
   * Who signs: `self` (a CA, a tenant signing certificate), `new-ca` (the CA this same plan creates), `new-client-ca` (the split
   * client CA this same plan creates), or the SHA-256 fingerprint
   * of the CA certificate that signs (the first of ca.crt), which apply checks before signing.
   */
  signer: string;
}

/**
 * What a written file holds; `copy`: a provided file's bytes (a node's ui.crt, ui.key, ca-ui.crt);
 * `key-age`: a key encrypted (armored age) for `recipients`; `age-index`: what each .age file holds;
 * `ca-key-age`: a new CA key, written only encrypted (armored age) for `recipients`.
 */
export type Content = 'ca-key' | 'ca-key-age' | 'ca-cert' | 'ca-bundle' | 'client-ca-bundle' | 'cert' | 'key' | 'pkcs8' | 'gitignore' | 'copy' | 'key-age' | 'age-index';

/** A file apply writes: under a staging name, 0600/0644 from the first byte, renamed into place with the rest. */
export interface WriteOp {
  /** Relative to the certs dir, with `/`; with `caKey`, the CA key (shown as the plan's `caKey`). */
  file: string;
  caKey?: true;
  /** With `caKey`, the split client CA's key (the plan's `clientCaKey`) instead. */
  clientCaKey?: true;
  content: Content;
  /** The numeric mode, e.g. 384 (0600). */
  mode: number;
  /** `pkcs8` written from an existing key: that key file, relative to the certs dir. */
  from?: string;
  /** Written only if nothing is there (the CA's files: never replaced). */
  exclusive?: true;
  /** `gitignore`: the lines appended to the file as it was read (plan/gitignore.ts). */
  lines?: string[];
  /** `copy`: the provided file, relative to the certs dir (it lies outside, like the CA key). */
  source?: string;
  /** `copy`: the SHA-256 (hex) of the bytes planned, which apply writes only if the file still holds them. */
  sha256?: string;
  /** `key-age`, `ca-key-age`: the age recipients it is encrypted for. */
  recipients?: string[];
}

/** A mode apply sets on an existing file or folder. */
export interface ChmodOp {
  file: string;
  caKey?: true;
  clientCaKey?: true;
  mode: number;
}

/**
 * Exactly what apply does for a change: the program. apply carries out these and nothing else
 * (orphans' removals only with --prune).
 */
export interface Ops {
  /** A new key pair, for `issue` (absent: the existing key is used: the CA key, or `from`). */
  newKey?: KeyParams;
  issue?: CertParams;
  write: WriteOp[];
  chmod: ChmodOp[];
  /** Relative to the certs dir; folders are removed with what they hold. */
  remove: string[];
}

export interface Change {
  /** `ca`, `node/<name>`, `client/<user>`, `tenant/<id>` (orphans: their path). */
  artifact: string;
  kind: 'ca' | 'node' | 'client' | 'tenant' | 'file' | 'dir';
  action: Action;
  /** Files (relative to the certs dir; the CA key: its path) this change writes, chmods or removes. */
  files: string[];
  reasons: Reason[];
  ops: Ops;
}

/** Codes of the problems that stop apply (beyond the reason codes that can also be errors). */
export const PLAN_ERROR_CODES = ['ca-key-missing', 'ca-key-in-certs-dir', 'ca-expiring', 'ca-lifetime-too-short', 'symlink', 'rotation-inconsistent', 'age-identity-needed', 'age-unreadable', 'age-recipients-needed'] as const;

export type PlanErrorCode = ReasonCode | (typeof PLAN_ERROR_CODES)[number];

/** A problem that stops apply: certgen will not guess its way around it. */
export interface PlanError {
  artifact: string;
  code: PlanErrorCode;
  message: string;
}

export interface Plan {
  version: typeof PLAN_VERSION;
  /** The instant the plan was computed for (RFC 3339). */
  now: string;
  specFile: string;
  certsDir: string;
  /** The CA key, relative to the certs dir (it lies outside it, e.g. `../secrets/ca.key`). */
  caKey: string;
  /** The split client CA's key, relative to the certs dir; absent without `clientCa`. */
  clientCaKey?: string;
  /** Whether orphans are removed (`--prune`); they are only reported otherwise. */
  prune: boolean;
  changes: Change[];
  errors: PlanError[];
  /** Things worth knowing that change nothing, e.g. a CA that differs from the spec. */
  warnings: string[];
  /** A CA rotation under way (`certgen rotate`): its id, the phase reached, and which CA signs. */
  rotation?: PlanRotation;
  /** A rotation of the split client CA under way (`certgen rotate --client-ca`), the same. */
  clientCaRotation?: PlanRotation;
}

export interface PlanRotation {
  id: string;
  phase: string;
  /** The phase being entered, when a step is under way. */
  pending?: string;
  signing: 'old' | 'new';
}

/**
 * What a rotation under way tells the diff (src/plan/rotation.ts reads it from the state file and
 * the tree): which certificate of ca.crt signs (recorded, not inferred from the order), and
 * whether new leaves are capped at that CA's NotAfter.
 */
export interface RotationContext extends PlanRotation {
  /** SHA-256 fingerprint (`AA:BB:…`) of the ca.crt certificate that signs. */
  signer: string;
  /** The old CA signs (staged, trusted): a leaf signed now ends no later than it, with a warning. */
  capAtSigner: boolean;
  /** Where the tree disagrees with the rotation state (each stops apply as `rotation-inconsistent`). */
  problems: Array<{ code: string; message: string }>;
}

/** Whether apply would change anything (orphans count only when pruning). */
export function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => isActionable(c, plan.prune));
}

export function isActionable(c: Change, prune: boolean): boolean {
  // A killed apply's staged files are removed by every apply before it plans its writes, so they
  // are listed but are not a change of their own (with or without --prune).
  if (c.reasons[0]?.code === 'interrupted-write') return false;
  return c.action !== 'keep' && (c.action !== 'orphan' || prune);
}

/** No operations: a `keep`, or an orphan's change before its removal is added. */
export function noOps(): Ops {
  return { write: [], chmod: [], remove: [] };
}

export interface PlanSummary {
  create: number;
  reissue: number;
  fixMode: number;
  updateCaBundle: number;
  update: number;
  restore: number;
  orphan: number;
  keep: number;
  /** Files a killed apply staged (listed as orphans, removed by the next apply). */
  interrupted: number;
}

export function summarize(plan: Plan): PlanSummary {
  const interrupted = plan.changes.filter((c) => c.reasons[0]?.code === 'interrupted-write').length;
  const count = (a: Action): number => plan.changes.filter((c) => c.action === a).length;
  return { create: count('create'), reissue: count('reissue'), fixMode: count('fix-mode'), updateCaBundle: count('update-ca-bundle'), update: count('update'), restore: count('restore'), orphan: count('orphan') - interrupted, keep: count('keep'), interrupted };
}
