// Loopback networking for the integration tests: a free TCP port on 127.0.0.1 and a bounded wait
// until something listens there. Nothing here touches any address but 127.0.0.1.
import net from 'node:net';

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

export interface WaitForPortOptions {
  /** Polling interval, default 50 ms. */
  intervalMs?: number;
  /** Checked before each attempt: a reason to stop waiting (e.g. the server process exited). */
  abort?: () => string | undefined;
}

/**
 * Resolves once 127.0.0.1:port accepts a TCP connection; rejects after `timeoutMs` or as soon as
 * `abort` returns a reason. The probe connects and closes without sending anything.
 */
export async function waitForPort(port: number, timeoutMs: number, opts: WaitForPortOptions = {}): Promise<void> {
  const interval = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = opts.abort?.();
    if (reason !== undefined) throw new Error(`gave up waiting for ${LOOPBACK}:${port}: ${reason}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`nothing listened on ${LOOPBACK}:${port} within ${timeoutMs} ms`);
    if (await canConnect(port, Math.max(1, Math.min(500, left)))) return;
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}
