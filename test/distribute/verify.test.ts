// distribute --verify and --rolling against real servers: three PostgreSQL servers stand in for
// CockroachDB nodes, each serving the folder distribute writes over a real OpenSSH sshd on
// 127.0.0.1 (ssl_cert_file/ssl_key_file/ssl_ca_file point into it), with `reload:` running
// `pg_ctl reload` through ssh. A rotation is verified live (each node presents the new node.crt on
// a fresh handshake); the faults: a reload that fails, a reload that "succeeds" but leaves the
// server on its old certificate (verify names both fingerprints), and a rolling rollout that stops
// at the failed node, leaving the nodes after it untouched (their remote files checked, and no ssh
// session ever opened for them). No private key in any command line or in the output.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { createCA, createNode } from '../../src/cert/commands.js';
import { distribute } from '../../src/distribute/distribute.js';
import { distributeResultJson, reloadAgainHint, renderDistributeTable } from '../../src/distribute/render.js';
import { probeEndpoint } from '../../src/verify/probe.js';
import { DEFAULT_CA_LIFETIME_NS, DEFAULT_KEY_SIZE, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, type ClusterSpec, type NodeSpec } from '../../src/cluster-spec/spec.js';
import { decodePem } from '../../src/pki/read/pem.js';
import { startSshd, type SshServer } from '../helpers/sshd.js';
import { startPgNode, type PgNode } from '../helpers/postgres.js';
import { ROOT, cli, setup, tmpdir } from '../helpers/index.js';
import { execa } from 'execa';
import { LOOPBACK } from '../helpers/net.js';

const FILES = ['ca.crt', 'node.crt', 'node.key'] as const;
const NODES = ['n1', 'n2', 'n3'];

interface World {
  root: string;
  certsDir: string;
  caKey: string;
  sshd: SshServer;
  pg: Record<string, PgNode>;
  /** Each node's remote folder (what its server reads). */
  remote: Record<string, string>;
}
const w = {} as World;

const local = (node: string, f: string): Buffer => readFileSync(path.join(w.certsDir, 'nodes', node, f));
const remote = (node: string, f: string): Buffer => readFileSync(path.join(w.remote[node] as string, f));

/** SHA-256 of a PEM certificate file's DER, lower-case hex. */
function derSha(pem: Buffer): string {
  const block = decodePem(pem).find((b) => b.type === 'CERTIFICATE');
  return createHash('sha256').update(block?.der ?? new Uint8Array()).digest('hex');
}
const colon = (hex: string): string => (hex.toUpperCase().match(/../g) ?? []).join(':');

/** A new node.crt/node.key for `node` (same CA), as a rotation makes. */
async function reissue(node: string): Promise<void> {
  await createNode({ certsDir: path.join(w.certsDir, 'nodes', node), caKey: w.caKey, overwrite: true }, ['localhost', LOOPBACK]);
}

function specOf(reload: Record<string, string> = {}): ClusterSpec {
  const nodes: NodeSpec[] = NODES.map((name) => ({
    name,
    hosts: ['localhost', LOOPBACK],
    keySize: DEFAULT_KEY_SIZE,
    lifetime: DEFAULT_LIFETIME_NS,
    renewBefore: DEFAULT_RENEW_BEFORE_NS,
    ssh: { host: w.sshd.host, port: w.sshd.port, user: w.sshd.user, dir: w.remote[name] as string, identityFile: w.sshd.identityFile, knownHosts: w.sshd.knownHosts, options: [] },
    reload: reload[name] ?? (w.pg[name] as PgNode).reloadCommand,
    verify: { sql: (w.pg[name] as PgNode).port },
  }));
  return { file: path.join(w.root, 'cluster-certs.yaml'), baseDir: w.root, certsDir: w.certsDir, caKey: w.caKey, ca: { keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_CA_LIFETIME_NS }, nodes, clients: [] };
}

/** The spec as a cluster-certs.yaml beside the tree (for the CLI and the example script). */
function writeSpecFile(reload: Record<string, string> = {}): string {
  const doc = {
    certsDir: 'certs',
    caKey: 'safe/ca.key',
    nodes: NODES.map((name) => ({
      name,
      hosts: ['localhost', LOOPBACK],
      ssh: { host: w.sshd.host, port: w.sshd.port, user: w.sshd.user, dir: w.remote[name], identityFile: w.sshd.identityFile, knownHosts: w.sshd.knownHosts },
      reload: reload[name] ?? (w.pg[name] as PgNode).reloadCommand,
      verify: { sql: (w.pg[name] as PgNode).port, host: LOOPBACK },
    })),
  };
  const file = path.join(w.root, 'cluster-certs.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

/** The sessions the sshd ran so far that touched `node`'s folder. */
const sessionsFor = (node: string): number => w.sshd.sessions().filter((s) => s.includes(w.remote[node] as string)).length;

function assertNoKeyLeak(text: string, where: string): void {
  assert.not.match(text, /PRIVATE KEY/, `${where}: a private key in the output`);
  for (const s of w.sshd.sessions()) assert.not.match(s, /PRIVATE KEY/, 'a private key in a remote command line');
}

const s = suite('distribute --verify / --rolling: PostgreSQL nodes over a real sshd');
setup(s, async () => {
  w.root = tmpdir('certgen-dverify-');
  w.certsDir = path.join(w.root, 'certs');
  w.caKey = path.join(w.root, 'safe', 'ca.key');
  mkdirSync(path.dirname(w.caKey));
  await createCA({ certsDir: w.certsDir, caKey: w.caKey });
  w.pg = {};
  w.remote = {};
  for (const n of NODES) {
    const dir = path.join(w.certsDir, 'nodes', n);
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(w.certsDir, 'ca.crt'), path.join(dir, 'ca.crt'));
    await createNode({ certsDir: dir, caKey: w.caKey }, ['localhost', LOOPBACK]);
    // The node already runs with these files, as a cluster being rotated does.
    const r = path.join(tmpdir(`certgen-dverify-${n}-`), 'certs');
    mkdirSync(r, { mode: 0o700 });
    for (const f of FILES) writeFileSync(path.join(r, f), local(n, f), { mode: f.endsWith('.key') ? 0o600 : 0o644 });
    w.remote[n] = r;
  }
  w.sshd = await startSshd();
  await Promise.all(NODES.map(async (n) => (w.pg[n] = await startPgNode(w.remote[n] as string))));
});
s.after(async () => {
  await Promise.all(Object.values(w.pg ?? {}).map((p) => p.stop()));
  await w.sshd?.stop();
});

s('an unchanged fleet verifies: every node presents its local node.crt', async () => {
  const r = await distribute(specOf(), { verify: true, verifyTimeoutMs: 10_000 });
  assert.ok(r.ok, renderDistributeTable(r));
  for (const t of r.targets) {
    assert.is(t.status, 'unchanged');
    assert.is(t.verify?.ok, true);
    assert.is(t.verify?.endpoints[0]?.presented.leaf?.sha256, derSha(local(t.name, 'node.crt')));
  }
  assert.match(renderDistributeTable(r), /up to date, verified/);
});

s('a rotation: copied, reloaded over ssh, and each node presents the new certificate on a fresh handshake', async () => {
  const before = Object.fromEntries(NODES.map((n) => [n, derSha(local(n, 'node.crt'))]));
  for (const n of NODES) await reissue(n);
  const r = await distribute(specOf(), { verify: true, verifyTimeoutMs: 15_000 });
  assert.ok(r.ok, renderDistributeTable(r));
  for (const t of r.targets) {
    assert.is(t.status, 'updated');
    assert.is(t.reload.status, 'ran');
    const want = derSha(local(t.name, 'node.crt'));
    assert.is.not(want, before[t.name]);
    assert.ok(remote(t.name, 'node.crt').equals(local(t.name, 'node.crt')));
    assert.is(t.verify?.expectedSha256, want);
    assert.is(t.verify?.endpoints[0]?.presented.leaf?.sha256, want);
    assert.is(t.verify?.endpoints[0]?.judgement.chainVerifies, true);
  }
  const json = JSON.stringify(distributeResultJson(r));
  assert.match(json, /"presentedSha256":"[0-9a-f]{64}"/);
  assertNoKeyLeak(json + renderDistributeTable(r), 'the result');
});

s('a reload that fails: a clear per-host result, the others go on; the rerun does not claim success while the node serves the old certificate', async () => {
  const old = derSha(local('n1', 'node.crt'));
  for (const n of NODES) await reissue(n);
  const r = await distribute(specOf({ n1: 'echo "cannot signal postgres" >&2; exit 3' }), { verify: true, verifyTimeoutMs: 10_000 });
  assert.not.ok(r.ok);
  const [n1, n2, n3] = r.targets;
  assert.is(n1?.status, 'failed');
  assert.is(n1?.phase, 'reload');
  assert.is(n1?.reload.status, 'failed');
  assert.match(n1?.error ?? '', /reload command failed \(exit status 3\): cannot signal postgres/);
  assert.is(n1?.verify, null, 'not verified after a failed reload');
  assert.is(n2?.verify?.ok, true);
  assert.is(n3?.verify?.ok, true);
  // The files are in place, but the server never reloaded them: verify says so, with both fingerprints.
  const again = await distribute(specOf(), { verify: true, verifyTimeoutMs: 1_500, nodes: ['n1'] });
  const t = again.targets[0];
  assert.is(t?.status, 'failed');
  assert.is(t?.phase, 'verify');
  assert.ok(t?.error?.includes(`still presents SHA-256 ${colon(old)}`), t?.error ?? '');
  assert.ok(t?.error?.includes(colon(derSha(local('n1', 'node.crt')))), t?.error ?? '');
  await w.pg.n1?.reload();
  assert.ok((await distribute(specOf(), { verify: true, nodes: ['n1'] })).ok, 'converges once the server reloaded');
});

s('a reload that succeeds but the server keeps its old certificate: verify fails naming both fingerprints', async () => {
  const old = derSha(local('n2', 'node.crt'));
  await reissue('n2');
  const started = Date.now();
  const r = await distribute(specOf({ n2: 'true' }), { verify: true, verifyTimeoutMs: 2_000, nodes: ['n2'] });
  const t = r.targets[0];
  assert.not.ok(r.ok);
  assert.is(t?.reload.status, 'ran');
  assert.is(t?.phase, 'verify');
  const want = derSha(local('n2', 'node.crt'));
  assert.is(t?.error, `sql 127.0.0.1:${w.pg.n2?.port} still presents SHA-256 ${colon(old)} after 2s, not the local node.crt's ${colon(want)} (did the reload take effect?)`);
  assert.is(t?.verify?.endpoints[0]?.presented.leaf?.sha256, old);
  assert.ok(t?.verify?.endpoints[0]?.attempts ?? 0 > 1);
  assert.ok(Date.now() - started < 15_000);
  await w.pg.n2?.reload();
});

s('--force-reload: a node whose reload failed after its install is reloaded on the rerun (its files already current) and verified; dry run; one session; no journal line', async () => {
  const old = derSha(local('n1', 'node.crt'));
  await reissue('n1');
  const want = derSha(local('n1', 'node.crt'));
  const journal = path.join(w.root, 'cluster-certs.journal.jsonl');
  const lines = (): number => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter((l) => l !== '').length : 0);
  const failing = 'echo "cannot signal postgres" >&2; exit 3';
  const first = await distribute(specOf({ n1: failing }), { nodes: ['n1'], verify: true });
  assert.equal([first.targets[0]?.status, first.targets[0]?.phase, first.targets[0]?.copied], ['failed', 'reload', ['node.crt', 'node.key']]);
  assert.ok(remote('n1', 'node.crt').equals(local('n1', 'node.crt')), 'the new files are in place');
  assert.is(reloadAgainHint(first, 'certgen distribute cluster-certs.yaml'), 'node n1: the files are in place but the reload failed. A plain rerun skips the reload (nothing changes); once the cause is fixed, run it again: certgen distribute cluster-certs.yaml --force-reload --node n1 --verify');
  const served = async (): Promise<string | undefined> => (await probeEndpoint({ kind: 'sql', host: LOOPBACK, port: (w.pg.n1 as PgNode).port })).leaf?.sha256;
  assert.is(await served(), old);
  const journaled = lines();

  // The cause is not fixed yet: the forced reload fails again, nothing is copied.
  const still = await distribute(specOf({ n1: failing }), { nodes: ['n1'], forceReload: true });
  const t1 = still.targets[0];
  assert.equal([t1?.status, t1?.phase, t1?.reload.status, t1?.copied], ['failed', 'reload', 'failed', []]);
  assert.match(t1?.error ?? '', /reload command failed \(exit status 3\): cannot signal postgres/);
  assert.match(reloadAgainHint(still) ?? '', /--force-reload --node n1 --verify$/);

  // A dry run says the reload would run, and the line it would send; nothing runs.
  const dry = await distribute(specOf(), { nodes: ['n1'], forceReload: true, dryRun: true });
  const d = dry.targets[0];
  assert.equal([d?.status, d?.reload.status, d?.commands.length], ['unchanged', 'would-run', 2]);
  assert.ok(d?.commands[1]?.[1]?.includes('pg_ctl'), 'the reload line is shown');
  assert.match(renderDistributeTable(dry), /up to date, would reload/);
  assert.is(await served(), old, 'a dry run reloads nothing');

  const before = sessionsFor('n1');
  const r = await distribute(specOf(), { nodes: ['n1'], forceReload: true, verify: true, verifyTimeoutMs: 15_000 });
  const t = r.targets[0];
  assert.ok(r.ok, renderDistributeTable(r));
  assert.equal([t?.status, t?.reload.status, t?.copied, t?.verify?.ok], ['unchanged', 'ran', [], true]);
  assert.is(t?.verify?.endpoints[0]?.presented.leaf?.sha256, want);
  assert.is(sessionsFor('n1') - before, 1, 'one ssh session: the check, then the reload on its stdin');
  assert.match(renderDistributeTable(r), /up to date, reloaded, verified/);
  assert.is(reloadAgainHint(r), undefined);
  assert.equal([r.journal, lines()], [undefined, journaled], 'no file changed: no journal line');
  assertNoKeyLeak(JSON.stringify(distributeResultJson(r)), 'the result');

  // With --rolling: every node reloaded and verified one at a time.
  const events: string[] = [];
  const rolled = await distribute(specOf(), { rolling: true, forceReload: true, onEvent: (e) => events.push(`${e.target}: ${e.phase}: ${e.message}`) });
  assert.ok(rolled.ok, renderDistributeTable(rolled));
  assert.equal(rolled.targets.map((x) => [x.status, x.reload.status, x.verify?.ok]), NODES.map(() => ['unchanged', 'ran', true]));
  const n1Verified = events.findIndex((e) => e.startsWith('node n1: verify: verified'));
  const n2Reload = events.findIndex((e) => e.startsWith('node n2: reload:'));
  assert.ok(n1Verified >= 0 && n1Verified < n2Reload, events.join('\n'));
});

s('the CLI: after a failed reload the table says how to run it again; --force-reload --verify does; --dry-run shows it', async () => {
  await reissue('n3');
  const broken = writeSpecFile({ n3: 'exit 7' });
  const r = await cli(['distribute', broken, '--node', 'n3']);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /FAILED \(running reload\): reload command failed \(exit status 7\)/);
  assert.ok(r.stdout.includes(`node n3: the files are in place but the reload failed. A plain rerun skips the reload (nothing changes); once the cause is fixed, run it again: certgen distribute ${broken} --force-reload --node n3 --verify\n`), r.stdout);
  const json = await cli(['distribute', broken, '--node', 'n3', '--json', '--force-reload']);
  assert.is(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { targets: Array<{ reloadAgain: boolean }> }).targets.map((t) => t.reloadAgain), [true]);
  assert.match(json.stderr, /^hint: node n3: the files are in place but the reload failed\./m);

  const file = writeSpecFile();
  const dry = await cli(['distribute', file, '--node', 'n3', '--force-reload', '--dry-run']);
  assert.is(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /up to date, would reload/);
  assert.match(dry.stdout, /# then, on that session's stdin:\neval .*pg_ctl/);
  const ok = await cli(['distribute', file, '--node', 'n3', '--force-reload', '--verify', '--json']);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  const doc = JSON.parse(ok.stdout) as { targets: Array<{ status: string; reload: { status: string }; verify: { ok: boolean; endpoints: Array<{ presentedSha256: string }> }; reloadAgain: boolean }> };
  assert.equal(doc.targets.map((t) => [t.status, t.reload.status, t.verify.ok, t.reloadAgain]), [['unchanged', 'ran', true, false]]);
  assert.is(doc.targets[0]?.verify.endpoints[0]?.presentedSha256, derSha(local('n3', 'node.crt')));
  const help = await cli(['distribute', '--help']);
  assert.match(help.stdout, /--force-reload +run each target's reload: even when none of its\s+files changed/);
});

s('--rolling: one node at a time; the rollout stops at the node that fails verification and the rest are untouched', async () => {
  assert.ok((await distribute(specOf(), { verify: true })).ok, 'the fleet starts in sync');
  const oldN3 = Object.fromEntries(FILES.map((f) => [f, remote('n3', f)]));
  for (const n of NODES) await reissue(n);
  const n3Sessions = sessionsFor('n3');
  const events: string[] = [];
  const r = await distribute(specOf({ n2: 'true' }), { rolling: true, verifyTimeoutMs: 1_500, onEvent: (e) => events.push(`${e.target}: ${e.phase}: ${e.message}`) });
  assert.not.ok(r.ok);
  assert.equal(r.rollout, { maxUnavailable: 1, done: ['node n1'], failed: ['node n2'], notStarted: ['node n3'], stopped: true });
  assert.equal(r.targets.map((t) => t.status), ['updated', 'failed', 'not-started']);
  assert.is(r.targets[0]?.verify?.ok, true);
  assert.is(r.targets[1]?.phase, 'verify');
  // n1 was verified before n2 began: one node at a time.
  const n1Verified = events.findIndex((e) => e.startsWith('node n1: verify: verified'));
  const n2Check = events.findIndex((e) => e.startsWith('node n2: check'));
  assert.ok(n1Verified >= 0 && n1Verified < n2Check, events.join('\n'));
  // n3: its remote files are the old ones, and no ssh session ever reached its folder.
  for (const f of FILES) assert.ok(remote('n3', f).equals(oldN3[f] as Buffer), `n3 ${f} untouched`);
  assert.is(sessionsFor('n3'), n3Sessions, 'no ssh session for n3');
  assert.is(r.targets[2]?.commands.length, 0);
  const table = renderDistributeTable(r);
  assert.match(table, /not started \(the rollout stopped\)/);
  assert.match(table, /done node n1; failed node n2; not started node n3/);
  await w.pg.n2?.reload();
  // The rerun converges: n1 is up to date, n2 verifies now, n3 is rolled.
  const again = await distribute(specOf(), { rolling: true });
  assert.ok(again.ok, renderDistributeTable(again));
  assert.equal(again.rollout?.done, ['node n1', 'node n2', 'node n3']);
  assert.equal(again.targets.map((t) => t.status), ['unchanged', 'unchanged', 'updated']);
});

s('the CLI: --rolling --json covers done, failed and not started; exit code 1; --max-unavailable 2', async () => {
  for (const n of NODES) await reissue(n);
  const file = writeSpecFile({ n1: 'true' });
  const r = await cli(['distribute', file, '--rolling', '--verify-timeout', '1500ms', '--json']);
  assert.is(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; rollout: unknown; targets: Array<{ status: string; verify: { endpoints: Array<{ presentedSha256: string }> } | null }> };
  assert.is(out.ok, false);
  assert.equal(out.rollout, { maxUnavailable: 1, stopped: true, done: [], failed: ['node n1'], notStarted: ['node n2', 'node n3'] });
  assert.equal(out.targets.map((t) => t.status), ['failed', 'not-started', 'not-started']);
  assertNoKeyLeak(r.stdout + r.stderr, 'the CLI');
  await w.pg.n1?.reload();
  const two = await cli(['distribute', file, '--max-unavailable', '2', '--verify-probe-cert', '--json']);
  assert.is(two.code, 0, two.stdout + two.stderr);
  const ok = JSON.parse(two.stdout) as { rollout: { maxUnavailable: number; done: string[] }; targets: Array<{ verify: { endpoints: Array<{ client: { offered: string; accepted: boolean } }> } }> };
  assert.is(ok.rollout.maxUnavailable, 2);
  assert.equal(ok.rollout.done, ['node n1', 'node n2', 'node n3']);
  for (const t of ok.targets) assert.equal([t.verify.endpoints[0]?.client.offered, t.verify.endpoints[0]?.client.accepted], ["probe certificate", true]);
  assertNoKeyLeak(two.stdout + two.stderr, 'the CLI');
  const bad = await cli(['distribute', file, '--max-unavailable', '0']);
  assert.is(bad.code, 4);
});

const EXAMPLE = path.join(ROOT, 'examples', 'rollout.mjs');
const zx = (file: string, env: Record<string, string> = {}) =>
  execa(path.join(ROOT, 'node_modules', '.bin', 'zx'), [EXAMPLE, file], { cwd: ROOT, reject: false, all: true, env: { ...process.env, FORCE_COLOR: '0', ...env }, timeout: 120_000 });

s('examples/rollout.mjs (zx): drain → copy → reload → verify → undrain per node, with the library pieces', async () => {
  assert.ok((await distribute(specOf(), { verify: true })).ok, 'the fleet starts in sync');
  for (const n of ['n1', 'n3']) await reissue(n);
  const file = writeSpecFile();
  const r = await zx(file);
  assert.is(r.exitCode, 0, r.all);
  const out = r.all ?? '';
  assert.match(out, /rolling 2 node\(s\): n1, n3/, 'only the nodes whose remote files differ');
  const order = ['drain n1 (placeholder)', 'n1: copied node.crt, node.key', 'n1: verified', 'undrain n1 (placeholder)', 'drain n3 (placeholder)', 'n3: verified', 'undrain n3', 'done: n1, n3'];
  let at = -1;
  for (const line of order) {
    const i = out.indexOf(line, at + 1);
    assert.ok(i > at, `"${line}" after the previous step in:\n${out}`);
    at = i;
  }
  for (const n of ['n1', 'n3']) {
    assert.ok(remote(n, 'node.crt').equals(local(n, 'node.crt')));
    const v = await distribute(specOf(), { verify: true, nodes: [n] });
    assert.ok(v.ok && v.targets[0]?.status === 'unchanged', `${n} is up to date and presents its new certificate`);
  }
  assertNoKeyLeak(out, 'the example');
});

s('examples/rollout.mjs stops at a node that keeps its old certificate; the nodes after it are untouched', async () => {
  for (const n of NODES) await reissue(n);
  const oldN3 = Object.fromEntries(FILES.map((f) => [f, remote('n3', f)]));
  const r = await zx(writeSpecFile({ n2: 'true' }), { VERIFY_TIMEOUT_MS: '1500' });
  assert.is(r.exitCode, 1, r.all);
  assert.match(r.all ?? '', /n2: verify failed: sql 127\.0\.0\.1:\d+ still presents SHA-256 [0-9A-F:]{95} after 1\.5s/);
  assert.match(r.all ?? '', /stopped; done: n1; not started: n3 \(n2 stays drained\)/);
  assert.not.match(r.all ?? '', /undrain n2/);
  for (const f of FILES) assert.ok(remote('n3', f).equals(oldN3[f] as Buffer), `n3 ${f} untouched`);
  await w.pg.n2?.reload();
  const again = await zx(writeSpecFile());
  assert.is(again.exitCode, 0, again.all);
  assert.match(again.all ?? '', /rolling 1 node\(s\): n3/);
});

s.run();
