// certgen check in a real git repository: `key-tracked` for a private key git tracks or stages
// (by name in the certs dir, by content anywhere: PEM, DER, base64 in a Secret), `key-not-ignored`
// for a key git would take, `check --staged` reading the index and not the work tree (also from a
// plain git pre-commit hook, through `git commit -a` and `git commit PATH`), and one clear line
// when there is no repository, no git, or a broken one. No key material in any output.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { stringify } from 'yaml';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { ROOT, bin, tmpdir } from '../helpers/index.js';
import { GIT_ENV, git, gitInit } from '../helpers/git.js';

const NOW = new Date('2026-06-01T00:00:00Z');

interface Repo {
  dir: string;
  file: string;
  certs: string;
}

/** A repository holding a spec and its applied tree (the CA key ignored at the top), everything committable committed. */
async function repo(opts: { ignoreSecrets?: boolean } = {}): Promise<Repo> {
  const dir = tmpdir();
  await gitInit(dir);
  writeFileSync(path.join(dir, '.gitignore'), opts.ignoreSecrets === false ? '' : 'secrets/\n');
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keyType: 'ecdsa-p256' }, defaults: { keyType: 'ecdsa-p256' }, nodes: [{ name: 'node1', hosts: ['node1.example.com'] }], clients: [{ user: 'root', pkcs8: true }] }));
  await apply(await loadSpec(file), { now: () => NOW });
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', 'certs']);
  return { dir, file, certs: path.join(dir, 'certs') };
}

/** The CLI in the repository, with git's test environment. */
async function certgen(r: Repo, args: string[], env: NodeJS.ProcessEnv = {}) {
  return bin(args, { cwd: r.dir, env: { ...GIT_ENV, ...env } });
}

/** Every base64 line of every key in the repository's work tree (none may appear in output). */
function keyMaterial(r: Repo, files: string[]): string[] {
  return files.flatMap((f) => readFileSync(path.join(r.dir, f), 'latin1').split('\n').filter((l) => /^[A-Za-z0-9+/]{16,}/.test(l)));
}

function assertNoKeyMaterial(out: string, lines: string[]): void {
  for (const l of lines) assert.not.ok(out.includes(l), 'key material in the output');
}

const lines = (stderr: string, code: string): string[] => stderr.split('\n').filter((l) => l.startsWith('error: ') && l.includes(code));

const tracked = suite('check: key-tracked and key-not-ignored');

tracked('a clean repository: exit 0, nothing about git', async () => {
  const r = await repo();
  const c = await certgen(r, ['check']);
  assert.is(c.code, 0, c.stderr);
  const s = await certgen(r, ['check', '--staged']);
  assert.is(s.code, 0, s.stderr);
  assert.match(s.stderr, /^check: exit 0/m);
});

tracked('a key added with git add -f: one line naming it, exit 1, no key material', async () => {
  const r = await repo();
  await git(r.dir, ['add', '-f', 'certs/nodes/node1/node.key', 'certs/clients/root/client.root.key.pk8']);
  for (const args of [['check'], ['check', '--staged']]) {
    const c = await certgen(r, args);
    assert.is(c.code, 1, args.join(' '));
    const found = lines(c.stderr, 'key-tracked').length + lines(c.stderr, ' is in git').length;
    assert.ok(found >= 2, c.stderr);
    assert.match(c.stderr, /error: certs\/nodes\/node1\/node\.key is in git's index \([^)]*\) and holds a PEM EC PRIVATE KEY block: git rm --cached certs\/nodes\/node1\/node\.key/);
    assert.match(c.stderr, /error: certs\/clients\/root\/client\.root\.key\.pk8 is in git's index \([^)]*\) and holds a DER PKCS#8 private key/);
    assertNoKeyMaterial(`${c.stdout}${c.stderr}`, keyMaterial(r, ['certs/nodes/node1/node.key']));
  }
  const j = await certgen(r, ['check', '--json']);
  const result = JSON.parse(j.stdout) as { exitCode: number; findings: { code: string; file?: string }[] };
  assert.equal(result.findings.filter((f) => f.code === 'key-tracked').map((f) => f.file).sort(), ['certs/clients/root/client.root.key.pk8', 'certs/nodes/node1/node.key']);
});

tracked('by content anywhere: a Secret with a base64 key; not a SOPS-encrypted one; a key by name alone in the certs dir', async () => {
  const r = await repo();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  mkdirSync(path.join(r.dir, 'deploy'));
  writeFileSync(path.join(r.dir, 'deploy/node-secret.yaml'), `apiVersion: v1\nkind: Secret\nmetadata:\n  name: cockroachdb-node\ndata:\n  tls.key: ${Buffer.from(key).toString('base64')}\n`);
  writeFileSync(path.join(r.dir, 'deploy/node-secret.sops.yaml'), 'apiVersion: v1\nkind: Secret\ndata:\n  tls.key: ENC[AES256_GCM,data:q2Vd0Yb7cUq0mJ2m3nY8r3t8aY0xkq3pZ2x9m4n6v8b0c2d4e6f8g0h2j4k6m8n0p2r4t6v8x0z2B4D6F8H0J2L4N6P8R0T2V4X6Z8==,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\nsops:\n  encrypted_regex: ^(data|stringData)$\n');
  writeFileSync(path.join(r.certs, 'nodes/node1/old.key'), 'not PEM at all, but named like a key\n');
  await git(r.dir, ['add', 'deploy']);
  await git(r.dir, ['add', '-f', 'certs/nodes/node1/old.key']);
  const c = await certgen(r, ['check', '--staged']);
  assert.is(c.code, 1);
  assert.match(c.stderr, /error: deploy\/node-secret\.yaml is in git's index \(staged to be committed\) and holds a PEM EC PRIVATE KEY block, base64-encoded/);
  assert.not.match(c.stderr, /node-secret\.sops\.yaml/);
  assert.match(c.stderr, /error: certs\/nodes\/node1\/old\.key is in git's index \(staged to be committed\) and is a private key by its name/);
  assertNoKeyMaterial(c.stderr, [Buffer.from(key).toString('base64').slice(0, 40)]);
});

tracked('key-not-ignored: a key git add would take (the .gitignore undone), and the CA key in the work tree', async () => {
  const r = await repo({ ignoreSecrets: false });
  // The first commit took the CA key: that one is tracked.
  let c = await certgen(r, ['check']);
  assert.is(c.code, 1);
  assert.match(c.stderr, /error: secrets\/ca\.key is in git's index \(tracked or staged\) and is the CA key: git rm --cached secrets\/ca\.key, and rotate the CA/);
  await git(r.dir, ['rm', '-q', '--cached', 'secrets/ca.key']);
  writeFileSync(path.join(r.certs, 'nodes/node1/.gitignore'), '!node.key\n');
  c = await certgen(r, ['check']);
  assert.is(c.code, 1);
  assert.match(c.stderr, /error: ca: the CA key secrets\/ca\.key lies in the git work tree and git does not ignore it/);
  assert.match(c.stderr, /error: certs\/nodes\/node1\/node\.key is a private key that git does not ignore \(git add would take it\)/);
  assert.not.match(c.stderr, /key-tracked|is in git's index/);
  // --staged looks at the index only: nothing there is a key now.
  const s = await certgen(r, ['check', '--staged']);
  assert.is(s.code, 0, s.stderr);
});

tracked.run();

// ---------------------------------------------------------------------------------------------
const staged = suite('check --staged reads the index, not the work tree');

staged('a key staged and then overwritten in the work tree is still found; one only in the work tree is not', async () => {
  const r = await repo();
  const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileSync(path.join(r.dir, 'notes.txt'), key);
  await git(r.dir, ['add', 'notes.txt']);
  writeFileSync(path.join(r.dir, 'notes.txt'), 'harmless now\n');
  let s = await certgen(r, ['check', '--staged']);
  assert.is(s.code, 1);
  assert.match(s.stderr, /error: notes\.txt is in git's index \(staged to be committed\) and holds a PEM PRIVATE KEY block/);
  await git(r.dir, ['add', 'notes.txt']);
  writeFileSync(path.join(r.dir, 'notes.txt'), key);
  writeFileSync(path.join(r.dir, 'untracked.pem'), key);
  s = await certgen(r, ['check', '--staged']);
  assert.is(s.code, 0, s.stderr);
});

staged('without a spec (none at the default path) keys are found by content; a named spec must load', async () => {
  const r = await repo();
  rmSync(r.file);
  const key = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'der' });
  writeFileSync(path.join(r.dir, 'java.pk8'), key);
  await git(r.dir, ['add', 'java.pk8']);
  const s = await certgen(r, ['check', '--staged']);
  assert.is(s.code, 1);
  assert.match(s.stderr, /error: java\.pk8 is in git's index \(staged to be committed\) and holds a DER PKCS#1 private key/);
  const named = await certgen(r, ['check', '--staged', 'missing.yaml']);
  assert.is(named.code, 1);
  assert.match(named.stderr, /^error: missing\.yaml|missing\.yaml/m);
});

staged('a plain git pre-commit hook refuses the commit: git commit, git commit -a and git commit PATH', async () => {
  const r = await repo();
  const hook = path.join(r.dir, '.git/hooks/pre-commit');
  // The README's hook, with the certgen under test in place of npx's.
  writeFileSync(hook, `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, 'bin/certgen.cjs')}" check --staged\n`);
  chmodSync(hook, 0o755);
  const key = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  writeFileSync(path.join(r.dir, 'README.md'), 'docs\n');
  await git(r.dir, ['add', 'README.md']);
  await git(r.dir, ['commit', '-q', '-m', 'docs']);

  // git commit -a: git runs the hook with GIT_INDEX_FILE naming a temporary index.
  writeFileSync(path.join(r.dir, 'README.md'), `docs\n${key}`);
  let c = await git(r.dir, ['commit', '-a', '-m', 'oops'], { ok: [0, 1] });
  assert.is(c.code, 1, 'commit -a refused');
  assert.match(c.stderr, /error: README\.md is in git's index \(staged to be committed\) and holds a PEM EC PRIVATE KEY block/);
  // git commit PATH: only that path's work-tree content goes into the commit.
  c = await git(r.dir, ['commit', 'README.md', '-m', 'oops'], { ok: [0, 1] });
  assert.is(c.code, 1, 'commit PATH refused');
  await git(r.dir, ['add', 'README.md']);
  c = await git(r.dir, ['commit', '-m', 'oops'], { ok: [0, 1] });
  assert.is(c.code, 1, 'commit refused');
  assert.is((await git(r.dir, ['log', '--oneline'])).stdout.split('\n').length, 2, 'nothing was committed');
  writeFileSync(path.join(r.dir, 'README.md'), 'docs, fixed\n');
  await git(r.dir, ['add', 'README.md']);
  c = await git(r.dir, ['commit', '-q', '-m', 'fixed'], { ok: [0, 1] });
  assert.is(c.code, 0, c.stderr);
});

staged.run();

// ---------------------------------------------------------------------------------------------
const unusable = suite('no repository, no git, a broken repository: one line');

unusable('--staged outside a work tree, or without git: exit 1, one line', async () => {
  const dir = tmpdir();
  const r: Repo = { dir, file: path.join(dir, 'cluster-certs.yaml'), certs: path.join(dir, 'certs') };
  let s = await certgen(r, ['check', '--staged']);
  assert.is(s.code, 1);
  assert.equal(lines(s.stderr, ''), [`error: check --staged: ${dir} is not in a git work tree, so there is no index to check`]);
  const inRepo = await repo();
  s = await certgen(inRepo, ['check', '--staged'], { PATH: tmpdir() });
  assert.is(s.code, 1);
  assert.equal(lines(s.stderr, ''), ['error: check --staged: git is not installed (no git on PATH)']);
});

unusable('a broken repository: check and check --staged exit 1 with one line about it', async () => {
  const r = await repo();
  writeFileSync(path.join(r.dir, '.git/HEAD'), 'garbage\n');
  for (const args of [['check'], ['check', '--staged']]) {
    const c = await certgen(r, args);
    assert.is(c.code, 1, args.join(' '));
    const about = c.stderr.split('\n').filter((l) => l.startsWith('error: ') && l.includes('git cannot use the repository'));
    assert.is(about.length, 1, c.stderr);
    assert.not.match(c.stderr, /\n\s+at /, 'no stack trace');
  }
});

unusable('outside a work tree plain check says nothing about git', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keyType: 'ecdsa-p256' }, defaults: { keyType: 'ecdsa-p256' }, nodes: [{ name: 'node1', hosts: ['n1'] }] }));
  await apply(await loadSpec(file), { now: () => NOW });
  const c = await bin(['check'], { cwd: dir });
  assert.is(c.code, 0, c.stderr);
  assert.not.match(c.stderr, /git/);
});

unusable.run();
