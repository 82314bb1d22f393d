// Fixed inputs for the bugs the fuzzers (test/fuzz/*.test.ts) found, so each stays fixed whatever
// the random cases of a run are.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
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
  // On a terminal the text plan already ends with the error: it is not said twice.
  const tty = await cli(['plan', file], { tty: true, env: { NO_COLOR: '1' } });
  assert.is(tty.code, 1);
  assert.match(tty.stdout, /^error: ca: the CA key .*-a\.com is missing but ca\.crt exists: /m);
  assert.is(tty.stderr, '');
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

test('a deeply nested block followed by a key is a YAML error, not a RangeError with a stack trace', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  const deep = Array.from({ length: 3000 }, (_, i) => `  ${' '.repeat(i)}a:`);
  // The key after the deep block makes the parser unwind it, recursively.
  writeFileSync(file, ['certsDir: certs', 'caKey: ca.key', 'x-deep:', ...deep, 'nodes: []', ''].join('\n'));
  for (const cmd of ['validate', 'plan', 'check']) {
    const r = await cli([cmd, file]);
    assert.is(r.code, 1, cmd);
    assert.match(r.stderr, `${file}:1:1: invalid YAML: maximum call stack size exceeded`, cmd);
    assert.not.match(r.stderr, /internal error|\n\s+at /, cmd);
  }
});

test('a ca.crt whose outer SEQUENCE tag is damaged is a plan error, not a bundle to copy and an apply crash', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, 'certsDir: certs\ncaKey: secrets/ca.key\nca: { keySize: 1024 }\ndefaults: { keySize: 1024 }\nnodes:\n  - { name: node1, hosts: [localhost] }\n');
  assert.is((await cli(['apply', file])).code, 0);
  const ca = path.join(dir, 'certs', 'ca.crt');
  // "MIIC" -> "LIIC": the DER starts 0x2c instead of 0x30; every length still fits.
  writeFileSync(ca, readFileSync(ca, 'utf8').replace('-----\nMIIC', '-----\nLIIC'));
  const message = 'ca.crt cannot be read as a CA bundle (certificate 0: x509: malformed certificate)';
  const plan = await cli(['plan', file]);
  assert.is(plan.code, 1);
  assert.match(plan.stderr, `ERROR: ca: ${message}`);
  const apply = await cli(['apply', file]);
  assert.is(apply.code, 1);
  assert.match(apply.stderr, `ERROR: ca: ${message}`);
  assert.not.match(apply.stderr, /internal error|\n\s+at /);
});

/** node.crt of a fresh `cert` certs dir with one DER byte pair replaced (found by `find`). */
async function certsDirWithBrokenNodeCert(find: number[], replace: number[]): Promise<{ dir: string; certsDir: string }> {
  const dir = tmpdir();
  const certsDir = path.join(dir, 'certs');
  mkdirSync(path.join(dir, 'secrets'));
  const common = ['--certs-dir', certsDir, '--ca-key', path.join(dir, 'secrets', 'ca.key'), '--key-size', '1024'];
  assert.is((await cli(['cert', 'create-ca', ...common])).code, 0);
  assert.is((await cli(['cert', 'create-node', 'localhost', '127.0.0.1', ...common])).code, 0);
  const file = path.join(certsDir, 'node.crt');
  const der = Buffer.from(readFileSync(file, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const at = der.indexOf(Buffer.from(find));
  assert.ok(at >= 0, 'the bytes to replace are in the certificate');
  Buffer.from(replace).copy(der, at);
  writeFileSync(file, `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
  return { dir, certsDir };
}

// The SAN extension's OID, its OCTET STRING and SEQUENCE, then the first name's [2] dNSName tag,
// replaced by a SEQUENCE tag: no GeneralName. The modulus INTEGER of a 1024-bit RSA key, made an
// OCTET STRING: no RSA public key. @peculiar/x509 and node:crypto both parse either certificate
// and only throw later, when the SAN or the key is read.
for (const [what, find, replace] of [
  ['a malformed SAN extension', [0x06, 0x03, 0x55, 0x1d, 0x11], [0x06, 0x03, 0x55, 0x1d, 0x11]],
  ['a malformed public key', [0x03, 0x81, 0x8d, 0x00, 0x30, 0x81, 0x89, 0x02], [0x03, 0x81, 0x8d, 0x00, 0x30, 0x81, 0x89, 0x04]],
] as const) {
  test(`a node.crt with ${what} is a malformed certificate of that file, not an internal error`, async () => {
    const { certsDir } = await certsDirWithBrokenNodeCert([...find], [...replace]);
    if (what === 'a malformed SAN extension') {
      // Past the OID: 04 LL 30 LL 82 → the first GeneralName's tag.
      const file = path.join(certsDir, 'node.crt');
      const der = Buffer.from(readFileSync(file, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      const oid = der.indexOf(Buffer.from(find));
      const tag = der.indexOf(0x82, oid + 5);
      der[tag] = 0x30;
      writeFileSync(file, `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
    }
    const list = await cli(['cert', 'list', '--certs-dir', certsDir]);
    assert.not.match(list.stderr, /internal error|\n\s+at /);
    const report = await cli(['report', '--certs-dir', certsDir, '--format', 'json']);
    assert.is(report.code, 0, report.stderr);
    const rows = (JSON.parse(report.stdout) as { rows: { file: string; error: string }[] }).rows;
    const row = rows.find((r) => r.file === 'node.crt')?.error ?? '';
    if (what === 'a malformed public key') {
      // Go's words (the differential suite in test/pki/read proves them against crypto/x509).
      assert.is(list.code, 1);
      assert.match(list.stderr, 'failed to parse certificate 0 in file node.crt: x509: invalid RSA modulus');
      assert.match(row, 'failed to parse certificate 0 in file node.crt: x509: invalid RSA modulus');
    } else {
      // Go skips a GeneralName of a tag it does not know, so it loads this certificate; the
      // changed bytes only break its signature, and the report says so. cert list, which checks
      // no signature (nor does cockroach's), lists it with the names that are left.
      assert.is(row, 'node.crt is not signed by any CA certificate in ca.crt');
      assert.is(list.code, 0, list.stderr);
      const line = list.stdout.split('\n').find((l) => l.includes('node.crt')) ?? '';
      assert.match(line, /^Node\s+node\.crt\s+node\.key\s+\d{4}\/\d\d\/\d\d\s+addresses: 127\.0\.0\.1\s*$/);
    }
  });
}

test('a FIFO named like a certificate, key or CA bundle is an error row, not a command that never returns', async () => {
  const dir = tmpdir();
  const certsDir = path.join(dir, 'certs');
  const common = ['--certs-dir', certsDir, '--ca-key', path.join(dir, 'ca.key'), '--key-size', '1024'];
  assert.is((await cli(['cert', 'create-ca', ...common])).code, 0);
  assert.is((await cli(['cert', 'create-client', 'root', ...common])).code, 0);
  rmSync(path.join(certsDir, 'client.root.crt'));
  await execa('mkfifo', [path.join(certsDir, 'client.root.crt'), path.join(certsDir, 'client.x.key.pk8')]);
  // Were the fix gone, the reads would block libuv's threads for good: give up after 5 s.
  const within = <T>(p: Promise<T>): Promise<T> => Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('hung on a FIFO')), 5000).unref())]);
  const list = await within(cli(['cert', 'list', '--certs-dir', certsDir]));
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stderr, `could not read certificate file ${path.join(certsDir, 'client.root.crt')}: not a regular file`);
  const report = await within(cli(['report', '--certs-dir', certsDir, '--format', 'json']));
  assert.is(report.code, 0, report.stderr);
  const rows = (JSON.parse(report.stdout) as { rows: { file: string; error: string }[] }).rows;
  assert.match(rows.find((r) => r.file === 'client.root.crt')?.error ?? '', 'could not read certificate file client.root.crt: not a regular file');
});

test.run();
