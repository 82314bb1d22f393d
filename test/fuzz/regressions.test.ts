// Fixed inputs for the bugs the fuzzers (test/fuzz/*.test.ts) found, so each stays fixed whatever
// the random cases of a run are.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatFinding } from '../../src/report/check.js';
import { cli, tmpdir } from '../helpers/index.js';

const test = suite('fuzz regressions');

test('a collection as a mapping key is a located spec error, not a process warning on stderr', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, 'certsDir: certs\ncaKey: ca.key\nnodes: []\n? [certsDir, caKey]\n: x\n');
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    const r = await cli(['validate', file]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.is(r.code, 1);
    assert.match(r.stderr, `${file}:1:1: unknown key "[ certsDir, caKey ]"`);
    assert.equal(warnings.map((w) => w.message), []);
  } finally {
    process.off('warning', onWarning);
  }
});

test('plan with a plan error (exit 1) says why on stderr too, also with --json on stdout', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, 'certsDir: certs\ncaKey: secrets/ca.key\nca: { keySize: 1024 }\ndefaults: { keySize: 1024 }\nnodes: []\n');
  assert.is((await cli(['apply', file])).code, 0);
  // The key named by the spec is gone while ca.crt exists: apply would refuse.
  writeFileSync(file, 'certsDir: certs\ncaKey: -a.com\nca: { keySize: 1024 }\ndefaults: { keySize: 1024 }\nnodes: []\n');
  for (const args of [['plan', file], ['plan', file, '--json'], ['apply', file, '--dry-run']]) {
    const r = await cli(args);
    assert.is(r.code, 1, args.join(' '));
    assert.match(r.stderr, /^ERROR: ca: the CA key .*-a\.com is missing but ca\.crt exists: /, args.join(' '));
  }
});

test('check: a spec path of a million spaces is reported at once (formatFinding was quadratic)', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, `certsDir: ${JSON.stringify(' '.repeat(1_000_000))}\ncaKey: ca.key\nnodes: []\n`);
  const t0 = Date.now();
  const r = await cli(['check', file]);
  assert.is(r.code, 1, r.stderr.slice(0, 300));
  assert.match(r.stderr, /^error: ca: cannot read the certs dir /);
  assert.ok(Date.now() - t0 < 10_000, `check took ${Date.now() - t0} ms`);
  // What the one-line form still does: a whitespace run with a line break becomes one space.
  assert.is(formatFinding({ kind: 'error', code: 'x', artifact: 'a', message: 'one \n\n  two  three\t\nfour ' }), 'error: a: one two  three four ');
});

test.run();
