// The ssh/scp edge of `certgen distribute`, on zx. Every command is an argv array (never a shell
// string built by concatenation): zx quotes each element for the local shell, and the one string
// that a remote shell parses (ssh joins its trailing arguments into a command line) is assembled
// here from shellQuote()d words only. The argv builders are pure so `--dry-run` can print exactly
// what would run and tests can check it; run() is the only function that starts a process.
import type { SshTarget } from '../cluster-spec/spec.js';

/** Seconds ssh waits for the TCP connection (`-o ConnectTimeout`). */
export const CONNECT_TIMEOUT_S = 10;

/**
 * How scp treats the remote path. OpenSSH ≥ 9.0 speaks SFTP by default and takes the path
 * literally (expanding only a leading `~`/`~/`); older scp runs `scp -t <path>` through the remote
 * shell, so the path must be shell-quoted.
 */
export type ScpPathMode = 'sftp' | 'legacy';

/** One command line: `argv[0]` is the program (`ssh` or `scp`). */
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
 * The options every ssh and scp call shares. ssh keeps the first value it sees for an option, so
 * the order is deliberate: BatchMode (no prompt may ever appear), then the spec's explicit
 * fields, then the spec's extra `options` (which may relax StrictHostKeyChecking, say), then
 * certgen's defaults.
 */
export function sshCommonOptions(t: SshTarget): string[] {
  const args = ['-o', 'BatchMode=yes'];
  if (t.user !== undefined && t.user !== '') args.push('-o', `User=${t.user}`);
  if (t.identityFile !== undefined) args.push('-i', t.identityFile.replace(/%/g, '%%'), '-o', 'IdentitiesOnly=yes');
  if (t.knownHosts !== undefined) args.push('-o', `UserKnownHostsFile=${sshConfigPath(t.knownHosts)}`);
  for (const o of t.options) args.push('-o', o);
  args.push('-o', 'StrictHostKeyChecking=yes', '-o', `ConnectTimeout=${CONNECT_TIMEOUT_S}`);
  return args;
}

/**
 * `ssh` running one remote command line. `-n` keeps ssh off our stdin; `--` ends the options so
 * no host name can be read as one.
 */
export function sshArgv(t: SshTarget, remoteCommand: string): Argv {
  return ['ssh', '-n', '-p', String(t.port), ...sshCommonOptions(t), '--', t.host, remoteCommand];
}

/** The `host:path` operand of scp; an IPv6 address is bracketed. */
export function scpRemoteOperand(t: SshTarget, remotePath: string, mode: ScpPathMode): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${host}:${mode === 'sftp' ? remotePath : remoteShellPath(remotePath)}`;
}

/**
 * `scp` copying local files into an existing remote folder (each keeps its base name there).
 * Local paths must be absolute so none can be mistaken for a `host:path`.
 */
export function scpArgv(t: SshTarget, localFiles: readonly string[], remoteDir: string, mode: ScpPathMode): Argv {
  for (const f of localFiles) {
    if (!f.startsWith('/')) throw new RangeError(`scp source must be an absolute path: ${f}`);
  }
  const dest = remoteDir.endsWith('/') ? remoteDir : `${remoteDir}/`;
  return ['scp', '-q', '-P', String(t.port), ...sshCommonOptions(t), '--', ...localFiles, scpRemoteOperand(t, dest, mode)];
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
}

/** Runs one argv through zx (which quotes every element), never throwing on a non-zero exit. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RemoteRun> {
  // zx is loaded on first use: every other certgen command would otherwise pay its start-up cost.
  const { $ } = await import('zx');
  const started = Date.now();
  const $$ = $({ nothrow: true, quiet: true, verbose: false, ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}) });
  const out = await $$`${[...argv]}`;
  const durationMs = Date.now() - started;
  const signal = out.signal;
  return {
    argv: [...argv],
    exitCode: out.exitCode,
    stdout: out.stdout,
    stderr: out.stderr,
    timedOut: out.exitCode === null && signal !== null && opts.timeoutMs !== undefined && durationMs >= opts.timeoutMs,
    durationMs,
  };
}

export interface LocalSsh {
  /** `OpenSSH_9.2p1 …` as `ssh -V` printed it. */
  version: string;
  scpPathMode: ScpPathMode;
}

/** Parses `ssh -V` output: OpenSSH ≥ 9.0 makes scp use SFTP. Unknown clients are taken as legacy. */
export function scpPathModeFor(versionText: string): ScpPathMode {
  const m = /OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)/.exec(versionText);
  if (m === null) return 'legacy';
  return Number(m[1]) >= 9 ? 'sftp' : 'legacy';
}

/** Asks the local `ssh` for its version; undefined when there is no usable ssh client. */
export async function localSsh(): Promise<LocalSsh | undefined> {
  const r = await run(['ssh', '-V'], { timeoutMs: 10_000 });
  const text = `${r.stderr}${r.stdout}`.trim();
  if (r.exitCode !== 0 || text === '') return undefined;
  return { version: text.split('\n')[0] ?? text, scpPathMode: scpPathModeFor(text) };
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
    return `host key verification failed: the key of ${hostPort(t)} differs from the one in known_hosts`;
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

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

/**
 * Read-only look at the remote folder: its mode, each file's type and mode (`ls -ld`), and their
 * SHA-256 sums (sha256sum, else shasum, else openssl). Missing files and a missing folder are
 * reported, not errors; the script always exits 0, so a non-zero exit is ssh's own failure.
 */
export function remoteCheckScript(dir: string, names: readonly string[]): string {
  const files = names.map(shellQuote).join(' ');
  const lines = [
    'LC_ALL=C; export LC_ALL',
    `cd -- ${remoteShellPath(dir)} 2>/dev/null || { echo 'certgen:nodir'; exit 0; }`,
    `printf 'D %s\\n' "$(ls -ld . 2>/dev/null)"`,
    ...names.map((n, i) => `printf 'F${i} %s\\n' "$(ls -ld -- ${shellQuote(n)} 2>/dev/null)"`),
    `if command -v sha256sum >/dev/null 2>&1; then sha256sum -- ${files} 2>/dev/null`,
    `elif command -v shasum >/dev/null 2>&1; then shasum -a 256 -- ${files} 2>/dev/null`,
    `elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r ${names.map((n) => shellQuote(`./${n}`)).join(' ')} 2>/dev/null`,
    `else echo 'certgen:nosum'; fi`,
    'exit 0',
  ];
  return lines.join('; ');
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

/** Reads what remoteCheckScript printed. */
export function parseRemoteCheck(stdout: string, names: readonly string[]): RemoteState {
  const lines = stdout.split('\n');
  if (lines.some((l) => l === 'certgen:nodir')) {
    return { dirExists: false, dirMode: null, entries: names.map((name) => ({ name, type: 'missing', mode: null, sha256: null })), sumsAvailable: true };
  }
  let dirMode: number | null = null;
  const entries: RemoteEntry[] = names.map((name) => ({ name, type: 'missing', mode: null, sha256: null }));
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if (line.startsWith('D ')) {
      dirMode = parseLsMode(line.slice(2))?.mode ?? null;
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
  return { dirExists: true, dirMode, entries, sumsAvailable: !lines.includes('certgen:nosum') };
}

/** The staging folder's name inside the target folder for one run. */
export function stagingName(token: string): string {
  if (!/^[A-Za-z0-9]+$/.test(token)) throw new RangeError(`bad staging token ${JSON.stringify(token)}`);
  return `.certgen-${token}`;
}

/**
 * Creates the target folder (parents as needed) and makes it 0700, then creates a private 0700
 * staging folder inside it for this run's uploads (same file system, so renames are atomic).
 */
export function remoteMkdirScript(dir: string, staging: string): string {
  const d = remoteShellPath(dir);
  // A folder certgen creates is 0700; an existing one keeps the mode its operator chose (a
  // group-readable certs dir is how Kubernetes-style deployments share keys, see cockroach #61975).
  return `{ [ -d ${d} ] || mkdir -p -m 0700 -- ${d}; } && cd -- ${d} && mkdir -m 0700 -- ${shellQuote(staging)}`;
}

/**
 * Sets each uploaded file's final mode inside the staging folder, renames it over the live name
 * (an atomic rename: a reader sees the old file or the new one, never part of one), fixes the mode
 * of files whose content was already right, and removes the staging folder. On any failure the
 * uploads are deleted and the script exits with the failing command's status.
 */
export function remoteInstallScript(dir: string, staging: string, copy: readonly RemoteFile[], chmodOnly: readonly RemoteFile[] = []): string {
  const st = (n: string): string => shellQuote(`${staging}/${n}`);
  const steps = [
    ...copy.map((f) => `chmod ${octal(f.mode)} -- ${st(f.name)}`),
    ...copy.map((f) => `mv -f -- ${st(f.name)} ${shellQuote(f.name)}`),
    ...chmodOnly.map((f) => `chmod ${octal(f.mode)} -- ${shellQuote(f.name)}`),
  ];
  const cleanup = `rm -f -- ${copy.map((f) => st(f.name)).join(' ')}; rmdir -- ${shellQuote(staging)} 2>/dev/null`;
  return [
    `cd -- ${remoteShellPath(dir)} || exit 1`,
    `{ ${steps.join(' && ')}; } || { rc=$?; ${cleanup}; exit "$rc"; }`,
    `rmdir -- ${shellQuote(staging)}`,
  ].join('; ');
}

/** Best-effort removal of a staging folder left by a failed upload. */
export function remoteCleanupScript(dir: string, staging: string, names: readonly string[]): string {
  const files = names.map((n) => shellQuote(`${staging}/${n}`)).join(' ');
  return `cd -- ${remoteShellPath(dir)} && rm -f -- ${files}; rmdir -- ${shellQuote(staging)} 2>/dev/null; exit 0`;
}

/** Makes the folder 0700 and sets the modes of files whose content is already right. */
export function remoteFixModesScript(dir: string, files: readonly RemoteFile[]): string {
  const d = remoteShellPath(dir);
  return [`cd -- ${d}`, ...files.map((f) => `chmod ${octal(f.mode)} -- ${shellQuote(f.name)}`)].join(' && ');
}
