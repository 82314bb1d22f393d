// `certgen validate | plan | apply` on the command line: output, --json against its schema,
// terraform-style exit codes, and clear one-line errors for bad input.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { ROOT, bin, cli, tmpdir } from './helpers/index.js';

const require = createRequire(import.meta.url);
const AjvModule = require('ajv') as { default: new (o: object) => { compile: (s: object) => ((d: unknown) => boolean) & { errors?: unknown } } };
const Ajv = AjvModule.default;

const SPEC = {
  certsDir: 'certs',
  caKey: 'secrets/ca.key',
  ca: { keySize: 1024 },
  defaults: { keySize: 1024 },
  nodes: [{ name: 'node1', hosts: ['node1.example.com', '127.0.0.1'] }],
  clients: [{ user: 'root' }],
};

function project(doc: object = SPEC): { dir: string; file: string } {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify(doc));
  return { dir, file };
}

const planCli = suite('plan and apply');

planCli('plan --format markdown: a table with the same exit codes; --json with another --format is a flag error', async () => {
  const p = project();
  let r = await cli(['plan', p.file, '--format', 'markdown', '--detailed-exitcode']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stdout, /^### certgen plan: `.*cluster-certs\.yaml`\n\nCerts dir `.*certs`\. \*\*3 to create, /);
  assert.match(r.stdout, '\n| **create** | `ca` | `../secrets/ca.key`<br>`ca.crt` | `missing` ');
  r = await cli(['plan', p.file, '--format', 'json']);
  assert.is((JSON.parse(r.stdout) as { changes: unknown[] }).changes.length, 3);
  r = await cli(['plan', p.file, '--json', '--format', 'markdown']);
  assert.is(r.code, 4);
  assert.match(r.stderr, '--json and --format markdown ask for two formats');
  r = await cli(['plan', p.file, '--format', 'yaml']);
  assert.is(r.code, 4);
  assert.match(r.stderr, 'invalid argument "yaml" for "--format" flag: must be one of text, json, markdown');
});

planCli('plan --detailed-exitcode: 2 with changes, 0 after apply; plan never writes', async () => {
  const p = project();
  let r = await cli(['plan', p.file, '--detailed-exitcode']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stdout, /^Plan for .*cluster-certs\.yaml \(certs dir .*certs\):\n  create +ca +missing: ca\.crt and the CA key do not exist/);
  assert.match(r.stdout, /Plan: 3 to create, 0 to reissue, 0 to fix mode, 0 CA bundles to update, 0 orphaned, 0 unchanged\.\n$/);
  assert.not.ok(existsSync(path.join(p.dir, 'certs')), 'plan created nothing');
  r = await cli(['plan', p.file]);
  assert.is(r.code, 0, 'without --detailed-exitcode, pending changes are not an error');
  r = await cli(['apply', p.file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Applied 3 changes to .*certs:\n  created +ca +missing\n  created +node\/node1 +missing\n  created +client\/root +missing\n$/);
  r = await cli(['plan', p.file, '--detailed-exitcode']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /nothing to do: the certs dir matches the spec/);
  r = await cli(['apply', p.file]);
  assert.match(r.stdout, /^Nothing to do: /);
});

planCli('apply --dry-run prints the plan and writes nothing', async () => {
  const p = project();
  const r = await cli(['apply', p.file, '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Plan for .*\n  create +ca +missing/);
  assert.not.ok(existsSync(path.join(p.dir, 'certs')), 'no certs dir was created');
  assert.not.ok(existsSync(path.join(p.dir, 'secrets')), 'no CA key was created');
});

planCli('--json output validates against schemas/plan.schema.json', async () => {
  const p = project();
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas/plan.schema.json'), 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, validateFormats: false }).compile(schema);
  const r = await cli(['plan', p.file, '--json']);
  const doc = JSON.parse(r.stdout) as { version: number; changes: { action: string; artifact: string }[] };
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  assert.is(doc.version, 1);
  assert.equal(doc.changes.map((c) => `${c.action} ${c.artifact}`), ['create ca', 'create node/node1', 'create client/root']);
  const a = await cli(['apply', p.file, '--json']);
  const done = JSON.parse(a.stdout) as { version: number; plan: unknown; written: string[] };
  assert.ok(validate(done.plan), JSON.stringify(validate.errors));
  assert.ok(done.written.includes('nodes/node1/node.key'));
  // a changed tree: every reason object also validates
  chmodSync(path.join(p.dir, 'certs/nodes/node1/node.key'), 0o644);
  writeFileSync(path.join(p.dir, 'certs/clients/root/ca.crt'), 'stale');
  const again = JSON.parse((await cli(['plan', p.file, '--json'])).stdout) as unknown;
  assert.ok(validate(again), JSON.stringify(validate.errors));
});

planCli('a blocked plan exits 1 and apply says nothing was changed', async () => {
  const p = project();
  await cli(['apply', p.file]);
  writeFileSync(path.join(p.dir, 'secrets/ca.key'), 'garbage');
  let r = await cli(['plan', p.file, '--detailed-exitcode']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /error: ca: the CA key .* cannot be read/);
  assert.match(r.stdout, /^  no changes can be planned until the error below is fixed\.$/m, 'no false all-clear');
  assert.not.match(r.stdout, /nothing to do/);
  r = await cli(['apply', p.file]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: ca: the CA key .*ca\.key cannot be read \(.*\)\nNothing was changed\.\n$/);
});

planCli('FILE defaults to ./cluster-certs.yaml', async () => {
  const p = project();
  const r = await bin(['plan', '--detailed-exitcode'], { cwd: p.dir });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stdout, /^Plan for cluster-certs\.yaml \(certs dir certs\):/);
});

planCli('plan -out FILE saves the plan; apply FILE carries it out, from any folder; a second apply of it is refused', async () => {
  const p = project();
  mkdirSync(path.join(p.dir, 'plans'));
  let r = await bin(['plan', '-out', 'plans/first.plan'], { cwd: p.dir });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Plan for cluster-certs\.yaml/);
  assert.is(r.stderr, 'Saved the plan to plans/first.plan. To carry out exactly this plan: certgen apply plans/first.plan');
  assert.not.ok(existsSync(path.join(p.dir, 'certs')), 'plan --out writes only the plan');
  // terraform's other spelling, and --out, write the same plan
  r = await bin(['plan', '-out=plans/second.plan', '--json'], { cwd: p.dir });
  assert.is(r.code, 0, r.stderr);
  assert.equal((JSON.parse(readFileSync(path.join(p.dir, 'plans/second.plan'), 'utf8')) as { plan: unknown }).plan, JSON.parse(r.stdout), 'the saved plan is the printed one');
  r = await bin(['apply', path.join(p.dir, 'plans/first.plan')], { cwd: ROOT });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Applied 3 changes to .*certs:\n  created +ca/);
  assert.ok(existsSync(path.join(p.dir, 'certs/nodes/node1/node.key')));
  r = await bin(['apply', 'plans/second.plan'], { cwd: p.dir });
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: the saved plan plans\/second\.plan is stale: since it was made, the CA key \.\.\/secrets\/ca\.key changed; in the certs dir ca\.crt appeared, .* and \d+ more\. Nothing was changed\nHINT: make a new plan \(certgen plan --out plans\/second\.plan\) and review it$/);
  r = await bin(['plan', '--detailed-exitcode'], { cwd: p.dir });
  assert.is(r.code, 0, 'the first plan converged the tree');
});

planCli('saved plans: --prune is the plan\'s to decide, a blocked plan is not saved, an unwritable path is one line', async () => {
  const p = project();
  let r = await cli(['plan', p.file, '--out', path.join(p.dir, 'p.plan')]);
  assert.is(r.code, 0, r.stderr);
  r = await cli(['apply', path.join(p.dir, 'p.plan'), '--prune']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /--prune cannot be given with a saved plan/);
  r = await cli(['apply', path.join(p.dir, 'p.plan'), '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Plan for .*\n  create +ca +missing/);
  assert.not.ok(existsSync(path.join(p.dir, 'certs')), '--dry-run with a saved plan writes nothing');
  r = await cli(['plan', p.file, '--out', path.join(p.dir, 'no/such/folder/p.plan')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: could not save the plan: open .*no\/such\/folder\/.*: no such file or directory\n$/m);
  assert.not.match(r.stderr, /internal error|at /);
  await cli(['apply', p.file]);
  writeFileSync(path.join(p.dir, 'secrets/ca.key'), 'garbage');
  r = await cli(['plan', p.file, '--out', path.join(p.dir, 'blocked.plan')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /The plan was not saved: apply could not carry it out\./);
  assert.not.ok(existsSync(path.join(p.dir, 'blocked.plan')));
});

planCli.run();

const bad = suite('bad input gets one clear line each');

bad('spec errors are listed with file:line:col, exit 1, and nothing is touched', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, 'certsDir: certs\ncaKey: secrets/ca.key\nnodes:\n  - name: node1\n    hosts: [a.example.com, 10.0.0.300]\nclients:\n  - user: "bad user"\n');
  for (const cmd of ['validate', 'plan', 'apply']) {
    const r = await cli([cmd, file]);
    assert.is(r.code, 1, cmd);
    assert.is(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /cluster-certs\.yaml:5:28: nodes\[0\]\.hosts\[1\]: "10\.0\.0\.300" is neither a valid IP address nor a DNS name$/);
    assert.match(lines[1] ?? '', /cluster-certs\.yaml:7:11: clients\[0\]\.user: /);
    assert.is(lines[lines.length - 1], '2 errors in the spec; nothing was changed.');
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.not.ok(existsSync(path.join(dir, 'certs')));
});

bad('missing file, a directory, an empty file', async () => {
  const dir = tmpdir();
  let r = await cli(['plan', path.join(dir, 'nope.yaml')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: spec file .*nope\.yaml not found\nHINT: /);
  r = await cli(['apply', dir]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /is a directory/);
  writeFileSync(path.join(dir, 'empty.yaml'), '');
  r = await cli(['validate', path.join(dir, 'empty.yaml')]);
  assert.is(r.code, 1);
  assert.is(r.stderr.trimEnd().split('\n').length, 2, r.stderr);
  for (const out of [r.stderr]) assert.not.match(out, /\n\s+at /);
});

bad('an unreadable spec file says permission denied (run as nobody)', async () => {
  const p = project();
  // The temp folder is 0700 root: user nobody can reach neither it nor the file.
  const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, path.join(ROOT, 'dist/cli.js'), 'validate', p.file], { reject: false });
  assert.is(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, /^ERROR: cannot read spec file .*cluster-certs\.yaml: permission denied$/m);
});

bad('validate reports a valid spec', async () => {
  const p = project();
  const r = await cli(['validate', p.file]);
  assert.is(r.code, 0);
  assert.match(r.stdout, /cluster-certs\.yaml: valid \(1 node, 1 client\)\n$/);
  mkdirSync(path.join(p.dir, 'x'));
});

bad.run();
