// nodeSets and outputs.kubernetes in the spec: the derived hosts, the defaults, and every mistake
// reported at its file:line:col in one run.
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDiagnostic, parseSpec } from '../../src/cluster-spec/parse-spec.js';
import { diff } from '../../src/plan/diff.js';
import { statefulSetHosts } from '../../src/core/kubernetes.js';
import type { ActualTree } from '../../src/tree/read-tree.js';
import { ROOT, tmpdir } from '../helpers/index.js';

const R = 'age1rzesghnuz22zyx2l3ahdzqlye0spvfyvx46ap6yfxtmdqqx7zvgqrs6wwr';

test('a node set is a node with the StatefulSet hosts, then its own; outputs get the layout defaults', () => {
  const text = `certsDir: certs
caKey: secrets/ca.key
nodes: [{ name: n1, hosts: [n1.example.com] }]
clients: [{ user: root }, { user: App }]
nodeSets:
  - name: east
    statefulSet: cockroachdb
    namespace: crdb
    clusterDomain: k8s.example
    joinService: true
    hosts: [lb.example.com, localhost, 10.0.0.9]
    keyType: ecdsa-p256
outputs:
  kubernetes:
    - { nodeSet: east, layout: operator, dir: deploy, sops: { age: [${R}, ${R}] } }
    - { nodeSet: east, layout: helm, namespace: other, client: app, names: { node: mine } }
`;
  const r = parseSpec(text, 'c.yaml', { cwd: '/w' });
  assert.ok(r.ok, r.ok ? '' : r.diagnostics.map(formatDiagnostic).join('\n'));
  if (!r.ok) return;
  const node = r.spec.nodes[1];
  assert.is(node?.name, 'east');
  assert.is(node?.keyType, 'ecdsa-p256');
  assert.equal(node?.hosts, [...statefulSetHosts({ statefulSet: 'cockroachdb', namespace: 'crdb', clusterDomain: 'k8s.example', joinService: true }), 'lb.example.com', '10.0.0.9']);
  assert.equal(node?.hosts.slice(0, 8), ['localhost', '127.0.0.1', 'cockroachdb-public', 'cockroachdb-public.crdb', 'cockroachdb-public.crdb.svc.k8s.example', '*.cockroachdb', '*.cockroachdb.crdb', '*.cockroachdb.crdb.svc.k8s.example']);
  assert.equal(node?.hosts.slice(8, 11), ['cockroachdb-join', 'cockroachdb-join.crdb', 'cockroachdb-join.crdb.svc.k8s.example']);
  assert.equal(r.spec.outputs?.kubernetes, [
    { index: 0, nodeSet: 'east', layout: 'operator', namespace: 'crdb', clients: [{ user: 'root', name: 'cockroachdb.client.root' }], names: { node: 'cockroachdb.node', ca: 'cockroachdb-ca' }, dir: '/w/deploy', sops: { age: [R] } },
    { index: 1, nodeSet: 'east', layout: 'helm', namespace: 'other', clients: [{ user: 'app', name: 'cockroachdb-app' }], names: { node: 'mine' } },
  ]);
  // The planner sees a node: its folder is created like any other's.
  const tree: ActualTree = { entries: {}, caKey: { rel: '', type: 'missing', mode: 0, uid: 0, gid: 0 } } as unknown as ActualTree;
  const plan = diff({ spec: r.spec, tree, now: new Date('2026-01-01T00:00:00Z') });
  const change = plan.changes.find((c) => c.artifact === 'node/east');
  assert.is(change?.action, 'create');
  assert.equal(change?.ops.issue?.hosts, node?.hosts);
});

test('every mistake at once, located', () => {
  const text = `certsDir: certs
caKey: secrets/ca.key
nodes: [{ name: cockroachdb, hosts: [a] }]
nodeSets:
  - name: cockroachdb
    namespace: Crdb
    clusterDomain: "bad_domain"
    hosts: ["bad host"]
  - name: x
    namespace: x
    keyType: ed25519
    keySize: 2048
    ssh: { host: h, dir: d }
outputs:
  kubernetes:
    - nodeSet: nope
      layout: helmm
      dir: certs/k8s
      names: { ca: foo, node: "Bad_Name" }
      sops: { age: [age1nope, AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQ] }
    - nodeSet: x
      layout: tls
      client: app
    - { nodeSet: x, layout: tls, client: app, dir: k8s, names: { node: a, client: a } }
    - { nodeSet: x, layout: operator, client: app, dir: k8s, names: { node: a, client: b } }
`;
  const r = parseSpec(text, 'bad.yaml', { cwd: '/w' });
  assert.not.ok(r.ok);
  if (r.ok) return;
  const lines = r.diagnostics.map(formatDiagnostic);
  const expected = [
    /^bad\.yaml:5:11: nodeSets\[0\]\.name: duplicate node name "cockroachdb" \(first used by nodes\[0\]\.name at line 3\)/,
    /^bad\.yaml:6:16: nodeSets\[0\]\.namespace: "Crdb" is not a valid Kubernetes name/,
    /^bad\.yaml:7:20: nodeSets\[0\]\.clusterDomain: "bad_domain" is not a DNS domain/,
    /^bad\.yaml:8:13: nodeSets\[0\]\.hosts\[0\]: "bad host" is neither a valid IP address nor a DNS name/,
    /^bad\.yaml:12:14: nodeSets\[1\]\.keySize: keySize applies to RSA keys only/,
    /^bad\.yaml:13:5: nodeSets\[1\]: unknown key "ssh"/,
    /^bad\.yaml:16:16: outputs\.kubernetes\[0\]\.nodeSet: no node set named "nope" in nodeSets \(there are: x\)/,
    /^bad\.yaml:17:15: outputs\.kubernetes\[0\]\.layout: must be one of "helm", "tls", "public-operator", "operator", got "helmm"/,
    /^bad\.yaml:17:15: outputs\.kubernetes\[0\]\.layout: the client Secret needs the certificate of user "root", which clients does not list/,
    /^bad\.yaml:18:12: outputs\.kubernetes\[0\]\.dir: "certs\/k8s" is inside certsDir/,
    /^bad\.yaml:19:20: outputs\.kubernetes\[0\]\.names\.ca: names\.ca is the CA ConfigMap of the operator layout/,
    /^bad\.yaml:19:31: outputs\.kubernetes\[0\]\.names\.node: "Bad_Name" is not a valid Kubernetes object name/,
    /^bad\.yaml:20:21: outputs\.kubernetes\[0\]\.sops\.age\[0\]: "age1nope" is not a valid age recipient/,
    /^bad\.yaml:20:31: outputs\.kubernetes\[0\]\.sops\.age\[1\]: AGE-SECRET-KEY-… is an age identity \(a private key\), not a recipient/,
    /^bad\.yaml:23:15: outputs\.kubernetes\[1\]\.client: the client Secret needs the certificate of user "app"/,
    /^bad\.yaml:24:42: outputs\.kubernetes\[2\]\.client: the client Secret needs the certificate of user "app"/,
    /^bad\.yaml:24:83: outputs\.kubernetes\[2\]\.names\.client: the client Secret cannot have the node Secret's name "a"/,
    /^bad\.yaml:25:47: outputs\.kubernetes\[3\]\.client: the client Secret needs the certificate of user "app"/,
    /^bad\.yaml:25:57: outputs\.kubernetes\[3\]\.dir: writes secret-a\.yaml in the same folder as outputs\.kubernetes\[2\] \(line 24\)/,
  ];
  for (const re of expected) assert.ok(lines.some((l) => re.test(l)), `${re}\n${lines.join('\n')}`);
  assert.not.ok(lines.some((l) => l.includes('QQQQQQQQQQ')), 'a pasted identity is never echoed');
});

test('clients: one Secret per user, named by default or by name:; client: still works', () => {
  const text = `certsDir: certs
caKey: secrets/ca.key
nodes: []
clients: [{ user: root }, { user: App }, { user: ops }]
nodeSets: [{ name: east, statefulSet: cockroachdb, namespace: crdb }]
outputs:
  kubernetes:
    - { nodeSet: east, layout: operator, clients: [{ user: root }, { user: APP }, { user: ops, name: ops-certs }] }
    - { nodeSet: east, layout: helm, clients: [{ user: app }], names: { client: app-only } }
    - { nodeSet: east, layout: tls, client: ops }
`;
  const r = parseSpec(text, 'c.yaml', { cwd: '/w' });
  assert.ok(r.ok, r.ok ? '' : r.diagnostics.map(formatDiagnostic).join('\n'));
  if (!r.ok) return;
  assert.equal(r.spec.outputs?.kubernetes.map((o) => o.clients), [
    [{ user: 'root', name: 'cockroachdb.client.root' }, { user: 'app', name: 'cockroachdb.client.app' }, { user: 'ops', name: 'ops-certs' }],
    [{ user: 'app', name: 'app-only' }],
    [{ user: 'ops', name: 'cockroachdb-ops' }],
  ]);
});

test('clients: mistakes located, client and clients together refused', () => {
  const text = `certsDir: certs
caKey: secrets/ca.key
nodes: []
clients: [{ user: root }, { user: app }]
nodeSets: [{ name: x, namespace: x }]
outputs:
  kubernetes:
    - { nodeSet: x, layout: helm, client: root, clients: [{ user: root }, { user: app }] }
    - { nodeSet: x, layout: tls, clients: [{ user: root }, { user: nobody }, { user: ROOT }] }
    - { nodeSet: x, layout: tls, clients: [{ user: root }, { user: app }], names: { client: one } }
    - { nodeSet: x, layout: helm, clients: [{ user: root, name: n }, { user: app, name: n }] }
    - { nodeSet: x, layout: tls, clients: [{ user: root, name: x-node }] }
    - { nodeSet: x, layout: tls, clients: [] }
    - { nodeSet: x, layout: tls, clients: [{ user: root }, root, { name: a }, { user: app, name: Bad_Name }] }
`;
  const r = parseSpec(text, 'bad.yaml', { cwd: '/w' });
  assert.not.ok(r.ok);
  if (r.ok) return;
  const lines = r.diagnostics.map(formatDiagnostic);
  const expected = [
    /^bad\.yaml:8:58: outputs\.kubernetes\[0\]\.clients: give client: \(one user\) or clients: \(a list\), not both/,
    /^bad\.yaml:9:68: outputs\.kubernetes\[1\]\.clients\[1\]\.user: the client Secret needs the certificate of user "nobody", which clients does not list/,
    /^bad\.yaml:9:86: outputs\.kubernetes\[1\]\.clients\[2\]\.user: user "root" is listed twice \(first at line 9\)/,
    /^bad\.yaml:10:93: outputs\.kubernetes\[2\]\.names\.client: names\.client names the one client Secret, but this output has 2 clients: give each its name in clients:/,
    /^bad\.yaml:11:89: outputs\.kubernetes\[3\]\.clients\[1\]\.name: the client Secret of "app" cannot have the client Secret of "root"'s name "n"/,
    /^bad\.yaml:12:64: outputs\.kubernetes\[4\]\.clients\[0\]\.name: the client Secret cannot have the node Secret's name "x-node"/,
    /^bad\.yaml:13:43: outputs\.kubernetes\[5\]\.clients: must have at least 1 item/,
    /^bad\.yaml:14:60: outputs\.kubernetes\[6\]\.clients\[1\]: expected a mapping \(key: value\), got "root"/,
    /^bad\.yaml:14:66: outputs\.kubernetes\[6\]\.clients\[2\]: missing required key "user"/,
    /^bad\.yaml:14:98: outputs\.kubernetes\[6\]\.clients\[3\]\.name: "Bad_Name" is not a valid Kubernetes object name/,
  ];
  for (const re of expected) assert.ok(lines.some((l) => re.test(l)), `${re}\n${lines.join('\n')}`);
  assert.is(lines.length, expected.length, lines.join('\n'));
});

test('examples/kubernetes/cluster-certs.yaml is valid, and its plaintext folder is one its .gitignore ignores', () => {
  const file = path.join(ROOT, 'examples/kubernetes/cluster-certs.yaml');
  const r = parseSpec(readFileSync(file, 'utf8'), file);
  assert.ok(r.ok, r.ok ? '' : r.diagnostics.map(formatDiagnostic).join('\n'));
  if (!r.ok) return;
  assert.equal(r.spec.outputs?.kubernetes.map((o) => [o.layout, o.sops !== undefined]), [['helm', true], ['operator', false]]);
});

test('examples/kubernetes applied in a fresh repository: git adds the spec, the journal, the manifest index and the encrypted Secrets, no key', async () => {
  const dir = path.join(tmpdir('certgen-k8s-example-'), 'repo');
  cpSync(path.join(ROOT, 'examples/kubernetes'), dir, { recursive: true });
  await execa('git', ['init', '-q'], { cwd: dir });
  await apply(await loadSpec(path.join(dir, 'cluster-certs.yaml')));
  await execa('git', ['add', '-A'], { cwd: dir });
  const tracked = (await execa('git', ['ls-files'], { cwd: dir })).stdout.split('\n').sort();
  assert.equal(tracked, ['.gitignore', 'cluster-certs.journal.jsonl', 'cluster-certs.manifests.json', 'cluster-certs.yaml', 'deploy/cockroachdb/certs/secret-cockroachdb-node.yaml', 'deploy/cockroachdb/certs/secret-cockroachdb-root.yaml']);
  for (const f of tracked) assert.not.match(readFileSync(path.join(dir, f), 'utf8'), /PRIVATE KEY|LS0tLS1CRUdJTi/, f);
  assert.ok(readdirSync(path.join(dir, 'private/operator')).length === 3, 'the plaintext layout is there, ignored');
});

test('a node set takes the top-level encrypt, or its own (age: [] for none), as a node does; a bad recipient is located', () => {
  const R2 = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';
  const text = `certsDir: certs
caKey: secrets/ca.key
encrypt: { age: [${R}] }
nodes: [{ name: n1, hosts: [n1.example.com] }]
nodeSets:
  - { name: east, namespace: crdb }
  - { name: west, namespace: crdb, encrypt: { age: [${R2}] } }
  - { name: north, namespace: crdb, encrypt: { age: [] } }
`;
  const r = parseSpec(text, 'c.yaml', { cwd: '/w' });
  assert.ok(r.ok, r.ok ? '' : r.diagnostics.map(formatDiagnostic).join('\n'));
  if (!r.ok) return;
  assert.equal(r.spec.nodes.map((n) => [n.name, n.ageRecipients]), [['n1', [R]], ['east', [R]], ['west', [R2]], ['north', undefined]]);
  // Without a top level, only the node set that asks is encrypted.
  const own = parseSpec(`certsDir: certs
caKey: secrets/ca.key
nodes: []
nodeSets:
  - { name: east, namespace: crdb }
  - { name: west, namespace: crdb, encrypt: { age: [${R2}] } }
`, 'c.yaml', { cwd: '/w' });
  assert.ok(own.ok);
  if (own.ok) assert.equal(own.spec.nodes.map((n) => [n.name, n.ageRecipients]), [['east', undefined], ['west', [R2]]]);
  const bad = parseSpec(`certsDir: certs
caKey: secrets/ca.key
nodes: []
nodeSets:
  - { name: east, namespace: crdb, encrypt: { age: [AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQ, age1nope] } }
  - { name: west, namespace: crdb, encrypt: { ages: [] } }
`, 'bad.yaml', { cwd: '/w' });
  assert.not.ok(bad.ok);
  if (bad.ok) return;
  const lines = bad.diagnostics.map(formatDiagnostic);
  assert.ok(lines.some((l) => /^bad\.yaml:5:\d+: nodeSets\[0\]\.encrypt\.age\[0\]: AGE-SECRET-KEY-… is an age identity/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^bad\.yaml:5:\d+: nodeSets\[0\]\.encrypt\.age\[1\]: "age1nope" is not a valid age recipient/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^bad\.yaml:6:\d+: nodeSets\[1\]\.encrypt/.test(l)), lines.join('\n'));
  assert.not.ok(lines.some((l) => l.includes('QQQQQQQQQQ')), 'a pasted identity is never echoed');
});

test("apply writes a node set's shared key as node.key.age for its recipients: age -d gives exactly the key, another identity nothing", async () => {
  const dir = tmpdir('certgen-k8s-age-');
  const keygen = async (name: string): Promise<{ file: string; recipient: string }> => {
    const file = path.join(dir, name);
    await execa('age-keygen', ['-o', file]);
    return { file, recipient: (await execa('age-keygen', ['-y', file])).stdout.trim() };
  };
  const top = await keygen('top.txt');
  const own = await keygen('own.txt');
  writeFileSync(path.join(dir, 'cluster-certs.yaml'), `certsDir: certs
caKey: secrets/ca.key
ca: { keyType: ecdsa-p256 }
defaults: { keyType: ecdsa-p256 }
encrypt: { age: [${top.recipient}] }
nodes: []
nodeSets:
  - { name: east, namespace: crdb }
  - { name: west, namespace: crdb, encrypt: { age: [${own.recipient}] } }
  - { name: north, namespace: crdb, encrypt: { age: [] } }
`);
  await apply(await loadSpec(path.join(dir, 'cluster-certs.yaml')));
  const certs = path.join(dir, 'certs');
  const dec = async (set: string, id: { file: string }) => execa('age', ['-d', '-i', id.file, path.join(certs, 'nodes', set, 'node.key.age')], { reject: false, encoding: 'buffer', stripFinalNewline: false });
  for (const [set, id, other] of [['east', top, own], ['west', own, top]] as const) {
    const ok = await dec(set, id);
    assert.is(ok.exitCode, 0, set);
    assert.ok(Buffer.from(ok.stdout).equals(readFileSync(path.join(certs, 'nodes', set, 'node.key'))), `${set}: node.key.age holds node.key`);
    assert.is((await dec(set, other)).exitCode, 1, `${set}: not for the other identity`);
  }
  assert.is(existsSync(path.join(certs, 'nodes/north/node.key.age')), false, 'age: [] encrypts nothing');
  const index = JSON.parse(readFileSync(path.join(certs, 'age-index.json'), 'utf8')) as { files: Record<string, { recipients: string[] }> };
  assert.equal(Object.keys(index.files).sort(), ['nodes/east/node.key.age', 'nodes/west/node.key.age']);
  assert.equal(index.files['nodes/west/node.key.age']?.recipients, [own.recipient]);
});

test.run();
