// certgen's certificates against a real PostgreSQL and three of its clients. CockroachDB speaks the
// PostgreSQL wire protocol and maps a client certificate's CN to the SQL user, which is what
// PostgreSQL's `hostssl … cert` authentication does too; so if psql (libpq), node-postgres and
// the PostgreSQL JDBC driver log in to PostgreSQL with certgen's files, they can log in to
// CockroachDB with them.
//
// For each way of making a cluster's certificates (`certgen cert …` and `certgen apply`, through
// the built CLI: test/helpers/clusters.ts) a throwaway server (initdb into a temp dir, run as the
// `postgres` user since the tests run as root) listens on 127.0.0.1 and a free port with that
// cluster's node.crt/node.key/ca.crt. psql, pg and JDBC (with client.<user>.key.pk8, the reason
// `--also-generate-pkcs8-key` exists) log in with sslmode=verify-full or its equivalent, and the
// logins that must fail do: another user's cert, another CA's cert, an expired cert, a server
// certificate the client does not trust. The expired cert is a third client, `expiring`, made by
// the same source (`cert create-client --lifetime 3s`, or a spec entry with `lifetime: 3s`) and
// used once its 3 s have run out.
//
// Needs the Debian packages postgresql (postgresql-15 on bookworm: initdb, postgres, pg_isready;
// it pulls in postgresql-client-15 for psql), default-jdk-headless (java, with the compiler for
// single-file source programs), libpostgresql-jdbc-java (/usr/share/java/postgresql.jar) and
// util-linux's setpriv (essential, always there); and `npm run build` (dist/cli.js).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { accessSync, appendFileSync, chmodSync, chownSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type ClusterFiles, type Pair, type Source, SOURCES, makeCluster } from '../helpers/clusters.js';
import { ROOT, bin, tmpdir } from '../helpers/index.js';
import { LOOPBACK } from '../helpers/net.js';
import { type Server, startServer } from '../helpers/server.js';

const PG_ROOT = '/usr/lib/postgresql';
const PG_PACKAGE_HINT = 'install the Debian package postgresql (on bookworm postgresql-15, which brings postgresql-client-15)';
const JDBC_JAR = '/usr/share/java/postgresql.jar';
const JDBC_PROBE = path.join(ROOT, 'test', 'integration', 'jdbc', 'PgProbe.java');
const START_TIMEOUT_MS = 20_000;
const CLIENT_TIMEOUT_MS = 15_000;
const INITDB_TIMEOUT_MS = 30_000;
/** One JVM start, an in-memory compile of PgProbe.java and a few logins, on a busy 2-core box. */
const JDBC_TIMEOUT_MS = 60_000;
/** The short-lived client's lifetime: long enough to be issued, short enough to wait out. */
const SHORT_LIFETIME = '3s';
const SQL_USERS = ['root', 'maxroach', 'expiring'];

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

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
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
    const dir = path.join(PG_ROOT, v, 'bin');
    if (needed.every((b) => executable(path.join(dir, b)))) return dir;
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

/** The environment every client and server program gets: no PG*, Java or locale variables from
 * outside (PGSSLCERT, JAVA_TOOL_OPTIONS and the like would change what is tested), C locale. */
function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('PG') || k.startsWith('LC_') || k.startsWith('JAVA') || k.startsWith('JDK_') || k.startsWith('_JAVA')) continue;
    if (k !== 'LANG' && k !== 'HOME' && k !== 'CLASSPATH') env[k] = v;
  }
  return { ...env, HOME: home, LANG: 'C', LC_ALL: 'C', ...extra };
}

// ---------------------------------------------------------------------------------------------
// Certificates

type Pk8Pair = Pair & { pk8: string };

interface Certs {
  cluster: ClusterFiles;
  /** A client of the same CA whose certificate expires SHORT_LIFETIME after it was issued. */
  expiring: Pk8Pair;
  /** When `expiring` stops being valid (its notAfter), in ms since the epoch. */
  expiresAt: number;
  /** The same kind of cluster with a CA of its own. */
  foreign: ClusterFiles;
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

async function certgen(args: string[]): Promise<void> {
  const r = await bin(args);
  if (r.code !== 0) throw new Error(`certgen ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
}

/** Adds the short-lived client `expiring` to the cluster the way its source would: another
 * `cert create-client`, or another entry in the spec and another `apply`. */
async function addExpiringClient(c: ClusterFiles): Promise<Pk8Pair> {
  if (c.source === 'cert') {
    await certgen(['cert', 'create-client', 'expiring', '--also-generate-pkcs8-key', '--lifetime', SHORT_LIFETIME, '--certs-dir', c.certsDir, '--ca-key', c.caKey]);
    const base = path.join(c.certsDir, 'client.expiring');
    return { cert: `${base}.crt`, key: `${base}.key`, pk8: `${base}.key.pk8` };
  }
  if (c.spec === undefined) throw new Error('an apply cluster without a spec');
  const spec = parseYaml(readFileSync(c.spec, 'utf8')) as { clients: unknown[] };
  spec.clients.push({ user: 'expiring', lifetime: SHORT_LIFETIME, renewBefore: '0s', pkcs8: true });
  writeFileSync(c.spec, stringifyYaml(spec));
  await certgen(['apply', c.spec]);
  const base = path.join(c.certsDir, 'clients', 'expiring', 'client.expiring');
  return { cert: `${base}.crt`, key: `${base}.key`, pk8: `${base}.key.pk8` };
}

async function makeCerts(source: Source): Promise<Certs> {
  const [cluster, foreign] = await Promise.all([makeCluster(source, { label: 'pg' }), makeCluster(source, { label: 'pg-foreign' })]);
  const expiring = await addExpiringClient(cluster);
  const expiresAt = Date.parse(new X509Certificate(readFileSync(expiring.cert)).validTo);
  if (!Number.isFinite(expiresAt) || expiresAt - Date.now() > 60_000) {
    throw new Error(`client.expiring.crt (lifetime ${SHORT_LIFETIME}) is valid until ${new X509Certificate(readFileSync(expiring.cert)).validTo}`);
  }
  return { cluster, expiring, expiresAt, foreign };
}

// ---------------------------------------------------------------------------------------------
// The server

interface Pg {
  source: Source;
  bin: string;
  port: number;
  certs: Certs;
  /** An empty HOME for the clients, so no ~/.postgresql/postgresql.crt is picked up by accident. */
  clientHome: string;
  log(): string;
  waitForLog: Server['waitForLog'];
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function startPg(source: Source): Promise<Pg> {
  const pgbin = pgBin();
  const as = await runAs();
  const certs = await makeCerts(source);
  const { cluster } = certs;

  // The server's folder, owned by the server's user: data, socket, and its copies of the files
  // it reads (the key 0600 and owned by that user, as postgres insists).
  const base = tmpdir(`certgen-pg-${source}-`);
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
  assert.is(mode(cluster.node.key), 0o600, `certgen (${source}) wrote node.key 0600`);
  copyFileSync(cluster.node.cert, serverFiles.cert);
  copyFileSync(cluster.node.key, serverFiles.key);
  copyFileSync(cluster.ca, serverFiles.ca);
  chmodSync(serverFiles.key, 0o600);
  chmodSync(serverFiles.cert, 0o644);
  chmodSync(serverFiles.ca, 0o644);
  for (const p of [base, sock, tls, ...Object.values(serverFiles)]) chownSync(p, as.uid, as.gid);

  const env = cleanEnv(base);
  const [initCmd, initArgs] = as.wrap(path.join(pgbin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
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
      // The backend's pid on each line: how a JDBC test finds the lines of its own connection.
      "log_line_prefix = '%m [%p] '",
      '',
    ].join('\n'),
  );
  // Certificate logins over TLS from loopback, nothing else.
  writeFileSync(path.join(data, 'pg_hba.conf'), `hostssl all all ${LOOPBACK}/32 cert\n`);

  // The SQL users, made in single-user mode so pg_hba.conf needs no other entry.
  const [singleCmd, singleArgs] = as.wrap(path.join(pgbin, 'postgres'), ['--single', '-D', data, '-F', 'postgres']);
  const single = await execa(singleCmd, singleArgs, {
    env,
    extendEnv: false,
    reject: false,
    all: true,
    timeout: INITDB_TIMEOUT_MS,
    cwd: base,
    input: SQL_USERS.map((u) => `CREATE ROLE ${u} LOGIN;\n`).join(''),
  });
  if (single.exitCode !== 0 || /ERROR|FATAL/.test(single.all ?? '')) throw new Error(`creating roles failed (${single.exitCode}):\n${single.all}`);

  const server = await startServer({
    name: `postgres (${source})`,
    build: (port) => {
      const [cmd, args] = as.wrap(path.join(pgbin, 'postgres'), ['-D', data, '-p', String(port)]);
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
        const ready = await execa(path.join(pgbin, 'pg_isready'), ['-h', LOOPBACK, '-p', String(port), '-t', '2'], {
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
  return { source, bin: pgbin, port: server.port, certs, clientHome, log: server.log, waitForLog: server.waitForLog, stop: server.stop };
}

/** Resolves once client.expiring.crt is past its notAfter (X.509 times have whole seconds). */
async function expired(p: Pg): Promise<void> {
  const wait = p.certs.expiresAt + 1_000 - Date.now();
  if (wait > 0) await sleep(wait);
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
async function psql(p: Pg, params: Record<string, string | number | undefined>, sql = 'SELECT current_user'): Promise<RunResult> {
  const merged: Record<string, string | number> = {};
  const defaults = {
    host: 'localhost',
    hostaddr: LOOPBACK,
    port: p.port,
    user: 'root',
    dbname: 'postgres',
    sslmode: 'verify-full',
    sslrootcert: p.certs.cluster.ca,
    sslcert: p.certs.cluster.root.cert,
    sslkey: p.certs.cluster.root.key,
  };
  for (const [k, v] of Object.entries({ ...defaults, ...params })) if (v !== undefined) merged[k] = v;
  const r = await execa(path.join(p.bin, 'psql'), [conninfo(merged), '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: cleanEnv(p.clientHome, { PGCONNECT_TIMEOUT: '5' }),
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
// node-postgres

interface PgLogin {
  host?: string;
  user?: string;
  client?: Pair;
  ca?: string;
}

type PgResult = { ok: true; user: string } | { ok: false; error: Error & { code?: string } };

/** A pg login with `o` over a verify-full-like one (CA pinned, server name checked: node's TLS
 * defaults) to localhost as root, and `SELECT current_user`. */
async function pgLogin(p: Pg, o: PgLogin = {}): Promise<PgResult> {
  const client = o.client ?? p.certs.cluster.root;
  const c = new pg.Client({
    host: o.host ?? 'localhost',
    port: p.port,
    user: o.user ?? 'root',
    database: 'postgres',
    ssl: { ca: readFileSync(o.ca ?? p.certs.cluster.ca), cert: readFileSync(client.cert), key: readFileSync(client.key) },
    connectionTimeoutMillis: 5_000,
    query_timeout: 5_000,
  });
  // Errors after connect() settled (the server hanging up) arrive as events; one without a
  // listener would crash the test process.
  c.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`pg: no answer within ${CLIENT_TIMEOUT_MS} ms`)), CLIENT_TIMEOUT_MS)));
  try {
    const run = (async () => {
      await c.connect();
      const r = await c.query<{ u: string }>('SELECT current_user AS u');
      return r.rows[0]?.u ?? '(no row)';
    })();
    run.catch(() => {});
    return { ok: true, user: await Promise.race([run, timeout]) };
  } catch (err) {
    return { ok: false, error: err as Error };
  } finally {
    clearTimeout(timer);
    await Promise.race([c.end().catch(() => undefined), sleep(2_000)]);
  }
}

function showPg(r: PgResult): string {
  return r.ok ? `logged in as ${r.user}` : `${r.error.name}${r.error.code ? ` [${r.error.code}]` : ''}: ${r.error.message}`;
}

function assertPgLogin(r: PgResult, expected: string, what: string): void {
  assert.ok(r.ok, `${what}: expected a login, got ${showPg(r)}`);
  if (r.ok) assert.is(r.user, expected, `${what}: current_user`);
}

function assertPgRefused(r: PgResult, reason: RegExp, what: string): void {
  assert.not.ok(r.ok, `${what}: expected a refused connection, got ${showPg(r)}`);
  assert.match(showPg(r), reason, `${what}: expected ${reason}, got ${showPg(r)}`);
}

// ---------------------------------------------------------------------------------------------
// JDBC

interface JdbcLogin {
  host?: string;
  user?: string;
  /** sslcert and sslkey (the pk8 key unless `key` says otherwise). */
  client?: Pk8Pair;
  key?: string;
  ca?: string;
}

function jdbcUrl(p: Pg, o: JdbcLogin): string {
  const client = o.client ?? p.certs.cluster.maxroach;
  const params: Record<string, string> = {
    user: o.user ?? 'maxroach',
    sslmode: 'verify-full',
    sslrootcert: o.ca ?? p.certs.cluster.ca,
    sslcert: client.cert,
    sslkey: o.key ?? client.pk8,
    // No Kerberos probing before TLS, and every step bounded.
    gssEncMode: 'disable',
    connectTimeout: '5',
    loginTimeout: '10',
    socketTimeout: '10',
  };
  const query = Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  return `jdbc:postgresql://${o.host ?? 'localhost'}:${p.port}/postgres?${query}`;
}

function java(): string {
  const found = onPath('java');
  if (found === undefined) throw new Error('java not found: install the Debian package default-jdk-headless');
  if (!existsSync(JDBC_JAR)) throw new Error(`${JDBC_JAR} not found: install the Debian package libpostgresql-jdbc-java`);
  return found;
}

interface JdbcOutcome {
  /** PgProbe's line: "ok <user> <TLS version>" or "error <causes>". */
  client: string;
  /** What the server logged about this connection (its backend's lines). */
  server: string;
}

/** Each login's outcome, in order, from one JVM. The server logs every connection's arrival
 * ("connection received") before its TLS handshake, and PgProbe makes one connection per URL, one
 * after the other: the n-th backend to arrive during the run is the n-th login's. */
async function jdbc(p: Pg, logins: JdbcLogin[]): Promise<JdbcOutcome[]> {
  const urls = logins.map((o) => jdbcUrl(p, o));
  const from = p.log().length;
  // -XX flags: a short-lived JVM spends its time starting, not running.
  const r = await execa(java(), ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', JDBC_JAR, JDBC_PROBE, ...urls], {
    env: cleanEnv(p.clientHome),
    extendEnv: false,
    reject: false,
    timeout: JDBC_TIMEOUT_MS,
    forceKillAfterDelay: 2_000,
    encoding: 'utf8',
    cwd: p.clientHome,
  });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l !== '');
  if (r.timedOut || lines.length !== urls.length || !lines.every((l) => /^(ok|error) /.test(l))) {
    throw new Error(
      `PgProbe.java did not report on each of ${urls.length} logins (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}; running a .java file needs a JDK: the Debian package default-jdk-headless):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`,
    );
  }
  // Its exit code is what a shell script would go by, so it must agree with the lines.
  assert.is(r.exitCode, lines.some((l) => l.startsWith('error')) ? 1 : 0, `PgProbe's exit code, for:\n${lines.join('\n')}`);

  // The server's lines arrive through a pipe: wait until each connection has one past its arrival.
  const backends = (): Map<string, string[]> => {
    const byPid = new Map<string, string[]>();
    for (const line of p.log().slice(from).split('\n')) {
      const m = /\[(\d+)\] (.*)$/.exec(line);
      if (!m) continue;
      const [, pid, text] = m as unknown as [string, string, string];
      if (/connection received: host=127\.0\.0\.1/.test(text)) byPid.set(pid, [text]);
      else byPid.get(pid)?.push(text);
    }
    return byPid;
  };
  const complete = (): boolean => {
    const b = [...backends().values()];
    return b.length >= urls.length && b.every((l) => l.length > 1);
  };
  const deadline = Date.now() + 5_000;
  while (!complete() && Date.now() < deadline) await sleep(25);
  const seen = [...backends().values()];
  if (seen.length !== urls.length || !complete()) {
    throw new Error(`expected the server to log ${urls.length} connections from PgProbe, one per login, each with an outcome; it logged:\n${p.log().slice(from)}`);
  }
  return lines.map((client, i) => ({ client, server: (seen[i] as string[]).join('\n') }));
}

function assertJdbc(o: JdbcOutcome, client: RegExp, server: RegExp, what: string): void {
  const got = `client: ${o.client}\nserver:\n${o.server}`;
  assert.match(o.client, client, `JDBC ${what}: expected the client to say ${client}; ${got}`);
  assert.match(o.server, server, `JDBC ${what}: expected the server to say ${server}; ${got}`);
}

// ---------------------------------------------------------------------------------------------
// Tests, one suite (and one server) per source

function defineSuite(source: Source): void {
  let started: Promise<Pg> | undefined;
  /** Started on first use: a failure in a `before` hook would not fail the suite in uvu 0.5, so
   * every test awaits this and fails with the setup's error. */
  const server = (): Promise<Pg> => (started ??= startPg(source));

  // The JDBC logins, made by one JVM (a JVM start costs more than all of the logins) once the
  // short-lived cert has expired; each JDBC test below asserts its own outcomes.
  type JdbcCase = 'maxroach' | 'maxroachByIp' | 'maxroachAsRoot' | 'foreignClient' | 'foreignServer' | 'pemKey' | 'expired';
  let jdbcRun: Promise<Record<JdbcCase, JdbcOutcome>> | undefined;
  const jdbcResults = (): Promise<Record<JdbcCase, JdbcOutcome>> =>
    (jdbcRun ??= (async () => {
      const p = await server();
      const logins: Record<JdbcCase, JdbcLogin> = {
        maxroach: {},
        maxroachByIp: { host: LOOPBACK },
        maxroachAsRoot: { user: 'root' },
        foreignClient: { client: p.certs.foreign.maxroach },
        foreignServer: { ca: p.certs.foreign.ca },
        pemKey: { key: p.certs.cluster.maxroach.key },
        expired: { user: 'expiring', client: p.certs.expiring },
      };
      await expired(p);
      const names = Object.keys(logins) as JdbcCase[];
      const outcomes = await jdbc(p, names.map((n) => logins[n]));
      return Object.fromEntries(names.map((n, i) => [n, outcomes[i]])) as Record<JdbcCase, JdbcOutcome>;
    })());

  const t = suite(`PostgreSQL [${source}]: hostssl cert authentication with certs from certgen ${source === 'cert' ? 'cert …' : 'apply'}`);

  t.after(async () => {
    await started?.then((p) => p.stop()).catch(() => undefined);
  });

  // psql (libpq)

  t(`[${source}] psql: client.root logs in as root over verify-full TLS; the server saw CN=root`, async () => {
    const p = await server();
    assert.is(mode(p.certs.cluster.root.key), 0o600, 'client.root.key is 0600 (libpq refuses group/other access)');
    const r = await psql(p, {}, "SELECT current_user || '|' || s.ssl || '|' || s.client_dn FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()");
    assertLogin(r, 'root|true|/O=Cockroach/CN=root', 'client.root');
  });

  t(`[${source}] psql: client.maxroach logs in as maxroach`, async () => {
    const p = await server();
    const { maxroach } = p.certs.cluster;
    assert.is(mode(maxroach.key), 0o600, 'client.maxroach.key is 0600');
    const r = await psql(p, { user: 'maxroach', sslcert: maxroach.cert, sslkey: maxroach.key });
    assertLogin(r, 'maxroach', 'client.maxroach');
  });

  t(`[${source}] psql: verify-full also accepts the node cert by its IP SAN (host=127.0.0.1)`, async () => {
    const p = await server();
    const r = await psql(p, { host: LOOPBACK, hostaddr: undefined });
    assertLogin(r, 'root', 'host=127.0.0.1');
  });

  t(`[${source}] psql refused: the root cert cannot log in as maxroach (CN mismatch)`, async () => {
    const p = await server();
    const r = await psql(p, { user: 'maxroach' });
    assertRefused(r, /certificate authentication failed for user "maxroach"/, 'root cert as maxroach');
  });

  t(`[${source}] psql refused: a client cert from another CA`, async () => {
    const p = await server();
    const { root } = p.certs.foreign;
    assert.is(mode(root.key), 0o600);
    const r = await psql(p, { sslcert: root.cert, sslkey: root.key });
    assertRefused(r, /SSL error: tlsv1 alert unknown ca/, 'foreign client.root');
  });

  t(`[${source}] psql refused: verify-full with a host name not in the node cert, or another CA as sslrootcert`, async () => {
    const p = await server();
    const name = await psql(p, { host: 'db.example.com' });
    assertRefused(name, /server certificate for "localhost".* does not match host name "db\.example\.com"/, 'host=db.example.com');
    const ca = await psql(p, { sslrootcert: p.certs.foreign.ca });
    assertRefused(ca, /certificate verify failed/, 'sslrootcert = the other CA');
  });

  t(`[${source}] psql refused: no client cert, and no TLS`, async () => {
    const p = await server();
    const none = await psql(p, { sslcert: path.join(p.clientHome, 'absent.crt'), sslkey: path.join(p.clientHome, 'absent.key') });
    assertRefused(none, /connection requires a valid client certificate/, 'no client cert');
    const plain = await psql(p, { sslmode: 'disable' });
    assertRefused(plain, /no pg_hba\.conf entry for host "127\.0\.0\.1", user "root", database "postgres", no encryption/, 'sslmode=disable');
  });

  t(`[${source}] psql: libpq refuses the same key once group/other can read it (why 0600 matters)`, async () => {
    const p = await server();
    const dir = tmpdir('certgen-pg-loose-');
    const loose = path.join(dir, 'client.root.key');
    copyFileSync(p.certs.cluster.root.key, loose);
    chmodSync(loose, 0o644);
    const r = await psql(p, { sslkey: loose });
    assertRefused(r, /has group or world access/, 'client.root.key 0644');
  });

  // node-postgres

  t(`[${source}] pg: client.root logs in as root (host localhost), client.maxroach as maxroach (host 127.0.0.1)`, async () => {
    const p = await server();
    assertPgLogin(await pgLogin(p), 'root', 'pg client.root via localhost');
    assertPgLogin(await pgLogin(p, { host: LOOPBACK, user: 'maxroach', client: p.certs.cluster.maxroach }), 'maxroach', 'pg client.maxroach via 127.0.0.1');
  });

  t(`[${source}] pg refused: another user's cert, another CA's client cert, a server cert from an untrusted CA`, async () => {
    const p = await server();
    assertPgRefused(await pgLogin(p, { user: 'maxroach' }), /certificate authentication failed for user "maxroach"/, 'pg root cert as maxroach');
    assertPgRefused(await pgLogin(p, { client: p.certs.foreign.root }), /\[ERR_SSL_TLSV1_ALERT_UNKNOWN_CA\]/, 'pg foreign client.root');
    // The server sends its chain, node.crt and ca.crt: node checks that chain against `ca`.
    assertPgRefused(await pgLogin(p, { ca: p.certs.foreign.ca }), /\[SELF_SIGNED_CERT_IN_CHAIN\]/, 'pg with the other CA as ca');
  });

  // An expired certificate (same CA, same commands, only --lifetime/lifetime 3s)

  t(`[${source}] psql and pg refused: an expired client cert, with the server's "certificate expired" alert`, async () => {
    const p = await server();
    await expired(p);
    const { expiring } = p.certs;
    assert.ok(Date.now() > p.certs.expiresAt, 'client.expiring.crt has expired');
    const r = await psql(p, { user: 'expiring', sslcert: expiring.cert, sslkey: expiring.key });
    assertRefused(r, /SSL error: sslv3 alert certificate expired/, 'psql with the expired client.expiring');
    const q = await pgLogin(p, { user: 'expiring', client: expiring });
    assertPgRefused(q, /\[ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED\]/, 'pg with the expired client.expiring');
  });

  // JDBC with the DER PKCS#8 key. pgjdbc seldom reports why the server refused a client cert:
  // in TLS 1.3 the server judges it after the client has finished its handshake, and the JVM's
  // next write usually fails (Broken pipe, Connection reset) before it reads the server's alert,
  // so the server's log says what happened.

  t(`[${source}] JDBC: client.maxroach.crt + client.maxroach.key.pk8 logs in as maxroach over verify-full TLS 1.3 (host localhost, and 127.0.0.1)`, async () => {
    const j = await jdbcResults();
    const authenticated = /connection authenticated: identity="CN=maxroach,O=Cockroach" method=cert[^]*connection authorized: user=maxroach database=postgres SSL enabled \(protocol=TLSv1\.3/;
    assertJdbc(j.maxroach, /^ok maxroach TLSv1\.3$/, authenticated, 'maxroach via localhost');
    assertJdbc(j.maxroachByIp, /^ok maxroach TLSv1\.3$/, authenticated, 'maxroach via 127.0.0.1');
  });

  t(`[${source}] JDBC refused: maxroach's cert as root; a server cert from an untrusted CA`, async () => {
    const j = await jdbcResults();
    assertJdbc(
      j.maxroachAsRoot,
      /^error org\.postgresql\.util\.PSQLException: FATAL: certificate authentication failed for user "root"/,
      /provided user name \(root\) and authenticated user name \(maxroach\) do not match/,
      'maxroach cert as root',
    );
    assertJdbc(j.foreignServer, /^error .*SSLHandshakeException: PKIX path validation failed/, /could not accept SSL connection: .*certificate unknown/, 'the other CA as sslrootcert');
  });

  t(`[${source}] JDBC refused: a client cert from another CA`, async () => {
    const j = await jdbcResults();
    assertJdbc(j.foreignClient, /^error org\.postgresql\.util\.PSQLException: .*(unknown_ca|Broken pipe|Connection reset)/, /could not accept SSL connection: certificate verify failed/, 'foreign client.maxroach');
  });

  t(`[${source}] JDBC refused: an expired client cert`, async () => {
    const j = await jdbcResults();
    assertJdbc(j.expired, /^error org\.postgresql\.util\.PSQLException: .*(certificate_expired|Broken pipe|Connection reset)/, /could not accept SSL connection: certificate verify failed/, 'expired client.expiring');
  });

  t(`[${source}] JDBC: the PEM client.maxroach.key is not a key it can read (hence the .pk8)`, async () => {
    const j = await jdbcResults();
    assertJdbc(
      j.pemKey,
      /^error org\.postgresql\.util\.PSQLException: Could not read SSL key file .*client\.maxroach\.key\. \| java\.io\.IOException: extra data at the end$/,
      // The JVM gives up inside the handshake, once asked for its certificate and key.
      /^LOG: {2}connection received: [^\n]*\nLOG: {2}could not (receive data from client|accept SSL connection): [^\n]*$/,
      'PEM key',
    );
  });

  t.run();
}

for (const source of SOURCES) defineSuite(source);
