// PostgreSQL servers as stand-ins for CockroachDB nodes in the verify and rollout tests. Like a
// node, PostgreSQL starts TLS after an SSLRequest on its SQL port and re-reads ssl_cert_file,
// ssl_key_file and ssl_ca_file on `pg_ctl reload` (SIGHUP), keeping the old ones when the new
// ones cannot be loaded. Each server: initdb into a temp folder, 127.0.0.1 on a free port, TLS
// from a certs folder of the test's choosing (ca.crt, node.crt, node.key: what distribute writes),
// certificate logins only (hostssl … cert). postgres refuses to run as root: as root it runs as
// the `postgres` user (setpriv), and the files it reads must be that user's (the reload command
// below chowns them first, as an operator's reload would for a service account).
// Needs the Debian package postgresql (initdb, postgres, pg_ctl, pg_isready).
import { accessSync, appendFileSync, chmodSync, chownSync, constants, existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { tmpdir } from './index.js';
import { LOOPBACK } from './net.js';
import { startServer } from './server.js';

const PG_ROOT = '/usr/lib/postgresql';
const START_TIMEOUT_MS = 20_000;
const INITDB_TIMEOUT_MS = 30_000;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The newest `/usr/lib/postgresql/<version>/bin` with initdb, postgres, pg_ctl and pg_isready. */
export function pgBin(): string {
  const needed = ['initdb', 'postgres', 'pg_ctl', 'pg_isready'];
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = path.join(PG_ROOT, v, 'bin');
    if (needed.every((b) => executable(path.join(dir, b)))) return dir;
  }
  throw new Error(`PostgreSQL binaries (${needed.join(', ')}) not found under ${PG_ROOT}/*/bin: install the Debian package postgresql`);
}

interface RunAs {
  uid: number;
  gid: number;
  /** `cmd args` as that user, as argv. */
  wrap(cmd: string, args: string[]): [string, string[]];
  /** The same as a shell command line prefix ('' when it is us). */
  shellPrefix: string;
}

async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, wrap: (c, a) => [c, a], shellPrefix: '' };
  const r = await execa('getent', ['passwd', 'postgres'], { reject: false, timeout: 5_000 });
  const fields = (r.stdout ?? '').trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (r.exitCode !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error("no 'postgres' user to run the server as (tests run as root): install the Debian package postgresql");
  const prefix = ['/usr/bin/setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'];
  return { uid, gid, wrap: (c, a) => [prefix[0] as string, [...prefix.slice(1), c, ...a]], shellPrefix: `${prefix.join(' ')} ` };
}

/** For clients (psql, a JVM): no PG*, Java or locale variables from outside (PGSSLCERT or
 * JAVA_TOOL_OPTIONS would change what is tested), `home` as HOME, C locale. */
export function pgClientEnv(home: string): Record<string, string> {
  const env = cleanEnv(home);
  for (const k of Object.keys(env)) if (/^(JAVA|JDK_|_JAVA)/.test(k) || k === 'CLASSPATH') delete env[k];
  return env;
}

/** No PG* or locale variables from outside; C locale. */
function cleanEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('PG') || k.startsWith('LC_') || k === 'LANG' || k === 'HOME') continue;
    env[k] = v;
  }
  return { ...env, HOME: home, LANG: 'C', LC_ALL: 'C' };
}

export interface PgNode {
  port: number;
  data: string;
  /** The folder the server reads node.crt, node.key and its ssl_ca_file (ca.crt, or the caFile asked for) from. */
  certsDir: string;
  /**
   * A shell command (for a spec's `reload:`, run in certsDir by distribute) that makes the files
   * the server's (as root) and runs `pg_ctl reload`.
   */
  reloadCommand: string;
  /** `pg_ctl reload` run here, directly. */
  reload(): Promise<void>;
  log(): string;
  /** Resolves once the log from `from` on matches `re`. */
  waitForLog(re: RegExp, from: number, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a server whose TLS files are `certsDir`/{node.crt,node.key,ca.crt}; they must be there
 * (they are handed to the server's user). Roles `roles` can log in with a client certificate.
 * `caFile` is the file of `certsDir` that verifies client certificates (`ssl_ca_file`; default
 * ca.crt; with a split client CA ca-client.crt, as a CockroachDB node verifies clients with it alone).
 */
export async function startPgNode(certsDir: string, opts: { roles?: string[]; caFile?: string } = {}): Promise<PgNode> {
  const bin = pgBin();
  const as = await runAs();
  const base = tmpdir('certgen-pgnode-');
  const data = path.join(base, 'data');
  const sock = path.join(base, 'sock');
  const env = cleanEnv(base);
  chownSync(base, as.uid, as.gid);
  const caFile = opts.caFile ?? 'ca.crt';
  const files = [...new Set(['ca.crt', 'node.crt', 'node.key', caFile])];
  // The temp folder holding certsDir is 0700 (mkdtemp): the server's user must be able to pass it.
  if (process.getuid?.() === 0) chmodSync(path.dirname(certsDir), 0o711);
  const own = (): void => {
    chownSync(certsDir, as.uid, as.gid);
    for (const f of files) chownSync(path.join(certsDir, f), as.uid, as.gid);
  };
  own();
  const [initCmd, initArgs] = as.wrap(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const init = await execa(initCmd, initArgs, { env, extendEnv: false, reject: false, all: true, timeout: INITDB_TIMEOUT_MS, cwd: base });
  if (init.exitCode !== 0) throw new Error(`initdb failed (${init.exitCode}):\n${init.all}`);
  await execa('mkdir', ['-m', '0700', sock]);
  chownSync(sock, as.uid, as.gid);
  appendFileSync(
    path.join(data, 'postgresql.conf'),
    [
      '',
      `listen_addresses = '${LOOPBACK}'`,
      `unix_socket_directories = '${sock}'`,
      'ssl = on',
      `ssl_cert_file = '${path.join(certsDir, 'node.crt')}'`,
      `ssl_key_file = '${path.join(certsDir, 'node.key')}'`,
      `ssl_ca_file = '${path.join(certsDir, caFile)}'`,
      'fsync = off',
      "log_line_prefix = '%m [%p] '",
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(data, 'pg_hba.conf'), `hostssl all all ${LOOPBACK}/32 cert\n`);
  const roles = opts.roles ?? [];
  if (roles.length > 0) {
    const [c, a] = as.wrap(path.join(bin, 'postgres'), ['--single', '-D', data, '-F', 'postgres']);
    const single = await execa(c, a, { env, extendEnv: false, reject: false, all: true, timeout: INITDB_TIMEOUT_MS, cwd: base, input: roles.map((u) => `CREATE ROLE ${u} LOGIN;\n`).join('') });
    if (single.exitCode !== 0 || /ERROR|FATAL/.test(single.all ?? '')) throw new Error(`creating roles failed:\n${single.all}`);
  }
  const pgCtl = path.join(bin, 'pg_ctl');
  const server = await startServer({
    name: 'postgres (node)',
    build: (port) => {
      const [cmd, args] = as.wrap(path.join(bin, 'postgres'), ['-D', data, '-p', String(port)]);
      return { cmd, args, env, cwd: base };
    },
    stdin: 'ignore',
    startTimeoutMs: START_TIMEOUT_MS,
    stopSignal: 'SIGQUIT',
    killAfterMs: 5_000,
    stopTimeoutMs: 8_000,
    showCommand: false,
    async ready({ port, deadline, abort }) {
      for (;;) {
        const reason = abort();
        if (reason !== undefined) throw new Error(reason);
        const r = await execa(path.join(bin, 'pg_isready'), ['-h', LOOPBACK, '-p', String(port), '-t', '2'], { env, extendEnv: false, reject: false, timeout: 5_000 });
        if (r.exitCode === 0) return;
        if (Date.now() > deadline) throw new Error(`pg_isready still says ${r.stdout}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    retry: ({ log }) => /could not bind|already in use/i.test(log),
  });
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const chown = process.getuid?.() === 0 ? `chown ${as.uid}:${as.gid} ${files.join(' ')} && ` : '';
  return {
    port: server.port,
    data,
    certsDir,
    reloadCommand: `${chown}${as.shellPrefix}${q(pgCtl)} -D ${q(data)} -s reload`,
    async reload() {
      own();
      const [c, a] = as.wrap(pgCtl, ['-D', data, '-s', 'reload']);
      const r = await execa(c, a, { env, extendEnv: false, reject: false, all: true, timeout: 10_000 });
      if (r.exitCode !== 0) throw new Error(`pg_ctl reload failed (${r.exitCode}):\n${r.all}`);
    },
    log: server.log,
    waitForLog: server.waitForLog,
    stop: server.stop,
  };
}
