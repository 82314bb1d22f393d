// A live fleet for the CA rotation end-to-end tests (issue 13): three PostgreSQL servers stand in
// for CockroachDB nodes, each serving the certs folder that `certgen distribute` writes to it over
// one loopback OpenSSH sshd (ssl_cert_file, ssl_key_file and ssl_ca_file point into that folder, so
// the node's bundle is what verifies client certificates: `hostssl … cert`), with `reload:`
// running `pg_ctl reload` through ssh. PostgreSQL, like a node, only picks up new files on SIGHUP
// and keeps its old ones when the new ones do not load. With `clientCa: true` the spec has a split
// client CA (clientCa:) and each server's ssl_ca_file is its folder's ca-client.crt instead, as a
// CockroachDB node verifies client certificates with ca-client.crt alone once it has one; the
// clients still verify the servers against their ca.crt.
//
// Client loops connect to every node with node-postgres and verify-full semantics (the bundle as
// the only roots, the server's name checked against 127.0.0.1, a client certificate presented),
// run `SELECT 1`, and record every attempt with its time and error. A loop takes its credentials
// from a source each time: `fromTree` reads the client's folder in the tree (the client that
// follows the procedure: it holds the updated bundle as soon as it is written and switches to its
// reissued certificate when that is issued), `fixed` holds a snapshot for ever (a client nobody
// updated). Everything runs through the built CLI (`dist/cli.js`), as an operator runs it.
//
// Needs the Debian packages postgresql and openssh-server, and `npm run build`.
import { spawn } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { stringify } from 'yaml';
import { ROOT, cliEnv, tmpdir } from './index.js';
import { LOOPBACK } from './net.js';
import { startPgNode, type PgNode } from './postgres.js';
import { startSshd, type SshServer } from './sshd.js';

export const CLI = path.join(ROOT, 'dist', 'cli.js');
/** The loops' period: a new connection to every node this often (when the last round is done). */
export const LOOP_PERIOD_MS = 100;
const CONNECT_TIMEOUT_MS = 5_000;
const CLI_TIMEOUT_MS = 120_000;

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** What a client presents and trusts, as bytes. */
export interface Creds {
  /** The client's bundle (its ca.crt): the only roots it accepts a server under. */
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Where a loop gets its credentials for the next round. */
export type CredSource = () => Creds;

export interface Attempt {
  loop: string;
  node: string;
  /** Date.now() when the connection started. */
  at: number;
  ms: number;
  ok: boolean;
  /** node-postgres' or OpenSSL's code, when it gave one. */
  code?: string;
  error?: string;
  /** SHA-256 (hex) of the client certificate presented. */
  certSha256: string;
  /** How many certificates the client's bundle held. */
  bundleSize: number;
}

export interface ClientLoop {
  name: string;
  user: string;
  attempts(): readonly Attempt[];
  failures(): Attempt[];
  /** Resolves once `pred` holds for the attempts so far; rejects after `timeoutMs` with what was seen. */
  waitFor(pred: (a: readonly Attempt[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Ends the loop after the round in flight. */
  stop(): Promise<void>;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended it (a kill test's SIGKILL), else null. */
  signal: string | null;
  ms: number;
}

/**
 * What the fleet sees happen while a command runs, to aim a kill at:
 * - `tree`: a file of the tree (certs/, a node's or client's folder) put in place under its real name;
 * - `remote`: a node's remote ca.crt, node.crt or node.key (with a split client CA also its
 *   ca-client.crt, client.node.crt or client.node.key) put in place (distribute's rename);
 * - `reload`: a node's `reload:` command started (every reload command first appends to reloads.log);
 * - `state`: a file beside the spec whose name says `rotation` written (the rotation's record);
 * - `journal`: a line appended to the journal;
 * - `session`: an ssh session started.
 * Tree and remote count distinct files per run; the others count every occurrence.
 */
export type FleetEvent = 'tree' | 'remote' | 'reload' | 'state' | 'journal' | 'session';
export const FLEET_EVENTS: readonly FleetEvent[] = ['tree', 'remote', 'reload', 'state', 'journal', 'session'];

/** SIGKILL `extraMs` after the `count`-th `on` event of the run, or `delayMs` after the start. */
export type KillTrigger = { on: FleetEvent; count: number; extraMs?: number } | { delayMs: number };

export function describeTrigger(t: KillTrigger): string {
  return 'delayMs' in t ? `${t.delayMs} ms after the start` : `${t.extraMs ?? 0} ms after ${t.on} event #${t.count}`;
}

export interface KilledRun {
  /** Whether the SIGKILL landed (false: the command exited first, a wasted point). */
  killed: boolean;
  run: CliRun;
  /** The events seen before the kill (or the exit). */
  seen: Record<FleetEvent, number>;
}

export interface FleetOptions {
  /** Node names (default n1, n2, n3). */
  nodes?: string[];
  /** Client users (each is a login role on every node; default app). */
  clients?: string[];
  /** keyType for the CA and every leaf (default ecdsa-p256: key generation in milliseconds). */
  keyType?: string;
  /**
   * A split client CA (`clientCa: { key: secrets/ca-client.key }`): the servers verify client
   * certificates against their folder's ca-client.crt (default false: against ca.crt).
   */
  clientCa?: boolean;
}

export interface SpecOptions {
  /** A node's `reload:` instead of its server's `pg_ctl reload`. */
  reload?: Record<string, string>;
  /** Keys merged into the spec's `ca:` block (e.g. a rotation's policy). */
  ca?: Record<string, unknown>;
  /** Keys merged into `defaults:`. */
  defaults?: Record<string, unknown>;
  /** Nodes without `ssh:` (and `reload:`): shipped by the operator, still checked through `verify:`. */
  noSsh?: string[];
  /** Top-level keys added to the spec. */
  extra?: Record<string, unknown>;
}

export interface RotationFleet {
  root: string;
  specFile: string;
  certsDir: string;
  caKey: string;
  /** The client CA's key (secrets/ca-client.key) when the fleet has a split client CA. */
  clientCaKey?: string;
  /** The file each server verifies client certificates against: ca.crt, or ca-client.crt with a split client CA. */
  clientTrust: string;
  /** The files of a node's folder distribute ships (the split client CA's three included when there is one). */
  nodeFiles: string[];
  nodes: string[];
  clients: string[];
  sshd: SshServer;
  pg: Record<string, PgNode>;
  /** Each node's remote folder: what its server reads. */
  remote: Record<string, string>;
  /** Rewrites cluster-certs.yaml (the fleet's real reload commands and verify ports, plus `opts`). */
  writeSpec(opts?: SpecOptions): void;
  /** `certgen ARGS` through the built CLI in the fleet's folder; the spec file is not added. */
  certgen(args: string[], opts?: { timeoutMs?: number }): Promise<CliRun>;
  /**
   * `certgen ARGS` SIGKILLed on `trigger`, with the process group it leads (its ssh processes die
   * with it, as on a machine that lost power; the remote sessions they had are cut).
   */
  certgenKilled(args: string[], trigger: KillTrigger): Promise<KilledRun>;
  /** The same, throwing with its output unless it exits 0. */
  certgenOk(args: string[], opts?: { timeoutMs?: number }): Promise<CliRun>;
  /** What an operator does for a node without ssh: copies its folder's files over and reloads the server. */
  shipByHand(node: string): Promise<void>;
  /** A client's files in the tree. */
  clientPaths(user: string): { ca: string; cert: string; key: string };
  /** A client's files as they are now. */
  snapshot(user: string): Creds;
  /** Credentials read from the tree on every round (see the file comment). */
  fromTree(user: string): CredSource;
  /** Starts a loop connecting as `user` to every node with `source`'s credentials. */
  startLoop(name: string, user: string, source: CredSource): ClientLoop;
  /** One round by hand: connects as `user` to `node` with `creds` (no loop). */
  connect(node: string, user: string, creds: Creds): Promise<Attempt>;
  /** A line on stderr when CERTGEN_FLEET_TRACE is set (every CLI run is traced so, with its time). */
  trace(line: string): void;
  /** Named instants (Date.now()) in the order marked, for placing failures in a run. */
  mark(label: string): void;
  marks(): Array<{ label: string; at: number }>;
  /** Attempts as readable lines, with the last mark before each, for assertion messages. */
  describe(attempts: readonly Attempt[], limit?: number): string;
  stop(): Promise<void>;
}

/** SHA-256 (hex) of the first certificate of a PEM file. */
export function certSha256(pem: Buffer | string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/** The certificates of a PEM bundle, each as its own PEM. */
export function bundleCerts(pem: Buffer | string): string[] {
  return String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/** SHA-256 (hex) of each certificate of a PEM bundle, in order. */
export function bundleSha256s(pem: Buffer | string): string[] {
  return bundleCerts(pem).map((c) => certSha256(c));
}

/** node-postgres' codes for a server certificate that does not chain to the client's bundle (checked on the client's side). */
export const UNTRUSTED_SERVER = /^(UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|CERT_SIGNATURE_FAILURE)$/;
/** Its code for a client certificate the server refused (an alert from the server's side). */
export const REFUSED_CLIENT = /^ERR_SSL_(TLSV1|SSLV3)_ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR)$/;

/** Whether `cert` (PEM) was signed by the CA `ca` (PEM), by node:crypto (not certgen's decoder). */
export function signedBy(cert: Buffer | string, ca: Buffer | string): boolean {
  const c = new X509Certificate(cert);
  const a = new X509Certificate(ca);
  return c.checkIssued(a) && c.verify(a.publicKey);
}

function matches(cert: Buffer, key: Buffer): boolean {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

/** Credentials that never change. */
export function fixed(creds: Creds): CredSource {
  return () => creds;
}

function errorOf(err: unknown): { code?: string; error: string } {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? { code: e.code, error: message } : { error: message };
}

async function connectOnce(loop: string, node: string, port: number, user: string, creds: Creds): Promise<Attempt> {
  const at = Date.now();
  const base = { loop, node, at, certSha256: certSha256(creds.cert), bundleSize: bundleCerts(creds.ca).length };
  // verify-full: only the bundle as roots, the chain and the server's name (127.0.0.1, an IP SAN)
  // checked by Node's TLS (rejectUnauthorized, checkServerIdentity are its defaults, made explicit).
  const client = new pg.Client({
    host: LOOPBACK,
    port,
    user,
    database: 'postgres',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ssl: { ca: creds.ca, cert: creds.cert, key: creds.key, rejectUnauthorized: true },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ...base, ms: Date.now() - at, ok: true };
  } catch (err) {
    return { ...base, ms: Date.now() - at, ok: false, ...errorOf(err) };
  } finally {
    // end() of a client whose connection failed may never settle: do not wait on it for long.
    await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]);
  }
}

/**
 * Starts the sshd, makes the tree with `certgen apply`, has `certgen distribute` write each node's
 * remote folder, starts a PostgreSQL server on each, and writes the spec with their reload commands
 * and verify ports; `distribute --verify` then finds every node up to date and presenting its
 * node.crt.
 */
export async function startRotationFleet(opts: FleetOptions = {}): Promise<RotationFleet> {
  const nodes = opts.nodes ?? ['n1', 'n2', 'n3'];
  const clients = opts.clients ?? ['app'];
  const keyType = opts.keyType ?? 'ecdsa-p256';
  const root = tmpdir('certgen-fleet-');
  const specFile = path.join(root, 'cluster-certs.yaml');
  const reloadLog = path.join(root, 'reloads.log');
  const journal = path.join(root, 'cluster-certs.journal.jsonl');
  const certsDir = path.join(root, 'certs');
  const caKey = path.join(root, 'secrets', 'ca.key');
  const split = opts.clientCa === true;
  const clientTrust = split ? 'ca-client.crt' : 'ca.crt';
  const nodeFiles = ['ca.crt', 'node.crt', 'node.key', ...(split ? ['ca-client.crt', 'client.node.crt', 'client.node.key'] : [])];
  mkdirSync(path.dirname(caKey), { mode: 0o700 });
  const remote: Record<string, string> = {};
  for (const n of nodes) remote[n] = path.join(tmpdir(`certgen-fleet-${n}-`), 'certs');
  const pgs: Record<string, PgNode> = {};
  const loops: ClientLoop[] = [];
  const marks: Array<{ label: string; at: number }> = [];
  let sshd: SshServer | undefined;

  const stop = async (): Promise<void> => {
    await Promise.all(loops.map((l) => l.stop()));
    await Promise.all(Object.values(pgs).map((p) => p.stop()));
    await sshd?.stop();
  };

  const spec = (s: SshServer, o: SpecOptions & { bootstrap?: boolean }): Record<string, unknown> => ({
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keyType, ...o.ca },
    ...(split ? { clientCa: { key: 'secrets/ca-client.key', keyType } } : {}),
    defaults: { keyType, ...o.defaults },
    nodes: nodes.map((name) => ({
      name,
      hosts: ['localhost', LOOPBACK],
      ...(o.noSsh?.includes(name)
        ? {}
        : {
            ssh: { host: s.host, port: s.port, user: s.user, dir: remote[name], identityFile: s.identityFile, knownHosts: s.knownHosts },
            // Before the servers exist (the first distribute writes the folders they start on) nothing to reload or verify.
            reload: o.bootstrap === true ? 'true' : `echo ${name} >> ${q(reloadLog)}; ${o.reload?.[name] ?? (pgs[name] as PgNode).reloadCommand}`,
          }),
      ...(o.bootstrap === true ? {} : { verify: { host: LOOPBACK, sql: (pgs[name] as PgNode).port } }),
    })),
    clients: clients.map((user) => ({ user })),
    ...o.extra,
  });

  const trace = (line: string): void => {
    if (process.env.CERTGEN_FLEET_TRACE) process.stderr.write(`[fleet ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
  };
  const shown = (args: string[]): string => args.filter((a) => a !== specFile).join(' ');
  const certgen = async (args: string[], o: { timeoutMs?: number } = {}): Promise<CliRun> => {
    const started = Date.now();
    const r = await execa(process.execPath, [CLI, ...args], { cwd: root, env: cliEnv(), extendEnv: false, reject: false, encoding: 'utf8', timeout: o.timeoutMs ?? CLI_TIMEOUT_MS });
    trace(`certgen ${shown(args)}: exit ${r.exitCode ?? r.signal} in ${Date.now() - started} ms`);
    return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, signal: r.signal ?? null, ms: Date.now() - started };
  };
  const certgenOk = async (args: string[], o: { timeoutMs?: number } = {}): Promise<CliRun> => {
    const r = await certgen(args, o);
    if (r.code !== 0) throw new Error(`certgen ${args.join(' ')} exited ${r.code}${r.signal ? ` (${r.signal})` : ''}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  const lines = (file: string): number => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').length : 0);
  const certgenKilled = (args: string[], trigger: KillTrigger): Promise<KilledRun> =>
    new Promise((resolve, reject) => {
      const s = sshd as SshServer;
      const started = Date.now();
      const seen = Object.fromEntries(FLEET_EVENTS.map((e) => [e, 0])) as Record<FleetEvent, number>;
      const base = { reload: lines(reloadLog), journal: lines(journal), session: readdirSync(path.join(s.dir, 'sessions')).length };
      const distinct = { tree: new Set<string>(), remote: new Set<string>() };
      const watchers: FSWatcher[] = [];
      let stdout = '';
      let stderr = '';
      let killed = false;
      let exited = false;
      let armed = false;
      const child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: cliEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const kill = (): void => {
        if (exited || killed) return;
        killed = true;
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const fire = (): void => {
        if (armed || 'delayMs' in trigger || seen[trigger.on] < trigger.count) return;
        armed = true;
        if ((trigger.extraMs ?? 0) > 0) setTimeout(kill, trigger.extraMs);
        else kill();
      };
      const on = (dir: string, fn: (name: string) => void): void => {
        try {
          const w = watch(dir, (_event, name) => {
            if (name !== null && !exited) fn(String(name));
          });
          w.on('error', () => {});
          watchers.push(w);
        } catch {
          // not there (yet): nothing to see in it
        }
      };
      // Real names only: writeFilesAtomic's and distribute's staging names start with a dot.
      const real = (name: string): boolean => !name.startsWith('.') && !name.endsWith('.tmp');
      const count = (e: FleetEvent, n: number): void => {
        seen[e] = n;
        fire();
      };
      const treeDirs = [certsDir, ...nodes.map((n) => path.join(certsDir, 'nodes', n)), ...clients.map((u) => path.join(certsDir, 'clients', u))];
      for (const d of treeDirs) {
        on(d, (name) => {
          if (!real(name) || name === 'nodes' || name === 'clients' || name.startsWith('.certgen')) return;
          distinct.tree.add(path.join(d, name));
          count('tree', distinct.tree.size);
        });
      }
      for (const n of nodes) {
        on(remote[n] as string, (name) => {
          if (!nodeFiles.includes(name)) return;
          distinct.remote.add(`${n}/${name}`);
          count('remote', distinct.remote.size);
        });
      }
      on(root, (name) => {
        if (name === path.basename(reloadLog)) count('reload', lines(reloadLog) - base.reload);
        else if (name === path.basename(journal)) count('journal', lines(journal) - base.journal);
        else if (/rotation/.test(name) && real(name)) count('state', seen.state + 1);
      });
      on(path.join(s.dir, 'sessions'), () => count('session', readdirSync(path.join(s.dir, 'sessions')).length - base.session));
      if ('delayMs' in trigger) setTimeout(kill, trigger.delayMs);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        exited = true;
        for (const w of watchers) w.close();
        trace(`certgen ${shown(args)}: ${killed ? 'SIGKILLed' : `exit ${code}`} after ${Date.now() - started} ms (${describeTrigger(trigger)})`);
        resolve({ killed: killed && signal === 'SIGKILL', seen: { ...seen }, run: { code: code ?? -1, stdout, stderr, signal, ms: Date.now() - started } });
      });
    });

  const clientPaths = (user: string) => {
    const dir = path.join(certsDir, 'clients', user);
    return { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, `client.${user}.crt`), key: path.join(dir, `client.${user}.key`) };
  };
  const snapshot = (user: string): Creds => {
    const p = clientPaths(user);
    return { ca: readFileSync(p.ca), cert: readFileSync(p.cert), key: readFileSync(p.key) };
  };
  const fromTree = (user: string): CredSource => {
    let last: Creds | undefined;
    return () => {
      // apply renames a pair's two files one after the other: a round between them keeps the last
      // whole pair, as a client that reloads its files would.
      try {
        const now = snapshot(user);
        if (matches(now.cert, now.key)) last = now;
      } catch {
        // a file mid-replace: keep the last
      }
      if (last === undefined) throw new Error(`no matching certificate and key for client ${user} in the tree`);
      return last;
    };
  };

  const fleetMarks = (): Array<{ label: string; at: number }> => [...marks];
  const describe = (attempts: readonly Attempt[], limit = 20): string => {
    const lines = attempts.slice(0, limit).map((a) => {
      const before = [...marks].reverse().find((m) => m.at <= a.at);
      const when = before === undefined ? new Date(a.at).toISOString() : `${before.label}+${a.at - before.at}ms`;
      return `  ${a.loop} → ${a.node} at ${when}: ${a.ok ? 'ok' : `${a.code ?? ''} ${a.error ?? ''}`.trim()} (cert ${a.certSha256.slice(0, 12)}, bundle of ${a.bundleSize})`;
    });
    if (attempts.length > limit) lines.push(`  … and ${attempts.length - limit} more`);
    return lines.join('\n');
  };

  const startLoop = (name: string, user: string, source: CredSource): ClientLoop => {
    const attempts: Attempt[] = [];
    let running = true;
    const done = (async () => {
      while (running) {
        const round = Date.now();
        let creds: Creds;
        try {
          creds = source();
        } catch (err) {
          attempts.push({ loop: name, node: '-', at: round, ms: 0, ok: false, error: `no credentials: ${(err as Error).message}`, certSha256: '', bundleSize: 0 });
          await new Promise((r) => setTimeout(r, LOOP_PERIOD_MS));
          continue;
        }
        const results = await Promise.all(nodes.map((n) => connectOnce(name, n, (pgs[n] as PgNode).port, user, creds)));
        attempts.push(...results);
        const wait = LOOP_PERIOD_MS - (Date.now() - round);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    const loop: ClientLoop = {
      name,
      user,
      attempts: () => attempts,
      failures: () => attempts.filter((a) => !a.ok),
      async waitFor(pred, what, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        while (!pred(attempts)) {
          if (Date.now() > deadline) throw new Error(`loop ${name}: ${what} not seen within ${timeoutMs} ms; the last attempts:\n${describe(attempts.slice(-9))}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      async stop() {
        running = false;
        await done;
      },
    };
    loops.push(loop);
    return loop;
  };

  try {
    sshd = await startSshd();
    const s = sshd;
    writeFileSync(specFile, stringify(spec(s, { bootstrap: true })));
    await certgenOk(['apply', specFile]);
    await certgenOk(['distribute', specFile]);
    await Promise.all(nodes.map(async (n) => (pgs[n] = await startPgNode(remote[n] as string, { roles: clients, caFile: clientTrust }))));
    const fleet: RotationFleet = {
      root,
      specFile,
      certsDir,
      caKey,
      ...(split ? { clientCaKey: path.join(root, 'secrets', 'ca-client.key') } : {}),
      clientTrust,
      nodeFiles,
      nodes,
      clients,
      sshd: s,
      pg: pgs,
      remote,
      writeSpec: (o = {}) => writeFileSync(specFile, stringify(spec(s, o))),
      certgen,
      certgenKilled,
      certgenOk,
      clientPaths,
      snapshot,
      fromTree,
      startLoop,
      connect: (node, user, creds) => connectOnce('once', node, (pgs[node] as PgNode).port, user, creds),
      async shipByHand(node) {
        for (const file of nodeFiles) {
          writeFileSync(path.join(remote[node] as string, file), readFileSync(path.join(certsDir, 'nodes', node, file)), { mode: file.endsWith('.key') ? 0o600 : 0o644 });
        }
        await (pgs[node] as PgNode).reload();
      },
      trace,
      mark: (label) => void marks.push({ label, at: Date.now() }),
      marks: fleetMarks,
      describe,
      stop,
    };
    fleet.writeSpec();
    return fleet;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The `reload:` of a node that reloads nothing and says it did (exit 0): it keeps serving its old files. */
export const NO_RELOAD = 'true';
