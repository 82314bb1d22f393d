// Loopback networking for the integration tests: a free TCP port on 127.0.0.1, a bounded wait
// until something listens there, and private network namespaces for servers that can only listen
// on the wildcard address. Nothing here touches any address but 127.0.0.1.
import { readlinkSync } from 'node:fs';
import net from 'node:net';
import { execa } from 'execa';

export const LOOPBACK = '127.0.0.1';

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      if (addr === null || typeof addr !== 'object' || addr.port <= 0) {
        srv.close();
        reject(new Error(`could not read the port of a listener on ${LOOPBACK}:0`));
        return;
      }
      const port = addr.port;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** One connection attempt to 127.0.0.1:port, given up after `timeoutMs`. */
export function canConnect(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: LOOPBACK, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => {});
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// Private network namespaces (util-linux's unshare and nsenter, iproute2's ip; root)

/** The Debian packages that the functions below run programs from, by program. */
export const NETNS_BINARIES: Array<[string, string]> = [
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['ip', 'iproute2'],
  ['bash', 'bash'],
];

/**
 * `cmd args` run in a network namespace of its own, whose only interface is its loopback (brought
 * up first): whatever it listens on, the wildcard address included, is reachable from that
 * namespace alone, and the namespace goes away with the process. unshare (without --fork) and sh
 * exec, so the pid spawned is the pid of `cmd`. Needs root.
 */
export function inPrivateNetwork(cmd: string, args: string[]): [string, string[]] {
  return ['unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', cmd, ...args]];
}

/** `cmd args` run in the network namespace of process `pid` (nsenter execs `cmd`). Needs root. */
export function inNetworkOf(pid: number, cmd: string, args: string[]): [string, string[]] {
  return ['nsenter', [`--net=/proc/${pid}/ns/net`, '--', cmd, ...args]];
}

function netnsOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** One connection attempt to 127.0.0.1:port inside the network namespace of process `pid`; false
 * while that process has not left ours yet (it would be our 127.0.0.1) or is gone. */
export async function canConnectIn(pid: number, port: number, timeoutMs = 500): Promise<boolean> {
  const ns = netnsOf(pid);
  if (ns === undefined || ns === netnsOf('self')) return false;
  const [cmd, args] = inNetworkOf(pid, 'bash', ['-c', 'exec 3<>"/dev/tcp/$0/$1"', LOOPBACK, String(port)]);
  const r = await execa(cmd, args, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', timeout: timeoutMs });
  return r.exitCode === 0;
}

// ---------------------------------------------------------------------------------------------
// Waiting for a server

export interface WaitForPortOptions {
  /** Polling interval, default 50 ms. */
  intervalMs?: number;
  /** Checked before each attempt: a reason to stop waiting (e.g. the server process exited). */
  abort?: () => string | undefined;
  /** Probe 127.0.0.1 in the network namespace of this process (see inPrivateNetwork) instead of ours. */
  netnsOf?: number;
}

/**
 * Resolves once 127.0.0.1:port (in our network namespace or in `netnsOf`'s) accepts a TCP
 * connection; rejects after `timeoutMs` or as soon as `abort` returns a reason. The probe connects
 * and closes without sending anything.
 */
export async function waitForPort(port: number, timeoutMs: number, opts: WaitForPortOptions = {}): Promise<void> {
  const interval = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  const pid = opts.netnsOf;
  const where = `${LOOPBACK}:${port}${pid === undefined ? '' : ` (in the network namespace of pid ${pid})`}`;
  for (;;) {
    const reason = opts.abort?.();
    if (reason !== undefined) throw new Error(`gave up waiting for ${where}: ${reason}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`nothing listened on ${where} within ${timeoutMs} ms`);
    const attemptMs = Math.max(1, Math.min(500, left));
    if (await (pid === undefined ? canConnect(port, attemptMs) : canConnectIn(pid, port, attemptMs))) return;
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}
