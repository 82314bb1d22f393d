// A split client CA (`clientCa:`) through plan, apply, report and check on real files: the client
// CA's key outside the certs dir, ca-client.crt at the top and in every node's folder, client
// certificates and each node's client.node.crt signed by it, node certificates by the CA of ca.crt.
// Go judges the signatures (CheckSignatureFrom) and runs mutual TLS as a CockroachDB node does with
// a split CA: the server verifies client certificates against ca-client.crt alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply } from '../src/apply.js';
import { loadSpec } from '../src/cluster-spec/load-spec.js';
import { parseSpec } from '../src/cluster-spec/parse-spec.js';
import { plan } from '../src/plan/plan.js';
import { check } from '../src/report/check.js';
import { reportForSpec } from '../src/report/report.js';
import { ROOT, tmpdir } from './helpers/index.js';
import { buildGo, goJsonLines, keycheck } from './helpers/go.js';

const HOUR = 3600e3;
const mode = (f: string): number => statSync(f).mode & 0o777;

function doc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keyType: 'ecdsa-p256' },
    clientCa: { key: 'secrets/ca-client.key' },
    defaults: { keyType: 'ecdsa-p256' },
    nodes: [
      { name: 'n1', hosts: ['localhost', '127.0.0.1'] },
      { name: 'n2', hosts: ['localhost'] },
    ],
    clients: [{ user: 'root', pkcs8: true }, { user: 'app' }],
    ...extra,
  };
}

function write(d: Record<string, unknown>): { dir: string; file: string; certs: string } {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify(d));
  return { dir, file, certs: path.join(dir, 'certs') };
}

interface PeerAnswer {
  ok: boolean;
  error?: string;
  serverSawCN?: string;
  serverError?: string;
}

/** test/integration/go/peer's mtls: a server verifying client certificates against serverCA, a client verifying it against clientCA. */
function mtls(server: { cert: string; key: string; ca: string }, client: { cert: string; key: string; ca: string }): PeerAnswer {
  const [a] = goJsonLines<PeerAnswer>(buildGo(path.join(ROOT, 'test', 'integration', 'go', 'peer')), [
    { op: 'mtls', serverCert: server.cert, serverKey: server.key, serverCA: server.ca, clientCert: client.cert, clientKey: client.key, clientCA: client.ca, serverName: 'localhost', maxVersion: '1.3' },
  ]);
  return a as PeerAnswer;
}

const t = suite('split client CA: plan and apply');

t('apply makes the client CA, ca-client.crt in the node folders only, client certificates and client.node.crt signed by it; Go agrees and a node verifies clients with it alone', async () => {
  const { dir, file, certs } = write(doc());
  const spec = await loadSpec(file);
  const r = await apply(spec, { journal: false });
  assert.equal(r.applied.map((c) => `${c.action} ${c.artifact}`), ['create ca', 'create client-ca', 'create node/n1', 'create node/n1', 'create node/n2', 'create node/n2', 'create client/root', 'create client/app']);
  assert.is(mode(path.join(dir, 'secrets/ca-client.key')), 0o600);
  assert.equal(readdirSync(path.join(certs, 'nodes/n1')).sort(), ['ca-client.crt', 'ca.crt', 'client.node.crt', 'client.node.key', 'node.crt', 'node.key']);
  assert.equal(readdirSync(path.join(certs, 'clients/root')).sort(), ['ca.crt', 'client.root.crt', 'client.root.key', 'client.root.key.pk8']);
  assert.is(mode(path.join(certs, 'nodes/n1/client.node.key')), 0o600);
  assert.is(mode(path.join(certs, 'nodes/n1/ca-client.crt')), 0o644);
  const same = (a: string, b: string): boolean => readFileSync(path.join(certs, a)).equals(readFileSync(path.join(certs, b)));
  assert.ok(same('ca-client.crt', 'nodes/n1/ca-client.crt'));
  assert.ok(same('ca.crt', 'nodes/n1/ca.crt'));
  // Clients trust the CA that signs the servers, not the client CA.
  assert.ok(same('ca.crt', 'clients/root/ca.crt'));
  assert.not.ok(same('ca.crt', 'ca-client.crt'));

  const c = (rel: string): string => path.join(certs, rel);
  const sig = keycheck([
    { op: 'sig', cert: c('clients/root/client.root.crt'), ca: c('ca-client.crt') },
    { op: 'sig', cert: c('clients/app/client.app.crt'), ca: c('ca-client.crt') },
    { op: 'sig', cert: c('nodes/n1/client.node.crt'), ca: c('ca-client.crt') },
    { op: 'sig', cert: c('nodes/n1/node.crt'), ca: c('ca.crt') },
    { op: 'sig', cert: c('clients/root/client.root.crt'), ca: c('ca.crt') },
    { op: 'sig', cert: c('nodes/n1/node.crt'), ca: c('ca-client.crt') },
  ]);
  assert.equal(sig.map((a) => a.ok), [true, true, true, true, false, false], JSON.stringify(sig));
  const pairs = keycheck([
    { op: 'pair', cert: c('nodes/n1/client.node.crt'), key: c('nodes/n1/client.node.key') },
    { op: 'pair', cert: c('clients/root/client.root.crt'), key: c('clients/root/client.root.key') },
  ]);
  assert.ok(pairs.every((a) => a.ok), JSON.stringify(pairs));

  // A node as cockroach runs it with a split CA: node.crt served, clients verified against ca-client.crt.
  const node = { cert: c('nodes/n1/node.crt'), key: c('nodes/n1/node.key'), ca: c('nodes/n1/ca-client.crt') };
  const root = mtls(node, { cert: c('clients/root/client.root.crt'), key: c('clients/root/client.root.key'), ca: c('clients/root/ca.crt') });
  assert.ok(root.ok, JSON.stringify(root));
  assert.is(root.serverSawCN, 'root');
  const asNode = mtls(node, { cert: c('nodes/n2/client.node.crt'), key: c('nodes/n2/client.node.key'), ca: c('nodes/n2/ca.crt') });
  assert.ok(asNode.ok, JSON.stringify(asNode));
  assert.is(asNode.serverSawCN, 'node');
  // node.crt (clientAuth too, but signed by the CA of ca.crt) is no client certificate any more.
  const wrong = mtls(node, { cert: c('nodes/n2/node.crt'), key: c('nodes/n2/node.key'), ca: c('nodes/n2/ca.crt') });
  assert.not.ok(wrong.ok);
  assert.match(wrong.serverError ?? '', /unknown authority/);

  const again = await plan(spec);
  assert.equal(again.changes.filter((x) => x.action !== 'keep'), []);
  assert.equal(again.errors, []);
  assert.is(again.clientCaKey, '../secrets/ca-client.key');
  const res = await check(spec);
  assert.is(res.exitCode, 0, JSON.stringify(res.findings));
});

t('adding clientCa to a running cluster: the client CA is made, clients and client.node pairs (re)issued by it, node certificates kept', async () => {
  const d = doc();
  delete d['clientCa'];
  const { file, certs } = write(d);
  await apply(await loadSpec(file), { journal: false });
  const nodeCrt = readFileSync(path.join(certs, 'nodes/n1/node.crt'));
  writeFileSync(file, stringify(doc()));
  const spec = await loadSpec(file);
  const p = await plan(spec);
  const changes = p.changes.filter((c) => c.action !== 'keep').map((c) => `${c.action} ${c.artifact} ${c.reasons.map((r) => `${r.code}: ${r.message}`).join('; ')}`);
  assert.equal(changes, [
    'create client-ca missing: ca-client.crt and the client CA key do not exist: a new client CA is created',
    'create node/n1 missing: nodes/n1/client.node.crt does not exist',
    'create node/n2 missing: nodes/n2/client.node.crt does not exist',
    'reissue client/root not-signed-by-ca: a new client CA is being created',
    'reissue client/app not-signed-by-ca: a new client CA is being created',
  ]);
  const signer = p.changes.find((c) => c.artifact === 'client/root' && c.action === 'reissue')?.ops.issue?.signer;
  assert.is(signer, 'new-client-ca');
  await apply(spec, { journal: false });
  assert.ok(readFileSync(path.join(certs, 'nodes/n1/node.crt')).equals(nodeCrt), 'node.crt kept');
  const [ok] = keycheck([{ op: 'sig', cert: path.join(certs, 'clients/root/client.root.crt'), ca: path.join(certs, 'ca-client.crt') }]);
  assert.ok(ok?.ok);
  assert.equal((await plan(spec)).changes.filter((c) => c.action !== 'keep'), []);

  // Back to one CA: the client CA's files are orphans, the clients are reissued by the CA of ca.crt.
  writeFileSync(file, stringify(d));
  const back = await plan(await loadSpec(file));
  const lines = back.changes.filter((c) => c.action !== 'keep').map((c) => `${c.action} ${c.artifact} ${c.reasons.map((r) => r.code).join(',')}`);
  assert.equal(lines, ['reissue client/root not-signed-by-ca', 'reissue client/app not-signed-by-ca', 'orphan ca-client.crt not-in-spec', 'orphan nodes/n1/ca-client.crt not-in-spec', 'orphan nodes/n1/client.node.crt not-in-spec', 'orphan nodes/n1/client.node.key not-in-spec', 'orphan nodes/n2/ca-client.crt not-in-spec', 'orphan nodes/n2/client.node.crt not-in-spec', 'orphan nodes/n2/client.node.key not-in-spec']);
});

t('plan reasons: a stale ca-client.crt copy, a client certificate of the wrong CA, the client CA key missing or expiring', async () => {
  const t0 = new Date();
  const { dir, file, certs } = write(doc({ clientCa: { key: 'secrets/ca-client.key', lifetime: '2000h' }, defaults: { keyType: 'ecdsa-p256', lifetime: '100h', renewBefore: '50h' } }));
  const spec = await loadSpec(file);
  await apply(spec, { journal: false, now: () => t0 });
  writeFileSync(path.join(certs, 'nodes/n2/ca-client.crt'), readFileSync(path.join(certs, 'ca.crt')));
  // A client certificate signed by the CA of ca.crt (node.crt's CA): not the client CA's.
  writeFileSync(path.join(certs, 'clients/app/client.app.crt'), readFileSync(path.join(certs, 'nodes/n1/node.crt')));
  writeFileSync(path.join(certs, 'clients/app/client.app.key'), readFileSync(path.join(certs, 'nodes/n1/node.key')), { mode: 0o600 });
  const p = await plan(spec, { now: () => t0 });
  const byArtifact = (a: string): string[] => p.changes.filter((c) => c.artifact === a && c.action !== 'keep').flatMap((c) => c.reasons.map((r) => `${r.code}: ${r.message}`));
  assert.equal(byArtifact('node/n2'), ['ca-bundle-stale: nodes/n2/ca-client.crt differs from ca-client.crt'], JSON.stringify(byArtifact('node/n2')));
  assert.ok(byArtifact('client/app').includes('not-signed-by-ca: clients/app/client.app.crt is not signed by the client CA in ca-client.crt'), byArtifact('client/app').join('\n'));
  await apply(spec, { journal: false, now: () => t0 });
  // Expiring: the client CA ends inside its leaves' renewal window; the CA of ca.crt does too.
  const late = await plan(spec, { now: () => new Date(t0.getTime() + 1990 * HOUR) });
  assert.ok(late.errors.some((e) => e.artifact === 'client-ca' && e.code === 'ca-expiring' && /^the client CA expires on \S+ \(.*\), inside the renewal window of its leaves \(50h0m0s\): rotate the client CA now \(certgen rotate start --client-ca\)$/.test(e.message)), JSON.stringify(late.errors));
  const rep = await reportForSpec(spec, { now: new Date(t0.getTime() + HOUR) });
  const files = rep.forecast.caRotations.map((r) => r.file);
  assert.equal(files, ['ca.crt', 'ca-client.crt']);
  const clientRot = rep.forecast.caRotations[1];
  assert.is(clientRot?.leaves, 4, 'client.node ×2, root, app');
  assert.is(rep.forecast.caRotations[0]?.leaves, 2, 'node.crt ×2');
  const row = rep.rows.find((r) => r.file === 'ca-client.crt');
  assert.is(row?.usage, 'Client CA');
  assert.is(row?.keyFile, '../secrets/ca-client.key');
  assert.is(row?.status, 'ok');
  assert.is(rep.rows.find((r) => r.file === 'nodes/n1/client.node.crt')?.issuerFingerprint, row?.fingerprint);
  // check: the client CA's rotation deadline.
  const near = await check(spec, { now: new Date(t0.getTime() + 1900 * HOUR) });
  assert.ok(near.findings.some((f) => f.code === 'rotation-deadline' && f.artifact === 'client-ca' && /^the client CA rotation must start by \S+ \(the client CA expires \S+\); run certgen rotate start --client-ca$/.test(f.message)), JSON.stringify(near.findings));
  // The client CA key gone: a plan error naming it, and the report's row says so.
  rmSync(path.join(dir, 'secrets/ca-client.key'));
  const gone = await plan(spec, { now: () => t0 });
  assert.equal(gone.errors.map((e) => `${e.artifact} ${e.code}`), ['client-ca ca-key-missing']);
  assert.match(gone.errors[0]?.message ?? '', /^the client CA key \S+ca-client.key is missing but ca-client.crt exists/);
  const rep2 = await reportForSpec(spec, { now: t0 });
  assert.is(rep2.rows.find((r) => r.file === 'ca-client.crt')?.problem, 'key-missing');
});

t('the spec: clientCa.key outside certsDir, not the CA key; not with tenants or outputs.kubernetes (yet); its key parameters default to the CA\'s', () => {
  const errs = (d: Record<string, unknown>): string[] => {
    const r = parseSpec(stringify(d), '/x/cluster-certs.yaml');
    return r.ok ? [] : r.diagnostics.map((x) => `${x.path}: ${x.message}`);
  };
  assert.equal(errs(doc({ clientCa: { key: 'certs/ca-client.key' } })), ['clientCa.key: "certs/ca-client.key" is inside certsDir "certs"; the client CA key must be kept outside the tree that gets distributed']);
  assert.equal(errs(doc({ clientCa: { key: 'secrets/ca.key' } })), ['clientCa.key: "secrets/ca.key" is the CA key (caKey): the client CA needs a key of its own']);
  assert.equal(errs(doc({ tenants: [{ id: 2 }] })), ['clientCa: a split client CA (clientCa) cannot be combined with tenants yet: remove one of them']);
  assert.equal(errs(doc({ clientCa: {} })), ['clientCa: missing required key "key"']);
  const r = parseSpec(stringify(doc({ ca: { keyType: 'rsa', keySize: 3072, lifetime: '1000h' }, defaults: { lifetime: '100h', renewBefore: '10h' } })), '/x/cluster-certs.yaml');
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.spec.clientCa, { key: '/x/secrets/ca-client.key', keyType: 'rsa', keySize: 3072, lifetime: 1000n * 3600n * 1_000_000_000n });
});

t.run();
