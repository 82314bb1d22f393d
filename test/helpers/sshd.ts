// Throwaway ssh servers for the distribute tests, on 127.0.0.1 and a free port, with a host key
// and one authorized client key made for the test:
//   - OpenSSH: Debian's /usr/sbin/sshd (package openssh-server), with or without an SFTP subsystem;
//   - Dropbear: Debian's /usr/sbin/dropbear (package dropbear-bin), started as
//     `dropbear -F -E -p 127.0.0.1:PORT -r hostkey`. Dropbear only reads the login user's
//     ~/.ssh/authorized_keys, so it runs in a private mount namespace (unshare) in which /root is a
//     temp folder: nothing of the machine's own /root is read or written.
// The client key is authorized with `command="<wrapper>"`: every session runs through a small sh
// wrapper that records the command it was asked to run (one file per session, so a test counts
// sessions and can search every remote command line) and then runs it with /bin/sh. The wrapper can
// also be armed to break the next install session (see SshServer.armFault). Connections are
// counted from the server's own log. Nothing listens anywhere but on loopback, and stop() kills it.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export const SSHD = '/usr/sbin/sshd';
export const DROPBEAR = '/usr/sbin/dropbear';

export type SshServerKind = 'openssh' | 'dropbear';

/**
 * How the wrapper breaks the next certgen session (its command contains `certgen-probe`):
 * - `killAtCommand: k`: the k-th external command the session starts (ls, sha256sum, mkdir, cat,
 *   head, mv, …, counted through shims first on PATH; the probe's count first, then the
 *   installer's) is never run: the whole session (its processes and the server's process for the
 *   connection) is SIGKILLed at that point, as if the server died there; the file `killed-at` in
 *   the server's folder then names the command;
 * - `cutStdinAfter: n`: the session sees only the first n bytes of its stdin (the installer line,
 *   then the files), then the server's process for the connection is SIGKILLed.
 */
export type Fault = { killAtCommand: number } | { cutStdinAfter: number };

export interface SshServer {
  kind: SshServerKind;
  port: number;
  host: '127.0.0.1';
  /** The login the client key is authorized for (the user running the tests). */
  user: string;
  /** Private key (ed25519) accepted by the server. */
  identityFile: string;
  /** A known_hosts file holding `[127.0.0.1]:<port>` with the server's host key. */
  knownHosts: string;
  /** The server's public host key line (`ssh-ed25519 AAAA…`). */
  hostPublicKey: string;
  /** The temp folder holding keys, config and logs. */
  dir: string;
  /** A path as the server's sessions see it (through /proc/PID/root, so private mounts show). */
  inside(p: string): string;
  /** The server's stderr so far (for failing tests' messages). */
  log(): string;
  /** Authenticated connections so far, from the server's log. */
  connections(): number;
  /** The command line of every session run so far (order not guaranteed across concurrent sessions). */
  sessions(): string[];
  /** Arms the wrapper to break the next certgen session (one shot). */
  armFault(fault: Fault): void;
  /** Whether an armed fault is still waiting for its session. */
  faultPending(): boolean;
  stop(): Promise<void>;
}

/** Kept for the existing tests: an OpenSSH server. */
export type SshdServer = SshServer;

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function keygen(file: string): Promise<void> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'certgen-test', '-f', file]);
}

/** External commands the installer may start; the kill-at fault counts them through shims. */
const SHIMMED = ['mkdir', 'cat', 'head', 'tail', 'dd', 'sha256sum', 'shasum', 'openssl', 'wc', 'chmod', 'mv', 'rm', 'rmdir', 'ls', 'od', 'base64'];

/**
 * The session wrapper (see the file comment). `$d` is the server's temp folder. The fault file is
 * taken by rename, so exactly one session gets it.
 */
function wrapperScript(d: string): string {
  return `#!/bin/sh
d='${d}'
f=$(mktemp "$d/sessions/s.XXXXXXXX") && printf '%s' "$SSH_ORIGINAL_COMMAND" > "$f"
case "$SSH_ORIGINAL_COMMAND" in
*certgen-probe*)
  if mv "$d/fault" "$d/fault.$$" 2>/dev/null; then
    read -r kind n < "$d/fault.$$"; rm -f "$d/fault.$$"
    # the session's process group (OpenSSH makes this shell its leader, Dropbear its own process
    # for the connection) and $PPID, the server's process for the connection
    read -r _ _ _ _ pg _ < /proc/$$/stat
    echo "$pg $PPID" > "$d/victims"
    if [ "$kind" = kill ]; then
      echo "$n" > "$d/countdown"; rmdir "$d/lock" 2>/dev/null
      PATH="$d/shims:$PATH"; export PATH
      exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
    fi
    head -c "$n" | /bin/sh -c "$SSH_ORIGINAL_COMMAND"
    kill -9 "$PPID"
    exit 1
  fi;;
esac
exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
`;
}

/** A shim for one external command: counts down, kills the session at zero, else runs the real one. */
function shimScript(d: string, name: string): string {
  // Builtins only until the real command runs: an external one here would be a shim itself.
  return `#!/bin/sh
d='${d}'
PATH=\${PATH#"$d/shims:"}
# One at a time (the two sides of a pipeline start together): a mkdir lock, then the count.
until mkdir "$d/lock" 2>/dev/null; do :; done
read -r n < "$d/countdown"; n=$((n - 1)); echo "$n" > "$d/countdown"
if [ "$n" -le 0 ]; then
  echo "${name}" > "$d/killed-at"
  echo 999999 > "$d/countdown"
  rmdir "$d/lock"
  read -r pg sshd < "$d/victims"
  kill -9 "$sshd" 2>/dev/null
  kill -9 -- "-$pg" 2>/dev/null
  kill -9 "$pg" "$PPID" $$ 2>/dev/null
  exit 137
fi
rmdir "$d/lock"
exec ${name} "$@"
`;
}

interface Common {
  dir: string;
  identityFile: string;
  authorizedKeysLine: string;
}

async function prepare(prefix: string): Promise<Common> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  mkdirSync(path.join(dir, 'sessions'));
  mkdirSync(path.join(dir, 'shims'));
  const identityFile = path.join(dir, 'id_ed25519');
  await keygen(identityFile);
  const wrapper = path.join(dir, 'wrapper.sh');
  writeFileSync(wrapper, wrapperScript(dir), { mode: 0o755 });
  chmodSync(wrapper, 0o755);
  for (const name of SHIMMED) {
    const p = path.join(dir, 'shims', name);
    writeFileSync(p, shimScript(dir, name), { mode: 0o755 });
    chmodSync(p, 0o755);
  }
  const pub = readFileSync(`${identityFile}.pub`, 'utf8').trim();
  return { dir, identityFile, authorizedKeysLine: `command="${wrapper}",no-pty,no-port-forwarding ${pub}\n` };
}

interface Started {
  child: ChildProcess;
  port: number;
  hostPublicKey: string;
  connectionPattern: RegExp;
}

async function launch(common: Common, kind: SshServerKind, started: Started): Promise<SshServer> {
  const { dir } = common;
  const { child, port } = started;
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => (stderr += s));
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  // Backstop: never leave a server running after the test process, whatever happened.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${kind} did not start on 127.0.0.1:${port}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${started.hostPublicKey}\n`);

  return {
    kind,
    port,
    host: '127.0.0.1',
    user: os.userInfo().username,
    identityFile: common.identityFile,
    knownHosts,
    hostPublicKey: started.hostPublicKey,
    dir,
    inside: (p) => `/proc/${child.pid}/root${path.resolve(p)}`,
    log: () => stderr,
    connections: () => stderr.split('\n').filter((l) => started.connectionPattern.test(l)).length,
    sessions: () => readdirSync(path.join(dir, 'sessions')).map((f) => readFileSync(path.join(dir, 'sessions', f), 'utf8')),
    armFault(fault) {
      const line = 'killAtCommand' in fault ? `kill ${fault.killAtCommand}` : `cut ${fault.cutStdinAfter}`;
      writeFileSync(path.join(dir, 'fault'), `${line}\n`);
    },
    faultPending: () => existsSync(path.join(dir, 'fault')),
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
      // A session killed by a fault may still be writing its files for a moment.
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch (err) {
        console.error(`sshd helper: could not remove ${dir}: ${(err as Error).message}: ${readdirSync(dir).join(' ')}`);
        process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      }
    },
  };
}

export interface SshdOptions {
  /** Whether sshd_config has a `Subsystem sftp` line (default true). */
  sftp?: boolean;
  /**
   * Shell commands run (as root) in a private mount namespace before sshd starts in it, e.g.
   * `mount -t tmpfs -o size=16k tmpfs DIR` (a small disk) or a read-only bind mount: every session
   * sees them, the rest of the machine does not (see SshServer.inside to look at them).
   */
  mountSetup?: string[];
}

/** Starts OpenSSH's sshd; resolves once its port accepts connections. */
export async function startSshd(options: SshdOptions = {}): Promise<SshServer> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install the openssh-server package`);
  const common = await prepare('certgen-sshd-');
  const { dir } = common;
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  await keygen(hostKey);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, common.authorizedKeysLine, { mode: 0o600 });
  // sshd refuses to start without its privilege-separation folder.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'PrintMotd no',
      // VERBOSE logs every accepted key (one line per connection) and every session.
      'LogLevel VERBOSE',
      // Many connections in parallel from the bench and the concurrency tests.
      'MaxStartups 200',
      'MaxSessions 20',
      // The post-quantum default key exchange costs ~100 ms of CPU per connection; these tests make dozens.
      'KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org',
      // Without this line (a hardened host) there is no SFTP: OpenSSH 9's scp cannot copy at all.
      ...(options.sftp === false ? [] : ['Subsystem sftp /usr/lib/openssh/sftp-server']),
      '',
    ].join('\n'),
  );
  const sshdArgv = [SSHD, '-D', '-e', '-f', config];
  const setup = options.mountSetup ?? [];
  // unshare execs the shell, which execs sshd: the child's pid is sshd's, inside the namespace.
  const child =
    setup.length === 0
      ? spawn(SSHD, sshdArgv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `set -e; ${setup.join('; ')}; exec "$@"`, 'sh', ...sshdArgv], { stdio: ['ignore', 'ignore', 'pipe'] });
  const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return launch(common, 'openssh', { child, port, hostPublicKey, connectionPattern: /Accepted publickey for / });
}

/** Starts Dropbear (`dropbear -F -E -p 127.0.0.1:PORT -r hostkey`); resolves once its port accepts connections. */
export async function startDropbear(): Promise<SshServer> {
  if (!existsSync(DROPBEAR)) throw new Error(`${DROPBEAR} not found: install the dropbear-bin package`);
  const common = await prepare('certgen-dropbear-');
  const { dir } = common;
  const hostKey = path.join(dir, 'dropbear_ed25519_host_key');
  await execa('dropbearkey', ['-t', 'ed25519', '-f', hostKey]);
  const pub = await execa('dropbearkey', ['-y', '-f', hostKey]);
  const line = pub.stdout.split('\n').find((l) => l.startsWith('ssh-ed25519 '));
  if (line === undefined) throw new Error(`dropbearkey -y printed no public key:\n${pub.stdout}`);
  const hostPublicKey = line.split(/\s+/).slice(0, 2).join(' ');
  // The home Dropbear reads authorized_keys from, mounted over /root in its own mount namespace.
  const home = path.join(dir, 'home');
  mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  writeFileSync(path.join(home, '.ssh', 'authorized_keys'), common.authorizedKeysLine, { mode: 0o600 });
  const userHome = os.userInfo().homedir;
  const port = await freePort();
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      'mount --bind "$1" "$2" && shift 2 && exec "$@"',
      'sh',
      home,
      userHome,
      DROPBEAR,
      '-F',
      '-E',
      '-s',
      '-p',
      `127.0.0.1:${port}`,
      '-r',
      hostKey,
      '-P',
      path.join(dir, 'dropbear.pid'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return launch(common, 'dropbear', { child, port, hostPublicKey, connectionPattern: /Pubkey auth succeeded for / });
}

/** Starts a server of the given kind. */
export function startServer(kind: SshServerKind, options: SshdOptions = {}): Promise<SshServer> {
  return kind === 'openssh' ? startSshd(options) : startDropbear();
}
