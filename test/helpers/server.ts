// Throwaway servers for the integration tests: a process spawned for a free loopback port, its log
// captured, waited for until it listens (and until `ready` says so), stopped with a signal and
// SIGKILL if that hangs, and started again on a fresh port when it lost a race for its port.
// Every server started here is in one registry: `stopAll` (for `after` hooks) stops those still
// running, and any left when the test process exits are SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import { LOOPBACK, freePort, inNetworkOf, inPrivateNetwork, waitForPort } from './net.js';

/** How long `waitForLog` waits by default. */
export const LOG_WAIT_MS = 3_000;

export interface ServerCommand {
  cmd: string;
  args: string[];
  /** The whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ReadyContext {
  port: number;
  /** When the start, port wait included, runs out of time (`startTimeoutMs` after the spawn). */
  deadline: number;
  /** A reason to give up (`<name> exited with …`) once the process is gone. */
  abort(): string | undefined;
}

export interface StartServerOptions {
  /** In messages: `<name> did not start on …`. */
  name: string;
  /** The command that listens on `port`. */
  build(port: number): ServerCommand;
  /** How long the port (and `ready`) may take. */
  startTimeoutMs: number;
  /** The signal `stop` sends first (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** SIGKILL this long after `stopSignal` (default 3 s). */
  killAfterMs?: number;
  /** `stop` returns after this long even if the process has not exited (default 5 s). */
  stopTimeoutMs?: number;
  /** The server's stdin (default a pipe nobody writes to). */
  stdin?: 'pipe' | 'ignore';
  /** Run it in a network namespace of its own (inPrivateNetwork), for servers that cannot be told
   * to listen on 127.0.0.1 only; its clients go through `wrap`. */
  privateNetwork?: boolean;
  /** Waited for once the port accepts connections; throwing fails the start like a closed port. */
  ready?(ctx: ReadyContext): Promise<void>;
  /** Whether a failed start lost a race for its port and is worth another try (3 in all). */
  retry(failure: { log: string; exited: boolean }): boolean;
  /** Put the command line in the failure message (default true). */
  showCommand?: boolean;
}

export interface Server {
  name: string;
  port: number;
  child: ChildProcess;
  /** Everything the server printed so far (stdout and stderr, interleaved). */
  log(): string;
  /** Resolves with the log from `from` on once it matches `re`; rejects after `timeoutMs`. */
  waitForLog(re: RegExp, from: number, timeoutMs?: number): Promise<string>;
  /** The command line that runs `cmd args` where the server's 127.0.0.1 is (its namespace). */
  wrap(cmd: string, args: string[]): [string, string[]];
  stop(): Promise<void>;
}

const running = new Map<ChildProcess, () => Promise<void>>();
process.on('exit', () => {
  for (const child of running.keys()) child.kill('SIGKILL');
});

/** Stops every server started here that is still running (or still starting). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running.values()].map((stop) => stop()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts the server built for a fresh free port, resolving once it accepts connections and is ready. */
export async function startServer(o: StartServerOptions): Promise<Server> {
  const { name } = o;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const built = o.build(port);
    const [cmd, args] = o.privateNetwork ? inPrivateNetwork(built.cmd, built.args) : [built.cmd, built.args];
    const child = spawn(cmd, args, { env: built.env, cwd: built.cwd, stdio: [o.stdin ?? 'pipe', 'pipe', 'pipe'] });
    let log = '';
    let exit: string | undefined;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => (log += s));
    child.stderr?.on('data', (s: string) => (log += s));
    child.stdin?.on('error', () => {});
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exit = `exited with ${signal ?? code}`;
        running.delete(child);
        resolve();
      });
      child.once('error', (err) => {
        exit = `could not start: ${err.message}`;
        running.delete(child);
        resolve();
      });
    });
    const stop = async (): Promise<void> => {
      if (exit !== undefined) return;
      child.kill(o.stopSignal ?? 'SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 3_000);
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((r) => (giveUp = setTimeout(r, o.stopTimeoutMs ?? 5_000)))]);
      clearTimeout(forced);
      clearTimeout(giveUp);
    };
    running.set(child, stop);
    const abort = (): string | undefined => (exit === undefined ? undefined : `${name} ${exit}`);
    try {
      const deadline = Date.now() + o.startTimeoutMs;
      await waitForPort(port, o.startTimeoutMs, { abort, netnsOf: o.privateNetwork ? child.pid : undefined });
      await o.ready?.({ port, deadline, abort });
    } catch (err) {
      await stop();
      const command = o.showCommand === false ? '' : `${cmd} ${args.join(' ')}\n`;
      lastError = new Error(`${name} did not start on ${LOOPBACK}:${port}: ${(err as Error).message}\n${command}${log}`);
      if (o.retry({ log, exited: exit !== undefined })) continue;
      throw lastError;
    }
    const pid = child.pid;
    return {
      name,
      port,
      child,
      log: () => log,
      async waitForLog(re, from, timeoutMs = LOG_WAIT_MS) {
        const deadline = Date.now() + timeoutMs;
        while (!re.test(log.slice(from))) {
          if (Date.now() > deadline) throw new Error(`${name}'s log did not show ${re} within ${timeoutMs} ms; it shows:\n${log.slice(from)}`);
          await sleep(25);
        }
        return log.slice(from);
      },
      wrap(c, a) {
        if (!o.privateNetwork) return [c, a];
        const reason = abort();
        if (reason !== undefined || pid === undefined) throw new Error(`cannot reach ${name}'s network: ${reason ?? 'no pid'}`);
        return inNetworkOf(pid, c, a);
      },
      stop,
    };
  }
  throw lastError ?? new Error(`${name} did not start`);
}
