// What certgen refuses, through the built CLI: a plaintext Secret where git could commit it
// (not ignored, tracked), a repository git cannot read, no git at all, a recipient that is not an
// age recipient; each is one clear line and leaves no file behind. And `render k8s`: files from
// the tree as it is, or plaintext on stdout (never to a terminal).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { Secret } from 'kubernetes-models/v1';
import { bin, cli, tmpdir } from '../helpers/index.js';

const RECIPIENT_FILE = () => {
  const dir = tmpdir('certgen-k8s-id-');
  return path.join(dir, 'id.txt');
};

async function recipient(): Promise<string> {
  const file = RECIPIENT_FILE();
  await execa('age-keygen', ['-o', file]);
  return (await execa('age-keygen', ['-y', file])).stdout.trim();
}

function spec(dir: string, output: string): string {
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(
    file,
    `certsDir: certs
caKey: secrets/ca.key
nodes: []
clients: [{ user: root }]
nodeSets: [{ name: crdb, namespace: db, keyType: ecdsa-p256 }]
defaults: { keyType: ecdsa-p256 }
ca: { keyType: ecdsa-p256 }
outputs:
  kubernetes:
${output}`,
  );
  return file;
}

async function repo(ignore = 'certs/\nsecrets/\n'): Promise<string> {
  const dir = tmpdir('certgen-k8s-git-');
  await execa('git', ['init', '-q'], { cwd: dir });
  writeFileSync(path.join(dir, '.gitignore'), ignore);
  return dir;
}

/** Nothing but the spec and what the test put there. */
function assertUntouched(dir: string, extra: string[] = []): void {
  assert.equal(readdirSync(dir).filter((f) => f !== '.git').sort(), ['.gitignore', 'cluster-certs.yaml', ...extra].sort());
}

function oneError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.match(lines[0] ?? '', /^ERROR: /);
  assert.match(lines[0] ?? '', pattern);
  assert.ok(lines.length <= 2, stderr);
  if (lines[1] !== undefined) assert.match(lines[1], /^HINT: /);
  assert.not.match(stderr, /    at |PRIVATE KEY/);
}

const s = suite('kubernetes refusals');

s('a plaintext Secret git does not ignore: refused, nothing written (not even the certs)', async () => {
  const dir = await repo();
  const f = spec(dir, '    - { nodeSet: crdb, layout: tls, dir: k8s }\n');
  const r = await bin(['apply', f], { cwd: dir });
  assert.is(r.code, 1);
  oneError(r.stderr, /outputs\.kubernetes\[0\]: refusing to write the plaintext Secret k8s\/secret-crdb-node\.yaml: git does not ignore it/);
  assert.match(r.stderr, /HINT: encrypt the output \(sops: \{ age: \[age1…\] \}\), or add its folder to \.gitignore \(k8s\/\)/);
  assertUntouched(dir);
});

s('a tracked path is refused even when a pattern ignores it', async () => {
  const dir = await repo('certs/\nsecrets/\nk8s/\n');
  mkdirSync(path.join(dir, 'k8s'));
  writeFileSync(path.join(dir, 'k8s', 'secret-crdb-root.yaml'), 'old\n');
  await execa('git', ['add', '-f', 'k8s/secret-crdb-root.yaml'], { cwd: dir });
  const f = spec(dir, '    - { nodeSet: crdb, layout: helm, dir: k8s }\n');
  const r = await bin(['apply', f], { cwd: dir });
  assert.is(r.code, 1);
  oneError(r.stderr, /refusing to write the plaintext Secret k8s\/secret-crdb-root\.yaml: git tracks it/);
  assert.match(r.stderr, /git rm --cached k8s\/secret-crdb-root\.yaml/);
  assertUntouched(dir, ['k8s']);
  assert.equal(readdirSync(path.join(dir, 'k8s')), ['secret-crdb-root.yaml']);
});

s('an ignored folder gets the plaintext Secrets; outside any repository too', async () => {
  const dir = await repo('certs/\nsecrets/\nk8s/\n');
  const f = spec(dir, '    - { nodeSet: crdb, layout: tls, dir: k8s }\n');
  const r = await bin(['apply', f], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Wrote 2 Kubernetes manifests:\n  k8s\/secret-crdb-node\.yaml  Secret crdb-node\n  k8s\/secret-crdb-root\.yaml  Secret crdb-root$/);
  const plain = tmpdir('certgen-k8s-norepo-');
  const g = spec(plain, '    - { nodeSet: crdb, layout: tls, dir: k8s }\n');
  const r2 = await bin(['apply', g], { cwd: plain });
  assert.is(r2.code, 0, r2.stderr);
  assert.ok(existsSync(path.join(plain, 'k8s', 'secret-crdb-node.yaml')));
});

s('a repository git cannot read, and no git at all: one clear line, nothing written', async () => {
  const dir = await repo();
  writeFileSync(path.join(dir, '.git', 'HEAD'), 'garbage\n');
  const f = spec(dir, '    - { nodeSet: crdb, layout: tls, dir: k8s }\n');
  const r = await bin(['apply', f], { cwd: dir });
  assert.is(r.code, 1);
  oneError(r.stderr, /git cannot read the repository around .*k8s\/secret-crdb-node\.yaml: not a git repository/);
  assertUntouched(dir);

  const dir2 = await repo();
  const g = spec(dir2, '    - { nodeSet: crdb, layout: tls, dir: k8s }\n');
  const empty = tmpdir('certgen-nogit-');
  symlinkSync(process.execPath, path.join(empty, 'node'));
  const r2 = await bin(['apply', g], { cwd: dir2, env: { PATH: empty } });
  assert.is(r2.code, 1);
  oneError(r2.stderr, /git is not installed \(not on PATH\), so certgen cannot tell whether git ignores the plaintext manifests/);
  assertUntouched(dir2);
});

s('SOPS outputs need no git, and a bad recipient is a located spec error', async () => {
  const dir = tmpdir('certgen-k8s-bad-');
  writeFileSync(path.join(dir, '.gitignore'), '');
  const f = spec(dir, '    - nodeSet: crdb\n      layout: helm\n      dir: k8s\n      sops: { age: [age1notarecipient] }\n');
  const r = await bin(['apply', f], { cwd: dir });
  assert.is(r.code, 1);
  assert.match(r.stderr, /cluster-certs\.yaml:13:21: outputs\.kubernetes\[0\]\.sops\.age\[0\]: "age1notarecipient" is not a valid age recipient/m);
  assertUntouched(dir);
  const good = spec(dir, `    - nodeSet: crdb\n      layout: helm\n      dir: k8s\n      sops: { age: [${await recipient()}] }\n`);
  const r2 = await bin(['apply', good], { cwd: dir, env: { PATH: '/nonexistent' } });
  assert.is(r2.code, 0, r2.stderr);
  assert.equal(readdirSync(path.join(dir, 'k8s')).sort(), ['secret-crdb-node.yaml', 'secret-crdb-root.yaml']);
});

s('plan lists the manifests apply would write and why; only a missing manifest is still a pending change', async () => {
  const dir = await repo('certs/\nsecrets/\n');
  const f = spec(dir, `    - { nodeSet: crdb, layout: operator, dir: deploy, sops: { age: [${await recipient()}] } }\n`);
  const fresh = await bin(['plan', f], { cwd: dir });
  assert.match(fresh.stdout, /\nKubernetes manifests apply would write \(outputs\.kubernetes\):\n  deploy\/secret-crdb\.node\.yaml +after ca create, node\/crdb create\n  deploy\/secret-crdb\.client\.root\.yaml +after ca create, client\/root create\n  deploy\/configmap-crdb-ca\.yaml +after ca create$/);
  assert.is((await bin(['apply', f], { cwd: dir })).code, 0);
  const same = await bin(['plan', f, '--detailed-exitcode'], { cwd: dir });
  assert.is(same.code, 0);
  assert.match(same.stdout, /\nKubernetes manifests: all 3 up to date\.$/);
  rmSync(path.join(dir, 'deploy', 'configmap-crdb-ca.yaml'));
  const missing = await bin(['plan', f, '--detailed-exitcode'], { cwd: dir });
  assert.is(missing.code, 2, 'apply would write something');
  assert.match(missing.stdout, /  deploy\/configmap-crdb-ca\.yaml  missing\n  \(2 up to date\)$/);
  // json stays the plan of the certificates alone.
  const json = await bin(['plan', f, '--json'], { cwd: dir });
  assert.not.match(json.stdout, /Kubernetes/);
  JSON.parse(json.stdout);
});

s('render k8s before apply: what is missing, one line and the command that makes it', async () => {
  const dir = await repo('certs/\nsecrets/\n');
  const f = spec(dir, `    - { nodeSet: crdb, layout: helm, dir: deploy, sops: { age: [${await recipient()}] } }\n`);
  const r = await bin(['render', 'k8s', f], { cwd: dir });
  assert.is(r.code, 1);
  oneError(r.stderr, /^ERROR: the certs dir certs does not exist: the manifests are made from it$/);
  mkdirSync(path.join(dir, 'certs'));
  const r2 = await bin(['render', 'k8s', f], { cwd: dir });
  assert.is(r2.code, 1);
  oneError(r2.stderr, /^ERROR: certs\/nodes\/crdb\/ca\.crt does not exist: the Kubernetes manifests are made from the certs dir$/);
  assert.match(r2.stderr, /HINT: run certgen apply/);
  assert.not.ok(existsSync(path.join(dir, 'deploy')));
});

s('render k8s: rewrites what is missing from the tree as it is; --stdout prints valid plaintext, never to a terminal', async () => {
  const dir = await repo('certs/\nsecrets/\n');
  const r0 = await recipient();
  const f = spec(dir, `    - { nodeSet: crdb, layout: operator, dir: deploy, sops: { age: [${r0}] } }\n    - { nodeSet: crdb, layout: helm }\n`);
  assert.is((await bin(['apply', f], { cwd: dir })).code, 0);
  rmSync(path.join(dir, 'deploy', 'configmap-crdb-ca.yaml'));
  const r = await bin(['render', 'k8s', f], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'Wrote 1 Kubernetes manifest (2 unchanged):\n  deploy/configmap-crdb-ca.yaml  ConfigMap crdb-ca');
  // Journalled like apply's writes: the path relative to the certs dir, hashes only.
  const journal = readFileSync(path.join(dir, 'cluster-certs.journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { command: string; files: Record<string, unknown>[] });
  const applyLines = journal.filter((l) => l.command === 'apply');
  assert.is(applyLines.length, 2, 'the certificates, then the manifests');
  assert.equal(applyLines[1]?.files.map((f) => f['file']).sort(), ['../deploy/configmap-crdb-ca.yaml', '../deploy/secret-crdb.client.root.yaml', '../deploy/secret-crdb.node.yaml']);
  const last = journal.at(-1);
  assert.is(last?.command, 'render k8s');
  assert.equal(last?.files, [{ file: '../deploy/configmap-crdb-ca.yaml', op: 'write', old: null, new: createHash('sha256').update(readFileSync(path.join(dir, 'deploy/configmap-crdb-ca.yaml'))).digest('hex'), mode: 0o644, reason: 'missing', artifact: 'outputs.kubernetes[0]' }]);
  assert.is((await bin(['journal', 'verify', f], { cwd: dir })).code, 0);

  const out = await bin(['render', 'k8s', f, '--stdout', '--output', '1'], { cwd: dir });
  assert.is(out.code, 0, out.stderr);
  const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as Record<string, any>);
  assert.equal(docs.map((d) => `${d.kind}/${d.metadata.name}`), ['Secret/crdb-node', 'Secret/crdb-root']);
  for (const d of docs) new Secret(d as never).validate();
  assert.match(Buffer.from(docs[0]?.data['node.key'], 'base64').toString(), /^-----BEGIN EC PRIVATE KEY-----/);

  const tty = await cli(['render', 'k8s', f, '--stdout'], { tty: true });
  assert.is(tty.code, 1);
  assert.is(tty.stdout, '');
  oneError(tty.stderr, /refusing to print private keys to a terminal/);
  const bad = await bin(['render', 'k8s', f, '--output', '5'], { cwd: dir });
  assert.is(bad.code, 4);
  assert.match(bad.stderr, /--output 5: the spec has outputs\.kubernetes\[0\] to \[1\]/);
});

s.run();
