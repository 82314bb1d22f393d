// One target, phase by phase, in one ssh session: probe the remote files (read-only: type, mode
// and SHA-256 of each), compare them with the local ones, plan the installer that brings the target
// up to date, then either report it (dry run) or send it down the same session — the installer
// line, then the files' bytes, on the session's stdin: they land in a staging folder, are checked
// by SHA-256, get their modes and are renamed into place, then `reload` runs (with forceReload,
// also on a target whose files were all current: the line sent is then the reload alone). Every
// failure is recorded on the target, never thrown; the session is closed on every path.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import {
  describeSshFailure,
  formatArgv,
  openHeldSession,
  parseInstallReport,
  parseProbe,
  remoteInstallScript,
  remoteJoin,
  remoteProbeScript,
  sshArgv,
  SSH_ERROR_EXIT,
  stagingName,
  type Argv,
  type IncomingFile,
  type InstallReport,
  type HeldSession,
  type RemoteFile,
  type RemoteRun,
  type RemoteState,
} from '../io/remote.js';
import type { SshTarget } from '../cluster-spec/spec.js';
import { phaseText, type DistributeFile, type DistributePhase, type DistributeTarget, type TargetPlan } from './types.js';

export interface Context {
  dryRun: boolean;
  timeoutMs: number;
  /** Run the reload even when no file changed (DistributeOptions.forceReload). */
  forceReload?: boolean;
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
    verify: null,
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
// Compare

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
// Plan the install

export interface Step {
  phase: DistributePhase;
  argv: Argv;
}

const asRemote = (list: DistributeFile[]): RemoteFile[] => list.map((f) => ({ name: f.name, mode: f.mode }));

/** What the install session is told about the files it receives; sizes are the local files'. */
const asIncoming = (list: DistributeFile[], sizes: ReadonlyMap<string, number>): IncomingFile[] =>
  list.map((f) => ({ name: f.name, mode: f.mode, size: sizes.get(f.name) ?? 0, sha256: f.sha256 }));

/** How the installer shows in `commands`: the remote shell evals it, from the session's stdin. */
export const EVAL = 'eval';

/**
 * What the session does after the probe: with files to copy, the installer creates the folder,
 * stages, verifies, sets modes, renames and runs the reload; with only modes to fix or leftovers of
 * an interrupted run to remove, it does just that (and, with `forceReload`, runs the reload too).
 * Nothing when nothing differs, unless `forceReload` and the target has a reload: then the reload
 * alone (phase `reload`). The step's argv is `['eval', <installer line>]`: that line is sent on the
 * probe session's stdin, followed by the copied files' bytes in order.
 */
export function planSteps(
  plan: Pick<TargetPlan, 'ssh' | 'reload'>,
  changes: Pick<Changes, 'copy' | 'chmodOnly'> & { stale?: string[] },
  staging: string,
  sizes: ReadonlyMap<string, number>,
  options: { forceReload?: boolean } = {},
): Step[] {
  const t = plan.ssh;
  const { copy, chmodOnly } = changes;
  const stale = changes.stale ?? [];
  const reloadAlways = options.forceReload === true && plan.reload !== undefined;
  const nothing = copy.length === 0 && chmodOnly.length === 0 && stale.length === 0;
  if (nothing && !reloadAlways) return [];
  const script = remoteInstallScript(t.dir, staging, asIncoming(copy, sizes), asRemote(chmodOnly), {
    stale,
    ...(plan.reload !== undefined ? { reload: plan.reload } : {}),
    ...(reloadAlways ? { reloadAlways } : {}),
  });
  return [{ phase: copy.length > 0 ? 'copy' : nothing ? 'reload' : 'install', argv: [EVAL, script] }];
}

/**
 * The copied files' bytes, concatenated in order, read again from the folder the local checks
 * passed; a file whose SHA-256 is no longer the one checked is an error (never sent).
 */
async function readBundle(copy: DistributeFile[]): Promise<{ bytes: Buffer; error?: undefined } | { bytes?: undefined; error: string }> {
  const parts: Buffer[] = [];
  for (const f of copy) {
    const b = await fs.readFile(f.localPath);
    if (createHash('sha256').update(b).digest('hex') !== f.sha256) {
      for (const p of parts) p.fill(0);
      b.fill(0);
      return { error: `${f.localPath} changed while distribute ran; run it again` };
    }
    parts.push(b);
  }
  const bytes = Buffer.concat(parts);
  for (const p of parts) p.fill(0);
  return { bytes };
}

// ---------------------------------------------------------------------------------------------
// Dry run: report the plan

/**
 * What a dry run records: the files that would change and the commands that would run (listed
 * even when the check failed, as if every file had to be copied), then the check's failure if any.
 */
function reportDryRun(r: TargetRun, changes: Changes, stale: string[], steps: Step[], checkError: string | undefined): DistributeTarget {
  const { result } = r;
  result.copied = changes.copy.map((f) => f.name);
  result.modesFixed = changes.chmodOnly.map((f) => f.name);
  result.commands.push(...steps.map((s) => s.argv));
  if ((changes.copy.length > 0 || r.ctx.forceReload === true) && r.plan.reload !== undefined) result.reload.status = 'would-run';
  if (stale.length > 0) result.warnings.push(`would remove ${stale.join(', ')}, left by an interrupted run`);
  if (checkError !== undefined) return r.fail('check', checkError);
  if (steps.length === 0) return r.upToDate();
  if (steps.every((s) => s.phase === 'reload')) {
    // Nothing to change, only the forced reload: the files are up to date.
    r.emit('done', `up to date; would run reload: ${r.plan.reload ?? ''}`);
    for (const s of steps) r.emit('done', `would send on the session's stdin: ${formatArgv(s.argv)}`);
    return r.finish();
  }
  result.status = 'would-update';
  const parts = [
    changes.copy.length > 0 ? `would copy ${result.copied.join(', ')}` : '',
    changes.chmodOnly.length > 0 ? `would fix modes of ${result.modesFixed.join(', ')}` : '',
    stale.length > 0 && changes.copy.length === 0 && changes.chmodOnly.length === 0 ? `would remove ${stale.join(', ')}` : '',
  ];
  r.emit('done', parts.filter((p) => p !== '').join('; '));
  for (const s of steps) r.emit('done', `would send on the session's stdin: ${formatArgv(s.argv)} (then the files' bytes)`);
  return r.finish();
}

// ---------------------------------------------------------------------------------------------
// Run the install

/** The last line of a stderr worth showing, without ssh's own prefix. */
function lastStderrLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines[lines.length - 1] ?? '').replace(/^(ssh|sh|bash|dash): (\d+: )?/, '');
}

/** Records what the install session did, and why it stopped when it did not finish. */
function installed(r: TargetRun, res: RemoteRun, rep: InstallReport, changes: Changes, step: Step): DistributeTarget {
  const { result } = r;
  result.copied = rep.installed.filter((n) => changes.copy.some((f) => f.name === n));
  result.modesFixed = rep.fixed.filter((n) => changes.chmodOnly.some((f) => f.name === n));
  if (rep.removed.length > 0) result.warnings.push(`removed ${rep.removed.join(', ')}, left by an interrupted run`);
  if (rep.sizeOnly) result.warnings.push('the remote host has no sha256sum, shasum or openssl: the files were checked by size only');
  if (result.copied.length > 0 || result.modesFixed.length > 0 || rep.removed.length > 0) result.status = 'updated';
  if (result.copied.length > 0) r.emit('install', `installed ${result.copied.join(', ')}`);
  if (result.modesFixed.length > 0) r.emit('install', `fixed modes of ${result.modesFixed.join(', ')}`);
  if (!rep.done) {
    const partly = result.copied.length > 0 ? `; ${result.copied.join(', ')} had been installed` : changes.copy.length > 0 ? '; no file was replaced' : '';
    if (rep.failure !== null) {
      const detail = lastStderrLine(res.stderr);
      return r.fail(rep.failure.step, `${rep.failure.why}${detail !== '' ? `: ${detail}` : ''}${partly}`);
    }
    const why = res.exitCode === SSH_ERROR_EXIT || res.timedOut || res.exitCode === null ? r.why(res) : describeSshFailure(res, r.plan.ssh);
    return r.fail(step.phase === 'reload' ? 'reload' : rep.reached, `${why}${partly}`);
  }
  if ((changes.copy.length > 0 || r.ctx.forceReload === true) && r.plan.reload !== undefined) {
    if (rep.reloadStatus === 0) {
      result.reload.status = 'ran';
      r.emit('reload', `reload ran: ${r.plan.reload}`);
    } else {
      result.reload.status = 'failed';
      const line = lastStderrLine(res.stderr);
      const status = rep.reloadStatus === null ? 'did not run' : `exit status ${rep.reloadStatus}`;
      return r.fail('reload', `reload command failed (${status})${line !== '' ? `: ${line}` : ''}`);
    }
  }
  if (result.copied.length === 0 && result.modesFixed.length === 0 && rep.removed.length > 0) r.emit('install', `removed ${rep.removed.join(', ')}`);
  r.emit('done', result.status === 'updated' ? 'updated' : 'up to date, reloaded');
  return r.finish();
}

async function runInstall(r: TargetRun, session: HeldSession, changes: Changes, step: Step): Promise<DistributeTarget> {
  const bundle = await readBundle(changes.copy);
  if (bundle.error !== undefined) return r.fail('copy', bundle.error);
  if (changes.copy.length > 0) r.emit('copy', `copying ${changes.copy.map((f) => f.name).join(', ')}`);
  else if (changes.chmodOnly.length > 0) r.emit('install', 'fixing modes');
  else if (step.phase === 'reload') r.emit('reload', `up to date; running reload: ${r.plan.reload ?? ''}`);
  r.result.commands.push(step.argv);
  const data = Buffer.concat([Buffer.from(`${step.argv[1] ?? ''}\n`), bundle.bytes]);
  bundle.bytes.fill(0);
  try {
    const res = await session.send(data, { timeoutMs: r.ctx.timeoutMs });
    return installed(r, res, parseInstallReport(res.stdout), changes, step);
  } finally {
    data.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------

/** Brings one target up to date (or, in a dry run, says how); every failure is in the result. */
export async function distributeTarget(plan: TargetPlan, ctx: Context): Promise<DistributeTarget> {
  const r = new TargetRun(plan, ctx);
  const t = plan.ssh;
  const names = plan.files.map((f) => f.name);
  r.emit('check', `checking ${destination(t)}:${t.dir}`);
  const probeArgv = sshArgv(t, remoteProbeScript(t.dir, names), { input: true });
  r.result.commands.push(probeArgv);
  const session = openHeldSession(probeArgv, { timeoutMs: ctx.timeoutMs });
  try {
    const rep = await session.report;
    let remote: RemoteState | undefined;
    let checkError: string | undefined;
    if (rep.held) remote = parseProbe(rep.stdout, names);
    else if (rep.exitCode === 0) checkError = 'the remote shell did not run certgen\'s check (is the login shell a POSIX shell?)';
    else checkError = r.why(rep);
    if (remote !== undefined) {
      const compared = compareWithRemote(r.result.files, remote, t.dir);
      r.result.warnings.push(...compared.warnings);
      if (compared.error !== undefined) return r.fail('check', compared.error);
    }
    const changes = changesOf(r.result.files);
    r.result.unchanged = changes.unchanged;
    const stale = remote?.stale ?? [];
    const sizes = new Map<string, number>();
    for (const f of changes.copy) sizes.set(f.name, (await fs.stat(f.localPath)).size);
    const steps = planSteps(plan, { ...changes, stale }, stagingName(randomBytes(6).toString('hex')), sizes, { forceReload: ctx.forceReload === true });
    if (ctx.dryRun) return reportDryRun(r, changes, stale, steps, checkError);
    if (checkError !== undefined) return r.fail('check', checkError);
    const step = steps[0];
    if (step === undefined) return r.upToDate();
    return await runInstall(r, session, changes, step);
  } finally {
    await session.close();
  }
}
