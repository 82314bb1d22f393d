// A throwaway OpenSSH server for the distribute tests: Debian's /usr/sbin/sshd (package
// openssh-server) on 127.0.0.1 and a free port, with a host key and one authorized client key made
// for the test by ssh-keygen. Nothing listens anywhere but on loopback, and stop() kills it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export const SSHD = '/usr/sbin/sshd';

export interface SshdServer {
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
  /** sshd's stderr so far (for failing tests' messages). */
  log(): string;
  stop(): Promise<void>;
}

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

/** Starts sshd; resolves once its port accepts connections. */
export async function startSshd(): Promise<SshdServer> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install the openssh-server package`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'certgen-sshd-'));
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const identityFile = path.join(dir, 'id_ed25519');
  await keygen(hostKey);
  await keygen(identityFile);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${identityFile}.pub`), { mode: 0o600 });
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
      'LogLevel VERBOSE',
      // The post-quantum default key exchange costs ~100 ms of CPU per connection; these tests make dozens.
      'KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org',
      // scp in OpenSSH >= 9.0 talks SFTP by default.
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );

  let stderr = '';
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => (stderr += s));
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  // Backstop: never leave an sshd running after the test process, whatever happened.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start on 127.0.0.1:${port}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const hostPublicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPublicKey}\n`);

  return {
    port,
    host: '127.0.0.1',
    user: os.userInfo().username,
    identityFile,
    knownHosts,
    hostPublicKey,
    dir,
    log: () => stderr,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
