// `certgen status` on the command line against a real OpenSSH sshd on 127.0.0.1: the exit codes
// (0 in sync, 2 drift, 1 unreachable, the most severe winning), the three formats, --help, and a
// bad flag or node name. What status reports per file: test/distribute/status.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { startServer, type SshServer } from './helpers/sshd.js';
import { cli, tmpdir, setup } from './helpers/index.js';

const c = suite('certgen status on the command line');
let sshd: SshServer | undefined;
setup(c, async () => {
  sshd = await startServer('openssh');
});
c.after(async () => {
  await sshd?.stop();
});

c('exit 0 in sync, 2 drift, 1 unreachable (the most severe wins); table, markdown and json', async () => {
  if (sshd === undefined) throw new Error('the server did not start');
  const sv = sshd;
  const dir = tmpdir();
  const base = { host: sv.host, user: sv.user, port: sv.port, identityFile: sv.identityFile, knownHosts: sv.knownHosts };
  const node = (name: string, port = sv.port): object => ({ name, hosts: ['localhost'], ssh: { ...base, port, dir: path.join(dir, 'remote', name) } });
  const file = path.join(dir, 'cluster-certs.yaml');
  const write = (nodes: object[]): void =>
    writeFileSync(file, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keySize: 1024 }, defaults: { keySize: 1024 }, nodes }));
  write([node('n1'), node('n2')]);
  assert.is((await cli(['apply', file])).code, 0);

  const before = await cli(['status', file]);
  assert.is(before.code, 2, before.stderr);
  assert.match(before.stdout, /node n1 .* yes +\| folder missing \(3 files missing\) +\| DRIFT/, before.stdout + before.stderr);
  assert.match(before.stdout, /2 targets: 0 in sync, 2 drift, 0 unreachable/);

  assert.is((await cli(['distribute', file, '--quiet'])).code, 0);
  const ok = await cli(['status', file]);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /2 targets: 2 in sync, 0 drift, 0 unreachable/);
  assert.is(ok.stderr, '');

  rmSync(path.join(dir, 'remote/n2/node.crt'));
  const drift = await cli(['status', file, '--format', 'markdown']);
  assert.is(drift.code, 2);
  assert.match(drift.stdout, /^## Fleet status\n/);
  assert.match(drift.stdout, /\| \[ok\] \| node n1 \|/);
  assert.match(drift.stdout, /\| \*\*\[DRIFT\]\*\* \| node n2 \| .* \| yes \| node\.crt missing \|/);

  write([node('n1'), node('n2'), node('down', 1)]);
  assert.is((await cli(['apply', file])).code, 0);
  const down = await cli(['status', file, '--json']);
  assert.is(down.code, 1, 'unreachable wins over drift');
  const doc = JSON.parse(down.stdout) as { version: number; exitCode: number; summary: object; targets: { name: string; state: string; reachable: boolean; error: string | null; files: { state: string }[] }[] };
  assert.is(doc.version, 1);
  assert.is(doc.exitCode, 1);
  assert.equal(doc.summary, { total: 3, inSync: 1, drift: 1, unreachable: 1 });
  const d = doc.targets[2];
  assert.equal([d?.name, d?.state, d?.reachable, d?.error], ['down', 'unreachable', false, 'connection refused on 127.0.0.1:1']);
  assert.equal(d?.files.map((f) => f.state), ['unknown', 'unknown', 'unknown']);

  const help = await cli(['status', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Exit codes:\n {2}0 {2}every target is reachable/);
  assert.match(help.stdout, /--format <format> +output format \(choices: "table", "json", "markdown"/);
  const bad = await cli(['status', file, '--format', 'tsv']);
  assert.is(bad.code, 4);
  const unknown = await cli(['status', file, '--node', 'nope']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /^ERROR: unknown node nope \(valid nodes: n1, n2, down\)/m);
  assert.ok(existsSync(path.join(dir, 'remote/n1/node.key')));
});

c.run();
