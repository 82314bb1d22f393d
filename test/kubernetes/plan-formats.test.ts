// plan --json and plan --format markdown carry the Kubernetes section the text plan shows: each
// manifest file, what apply would do to it and why (written after a change, missing, removed as
// stale), the JSON valid against schemas/plan.schema.json; --detailed-exitcode counts it in each
// format. Through the built CLI, in a real git repository.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { createRequire } from 'node:module';
import { ROOT, bin, tmpdir } from '../helpers/index.js';
import { crdbSpecText } from '../helpers/k8s.js';

function spec(dir: string, clients: string[]): string {
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, crdbSpecText([{ clients }]));
  return file;
}

const require = createRequire(import.meta.url);
const Ajv = (require('ajv') as { default: new (o: object) => { compile: (s: object) => ((d: unknown) => boolean) & { errors?: unknown } } }).default;
const validate = new Ajv({ allErrors: true, validateFormats: false }).compile(JSON.parse(readFileSync(path.join(ROOT, 'schemas/plan.schema.json'), 'utf8')) as object);

test('plan --json and --format markdown: the manifests apply would write, then remove, with reasons', async () => {
  const dir = tmpdir('certgen-k8s-plan-');
  await execa('git', ['init', '-q'], { cwd: dir });
  writeFileSync(path.join(dir, '.gitignore'), '/certs/\n/secrets/\n/private/\n');
  const file = spec(dir, ['root', 'app']);

  const json = await bin(['plan', file, '--json', '--detailed-exitcode'], { cwd: dir });
  assert.is(json.code, 2, json.stderr);
  const doc = JSON.parse(json.stdout) as { kubernetes: unknown[] };
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  assert.equal(doc.kubernetes, [
    { output: 0, file: 'private/k8s/secret-crdb-node.yaml', state: 'follows', after: ['ca create', 'node/crdb create'] },
    { output: 0, file: 'private/k8s/secret-crdb-root.yaml', state: 'follows', after: ['ca create', 'client/root create'] },
    { output: 0, file: 'private/k8s/secret-crdb-app.yaml', state: 'follows', after: ['ca create', 'client/app create'] },
  ]);
  const mdFresh = await bin(['plan', file, '--format', 'markdown'], { cwd: dir });
  assert.match(mdFresh.stdout, /\*\*Kubernetes manifests\*\* \(outputs\.kubernetes\)\n\n\| Action \| File \| Output \| Reason \|\n\|[-| ]+\|\n\| \*\*write\*\* \| `private\/k8s\/secret-crdb-node\.yaml` \| `outputs\.kubernetes\[0\]` \| after ca create, node\/crdb create \|/);

  assert.is((await bin(['apply', file], { cwd: dir })).code, 0);
  // Up to date: the section says so, and nothing is pending in any format.
  const idle = await bin(['plan', file, '--json', '--detailed-exitcode'], { cwd: dir });
  assert.is(idle.code, 0, idle.stdout);
  assert.ok((JSON.parse(idle.stdout) as { kubernetes: { state: string }[] }).kubernetes.every((f) => f.state === 'unchanged'));
  const mdIdle = await bin(['plan', file, '--format', 'markdown', '--detailed-exitcode'], { cwd: dir });
  assert.is(mdIdle.code, 0);
  assert.match(mdIdle.stdout, /\*\*Kubernetes manifests\*\* \(outputs\.kubernetes\)\n\nAll 3 up to date\.$/);

  spec(dir, ['root']);
  const stale = await bin(['plan', file, '--json', '--detailed-exitcode'], { cwd: dir });
  assert.is(stale.code, 2, 'a removal is a pending change');
  const staleDoc = JSON.parse(stale.stdout) as { changes: { action: string }[]; kubernetes: unknown[] };
  assert.ok(validate(staleDoc), JSON.stringify(validate.errors));
  assert.ok(staleDoc.changes.every((c) => c.action === 'keep'), 'the certificates are unchanged');
  assert.equal(staleDoc.kubernetes.at(-1), { output: 0, file: 'private/k8s/secret-crdb-app.yaml', state: 'remove', reason: 'user app is no longer a client of outputs.kubernetes[0]' });
  const md = await bin(['plan', file, '--format', 'markdown', '--detailed-exitcode'], { cwd: dir });
  assert.is(md.code, 2);
  assert.match(md.stdout, /\n\| \*\*remove\*\* \| `private\/k8s\/secret-crdb-app\.yaml` \| `outputs\.kubernetes\[0\]` \|[^\n]*user app is no longer a client of outputs[^\n]*\|\n\n2 up to date\.$/);
  assert.not.match(md.stdout + stale.stdout, /PRIVATE KEY|LS0tLS1CRUdJTi/);
});

test('a spec without outputs.kubernetes: no kubernetes member, the plan as before', async () => {
  const dir = tmpdir('certgen-k8s-plan-none-');
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, 'certsDir: certs\ncaKey: secrets/ca.key\nnodes: []\nclients: [{ user: root }]\n');
  const doc = JSON.parse((await bin(['plan', file, '--json'], { cwd: dir })).stdout) as Record<string, unknown>;
  assert.not.ok('kubernetes' in doc);
  assert.not.match((await bin(['plan', file, '--format', 'markdown'], { cwd: dir })).stdout, /Kubernetes/);
});

test.run();
