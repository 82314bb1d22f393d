// The CA key as an age file (`caKey: secrets/ca.key.age`), through the built CLI and checked with
// Debian's `age`: a new CA key is written only encrypted, for the spec's recipients, and decrypts
// to the key that signed ca.crt; the plaintext CA key is in no file, and apply refuses to make one
// without recipients. With an identity (--identity, CERTGEN_AGE_IDENTITY) plan and apply sign as
// with a plaintext key; without one, or with another recipient's, the plan says which
// certificates it cannot sign and still plans what needs no signature; a damaged file or one
// holding a plaintext key stops the plan. Nothing is written by a refused run.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { bin, setup, tmpdir } from './helpers/index.js';
import { ageDecrypt, identity, type Identity } from './helpers/age.js';
import { GIT_ENV, git, gitInit } from './helpers/git.js';
import { filesSnapshot } from './helpers/files-snapshot.js';

let ids: { a: Identity; b: Identity; c: Identity };

function doc(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key.age',
    ca: { keyType: 'ecdsa-p256' },
    defaults: { keyType: 'ecdsa-p256' },
    encrypt: { age: [ids.a.recipient] },
    nodes: [{ name: 'node1', hosts: ['node1.example.com'] }],
    clients: [{ user: 'root' }],
    ...over,
  };
}

function project(d: Record<string, unknown>): { dir: string; certs: string; caKey: string; write: (d: Record<string, unknown>) => void } {
  const dir = tmpdir();
  const write = (x: Record<string, unknown>): void => writeFileSync(path.join(dir, 'cluster-certs.yaml'), stringify(x));
  write(d);
  return { dir, certs: path.join(dir, 'certs'), caKey: path.join(dir, 'secrets/ca.key.age'), write };
}

const run = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}) => bin(args, { cwd: dir, env });

const snapshot = (root: string): Record<string, string> => filesSnapshot(root, { mtime: true });

/** The SPKI (DER, base64) of a private key's public half, or of a certificate's key. */
const spkiOfKey = (pem: Buffer): string => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('base64');
const spkiOfCert = (file: string): string => new X509Certificate(readFileSync(file)).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/** An applied project whose CA key is encrypted for a (and the identity files). */
async function applied(over: Record<string, unknown> = {}): Promise<ReturnType<typeof project>> {
  const p = project(doc(over));
  const r = await run(p.dir, ['apply']);
  assert.is(r.code, 0, r.stderr);
  return p;
}

const t = suite('caKey pointing at an .age file');

setup(t, async () => {
  const keysDir = tmpdir();
  ids = { a: await identity(keysDir, 'a.txt'), b: await identity(keysDir, 'b.txt'), c: await identity(keysDir, 'c.txt') };
});

t('apply on an empty tree writes the CA key only encrypted (0600, armored): age -d gives the key of ca.crt, which signed the leaves; the plaintext is in no file', async () => {
  const p = await applied();
  assert.is(statSync(p.caKey).mode & 0o777, 0o600);
  const armored = readFileSync(p.caKey, 'utf8');
  assert.match(armored, /^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]*-----END AGE ENCRYPTED FILE-----\n$/);
  assert.equal(readdirSync(path.dirname(p.caKey)), ['ca.key.age'], 'no plaintext or staged key beside it');
  const dec = await ageDecrypt(p.caKey, ids.a);
  assert.is(dec.code, 0);
  assert.is(spkiOfKey(dec.out), spkiOfCert(path.join(p.certs, 'ca.crt')), 'the encrypted key is the one of ca.crt');
  assert.is((await ageDecrypt(p.caKey, ids.b)).code, 1, 'b is no recipient');
  for (const leaf of ['nodes/node1/node.crt', 'clients/root/client.root.crt']) {
    const v = await execa('openssl', ['verify', '-CAfile', path.join(p.certs, 'ca.crt'), path.join(p.certs, leaf)], { reject: false });
    assert.is(v.exitCode, 0, `${leaf}: ${v.stderr}`);
  }
  // The CA key's PEM body appears in no file of the project (journal, index, certs dir).
  const body = dec.out.toString('utf8').split('\n')[1] ?? '';
  assert.ok(body.length > 40);
  for (const [file, entry] of Object.entries(snapshot(p.dir))) {
    const bytes = Buffer.from(entry.split(' ')[2] ?? '', 'base64').toString('utf8');
    assert.not.ok(bytes.includes(body), `${file} holds the CA key`);
  }
  // The index records the CA key's .age like a leaf's: hashes and recipients, nothing secret.
  const index = JSON.parse(readFileSync(path.join(p.certs, 'age-index.json'), 'utf8')) as { files: Record<string, { key: string; plaintextSha256: string; recipients: string[]; ageSha256: string }> };
  assert.equal(index.files['../secrets/ca.key.age'], { key: 'ca', plaintextSha256: sha(dec.out), recipients: [ids.a.recipient], ageSha256: sha(readFileSync(p.caKey)) });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const indexOf = (p: { certs: string }): { files: Record<string, { recipients: string[]; ageSha256: string }> } => JSON.parse(readFileSync(path.join(p.certs, 'age-index.json'), 'utf8'));

t('ca.encrypt changed: with the identity the CA key is encrypted again (update, age-recipients-changed) from the key in memory, only it and the index change, and the next apply changes nothing; without one it is a warning and the rest is applied', async () => {
  const p = await applied({ ca: { keyType: 'ecdsa-p256', encrypt: { age: [ids.a.recipient, ids.b.recipient] } } });
  assert.is((await ageDecrypt(p.caKey, ids.b)).code, 0);
  const plainBefore = (await ageDecrypt(p.caKey, ids.a)).out;
  // b removed, c added (a stays: it is the admin's identity here).
  p.write(doc({ ca: { keyType: 'ecdsa-p256', encrypt: { age: [ids.a.recipient, ids.c.recipient] } }, clients: [{ user: 'root' }, { user: 'app' }] }));
  const before = { ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) };
  const noId = await run(p.dir, ['plan', '--json']);
  assert.is(noId.code, 1, 'client/app needs the CA signature');
  const planNoId = JSON.parse(noId.stdout) as { warnings: string[]; changes: { artifact: string; action: string }[]; errors: { artifact: string }[] };
  assert.equal(planNoId.errors.map((e) => e.artifact), ['client/app'], 'the CA key\'s recipients are no error');
  assert.ok(planNoId.warnings.some((w) => /^the CA key \.\.\/secrets\/ca\.key\.age is encrypted for other recipients than the spec lists \(\+age1.*-age1.*\); encrypting it again needs the CA key decrypted: run certgen apply --identity <admin identity>/.test(w)), planNoId.warnings.join('\n'));
  assert.not.ok(planNoId.changes.some((c) => c.artifact === 'ca' && c.action === 'update'));
  assert.equal({ ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) }, before, 'plan wrote nothing');

  const plan = await run(p.dir, ['plan', '--json', '--identity', ids.a.file]);
  const doc1 = JSON.parse(plan.stdout) as { changes: { artifact: string; action: string; files: string[]; reasons: { code: string }[] }[]; warnings: string[] };
  const caUpdate = doc1.changes.find((c) => c.artifact === 'ca' && c.action === 'update');
  assert.ok(caUpdate, plan.stdout);
  assert.equal(caUpdate?.files, ['../secrets/ca.key.age']);
  assert.equal(caUpdate?.reasons.map((r) => r.code), ['age-recipients-changed']);
  assert.not.ok(doc1.warnings.some((w) => /CA key/.test(w)));
  const r = await run(p.dir, ['apply', '--identity', ids.a.file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /updated\s+ca\s+age-recipients-changed/);
  assert.is(statSync(p.caKey).mode & 0o777, 0o600);
  assert.equal(readdirSync(path.dirname(p.caKey)), ['ca.key.age'], 'no staged or plaintext file beside it');
  for (const id of [ids.a, ids.c]) {
    const d = await ageDecrypt(p.caKey, id);
    assert.is(d.code, 0);
    assert.ok(d.out.equals(plainBefore), 'the same key, encrypted again');
  }
  assert.is((await ageDecrypt(p.caKey, ids.b)).code, 1, 'b is no longer a recipient of the file');
  assert.equal([...indexOf(p).files['../secrets/ca.key.age']?.recipients ?? []].sort(), [ids.a.recipient, ids.c.recipient].sort());
  assert.is(indexOf(p).files['../secrets/ca.key.age']?.ageSha256, sha(readFileSync(p.caKey)));
  const certsAfter = snapshot(p.certs);
  for (const f of ['ca.crt', 'nodes/node1/node.crt', 'nodes/node1/node.key.age', 'clients/root/client.root.key.age']) assert.is(certsAfter[f], (before as Record<string, unknown>)[f], `${f} untouched`);
  const settled = { ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) };
  for (const env of [{}, { CERTGEN_AGE_IDENTITY: ids.a.text }]) {
    const again = await run(p.dir, ['apply'], env);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing to do/);
    assert.not.match(again.stderr, /warning/);
  }
  assert.equal({ ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) }, settled, 'no churn');
});

t('an index without the CA key (an older certgen): without an identity a warning, no error and no change; with one the CA key is encrypted again once (age-stale) and recorded, then left alone', async () => {
  const p = await applied();
  const file = path.join(p.certs, 'age-index.json');
  const old = JSON.parse(readFileSync(file, 'utf8')) as { files: Record<string, unknown> };
  delete old.files['../secrets/ca.key.age'];
  writeFileSync(file, `${JSON.stringify(old, null, 2)}\n`);
  const before = { ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) };
  for (let i = 0; i < 2; i++) {
    const r = await run(p.dir, ['apply']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /Nothing to do/);
    assert.match(r.stderr, /^warning: the CA key \.\.\/secrets\/ca\.key\.age cannot be vouched for: age-index\.json has no entry for it .*run certgen apply --identity <admin identity>/m);
  }
  assert.equal({ ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) }, before, 'nothing written without the identity');
  const plain = (await ageDecrypt(p.caKey, ids.a)).out;
  const r = await run(p.dir, ['apply', '--identity', ids.a.file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /updated\s+ca\s+age-stale/);
  assert.ok((await ageDecrypt(p.caKey, ids.a)).out.equals(plain));
  assert.is(indexOf(p).files['../secrets/ca.key.age']?.ageSha256, sha(readFileSync(p.caKey)));
  const settled = { ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) };
  for (const args of [['apply', '--identity', ids.a.file], ['apply']]) {
    const again = await run(p.dir, args);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stdout, /Nothing to do/);
    assert.not.match(again.stderr, /warning/);
  }
  assert.equal({ ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) }, settled);
});

t('a second apply with the identity changes nothing (the CA key is never encrypted again); a checkout at 0644 is no exposed key and needs no chmod', async () => {
  const p = await applied();
  const before = { ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) };
  const again = await run(p.dir, ['apply', '--identity', ids.a.file]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /Nothing to do/);
  assert.equal({ ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) }, before);
  chmodSync(p.caKey, 0o644);
  const plan = await run(p.dir, ['plan', '--json', '--identity', ids.a.file]);
  assert.is(plan.code, 0, plan.stderr);
  const doc = JSON.parse(plan.stdout) as { errors: unknown[]; changes: { artifact: string; action: string }[] };
  assert.equal(doc.errors, []);
  assert.ok(doc.changes.every((c) => c.action === 'keep'), plan.stdout);
});

t('a new leaf: with --identity or CERTGEN_AGE_IDENTITY it is signed by the decrypted key; without one the plan names it, still plans what needs no signature, and apply writes nothing', async () => {
  const p = await applied();
  p.write(doc({ nodes: [{ name: 'node1', hosts: ['node1.example.com'] }, { name: 'node2', hosts: ['node2.example.com'] }] }));
  chmodSync(path.join(p.certs, 'nodes/node1/node.crt'), 0o640);
  const before = { ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) };
  const plan = await run(p.dir, ['plan', '--json']);
  assert.is(plan.code, 1, plan.stderr);
  const doc1 = JSON.parse(plan.stdout) as { errors: { artifact: string; code: string; message: string }[]; changes: { artifact: string; action: string }[] };
  assert.equal(doc1.errors.map((e) => [e.artifact, e.code]), [['node/node2', 'age-identity-needed']]);
  assert.match(doc1.errors[0]?.message ?? '', /needs the CA's signature: the CA key .*ca\.key\.age is age-encrypted and no identity was given \(--identity FILE, or CERTGEN_AGE_IDENTITY\)/);
  assert.ok(doc1.changes.some((c) => c.artifact === 'node/node1' && c.action === 'fix-mode'), 'a mode fix needs no signature: still planned');
  const text = await run(p.dir, ['plan']);
  assert.is(text.code, 1);
  assert.match(text.stdout + text.stderr, /node\/node2: must be created \(missing\), which needs the CA's signature/);
  const refused = await run(p.dir, ['apply']);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /^ERROR: node\/node2: .*no identity was given/m);
  assert.not.match(refused.stderr, /    at /, 'no stack trace');
  assert.equal({ ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) }, before, 'nothing changed');

  const r = await run(p.dir, ['apply'], { CERTGEN_AGE_IDENTITY: ids.a.text });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /created\s+node\/node2/);
  const v = await execa('openssl', ['verify', '-CAfile', path.join(p.certs, 'ca.crt'), path.join(p.certs, 'nodes/node2/node.crt')], { reject: false });
  assert.is(v.exitCode, 0, v.stderr);
  assert.is(readFileSync(p.caKey, 'utf8'), Buffer.from(before.key['ca.key.age']?.split(' ')[2] ?? '', 'base64').toString('utf8'), 'the CA key file is untouched');

  p.write(doc({ clients: [{ user: 'root' }, { user: 'app' }] }));
  const r2 = await run(p.dir, ['apply', '--prune', '--identity', ids.a.file]);
  assert.is(r2.code, 0, r2.stderr);
  const v2 = await execa('openssl', ['verify', '-CAfile', path.join(p.certs, 'ca.crt'), path.join(p.certs, 'clients/app/client.app.crt')], { reject: false });
  assert.is(v2.exitCode, 0, v2.stderr);
});

t('another recipient\'s identity cannot sign (the same error, naming it); a damaged file, or a plaintext key under the .age name, stops the plan; nothing is written or lost', async () => {
  const p = await applied();
  p.write(doc({ clients: [{ user: 'root' }, { user: 'app' }] }));
  const saved = readFileSync(p.caKey);
  const before = { ...snapshot(p.certs), key: snapshot(path.dirname(p.caKey)) };

  const wrong = await run(p.dir, ['apply', '--identity', ids.b.file]);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /^ERROR: client\/app: must be created \(missing\), which needs the CA's signature: the CA key .*ca\.key\.age is encrypted for other recipients: none of the given age identities can decrypt it/m);

  const lines = saved.toString('utf8').split('\n');
  const damaged = [...lines];
  const body = damaged[5] ?? '';
  damaged[5] = `${body.slice(0, 10)}${body[10] === 'B' ? 'C' : 'B'}${body.slice(11)}`;
  writeFileSync(p.caKey, damaged.join('\n'));
  const bad = await run(p.dir, ['apply', '--identity', ids.a.file]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /^ERROR: ca: the CA key .*ca\.key\.age cannot be decrypted: it is damaged or was altered .*restore it from git or a backup/m);
  const planBad = await run(p.dir, ['plan', '--json', '--identity', ids.a.file]);
  assert.equal((JSON.parse(planBad.stdout) as { errors: { artifact: string; code: string }[] }).errors.map((e) => [e.artifact, e.code]), [['ca', 'age-unreadable']]);

  const plain = (await execa('age', ['-d', '-i', ids.a.file], { input: saved, encoding: 'buffer' })).stdout;
  writeFileSync(p.caKey, plain, { mode: 0o600 });
  const asPlain = await run(p.dir, ['apply', '--identity', ids.a.file]);
  assert.is(asPlain.code, 1);
  assert.match(asPlain.stderr, /^ERROR: ca: the CA key .*ca\.key\.age is not an armored age file/m);

  writeFileSync(p.caKey, saved);
  assert.equal({ ...snapshot(p.certs) }, Object.fromEntries(Object.entries(before).filter(([k]) => k !== 'key')), 'the tree is as it was');
  const ok = await run(p.dir, ['apply', '--identity', ids.a.file]);
  assert.is(ok.code, 0, ok.stderr);
});

t('no recipient for a new CA key: refused with one line, nothing written; ca.encrypt names the CA key\'s own recipients over the top level\'s', async () => {
  const p = project(doc({ encrypt: undefined }));
  const r = await run(p.dir, ['apply']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: ca: ca\.crt and the CA key do not exist, and caKey .*ca\.key\.age is an \.age file but the spec lists no age recipient to encrypt a new CA key for: add encrypt: \{ age: \[age1…\] \} \(or ca\.encrypt\)/m);
  assert.is(existsSync(path.join(p.dir, 'secrets')), false);
  assert.is(existsSync(p.certs), false, 'a refused apply leaves no certs dir');
  const empty = project(doc({ ca: { keyType: 'ecdsa-p256', encrypt: { age: [] } } }));
  assert.is((await run(empty.dir, ['apply'])).code, 1, 'ca.encrypt: { age: [] } is no recipient either');

  const own = await applied({ ca: { keyType: 'ecdsa-p256', encrypt: { age: [ids.b.recipient, ids.c.recipient] } } });
  for (const id of [ids.b, ids.c]) {
    const dec = await ageDecrypt(own.caKey, id);
    assert.is(dec.code, 0);
    assert.is(spkiOfKey(dec.out), spkiOfCert(path.join(own.certs, 'ca.crt')));
  }
  assert.is((await ageDecrypt(own.caKey, ids.a)).code, 1, 'the top-level recipient is not the CA key\'s');
  assert.is((await ageDecrypt(path.join(own.certs, 'nodes/node1/node.key.age'), ids.a)).code, 0, 'the leaves keep the top level\'s');
  // CI holding only the leaves' identity restores keys but cannot sign.
  mkdirSync(path.join(own.dir, 'restore'));
  copyFileSync(path.join(own.certs, 'nodes/node1/node.key'), path.join(own.dir, 'restore/node.key'));
  const leafKey = path.join(own.certs, 'nodes/node1/node.key');
  rmSync(leafKey);
  const restored = await run(own.dir, ['apply', '--identity', ids.a.file]);
  assert.is(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, /restored\s+node\/node1/);
  assert.ok(readFileSync(leafKey).equals(readFileSync(path.join(own.dir, 'restore/node.key'))));
});

t('in a git repository the .age CA key is committed and is no finding of check; with the identity check and report verify it, with another identity or a damaged file they fail; a plaintext key under the .age name is key-tracked', async () => {
  const dir = tmpdir();
  await gitInit(dir);
  const write = (x: Record<string, unknown>): void => writeFileSync(path.join(dir, 'cluster-certs.yaml'), stringify(x));
  write(doc());
  const caKey = path.join(dir, 'secrets/ca.key.age');
  const cg = (args: string[], env: NodeJS.ProcessEnv = {}) => bin(args, { cwd: dir, env: { ...GIT_ENV, ...env } });
  const a = await cg(['apply']);
  assert.is(a.code, 0, a.stderr);
  assert.not.match(a.stderr, /warning/, 'no warning about the CA key in the work tree');
  await git(dir, ['add', '-A']);
  const tracked = (await git(dir, ['ls-files'])).stdout.split('\n');
  assert.ok(tracked.includes('secrets/ca.key.age'), 'git add -A takes the encrypted CA key');
  assert.not.ok(tracked.some((f) => /\.key$/.test(f)), 'and no plaintext key');
  await git(dir, ['commit', '-q', '-m', 'certs']);

  for (const args of [['check'], ['check', '--staged'], ['check', '--identity', ids.a.file]]) {
    const c = await cg(args);
    assert.is(c.code, 0, `${args.join(' ')}: ${c.stderr}`);
  }
  const env = await cg(['check'], { CERTGEN_AGE_IDENTITY: ids.a.text });
  assert.is(env.code, 0, env.stderr);
  const okReport = await cg(['report', '--format', 'json', '--identity', ids.a.file]);
  assert.is(okReport.code, 0, okReport.stderr);
  const caRow = (out: string) => (JSON.parse(out) as { rows: { file: string; keyFile: string; problem: string | null; error: string }[] }).rows.find((r) => r.file === 'ca.crt');
  assert.is(caRow(okReport.stdout)?.problem, null);

  const wrong = await cg(['check', '--identity', ids.b.file]);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /the CA key .*ca\.key\.age is encrypted for other recipients: none of the given age identities can decrypt it/);
  assert.match(caRow((await cg(['report', '--format', 'json', '--identity', ids.b.file])).stdout)?.problem ?? '', /key-unreadable/);

  // Another CA key, properly encrypted, is a mismatch.
  const other = (await execa('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])).stdout;
  const saved = readFileSync(caKey);
  await execa('age', ['-r', ids.a.recipient, '-a', '-o', caKey], { input: other });
  const mismatch = await cg(['check', '--identity', ids.a.file]);
  assert.is(mismatch.code, 1);
  assert.match(mismatch.stderr, /ca\.key\.age does not match the first certificate in ca\.crt/);
  assert.not.ok(mismatch.stderr.includes(other.split('\n')[1] ?? '-'), 'no key material');

  // A plaintext key under the .age name: found by content once tracked.
  writeFileSync(caKey, other, { mode: 0o600 });
  await git(dir, ['add', 'secrets/ca.key.age']);
  const leak = await cg(['check', '--staged']);
  assert.is(leak.code, 1);
  assert.match(leak.stderr, /secrets\/ca\.key\.age is in git's index .* holds a PEM PRIVATE KEY block/);
  writeFileSync(caKey, saved);
  await git(dir, ['add', 'secrets/ca.key.age']);
  assert.is((await cg(['check', '--staged'])).code, 0);
});

t.run();
