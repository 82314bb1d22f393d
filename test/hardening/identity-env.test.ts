// CERTGEN_AGE_IDENTITY (the identity that opens the CA key) never reaches a program certgen
// starts: git and ssh are replaced on PATH by wrappers that record their environment (git then
// runs the real one); apply in a git repository and distribute to an ssh node are run with the
// identity in the environment, and no recorded environment holds it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { bin, tmpdir } from '../helpers/index.js';
import { identity } from '../helpers/age.js';
import { gitInit } from '../helpers/git.js';

test('neither git nor ssh is started with CERTGEN_AGE_IDENTITY in its environment', async () => {
  const dir = tmpdir();
  const id = await identity(dir, 'id.txt');
  const wrappers = path.join(dir, 'bin');
  const seen = path.join(dir, 'seen');
  mkdirSync(wrappers);
  mkdirSync(seen);
  // Each call writes its environment to a file of its own (NUL-separated, as env -0 prints it).
  writeFileSync(path.join(wrappers, 'git'), `#!/bin/sh\nenv -0 > "${seen}/git.$$"\nexec /usr/bin/git "$@"\n`);
  writeFileSync(path.join(wrappers, 'ssh'), `#!/bin/sh\nenv -0 > "${seen}/ssh.$$"\necho "ssh: connect to host 127.0.0.1 port 1: Connection refused" >&2\nexit 255\n`);
  chmodSync(path.join(wrappers, 'git'), 0o755);
  chmodSync(path.join(wrappers, 'ssh'), 0o755);
  const repo = path.join(dir, 'repo');
  mkdirSync(repo);
  await gitInit(repo);
  writeFileSync(
    path.join(repo, 'cluster-certs.yaml'),
    stringify({ certsDir: 'certs', caKey: 'secrets/ca.key.age', ca: { keyType: 'ecdsa-p256' }, defaults: { keyType: 'ecdsa-p256' }, encrypt: { age: [id.recipient] }, nodes: [{ name: 'node1', hosts: ['localhost'], ssh: { host: '127.0.0.1', port: 1, user: 'nobody', dir: '/tmp/certgen-nowhere' } }], clients: [{ user: 'root' }] }),
  );
  const env = { CERTGEN_AGE_IDENTITY: id.text, PATH: `${wrappers}:${process.env.PATH ?? ''}` };
  const applied = await bin(['apply'], { cwd: repo, env });
  assert.is(applied.code, 0, applied.stderr);
  assert.ok(existsSync(path.join(repo, 'certs/.gitignore')), 'git was asked (the certs dir is in a work tree)');
  const dist = await bin(['distribute'], { cwd: repo, env });
  assert.is.not(dist.code, 0, 'the fake ssh refuses');
  const calls = readdirSync(seen);
  assert.ok(calls.some((f) => f.startsWith('git.')), calls.join(' '));
  assert.ok(calls.some((f) => f.startsWith('ssh.')), calls.join(' '));
  const secret = id.text.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1')) ?? '?';
  for (const f of calls) {
    const vars = readFileSync(path.join(seen, f), 'utf8').split('\0');
    assert.not.ok(vars.some((v) => v.startsWith('CERTGEN_AGE_IDENTITY=')), `${f} got CERTGEN_AGE_IDENTITY`);
    assert.not.ok(vars.some((v) => v.includes(secret)), `${f} got the identity`);
    assert.ok(vars.some((v) => v.startsWith('PATH=')), `${f}: the rest of the environment is passed on`);
  }
});

test.run();
