// The ssh edge of `certgen distribute`. Every command is an argv array handed to the OS as it is
// (no local shell in between); the strings that a remote shell parses (ssh joins its trailing
// arguments into a command line, and the installer line sent on stdin) are assembled here from
// shellQuote()d words only. The argv and script builders are pure so `--dry-run` can print exactly
// what would run and tests can check it; run() and openHeldSession() are the only functions that
// start a process.
//
// One ssh session per target, and nothing needed on the remote side but a POSIX shell and
// coreutils (no SFTP, no scp): the session's command is remoteProbeScript, which reports every
// file's type, mode and SHA-256 and then waits on its stdin. Nothing more to do: we close stdin
// and the session ends. Something to change: we send one line, remoteInstallScript, which the
// remote shell evals; it reads the new files' bytes from the rest of stdin (never argv) into a
// private staging folder, checks each one's SHA-256, sets its mode and only then renames it into
// place.
import { spawn, type ChildProcess } from 'node:child_process';
import { childEnv } from './child-env.js';
import type { SshTarget } from '../cluster-spec/spec.js';

/** Seconds ssh waits for the TCP connection (`-o ConnectTimeout`). */
export const CONNECT_TIMEOUT_S = 10;

/** One command line: `argv[0]` is the program (`ssh`). */
export type Argv = string[];

// ---------------------------------------------------------------------------------------------
// Quoting

const SHELL_SAFE = /^[A-Za-z0-9_\/.,:=@%+-]+$/;

/**
 * Quotes one word for a POSIX shell (sh, dash, bash, zsh, ksh): returned unchanged when it
 * contains only characters no shell treats specially, otherwise wrapped in single quotes with each
 * `'` written as `'\''`. Inside single quotes nothing is special, so `$`, backticks, `\`, spaces,
 * globs, newlines and non-ASCII text all come out literally.
 */
export function shellQuote(word: string): string {
  if (word.includes('\0')) throw new RangeError('a shell word cannot contain a NUL byte');
  if (word === '') return "''";
  if (SHELL_SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Like shellQuote, but the result never holds a newline (each one is written as `"$certgen_nl"`,
 * a variable remoteInstallScript sets to a newline), so it fits on the installer's one line.
 */
export function shellQuoteOneLine(word: string): string {
  if (!word.includes('\n')) return shellQuote(word);
  return word.split('\n').map((part) => (part === '' ? '' : shellQuote(part))).join('"$certgen_nl"') || "''";
}

/** Quotes each word and joins them with spaces: a command line for a POSIX shell. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/**
 * A remote path as a shell word: like shellQuote, except that a leading `~` or `~user` stays
 * unquoted so the remote shell still expands it (`~/certs dir` → `~/'certs dir'`).
 */
export function remoteShellPath(p: string): string {
  const m = /^(~[A-Za-z0-9._-]*)(\/.*)?$/s.exec(p);
  if (m === null) return shellQuote(p);
  const tilde = m[1] ?? '~';
  const rest = m[2];
  if (rest === undefined) return tilde;
  if (rest === '/') return `${tilde}/`;
  return `${tilde}/${shellQuote(rest.slice(1))}`;
}

/** `dir/name` for a remote POSIX path; `dir` keeps its spelling apart from trailing slashes. */
export function remoteJoin(dir: string, name: string): string {
  const d = dir.replace(/\/+$/, '');
  return d === '' ? `/${name}` : `${d}/${name}`;
}

/**
 * A value for `ssh -o Name=value`. ssh splits some option values (UserKnownHostsFile, for one)
 * on whitespace and expands `%` tokens, so paths are wrapped in double quotes when needed and `%`
 * is doubled.
 */
export function sshConfigPath(p: string): string {
  const escaped = p.replace(/%/g, '%%');
  if (!/[\s"'\\#]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Renders an argv for display: one line a POSIX shell would run as the same argv. */
export function formatArgv(argv: readonly string[]): string {
  return shellJoin(argv);
}

// ---------------------------------------------------------------------------------------------
// Argv builders

/**
 * The options every ssh call shares. ssh keeps the first value it sees for an option, so the
 * order is deliberate: BatchMode (no prompt may ever appear), then the spec's explicit fields,
 * then the spec's extra `options` (which may relax StrictHostKeyChecking, say), then certgen's
 * defaults. ControlPath=none: a ControlMaster in the user's ssh config must not route certgen's
 * session through (or leave behind) a shared connection of its own.
 */
export function sshCommonOptions(t: SshTarget): string[] {
  const args = ['-o', 'BatchMode=yes', '-o', 'ControlPath=none'];
  if (t.user !== undefined && t.user !== '') args.push('-o', `User=${t.user}`);
  if (t.identityFile !== undefined) args.push('-i', t.identityFile.replace(/%/g, '%%'), '-o', 'IdentitiesOnly=yes');
  if (t.knownHosts !== undefined) args.push('-o', `UserKnownHostsFile=${sshConfigPath(t.knownHosts)}`);
  for (const o of t.options) args.push('-o', o);
  args.push('-o', 'StrictHostKeyChecking=yes', '-o', `ConnectTimeout=${CONNECT_TIMEOUT_S}`);
  return args;
}

/**
 * `ssh` running one remote command line; `--` ends the options so no host name can be read as
 * one. Without `input`, `-n` keeps ssh off our stdin.
 */
export function sshArgv(t: SshTarget, remoteCommand: string, opts: { input?: boolean } = {}): Argv {
  return ['ssh', ...(opts.input ? [] : ['-n']), '-p', String(t.port), ...sshCommonOptions(t), '--', t.host, remoteCommand];
}

// ---------------------------------------------------------------------------------------------
// Running

export interface RemoteRun {
  argv: Argv;
  /** null when the process was killed (see `timedOut`). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  /** Kill the command after this long (ms). Default: no limit. */
  timeoutMs?: number;
  /** Bytes for the command's stdin (closed after them); without it stdin is /dev/null. */
  input?: Buffer;
}

/** Every process started here that has not exited yet (see killRemoteProcesses). */
const live = new Set<ChildProcess>();

/** How many processes started by run()/openHeldSession() are still running. */
export function liveRemoteProcesses(): number {
  return live.size;
}

/**
 * Sends `signal` to every process run()/openHeldSession() started that is still running, at once
 * and synchronously (for a SIGINT/SIGTERM handler). Returns how many were signalled.
 */
export function killRemoteProcesses(signal: NodeJS.Signals = 'SIGTERM'): number {
  let n = 0;
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.kill(signal)) n++;
  }
  return n;
}

/** SIGTERM, then SIGKILL if the process is still there a moment later. */
function terminate(child: ChildProcess): void {
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 2_000);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}

interface Spawned {
  child: ChildProcess;
  started: number;
  out: Buffer[];
  err: Buffer[];
  exited: Promise<{ code: number | null }>;
}

function start(argv: readonly string[], stdin: 'pipe' | 'ignore'): Spawned {
  const [program, ...args] = argv;
  if (program === undefined) throw new RangeError('empty argv');
  const started = Date.now();
  const child = spawn(program, args, { stdio: [stdin, 'pipe', 'pipe'], env: childEnv() });
  live.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  // A remote side that stops reading (it failed, the connection dropped) is reported by its exit.
  child.stdin?.on('error', () => {});
  const exited = new Promise<{ code: number | null }>((resolve) => {
    child.once('error', (e) => {
      err.push(Buffer.from(`${program}: ${e.message}\n`));
      live.delete(child);
      resolve({ code: 127 });
    });
    child.once('close', (code) => {
      live.delete(child);
      resolve({ code });
    });
  });
  return { child, started, out, err, exited };
}

function result(argv: readonly string[], s: Spawned, code: number | null, timedOut: boolean): RemoteRun {
  return {
    argv: [...argv],
    exitCode: timedOut ? null : code,
    stdout: Buffer.concat(s.out).toString('utf8'),
    stderr: Buffer.concat(s.err).toString('utf8'),
    timedOut,
    durationMs: Date.now() - s.started,
  };
}

/** Runs one argv (no shell), never throwing on a non-zero exit. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RemoteRun> {
  const s = start(argv, opts.input === undefined ? 'ignore' : 'pipe');
  if (opts.input !== undefined) s.child.stdin?.end(opts.input);
  let timedOut = false;
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), terminate(s.child)), opts.timeoutMs);
  const { code } = await s.exited;
  if (timer !== undefined) clearTimeout(timer);
  return result(argv, s, code, timedOut);
}

/** The line the probe prints when its report is complete (then it waits on its stdin). */
export const HELD_MARKER = 'certgen:end';

/**
 * One session whose remote side prints a report, then {@link HELD_MARKER}, then waits on its
 * stdin for either the end of it (close: the session ends) or more to do (send: one line the
 * remote shell evals, and the bytes that line reads). If this process dies, the pipe closes and
 * the remote side ends by itself.
 */
export interface HeldSession {
  /** Resolves once the marker arrived (`held`, stdout is the report) or the process ended without it. */
  report: Promise<RemoteRun & { held: boolean }>;
  /**
   * Writes `data` on the session's stdin, closes it and waits for ssh to exit; stdout is what
   * came after the marker. `timeoutMs` counts from now.
   */
  send(data: Buffer, opts?: { timeoutMs?: number }): Promise<RemoteRun>;
  /** Closes stdin (if send did not) and waits for ssh to exit, killing it after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export function openHeldSession(argv: readonly string[], opts: { timeoutMs?: number } = {}): HeldSession {
  const s = start(argv, 'pipe');
  let timedOut = false;
  let reportEnd = 0;
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), terminate(s.child)), opts.timeoutMs);
  const report = new Promise<RemoteRun & { held: boolean }>((resolve) => {
    let done = false;
    const onData = (): void => {
      if (done) return;
      const text = Buffer.concat(s.out).toString('latin1');
      const at = text.startsWith(`${HELD_MARKER}\n`) ? 0 : text.indexOf(`\n${HELD_MARKER}\n`);
      if (at < 0) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      s.child.stdout?.off('data', onData);
      const cut = at === 0 ? 0 : at + 1;
      reportEnd = cut + HELD_MARKER.length + 1;
      const bytes = Buffer.concat(s.out);
      resolve({ ...result(argv, s, 0, false), stdout: bytes.subarray(0, cut).toString('utf8'), held: true });
    };
    s.child.stdout?.on('data', onData);
    void s.exited.then(({ code }) => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      resolve({ ...result(argv, s, code, timedOut), held: false });
    });
  });
  return {
    report,
    async send(data, sendOpts = {}) {
      let sendTimedOut = false;
      const t = sendOpts.timeoutMs === undefined ? undefined : setTimeout(() => ((sendTimedOut = true), terminate(s.child)), sendOpts.timeoutMs);
      s.child.stdin?.end(data);
      const { code } = await s.exited;
      if (t !== undefined) clearTimeout(t);
      const r = result(argv, s, code, sendTimedOut);
      return { ...r, stdout: Buffer.concat(s.out).subarray(reportEnd).toString('utf8') };
    },
    async close(graceMs = 10_000) {
      if (s.child.stdin?.writableEnded === false) s.child.stdin.end();
      const t = setTimeout(() => terminate(s.child), graceMs);
      await s.exited;
      clearTimeout(t);
    },
  };
}

export interface LocalSsh {
  /** `OpenSSH_9.2p1 …` as `ssh -V` printed it. */
  version: string;
}

/** Asks the local `ssh` for its version; undefined when there is no usable ssh client. */
export async function localSsh(): Promise<LocalSsh | undefined> {
  const r = await run(['ssh', '-V'], { timeoutMs: 10_000 });
  const text = `${r.stderr}${r.stdout}`.trim();
  if (r.exitCode !== 0 || text === '') return undefined;
  return { version: text.split('\n')[0] ?? text };
}

// ---------------------------------------------------------------------------------------------
// Failure text

/** Exit status ssh (and scp, for ssh's failures) reports for its own errors. */
export const SSH_ERROR_EXIT = 255;

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^[@*]+$/.test(l));
  return lines[lines.length - 1] ?? '';
}

/**
 * One line saying why ssh or scp could not do its job, from its stderr: the connection and
 * authentication failures an operator meets, in plain words, else ssh's own last line.
 */
export function describeSshFailure(r: Pick<RemoteRun, 'exitCode' | 'stderr' | 'timedOut'>, t: Pick<SshTarget, 'host' | 'port'>): string {
  const err = r.stderr;
  if (r.timedOut) return 'timed out';
  let m: RegExpExecArray | null;
  if ((m = /connect to host (\S+) port (\d+): (.+)/i.exec(err)) !== null) {
    const where = `${m[1]}:${m[2]}`;
    const why = (m[3] ?? '').trim().replace(/\.$/, '');
    if (/refused/i.test(why)) return `connection refused on ${where}`;
    if (/timed out/i.test(why)) return `connection timed out on ${where}`;
    return `cannot connect to ${where}: ${why.toLowerCase()}`;
  }
  if ((m = /Could not resolve hostname ([^:\s]+)/i.exec(err)) !== null) return `could not resolve hostname ${m[1]}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(err)) {
    // ssh names the known_hosts line that holds the old key; the fix is the operator's to make,
    // after checking the new key out of band (a reinstalled host, or someone in the middle).
    const offending = /Offending \S+ key in (.+):(\d+)/.exec(err);
    const where = offending === null ? 'known_hosts' : `${offending[1]}:${offending[2]}`;
    const file = offending === null ? '' : ` -f ${shellQuote(offending[1] ?? '')}`;
    const name = t.port === 22 ? t.host : `[${t.host}]:${t.port}`;
    return (
      `host key verification failed: the key of ${hostPort(t)} differs from the one in ${where}, so nothing was sent; ` +
      `if the host was reinstalled, check its new key's fingerprint out of band, remove the old one (ssh-keygen${file} -R ${shellQuote(name)}), add the new one and run again`
    );
  }
  if ((m = /No (\S+) host key is known for (\S+)/i.exec(err)) !== null) {
    return `host key verification failed: no ${m[1]} host key is known for ${m[2]}`;
  }
  if (/Host key verification failed/i.test(err)) return 'host key verification failed';
  if ((m = /Permission denied \(([^)]*)\)/i.exec(err)) !== null) return `permission denied (${m[1]})`;
  if ((m = /Load key "([^"]*)": (.+)/i.exec(err)) !== null) return `cannot load identity file ${m[1]}: ${(m[2] ?? '').trim()}`;
  if (/Too many authentication failures/i.test(err)) return 'too many authentication failures';
  if (/kex_exchange_identification|Connection (closed|reset) by/i.test(err)) {
    return `connection closed by ${hostPort(t)} before authentication (${lastLine(err).replace(/^ssh: /, '')})`;
  }
  const line = lastLine(err).replace(/^(ssh|scp): /, '');
  if (r.exitCode === SSH_ERROR_EXIT) return line === '' ? `ssh failed to reach ${hostPort(t)}` : line;
  const status = r.exitCode === null ? 'killed' : `exit status ${r.exitCode}`;
  return line === '' ? `remote command failed (${status})` : `remote command failed (${status}): ${line}`;
}

function hostPort(t: Pick<SshTarget, 'host' | 'port'>): string {
  return `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

// ---------------------------------------------------------------------------------------------
// Remote command lines (POSIX sh), each on one line so `--dry-run` prints one line per command.
// Every path and name in them goes through shellQuote or remoteShellPath; the scripts `cd` into the
// target folder first and then use plain file names.

/** A file to place in the remote folder. */
export interface RemoteFile {
  /** Base name in the remote folder (`node.key`). */
  name: string;
  /** Final permission bits (0o600 for keys, 0o644 for certificates). */
  mode: number;
}

/** A file the installer receives on its stdin: its bytes' length and SHA-256 (lower-case hex). */
export interface IncomingFile extends RemoteFile {
  size: number;
  sha256: string;
}

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

/** What a staging folder is called: `.certgen-<token>`; leftovers of killed runs match it too. */
export const STAGING_PATTERN = /^\.certgen-[A-Za-z0-9]+$/;

/** The staging folder's name inside the target folder for one run. */
export function stagingName(token: string): string {
  if (!/^[A-Za-z0-9]+$/.test(token)) throw new RangeError(`bad staging token ${JSON.stringify(token)}`);
  return `.certgen-${token}`;
}

/**
 * The session's command: a read-only look at the remote folder (its mode, each file's type and
 * mode from `ls -ld`, their SHA-256 sums from sha256sum, else shasum, else openssl, and the staging
 * folders a killed run left), then {@link HELD_MARKER}; then it waits on its stdin and evals the
 * one line it reads there (remoteInstallScript), or ends when stdin closes without one. A cut-off
 * line (no newline) is never run. Missing files and a missing folder are reported, not errors; the
 * look always ends with status 0, so a non-zero exit before the marker is ssh's own failure.
 * `hold: false` gives the look alone (a one-shot command).
 */
export function remoteProbeScript(dir: string, names: readonly string[], opts: { hold?: boolean } = {}): string {
  const files = names.map(shellQuote).join(' ');
  const look = [
    `printf 'D %s\\n' "$(LC_ALL=C ls -ld . 2>/dev/null)"`,
    ...names.map((n, i) => `printf 'F${i} %s\\n' "$(LC_ALL=C ls -ld -- ${shellQuote(n)} 2>/dev/null)"`),
    `for e in .certgen-*; do if [ -e "$e" ] || [ -L "$e" ]; then printf 'S %s\\n' "$e"; fi; done`,
    `if command -v sha256sum >/dev/null 2>&1; then sha256sum -- ${files} 2>/dev/null` +
      `; elif command -v shasum >/dev/null 2>&1; then shasum -a 256 -- ${files} 2>/dev/null` +
      `; elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r ${names.map((n) => shellQuote(`./${n}`)).join(' ')} 2>/dev/null` +
      `; else echo 'certgen:nosum'; fi`,
  ];
  return [
    ': certgen-probe',
    'certgen_start=$PWD',
    `if cd -- ${remoteShellPath(dir)} 2>/dev/null; then ${look.join('; ')}; else echo 'certgen:nodir'; fi`,
    ...(opts.hold === false ? [] : [`echo ${HELD_MARKER}`, 'IFS= read -r certgen_next || exit 0', 'eval "$certgen_next"']),
    'exit 0',
  ].join('; ');
}

/**
 * The installer: one session that brings the folder up to date, reading the new files' bytes, one
 * after the other in the order of `copy`, from its stdin. In order: create the folder (0700, with
 * parents) if missing; remove the staging folders of killed runs (`stale`); receive everything into
 * a private 0700 staging folder under umask 077 (so a key is 0600 from its first byte), check the
 * byte count and each file's SHA-256 (its size alone when the host has no sha256sum, shasum or
 * openssl); set each file's final mode; only then rename them into place one by one (rename(2):
 * a reader sees the old file or the new one, never part of one); fix the modes of `chmodOnly`;
 * remove the staging folder; run `reload` when files were copied or `reloadAlways` (stdin from /dev/null, its output
 * on stderr, the user's umask, globbing and signals restored). Any failure before the renames
 * removes the staging folder and leaves every live file as it was.
 *
 * It reports on stdout, one line each: `certgen:removed NAME`, `certgen:nosum`, `certgen:installed
 * NAME`, `certgen:fixed NAME`, `certgen:reloaded STATUS`, then `certgen:done`; or `certgen:fail
 * STEP [DETAIL]` and exit 1 (see parseInstallReport). SIGHUP and SIGPIPE are ignored, so a dropped
 * connection cannot stop it between a check and its cleanup.
 */
export function remoteInstallScript(
  dir: string,
  staging: string,
  copy: readonly IncomingFile[],
  chmodOnly: readonly RemoteFile[] = [],
  opts: { stale?: readonly string[]; reload?: string; reloadAlways?: boolean } = {},
): string {
  for (const s of opts.stale ?? []) if (!STAGING_PATTERN.test(s)) throw new RangeError(`not a staging folder: ${JSON.stringify(s)}`);
  const d = remoteShellPath(dir);
  if (!STAGING_PATTERN.test(staging)) throw new RangeError(`not a staging folder: ${JSON.stringify(staging)}`);
  const st = shellQuote(staging);
  const inStaging = (n: string): string => `"$st"/${shellQuote(n)}`;
  const total = copy.reduce((n, f) => n + f.size, 0);
  const lines = [
    ': certgen-install',
    'um=$(umask)',
    'umask 077',
    'set -f',
    "trap '' HUP PIPE",
    'st=',
    `fail() { printf 'certgen:fail %s\\n' "$1"; if [ -n "$st" ]; then rm -rf -- "$st"; fi; exit 1; }`,
    // Evaled by the probe's shell, which may have cd'd into the folder: a relative dir starts from
    // where the session started.
    'if [ -n "${certgen_start:-}" ]; then cd -- "$certgen_start" || fail mkdir; fi',
    `{ [ -d ${d} ] || mkdir -p -m 0700 -- ${d}; } || fail mkdir`,
    `cd -- ${d} || fail mkdir`,
  ];
  const stale = opts.stale ?? [];
  if (stale.length > 0) {
    const names = stale.map(shellQuote).join(' ');
    lines.push(`rm -rf -- ${names} || fail cleanup`, `printf 'certgen:removed %s\\n' ${names}`);
  }
  if (copy.length > 0) {
    lines.push(
      `mkdir -m 0700 -- ${st} || fail staging`,
      `st=${st}`,
      `cat > "$st"/.in || fail copy`,
      `set -- $(wc -c < "$st"/.in)`,
      `[ "$1" = ${total} ] || fail "short $1 ${total}"`,
    );
    let offset = 0;
    for (const f of copy) {
      lines.push(`tail -c +${offset + 1} "$st"/.in | head -c ${f.size} > ${inStaging(f.name)} || fail copy`);
      offset += f.size;
    }
    for (const f of copy) if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw new RangeError(`bad SHA-256 for ${f.name}`);
    // One checksum process for every file; its lines are matched with the shell's own read.
    const staged = copy.map((f) => inStaging(f.name)).join(' ');
    const cases = copy.map((f) => `"$st"/${shellQuote(f.name)}) [ "$h" = ${f.sha256} ] || fail ${shellQuote(`verify ${f.name}`)}; k=$((k + 1));;`).join(' ');
    const sizes = copy.map((f) => `set -- $(wc -c < ${inStaging(f.name)}); [ "$1" = ${f.size} ] || fail ${shellQuote(`verify ${f.name}`)}`).join('; ');
    lines.push(
      `if command -v sha256sum >/dev/null 2>&1; then s=sha256sum; elif command -v shasum >/dev/null 2>&1; then s='shasum -a 256'; elif command -v openssl >/dev/null 2>&1; then s='openssl dgst -sha256 -r'; else s=; fi`,
      `if [ -n "$s" ]; then $s ${staged} > "$st"/.sums || fail copy; k=0; while read -r h n; do case "\${n#\\*}" in ${cases} *) fail verify;; esac; done < "$st"/.sums; [ "$k" = ${copy.length} ] || fail verify; else ${sizes}; echo certgen:nosum; fi`,
    );
    const byMode = new Map<number, string[]>();
    for (const f of copy) byMode.set(f.mode, [...(byMode.get(f.mode) ?? []), inStaging(f.name)]);
    for (const [mode, names] of byMode) lines.push(`chmod ${octal(mode)} -- ${names.join(' ')} || fail chmod`);
    for (const f of copy) {
      const n = shellQuote(f.name);
      lines.push(`if [ -d ${n} ]; then fail ${shellQuote(`install ${f.name}`)}; fi`, `mv -f -- ${inStaging(f.name)} ${n} || fail ${shellQuote(`install ${f.name}`)}`, `printf 'certgen:installed %s\\n' ${n}`);
    }
  }
  for (const f of chmodOnly) {
    const n = shellQuote(f.name);
    lines.push(`chmod ${octal(f.mode)} -- ${n} || fail ${shellQuote(`fix ${f.name}`)}`, `printf 'certgen:fixed %s\\n' ${n}`);
  }
  if (copy.length > 0) lines.push(`rm -rf -- "$st"`, 'st=');
  if ((copy.length > 0 || opts.reloadAlways === true) && opts.reload !== undefined) {
    lines.push(
      `certgen_nl=$(printf '\\n_'); certgen_nl=\${certgen_nl%_}`,
      `r=${shellQuoteOneLine(opts.reload)}`,
      `( trap - HUP PIPE; set +f; umask "$um"; eval "$r" ) </dev/null >&2`,
      `printf 'certgen:reloaded %s\\n' "$?"`,
    );
  }
  lines.push(`printf 'certgen:done\\n'`);
  const script = lines.join('; ');
  // The line is read with `read -r`: a newline would cut it short.
  if (script.includes('\n')) throw new RangeError('the installer line cannot hold a newline');
  return script;
}

/** Where an install stopped: the remote folder, the transfer (receive and verify), or the renames. */
export type InstallStep = 'mkdir' | 'copy' | 'install';

/** What remoteInstallScript printed. */
export interface InstallReport {
  /** `certgen:done` arrived: every step ran (the reload's status is in `reloadStatus`). */
  done: boolean;
  removed: string[];
  installed: string[];
  fixed: string[];
  /** The host had no SHA-256 tool: files were checked by size. */
  sizeOnly: boolean;
  /** null when no reload ran. */
  reloadStatus: number | null;
  /** The failing step and what it said, when the script failed on its own. */
  failure: { step: InstallStep; why: string } | null;
  /** The step the script had reached, for a session that ended without a word. */
  reached: InstallStep;
}

export function parseInstallReport(stdout: string): InstallReport {
  const rep: InstallReport = { done: false, removed: [], installed: [], fixed: [], sizeOnly: false, reloadStatus: null, failure: null, reached: 'copy' };
  for (const line of stdout.split('\n')) {
    let m: RegExpExecArray | null;
    if (line === 'certgen:done') rep.done = true;
    else if (line === 'certgen:nosum') rep.sizeOnly = true;
    else if ((m = /^certgen:removed (.+)$/.exec(line)) !== null) rep.removed.push(m[1] ?? '');
    else if ((m = /^certgen:installed (.+)$/.exec(line)) !== null) (rep.installed.push(m[1] ?? ''), (rep.reached = 'install'));
    else if ((m = /^certgen:fixed (.+)$/.exec(line)) !== null) rep.fixed.push(m[1] ?? '');
    else if ((m = /^certgen:reloaded (\d+)$/.exec(line)) !== null) rep.reloadStatus = Number(m[1]);
    else if ((m = /^certgen:fail (\S+)(?: (.*))?$/.exec(line)) !== null) rep.failure = failureOf(m[1] ?? '', m[2] ?? '');
  }
  return rep;
}

function failureOf(word: string, rest: string): { step: InstallStep; why: string } {
  switch (word) {
    case 'mkdir':
      return { step: 'mkdir', why: 'cannot create the remote folder' };
    case 'staging':
      return { step: 'copy', why: 'cannot create the staging folder in the remote folder' };
    case 'cleanup':
      return { step: 'mkdir', why: 'cannot remove the staging folder an interrupted run left' };
    case 'copy':
      return { step: 'copy', why: 'cannot write the staging folder' };
    case 'short': {
      const [got, want] = rest.split(' ');
      return { step: 'copy', why: `the transfer was cut short (${got === undefined || got === '' ? 'no' : got} of ${want ?? '?'} bytes arrived)` };
    }
    case 'verify':
      return { step: 'copy', why: rest === '' ? 'the staged files do not match their SHA-256' : `${rest} arrived with a different SHA-256` };
    case 'chmod':
      return { step: 'copy', why: 'cannot set the modes of the staged files' };
    case 'install':
      return { step: 'install', why: `cannot rename ${rest} into place` };
    case 'fix':
      return { step: 'install', why: `cannot set the mode of ${rest}` };
    default:
      return { step: 'install', why: `${word} ${rest}`.trim() };
  }
}

export type RemoteEntryType = 'file' | 'dir' | 'link' | 'other' | 'missing';

export interface RemoteEntry {
  name: string;
  type: RemoteEntryType;
  /** Permission bits (with setuid/setgid/sticky), null when missing. */
  mode: number | null;
  /** Lower-case hex, null when missing, unreadable or when no checksum tool exists remotely. */
  sha256: string | null;
}

export interface RemoteState {
  dirExists: boolean;
  dirMode: number | null;
  /** In the order of the names asked for. */
  entries: RemoteEntry[];
  /** False when the remote host had none of sha256sum, shasum and openssl. */
  sumsAvailable: boolean;
  /** Staging folders (`.certgen-*`) that an interrupted run left in the folder. */
  stale: string[];
}

/** `-rw-r--r--` (the start of an `ls -l` line) → type and permission bits. */
export function parseLsMode(text: string): { type: RemoteEntryType; mode: number } | undefined {
  const m = /^([-dlbcpsD])([-r][-w][-xsS])([-r][-w][-xsS])([-r][-w][-xtT])/.exec(text);
  if (m === null) return undefined;
  const typeChar = m[1];
  const type: RemoteEntryType = typeChar === '-' ? 'file' : typeChar === 'd' ? 'dir' : typeChar === 'l' ? 'link' : 'other';
  let mode = 0;
  const special = [0o4000, 0o2000, 0o1000];
  [m[2], m[3], m[4]].forEach((triplet, i) => {
    const t = triplet ?? '---';
    const shift = (2 - i) * 3;
    if (t[0] === 'r') mode |= 4 << shift;
    if (t[1] === 'w') mode |= 2 << shift;
    const x = t[2] ?? '-';
    if (x === 'x' || x === 's' || x === 't') mode |= 1 << shift;
    if (x === 's' || x === 'S' || x === 't' || x === 'T') mode |= special[i] ?? 0;
  });
  return { type, mode };
}

/** Reads what remoteProbeScript printed. */
export function parseProbe(stdout: string, names: readonly string[]): RemoteState {
  const lines = stdout.split('\n');
  if (lines.some((l) => l === 'certgen:nodir')) {
    return { dirExists: false, dirMode: null, entries: names.map((name) => ({ name, type: 'missing', mode: null, sha256: null })), sumsAvailable: true, stale: [] };
  }
  let dirMode: number | null = null;
  const stale: string[] = [];
  const entries: RemoteEntry[] = names.map((name) => ({ name, type: 'missing', mode: null, sha256: null }));
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if (line.startsWith('D ')) {
      dirMode = parseLsMode(line.slice(2))?.mode ?? null;
    } else if (line.startsWith('S ')) {
      const name = line.slice(2);
      if (STAGING_PATTERN.test(name) && !stale.includes(name)) stale.push(name);
    } else if ((m = /^F(\d+) (.*)$/.exec(line)) !== null) {
      const entry = entries[Number(m[1])];
      const parsed = parseLsMode(m[2] ?? '');
      if (entry !== undefined && parsed !== undefined) {
        entry.type = parsed.type;
        entry.mode = parsed.mode;
      }
    } else if ((m = /^([0-9a-fA-F]{64}) [ *](?:\.\/)?(.+)$/.exec(line)) !== null) {
      const entry = entries.find((e) => e.name === m?.[2]);
      if (entry !== undefined) entry.sha256 = (m[1] ?? '').toLowerCase();
    }
  }
  for (const e of entries) if (e.type !== 'file') e.sha256 = null;
  return { dirExists: true, dirMode, entries, sumsAvailable: !lines.includes('certgen:nosum'), stale };
}
