// The whole operator workflow on the command line: apply a spec, then `certgen distribute` to
// "nodes" that are folders on a real sshd on 127.0.0.1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startSshd, type SshdServer } from './helpers/sshd.js';
import { cli, tmpdir } from './helpers/index.js';

let sshd: SshdServer | undefined;
let startError: unknown;

const flow = suite('apply then distribute');

// uvu ignores errors thrown in `before`: keep the error and fail every test with it instead.
flow.before(async () => {
  try {
    sshd = await startSshd();
  } catch (err) {
    startError = err;
  }
});
flow.after(async () => {
  await sshd?.stop();
});

function server(): SshdServer {
  if (!sshd) throw startError instanceof Error ? startError : new Error('sshd did not start');
  return sshd;
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

flow('distribute copies each node its own files, then finds nothing to do', async () => {
  const s = server();
  const dir = tmpdir();
  const remote = path.join(dir, 'remote');
  const target = (name: string) => ({ host: s.host, port: s.port, user: s.user, dir: path.join(remote, name), identityFile: s.identityFile, knownHosts: s.knownHosts });
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(
    file,
    stringify({
      certsDir: 'certs',
      caKey: 'secrets/ca.key',
      ca: { keySize: 1024 },
      defaults: { keySize: 1024 },
      nodes: [
        { name: 'node1', hosts: ['localhost'], ssh: target('node1'), reload: `touch ${path.join(dir, 'reloaded-node1')}` },
        { name: 'node2', hosts: ['127.0.0.1'], ssh: target('node2') },
      ],
      clients: [{ user: 'root' }],
    }),
  );
  assert.is((await cli(['apply', file])).code, 0);

  const dry = await cli(['distribute', file, '--dry-run', '--quiet']);
  assert.is(dry.code, 0, dry.stderr);
  assert.not.ok(existsSync(path.join(remote, 'node1')), 'a dry run changes nothing remotely');
  assert.match(dry.stdout, /\nssh -p \d+ .*\n# then, on that session's stdin .*\neval /, 'the dry run shows the commands');

  const r = await cli(['distribute', file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /node node1/, 'progress lines on stderr');
  for (const n of ['node1', 'node2']) {
    for (const f of ['ca.crt', 'node.crt', 'node.key']) {
      assert.is(sha(path.join(remote, n, f)), sha(path.join(dir, 'certs/nodes', n, f)), `${n}/${f}`);
    }
    assert.is(statSync(path.join(remote, n, 'node.key')).mode & 0o777, 0o600);
    assert.is(statSync(path.join(remote, n)).mode & 0o777, 0o700);
  }
  assert.ok(existsSync(path.join(dir, 'reloaded-node1')), 'reload ran after a change');

  const again = await cli(['distribute', file, '--json']);
  assert.is(again.code, 0, again.stderr);
  const doc = JSON.parse(again.stdout) as { version: number; ok: boolean; targets: { status: string; copied: string[] }[] };
  assert.is(doc.version, 1);
  assert.equal(doc.targets.map((t) => [t.status, t.copied]), [
    ['unchanged', []],
    ['unchanged', []],
  ]);

  // While an apply holds the certs dir, distribute waits for nothing and sends nothing.
  const lockFile = path.join(dir, 'certs/.certgen.lock');
  writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'now' }));
  const locked = await cli(['distribute', file, '--quiet']);
  assert.is(locked.code, 1);
  assert.match(locked.stderr, /^ERROR: another certgen apply or distribute is running on /);
  rmSync(lockFile);

  const limited = await cli(['distribute', file, '--node', 'nope']);
  assert.is(limited.code, 1);
  assert.match(limited.stderr, /^ERROR: .*nope.*node1, node2/m);
});

flow('a host that is down fails alone, and the exit code says so', async () => {
  const s = server();
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  const base = { host: s.host, user: s.user, identityFile: s.identityFile, knownHosts: s.knownHosts };
  writeFileSync(
    file,
    stringify({
      certsDir: 'certs',
      caKey: 'secrets/ca.key',
      ca: { keySize: 1024 },
      defaults: { keySize: 1024 },
      nodes: [
        { name: 'up', hosts: ['localhost'], ssh: { ...base, port: s.port, dir: path.join(dir, 'remote/up') } },
        { name: 'down', hosts: ['localhost'], ssh: { ...base, port: 1, dir: path.join(dir, 'remote/down') } },
      ],
    }),
  );
  await cli(['apply', file]);
  const r = await cli(['distribute', file, '--quiet']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /connection refused on 127\.0\.0\.1:1/);
  assert.ok(existsSync(path.join(dir, 'remote/up/node.key')), 'the healthy node got its files');
});

flow.run();
