// `certgen cert create-*` with an armored-age --ca-key (a certgen extension), through the built
// CLI: the key is decrypted in memory with --identity or CERTGEN_AGE_IDENTITY and signs (openssl
// verifies the leaves against ca.crt); the CA key's plaintext reaches no file. No identity,
// another recipient's, a damaged file: one line, exit 1, nothing written. create-ca and its kin
// reuse an .age key only with --allow-ca-key-reuse and an identity, and never make one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { bin, setup, tmpdir } from '../helpers/index.js';
import { identity, type Identity } from '../helpers/age.js';
import { filesSnapshot } from '../helpers/files-snapshot.js';

let ids: { a: Identity; b: Identity };
const t = suite('cert create-* with an .age --ca-key');

setup(t, async () => {
  const d = tmpdir();
  ids = { a: await identity(d, 'a.txt'), b: await identity(d, 'b.txt') };
});

/** A CA made by cert create-ca, its key then encrypted for a with Debian's age, the plaintext removed. */
async function project(): Promise<{ dir: string; certs: string; key: string; pem: string }> {
  const dir = tmpdir();
  const certs = path.join(dir, 'certs');
  const plain = path.join(dir, 'secrets/ca.key');
  mkdirSync(path.dirname(plain), { mode: 0o700 });
  const r = await bin(['cert', 'create-ca', '--certs-dir', certs, '--ca-key', plain, '--key-type', 'ecdsa-p256']);
  assert.is(r.code, 0, r.stderr);
  const key = `${plain}.age`;
  await execa('age', ['-a', '-r', ids.a.recipient, '-o', key, plain]);
  const pem = readFileSync(plain, 'utf8');
  rmSync(plain);
  return { dir, certs, key, pem };
}

const snapshot = (root: string): Record<string, string> => filesSnapshot(root, { mtime: false });

/** No file under `root` holds the CA key's PEM (its base64 body, any line of it). */
function noPlaintextCAKey(root: string, pem: string): void {
  const lines = pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
  assert.ok(lines.length > 0);
  for (const [file, entry] of Object.entries(snapshot(root))) {
    const text = Buffer.from(entry.split(' ')[1] ?? '', 'base64').toString('latin1');
    for (const l of lines) assert.not.ok(text.includes(l), `${file} holds the CA key`);
  }
}

async function verify(certs: string, leaf: string): Promise<void> {
  const v = await execa('openssl', ['verify', '-CAfile', path.join(certs, 'ca.crt'), path.join(certs, leaf)], { reject: false });
  assert.is(v.exitCode, 0, `${leaf}: ${v.stderr}`);
}

t('create-node, create-client, create-tenant-client sign with the decrypted key (--identity, CERTGEN_AGE_IDENTITY); openssl verifies them; the CA key stays only encrypted', async () => {
  const p = await project();
  const before = readFileSync(p.key);
  const node = await bin(['cert', 'create-node', 'localhost', 'node1.example.com', '--certs-dir', p.certs, '--ca-key', p.key, '--identity', ids.a.file, '--key-type', 'ecdsa-p256']);
  assert.is(node.code, 0, node.stderr);
  await verify(p.certs, 'node.crt');
  const client = await bin(['cert', 'create-client', 'root', '--certs-dir', p.certs, '--ca-key', p.key, '--key-type', 'ecdsa-p256'], { env: { CERTGEN_AGE_IDENTITY: ids.a.text } });
  assert.is(client.code, 0, client.stderr);
  await verify(p.certs, 'client.root.crt');
  const tenant = await bin(['cert', 'create-tenant-client', '10', 'tenant10.example.com', '--certs-dir', p.certs, '--ca-key', p.key, '--identity', ids.a.file, '--key-type', 'ecdsa-p256']);
  assert.is(tenant.code, 0, tenant.stderr);
  await verify(p.certs, 'client-tenant.10.crt');
  assert.ok(readFileSync(p.key).equals(before), 'the .age key is only read');
  assert.equal(readdirSync(path.dirname(p.key)), ['ca.key.age'], 'no plaintext or staged key beside it');
  noPlaintextCAKey(p.dir, p.pem);
  for (const r of [node, client, tenant]) assert.not.ok((r.stdout + r.stderr).includes(p.pem.split('\n')[1] ?? '?'), 'no key in the output');
});

t('no identity, another recipient\'s, a damaged file, a bad CERTGEN_AGE_IDENTITY: one line, exit 1, nothing written', async () => {
  const p = await project();
  const before = snapshot(p.dir);
  const node = (env: NodeJS.ProcessEnv, extra: string[] = []) => bin(['cert', 'create-node', 'localhost', '--certs-dir', p.certs, '--ca-key', p.key, '--key-type', 'ecdsa-p256', ...extra], { env });
  const cases: Array<[string, NodeJS.ProcessEnv, string[], RegExp]> = [
    ['no identity', {}, [], /the CA key .*ca\.key\.age is age-encrypted: give the age identity it is encrypted for \(--identity FILE, or CERTGEN_AGE_IDENTITY\)/],
    ['another recipient', {}, ['--identity', ids.b.file], /ca\.key\.age is encrypted for other recipients: none of the given age identities can decrypt it/],
    ['a recipient as CERTGEN_AGE_IDENTITY', { CERTGEN_AGE_IDENTITY: ids.a.recipient }, [], /CERTGEN_AGE_IDENTITY:1: a recipient \(public key\), not an identity/],
  ];
  for (const [what, env, extra, want] of cases) {
    const r = await node(env, extra);
    assert.is(r.code, 1, what);
    assert.match(r.stderr, want, what);
    assert.is(r.stderr.trim().split('\n').filter((l) => l.startsWith('ERROR:')).length, 1, `${what}: ${r.stderr}`);
    assert.not.match(r.stderr, /    at /, `${what}: no stack trace`);
    assert.not.ok(r.stderr.includes(ids.a.text.trim().split('\n').pop() ?? '?'), 'no identity in the output');
    assert.equal(snapshot(p.dir), before, `${what}: nothing written`);
  }
  const armored = readFileSync(p.key, 'utf8');
  const lines = armored.split('\n');
  lines[2] = (lines[2] ?? '').replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
  writeFileSync(p.key, lines.join('\n'));
  const damaged = snapshot(p.dir);
  const r = await node({}, ['--identity', ids.a.file]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /the CA key .*ca\.key\.age (cannot be decrypted: it is damaged or was altered|is not an armored age file)/);
  assert.equal(snapshot(p.dir), damaged, 'nothing written');
});

t('create-ca with an .age --ca-key: reused with --allow-ca-key-reuse and an identity; refused without either, and never made anew', async () => {
  const p = await project();
  const before = snapshot(p.dir);
  const refused = await bin(['cert', 'create-ca', '--certs-dir', p.certs, '--ca-key', p.key, '--overwrite']);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /CA key .*ca\.key\.age exists, but key reuse is disabled/);
  const noId = await bin(['cert', 'create-ca', '--certs-dir', p.certs, '--ca-key', p.key, '--overwrite', '--allow-ca-key-reuse']);
  assert.is(noId.code, 1);
  assert.match(noId.stderr, /is age-encrypted: give the age identity/);
  assert.equal(snapshot(p.dir), before, 'nothing written');
  const ok = await bin(['cert', 'create-ca', '--certs-dir', p.certs, '--ca-key', p.key, '--overwrite', '--allow-ca-key-reuse', '--identity', ids.a.file]);
  assert.is(ok.code, 0, ok.stderr);
  const spki = (k: ReturnType<typeof createPublicKey>): string => k.export({ type: 'spki', format: 'der' }).toString('base64');
  assert.is(spki(new X509Certificate(readFileSync(path.join(p.certs, 'ca.crt'))).publicKey), spki(createPublicKey(createPrivateKey(p.pem))), 'the new ca.crt is for the decrypted key');
  assert.equal(readdirSync(path.dirname(p.key)), ['ca.key.age']);
  noPlaintextCAKey(p.dir, p.pem);

  for (const cmd of ['create-ca', 'create-client-ca', 'create-tenant-client-ca']) {
    const fresh = path.join(p.dir, 'secrets', `${cmd}.key.age`);
    const snap = snapshot(p.dir);
    const r = await bin(['cert', cmd, '--certs-dir', p.certs, '--ca-key', fresh, '--overwrite', '--identity', ids.a.file]);
    assert.is(r.code, 1, cmd);
    assert.match(r.stderr, /does not exist and its name ends in \.age: cert create-\* writes a new CA key only in plaintext \(there is no recipients flag\); use certgen apply/, cmd);
    assert.equal(snapshot(p.dir), snap, `${cmd}: nothing written`);
  }
});

t.run();
