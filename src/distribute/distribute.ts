// `certgen distribute`: ships each node's (and optionally each client's) own folder of the
// generated tree to the ssh target the spec names, safely and only where something changed.
//
// Per target: check the local folder (before anything remote happens, for every target:
// select.ts, local.ts), then the remote phases (target.ts), in one ssh session: it reports the
// remote SHA-256 sums and modes, and when something differs the same session receives the
// installer and the differing files on its stdin: they land in a staging folder, are checked, get
// their modes, are renamed into place, and the target's `reload` runs. Targets run concurrently;
// one failing is recorded for that target and never stops the others. On SIGINT, SIGTERM or
// SIGHUP every ssh process still running is stopped and the lock released before the signal takes
// its course.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CA_CERT, CLIENT_CA_CERT } from '../core/cert-names.js';
import { CertgenError } from '../errors.js';
import { journalDistribute } from './journal.js';
import { acquireLock } from '../io/lock.js';
import { killRemoteProcesses, localSsh } from '../io/remote.js';
import { LOCK_FILE } from '../tree/layout.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import type { PublicKeyFacts } from '../pki/read/types.js';
import { addCertPublicKeys, caKeyFacts, inspectLocal, type CaPublicKeys } from './local.js';
import { checkSelection, selectTargets } from './select.js';
import { distributeTarget, initialResult, type Context } from './target.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONCURRENCY, type DistributeOptions, type DistributeResult, type DistributeTarget, type Rollout, type TargetPlan } from './types.js';
import { addVerification, type VerifyContext } from './verify-target.js';

export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONCURRENCY,
  phaseText,
  type DistributeEvent,
  type DistributeFile,
  type DistributeOptions,
  type DistributePhase,
  type DistributeResult,
  type DistributeTarget,
  type FileAction,
  type ReloadStatus,
  type TargetKind,
  type TargetStatus,
} from './types.js';

/**
 * Selects the targets and checks every one of them locally; throws a CertgenError before anything
 * remote happens when any check fails.
 */
export async function planTargets(spec: ClusterSpec, options: DistributeOptions): Promise<TargetPlan[]> {
  const selected = selectTargets(spec, options);
  checkSelection(spec, options, selected);
  const ca = await caKeyFacts(spec.caKey);
  // The CAs' public keys, from the tree's ca.crt (and ca-client.crt) and every target's copy: a
  // key file that is the private half of one is a CA key, whatever its encoding.
  const caPublicKeys: CaPublicKeys = { ca: new Map<string, PublicKeyFacts>(), clientCa: new Map<string, PublicKeyFacts>() };
  for (const dir of [spec.certsDir, ...selected.map((s) => s.folder)]) {
    await addCertPublicKeys(path.join(dir, CA_CERT), caPublicKeys.ca);
    if (spec.clientCa !== undefined) await addCertPublicKeys(path.join(dir, CLIENT_CA_CERT), caPublicKeys.clientCa);
  }
  const plans: TargetPlan[] = [];
  for (const s of selected) {
    const files = await inspectLocal(s, spec.certsDir, ca, caPublicKeys);
    plans.push({ kind: s.kind, name: s.name, label: `${s.kind} ${s.name}`, ssh: s.ssh, reload: s.reload, folder: s.folder, files, hosts: s.hosts, verify: s.verify });
  }
  return plans;
}

/**
 * Sends each selected target its own folder of the generated tree over ssh and reports, per
 * target, what was copied. Throws CertgenError (before touching any host) for a spec or tree it
 * refuses; every per-host failure is recorded in the result instead, whose `ok` is false then.
 */
export async function distribute(spec: ClusterSpec, options: DistributeOptions = {}): Promise<DistributeResult> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new CertgenError(`concurrency must be a whole number of at least 1, not ${concurrency}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new CertgenError(`timeout must be positive, not ${timeoutMs}`);
  const dryRun = options.dryRun ?? false;
  const maxUnavailable = options.maxUnavailable ?? 1;
  if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1) throw new CertgenError(`max-unavailable must be a whole number of at least 1, not ${maxUnavailable}`);
  if (options.forceReload === true && options.skipReload === true) throw new CertgenError('forceReload and skipReload cannot be used together');
  if (options.verifyTimeoutMs !== undefined && !(options.verifyTimeoutMs > 0)) throw new CertgenError(`verify timeout must be positive, not ${options.verifyTimeoutMs}`);
  // The apply lock is held while files are read and sent, so a concurrent apply can never make a
  // node receive a new certificate beside its old key. A dry run sends nothing and needs no lock.
  const certsDirExists = await fs.stat(spec.certsDir).then((st) => st.isDirectory(), () => false);
  // (Without a certs dir there is nothing to lock; the targets' checks then say to run apply.)
  const lock = dryRun || !certsDirExists ? undefined : await acquireLock(spec.certsDir, LOCK_FILE);
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => (released ??= lock?.release() ?? Promise.resolve());
  try {
    const result = await distributeLocked(spec, options, concurrency, timeoutMs, dryRun, release);
    const journal = options.journal === false ? undefined : await journalDistribute(spec, result, options.journal?.command ?? 'distribute');
    return journal ? { ...result, journal } : result;
  } finally {
    await release();
  }
}

async function distributeLocked(spec: ClusterSpec, options: DistributeOptions, concurrency: number, timeoutMs: number, dryRun: boolean, release: () => Promise<void>): Promise<DistributeResult> {
  let plans = await planTargets(spec, options);
  if (options.skipReload === true) plans = plans.map((p) => ({ ...p, reload: undefined }));
  const ssh = await localSsh();
  if (ssh === undefined) throw new CertgenError('cannot run ssh: is an OpenSSH client installed and on PATH?');
  const stopGuard = guardSignals(() => {
    killRemoteProcesses('SIGTERM');
  }, release);
  try {
    const ctx: Context = {
      dryRun,
      timeoutMs,
      forceReload: options.forceReload === true,
      emit: (plan, phase, message, failed = false) => {
        options.onEvent?.({ target: plan.label, kind: plan.kind, name: plan.name, phase, failed, message });
      },
    };
    const rolling = options.rolling === true || options.maxUnavailable !== undefined;
    const verify: VerifyContext | undefined =
      !dryRun && (options.verify === true || rolling)
        ? {
            ...(options.verifyTimeoutMs !== undefined ? { timeoutMs: options.verifyTimeoutMs } : {}),
            ...(options.verifyClient !== undefined ? { client: options.verifyClient } : {}),
            emit: (plan, message, failed = false) => ctx.emit(plan, 'verify', message, failed),
          }
        : undefined;
    const one = async (plan: TargetPlan): Promise<DistributeTarget> => {
      const t = await distributeTarget(plan, ctx);
      if (verify === undefined || plan.kind !== 'node' || t.status === 'failed') return t;
      return addVerification(t, plan, verify);
    };
    if (!rolling) {
      const targets = (await runTargets(plans, ctx, concurrency, one)) as DistributeTarget[];
      return { dryRun, ok: targets.every((t) => t.status !== 'failed'), targets };
    }
    const maxUnavailable = options.maxUnavailable ?? 1;
    const { targets, rollout } = await runRolling(plans, ctx, maxUnavailable, one);
    return { dryRun, ok: targets.every((t) => t.status !== 'failed' && t.status !== 'not-started'), targets, rollout };
  } finally {
    stopGuard();
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * While distribute runs, SIGINT, SIGTERM and SIGHUP first stop every ssh process it started
 * (`now`, synchronously), release the lock (`then`, at most a second),
 * and then take their usual course: the handler removes itself and sends the signal again.
 * Returns the function that removes the handler.
 */
function guardSignals(now: () => void, then: () => Promise<void>): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    remove();
    now();
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref());
    void Promise.race([then().catch(() => {}), timer]).finally(() => process.kill(process.pid, signal));
  };
  const remove = (): void => {
    for (const s of SIGNALS) process.removeListener(s, handler);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return remove;
}

/**
 * Every target, at most `concurrency` at once; the results in the plans' order. `stopWhen`, when
 * it says so of a finished target, stops handing out new ones (those left are undefined).
 */
async function runTargets(
  plans: TargetPlan[],
  ctx: Context,
  concurrency: number,
  one: (plan: TargetPlan) => Promise<DistributeTarget>,
  stopWhen?: (t: DistributeTarget) => boolean,
): Promise<Array<DistributeTarget | undefined>> {
  const targets: Array<DistributeTarget | undefined> = Array.from({ length: plans.length }, () => undefined);
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < plans.length) {
      const i = next++;
      const plan = plans[i] as TargetPlan;
      try {
        targets[i] = await one(plan);
      } catch (err) {
        targets[i] = crashed(plan, ctx, err);
      }
      if (stopWhen?.(targets[i] as DistributeTarget) === true) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker));
  return targets;
}

/**
 * A rolling rollout: targets in spec order, at most `maxUnavailable` in flight, each installed,
 * reloaded and verified before its slot takes the next; the first failure stops it (those in
 * flight finish), and the targets not started are left untouched: no ssh, nothing read remotely.
 */
async function runRolling(plans: TargetPlan[], ctx: Context, maxUnavailable: number, one: (plan: TargetPlan) => Promise<DistributeTarget>): Promise<{ targets: DistributeTarget[]; rollout: Rollout }> {
  const ran = await runTargets(plans, ctx, maxUnavailable, one, (t) => t.status === 'failed');
  const rollout: Rollout = { maxUnavailable, done: [], failed: [], notStarted: [], stopped: false };
  const targets = ran.map((t, i) => {
    const plan = plans[i] as TargetPlan;
    if (t === undefined) {
      rollout.notStarted.push(plan.label);
      ctx.emit(plan, 'done', 'not started: the rollout stopped at a failure');
      return { ...initialResult(plan, []), status: 'not-started' as const };
    }
    (t.status === 'failed' ? rollout.failed : rollout.done).push(t.label);
    return t;
  });
  rollout.stopped = rollout.notStarted.length > 0;
  return { targets, rollout };
}

/** A bug or a local failure (spawning ssh, say) stays with its target too. */
function crashed(plan: TargetPlan, ctx: Context, err: unknown): DistributeTarget {
  const message = err instanceof Error ? err.message : String(err);
  ctx.emit(plan, 'done', `failed: ${message}`, true);
  return { ...initialResult(plan, []), status: 'failed', error: message };
}
