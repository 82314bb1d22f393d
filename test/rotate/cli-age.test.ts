// `certgen rotate start|status|continue|abort` through the built CLI with an .age caKey: without
// an identity each step that must open the CA keys is one ERROR line (age-identity-needed), exit
// 1, and writes nothing; with --identity FILE or CERTGEN_AGE_IDENTITY the rotation runs to done
// (the new key only ever encrypted), and abort puts the old CA back. (test/rotate/keys.test.ts
// is the library-level counterpart.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { bin, setup, tmpdir } from '../helpers/index.js';
import { ageDecrypt, identity, type Identity } from '../helpers/age.js';
import { filesSnapshot } from '../helpers/files-snapshot.js';

let ids: { a: Identity; b: Identity };
const t = suite('rotate with an .age caKey, through the CLI');

setup(t, async () => {
  const d = tmpdir();
  ids = { a: await identity(d, 'a.txt'), b: await identity(d, 'b.txt') };
});

async function project(): Promise<{ dir: string; run: (args: string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof bin> }> {
  const dir = tmpdir();
  writeFileSync(path.join(dir, 'cluster-certs.yaml'), stringify({ certsDir: 'certs', caKey: 'secrets/ca.key.age', ca: { keyType: 'ecdsa-p256', clientPropagation: '0s', pruneOld: 'after-reissue' }, defaults: { keyType: 'ecdsa-p256' }, encrypt: { age: [ids.a.recipient] }, nodes: [{ name: 'node1', hosts: ['node1.example.com'] }], clients: [{ user: 'root' }] }));
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => bin(args, { cwd: dir, env });
  const r = await run(['apply']);
  assert.is(r.code, 0, r.stderr);
  return { dir, run };
}

const snapshot = (root: string): Record<string, string> => filesSnapshot(root, { mtime: true });

/** Refused for want of an identity: exit 1, one ERROR line naming age-identity-needed, nothing written. */
async function refused(p: Awaited<ReturnType<typeof project>>, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const before = snapshot(p.dir);
  const r = await p.run(args, env);
  assert.is(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('ERROR:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0] ?? '', /^ERROR: age-identity-needed: the CA key .*secrets\/ca\.key\.age is age-encrypted/);
  assert.match(r.stderr, /HINT: give --identity FILE, or CERTGEN_AGE_IDENTITY/);
  assert.not.match(r.stderr, /    at /, 'no stack trace');
  assert.equal(snapshot(p.dir), before, `${args.join(' ')}: nothing written`);
}

const spki = (pem: Buffer): string => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('base64');

t('start without an identity is refused; start --identity, status and continue with CERTGEN_AGE_IDENTITY (and without: refused) to done; the key at caKey is then the new CA\'s', async () => {
  const p = await project();
  await refused(p, ['rotate', 'start']);
  const start = await p.run(['rotate', 'start', '--identity', ids.a.file, '--json']);
  assert.is(start.code, 0, start.stderr);
  const next = path.join(p.dir, 'secrets/ca.key.next.age');
  assert.equal(readdirSync(path.join(p.dir, 'secrets')), ['ca.key.age', 'ca.key.next.age']);
  assert.match(readFileSync(next, 'utf8'), /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
  const nextPlain = await ageDecrypt(next, ids.a);
  assert.is(nextPlain.code, 0);
  assert.not.ok((start.stdout + start.stderr).includes(nextPlain.out.toString().split('\n')[1] ?? '?'), 'no key in the output');

  await refused(p, ['rotate', 'status']);
  await refused(p, ['rotate', 'continue', '--shipped', 'node1']);
  await refused(p, ['rotate', 'abort']);
  // Another recipient's identity is no identity for the CA key.
  const wrong = await p.run(['rotate', 'continue', '--identity', ids.b.file, '--shipped', 'node1']);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /^ERROR: age-unreadable: .*encrypted for other recipients/m);

  const env = { CERTGEN_AGE_IDENTITY: ids.a.text };
  const status = await p.run(['rotate', 'status', '--json'], env);
  assert.is(status.code, 0, status.stderr);
  assert.is((JSON.parse(status.stdout) as { phase: string }).phase, 'staged');
  const done = await p.run(['rotate', 'continue', '--until', 'done', '--shipped', 'node1', '--ack-clients'], env);
  assert.is(done.code, 0, done.stderr);
  const files = readdirSync(path.join(p.dir, 'secrets')).sort();
  assert.equal(files.length, 2, files.join(' '));
  assert.match(files[0] ?? '', /^ca\.key\.\d{8}T\d{6}Z-[0-9a-f]{4}\.old\.age$/);
  const now = await ageDecrypt(path.join(p.dir, 'secrets/ca.key.age'), ids.a);
  assert.is(now.code, 0);
  assert.is(spki(now.out), spki(nextPlain.out), 'caKey holds the key start made');
  assert.is(spki(now.out), new X509Certificate(readFileSync(path.join(p.dir, 'certs/ca.crt'))).publicKey.export({ type: 'spki', format: 'der' }).toString('base64'));
  const v = await execa('openssl', ['verify', '-CAfile', path.join(p.dir, 'certs/ca.crt'), path.join(p.dir, 'certs/nodes/node1/node.crt')], { reject: false });
  assert.is(v.exitCode, 0, v.stderr);
  for (const f of files) assert.not.match(readFileSync(path.join(p.dir, 'secrets', f), 'utf8'), /PRIVATE KEY/, `${f} is ciphertext`);
  // Settled: a plain apply (no identity) has nothing to do and no warning about the CA key.
  const after = await p.run(['apply']);
  assert.is(after.code, 0, after.stderr);
  assert.match(after.stdout, /Nothing to do/);
  assert.not.match(after.stderr, /warning/);
});

t('abort --identity from staged: the next key is gone, the old CA alone is trusted, the CA key file untouched', async () => {
  const p = await project();
  const key = path.join(p.dir, 'secrets/ca.key.age');
  const before = readFileSync(key);
  const caBefore = readFileSync(path.join(p.dir, 'certs/ca.crt'));
  const start = await p.run(['rotate', 'start'], { CERTGEN_AGE_IDENTITY: ids.a.text });
  assert.is(start.code, 0, start.stderr);
  const abort = await p.run(['rotate', 'abort', '--identity', ids.a.file]);
  assert.is(abort.code, 0, abort.stderr);
  assert.match(abort.stdout, /aborted \(it was staged\)/);
  assert.equal(readdirSync(path.join(p.dir, 'secrets')), ['ca.key.age']);
  assert.ok(readFileSync(key).equals(before));
  assert.ok(readFileSync(path.join(p.dir, 'certs/ca.crt')).equals(caBefore));
  const status = await p.run(['rotate', 'status']);
  assert.is(status.code, 0, status.stderr);
  assert.match(status.stdout, /No CA rotation under way/);
});

t.run();
