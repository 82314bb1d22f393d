// A node's provided UI files travel with its own: a spec with defaults.ui (made with openssl, as an
// operator gets them) is applied, then distributed over a real OpenSSH server on 127.0.0.1; the
// remote folder holds ui.crt, ui.key (0600) and ca-ui.crt byte for byte, and a renewed UI
// certificate is copied in by apply and then alone shipped by the next distribute.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { distribute } from '../../src/distribute/distribute.js';
import { fleetStatus } from '../../src/distribute/status.js';
import { startSshd, type SshdServer } from '../helpers/sshd.js';
import { LOOPBACK } from '../helpers/net.js';
import { startServer, stopAll, type Server } from '../helpers/server.js';
import { openssl, setup, tmpdir } from '../helpers/index.js';

let sshd: SshdServer | undefined;
const d = suite('distribute: the provided UI files');

setup(d, async () => {
  sshd ??= await startSshd();
});

d.after(async () => {
  await stopAll();
  await sshd?.stop();
});

/** openssl s_server presenting `cert` (with `key`) from `dir`, as a node's raw-TLS port. */
function sServer(name: string, dir: string, cert: string, key: string, args: string[]): Promise<Server> {
  return startServer({
    name,
    build: (port) => ({ cmd: 'openssl', args: ['s_server', '-accept', `${LOOPBACK}:${port}`, '-cert', path.join(dir, cert), '-key', path.join(dir, key), ...args] }),
    startTimeoutMs: 10_000,
    retry: ({ log, exited }) => exited && /in use|bind/i.test(log),
  });
}

async function uiPair(dir: string, days: number): Promise<void> {
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, 'subjectAltName=DNS:console.example.com\nextendedKeyUsage=serverAuth\n');
  await openssl(['req', '-new', '-key', path.join(dir, 'ui.key'), '-out', path.join(dir, 'ui.csr'), '-subj', '/CN=console.example.com']);
  await openssl(['x509', '-req', '-in', path.join(dir, 'ui.csr'), '-CA', path.join(dir, 'ca.crt'), '-CAkey', path.join(dir, 'ca.key'), '-days', String(days), '-out', path.join(dir, 'ui.crt'), '-extfile', ext]);
}

/** `<root>/ui`: an organisation's UI CA and a UI pair it signed (200 days), as an operator gets them. */
async function uiFiles(root: string): Promise<string> {
  const ui = path.join(root, 'ui');
  mkdirSync(ui);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(ui, 'ca.key'), '-out', path.join(ui, 'ca.crt'), '-subj', '/CN=Org UI CA', '-days', '400']);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path.join(ui, 'ui.key')]);
  await uiPair(ui, 200);
  return ui;
}

d('ui.crt, ui.key and ca-ui.crt reach the node, 0644/0600; a renewed ui.crt travels alone', async () => {
  const s = sshd as SshdServer;
  const root = tmpdir();
  const ui = await uiFiles(root);
  const remote = path.join(root, 'remote', 'node1');
  writeFileSync(
    path.join(root, 'cluster-certs.yaml'),
    stringify({
      certsDir: 'certs',
      caKey: 'secrets/ca.key',
      ca: { keySize: 1024 },
      defaults: { keySize: 1024, ui: { cert: 'ui/ui.crt', key: 'ui/ui.key', ca: 'ui/ca.crt' } },
      nodes: [{ name: 'node1', hosts: ['localhost'], ssh: { host: s.host, port: s.port, user: s.user, dir: remote, identityFile: s.identityFile, knownHosts: s.knownHosts } }],
    }),
  );
  const spec = await loadSpec(path.join(root, 'cluster-certs.yaml'));
  await apply(spec, { journal: false });
  const r = await distribute(spec, {});
  assert.ok(r.ok, JSON.stringify(r.targets.map((t) => t.error)));
  const t = r.targets[0];
  assert.equal(t?.copied, ['ca.crt', 'node.crt', 'node.key', 'ui.crt', 'ui.key', 'ca-ui.crt']);
  assert.equal(readdirSync(remote).sort(), ['ca-ui.crt', 'ca.crt', 'node.crt', 'node.key', 'ui.crt', 'ui.key']);
  for (const [copy, from] of [['ui.crt', 'ui.crt'], ['ui.key', 'ui.key'], ['ca-ui.crt', 'ca.crt']] as const) {
    assert.ok(readFileSync(path.join(remote, copy)).equals(readFileSync(path.join(ui, from))), `${copy} is the provided ${from}`);
  }
  assert.is(statSync(path.join(remote, 'ui.key')).mode & 0o777, 0o600);
  assert.is(statSync(path.join(remote, 'ui.crt')).mode & 0o777, 0o644);

  // The operator renews the UI certificate (same key): apply copies it, distribute ships it alone.
  await uiPair(ui, 300);
  const again = await apply(spec, { journal: false });
  assert.equal(again.applied.map((c) => `${c.action} ${c.artifact}: ${c.reasons.map((x) => x.code).join(', ')}`), ['reissue node/node1: source-changed']);
  const r2 = await distribute(spec, {});
  assert.ok(r2.ok);
  assert.equal(r2.targets[0]?.copied, ['ui.crt']);
  assert.ok(readFileSync(path.join(remote, 'ui.crt')).equals(readFileSync(path.join(ui, 'ui.crt'))));
});

// CockroachDB serves ui.crt on its HTTP port when the certs dir has one: verify and status expect
// it there (chained to ca-ui.crt, the operator's names unchecked) and node.crt everywhere else.
d('verify and status expect ui.crt on the HTTP port of a node with ui:, node.crt on the others', async () => {
  const s = sshd as SshdServer;
  const root = tmpdir();
  await uiFiles(root);
  const remote = path.join(root, 'remote', 'node1');
  const node = (verify?: object) => ({
    name: 'node1',
    hosts: ['localhost', '127.0.0.1'],
    ssh: { host: s.host, port: s.port, user: s.user, dir: remote, identityFile: s.identityFile, knownHosts: s.knownHosts },
    ...(verify === undefined ? {} : { verify }),
  });
  const specText = (verify?: object) => stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keyType: 'ecdsa-p256' }, defaults: { keyType: 'ecdsa-p256', ui: { cert: 'ui/ui.crt', key: 'ui/ui.key', ca: 'ui/ca.crt' } }, nodes: [node(verify)] });
  writeFileSync(path.join(root, 'cluster-certs.yaml'), specText());
  await apply(await loadSpec(path.join(root, 'cluster-certs.yaml')), { journal: false });
  assert.ok((await distribute(await loadSpec(path.join(root, 'cluster-certs.yaml')), {})).ok);

  // The node: node.crt on its RPC port, ui.crt on its HTTP port, from the files distribute wrote.
  const rpc = await sServer('s_server rpc', remote, 'node.crt', 'node.key', ['-alpn', 'h2', '-rev']);
  const http = await sServer('s_server http (ui.crt)', remote, 'ui.crt', 'ui.key', ['-www']);
  writeFileSync(path.join(root, 'verify.yaml'), specText({ host: LOOPBACK, rpc: rpc.port, http: http.port }));
  const spec = await loadSpec(path.join(root, 'verify.yaml'));
  const r = await distribute(spec, { verify: true, verifyTimeoutMs: 5_000 });
  assert.ok(r.ok, JSON.stringify(r.targets.map((t) => t.error)));
  const v = r.targets[0]?.verify;
  assert.equal(v?.endpoints.map((e) => [e.kind, e.ok, e.judgement.cert, e.judgement.chainVerifies]), [['rpc', true, 'node.crt', true], ['http', true, 'ui.crt', true]]);
  const st = await fleetStatus(spec);
  const served = st.targets[0]?.served;
  assert.equal(served?.endpoints.map((e) => [e.kind, e.state, e.expected, e.matchesLocal, e.chainVerifies]), [['rpc', 'in-sync', 'node.crt', true, true], ['http', 'in-sync', 'ui.crt', true, true]]);

  // A node that serves node.crt on its HTTP port although the certs dir has ui.crt: drift, named.
  await http.stop();
  const wrong = await sServer('s_server http (node.crt)', remote, 'node.crt', 'node.key', ['-www']);
  writeFileSync(path.join(root, 'verify.yaml'), specText({ host: LOOPBACK, rpc: rpc.port, http: wrong.port }));
  const spec2 = await loadSpec(path.join(root, 'verify.yaml'));
  const bad = await distribute(spec2, { verify: true, verifyTimeoutMs: 400 });
  assert.not.ok(bad.ok);
  assert.match(bad.targets[0]?.error ?? '', /http 127\.0\.0\.1:\d+ still presents SHA-256 \S+ after 0\.4s, not the local ui\.crt's/);
  const st2 = await fleetStatus(spec2);
  const e2 = st2.targets[0]?.served?.endpoints.find((e) => e.kind === 'http');
  assert.equal([e2?.state, e2?.expected, e2?.matchesLocal], ['drift', 'ui.crt', false]);
});

d.run();
