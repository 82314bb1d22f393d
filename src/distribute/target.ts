// One target, phase by phase: probe the remote files (read-only), compare them with the local
// ones, plan the commands that bring the target up to date, then either report them (dry run) or
// run them in order — mkdir, copy into a staging folder, install (modes + rename), reload —
// stopping at the first failure, which is recorded on the target, never thrown.
import { randomBytes } from 'node:crypto';
import {
  describeSshFailure,
  formatArgv,
  parseRemoteCheck,
  remoteCheckScript,
  remoteCleanupScript,
  remoteFixModesScript,
  remoteInstallScript,
  remoteJoin,
  remoteMkdirScript,
  run,
  scpArgv,
  sshArgv,
  SSH_ERROR_EXIT,
  stagingName,
  type Argv,
  type RemoteFile,
  type RemoteRun,
  type RemoteState,
  type ScpPathMode,
} from '../io/remote.js';
import type { SshTarget } from '../cluster-spec/spec.js';
import { phaseText, type DistributeFile, type DistributePhase, type DistributeTarget, type TargetPlan } from './types.js';

export interface Context {
  dryRun: boolean;
  timeoutMs: number;
  scpPathMode: ScpPathMode;
  emit: (plan: TargetPlan, phase: DistributePhase, message: string, failed?: boolean) => void;
}

/** A target's result before anything has run: nothing copied, the reload (if any) skipped. */
export function initialResult(plan: TargetPlan, files: DistributeFile[]): DistributeTarget {
  const t = plan.ssh;
  return {
    kind: plan.kind,
    name: plan.name,
    label: plan.label,
    host: t.host,
    port: t.port,
    user: t.user ?? null,
    dir: t.dir,
    status: 'unchanged',
    files,
    copied: [],
    unchanged: [],
    modesFixed: [],
    reload: { command: plan.reload ?? null, status: plan.reload === undefined ? 'none' : 'skipped' },
    error: null,
    phase: null,
    warnings: [],
    commands: [],
    durationMs: 0,
  };
}

/** The plan's files as the result reports them, each to be copied until the remote says otherwise. */
export function filesToSend(plan: TargetPlan): DistributeFile[] {
  return plan.files.map((f) => ({
    name: f.name,
    localPath: f.path,
    remotePath: remoteJoin(plan.ssh.dir, f.name),
    mode: f.mode,
    sha256: f.sha256,
    remoteSha256: null,
    remoteMode: null,
    action: 'copy',
  }));
}

function destination(t: SshTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.user !== undefined ? `${t.user}@` : ''}${host}:${t.port}`;
}

/** One target's run in progress: its result, the commands it ran, and how it ends. */
class TargetRun {
  readonly result: DistributeTarget;
  private readonly started = Date.now();

  readonly plan: TargetPlan;
  readonly ctx: Context;

  constructor(plan: TargetPlan, ctx: Context) {
    this.plan = plan;
    this.ctx = ctx;
    this.result = initialResult(plan, filesToSend(plan));
  }

  emit(phase: DistributePhase, message: string): void {
    this.ctx.emit(this.plan, phase, message);
  }

  /** Runs a remote command, recorded in `commands` first. */
  async exec(argv: Argv): Promise<RemoteRun> {
    this.result.commands.push(argv);
    return run(argv, { timeoutMs: this.ctx.timeoutMs });
  }

  /** One line on why a command failed. */
  why(r: RemoteRun): string {
    return r.timedOut ? `timed out after ${Math.round(this.ctx.timeoutMs / 1000)}s` : describeSshFailure(r, this.plan.ssh);
  }

  finish(): DistributeTarget {
    this.result.durationMs = Date.now() - this.started;
    return this.result;
  }

  fail(phase: DistributePhase, error: string): DistributeTarget {
    this.result.status = 'failed';
    this.result.phase = phase;
    this.result.error = error;
    this.ctx.emit(this.plan, phase, `failed while ${phaseText(phase)}: ${error}`, true);
    return this.finish();
  }

  upToDate(): DistributeTarget {
    this.emit('done', 'up to date');
    return this.finish();
  }
}

// ---------------------------------------------------------------------------------------------
// Probe and compare

/** Phase `check`: the remote sums and modes, in one read-only ssh call (a dry run makes it too). */
async function probeRemote(r: TargetRun): Promise<{ remote: RemoteState; error?: undefined } | { remote?: undefined; error: string }> {
  const t = r.plan.ssh;
  const names = r.plan.files.map((f) => f.name);
  r.emit('check', `checking ${destination(t)}:${t.dir}`);
  const check = await r.exec(sshArgv(t, remoteCheckScript(t.dir, names)));
  if (check.exitCode !== 0) return { error: r.why(check) };
  return { remote: parseRemoteCheck(check.stdout, names) };
}

/**
 * Fills in each file's remote sum, mode and action (copy, chmod, none) from the probe. Returns
 * the warnings worth reporting, and an error when a remote entry is something certgen must not
 * overwrite (a directory, a symlink, a device): the files up to it are filled in then.
 */
export function compareWithRemote(files: DistributeFile[], remote: RemoteState, dir: string): { warnings: string[]; error?: string } {
  const warnings: string[] = [];
  if (!remote.sumsAvailable) warnings.push('the remote host has no sha256sum, shasum or openssl: every file is copied');
  for (const [i, f] of files.entries()) {
    const e = remote.entries[i];
    if (e === undefined) continue;
    f.remoteSha256 = e.sha256;
    f.remoteMode = e.mode;
    if (e.type === 'dir' || e.type === 'link' || e.type === 'other') {
      const what = e.type === 'dir' ? 'a directory' : e.type === 'link' ? 'a symbolic link' : 'not a regular file';
      return { warnings, error: `remote ${f.remotePath} is ${what}; remove it and run again` };
    }
    if (e.type === 'missing' || e.sha256 === null || e.sha256 !== f.sha256) f.action = 'copy';
    else if (e.mode !== f.mode) f.action = 'chmod';
    else f.action = 'none';
  }
  if (remote.dirExists && remote.dirMode !== null && (remote.dirMode & 0o007) !== 0) {
    warnings.push(`remote folder ${dir} is open to other users (mode ${remote.dirMode.toString(8).padStart(4, '0')}); certgen leaves existing folder modes alone`);
  }
  return { warnings };
}

/** The files by what happens to them. */
export interface Changes {
  copy: DistributeFile[];
  chmodOnly: DistributeFile[];
  unchanged: string[];
}

export function changesOf(files: DistributeFile[]): Changes {
  return {
    copy: files.filter((f) => f.action === 'copy'),
    chmodOnly: files.filter((f) => f.action === 'chmod'),
    unchanged: files.filter((f) => f.action === 'none').map((f) => f.name),
  };
}

// ---------------------------------------------------------------------------------------------
// Plan the commands

export interface Step {
  phase: DistributePhase;
  argv: Argv;
}

const asRemote = (list: DistributeFile[]): RemoteFile[] => list.map((f) => ({ name: f.name, mode: f.mode }));

/**
 * The commands that bring the target up to date, in order: with files to copy, mkdir (the folder
 * 0700, a private staging folder in it), one scp into the staging folder, install (modes, then
 * rename into place), reload; with only modes to fix, one chmod call; nothing otherwise.
 */
export function planSteps(plan: Pick<TargetPlan, 'ssh' | 'reload'>, changes: Pick<Changes, 'copy' | 'chmodOnly'>, staging: string, scpPathMode: ScpPathMode): Step[] {
  const t = plan.ssh;
  const { copy, chmodOnly } = changes;
  const steps: Step[] = [];
  if (copy.length > 0) {
    steps.push({ phase: 'mkdir', argv: sshArgv(t, remoteMkdirScript(t.dir, staging)) });
    steps.push({ phase: 'copy', argv: scpArgv(t, copy.map((f) => f.localPath), remoteJoin(t.dir, staging), scpPathMode) });
    steps.push({ phase: 'install', argv: sshArgv(t, remoteInstallScript(t.dir, staging, asRemote(copy), asRemote(chmodOnly))) });
    if (plan.reload !== undefined) steps.push({ phase: 'reload', argv: sshArgv(t, plan.reload) });
  } else if (chmodOnly.length > 0) {
    steps.push({ phase: 'install', argv: sshArgv(t, remoteFixModesScript(t.dir, asRemote(chmodOnly))) });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Dry run: report the plan

/**
 * What a dry run records: the files that would change and the commands that would run (listed
 * even when the check failed, as if every file had to be copied), then the check's failure if any.
 */
function reportDryRun(r: TargetRun, changes: Changes, steps: Step[], checkError: string | undefined): DistributeTarget {
  const { result } = r;
  result.copied = changes.copy.map((f) => f.name);
  result.modesFixed = changes.chmodOnly.map((f) => f.name);
  result.commands.push(...steps.map((s) => s.argv));
  if (changes.copy.length > 0 && r.plan.reload !== undefined) result.reload.status = 'would-run';
  if (checkError !== undefined) return r.fail('check', checkError);
  if (steps.length === 0) return r.upToDate();
  result.status = 'would-update';
  const parts = [changes.copy.length > 0 ? `would copy ${result.copied.join(', ')}` : '', changes.chmodOnly.length > 0 ? `would fix modes of ${result.modesFixed.join(', ')}` : ''];
  r.emit('done', parts.filter((p) => p !== '').join('; '));
  for (const s of steps) r.emit('done', `would run: ${formatArgv(s.argv)}`);
  return r.finish();
}

// ---------------------------------------------------------------------------------------------
// Run the plan

/** The progress line before a step (mkdir and a copying install have none of their own). */
function announce(r: TargetRun, step: Step, changes: Changes): void {
  if (step.phase === 'copy') r.emit('copy', `copying ${changes.copy.map((f) => f.name).join(', ')}`);
  else if (step.phase === 'reload') r.emit('reload', `running reload: ${r.plan.reload ?? ''}`);
  else if (step.phase === 'install' && changes.copy.length === 0) r.emit('install', 'fixing modes');
}

/** Records a failed step: a failed copy leaves no staging folder behind; a failed reload says so. */
async function stepFailed(r: TargetRun, step: Step, res: RemoteRun, changes: Changes, staging: string): Promise<DistributeTarget> {
  const t = r.plan.ssh;
  if (step.phase === 'copy') {
    // Leave no half-uploaded staging folder behind (best effort; it is 0700 anyway).
    await r.exec(sshArgv(t, remoteCleanupScript(t.dir, staging, changes.copy.map((f) => f.name))));
  }
  if (step.phase === 'reload') {
    // The files are in place (result.copied says which); only the reload failed.
    r.result.reload.status = 'failed';
    const reason = res.exitCode === SSH_ERROR_EXIT || res.timedOut ? r.why(res) : describeSshFailure(res, t).replace(/^remote command failed/, 'reload command failed');
    return r.fail('reload', reason);
  }
  return r.fail(step.phase, r.why(res));
}

/** Records a step that worked: after install the files are in place, so the target is updated. */
function stepDone(r: TargetRun, step: Step, changes: Changes): void {
  const { result } = r;
  if (step.phase === 'install') {
    result.copied = changes.copy.map((f) => f.name);
    result.modesFixed = changes.chmodOnly.map((f) => f.name);
    result.status = 'updated';
    if (changes.copy.length > 0) r.emit('install', `installed ${result.copied.join(', ')}`);
    if (changes.chmodOnly.length > 0) r.emit('install', `fixed modes of ${result.modesFixed.join(', ')}`);
  }
  if (step.phase === 'reload') result.reload.status = 'ran';
}

async function runSteps(r: TargetRun, changes: Changes, steps: Step[], staging: string): Promise<DistributeTarget> {
  for (const step of steps) {
    announce(r, step, changes);
    const res = await r.exec(step.argv);
    if (res.exitCode !== 0) return stepFailed(r, step, res, changes, staging);
    stepDone(r, step, changes);
  }
  r.emit('done', 'updated');
  return r.finish();
}

// ---------------------------------------------------------------------------------------------

/** Brings one target up to date (or, in a dry run, says how); every failure is in the result. */
export async function distributeTarget(plan: TargetPlan, ctx: Context): Promise<DistributeTarget> {
  const r = new TargetRun(plan, ctx);
  const probe = await probeRemote(r);
  if (probe.remote !== undefined) {
    const compared = compareWithRemote(r.result.files, probe.remote, plan.ssh.dir);
    r.result.warnings.push(...compared.warnings);
    if (compared.error !== undefined) return r.fail('check', compared.error);
  }
  const changes = changesOf(r.result.files);
  r.result.unchanged = changes.unchanged;
  const staging = stagingName(randomBytes(6).toString('hex'));
  const steps = planSteps(plan, changes, staging, ctx.scpPathMode);
  if (ctx.dryRun) return reportDryRun(r, changes, steps, probe.error);
  if (probe.error !== undefined) return r.fail('check', probe.error);
  if (steps.length === 0) return r.upToDate();
  return runSteps(r, changes, steps, staging);
}
