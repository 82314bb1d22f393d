// `certgen rotate … --client-ca` against live servers: the rotation fleet (test/helpers/rotation-fleet.ts)
// with a split client CA, so each PostgreSQL node verifies client certificates against its folder's
// ca-client.crt (ssl_ca_file) while the clients verify the servers against their ca.crt. One fleet,
// rotated three times: a full rotation with two client loops every ~100 ms (`follower` takes the
// tree's files as they are written; `acker` keeps its old certificate until the test switches it
// before --ack-clients) that must never fail; a node that does not reload, then an abort from
// trusted; `rotate continue --client-ca` SIGKILLed at points across the phases. Throughout, every
// remote node.crt and ca.crt stays byte-identical: only ca-client.crt, the client certificates and
// client.node.* change. The local (no server) tests are client-ca.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { setup, tmpdir } from '../helpers/index.js';
import { NO_RELOAD, REFUSED_CLIENT, bundleCerts, bundleSha256s, certSha256, describeTrigger, signedBy, startRotationFleet, type Attempt, type ClientLoop, type Creds, type KillTrigger, type RotationFleet } from '../helpers/rotation-fleet.js';

let f: RotationFleet;
/** Every remote node.crt and ca.crt as the fleet started: a client CA rotation never changes them. */
let untouched: Record<string, string>;
const s = suite('rotate --client-ca end to end: PostgreSQL nodes verifying clients against ca-client.crt, clients connecting throughout');
setup(s, async () => {
  f = await startRotationFleet({ nodes: ['n1', 'n2'], clientCa: true });
  f.writeSpec({ ca: { pruneOld: 'after-reissue' } });
  untouched = mainFiles();
});
s.after(async () => {
  await f?.stop();
});

const SHORT_VERIFY = ['--verify-timeout', '2s'];
const local = (...p: string[]): Buffer => readFileSync(path.join(f.certsDir, ...p));
const remote = (node: string, file: string): Buffer => readFileSync(path.join(f.remote[node] as string, file));
const stateFile = (): string => path.join(f.root, 'cluster-certs.client-ca.rotation.json');
interface State {
  kind: string;
  old: { pem: string };
  new: { pem: string };
  newKey: string;
  nodes: Record<string, { trustVerifiedAt?: string; leafServedAt?: string; pruneVerifiedAt?: string; bundleShippedAt?: string }>;
}
const readState = (): State => JSON.parse(readFileSync(stateFile(), 'utf8')) as State;

function mainFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of f.nodes) for (const file of ['ca.crt', 'node.crt', 'node.key']) out[`${n}:${file}`] = remote(n, file).toString('base64');
  out['clients/app/ca.crt'] = local('clients', 'app', 'ca.crt').toString('base64');
  out['secrets/ca.key'] = readFileSync(f.caKey).toString('base64');
  return out;
}
const assertMainUntouched = (when: string): void => assert.equal(mainFiles(), untouched, `${when}: ca.crt, node.crt, node.key or the CA key changed`);

/** Each node's remote ca-client.crt (SHA-256 per certificate), and the root one's. */
function clientBundles(): Record<string, string[]> {
  const out: Record<string, string[]> = { 'certs/ca-client.crt': bundleSha256s(local('ca-client.crt')) };
  for (const n of f.nodes) out[`${n}:ca-client.crt`] = bundleSha256s(remote(n, 'ca-client.crt'));
  return out;
}
const allClientBundles = (want: string[]): Record<string, string[]> => Object.fromEntries(Object.keys(clientBundles()).map((k) => [k, want]));

/** The client CA rotation's phase (status without --client-ca shows the CA's at the top, the client CA's under clientCa). */
async function phase(): Promise<string> {
  const r = await f.certgen(['rotate', 'status', '--client-ca', '--json']);
  assert.is(r.code, 0, `rotate status: ${r.stdout}\n${r.stderr}`);
  return (JSON.parse(r.stdout) as { phase: string }).phase;
}
/** `rotate continue` (without --client-ca: it infers the rotation under way) must reach `want`. */
async function advance(want: string, args: string[] = []): Promise<void> {
  const r = await f.certgen(['rotate', 'continue', ...args, '--json']);
  assert.is(r.code, 0, `rotate continue ${args.join(' ')} (to ${want}): ${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as { phase: string; kind: string };
  assert.equal([out.kind, out.phase], ['client-ca', want], r.stdout);
  f.mark(want);
}
async function blocked(at: string, reason: RegExp, args: string[] = []): Promise<string> {
  const r = await f.certgen(['rotate', 'continue', ...args]);
  assert.is(r.code, 1, `rotate continue should stop (${reason}): ${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, reason);
  assert.is(await phase(), at, 'the phase did not move');
  return r.stderr;
}
async function start(): Promise<void> {
  f.mark('start');
  const r = await f.certgen(['rotate', 'start', '--client-ca', '--json']);
  assert.is(r.code, 0, `rotate start --client-ca: ${r.stdout}\n${r.stderr}`);
  assert.is(readState().kind, 'client-ca');
}

/** A client certificate for `app` signed by the CA `caPem` with the key file `caKey` (openssl, not certgen). */
async function signClient(caPem: string, caKey: string): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = tmpdir('certgen-live-client-ca-');
  const [ca, key, csr, crt, ext] = ['ca.crt', 'client.key', 'client.csr', 'client.crt', 'ext.cnf'].map((n) => path.join(dir, n)) as [string, string, string, string, string];
  writeFileSync(ca, caPem);
  writeFileSync(ext, 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  await execa('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/O=Cockroach/CN=app', '-out', csr]);
  await execa('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', crt]);
  return { cert: readFileSync(crt), key: readFileSync(key) };
}

const everyNode = (creds: Creds): Promise<Attempt[]> => Promise.all(f.nodes.map((n) => f.connect(n, 'app', creds)));
/** Connects until refused (a reload takes effect a moment after pg_ctl returns), at most 5 s. */
async function refusedBy(node: string, creds: Creds): Promise<Attempt> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const a = await f.connect(node, 'app', creds);
    if (!a.ok || Date.now() > deadline) return a;
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function assertRefused(creds: Creds, what: string): Promise<void> {
  for (const n of f.nodes) {
    const a = await refusedBy(n, creds);
    assert.not.ok(a.ok, `${n} still accepts ${what}`);
    assert.match(a.code ?? '', REFUSED_CLIENT, f.describe([a]));
  }
}

interface Clients {
  follower: ClientLoop;
  acker: ClientLoop;
  held: Creds;
  switchAcker(): void;
}
function startClients(): Clients {
  const tree = f.fromTree('app');
  const c = { held: f.snapshot('app') } as Clients;
  c.follower = f.startLoop('follower', 'app', tree);
  c.acker = f.startLoop('acker', 'app', () => ({ ...c.held, ca: tree().ca }));
  c.switchAcker = () => void (c.held = f.snapshot('app'));
  return c;
}
const roundSince = (t: number) => (as: readonly Attempt[]) => f.nodes.every((n) => as.some((a) => a.node === n && a.at >= t && a.ok));
async function assertNoFailures(loops: ClientLoop[]): Promise<void> {
  const t = Date.now();
  for (const l of loops) await l.waitFor(roundSince(t), 'a round after the last step');
  await Promise.all(loops.map((l) => l.stop()));
  for (const l of loops) {
    assert.ok(l.attempts().length >= 3 * f.nodes.length, `${l.name} made only ${l.attempts().length} attempts`);
    assert.equal(l.failures(), [], `${l.name} failed ${l.failures().length} of ${l.attempts().length} times:\n${f.describe(l.failures())}`);
  }
}

s('the fleet verifies clients against ca-client.crt: a client certificate of the CA of ca.crt is refused, the tree\'s accepted', async () => {
  assert.is(f.clientTrust, 'ca-client.crt');
  for (const n of f.nodes) for (const file of ['ca-client.crt', 'client.node.crt', 'client.node.key']) assert.ok(remote(n, file).equals(local('nodes', n, file)), `${n}:${file} shipped`);
  const app = f.snapshot('app');
  assert.ok(signedBy(app.cert, local('ca-client.crt')) && !signedBy(app.cert, local('ca.crt')));
  for (const a of await everyNode(app)) assert.ok(a.ok, f.describe([a]));
  const byMainCa = await signClient(local('ca.crt').toString(), f.caKey);
  await assertRefused({ ...app, ...byMainCa }, 'a client certificate signed by the CA of ca.crt');
});

s('a full rotation start → done: the loops never fail; trust verified per node by the new client CA\'s probe; after the prune the old client CA is refused', async () => {
  const c = startClients();
  const oldClient = c.held;
  const oldClientCa = bundleCerts(local('ca-client.crt'))[0] as string;
  const oldSha = certSha256(oldClientCa);
  const oldKey = readFileSync(f.clientCaKey as string);
  await c.follower.waitFor(roundSince(Date.now()), 'a first round');
  const clientNode = Object.fromEntries(f.nodes.map((n) => [n, remote(n, 'client.node.crt')]));

  await start();
  const st = readState();
  const newSha = certSha256(st.new.pem);
  const nextKey = path.resolve(f.root, st.newKey);
  assert.is(path.dirname(nextKey), path.dirname(f.clientCaKey as string));
  assert.is(statSync(nextKey).mode & 0o777, 0o600);
  assert.equal(clientBundles(), allClientBundles([oldSha]), 'staging ships nothing');

  await advance('trusted');
  assert.equal(clientBundles(), allClientBundles([newSha, oldSha]));
  for (const n of f.nodes) assert.ok(readState().nodes[n]?.trustVerifiedAt, `${n}: trust verified`);
  // Independently of certgen's probe: a certificate openssl signs with the new client CA key is accepted everywhere now.
  const byNew = await signClient(st.new.pem, nextKey);
  for (const a of await everyNode({ ...oldClient, ...byNew })) assert.ok(a.ok, `trusted: ${f.describe([a])}`);
  for (const n of f.nodes) assert.ok(remote(n, 'client.node.crt').equals(clientNode[n] as Buffer), `${n}: client.node.crt not reissued yet`);
  assertMainUntouched('trusted');

  // reissued: no client propagation wait (clients never hold ca-client.crt).
  await advance('reissued');
  const fresh = f.snapshot('app');
  assert.ok(signedBy(fresh.cert, st.new.pem), 'the client certificate reissued by the new client CA');
  for (const n of f.nodes) {
    assert.ok(signedBy(local('nodes', n, 'client.node.crt'), st.new.pem), `${n}: client.node.crt by the new client CA`);
    assert.ok(remote(n, 'client.node.crt').equals(local('nodes', n, 'client.node.crt')), `${n}: client.node.crt shipped`);
    assert.ok(readState().nodes[n]?.leafServedAt, n);
  }
  for (const a of await everyNode(c.held)) assert.ok(a.ok, `the old client certificate, still in use, accepted: ${f.describe([a])}`);
  assertMainUntouched('reissued');

  // The acker deploys its reissued certificate, then it is acknowledged (the prune's gate; refusals
  // there, abort-refused and other-rotation-in-progress are client-ca.test.ts's).
  c.switchAcker();
  await c.acker.waitFor(roundSince(Date.now()), 'a round with the reissued certificate');
  await advance('pruned', ['--ack-clients']);
  assert.equal(clientBundles(), allClientBundles([newSha]));
  for (const n of f.nodes) assert.ok(readState().nodes[n]?.pruneVerifiedAt, n);
  assertMainUntouched('pruned');

  await advance('done');
  const archives = readdirSync(path.dirname(f.clientCaKey as string)).filter((n) => /^ca-client\.key\..+\.old$/.test(n));
  assert.is(archives.length, 1, archives.join(', '));
  const archived = path.join(path.dirname(f.clientCaKey as string), archives[0] as string);
  assert.is(statSync(archived).mode & 0o777, 0o400);
  assert.ok(readFileSync(archived).equals(oldKey));
  assert.ok(!existsSync(nextKey));
  await assertNoFailures([c.follower, c.acker]);

  // The old client CA is refused: the client's own old certificate, and one openssl signs with the archived key.
  assert.ok(signedBy(oldClient.cert, oldClientCa));
  await assertRefused({ ...oldClient, ca: local('clients', 'app', 'ca.crt') }, 'the old client certificate');
  await assertRefused({ ...oldClient, ...(await signClient(oldClientCa, archived)) }, 'a certificate of the old client CA');
  assertMainUntouched('done');
});

s('a node that does not reload stops trust (trust-unverified); fixed, the rerun resumes; abort from trusted ships [old] back and the new client CA is refused', async () => {
  const loop = f.startLoop('follower', 'app', f.fromTree('app'));
  const oldSha = bundleSha256s(local('ca-client.crt'));
  await start();
  const st = readState();
  f.writeSpec({ ca: { pruneOld: 'after-reissue' }, reload: { n2: NO_RELOAD } });
  await blocked('staged', /^ERROR: trust-unverified: node n2: .*a probe certificate signed by the new client CA refused/m, SHORT_VERIFY);
  // n1 accepted the probe with [new, old] and n2, with only [old] loaded, refused it: the probe is the new client CA's.
  assert.ok(readState().nodes.n1?.trustVerifiedAt);
  assert.is(readState().nodes.n2?.trustVerifiedAt, undefined);
  assert.is(bundleCerts(remote('n2', 'ca-client.crt')).length, 2, 'n2 has the files, never loaded');
  const n1At = readState().nodes.n1?.trustVerifiedAt;
  f.writeSpec({ ca: { pruneOld: 'after-reissue' } });
  const r = await f.certgen(['rotate', 'continue', '--client-ca']);
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, /node n1: /, 'n1 was done');
  assert.match(r.stderr, /node n2: already in place, reloaded/);
  assert.is(readState().nodes.n1?.trustVerifiedAt, n1At);
  assert.is((readState() as State & { phase: string }).phase, 'trusted');

  const keyCopy = path.join(tmpdir('certgen-live-aborted-'), 'ca-client.key');
  copyFileSync(path.resolve(f.root, st.newKey), keyCopy);
  const app = f.snapshot('app');
  const byAborted = { ...app, ...(await signClient(st.new.pem, keyCopy)) };
  for (const a of await everyNode(byAborted)) assert.ok(a.ok, `trusted: ${f.describe([a])}`);
  const ab = await f.certgen(['rotate', 'abort']);
  assert.is(ab.code, 0, ab.stdout + ab.stderr);
  assert.ok(!existsSync(stateFile()) && !existsSync(path.resolve(f.root, st.newKey)), 'state and new key removed');
  // abort itself shipped [old] back to every node and reloaded it.
  assert.equal(clientBundles(), allClientBundles(oldSha));
  await assertRefused(byAborted, 'a client certificate of the aborted client CA');
  assertMainUntouched('aborted');
  await assertNoFailures([loop]);
});

s('rotate continue --client-ca SIGKILLed at points across the phases: each rerun resumes, status stays consistent, the rotation converges; no certificate in use refused', async () => {
  const tree = f.fromTree('app');
  let held: Creds = f.snapshot('app');
  const follower = f.startLoop('follower', 'app', tree);
  const acker = f.startLoop('acker', 'app', () => ({ ...held, ca: tree().ca }));
  await start();
  const steps: Array<{ to: string; args: string[]; kills: KillTrigger[] }> = [
    { to: 'trusted', args: [], kills: [{ on: 'remote', count: 1 }] },
    { to: 'reissued', args: [], kills: [{ on: 'tree', count: 2 }, { on: 'reload', count: 2 }] },
    { to: 'pruned', args: ['--ack-clients'], kills: [{ on: 'reload', count: 2 }] },
    { to: 'done', args: [], kills: [{ on: 'state', count: 1 }] },
  ];
  const table: string[] = [];
  let current = 'staged';
  let landed = 0;
  for (const step of steps) {
    if (step.to === 'pruned') held = f.snapshot('app');
    const cmd = ['rotate', 'continue', '--client-ca', ...step.args];
    for (const trigger of step.kills) {
      if (current === step.to) break;
      f.mark(`${step.to}: kill ${describeTrigger(trigger)}`);
      const k = await f.certgenKilled(cmd, trigger);
      if (!k.killed) assert.is(k.run.code, 0, `an unkilled run must succeed: ${k.run.stdout}\n${k.run.stderr}`);
      else landed++;
      const st = await f.certgen(['rotate', 'status', '--client-ca', '--json']);
      assert.is(st.code, 0, `status after a kill ${describeTrigger(trigger)} → ${step.to}:\n${st.stdout}\n${st.stderr}`);
      current = (JSON.parse(st.stdout) as { phase: string }).phase;
      table.push(`  → ${step.to}: ${describeTrigger(trigger)}: ${k.killed ? `killed, then ${current}` : 'exited first'} (seen ${JSON.stringify(k.seen)})`);
      const now = await Promise.all(f.nodes.flatMap((n) => [f.connect(n, 'app', tree()), f.connect(n, 'app', { ...held, ca: tree().ca })]));
      assert.equal(now.filter((a) => !a.ok), [], `refused after a kill ${describeTrigger(trigger)} → ${step.to}:\n${f.describe(now.filter((a) => !a.ok))}`);
      assertMainUntouched(`killed ${describeTrigger(trigger)} → ${step.to}`);
    }
    if (current !== step.to) {
      const r = await f.certgen([...cmd, '--json']);
      assert.is(r.code, 0, `the clean rerun into ${step.to}: ${r.stdout}\n${r.stderr}\nkills:\n${table.join('\n')}`);
      current = (JSON.parse(r.stdout) as { phase: string }).phase;
    }
    assert.is(current, step.to);
  }
  f.trace(`kills:\n${table.join('\n')}`);
  assert.ok(landed >= 4, `only ${landed} kills landed:\n${table.join('\n')}`);
  await assertNoFailures([follower, acker]);
  const ca = local('ca-client.crt');
  assert.is(bundleCerts(ca).length, 1);
  for (const n of f.nodes) {
    assert.ok(remote(n, 'ca-client.crt').equals(ca), `${n}: ca-client.crt converged`);
    assert.ok(remote(n, 'client.node.crt').equals(local('nodes', n, 'client.node.crt')) && signedBy(remote(n, 'client.node.crt'), ca), `${n}: client.node.crt of the new client CA`);
  }
  const v = await f.certgen(['distribute', '--verify', '--json']);
  assert.is(v.code, 0, v.stdout + v.stderr);
  assert.equal((JSON.parse(v.stdout) as { targets: Array<{ status: string }> }).targets.map((t) => t.status), f.nodes.map(() => 'unchanged'), 'nothing left to ship');
  for (const cmd of [['check'], ['journal', 'verify']]) {
    const r = await f.certgen(cmd);
    assert.is(r.code, 0, `${cmd.join(' ')}: ${r.stdout}\n${r.stderr}`);
  }
  assertMainUntouched('converged');
});

s.run();
