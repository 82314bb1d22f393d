// `certgen report` and `certgen check` on the command line: flags, formats and exit codes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { cli, tmpdir } from './helpers/index.js';

const SPEC = {
  certsDir: 'certs',
  caKey: 'secrets/ca.key',
  ca: { keySize: 1024 },
  defaults: { keySize: 1024 },
  nodes: [{ name: 'node1', hosts: ['localhost'] }],
  clients: [{ user: 'root' }],
};

async function applied(): Promise<{ dir: string; file: string }> {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify(SPEC));
  assert.is((await cli(['apply', file])).code, 0);
  return { dir, file };
}

const t = suite('report and check');

t('check: 0 in sync, 2 on drift, 3 when expiring, 1 on a bad spec', async () => {
  const p = await applied();
  let r = await cli(['check', p.file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^check: exit 0, ok/m);
  chmodSync(path.join(p.dir, 'certs/nodes/node1/node.key'), 0o644);
  r = await cli(['check', p.file]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /drift: node\/node1: /);
  chmodSync(path.join(p.dir, 'certs/nodes/node1/node.key'), 0o600);
  r = await cli(['check', p.file, '--within', '50000h', '--json']);
  assert.is(r.code, 3);
  const doc = JSON.parse(r.stdout) as { version: number; exitCode: number; findings: { kind: string }[] };
  assert.is(doc.version, 1);
  assert.is(doc.exitCode, 3);
  assert.ok(doc.findings.every((f) => f.kind === 'expiring'));
  r = await cli(['check', path.join(p.dir, 'missing.yaml')]);
  assert.is(r.code, 1);
  r = await cli(['check', p.file, '--within', '30d']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /invalid argument "30d" for "--within" flag: time: unknown unit "d"/);
});

t('COCKROACH_SKIP_KEY_PERMISSION_CHECK reads as in cert (os.LookupEnv + ParseBool): set but empty is an error, not false', async () => {
  const p = await applied();
  for (const argv of [['check', p.file], ['report', p.file]]) {
    let r = await cli(argv, { env: { COCKROACH_SKIP_KEY_PERMISSION_CHECK: 'false' } });
    assert.is(r.code, 0, `${argv[0]}: ${r.stderr}`);
    for (const value of ['', 'yes']) {
      r = await cli(argv, { env: { COCKROACH_SKIP_KEY_PERMISSION_CHECK: value } });
      assert.is(r.code, 1, `${argv[0]}: ${r.stderr}`);
      assert.is(r.stdout, '');
      assert.is(r.stderr, `ERROR: invalid boolean value ${JSON.stringify(value)} for environment variable COCKROACH_SKIP_KEY_PERMISSION_CHECK\n`);
    }
  }
});

t('report: formats, --certs-dir, and rows for broken files', async () => {
  const p = await applied();
  for (const format of ['table', 'tsv', 'csv', 'json', 'markdown', 'html']) {
    const r = await cli(['report', p.file, `--format=${format}`]);
    assert.is(r.code, 0, `${format}: ${r.stderr}`);
    assert.match(r.stdout, /node1/, format);
  }
  rmSync(path.join(p.dir, 'certs/clients/root/client.root.key'));
  const r = await cli(['report', '--certs-dir', path.join(p.dir, 'certs'), '--recursive', '--format=json']);
  assert.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { version: number; rows: { file: string; status: string }[] };
  assert.ok(doc.rows.some((row) => /client\.root\.crt$/.test(row.file) && row.status === 'error'), 'the broken client is a row with an error');
  assert.ok(doc.rows.some((row) => /node\.crt$/.test(row.file) && row.status === 'ok'), 'the other rows are still there');
  const both = await cli(['report', p.file, '--certs-dir', p.dir]);
  assert.is(both.code, 4);
  const bad = await cli(['report', '--format=pdf']);
  assert.is(bad.code, 4);
});

t.run();
