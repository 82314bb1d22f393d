// Stale manifests: a file certgen wrote (its index beside the spec lists it) that the spec no
// longer produces (a client dropped, an object renamed, a layout or dir changed, an output
// removed) is shown by plan with its reason and removed by apply; an operator's own file, or a
// certgen file someone changed since, is never removed. A run killed anywhere converges on rerun:
// the states a kill can leave are built on disk, and real SIGKILLs land at spread delays.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { parse } from 'yaml';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { stagingName } from '../../src/core/staging-name.js';
import { ROOT, bin, cliEnv, tmpdir } from '../helpers/index.js';
import { crdbSpecText, validateObject, type CrdbOutput } from '../helpers/k8s.js';

interface Ctx {
  dir: string;
  spec: string;
}

function write(ctx: Ctx, outs: CrdbOutput[]): void {
  writeFileSync(ctx.spec, crdbSpecText(outs));
}

const INDEX = 'cluster-certs.manifests.json';
const index = (ctx: Ctx): Record<string, { sha256: string; kind: string; name: string; user?: string }> => JSON.parse(readFileSync(path.join(ctx.dir, INDEX), 'utf8')).files;
const files = (ctx: Ctx, d: string): string[] => (existsSync(path.join(ctx.dir, d)) ? readdirSync(path.join(ctx.dir, d)).sort() : []);
const run = async (ctx: Ctx) => apply(await loadSpec(ctx.spec));
const OPERATOR_FILE = 'private/k8s/secret-mine.yaml';
/** A manifest an operator keeps beside certgen's, labelled like certgen's: the index, not the label, says whose it is. */
const OPERATOR_TEXT = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: mine\n  namespace: db\n  labels: { app.kubernetes.io/managed-by: certgen }\ndata: {}\n';

const s = suite('stale Kubernetes manifests');

/** A fresh repository per test, applied once with the default output, and an operator file beside certgen's. */
async function fresh(): Promise<Ctx> {
  const ctx: Ctx = { dir: tmpdir('certgen-k8s-prune-'), spec: '' };
  await execa('git', ['init', '-q'], { cwd: ctx.dir });
  writeFileSync(path.join(ctx.dir, '.gitignore'), '/certs/\n/secrets/\n/private/\n');
  ctx.spec = path.join(ctx.dir, 'cluster-certs.yaml');
  write(ctx, [{}]);
  await run(ctx);
  writeFileSync(path.join(ctx.dir, OPERATOR_FILE), OPERATOR_TEXT);
  return ctx;
}

s('the index lists what certgen wrote, with hashes and owners, and holds no key material', async () => {
  const ctx = await fresh();
  const idx = index(ctx);
  assert.equal(Object.keys(idx), ['private/k8s/secret-crdb-app.yaml', 'private/k8s/secret-crdb-node.yaml', 'private/k8s/secret-crdb-root.yaml']);
  assert.equal(idx['private/k8s/secret-crdb-app.yaml']?.user, 'app');
  assert.not.match(readFileSync(path.join(ctx.dir, INDEX), 'utf8'), /PRIVATE KEY|LS0tLS1CRUdJTi/);
});

s('an apply that writes certificates and manifests reports both of its journal lines', async () => {
  const ctx: Ctx = { dir: tmpdir('certgen-k8s-journal-'), spec: '' };
  await execa('git', ['init', '-q'], { cwd: ctx.dir });
  writeFileSync(path.join(ctx.dir, '.gitignore'), '/certs/\n/secrets/\n/private/\n');
  ctx.spec = path.join(ctx.dir, 'cluster-certs.yaml');
  write(ctx, [{}]);
  const r = await run(ctx);
  const lines = readFileSync(path.join(ctx.dir, 'cluster-certs.journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
  assert.is(lines.length, 2);
  const file = path.join(ctx.dir, 'cluster-certs.journal.jsonl');
  assert.equal(r.journalLines, lines.map((l) => ({ file, seq: l.seq })));
  assert.equal(r.journal, { file, seq: lines[0]?.seq }, 'journal stays the first line');
});

s('a client dropped from clients: plan shows the removal and why; apply removes that file only, journals it', async () => {
  const ctx = await fresh();
  write(ctx, [{ clients: ['root'] }]);
  const p = await bin(['plan', ctx.spec, '--detailed-exitcode'], { cwd: ctx.dir });
  assert.is(p.code, 2, p.stdout + p.stderr);
  assert.match(p.stdout, /\nKubernetes manifests apply would remove \(written by certgen, no longer in the spec\):\n  private\/k8s\/secret-crdb-app\.yaml  user app is no longer a client of outputs\.kubernetes\[0\]\n  \(2 up to date\)$/);
  const r = await run(ctx);
  assert.equal(r.kubernetes?.filter((f) => f.action === 'removed').map((f) => path.relative(ctx.dir, f.file)), ['private/k8s/secret-crdb-app.yaml']);
  assert.equal(files(ctx, 'private/k8s'), ['secret-crdb-node.yaml', 'secret-crdb-root.yaml', 'secret-mine.yaml']);
  assert.is(readFileSync(path.join(ctx.dir, OPERATOR_FILE), 'utf8'), OPERATOR_TEXT);
  assert.equal(Object.keys(index(ctx)), ['private/k8s/secret-crdb-node.yaml', 'private/k8s/secret-crdb-root.yaml']);
  const journal = readFileSync(path.join(ctx.dir, 'cluster-certs.journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = journal.at(-1);
  assert.equal(r.journalLines, [{ file: path.join(ctx.dir, 'cluster-certs.journal.jsonl'), seq: last.seq }]);
  assert.equal(last.files.map((f: any) => [f.file, f.op, f.new, f.reason]), [['../private/k8s/secret-crdb-app.yaml', 'remove', null, 'stale-manifest']]);
  // Converged: nothing more to do, and the plan says so.
  const again = await bin(['plan', ctx.spec, '--detailed-exitcode'], { cwd: ctx.dir });
  assert.is(again.code, 0, again.stdout);
  assert.match(again.stdout, /Kubernetes manifests: all 2 up to date\./);
});

s('a renamed object, a changed layout, a moved dir, a removed output: the old files go, the new ones are valid', async () => {
  const ctx = await fresh();
  write(ctx, [{ names: '{ node: crdb-tls-node }' }]);
  let r = await run(ctx);
  // The first apply wrote two journal lines (the certificates', then the manifests'): both are in the result.
  const lines = readFileSync(path.join(ctx.dir, 'cluster-certs.journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
  assert.is(lines.length, 3);
  assert.equal(r.journalLines?.map((l) => ('seq' in l ? l.seq : l.error)), [lines[2]?.seq]);
  assert.equal(r.kubernetes?.filter((f) => f.action === 'removed').map((f) => [path.basename(f.file), f.reason]), [['secret-crdb-node.yaml', 'outputs.kubernetes[0] no longer writes Secret crdb-node (renamed, or the layout changed)']]);
  write(ctx, [{ layout: 'operator' }]);
  r = await run(ctx);
  assert.equal(files(ctx, 'private/k8s'), ['configmap-crdb-ca.yaml', 'secret-crdb.client.app.yaml', 'secret-crdb.client.root.yaml', 'secret-crdb.node.yaml', 'secret-mine.yaml']);
  for (const f of files(ctx, 'private/k8s')) validateObject(parse(readFileSync(path.join(ctx.dir, 'private/k8s', f), 'utf8')));
  write(ctx, [{ layout: 'operator', dir: 'private/moved' }]);
  r = await run(ctx);
  assert.equal(files(ctx, 'private/k8s'), ['secret-mine.yaml']);
  assert.equal(files(ctx, 'private/moved'), ['configmap-crdb-ca.yaml', 'secret-crdb.client.app.yaml', 'secret-crdb.client.root.yaml', 'secret-crdb.node.yaml']);
  assert.ok(r.kubernetes?.filter((f) => f.action === 'removed').every((f) => f.reason === 'no entry of outputs.kubernetes writes to private/k8s any more'));
  write(ctx, []);
  const p = await bin(['plan', ctx.spec], { cwd: ctx.dir });
  assert.match(p.stdout, /would remove[^\n]*(\n  private\/moved\/\S+ +no entry of outputs\.kubernetes writes to private\/moved any more){4}$/);
  r = await run(ctx);
  assert.equal(files(ctx, 'private/moved'), []);
  assert.equal(index(ctx), {});
  assert.is(readFileSync(path.join(ctx.dir, OPERATOR_FILE), 'utf8'), OPERATOR_TEXT);
});

s('render k8s prunes as apply does, but --output N touches only that output', async () => {
  const ctx = await fresh();
  write(ctx, [{}, { layout: 'helm', clients: ['root'], dir: 'private/helm' }]);
  await run(ctx);
  write(ctx, [{ clients: ['root'] }, { layout: 'helm', clients: ['root'], dir: 'private/helm' }]);
  const one = await bin(['render', 'k8s', ctx.spec, '--output', '1'], { cwd: ctx.dir });
  assert.is(one.code, 0, one.stderr);
  assert.ok(existsSync(path.join(ctx.dir, 'private/k8s/secret-crdb-app.yaml')), 'output 0 is not pruned by --output 1');
  assert.ok('private/k8s/secret-crdb-app.yaml' in index(ctx), 'and stays listed');
  const all = await bin(['render', 'k8s', ctx.spec], { cwd: ctx.dir });
  assert.is(all.code, 0, all.stderr);
  assert.match(all.stdout, /Removed 1 stale Kubernetes manifest:\n  private\/k8s\/secret-crdb-app\.yaml  Secret crdb-app: user app is no longer a client of outputs\.kubernetes\[0\]/);
  assert.not.ok(existsSync(path.join(ctx.dir, 'private/k8s/secret-crdb-app.yaml')));
});

s('a stale file changed since certgen wrote it is left in place and reported, not removed', async () => {
  const ctx = await fresh();
  const file = path.join(ctx.dir, 'private/k8s/secret-crdb-app.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('namespace: db', 'namespace: edited'));
  write(ctx, [{ clients: ['root'] }]);
  const p = await bin(['plan', ctx.spec, '--detailed-exitcode'], { cwd: ctx.dir });
  assert.is(p.code, 0, 'nothing apply would do');
  assert.match(p.stdout, /Stale Kubernetes manifests apply leaves in place:\n  private\/k8s\/secret-crdb-app\.yaml  user app is no longer a client of outputs\.kubernetes\[0\]; changed since certgen wrote it, so left in place \(delete it by hand\)/);
  const r = await run(ctx);
  assert.equal(r.kubernetes?.filter((f) => f.action === 'kept').map((f) => path.basename(f.file)), ['secret-crdb-app.yaml']);
  assert.ok(existsSync(file));
  // Deleted by hand: the index forgets it.
  await execa('rm', [file]);
  await run(ctx);
  assert.equal(Object.keys(index(ctx)), ['private/k8s/secret-crdb-node.yaml', 'private/k8s/secret-crdb-root.yaml']);
});

s('the states a kill leaves converge: file already gone, staged temporaries, index pending', async () => {
  const ctx = await fresh();
  write(ctx, [{ clients: ['root'] }]);
  // Killed after unlinking, before the index dropped the entry; and staged copies in both folders.
  await execa('rm', [path.join(ctx.dir, 'private/k8s/secret-crdb-app.yaml')]);
  const temps = [path.join(ctx.dir, 'private/k8s', stagingName('secret-crdb-root.yaml', 'aaaaaaaaaaaa')), path.join(ctx.dir, stagingName(INDEX, 'bbbbbbbbbbbb'))];
  for (const t of temps) writeFileSync(t, 'staged');
  const r = await run(ctx);
  assert.equal(r.kubernetes?.filter((f) => f.action !== 'unchanged'), [], 'a file already gone is not reported again');
  for (const t of temps) assert.not.ok(existsSync(t), `${t} removed`);
  assert.equal(Object.keys(index(ctx)), ['private/k8s/secret-crdb-node.yaml', 'private/k8s/secret-crdb-root.yaml']);
});

s('real SIGKILLs during apply: the next apply converges to exactly the new files', async () => {
  const ctx = await fresh();
  for (const delay of [40, 120, 200, 300, 450]) {
    write(ctx, [{}]);
    await run(ctx);
    write(ctx, [{ layout: 'operator', clients: ['root'], dir: 'private/other' }]);
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'apply', ctx.spec], { cwd: ctx.dir, env: cliEnv(), stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, delay));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    await run(ctx);
    assert.equal(files(ctx, 'private/k8s'), ['secret-mine.yaml'], `after a kill at ${delay} ms`);
    assert.equal(files(ctx, 'private/other'), ['configmap-crdb-ca.yaml', 'secret-crdb.client.root.yaml', 'secret-crdb.node.yaml'], `after a kill at ${delay} ms`);
    assert.equal(Object.keys(index(ctx)), ['private/other/configmap-crdb-ca.yaml', 'private/other/secret-crdb.client.root.yaml', 'private/other/secret-crdb.node.yaml']);
    assert.equal(readdirSync(ctx.dir).filter((f) => f.endsWith('.tmp')), []);
  }
});

s.run();
