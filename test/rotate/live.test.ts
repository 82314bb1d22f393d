// rotate continue's live gates against real servers: two PostgreSQL nodes behind a loopback sshd
// (test/helpers/rotation-fleet.ts), shipped by distribute and reloaded with pg_ctl reload. Each
// phase is checked from the outside: what the servers' folders hold, whom they accept (psql-like
// connections with node-postgres, verify-full), and what the rotation state recorded. The full
// end-to-end run with client loops and SIGKILL points is test/e2e/rotation-harness.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { execa } from 'execa';
import path from 'node:path';
import { NO_RELOAD, REFUSED_CLIENT, bundleCerts, signedBy, startRotationFleet, type Creds, type RotationFleet } from '../helpers/rotation-fleet.js';
import { opensslStatus, setup } from '../helpers/index.js';

const live = suite('rotate continue against PostgreSQL nodes over ssh');
let fleet: RotationFleet;
/** n1's certificate before the rotation (signed by the old CA). */
let oldNodeLeaf: string;
setup(live, async () => {
  fleet = await startRotationFleet({ nodes: ['n1', 'n2'], clients: ['app'] });
});
live.after(async () => {
  await fleet?.stop();
});

const statusOf = async (): Promise<Record<string, unknown>> => JSON.parse((await fleet.certgen(['rotate', 'status', '--json'])).stdout) as Record<string, unknown>;
const remoteCa = (n: string): string[] => bundleCerts(readFileSync(path.join(fleet.remote[n] as string, 'ca.crt')));
const state = (): { new: { pem: string }; old: { pem: string }; nodes: Record<string, Record<string, string>> } => JSON.parse(readFileSync(path.join(fleet.root, 'cluster-certs.rotation.json'), 'utf8'));

live('a node that does not reload stops trust (trust-unverified, the phase stays); fixed, the rerun resumes without reshipping the node done', async () => {
  const before: Creds = fleet.snapshot('app');
  oldNodeLeaf = path.join(fleet.root, 'old-n1.crt');
  writeFileSync(oldNodeLeaf, readFileSync(path.join(fleet.certsDir, 'nodes/n1/node.crt')));
  fleet.writeSpec({ ca: { clientPropagation: '0s', pruneOld: 'after-reissue' }, reload: { n2: NO_RELOAD } });
  await fleet.certgenOk(['rotate', 'start']);
  let r = await fleet.certgen(['rotate', 'continue', '--verify-timeout', '3s']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^ERROR: trust-unverified: node n2: /m);
  let s = await statusOf();
  assert.equal([s.phase, s.pending], ['staged', 'trusted']);
  // n1 passed V2 and is recorded; n2 got the files but never loaded them.
  assert.ok(state().nodes.n1?.trustVerifiedAt);
  assert.is(state().nodes.n2?.trustVerifiedAt, undefined);
  assert.is(remoteCa('n2').length, 2);
  const n1At = state().nodes.n1?.trustVerifiedAt;
  fleet.writeSpec({ ca: { clientPropagation: '0s', pruneOld: 'after-reissue' } });
  r = await fleet.certgen(['rotate', 'continue']);
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, /node n1: /);
  assert.match(r.stderr, /node n2: already in place, reloaded/);
  assert.is(state().nodes.n1?.trustVerifiedAt, n1At);
  s = await statusOf();
  assert.is(s.phase, 'trusted');
  // Trust changed nothing for a client holding its old certificate and the old bundle.
  for (const n of fleet.nodes) assert.ok((await fleet.connect(n, 'app', before)).ok, n);
});

live('reissued: rolled out node by node, each presenting its new leaf chained to the new CA alone; the old client certificate still accepted', async () => {
  const old: Creds = fleet.snapshot('app');
  const r = await fleet.certgen(['rotate', 'continue']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /node n1: shipped and reloaded\nnode n1: verified\n[\s\S]*node n2: shipped and reloaded\nnode n2: verified/);
  const st = state();
  for (const n of fleet.nodes) {
    assert.ok(signedBy(readFileSync(path.join(fleet.remote[n] as string, 'node.crt')), st.new.pem), `${n} serves a leaf of the new CA`);
    assert.ok(st.nodes[n]?.leafServedAt, n);
  }
  // A client with the new bundle and its reissued certificate, and one still on its old certificate (the bundle [new, old] on both ends).
  const now = fleet.snapshot('app');
  assert.ok(signedBy(now.cert, st.new.pem));
  for (const n of fleet.nodes) {
    assert.ok((await fleet.connect(n, 'app', now)).ok, `${n}: reissued client`);
    assert.ok((await fleet.connect(n, 'app', { ...old, ca: now.ca })).ok, `${n}: old client certificate`);
  }
  assert.is((await statusOf()).phase, 'reissued');
  // Past the first shipped leaf there is no way back.
  assert.match((await fleet.certgen(['rotate', 'abort'])).stderr, /^ERROR: abort-refused: /m);
});

live('pruned: every ca.crt is [new]; the nodes refuse a client certificate of the old CA, and a server of the old CA is not trusted; done archives the old key', async () => {
  let r = await fleet.certgen(['rotate', 'continue']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: prune-blocked: the new certificates of 1 client \(app\)/m);
  r = await fleet.certgen(['rotate', 'continue', '--ack-clients', '--until', 'done', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).reached, ['pruned', 'done']);
  const st = state();
  for (const n of fleet.nodes) {
    assert.is(remoteCa(n).length, 1, n);
    assert.ok(st.nodes[n]?.pruneVerifiedAt, n);
  }
  // A certificate of the old CA, made for this check with the archived old key: refused.
  const archived = path.join(fleet.root, 'secrets', readFileSync(path.join(fleet.root, 'cluster-certs.rotation.json'), 'utf8').match(/"oldKeyArchive": "secrets\/([^"]+)"/)?.[1] ?? '');
  const oldCa = path.join(fleet.root, 'old-ca.pem');
  writeFileSync(oldCa, st.old.pem);
  const key = path.join(fleet.root, 'stale.key');
  const csr = path.join(fleet.root, 'stale.csr');
  const crt = path.join(fleet.root, 'stale.crt');
  await execa('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/O=Cockroach/CN=app', '-out', csr]);
  const ext = path.join(fleet.root, 'stale.ext');
  writeFileSync(ext, 'extendedKeyUsage=clientAuth\n');
  await execa('openssl', ['x509', '-req', '-in', csr, '-CA', oldCa, '-CAkey', archived, '-CAcreateserial', '-days', '1', '-out', crt, '-extfile', ext]);
  const now = fleet.snapshot('app');
  for (const n of fleet.nodes) {
    const refused = await fleet.connect(n, 'app', { ca: now.ca, cert: readFileSync(crt), key: readFileSync(key) });
    assert.is(refused.ok, false, n);
    assert.match(refused.code ?? refused.error ?? '', REFUSED_CLIENT);
    assert.ok((await fleet.connect(n, 'app', now)).ok, `${n}: the reissued client`);
  }
  // The bundle every client now holds does not trust a server certificate of the old CA (openssl).
  const v = await opensslStatus(['verify', '-CAfile', fleet.clientPaths('app').ca, oldNodeLeaf]);
  assert.is.not(v.code, 0, v.out);
  assert.is(statSync(archived).mode & 0o777, 0o400);
  assert.is((await statusOf()).phase, 'done');
  // plan, check: clean after the rotation.
  assert.is((await fleet.certgen(['check'])).code, 0);
});

live('a second rotation with n2 shipped by the operator (no ssh:, a verify: block): it waits for --shipped, and the word alone is not enough: TLS checks it', async () => {
  // The spec as the fleet wrote it, n2 without its ssh block.
  const doc = parse(readFileSync(fleet.specFile, 'utf8')) as { nodes: Array<Record<string, unknown>> };
  const n2 = doc.nodes.find((n) => n.name === 'n2') as Record<string, unknown>;
  delete n2.ssh;
  delete n2.reload;
  writeFileSync(fleet.specFile, stringify(doc));
  await fleet.certgenOk(['rotate', 'start']);
  let r = await fleet.certgen(['rotate', 'continue', '--verify-timeout', '3s']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: operator-shipped: nodes without ssh wait for their files: n2$/m);
  assert.ok(state().nodes.n1?.trustVerifiedAt);
  // Said shipped, but not: the node still lacks the new CA, and the probe signed by it is refused.
  r = await fleet.certgen(['rotate', 'continue', '--shipped', 'n2', '--verify-timeout', '3s']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: trust-unverified: node n2: sql 127\.0\.0\.1:\d+: a probe certificate signed by the new CA refused/m);
  // Shipped for real (the node's folder copied, modes kept, the server reloaded): verified over TLS.
  const local = path.join(fleet.certsDir, 'nodes', 'n2');
  for (const f of readdirSync(local)) {
    copyFileSync(path.join(local, f), path.join(fleet.remote.n2 as string, f));
    chmodSync(path.join(fleet.remote.n2 as string, f), statSync(path.join(local, f)).mode & 0o777);
  }
  await fleet.pg.n2?.reload();
  r = await fleet.certgen(['rotate', 'continue', '--shipped', 'n2']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /node n2: verified/);
  assert.is((await statusOf()).phase, 'trusted');
  assert.ok(state().nodes.n2?.operatorShippedAt);
});

live.run();
