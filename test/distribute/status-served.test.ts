// `certgen status` on what nodes serve, against real servers on 127.0.0.1: a PostgreSQL server
// (the SQL path: SSLRequest, then TLS, as CockroachDB speaks it) and OpenSSL s_server (the raw-TLS
// RPC path with ALPN h2, and HTTP), each serving the folder distribute writes over a real OpenSSH
// sshd. What status reads is checked against a second decoder (openssl x509: the DER's SHA-256 and
// notAfter). Cases: every endpoint serves the local node.crt; a node still serving its old
// certificate after its files changed (drift, found with one connection: status never polls);
// a host the certificate does not cover and a certificate of another CA (drift); an endpoint where
// nothing listens (an error, its files still reported). The files-only look: status.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { createCA, createNode } from '../../src/cert/commands.js';
import { distribute } from '../../src/distribute/distribute.js';
import { fleetStatus, type StatusTarget } from '../../src/distribute/status.js';
import { notReloadedHint, renderStatus, statusResultJson } from '../../src/distribute/status-render.js';
import { DEFAULT_CA_LIFETIME_NS, DEFAULT_KEY_SIZE, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, type ClusterSpec, type NodeSpec, type VerifySpec } from '../../src/cluster-spec/spec.js';
import { startSshd, type SshServer } from '../helpers/sshd.js';
import { startPgNode, type PgNode } from '../helpers/postgres.js';
import { startServer, stopAll, type Server } from '../helpers/server.js';
import { LOOPBACK, freePort } from '../helpers/net.js';
import { cli, openssl, setup, tmpdir } from '../helpers/index.js';

const FILES = ['ca.crt', 'node.crt', 'node.key'] as const;

interface World {
  root: string;
  certsDir: string;
  caKey: string;
  sshd: SshServer;
  /** n1's SQL port. */
  pg: PgNode;
  /** n2's RPC (ALPN h2) and HTTP ports. */
  rpc: Server;
  http: Server;
  /** Each node's remote folder (what its servers read). */
  remote: Record<string, string>;
}
const w = {} as World;

const localFile = (node: string, f: string): string => path.join(w.certsDir, 'nodes', node, f);

/** The second decoder: openssl's DER of a PEM certificate, hashed by sha256sum, and its notAfter. */
async function opensslFacts(certFile: string): Promise<{ sha256: string; notAfter: string }> {
  const der = await execa('openssl', ['x509', '-in', certFile, '-outform', 'DER'], { encoding: 'buffer' });
  const sum = await execa('sha256sum', [], { input: der.stdout });
  const end = (await openssl(['x509', '-in', certFile, '-noout', '-enddate'])).trim().replace(/^notAfter=/, '');
  return { sha256: sum.stdout.split(' ')[0] ?? '', notAfter: new Date(end).toISOString() };
}

function sServer(name: string, dir: string, args: string[]): Promise<Server> {
  return startServer({
    name,
    build: (port) => ({ cmd: 'openssl', args: ['s_server', '-accept', `${LOOPBACK}:${port}`, '-cert', path.join(dir, 'node.crt'), '-key', path.join(dir, 'node.key'), ...args] }),
    startTimeoutMs: 10_000,
    retry: ({ log, exited }) => exited && /in use|bind/i.test(log),
  });
}

/** A TCP relay to `port` that counts the connections made through it. */
async function countingRelay(port: number): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = net.createServer((c) => {
    n++;
    const up = net.connect({ host: LOOPBACK, port });
    c.pipe(up).pipe(c);
    const end = (): void => {
      c.destroy();
      up.destroy();
    };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const addr = server.address() as net.AddressInfo;
  return { port: addr.port, connections: () => n, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const HOSTS = ['localhost', LOOPBACK];

function specOf(over: { verify?: Record<string, VerifySpec | undefined>; hosts?: Record<string, string[]>; reload?: Record<string, string> } = {}): ClusterSpec {
  const verify: Record<string, VerifySpec | undefined> = { n1: { sql: w.pg.port }, n2: { rpc: w.rpc.port, http: w.http.port, host: LOOPBACK }, n3: undefined, ...over.verify };
  const nodes: NodeSpec[] = ['n1', 'n2', 'n3'].map((name) => ({
    name,
    hosts: over.hosts?.[name] ?? HOSTS,
    keySize: DEFAULT_KEY_SIZE,
    lifetime: DEFAULT_LIFETIME_NS,
    renewBefore: DEFAULT_RENEW_BEFORE_NS,
    ssh: { host: w.sshd.host, port: w.sshd.port, user: w.sshd.user, dir: w.remote[name] as string, identityFile: w.sshd.identityFile, knownHosts: w.sshd.knownHosts, options: [] },
    ...(over.reload?.[name] !== undefined ? { reload: over.reload[name] } : {}),
    ...(verify[name] !== undefined ? { verify: verify[name] } : {}),
  }));
  return { file: path.join(w.root, 'cluster-certs.yaml'), baseDir: w.root, certsDir: w.certsDir, caKey: w.caKey, ca: { keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_CA_LIFETIME_NS }, nodes, clients: [] };
}

const byName = (ts: StatusTarget[], name: string): StatusTarget => {
  const t = ts.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no target ${name}`);
  return t;
};

const s = suite('status: what each node serves (PostgreSQL, openssl s_server)');
setup(s, async () => {
  w.root = tmpdir('certgen-served-');
  w.certsDir = path.join(w.root, 'certs');
  w.caKey = path.join(w.root, 'safe', 'ca.key');
  mkdirSync(path.dirname(w.caKey));
  await createCA({ certsDir: w.certsDir, caKey: w.caKey });
  w.remote = {};
  for (const n of ['n1', 'n2', 'n3']) {
    const dir = path.join(w.certsDir, 'nodes', n);
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(w.certsDir, 'ca.crt'), path.join(dir, 'ca.crt'));
    await createNode({ certsDir: dir, caKey: w.caKey }, HOSTS);
    // The node already runs with these files.
    const r = path.join(tmpdir(`certgen-served-${n}-`), 'certs');
    mkdirSync(r, { mode: 0o700 });
    for (const f of FILES) writeFileSync(path.join(r, f), readFileSync(localFile(n, f)), { mode: f.endsWith('.key') ? 0o600 : 0o644 });
    w.remote[n] = r;
  }
  w.sshd = await startSshd();
  w.pg = await startPgNode(w.remote.n1 as string);
  // -rev answers every line it receives (so the h2 preface gets an answer); -www a status page.
  w.rpc = await sServer('s_server rpc', w.remote.n2 as string, ['-alpn', 'h2', '-rev']);
  w.http = await sServer('s_server http', w.remote.n2 as string, ['-www']);
});
s.after(async () => {
  await w.pg?.stop();
  await stopAll();
  await w.sshd?.stop();
});

s('in sync: every endpoint presents the local node.crt (as openssl reads it), its chain and hosts check out', async () => {
  const r = await fleetStatus(specOf());
  assert.is(r.exitCode, 0, renderStatus(r, 'table'));
  assert.equal(r.summary, { total: 3, inSync: 3, drift: 0, unreachable: 0 });
  const n1 = byName(r.targets, 'n1');
  const ref1 = await opensslFacts(localFile('n1', 'node.crt'));
  assert.is(n1.served?.state, 'in-sync');
  assert.is(n1.served?.expectedSha256, ref1.sha256);
  assert.equal(n1.served?.endpoints.map((e) => [e.kind, e.port, e.state, e.sha256, e.notAfter, e.matchesLocal, e.chainVerifies]), [['sql', w.pg.port, 'in-sync', ref1.sha256, ref1.notAfter, true, true]]);
  assert.equal(n1.served?.endpoints[0]?.hosts, [{ host: 'localhost', ok: true }, { host: LOOPBACK, ok: true }]);
  const n2 = byName(r.targets, 'n2');
  const ref2 = await opensslFacts(localFile('n2', 'node.crt'));
  assert.equal(n2.served?.endpoints.map((e) => [e.kind, e.host, e.port, e.state, e.sha256, e.notAfter, e.protocol]), [
    ['rpc', LOOPBACK, w.rpc.port, 'in-sync', ref2.sha256, ref2.notAfter, 'TLSv1.3'],
    ['http', LOOPBACK, w.http.port, 'in-sync', ref2.sha256, ref2.notAfter, 'TLSv1.3'],
  ]);
  assert.is(byName(r.targets, 'n3').served, null, 'no verify: block, nothing probed');

  const table = renderStatus(r, 'table');
  assert.match(table, /\| +Served +\| Status\n/);
  const day = ref1.notAfter.slice(0, 10);
  assert.match(table, new RegExp(`node n1 .*all 3 in sync +\\| sql 127\\.0\\.0\\.1:${w.pg.port}: local node\\.crt \\(SHA-256 ${ref1.sha256.slice(0, 12)}…, until ${day}\\) +\\| in sync`));
  assert.match(table, new RegExp(`node n2 .*\\| rpc 127\\.0\\.0\\.1:${w.rpc.port}: local node\\.crt \\(SHA-256 ${ref2.sha256.slice(0, 12)}…, until [0-9-]{10}\\); http 127\\.0\\.0\\.1:${w.http.port}: local node\\.crt`));
  assert.match(table, /node n3 .*all 3 in sync +\| - +\| in sync/);
  const md = renderStatus(r, 'markdown');
  assert.match(md, /\| Status \| Target \| Destination \| Reachable \| Files \| Served \|/);
  const doc = statusResultJson(r) as { targets: Array<{ served: { state: string; expectedSha256: string; endpoints: Array<{ kind: string; fingerprint: string; matchesLocal: boolean }> } | null }> };
  assert.is(doc.targets[0]?.served?.endpoints[0]?.fingerprint, (ref1.sha256.toUpperCase().match(/../g) ?? []).join(':'));
  assert.is(doc.targets[2]?.served, null);
});

s('a node still serving its old certificate after distribute (reload did nothing) is drift, found on one connection; in sync once it reloads', async () => {
  const old = await opensslFacts(localFile('n1', 'node.crt'));
  await createNode({ certsDir: path.join(w.certsDir, 'nodes', 'n1'), caKey: w.caKey, overwrite: true }, HOSTS);
  const now = await opensslFacts(localFile('n1', 'node.crt'));
  const d = await distribute(specOf({ reload: { n1: 'true' } }), { nodes: ['n1'] });
  assert.ok(d.ok && d.targets[0]?.status === 'updated');
  const relay = await countingRelay(w.pg.port);
  try {
    const started = Date.now();
    const r = await fleetStatus(specOf({ verify: { n1: { sql: relay.port } } }), { nodes: ['n1'] });
    assert.ok(Date.now() - started < 10_000, 'no polling');
    assert.is(relay.connections(), 1, 'one connection per endpoint');
    assert.is(r.exitCode, 2);
    const t = r.targets[0] as StatusTarget;
    assert.equal([t.state, t.reachable, t.files.map((f) => f.state)], ['drift', true, ['in-sync', 'in-sync', 'in-sync']], 'the files are the local ones; what is served is not');
    const e = t.served?.endpoints[0];
    assert.equal([e?.state, e?.sha256, e?.notAfter, e?.matchesLocal, e?.chainVerifies], ['drift', old.sha256, old.notAfter, false, true]);
    assert.is(t.served?.expectedSha256, now.sha256);
    assert.match(e?.problems[0] ?? '', /presents SHA-256 [0-9A-F:]{95} \(serial [0-9A-F]+, valid until .*\), not the local node\.crt's [0-9A-F:]{95}/);
    const table = renderStatus(r, 'table');
    assert.match(table, new RegExp(`sql 127\\.0\\.0\\.1:${relay.port}: ANOTHER certificate \\(SHA-256 ${old.sha256.slice(0, 12)}…, until [0-9-]{10}; local ${now.sha256.slice(0, 12)}…\\) +\\| DRIFT`));
    assert.match(table, /1 target: 0 in sync, 1 drift, 0 unreachable/);
    assert.is(notReloadedHint(r, () => true, 'certgen distribute c.yaml'), 'node n1: the files are the local ones but another certificate is served (not reloaded?); to reload and verify: certgen distribute c.yaml --force-reload --node n1 --verify');
    assert.is(notReloadedHint(r, () => false), undefined, 'no reload command: nothing to suggest');
  } finally {
    await relay.close();
  }
  await w.pg.reload();
  // A reload is asynchronous: wait until the server logged it before the one look.
  await w.pg.waitForLog(/received SIGHUP|reloading configuration/i, 0, 5_000).catch(() => undefined);
  let after = await fleetStatus(specOf(), { nodes: ['n1'] });
  for (let i = 0; i < 20 && after.exitCode !== 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    after = await fleetStatus(specOf(), { nodes: ['n1'] });
  }
  assert.is(after.exitCode, 0, renderStatus(after, 'table'));
  assert.is(after.targets[0]?.served?.endpoints[0]?.sha256, now.sha256);
});

s('drift: a host of the spec the certificate does not cover, and a certificate of another CA', async () => {
  const names = await fleetStatus(specOf({ hosts: { n2: [...HOSTS, 'db.example.com'] } }), { nodes: ['n2'] });
  assert.is(names.exitCode, 2);
  const e = names.targets[0]?.served?.endpoints[0];
  assert.equal([e?.state, e?.matchesLocal, e?.chainVerifies], ['drift', true, true]);
  assert.equal(e?.hosts, [{ host: 'localhost', ok: true }, { host: LOOPBACK, ok: true }, { host: 'db.example.com', ok: false }]);
  assert.match(renderStatus(names, 'table'), /rpc 127\.0\.0\.1:\d+: local node\.crt \(SHA-256 [0-9a-f]{12}…, until [0-9-]{10}\), not valid for db\.example\.com/);

  // Another CA's node certificate, served on n2's http port.
  const foreign = tmpdir('certgen-served-foreign-');
  await createCA({ certsDir: foreign, caKey: path.join(foreign, 'ca.key') });
  await createNode({ certsDir: foreign, caKey: path.join(foreign, 'ca.key') }, HOSTS);
  const other = await sServer('s_server foreign', foreign, ['-www']);
  try {
    const r = await fleetStatus(specOf({ verify: { n2: { http: other.port, host: LOOPBACK } } }), { nodes: ['n2'] });
    assert.is(r.exitCode, 2);
    const f = r.targets[0]?.served?.endpoints[0];
    assert.equal([f?.kind, f?.state, f?.matchesLocal, f?.chainVerifies, f?.sha256], ['http', 'drift', false, false, (await opensslFacts(path.join(foreign, 'node.crt'))).sha256]);
    assert.match(f?.chainError ?? '', /not signed by the local ca\.crt/);
    assert.match(renderStatus(r, 'table'), /http 127\.0\.0\.1:\d+: ANOTHER certificate \(.*\), chain does not verify against the local ca\.crt: not signed by the local ca\.crt/);
  } finally {
    await other.stop();
  }
});

s('an endpoint where nothing listens is an error (exit 1, over drift); the files are still reported', async () => {
  const down = await freePort();
  const r = await fleetStatus(specOf({ verify: { n1: { sql: down } }, hosts: { n2: [...HOSTS, 'db.example.com'] } }), { nodes: ['n1', 'n2'] });
  assert.is(r.exitCode, 1, 'unreachable wins over drift');
  assert.equal(r.summary, { total: 2, inSync: 0, drift: 1, unreachable: 1 });
  const t = byName(r.targets, 'n1');
  assert.equal([t.state, t.reachable, t.error, t.files.map((f) => f.state)], ['unreachable', true, null, ['in-sync', 'in-sync', 'in-sync']]);
  const e = t.served?.endpoints[0];
  assert.equal([e?.state, e?.sha256, e?.matchesLocal], ['unreachable', null, null]);
  assert.match(e?.problems[0] ?? '', new RegExp(`connection refused by 127\\.0\\.0\\.1:${down}`));
  const table = renderStatus(r, 'table');
  assert.match(table, new RegExp(`node n1 .* yes +\\| all 3 in sync +\\| sql 127\\.0\\.0\\.1:${down}: unreachable \\(connection refused by 127\\.0\\.0\\.1:${down} \\(nothing listens there\\)\\) +\\| UNREACHABLE: sql 127\\.0\\.0\\.1:${down}: unreachable`));
  const doc = statusResultJson(r) as { targets: Array<{ state: string; error: string | null; served: { state: string; endpoints: Array<{ state: string }> } }> };
  assert.equal([doc.targets[0]?.state, doc.targets[0]?.error, doc.targets[0]?.served.state, doc.targets[0]?.served.endpoints[0]?.state], ['unreachable', null, 'unreachable', 'unreachable']);
});

s('the CLI: exit 0 / 2 / 1, the Served column, json served per endpoint, --help', async () => {
  const file = path.join(w.root, 'cluster-certs.yaml');
  const write = (n1Sql: number): void =>
    writeFileSync(
      file,
      stringify({
        certsDir: 'certs',
        caKey: 'safe/ca.key',
        defaults: { verify: { host: LOOPBACK } },
        nodes: ['n1', 'n2'].map((name) => ({
          name,
          hosts: HOSTS,
          ssh: { host: w.sshd.host, port: w.sshd.port, user: w.sshd.user, dir: w.remote[name], identityFile: w.sshd.identityFile, knownHosts: w.sshd.knownHosts },
          verify: name === 'n1' ? { sql: n1Sql } : { rpc: w.rpc.port, http: w.http.port },
          // A reload that does nothing: distribute installs n1's files, the server keeps its old ones.
          ...(name === 'n1' ? { reload: 'true' } : {}),
        })),
      }),
    );
  write(w.pg.port);
  const ok = await cli(['status', file]);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /\| +Served +\| Status\n/);
  assert.match(ok.stdout, /sql 127\.0\.0\.1:\d+: local node\.crt \(SHA-256 [0-9a-f]{12}…, until [0-9-]{10}\)/);

  // n1 serves another certificate: a node.crt of the same CA over the one it serves now.
  const saved = readFileSync(path.join(w.remote.n1 as string, 'node.crt'));
  const pgFolder = w.remote.n1 as string;
  const fresh = tmpdir('certgen-served-fresh-');
  copyFileSync(path.join(w.certsDir, 'ca.crt'), path.join(fresh, 'ca.crt'));
  await createNode({ certsDir: fresh, caKey: w.caKey }, HOSTS);
  copyFileSync(path.join(fresh, 'node.crt'), localFile('n1', 'node.crt'));
  copyFileSync(path.join(fresh, 'node.key'), localFile('n1', 'node.key'));
  const drift = await cli(['status', file, '--json']);
  assert.is(drift.code, 2, drift.stdout + drift.stderr);
  const doc = JSON.parse(drift.stdout) as { targets: Array<{ name: string; state: string; served: { endpoints: Array<{ kind: string; state: string; sha256: string; notAfter: string; matchesLocal: boolean }> } }> };
  assert.equal(doc.targets.map((t) => [t.name, t.state]), [['n1', 'drift'], ['n2', 'in-sync']]);
  const e = doc.targets[0]?.served.endpoints[0];
  const ref = await opensslFacts(path.join(pgFolder, 'node.crt'));
  assert.equal([e?.kind, e?.state, e?.sha256, e?.notAfter, e?.matchesLocal], ['sql', 'drift', ref.sha256, ref.notAfter, false]);
  assert.ok(saved.equals(readFileSync(path.join(pgFolder, 'node.crt'))), 'read-only: the remote file is untouched');
  assert.not.match(drift.stderr, /hint:/, 'the files differ: a plain distribute is the answer');

  // Distributed, but not reloaded: the files are in sync, what is served is not; status says what to run.
  const dist = await cli(['distribute', file, '--node', 'n1', '--quiet']);
  assert.is(dist.code, 0, dist.stdout + dist.stderr);
  const stale = await cli(['status', file]);
  assert.is(stale.code, 2, stale.stdout + stale.stderr);
  assert.match(stale.stdout, /node n1 .*all 3 in sync +\| sql 127\.0\.0\.1:\d+: ANOTHER certificate/);
  assert.ok(stale.stdout.includes(`node n1: the files are the local ones but another certificate is served (not reloaded?); to reload and verify: certgen distribute ${file} --force-reload --node n1 --verify\n`), stale.stdout);
  await w.pg.reload();
  let fixed = await cli(['status', file]);
  for (let i = 0; i < 10 && fixed.code !== 0; i++) fixed = await cli(['status', file]);
  assert.is(fixed.code, 0, fixed.stdout + fixed.stderr);
  assert.not.match(fixed.stdout, /force-reload/);

  write(await freePort());
  const down = await cli(['status', file, '--format', 'markdown']);
  assert.is(down.code, 1, down.stdout + down.stderr);
  assert.match(down.stdout, /\| \*\*\[UNREACHABLE\]\*\* \| node n1 \| .* \| yes \| all 3 in sync \| sql 127\.0\.0\.1:\d+: unreachable \(connection refused/);

  const help = await cli(['status', '--help']);
  assert.match(help.stdout, /2 {2}drift: .* a node serves\n +another certificate than its local node\.crt/);
});

s.run();
