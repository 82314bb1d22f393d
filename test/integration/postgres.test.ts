// certgen's certificates against a real PostgreSQL: CockroachDB speaks the PostgreSQL wire
// protocol and maps a client certificate's CN to the SQL user, which is what PostgreSQL's
// `hostssl … cert` authentication does too. A throwaway server from Debian's packages (initdb into
// a temp dir, run as the `postgres` user when the tests run as root) listens on 127.0.0.1 and a
// free port with node.crt/node.key/ca.crt; psql logs in with client.<user>.crt/.key and
// sslmode=verify-full, and the logins that must fail do.
//
// Needs the Debian package postgresql (postgresql-15 on bookworm: initdb, postgres, pg_isready;
// it pulls in postgresql-client-15 for psql) and util-linux's setpriv (essential, always there).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { accessSync, chmodSync, chownSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { createCA, createClient, createNode } from '../../src/cert/commands.js';
import { tmpdir } from '../helpers/index.js';
import { LOOPBACK } from '../helpers/net.js';
import { startServer, stopAll } from '../helpers/server.js';

const PG_ROOT = '/usr/lib/postgresql';
const PG_PACKAGE_HINT = 'install the Debian package postgresql (on bookworm postgresql-15, which brings postgresql-client-15)';
const START_TIMEOUT_MS = 20_000;
const CLIENT_TIMEOUT_MS = 15_000;
const INITDB_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Binaries and the postgres user

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The newest `/usr/lib/postgresql/<version>/bin` holding everything the test runs. */
function pgBin(): string {
  const needed = ['initdb', 'postgres', 'pg_isready', 'psql'];
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const bin = path.join(PG_ROOT, v, 'bin');
    if (needed.every((b) => executable(path.join(bin, b)))) return bin;
  }
  throw new Error(`PostgreSQL binaries (${needed.join(', ')}) not found under ${PG_ROOT}/*/bin: ${PG_PACKAGE_HINT}`);
}

interface RunAs {
  uid: number;
  gid: number;
  /** The command line that runs `cmd args` as that user. */
  wrap(cmd: string, args: string[]): [string, string[]];
}

/** postgres refuses to run as root: as root, run it as the `postgres` user through setpriv
 * (which execs, so the pid we hold is the postmaster's); otherwise as ourselves. */
async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) {
    return { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, wrap: (cmd, args) => [cmd, args] };
  }
  const r = await execa('getent', ['passwd', 'postgres'], { reject: false, timeout: 5_000 });
  const fields = (r.stdout ?? '').trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (r.exitCode !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(`no 'postgres' user to run the server as (tests run as root): ${PG_PACKAGE_HINT}`);
  }
  if (!executable('/usr/bin/setpriv')) throw new Error('/usr/bin/setpriv not found: install the Debian package util-linux');
  return {
    uid,
    gid,
    wrap: (cmd, args) => ['/usr/bin/setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', cmd, ...args]],
  };
}

/** The environment every PostgreSQL program gets: no PG* variables from outside, C locale. */
function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('PG') && !k.startsWith('LC_') && k !== 'LANG' && k !== 'HOME') env[k] = v;
  }
  return { ...env, HOME: home, LANG: 'C', LC_ALL: 'C', ...extra };
}

// ---------------------------------------------------------------------------------------------
// Certificates

interface Pair {
  cert: string;
  key: string;
}

interface Certs {
  ca: string;
  node: Pair;
  root: Pair;
  maxroach: Pair;
  foreignRoot: Pair;
}

function pair(certsDir: string, base: string): Pair {
  return { cert: path.join(certsDir, `${base}.crt`), key: path.join(certsDir, `${base}.key`) };
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

async function makeCerts(): Promise<Certs> {
  const dir = tmpdir('certgen-pg-certs-');
  const certsDir = path.join(dir, 'certs');
  const caKey = path.join(dir, 'ca.key');
  await createCA({ certsDir, caKey });
  await createNode({ certsDir, caKey }, ['localhost', '127.0.0.1']);
  await createClient({ certsDir, caKey }, 'root');
  await createClient({ certsDir, caKey, alsoGeneratePkcs8Key: true }, 'maxroach');

  const otherDir = path.join(dir, 'other');
  mkdirSync(otherDir);
  const otherCerts = path.join(otherDir, 'certs');
  const otherKey = path.join(otherDir, 'ca.key');
  await createCA({ certsDir: otherCerts, caKey: otherKey });
  await createClient({ certsDir: otherCerts, caKey: otherKey }, 'root');

  return {
    ca: path.join(certsDir, 'ca.crt'),
    node: pair(certsDir, 'node'),
    root: pair(certsDir, 'client.root'),
    maxroach: pair(certsDir, 'client.maxroach'),
    foreignRoot: pair(otherCerts, 'client.root'),
  };
}

// ---------------------------------------------------------------------------------------------
// The server

interface Pg {
  bin: string;
  port: number;
  certs: Certs;
  /** An empty HOME for psql, so no ~/.postgresql/postgresql.crt is picked up by accident. */
  clientHome: string;
  log(): string;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function startPg(): Promise<Pg> {
  const bin = pgBin();
  const as = await runAs();
  const certs = await makeCerts();

  // The server's folder, owned by the server's user: data, socket, and its copies of the files
  // it reads (the key 0600 and owned by that user, as postgres insists).
  const base = tmpdir('certgen-pg-');
  const data = path.join(base, 'data');
  const sock = path.join(base, 'sock');
  const tls = path.join(base, 'tls');
  const clientHome = tmpdir('certgen-pg-home-');
  mkdirSync(sock, { mode: 0o700 });
  mkdirSync(tls, { mode: 0o700 });
  const serverFiles = {
    cert: path.join(tls, 'node.crt'),
    key: path.join(tls, 'node.key'),
    ca: path.join(tls, 'ca.crt'),
  };
  assert.is(mode(certs.node.key), 0o600, 'certgen wrote node.key 0600');
  copyFileSync(certs.node.cert, serverFiles.cert);
  copyFileSync(certs.node.key, serverFiles.key);
  copyFileSync(certs.ca, serverFiles.ca);
  chmodSync(serverFiles.key, 0o600);
  chmodSync(serverFiles.cert, 0o644);
  chmodSync(serverFiles.ca, 0o644);
  for (const p of [base, sock, tls, ...Object.values(serverFiles)]) chownSync(p, as.uid, as.gid);

  const env = cleanEnv(base);
  const [initCmd, initArgs] = as.wrap(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const init = await execa(initCmd, initArgs, { env, extendEnv: false, reject: false, all: true, timeout: INITDB_TIMEOUT_MS, cwd: base });
  if (init.exitCode !== 0) throw new Error(`initdb failed (${init.exitCode ?? (init.timedOut ? 'timed out' : '?')}):\n${init.all}`);

  appendFileSync(
    path.join(data, 'postgresql.conf'),
    [
      '',
      '# certgen integration test',
      `listen_addresses = '${LOOPBACK}'`,
      `unix_socket_directories = '${sock}'`,
      'ssl = on',
      `ssl_cert_file = '${serverFiles.cert}'`,
      `ssl_key_file = '${serverFiles.key}'`,
      `ssl_ca_file = '${serverFiles.ca}'`,
      'fsync = off',
      'log_connections = on',
      '',
    ].join('\n'),
  );
  // Certificate logins over TLS from loopback, nothing else.
  writeFileSync(path.join(data, 'pg_hba.conf'), `hostssl all all ${LOOPBACK}/32 cert\n`);

  // The SQL users, made in single-user mode so pg_hba.conf needs no other entry.
  const [singleCmd, singleArgs] = as.wrap(path.join(bin, 'postgres'), ['--single', '-D', data, '-F', 'postgres']);
  const single = await execa(singleCmd, singleArgs, {
    env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout: INITDB_TIMEOUT_MS,
    cwd: base,
    input: 'CREATE ROLE root LOGIN;\nCREATE ROLE maxroach LOGIN;\n',
  });
  if (single.exitCode !== 0 || /ERROR|FATAL/.test(single.all ?? '')) throw new Error(`creating roles failed (${single.exitCode}):\n${single.all}`);

  const server = await startServer({
    name: 'postgres',
    build: (port) => {
      const [cmd, args] = as.wrap(path.join(bin, 'postgres'), ['-D', data, '-p', String(port)]);
      return { cmd, args, env, cwd: base };
    },
    stdin: 'ignore',
    startTimeoutMs: START_TIMEOUT_MS,
    // SIGQUIT: immediate shutdown (pg_ctl stop -m immediate); SIGKILL if that hangs.
    stopSignal: 'SIGQUIT',
    killAfterMs: 5_000,
    stopTimeoutMs: 8_000,
    showCommand: false,
    // The port opens before recovery is done; pg_isready says when logins are possible.
    async ready({ port, deadline, abort }) {
      for (;;) {
        const reason = abort();
        if (reason !== undefined) throw new Error(reason);
        const ready = await execa(path.join(bin, 'pg_isready'), ['-h', LOOPBACK, '-p', String(port), '-t', '2'], {
          env: cleanEnv(clientHome),
          extendEnv: false,
          reject: false,
          timeout: 5_000,
        });
        if (ready.exitCode === 0) return;
        if (Date.now() > deadline) throw new Error(`pg_isready still says ${ready.stdout} after ${START_TIMEOUT_MS} ms`);
        await sleep(100);
      }
    },
    retry: ({ log }) => /could not bind|already in use/i.test(log),
  });
  return { bin, port: server.port, certs, clientHome, log: server.log, stop: server.stop };
}

// ---------------------------------------------------------------------------------------------
// psql

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function conninfo(params: Record<string, string | number>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}='${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' ');
}

/** psql with `params` (merged over a verify-full login to localhost = 127.0.0.1 as root). */
async function psql(pg: Pg, params: Record<string, string | number | undefined>, sql = 'SELECT current_user'): Promise<RunResult> {
  const merged: Record<string, string | number> = {};
  const defaults = {
    host: 'localhost',
    hostaddr: LOOPBACK,
    port: pg.port,
    user: 'root',
    dbname: 'postgres',
    sslmode: 'verify-full',
    sslrootcert: pg.certs.ca,
    sslcert: pg.certs.root.cert,
    sslkey: pg.certs.root.key,
  };
  for (const [k, v] of Object.entries({ ...defaults, ...params })) if (v !== undefined) merged[k] = v;
  const r = await execa(path.join(pg.bin, 'psql'), [conninfo(merged), '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: cleanEnv(pg.clientHome, { PGCONNECT_TIMEOUT: '5' }),
    extendEnv: false,
    reject: false,
    timeout: CLIENT_TIMEOUT_MS,
    forceKillAfterDelay: 1_000,
    encoding: 'utf8',
  });
  return { code: r.exitCode ?? -1, stdout: (r.stdout ?? '').trim(), stderr: r.stderr ?? '', timedOut: r.timedOut };
}

function show(r: RunResult): string {
  return `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function assertLogin(r: RunResult, expected: string, what: string): void {
  assert.not.ok(r.timedOut, `${what}: psql timed out\n${show(r)}`);
  assert.is(r.code, 0, `${what}: expected a login, got ${show(r)}`);
  assert.is(r.stdout, expected, `${what}: query result`);
}

function assertRefused(r: RunResult, reason: RegExp, what: string): void {
  assert.not.ok(r.timedOut, `${what}: psql timed out instead of failing\n${show(r)}`);
  // psql: 2 = connection failed.
  assert.is(r.code, 2, `${what}: expected a refused connection, got ${show(r)}`);
  assert.match(r.stderr, reason, `${what}: expected ${reason}; ${show(r)}`);
  assert.is(r.stdout, '', `${what}: the query ran: ${show(r)}`);
}

// ---------------------------------------------------------------------------------------------
// Tests

let started: Promise<Pg> | undefined;
/** Started on first use (a failure in a `before` hook would not fail the suite in uvu 0.5). */
function pg(): Promise<Pg> {
  return (started ??= startPg());
}

const t = suite('PostgreSQL: hostssl cert authentication with certgen certificates');

t.after(async () => {
  await started?.catch(() => undefined);
  await stopAll();
});

t('client.root logs in as root over verify-full TLS; the server saw CN=root', async () => {
  const p = await pg();
  assert.is(mode(p.certs.root.key), 0o600, 'client.root.key is 0600 (libpq refuses group/other access)');
  const r = await psql(p, {}, "SELECT current_user || '|' || s.ssl || '|' || s.client_dn FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()");
  assertLogin(r, 'root|true|/O=Cockroach/CN=root', 'client.root');
});

t('client.maxroach logs in as maxroach', async () => {
  const p = await pg();
  assert.is(mode(p.certs.maxroach.key), 0o600, 'client.maxroach.key is 0600');
  const r = await psql(p, { user: 'maxroach', sslcert: p.certs.maxroach.cert, sslkey: p.certs.maxroach.key });
  assertLogin(r, 'maxroach', 'client.maxroach');
});

t('verify-full also accepts the node cert by its IP SAN (host=127.0.0.1)', async () => {
  const p = await pg();
  const r = await psql(p, { host: LOOPBACK, hostaddr: undefined });
  assertLogin(r, 'root', 'host=127.0.0.1');
});

t('refused: the root cert cannot log in as maxroach (CN mismatch)', async () => {
  const p = await pg();
  const r = await psql(p, { user: 'maxroach' });
  assertRefused(r, /certificate authentication failed for user "maxroach"/, 'root cert as maxroach');
});

t('refused: verify-full with a host name not in the node cert', async () => {
  const p = await pg();
  const r = await psql(p, { host: 'db.example.com' });
  assertRefused(r, /server certificate for "localhost".* does not match host name "db\.example\.com"/, 'host=db.example.com');
});

t('refused: a client cert from another CA', async () => {
  const p = await pg();
  assert.is(mode(p.certs.foreignRoot.key), 0o600);
  const r = await psql(p, { sslcert: p.certs.foreignRoot.cert, sslkey: p.certs.foreignRoot.key });
  assertRefused(r, /unknown ca/i, 'foreign client.root');
});

t('refused: no client cert, and no TLS', async () => {
  const p = await pg();
  const none = await psql(p, { sslcert: path.join(p.clientHome, 'absent.crt'), sslkey: path.join(p.clientHome, 'absent.key') });
  assertRefused(none, /connection requires a valid client certificate/, 'no client cert');
  const plain = await psql(p, { sslmode: 'disable' });
  assertRefused(plain, /no pg_hba\.conf entry for host "127\.0\.0\.1", user "root", database "postgres", no encryption/, 'sslmode=disable');
});

t('libpq refuses the same key once group/other can read it (why 0600 matters)', async () => {
  const p = await pg();
  const dir = tmpdir('certgen-pg-loose-');
  const loose = path.join(dir, 'client.root.key');
  copyFileSync(p.certs.root.key, loose);
  chmodSync(loose, 0o644);
  const r = await psql(p, { sslkey: loose });
  assertRefused(r, /has group or world access/, 'client.root.key 0644');
});

t.run();
