// `certgen distribute`: ships each node's (and optionally each client's) own folder of the
// generated tree to the ssh target the spec names, safely and only where something changed.
//
// Per target: check the local folder (before anything remote happens, for every target), read
// the remote SHA-256 sums and modes in one read-only ssh call, and when something differs:
// `mkdir -p` + `chmod 0700` the remote folder (with a private staging folder inside it), one scp of
// the differing files into the staging folder, one ssh call that sets their modes and renames them
// into place, then the target's `reload` command. Targets run concurrently; one failing is
// recorded for that target and never stops the others.
import { createHash, createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { CA_CERT, NODE_CERT, NODE_KEY, clientCertName, clientKeyName, clientPkcs8Name } from './core/cert-names.js';
import { CertgenError } from './errors.js';
import { CERT_MODE, KEY_MODE, isErrno } from './io/files.js';
import { acquireLock } from './io/lock.js';
import { LOCK_FILE } from './tree/layout.js';
import {
  describeSshFailure,
  formatArgv,
  localSsh,
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
} from './io/remote.js';
import type { ClusterSpec, SshTarget } from './cluster-spec/spec.js';

/** Targets handled at once unless `concurrency` says otherwise. */
export const DEFAULT_CONCURRENCY = 4;
/** Longest any single ssh/scp command may run (ms) unless `timeoutMs` says otherwise. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 300_000;

export type TargetKind = 'node' | 'client';

/** Where a target's run is, for progress events and for saying where a failure happened. */
export type DistributePhase = 'check' | 'mkdir' | 'copy' | 'install' | 'reload' | 'done';

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
  /** Per ssh/scp command; default {@link DEFAULT_COMMAND_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Progress, one event per step of each target, in the order they happen. */
  onEvent?: (event: DistributeEvent) => void;
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
 */
export type TargetStatus = 'updated' | 'unchanged' | 'would-update' | 'failed';

/** `none`: no reload command; `skipped`: nothing changed; `would-run`: dry run with changes. */
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
  /** The exact argv of every remote command run, in order (dry run: also those that would run). */
  commands: Argv[];
  durationMs: number;
}

export interface DistributeResult {
  dryRun: boolean;
  /** False when any target failed (the CLI's exit code). */
  ok: boolean;
  targets: DistributeTarget[];
}

// ---------------------------------------------------------------------------------------------
// Selecting targets and checking the local side

interface LocalFile {
  name: string;
  path: string;
  mode: number;
  sha256: string;
}

interface TargetPlan {
  kind: TargetKind;
  name: string;
  label: string;
  ssh: SshTarget;
  reload: string | undefined;
  folder: string;
  files: LocalFile[];
}

interface Selected {
  kind: TargetKind;
  name: string;
  ssh: SshTarget;
  reload: string | undefined;
  folder: string;
  expected: string[];
}

const FORBIDDEN_OPTIONS: Record<string, string> = {
  batchmode: 'certgen always runs ssh with BatchMode=yes (no prompts)',
  port: 'set ssh.port instead',
};

function selectTargets(spec: ClusterSpec, options: DistributeOptions): Selected[] {
  const out: Selected[] = [];
  const pick = <T extends { ssh?: SshTarget }>(kind: TargetKind, all: T[], nameOf: (x: T) => string, limit: string[] | undefined): T[] => {
    const valid = all.map(nameOf);
    if (limit === undefined) return all.filter((x) => x.ssh !== undefined);
    const unknown = limit.filter((n) => !valid.includes(n));
    if (unknown.length > 0) {
      const list = valid.length === 0 ? `the spec has no ${kind}s` : `valid ${kind}s: ${valid.join(', ')}`;
      throw new CertgenError(`unknown ${kind}${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (${list})`);
    }
    const chosen = all.filter((x) => limit.includes(nameOf(x)));
    const noSsh = chosen.filter((x) => x.ssh === undefined).map(nameOf);
    if (noSsh.length > 0) {
      throw new CertgenError(`${kind}${noSsh.length > 1 ? 's' : ''} ${noSsh.join(', ')} ha${noSsh.length > 1 ? 've' : 's'} no ssh target`, {
        hint: `add an "ssh:" block (host, dir) to the ${kind} in ${spec.file}`,
      });
    }
    return chosen;
  };
  for (const n of pick('node', spec.nodes, (x) => x.name, options.nodes)) {
    out.push({
      kind: 'node',
      name: n.name,
      ssh: n.ssh as SshTarget,
      reload: n.reload,
      folder: path.join(spec.certsDir, 'nodes', n.name),
      expected: [CA_CERT, NODE_CERT, NODE_KEY],
    });
  }
  if (options.includeClients === true || options.clients !== undefined) {
    for (const c of pick('client', spec.clients, (x) => x.user, options.clients)) {
      out.push({
        kind: 'client',
        name: c.user,
        ssh: c.ssh as SshTarget,
        reload: c.reload,
        folder: path.join(spec.certsDir, 'clients', c.user),
        expected: [CA_CERT, clientCertName(c.user), clientKeyName(c.user), ...(c.pkcs8 ? [clientPkcs8Name(c.user)] : [])],
      });
    }
  }
  return out;
}

function checkSshTarget(label: string, t: SshTarget): void {
  const bad = (what: string): never => {
    throw new CertgenError(`${label}: ${what}`);
  };
  if (t.host === '' || t.host.startsWith('-') || /[\s@]/.test(t.host)) bad(`${JSON.stringify(t.host)} is not a valid ssh host`);
  if (t.user !== undefined && (t.user.startsWith('-') || /[\s@:]/.test(t.user))) bad(`${JSON.stringify(t.user)} is not a valid ssh user`);
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) bad(`ssh port ${t.port} is out of range`);
  // eslint-disable-next-line no-control-regex
  if (t.dir === '' || /[\x00-\x1f\x7f]/.test(t.dir)) bad(`${JSON.stringify(t.dir)} is not a usable remote folder`);
  for (const o of t.options) {
    const m = /^([A-Za-z][A-Za-z0-9]*)(\s*=\s*|\s+)\S/.exec(o);
    if (m === null) bad(`${JSON.stringify(o)} is not an ssh option (write Name=value)`);
    const why = FORBIDDEN_OPTIONS[(m?.[1] ?? '').toLowerCase()];
    if (why !== undefined) bad(`ssh option ${JSON.stringify(o)} is not allowed: ${why}`);
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  // `..ca.key` is a name inside the folder, not a way out of it.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

interface CaKeyFacts {
  path: string;
  real: string;
  stat: Stats | undefined;
  bytes: Buffer | undefined;
}

async function caKeyFacts(caKey: string): Promise<CaKeyFacts> {
  const abs = path.resolve(caKey);
  let real = abs;
  let stat: Stats | undefined;
  let bytes: Buffer | undefined;
  try {
    real = await fs.realpath(abs);
    stat = await fs.stat(real);
    bytes = await fs.readFile(real);
  } catch {
    // The CA key may well be offline; the path checks below still apply.
    try {
      real = path.join(await fs.realpath(path.dirname(abs)), path.basename(abs));
    } catch {
      /* keep the lexical path */
    }
  }
  return { path: abs, real, stat, bytes };
}

/** Public keys (SPKI DER, base64) of every certificate in a PEM file. */
async function certPublicKeys(file: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let text: string;
  try {
    text = await fs.readFile(file, 'latin1');
  } catch {
    return keys;
  }
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
    try {
      keys.add(new X509Certificate(m[0]).publicKey.export({ type: 'spki', format: 'der' }).toString('base64'));
    } catch {
      /* not a certificate we can read: other checks decide */
    }
  }
  return keys;
}

function privateKeyPublicDer(bytes: Buffer): string | undefined {
  for (const attempt of [{ key: bytes }, { key: bytes, format: 'der' as const, type: 'pkcs8' as const }]) {
    try {
      return createPublicKey(createPrivateKey(attempt)).export({ type: 'spki', format: 'der' }).toString('base64');
    } catch {
      /* try the next encoding */
    }
  }
  return undefined;
}

/**
 * Everything under the target's own folder, checked: the folder is really
 * `<certsDir>/<nodes|clients>/<name>` (no symlinked detours), no entry anywhere in it is or points
 * at the CA key or points outside it, the files to send are regular files, none holds the CA's
 * private key. Returns the files to send with their sums.
 */
async function inspectLocal(sel: Selected, certsDir: string, ca: CaKeyFacts, caCertKeys: Set<string>): Promise<LocalFile[]> {
  const label = `${sel.kind} ${sel.name}`;
  const refuse = (why: string): never => {
    throw new CertgenError(`refusing to distribute ${label}: ${why}`, {
      hint: 'distribute only ever sends a target\'s own folder; the CA key must stay off every node',
    });
  };
  let folderReal: string;
  try {
    folderReal = await fs.realpath(sel.folder);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new CertgenError(`${label}: ${sel.folder} does not exist`, { hint: 'run `certgen apply` first' });
    }
    throw new CertgenError(`${label}: cannot read ${sel.folder}: ${(err as Error).message}`);
  }
  let certsReal = path.resolve(certsDir);
  try {
    certsReal = await fs.realpath(certsDir);
  } catch {
    /* folderReal existing means certsDir exists; keep the lexical path otherwise */
  }
  const expectedReal = path.join(certsReal, sel.kind === 'node' ? 'nodes' : 'clients', sel.name);
  if (folderReal !== expectedReal) refuse(`${sel.folder} resolves to ${folderReal}, outside ${expectedReal}`);
  if (isInside(ca.real, folderReal) || isInside(ca.path, sel.folder)) refuse(`the CA key ${ca.path} is inside ${sel.folder}`);
  if (!(await fs.stat(folderReal)).isDirectory()) refuse(`${sel.folder} is not a directory`);

  // Walk the whole folder: nothing in it may lead to the CA key or out of the folder.
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      const shown = path.join(sel.folder, path.relative(folderReal, p));
      const st = await fs.lstat(p);
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = await fs.realpath(p);
        } catch {
          target = path.resolve(path.dirname(p), await fs.readlink(p));
        }
        if (target === ca.real || target === ca.path) refuse(`${shown} is a symbolic link to the CA key`);
        if (!isInside(target, folderReal)) refuse(`${shown} is a symbolic link to ${target}, outside ${sel.folder}`);
      } else if (st.isDirectory()) {
        await walk(p);
      } else if (st.isFile()) {
        if (ca.stat !== undefined && st.dev === ca.stat.dev && st.ino === ca.stat.ino) refuse(`${shown} is the CA key (a hard link to ${ca.path})`);
        if (ca.bytes !== undefined && st.size === ca.bytes.length && (await fs.readFile(p)).equals(ca.bytes)) refuse(`${shown} is a copy of the CA key`);
      }
    }
  };
  await walk(folderReal);

  const files: LocalFile[] = [];
  for (const name of sel.expected) {
    const p = path.join(sel.folder, name);
    let st: Stats;
    try {
      st = await fs.lstat(p);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new CertgenError(`${label}: ${p} is missing`, { hint: 'run `certgen apply` first' });
      throw new CertgenError(`${label}: cannot read ${p}: ${(err as Error).message}`);
    }
    if (!st.isFile()) refuse(`${p} is not a regular file`);
    const bytes = await fs.readFile(p);
    const isKey = name.endsWith('.key') || name.endsWith('.key.pk8');
    if (isKey) {
      const pub = privateKeyPublicDer(bytes);
      if (pub !== undefined && caCertKeys.has(pub)) refuse(`${p} holds the CA's private key`);
    }
    files.push({ name, path: p, mode: isKey ? KEY_MODE : CERT_MODE, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return files;
}

function destinationKey(t: SshTarget): string {
  const dir = path.posix.normalize(t.dir).replace(/(.)\/$/, '$1');
  return `${dir.startsWith('/') ? '' : (t.user ?? '')}@${t.host.toLowerCase()}:${t.port}:${dir}`;
}

/**
 * Selects the targets and checks every one of them locally; throws a CertgenError before anything
 * remote happens when any check fails.
 */
async function planTargets(spec: ClusterSpec, options: DistributeOptions): Promise<TargetPlan[]> {
  const selected = selectTargets(spec, options);
  if (selected.length === 0) {
    throw new CertgenError(`nothing to distribute: no ${options.includeClients ? 'node or client' : 'node'} in ${spec.file} has an ssh target`, {
      hint: 'add an "ssh:" block (host, dir) to each node that should receive its certificates',
    });
  }
  const seen = new Map<string, string>();
  for (const s of selected) {
    const label = `${s.kind} ${s.name}`;
    checkSshTarget(label, s.ssh);
    const key = destinationKey(s.ssh);
    const other = seen.get(key);
    if (other !== undefined) throw new CertgenError(`${label} and ${other} have the same ssh destination ${s.ssh.host}:${s.ssh.port}:${s.ssh.dir}; their files would overwrite each other`);
    seen.set(key, label);
  }
  const ca = await caKeyFacts(spec.caKey);
  const caCertKeys = await certPublicKeys(path.join(spec.certsDir, CA_CERT));
  const plans: TargetPlan[] = [];
  for (const s of selected) {
    for (const k of await certPublicKeys(path.join(s.folder, CA_CERT))) caCertKeys.add(k);
  }
  for (const s of selected) {
    const files = await inspectLocal(s, spec.certsDir, ca, caCertKeys);
    plans.push({ kind: s.kind, name: s.name, label: `${s.kind} ${s.name}`, ssh: s.ssh, reload: s.reload, folder: s.folder, files });
  }
  return plans;
}

// ---------------------------------------------------------------------------------------------
// One target

interface Context {
  dryRun: boolean;
  timeoutMs: number;
  scpPathMode: ScpPathMode;
  emit: (plan: TargetPlan, phase: DistributePhase, message: string, failed?: boolean) => void;
}

const PHASE_TEXT: Record<DistributePhase, string> = {
  check: 'checking remote files',
  mkdir: 'creating the remote folder',
  copy: 'copying',
  install: 'installing',
  reload: 'running reload',
  done: 'done',
};

/** `phase` in words, for messages: `checking remote files`. */
export function phaseText(phase: DistributePhase): string {
  return PHASE_TEXT[phase];
}

function destination(t: SshTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.user !== undefined ? `${t.user}@` : ''}${host}:${t.port}`;
}

async function distributeTarget(plan: TargetPlan, ctx: Context): Promise<DistributeTarget> {
  const started = Date.now();
  const t = plan.ssh;
  const result: DistributeTarget = {
    kind: plan.kind,
    name: plan.name,
    label: plan.label,
    host: t.host,
    port: t.port,
    user: t.user ?? null,
    dir: t.dir,
    status: 'unchanged',
    files: plan.files.map((f) => ({
      name: f.name,
      localPath: f.path,
      remotePath: remoteJoin(t.dir, f.name),
      mode: f.mode,
      sha256: f.sha256,
      remoteSha256: null,
      remoteMode: null,
      action: 'copy',
    })),
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
  const finish = (): DistributeTarget => {
    result.durationMs = Date.now() - started;
    return result;
  };
  const fail = (phase: DistributePhase, error: string): DistributeTarget => {
    result.status = 'failed';
    result.phase = phase;
    result.error = error;
    ctx.emit(plan, phase, `failed while ${PHASE_TEXT[phase]}: ${error}`, true);
    return finish();
  };
  const exec = async (argv: Argv): Promise<RemoteRun> => {
    result.commands.push(argv);
    return run(argv, { timeoutMs: ctx.timeoutMs });
  };
  const why = (r: RemoteRun): string => (r.timedOut ? `timed out after ${Math.round(ctx.timeoutMs / 1000)}s` : describeSshFailure(r, t));

  // 1. What is there now (read-only; also in a dry run).
  const names = plan.files.map((f) => f.name);
  ctx.emit(plan, 'check', `checking ${destination(t)}:${t.dir}`);
  const check = await exec(sshArgv(t, remoteCheckScript(t.dir, names)));
  let remote: RemoteState | undefined;
  let checkError: string | undefined;
  if (check.exitCode === 0) remote = parseRemoteCheck(check.stdout, names);
  else checkError = why(check);
  if (remote !== undefined && !remote.sumsAvailable) {
    result.warnings.push('the remote host has no sha256sum, shasum or openssl: every file is copied');
  }

  if (remote !== undefined) {
    for (const [i, f] of result.files.entries()) {
      const e = remote.entries[i];
      if (e === undefined) continue;
      f.remoteSha256 = e.sha256;
      f.remoteMode = e.mode;
      if (e.type === 'dir' || e.type === 'link' || e.type === 'other') {
        const what = e.type === 'dir' ? 'a directory' : e.type === 'link' ? 'a symbolic link' : 'not a regular file';
        return fail('check', `remote ${f.remotePath} is ${what}; remove it and run again`);
      }
      if (e.type === 'missing' || e.sha256 === null || e.sha256 !== f.sha256) f.action = 'copy';
      else if (e.mode !== f.mode) f.action = 'chmod';
      else f.action = 'none';
    }
    if (remote.dirExists && remote.dirMode !== null && (remote.dirMode & 0o007) !== 0) {
      result.warnings.push(`remote folder ${t.dir} is open to other users (mode ${remote.dirMode.toString(8).padStart(4, '0')}); certgen leaves existing folder modes alone`);
    }
  }
  const copy = result.files.filter((f) => f.action === 'copy');
  const chmodOnly = result.files.filter((f) => f.action === 'chmod');
  result.unchanged = result.files.filter((f) => f.action === 'none').map((f) => f.name);
  const asRemote = (list: typeof copy): RemoteFile[] => list.map((f) => ({ name: f.name, mode: f.mode }));

  // 2. The commands that bring the target up to date.
  const staging = stagingName(randomBytes(6).toString('hex'));
  const steps: { phase: DistributePhase; argv: Argv }[] = [];
  if (copy.length > 0) {
    steps.push({ phase: 'mkdir', argv: sshArgv(t, remoteMkdirScript(t.dir, staging)) });
    steps.push({ phase: 'copy', argv: scpArgv(t, copy.map((f) => f.localPath), remoteJoin(t.dir, staging), ctx.scpPathMode) });
    steps.push({ phase: 'install', argv: sshArgv(t, remoteInstallScript(t.dir, staging, asRemote(copy), asRemote(chmodOnly))) });
    if (plan.reload !== undefined) steps.push({ phase: 'reload', argv: sshArgv(t, plan.reload) });
  } else if (chmodOnly.length > 0) {
    steps.push({ phase: 'install', argv: sshArgv(t, remoteFixModesScript(t.dir, asRemote(chmodOnly))) });
  }

  if (ctx.dryRun) {
    result.copied = copy.map((f) => f.name);
    result.modesFixed = chmodOnly.map((f) => f.name);
    result.commands.push(...steps.map((s) => s.argv));
    if (copy.length > 0 && plan.reload !== undefined) result.reload.status = 'would-run';
    if (checkError !== undefined) return fail('check', checkError);
    if (steps.length === 0) {
      ctx.emit(plan, 'done', 'up to date');
      return finish();
    }
    result.status = 'would-update';
    const parts = [copy.length > 0 ? `would copy ${result.copied.join(', ')}` : '', chmodOnly.length > 0 ? `would fix modes of ${result.modesFixed.join(', ')}` : ''];
    ctx.emit(plan, 'done', parts.filter((p) => p !== '').join('; '));
    for (const s of steps) ctx.emit(plan, 'done', `would run: ${formatArgv(s.argv)}`);
    return finish();
  }

  if (checkError !== undefined) return fail('check', checkError);
  if (steps.length === 0) {
    ctx.emit(plan, 'done', 'up to date');
    return finish();
  }

  // 3. Run them, stopping at the first failure.
  for (const step of steps) {
    if (step.phase === 'copy') ctx.emit(plan, 'copy', `copying ${copy.map((f) => f.name).join(', ')}`);
    else if (step.phase === 'reload') ctx.emit(plan, 'reload', `running reload: ${plan.reload ?? ''}`);
    else if (step.phase === 'install' && copy.length === 0) ctx.emit(plan, 'install', 'fixing modes');
    const r = await exec(step.argv);
    if (r.exitCode !== 0) {
      if (step.phase === 'copy') {
        // Leave no half-uploaded staging folder behind (best effort; it is 0700 anyway).
        await exec(sshArgv(t, remoteCleanupScript(t.dir, staging, copy.map((f) => f.name))));
      }
      if (step.phase === 'reload') {
        // The files are in place (result.copied says which); only the reload failed.
        result.reload.status = 'failed';
        const reason = r.exitCode === SSH_ERROR_EXIT || r.timedOut ? why(r) : describeSshFailure(r, t).replace(/^remote command failed/, 'reload command failed');
        return fail('reload', reason);
      }
      return fail(step.phase, why(r));
    }
    if (step.phase === 'install') {
      result.copied = copy.map((f) => f.name);
      result.modesFixed = chmodOnly.map((f) => f.name);
      result.status = 'updated';
      if (copy.length > 0) ctx.emit(plan, 'install', `installed ${result.copied.join(', ')}`);
      if (chmodOnly.length > 0) ctx.emit(plan, 'install', `fixed modes of ${result.modesFixed.join(', ')}`);
    }
    if (step.phase === 'reload') result.reload.status = 'ran';
  }
  ctx.emit(plan, 'done', 'updated');
  return finish();
}

// ---------------------------------------------------------------------------------------------
// The entry point

/**
 * Sends each selected target its own folder of the generated tree over ssh/scp and reports, per
 * target, what was copied. Throws CertgenError (before touching any host) for a spec or tree it
 * refuses; every per-host failure is recorded in the result instead, whose `ok` is false then.
 */
export async function distribute(spec: ClusterSpec, options: DistributeOptions = {}): Promise<DistributeResult> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new CertgenError(`concurrency must be a whole number of at least 1, not ${concurrency}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new CertgenError(`timeout must be positive, not ${timeoutMs}`);
  const dryRun = options.dryRun ?? false;
  // The apply lock is held while files are read and sent, so a concurrent apply can never make a
  // node receive a new certificate beside its old key. A dry run sends nothing and needs no lock.
  const certsDirExists = await fs.stat(spec.certsDir).then((st) => st.isDirectory(), () => false);
  // (Without a certs dir there is nothing to lock; the targets' checks then say to run apply.)
  const lock = dryRun || !certsDirExists ? undefined : await acquireLock(spec.certsDir, LOCK_FILE);
  try {
    return await distributeLocked(spec, options, concurrency, timeoutMs, dryRun);
  } finally {
    await lock?.release();
  }
}

async function distributeLocked(spec: ClusterSpec, options: DistributeOptions, concurrency: number, timeoutMs: number, dryRun: boolean): Promise<DistributeResult> {
  const plans = await planTargets(spec, options);
  const ssh = await localSsh();
  if (ssh === undefined) throw new CertgenError('cannot run ssh: is an OpenSSH client installed and on PATH?');

  const ctx: Context = {
    dryRun,
    timeoutMs,
    scpPathMode: ssh.scpPathMode,
    emit: (plan, phase, message, failed = false) => {
      options.onEvent?.({ target: plan.label, kind: plan.kind, name: plan.name, phase, failed, message });
    },
  };
  const targets: DistributeTarget[] = new Array(plans.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const i = next++;
      const plan = plans[i] as TargetPlan;
      try {
        targets[i] = await distributeTarget(plan, ctx);
      } catch (err) {
        // A bug or a local failure (spawning ssh, say) stays with its target too.
        const message = err instanceof Error ? err.message : String(err);
        ctx.emit(plan, 'done', `failed: ${message}`, true);
        targets[i] = {
          kind: plan.kind,
          name: plan.name,
          label: plan.label,
          host: plan.ssh.host,
          port: plan.ssh.port,
          user: plan.ssh.user ?? null,
          dir: plan.ssh.dir,
          status: 'failed',
          files: [],
          copied: [],
          unchanged: [],
          modesFixed: [],
          reload: { command: plan.reload ?? null, status: plan.reload === undefined ? 'none' : 'skipped' },
          error: message,
          phase: null,
          warnings: [],
          commands: [],
          durationMs: 0,
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker));
  return { dryRun, ok: targets.every((t) => t.status !== 'failed'), targets };
}
