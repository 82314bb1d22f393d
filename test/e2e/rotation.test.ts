// CA rotation end to end on live servers (issue 13): `certgen rotate start|status|continue|abort`
// run through the built CLI against the rotation fleet (test/helpers/rotation-fleet.ts: three
// PostgreSQL nodes serving what distribute writes over a loopback sshd, client loops with
// verify-full every ~100 ms). Two clients follow the procedure: `follower` takes the tree's files
// as soon as they are written; `acker` holds its old certificate with the updated bundle and only
// switches to its reissued certificate when the test acknowledges it (`--ack-clients`), so the old
// certificate stays in use through the whole reissue. Neither may ever fail. After the prune the
// old CA's client certificates are refused and a server presenting a leaf of the old CA is no
// longer trusted, checked with node-postgres; leaves are checked against the CAs with node:crypto.
// One fleet, rotated again and again as a cluster is over its life: a full rotation, aborts from
// staged and from trusted, a node that does not reload, a compromised-key rotation.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { execa } from 'execa';
import { setup, tmpdir } from '../helpers/index.js';
import {
  NO_RELOAD,
  REFUSED_CLIENT,
  UNTRUSTED_SERVER,
  bundleCerts,
  bundleSha256s,
  certSha256,
  signedBy,
  startRotationFleet,
  type Attempt,
  type ClientLoop,
  type Creds,
  type RotationFleet,
  type SpecOptions,
} from '../helpers/rotation-fleet.js';

let f: RotationFleet;
const s = suite('certgen rotate end to end: three PostgreSQL nodes over a loopback sshd, clients connecting throughout');
setup(s, async () => {
  f = await startRotationFleet();
});
s.after(async () => {
  await f?.stop();
});

/** Bundle pick-up is not observable: keep the wait short (the gate into reissued waits it out). */
const PROPAGATION = '1s';
const PROPAGATION_MS = 1_000;
/** For a node that will not pass: fail in 2 s instead of the default 30 s. */
const SHORT_VERIFY = ['--verify-timeout', '2s'];
const rotationSpec = (o: SpecOptions = {}): SpecOptions => ({ ...o, ca: { clientPropagation: PROPAGATION, ...o.ca } });

const stateFile = (): string => path.join(f.root, 'cluster-certs.rotation.json');
interface State {
  old: { sha256: string };
  new: { sha256: string; pem: string };
  /** The new CA key until it takes caKey's place, relative to the spec's folder. */
  newKey: string;
}
const readState = (): State => JSON.parse(readFileSync(stateFile(), 'utf8')) as State;
const local = (...p: string[]): Buffer => readFileSync(path.join(f.certsDir, ...p));
const remote = (node: string, file: string): Buffer => readFileSync(path.join(f.remote[node] as string, file));
/** Every bundle: the root one, each node's and client's folder, each node's remote copy. */
function bundles(): Record<string, string[]> {
  const out: Record<string, string[]> = { 'certs/ca.crt': bundleSha256s(local('ca.crt')) };
  for (const n of f.nodes) {
    out[`nodes/${n}/ca.crt`] = bundleSha256s(local('nodes', n, 'ca.crt'));
    out[`${n}:ca.crt`] = bundleSha256s(remote(n, 'ca.crt'));
  }
  for (const u of f.clients) out[`clients/${u}/ca.crt`] = bundleSha256s(local('clients', u, 'ca.crt'));
  return out;
}
const allBundles = (want: string[]): Record<string, string[]> => Object.fromEntries(Object.keys(bundles()).map((k) => [k, want]));

interface Status {
  phase: string;
  [k: string]: unknown;
}
async function status(): Promise<Status> {
  const r = await f.certgen(['rotate', 'status', f.specFile, '--json']);
  assert.is(r.code, 0, `rotate status: ${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Status;
}
const phase = async (): Promise<string> => (await status()).phase;

/** `rotate continue` must take the rotation to `want` (exit 0; its --json says the phase reached). */
async function advance(want: string, args: string[] = []): Promise<void> {
  const r = await f.certgen(['rotate', 'continue', f.specFile, ...args, '--json']);
  assert.is(r.code, 0, `rotate continue ${args.join(' ')} (to ${want}): exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.is((JSON.parse(r.stdout) as { phase: string }).phase, want, r.stdout);
  f.mark(want);
}

/** `rotate continue` must stop at its gate: exit 1 with the reason, and status still says `at`. */
async function blocked(at: string, reason: RegExp, args: string[] = []): Promise<string> {
  const r = await f.certgen(['rotate', 'continue', f.specFile, ...args]);
  assert.is(r.code, 1, `rotate continue should stop (${reason}): ${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout + r.stderr, reason);
  assert.is(await phase(), at, 'the phase did not move');
  return r.stdout + r.stderr;
}

async function start(args: string[] = []): Promise<void> {
  f.mark('start');
  const r = await f.certgen(['rotate', 'start', f.specFile, ...args, '--json']);
  assert.is(r.code, 0, `rotate start: ${r.stdout}\n${r.stderr}`);
  assert.is((JSON.parse(r.stdout) as { phase: string }).phase, 'staged');
}

const PREVIOUS: Record<string, string> = { trusted: 'staged', reissued: 'trusted', pruned: 'reissued', done: 'pruned' };

/** Waits out the client propagation time since trust was verified. */
const propagate = (): Promise<void> => new Promise((r) => setTimeout(r, PROPAGATION_MS + 200));

/** The two clients that follow the procedure (see the file comment). */
interface Clients {
  follower: ClientLoop;
  acker: ClientLoop;
  /** The acker's certificate until `switchAcker`. */
  held: Creds;
  switchAcker(): Creds;
  stop(): Promise<void>;
}
function startClients(): Clients {
  const tree = f.fromTree('app');
  const c = { held: f.snapshot('app') } as Clients;
  c.follower = f.startLoop('follower', 'app', tree);
  c.acker = f.startLoop('acker', 'app', () => ({ ...c.held, ca: tree().ca }));
  c.switchAcker = () => (c.held = f.snapshot('app'));
  c.stop = async () => {
    await Promise.all([c.follower.stop(), c.acker.stop()]);
  };
  return c;
}
const everyNodeOk = (since: number) => (as: readonly Attempt[]) => f.nodes.every((n) => as.some((a) => a.node === n && a.at >= since && a.ok));
async function assertNoFailures(c: Clients): Promise<void> {
  const t = Date.now();
  await c.follower.waitFor(everyNodeOk(t), 'a round after the last step');
  await c.acker.waitFor(everyNodeOk(t), 'a round after the last step');
  await c.stop();
  for (const l of [c.follower, c.acker]) {
    assert.ok(l.attempts().length >= 3 * f.nodes.length, `${l.name} made only ${l.attempts().length} attempts`);
    assert.equal(l.failures(), [], `${l.name} failed ${l.failures().length} of ${l.attempts().length} times:\n${f.describe(l.failures())}`);
  }
}

/** Connects to every node; returns the attempts. */
const everyNode = (creds: Creds): Promise<Attempt[]> => Promise.all(f.nodes.map((n) => f.connect(n, 'app', creds)));

/** A client certificate for `app` signed by the CA (cert, key: PEM files), made with openssl. */
async function signClient(caCert: string, caKey: string): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = tmpdir('certgen-e2e-signed-');
  const key = path.join(dir, 'client.key');
  const csr = path.join(dir, 'client.csr');
  const crt = path.join(dir, 'client.crt');
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  await execa('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/CN=app', '-out', csr]);
  await execa('openssl', ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', crt]);
  return { cert: readFileSync(crt), key: readFileSync(key) };
}

/** The leaves in the tree, each checked against `ca` with node:crypto. */
function leavesSignedBy(ca: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const n of f.nodes) out[`node ${n}`] = signedBy(local('nodes', n, 'node.crt'), ca);
  for (const u of f.clients) out[`client ${u}`] = signedBy(local('clients', u, `client.${u}.crt`), ca);
  return out;
}
const all = (v: boolean): Record<string, boolean> => Object.fromEntries([...f.nodes.map((n) => `node ${n}`), ...f.clients.map((u) => `client ${u}`)].map((k) => [k, v]));

s('before any rotation: status says none and the fleet is in sync', async () => {
  f.writeSpec(rotationSpec({ ca: { pruneOld: 'after-reissue' } }));
  assert.is(await phase(), 'none');
  const r = await f.certgen(['distribute', f.specFile, '--verify']);
  assert.is(r.code, 0, r.stdout + r.stderr);
});

s('a full rotation, start → done: no failed connection for clients that followed it; then the old CA is refused both ways', async () => {
  const oldCa = bundleCerts(local('ca.crt'))[0] as string;
  const oldSha = certSha256(oldCa);
  const oldKey = readFileSync(f.caKey);
  const oldServer = { cert: remote('n1', 'node.crt'), key: remote('n1', 'node.key') };
  const c = startClients();
  const oldClient = c.held;
  await c.follower.waitFor(everyNodeOk(Date.now()), 'a first round');

  // staged: a new key beside the old one (0600, outside certsDir), nothing else changed.
  const before = bundles();
  await start();
  const state = readState();
  assert.is(state.old.sha256, oldSha);
  const newCa = state.new.pem;
  const newSha = certSha256(newCa);
  assert.is(state.new.sha256, newSha);
  const nextKey = path.resolve(f.root, state.newKey);
  assert.is(path.dirname(nextKey), path.dirname(f.caKey), 'the new CA key beside the old one');
  assert.is(statSync(nextKey).mode & 0o777, 0o600);
  assert.ok(!nextKey.startsWith(f.certsDir));
  assert.ok(new X509Certificate(newCa).ca && new X509Certificate(newCa).checkPrivateKey(createPrivateKey(readFileSync(nextKey))), 'the new key is the new CA certificate\'s');
  assert.equal(bundles(), before, 'staging changes no bundle');
  assert.ok(readFileSync(f.caKey).equals(oldKey), 'the old key still signs');

  // trusted: every bundle [new, old], shipped; leaves still the old CA's.
  await advance('trusted');
  assert.equal(bundles(), allBundles([newSha, oldSha]));
  assert.equal(leavesSignedBy(oldCa), all(true));
  // The gate into reissued waits out the client propagation time (no client acknowledged).
  await propagate();

  // reissued: every leaf signed by the new CA alone, and every node serves its new leaf.
  await advance('reissued');
  assert.equal(leavesSignedBy(newCa), all(true));
  for (const n of f.nodes) assert.ok(remote(n, 'node.crt').equals(local('nodes', n, 'node.crt')), `${n} has its new leaf`);
  const fresh = f.snapshot('app');
  for (const a of await everyNode({ ...fresh, ca: Buffer.from(newCa) })) assert.ok(a.ok, `${a.node} serves a leaf that chains to the new CA alone:\n${f.describe([a])}`);
  assert.equal(bundles(), allBundles([newSha, oldSha]), 'the old CA still trusted: the acker still presents its old certificate');
  for (const a of await everyNode({ ...c.held, ca: local('clients', 'app', 'ca.crt') })) assert.ok(a.ok, `the old certificate is still in use and accepted: ${f.describe([a])}`);

  // pruned: not while the acker's old certificate is in use (its deployment not acknowledged),
  // nor while the policy says at-expiry (the old CA is valid for years); then at once.
  await blocked('reissued', /(prune-blocked|clients-unacked).*acknowledg/);
  c.switchAcker();
  await c.acker.waitFor(everyNodeOk(Date.now()), 'a round with the reissued certificate');
  f.writeSpec(rotationSpec({ ca: { pruneOld: 'at-expiry' } }));
  await blocked('reissued', /prune-blocked.*(at-expiry|expire)/, ['--ack-clients']);
  f.writeSpec(rotationSpec({ ca: { pruneOld: 'after-reissue' } }));
  await advance('pruned', ['--ack-clients']);
  assert.equal(bundles(), allBundles([newSha]));

  // done: the old key archived read-only, the new one signs.
  await advance('done');
  const archives = readdirSync(path.dirname(f.caKey)).filter((n) => /^ca\.key\..+\.old$/.test(n));
  assert.is(archives.length, 1, `one archived key: ${archives.join(', ')}`);
  const archived = path.join(path.dirname(f.caKey), archives[0] as string);
  assert.is(statSync(archived).mode & 0o777, 0o400);
  assert.ok(readFileSync(archived).equals(oldKey), 'the archived key is the old one');
  assert.ok(!existsSync(nextKey));
  assert.ok(!readFileSync(f.caKey).equals(oldKey), 'the new key signs');
  await assertNoFailures(c);

  // A client certificate signed by the old CA is refused by every node (the client trusts both CAs,
  // so the refusal is the server's).
  for (const a of await everyNode({ ...oldClient, ca: Buffer.concat([Buffer.from(newCa), Buffer.from(oldCa)]) })) {
    assert.not.ok(a.ok, `${a.node} still accepts a client certificate of the old CA`);
    assert.match(a.code ?? '', REFUSED_CLIENT, f.describe([a]));
  }
  // A server certificate signed by the old CA is no longer trusted: n1 made to serve its old leaf.
  writeFileSync(path.join(f.remote.n1 as string, 'node.crt'), oldServer.cert);
  writeFileSync(path.join(f.remote.n1 as string, 'node.key'), oldServer.key, { mode: 0o600 });
  await f.pg.n1?.reload();
  const pruned = f.snapshot('app');
  const seen = await (async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const a = await f.connect('n1', 'app', pruned);
      if (!a.ok || Date.now() > deadline) return a;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  assert.not.ok(seen.ok, 'a server presenting a leaf of the old CA is trusted by a client holding the pruned bundle');
  assert.match(seen.code ?? '', UNTRUSTED_SERVER, f.describe([seen]));
  const both = await f.connect('n1', 'app', { ...pruned, ca: Buffer.concat([pruned.ca, Buffer.from(oldCa)]) });
  assert.ok(both.ok, `control: with the old CA in the bundle the same server is trusted: ${f.describe([both])}`);
  const back = await f.certgen(['distribute', f.specFile, '--verify']);
  assert.is(back.code, 0, back.stdout + back.stderr);
  for (const a of await everyNode(pruned)) assert.ok(a.ok, f.describe([a]));

  const check = await f.certgen(['check', f.specFile]);
  assert.is(check.code, 0, check.stdout + check.stderr);
  const journal = await f.certgen(['journal', 'verify', f.specFile]);
  assert.is(journal.code, 0, journal.stdout + journal.stderr);
});

s('abort from staged: the tree is as before, the new key gone', async () => {
  const before = { bundles: bundles(), leaves: f.nodes.map((n) => local('nodes', n, 'node.crt').toString()), key: readFileSync(f.caKey) };
  await start();
  const nextKey = path.resolve(f.root, readState().newKey);
  assert.ok(existsSync(nextKey));
  const r = await f.certgen(['rotate', 'abort', f.specFile]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await phase(), 'none');
  assert.equal(bundles(), before.bundles);
  assert.equal(f.nodes.map((n) => local('nodes', n, 'node.crt').toString()), before.leaves);
  assert.ok(readFileSync(f.caKey).equals(before.key));
  assert.not.ok(existsSync(nextKey), 'the new key removed');
  await blocked('none', /no-rotation/);
});

s('abort from trusted: every bundle back to [old] on the nodes too; a client certificate of the aborted CA is refused', async () => {
  const oldSha = bundleSha256s(local('ca.crt'))[0] as string;
  const c = startClients();
  await start();
  await advance('trusted');
  const nextKey = path.resolve(f.root, readState().newKey);
  const aborted = path.join(tmpdir('certgen-e2e-aborted-'), 'ca');
  copyFileSync(nextKey, `${aborted}.key`);
  writeFileSync(`${aborted}.crt`, bundleCerts(local('ca.crt'))[0] as string);
  const newSha = certSha256(readFileSync(`${aborted}.crt`));
  assert.equal(bundles(), allBundles([newSha, oldSha]));
  const signed = await signClient(`${aborted}.crt`, `${aborted}.key`);
  const withNew = { ...signed, ca: local('ca.crt') };
  for (const a of await everyNode(withNew)) assert.ok(a.ok, `while trusted, every node accepts the new CA's client: ${f.describe([a])}`);

  const r = await f.certgen(['rotate', 'abort', f.specFile]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  f.mark('aborted');
  assert.is(await phase(), 'none');
  assert.not.ok(existsSync(nextKey), 'the new key removed');
  // The nodes' bundles are back to [old] once the abort is shipped (abort may leave that to distribute).
  const ship = await f.certgen(['distribute', f.specFile, '--verify']);
  assert.is(ship.code, 0, ship.stdout + ship.stderr);
  assert.equal(bundles(), allBundles([oldSha]));
  for (const a of await everyNode(withNew)) {
    assert.not.ok(a.ok, `${a.node} still accepts a client certificate of the aborted CA`);
    assert.match(a.code ?? '', REFUSED_CLIENT, f.describe([a]));
  }
  await assertNoFailures(c);
});

s('a node that does not reload: its verification fails and the phase does not advance, in the trust, reissue and prune phases', async () => {
  const c = startClients();
  await start();
  f.writeSpec(rotationSpec({ ca: { pruneOld: 'after-reissue' }, reload: { n2: NO_RELOAD } }));
  const out = await blocked('staged', /n2/, SHORT_VERIFY);
  assert.match(out, /trust-unverified/);
  // Its files are there; the server never loaded them. Reloaded by hand, the rerun goes on.
  await f.pg.n2?.reload();
  await advance('trusted');
  await propagate();
  // n2 again: the rollout stops there, n3 is not touched.
  const n3 = remote('n3', 'node.crt');
  assert.match(await blocked('trusted', /n2/, SHORT_VERIFY), /leaf-unverified/);
  assert.ok(remote('n1', 'node.crt').equals(local('nodes', 'n1', 'node.crt')), 'n1 was rolled');
  assert.ok(remote('n3', 'node.crt').equals(n3), 'n3 untouched after n2 failed');
  await f.pg.n2?.reload();
  f.writeSpec(rotationSpec({ ca: { pruneOld: 'after-reissue' } }));
  await advance('reissued');
  c.switchAcker();
  // And the prune: n2 still trusts the old CA in memory, so the old-CA probe is not refused.
  f.writeSpec(rotationSpec({ ca: { pruneOld: 'after-reissue' }, reload: { n2: NO_RELOAD } }));
  assert.match(await blocked('reissued', /n2/, [...SHORT_VERIFY, '--ack-clients']), /prune-unverified/);
  assert.equal(bundleSha256s(remote('n2', 'ca.crt')), bundleSha256s(local('ca.crt')), 'n2 has the pruned bundle on disk');
  await f.pg.n2?.reload();
  f.writeSpec(rotationSpec({ ca: { pruneOld: 'after-reissue' } }));
  await advance('pruned', ['--ack-clients']);
  await advance('done');
  await assertNoFailures(c);
});

s('a compromised-key rotation end to end, one node shipped by the operator: pruned right after the reissue whatever the policy; the old CA refused', async () => {
  // n3 has no ssh: every phase stops for it (operator-shipped) until the operator has copied its
  // folder and reloaded it and says so (--shipped n3); its verify: block still checks it over TLS.
  f.writeSpec(rotationSpec({ ca: { pruneOld: 'at-expiry' }, noSsh: ['n3'] }));
  const oldCa = bundleCerts(local('ca.crt'))[0] as string;
  const c = startClients();
  const oldClient = c.held;
  const byHand = async (want: string, args: string[] = []): Promise<void> => {
    await blocked(PREVIOUS[want] as string, /operator-shipped.*n3/, args);
    await f.shipByHand('n3');
    await advance(want, [...args, '--shipped', 'n3']);
  };
  await start(['--compromised']);
  // The operator's word is not taken: n3 said shipped but not reloaded fails the new-CA probe.
  await blocked('staged', /n3/, [...SHORT_VERIFY, '--shipped', 'n3']);
  await byHand('trusted');
  await propagate();
  await byHand('reissued');
  for (const n of f.nodes) assert.ok(remote(n, 'node.crt').equals(local('nodes', n, 'node.crt')), `${n} has its new leaf`);
  c.switchAcker();
  await byHand('pruned', ['--ack-clients']);
  const newSha = bundleSha256s(local('ca.crt'));
  assert.is(newSha.length, 1);
  assert.equal(bundles(), allBundles(newSha));
  await advance('done');
  await assertNoFailures(c);
  for (const a of await everyNode({ ...oldClient, ca: Buffer.concat([local('ca.crt'), Buffer.from(oldCa)]) })) {
    assert.not.ok(a.ok, `${a.node} still accepts a client certificate of the compromised CA`);
    assert.match(a.code ?? '', REFUSED_CLIENT, f.describe([a]));
  }
  const check = await f.certgen(['check', f.specFile]);
  assert.is(check.code, 0, check.stdout + check.stderr);
});

s.run();
