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
import { startSshd, type SshdServer } from '../helpers/sshd.js';
import { openssl, setup, tmpdir } from '../helpers/index.js';

let sshd: SshdServer | undefined;
const d = suite('distribute: the provided UI files');

setup(d, async () => {
  sshd ??= await startSshd();
});

d.after(async () => {
  await sshd?.stop();
});

async function uiPair(dir: string, days: number): Promise<void> {
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, 'subjectAltName=DNS:console.example.com\nextendedKeyUsage=serverAuth\n');
  await openssl(['req', '-new', '-key', path.join(dir, 'ui.key'), '-out', path.join(dir, 'ui.csr'), '-subj', '/CN=console.example.com']);
  await openssl(['x509', '-req', '-in', path.join(dir, 'ui.csr'), '-CA', path.join(dir, 'ca.crt'), '-CAkey', path.join(dir, 'ca.key'), '-days', String(days), '-out', path.join(dir, 'ui.crt'), '-extfile', ext]);
}

d('ui.crt, ui.key and ca-ui.crt reach the node, 0644/0600; a renewed ui.crt travels alone', async () => {
  const s = sshd as SshdServer;
  const root = tmpdir();
  const ui = path.join(root, 'ui');
  mkdirSync(ui);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(ui, 'ca.key'), '-out', path.join(ui, 'ca.crt'), '-subj', '/CN=Org UI CA', '-days', '400']);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path.join(ui, 'ui.key')]);
  await uiPair(ui, 200);
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

d.run();
