// loadSpec against real files in a temporary folder: every way of failing is one clear
// CertgenError (never a stack trace in the message), and a good spec loads with absolute paths.

import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CertgenError } from '../../src/errors.js';
import { loadSpec, SpecError } from '../../src/cluster-spec/load-spec.js';
import type { Diagnostic } from '../../src/cluster-spec/spec.js';

const Load = suite('loadSpec');
let dir = '';

Load.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certgen-load-spec-'));
});
Load.after.each(async () => {
  await chmod(dir, 0o700).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** Runs `fn`, which must reject, and returns the error. */
async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const GOOD = [
  'certsDir: certs',
  'caKey: secrets/ca.key',
  'nodes:',
  '  - name: node1',
  '    hosts: [localhost, 127.0.0.1, localhost]',
  'clients:',
  '  - user: Root',
  '',
].join('\n');

Load('a good spec loads, with paths resolved against its folder', async () => {
  const file = join(dir, 'cluster-certs.yaml');
  await writeFile(file, GOOD);
  const warnings: Diagnostic[] = [];
  const spec = await loadSpec(file, { onWarning: (w) => warnings.push(w) });
  assert.is(spec.file, file);
  assert.is(spec.baseDir, dir);
  assert.is(spec.certsDir, join(dir, 'certs'));
  assert.is(spec.caKey, join(dir, 'secrets', 'ca.key'));
  assert.equal(spec.nodes[0]?.hosts, ['localhost', '127.0.0.1']);
  assert.is(spec.clients[0]?.user, 'root');
  assert.equal(warnings.map((w) => [w.line, w.col, w.path]), [[5, 35, 'nodes[0].hosts[2]']]);
});

Load('a relative path is echoed as typed and resolved against the current directory', async () => {
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'certsDir: certs\ncaKey: certs/ca.key\nnodes: []\n');
  const typed = relative(process.cwd(), file);
  const err = await rejection(() => loadSpec(typed));
  assert.instance(err, SpecError);
  assert.is(
    (err as SpecError).message,
    `${typed}:2:8: caKey: "certs/ca.key" is inside certsDir "certs"; the CA key must be kept outside the tree that gets distributed`,
  );
});

Load('an invalid spec throws a SpecError with every diagnostic, one per line', async () => {
  const file = join(dir, 'cluster-certs.yaml');
  await writeFile(file, 'certsDir: certs\ncaKey: ca.key\nnodes:\n  - { name: n1, hosts: [10.0.0.300] }\n  - { name: n1, hosts: [a] }\nbogus: 1\n');
  const err = await rejection(() => loadSpec(file));
  assert.instance(err, SpecError);
  assert.instance(err, CertgenError);
  const specError = err as SpecError;
  assert.is(specError.name, 'SpecError');
  assert.is(specError.diagnostics.length, 3);
  assert.equal(specError.message.split('\n'), [
    `${file}:4:25: nodes[0].hosts[0]: "10.0.0.300" is neither a valid IP address nor a DNS name`,
    `${file}:5:13: nodes[1].name: duplicate node name "n1" (first used by nodes[0].name at line 4)`,
    `${file}:6:1: unknown key "bogus"; expected one of: version, certsDir, caKey, encrypt, ca, clientCa, defaults, nodes, clients, nodeSets, outputs, tenants`,
  ]);
});

Load('a missing file is a one-line CertgenError pointing at `certgen plan FILE`', async () => {
  const file = join(dir, 'cluster-certs.yaml');
  const err = await rejection(() => loadSpec(file));
  assert.instance(err, CertgenError);
  assert.not.instance(err, SpecError);
  assert.is((err as CertgenError).message, `spec file ${file} not found`);
  assert.match((err as CertgenError).hint ?? '', 'certgen plan FILE');
});

Load('a file under a regular file is reported as not found', async () => {
  await writeFile(join(dir, 'plain'), 'x');
  const err = await rejection(() => loadSpec(join(dir, 'plain', 'cluster-certs.yaml')));
  assert.instance(err, CertgenError);
  assert.match((err as CertgenError).message, /^spec file .* not found/);
});

Load('a directory is named as such, with a hint when it holds a spec', async () => {
  const empty = join(dir, 'deploy');
  await mkdir(empty);
  let err = await rejection(() => loadSpec(empty));
  assert.instance(err, CertgenError);
  assert.is((err as CertgenError).message, `${empty} is a directory, not a spec file`);

  await writeFile(join(empty, 'cluster-certs.yaml'), GOOD);
  err = await rejection(() => loadSpec(empty));
  assert.is((err as CertgenError).hint, `Did you mean ${join(empty, 'cluster-certs.yaml')}?`);
});

Load('an empty file is one diagnostic', async () => {
  const file = join(dir, 'cluster-certs.yaml');
  await writeFile(file, '');
  const err = await rejection(() => loadSpec(file));
  assert.instance(err, SpecError);
  assert.is(
    (err as SpecError).message,
    `${file}:1:1: the spec is empty; it needs at least certsDir, caKey and nodes (see examples/cluster-certs.yaml)`,
  );
});

Load('a YAML syntax error is a diagnostic, not an exception from the parser', async () => {
  const file = join(dir, 'cluster-certs.yaml');
  await writeFile(file, 'certsDir: "certs\ncaKey: k\n');
  const err = await rejection(() => loadSpec(file));
  assert.instance(err, SpecError);
  for (const line of (err as SpecError).message.split('\n')) assert.match(line, new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: invalid YAML: `));
});

Load('a file that is not UTF-8 is refused', async () => {
  const file = join(dir, 'cluster-certs.yaml');
  await writeFile(file, Buffer.from([0x63, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
  const err = await rejection(() => loadSpec(file));
  assert.instance(err, CertgenError);
  assert.is((err as CertgenError).message, `spec file ${file} is not UTF-8 text`);
});

Load('no error message carries a stack trace', async () => {
  const err = await rejection(() => loadSpec(join(dir, 'nope.yaml')));
  assert.not.match((err as Error).message, /\n\s+at /);
});

Load.run();
