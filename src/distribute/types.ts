// The shapes of `certgen distribute`: its options, progress events and per-target result (what
// the renderers and `--json` read), and the plan of one target that the phases share.
import type { SshTarget, VerifySpec } from '../cluster-spec/spec.js';
import type { ClientCredentials } from '../verify/probe.js';
import type { EndpointVerification } from '../verify/verify.js';
import type { Argv } from '../io/remote.js';

/** Targets handled at once unless `concurrency` says otherwise. */
export const DEFAULT_CONCURRENCY = 4;
/** Longest each phase of a target's ssh session (the check, then the install) may take (ms) unless `timeoutMs` says otherwise. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 300_000;

export type TargetKind = 'node' | 'client';

/**
 * Where a target's run is, for progress events and for saying where a failure happened: `check`
 * (the session's read-only look), `mkdir` (the remote folder), `copy` (receiving and verifying the
 * files in the staging folder: nothing live is touched yet), `install` (modes and renames),
 * `reload`, `verify` (the node's endpoints, on fresh handshakes).
 */
export type DistributePhase = 'check' | 'mkdir' | 'copy' | 'install' | 'reload' | 'verify' | 'done';

export interface DistributeEvent {
  /** `node n1`, `client root`. */
  target: string;
  kind: TargetKind;
  name: string;
  phase: DistributePhase;
  /** True on the event that records a failure. */
  failed: boolean;
  /** One line, without the target (see formatDistributeEvent). */
  message: string;
}

export interface DistributeOptions {
  /** The journal line beside the spec for a run that changes a host (default on): false for none, or the command to record (default `distribute`). */
  journal?: false | { command: string };
  /** Read the remote sums but change nothing anywhere; report the commands that would run. */
  dryRun?: boolean;
  /** Only these nodes (names from the spec). Unknown names are an error listing the valid ones. */
  nodes?: string[];
  /** Also distribute clients that have an `ssh` target. */
  includeClients?: boolean;
  /** Only these clients (implies includeClients). */
  clients?: string[];
  /** Targets handled at once; default {@link DEFAULT_CONCURRENCY}. */
  concurrency?: number;
  /** Per phase of a target's ssh session (the check, the install); default {@link DEFAULT_COMMAND_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Progress, one event per step of each target, in the order they happen. */
  onEvent?: (event: DistributeEvent) => void;
  /**
   * After a node's files are in place and its reload ran, check on fresh TLS handshakes that its
   * endpoints (the spec's `verify:`, else the SQL port 26257 of its ssh host) present the local
   * node.crt; a node that does not is a failure. Clients are never verified. Implied by `rolling`.
   */
  verify?: boolean;
  /** How long each endpoint may take to present the new certificate (ms); default 30 s. */
  verifyTimeoutMs?: number;
  /** A client certificate to present while verifying; the server must accept it. */
  verifyClient?: ClientCredentials;
  /**
   * One node at a time (or `maxUnavailable` at once): install, reload, verify, then the next;
   * the first failure stops the rollout and the targets not yet started are left untouched.
   */
  rolling?: boolean;
  /** With `rolling`: how many targets may be in flight at once (default 1). Implies rolling. */
  maxUnavailable?: number;
  /** Copy only: never run the targets' `reload` (a script runs it itself, see rollout.ts). */
  skipReload?: boolean;
  /**
   * Run each target's `reload` even when none of its files changed (after its files, when some
   * did). A node whose reload failed after its files were installed is up to date on the next
   * run, which therefore skips its reload: this runs it again. Not with `skipReload`.
   */
  forceReload?: boolean;
}

/** What happens (or, in a dry run, would happen) to one file. */
export type FileAction = 'copy' | 'chmod' | 'none';

export interface DistributeFile {
  name: string;
  /** Absolute local path (inside the target's own folder). */
  localPath: string;
  /** Path on the remote host, as the spec's dir spells it. */
  remotePath: string;
  /** Mode the remote file ends with. */
  mode: number;
  sha256: string;
  /** null when the file is missing remotely or its sum could not be read. */
  remoteSha256: string | null;
  remoteMode: number | null;
  action: FileAction;
}

/**
 * - `updated`: files were copied (or modes fixed).
 * - `unchanged`: everything was already in place; nothing ran but the check.
 * - `would-update`: dry run, something would change.
 * - `failed`: see `error` and `phase`.
 * - `not-started`: a rolling rollout stopped before this target; nothing ran on it.
 */
export type TargetStatus = 'updated' | 'unchanged' | 'would-update' | 'failed' | 'not-started';

/** A node's live verification: where it connected, each endpoint's verdict. */
export interface TargetVerification {
  ok: boolean;
  host: string;
  /** Lower-case hex SHA-256 of the local node.crt, which every endpoint must present. */
  expectedSha256: string;
  endpoints: EndpointVerification[];
}

/** `none`: no reload command; `skipped`: nothing changed; `would-run`: dry run with changes (or forceReload). */
export type ReloadStatus = 'none' | 'skipped' | 'ran' | 'failed' | 'would-run';

export interface DistributeTarget {
  kind: TargetKind;
  name: string;
  /** `node n1` / `client root`. */
  label: string;
  host: string;
  port: number;
  user: string | null;
  dir: string;
  status: TargetStatus;
  files: DistributeFile[];
  /** Names of files copied (in a dry run: that would be copied). */
  copied: string[];
  /** Names of files whose content and mode were already right. */
  unchanged: string[];
  /** Names of files whose content was right but whose mode was fixed (or would be). */
  modesFixed: string[];
  reload: { command: string | null; status: ReloadStatus };
  /** One line: why this target failed. */
  error: string | null;
  /** The step that failed. */
  phase: DistributePhase | null;
  /** Things worth knowing that did not stop the target. */
  warnings: string[];
  /**
   * What ran, in order (dry run: also what would run): the ssh argv of the target's one session,
   * then, when something changed, `['eval', <installer line>]`, the line sent on that session's
   * stdin (followed by the files' bytes) for the remote shell to eval.
   */
  commands: Argv[];
  /** Null when not verified (no --verify, a client, a dry run, or the target failed before). */
  verify: TargetVerification | null;
  durationMs: number;
}

/** A rolling rollout's outcome by target label, in rollout order. */
export interface Rollout {
  maxUnavailable: number;
  /** Installed (or already up to date), reloaded and verified. */
  done: string[];
  failed: string[];
  /** Left untouched because the rollout stopped. */
  notStarted: string[];
  /** True when a failure stopped it before every target was started. */
  stopped: boolean;
}

export interface DistributeResult {
  dryRun: boolean;
  /** False when any target failed (the CLI's exit code). */
  ok: boolean;
  targets: DistributeTarget[];
  /** Present when the run was rolling. */
  rollout?: Rollout;
  /** The journal line written for this run (when it changed a host), or why none could be. */
  journal?: { file: string; seq: number } | { file: string; error: string };
}

const PHASE_TEXT: Record<DistributePhase, string> = {
  check: 'checking remote files',
  mkdir: 'creating the remote folder',
  copy: 'copying',
  install: 'installing',
  reload: 'running reload',
  verify: 'verifying',
  done: 'done',
};

/** `phase` in words, for messages: `checking remote files`. */
export function phaseText(phase: DistributePhase): string {
  return PHASE_TEXT[phase];
}

/** A file to send, as the local checks found it. */
export interface LocalFile {
  name: string;
  path: string;
  mode: number;
  sha256: string;
}

/** One target once selected and checked locally: what the remote phases work from. */
export interface TargetPlan {
  kind: TargetKind;
  name: string;
  label: string;
  ssh: SshTarget;
  reload: string | undefined;
  folder: string;
  files: LocalFile[];
  /** A node's hosts from the spec (absent or empty for a client). */
  hosts?: string[];
  /** A node's `verify:` block (absent: the default, or a client). */
  verify?: VerifySpec | undefined;
}
