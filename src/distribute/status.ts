// `certgen status`: fleet drift at a glance, read-only. Per target, one ssh session runs the same
// read-only look distribute's session starts with (remoteProbeScript without the hold: type,
// mode and SHA-256 of every file, staging folders a killed run left) and its report is compared
// with the local tree exactly as distribute compares it (compareWithRemote). A node with a
// `verify:` block (its own or the defaults') is also looked at live, at the same time: one
// handshake per endpoint, judged as distribute --verify judges it (served.ts). Nothing is written
// anywhere and no lock is taken, so status can run beside an apply or a distribute.
import { CertgenError } from '../errors.js';
import { describeSshFailure, localSsh, parseProbe, remoteProbeScript, run, sshArgv } from '../io/remote.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { planTargets } from './distribute.js';
import { servedBy, worstState, type Served } from './served.js';
import { compareWithRemote, filesToSend } from './target.js';
import { DEFAULT_PROBE_TIMEOUT_MS } from '../verify/probe.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONCURRENCY, type TargetKind, type TargetPlan } from './types.js';

/** One remote file against its local copy. `not-a-file`: a directory, symlink or device stands there. */
export type FileState = 'in-sync' | 'missing' | 'different' | 'mode' | 'not-a-file' | 'unknown';

/**
 * `in-sync`: every file matches (and every endpoint serves the local node.crt); `drift`: something
 * differs; `unreachable`: the look did not run, or an endpoint of the node's `verify:` block gave
 * no TLS handshake. The most severe wins.
 */
export type TargetState = 'in-sync' | 'drift' | 'unreachable';

export interface StatusFile {
  name: string;
  remotePath: string;
  state: FileState;
  sha256: string;
  /** Local mode, what distribute would leave. */
  mode: number;
  /** null when missing, or (sha256) when the remote host has no checksum tool. */
  remoteSha256: string | null;
  remoteMode: number | null;
}

export interface StatusTarget {
  kind: TargetKind;
  name: string;
  label: string;
  host: string;
  port: number;
  user: string | null;
  dir: string;
  state: TargetState;
  reachable: boolean;
  /** Whether the remote folder exists (null when unreachable). */
  dirExists: boolean | null;
  files: StatusFile[];
  /** Staging folders an interrupted distribute left (the next distribute removes them). */
  leftovers: string[];
  /** Why the ssh look did not run (or could not be read); an endpoint's reason is in `served`. */
  error: string | null;
  /** What the node serves, per endpoint of its `verify:` block; null without one (and for clients). */
  served: Served | null;
  warnings: string[];
  durationMs: number;
}

export interface StatusResult {
  /** 0 in sync, 2 drift, 1 a target unreachable (the most severe wins), as `check`. */
  exitCode: 0 | 1 | 2;
  targets: StatusTarget[];
  summary: { total: number; inSync: number; drift: number; unreachable: number };
}

export interface StatusEvent {
  target: string;
  /** `start` when its session begins, `done` when it ended (`state` says how). */
  phase: 'start' | 'done';
  state: TargetState | null;
}

export interface StatusOptions {
  nodes?: string[];
  includeClients?: boolean;
  clients?: string[];
  concurrency?: number;
  timeoutMs?: number;
  /** Per endpoint connection of a node's `verify:` block (ms); default 5 s. */
  probeTimeoutMs?: number;
  onEvent?: (event: StatusEvent) => void;
}

/** `check`'s codes: 0 in sync, 1 error, 2 drift. */
export const STATUS_EXIT = { inSync: 0, error: 1, drift: 2 } as const;

/** Help text for `certgen status --help` and the README. */
export const STATUS_EXIT_CODES_HELP = `Exit codes:
  0  every target is reachable and holds exactly the local files, with their modes (and every
     node with a verify: block serves its local node.crt)
  1  error: a target is unreachable (down, refused, wrong host key, ...), an endpoint of a
     node's verify: block does not answer with TLS, or the spec or the local tree cannot be used
  2  drift: a remote file is missing, differs (SHA-256) or has another mode, or a node serves
     another certificate than its local node.crt (or one whose chain or host names fail)
  4  a flag or flag value was not accepted
When several apply, the most severe wins: 1, then 2, then 0.`;

function fileState(f: ReturnType<typeof filesToSend>[number], type: string | undefined, sums: boolean): FileState {
  if (type === undefined || type === 'missing') return 'missing';
  if (type !== 'file') return 'not-a-file';
  if (!sums || f.remoteSha256 === null) return 'unknown';
  if (f.remoteSha256 !== f.sha256) return 'different';
  if (f.remoteMode !== f.mode) return 'mode';
  return 'in-sync';
}

/**
 * One target's look, in one ssh session, and (a node with a `verify:` block) what its endpoints
 * serve, at the same time; every failure is recorded, never thrown.
 */
export async function targetStatus(plan: TargetPlan, timeoutMs: number = DEFAULT_COMMAND_TIMEOUT_MS, options: { probeTimeoutMs?: number } = {}): Promise<StatusTarget> {
  const started = Date.now();
  const probeTimeoutMs = Math.min(options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, timeoutMs);
  const [out, served] = await Promise.all([remoteLook(plan, timeoutMs), plan.kind === 'node' && plan.verify !== undefined ? servedBy(plan, { timeoutMs: probeTimeoutMs }) : null]);
  out.served = served;
  if (served !== null) out.state = worstState([out.state, served.state]);
  out.durationMs = Date.now() - started;
  return out;
}

/** The ssh look at one target's remote folder. */
async function remoteLook(plan: TargetPlan, timeoutMs: number): Promise<StatusTarget> {
  const t = plan.ssh;
  const files = filesToSend(plan);
  const out: StatusTarget = {
    kind: plan.kind,
    name: plan.name,
    label: plan.label,
    host: t.host,
    port: t.port,
    user: t.user ?? null,
    dir: t.dir,
    state: 'unreachable',
    reachable: false,
    dirExists: null,
    files: [],
    leftovers: [],
    error: null,
    served: null,
    warnings: [],
    durationMs: 0,
  };
  const names = plan.files.map((f) => f.name);
  const r = await run(sshArgv(t, remoteProbeScript(t.dir, names, { hold: false })), { timeoutMs });
  const asFiles = (states: (FileState | null)[]): StatusFile[] =>
    files.map((f, i) => ({ name: f.name, remotePath: f.remotePath, state: states[i] ?? 'unknown', sha256: f.sha256, mode: f.mode, remoteSha256: f.remoteSha256, remoteMode: f.remoteMode }));
  // The look always ends with status 0 and prints a `D` or `certgen:nodir` line.
  if (r.exitCode !== 0 || !/^(D |certgen:nodir$)/m.test(r.stdout)) {
    out.error = r.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)}s` : r.exitCode === 0 ? "the remote shell did not run certgen's check (is the login shell a POSIX shell?)" : describeSshFailure(r, t);
    out.files = asFiles(files.map(() => null));
    return out;
  }
  const remote = parseProbe(r.stdout, names);
  const compared = compareWithRemote(files, remote, t.dir);
  // compareWithRemote stops at a non-file entry; fill the rest in for the report.
  for (const [i, f] of files.entries()) {
    const e = remote.entries[i];
    f.remoteSha256 = e?.sha256 ?? null;
    f.remoteMode = e?.mode ?? null;
  }
  out.reachable = true;
  out.dirExists = remote.dirExists;
  out.leftovers = remote.stale;
  out.warnings = compared.warnings;
  out.files = asFiles(files.map((f, i) => fileState(f, remote.entries[i]?.type, remote.sumsAvailable)));
  out.state = out.files.every((f) => f.state === 'in-sync') ? 'in-sync' : 'drift';
  if (remote.stale.length > 0) out.warnings.push(`${remote.stale.join(', ')} left by an interrupted distribute (the next distribute removes ${remote.stale.length === 1 ? 'it' : 'them'})`);
  return out;
}

/**
 * Every selected target's remote files against the local tree, at most `concurrency` sessions at
 * once, results in spec order. Throws CertgenError (before any host is contacted) for a spec or
 * local tree it refuses, as distribute does.
 */
export async function fleetStatus(spec: ClusterSpec, options: StatusOptions = {}): Promise<StatusResult> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new CertgenError(`concurrency must be a whole number of at least 1, not ${concurrency}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (options.probeTimeoutMs !== undefined && !(options.probeTimeoutMs > 0)) throw new CertgenError(`probe timeout must be positive, not ${options.probeTimeoutMs}`);
  const plans = await planTargets(spec, {
    ...(options.nodes !== undefined ? { nodes: options.nodes } : {}),
    ...(options.clients !== undefined ? { clients: options.clients } : {}),
    includeClients: options.includeClients ?? false,
  });
  if ((await localSsh()) === undefined) throw new CertgenError('cannot run ssh: is an OpenSSH client installed and on PATH?');
  const targets: StatusTarget[] = new Array(plans.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const i = next++;
      const plan = plans[i] as TargetPlan;
      options.onEvent?.({ target: plan.label, phase: 'start', state: null });
      const t = await targetStatus(plan, timeoutMs, options.probeTimeoutMs !== undefined ? { probeTimeoutMs: options.probeTimeoutMs } : {});
      targets[i] = t;
      options.onEvent?.({ target: plan.label, phase: 'done', state: t.state });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker));
  const n = (s: TargetState): number => targets.filter((t) => t.state === s).length;
  const summary = { total: targets.length, inSync: n('in-sync'), drift: n('drift'), unreachable: n('unreachable') };
  const exitCode = summary.unreachable > 0 ? STATUS_EXIT.error : summary.drift > 0 ? STATUS_EXIT.drift : STATUS_EXIT.inSync;
  return { exitCode, targets, summary };
}
