// Encrypted keys (`encrypt: { age: [...] }`) on real trees through the built CLI, checked with
// Debian's `age`: every <key>.age decrypts to exactly its key for each recipient and for no other
// identity; an unchanged key is never encrypted again (no byte or mtime of it changes); new
// recipients or a new key rewrite only what they concern; a fresh checkout (certificates, .age
// files and the index, no key) is restored with --identity or CERTGEN_AGE_IDENTITY instead of
// reissued, and without an identity the plan names each key it cannot restore. A wrong identity,
// a corrupt or swapped .age file, a bad identity file or recipient: one line each, nothing written.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { bin, setup, tmpdir } from './helpers/index.js';
import { ageDecrypt, identity, type Identity } from './helpers/age.js';
import { filesSnapshot } from './helpers/files-snapshot.js';

const KEYS = ['nodes/node1/node.key', 'nodes/node2/node.key', 'clients/root/client.root.key', 'clients/app/client.app.key'];

let ids: { a: Identity; b: Identity; c: Identity };
let keysDir = '';

function doc(top: string[], rootExtra: string[] = []): Record<string, unknown> {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keyType: 'ecdsa-p256' },
    defaults: { keyType: 'ecdsa-p256' },
    encrypt: { age: top },
    nodes: [
      { name: 'node1', hosts: ['node1.example.com'] },
      { name: 'node2', hosts: ['node2.example.com'] },
    ],
    clients: [
      { user: 'root', pkcs8: true, encrypt: { age: [...top, ...rootExtra] } },
      { user: 'app', keyType: 'ed25519' },
    ],
  };
}

async function project(d: Record<string, unknown>): Promise<{ dir: string; certs: string; write: (d: Record<string, unknown>) => void }> {
  const dir = tmpdir();
  const write = (x: Record<string, unknown>): void => writeFileSync(path.join(dir, 'cluster-certs.yaml'), stringify(x));
  write(d);
  return { dir, certs: path.join(dir, 'certs'), write };
}

const run = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}) => bin(args, { cwd: dir, env });

const snapshot = (certs: string): Record<string, string> => filesSnapshot(certs, { mtime: true });

/** Every file of `before` has its mode and bytes again in `after` (mtimes may differ: restored files are new). */
function assertSameContent(before: Record<string, string>, after: Record<string, string>): void {
  for (const [file, was] of Object.entries(before)) {
    const [mode, , bytes] = was.split(' ');
    const [mode2, , bytes2] = (after[file] ?? '').split(' ');
    assert.equal([mode2, bytes2], [mode, bytes], file);
  }
}

const encrypted = suite('apply writes <key>.age files for the recipients');

setup(encrypted, async () => {
  keysDir = tmpdir();
  ids = { a: await identity(keysDir, 'a.txt'), b: await identity(keysDir, 'b.txt'), c: await identity(keysDir, 'c.txt') };
});

encrypted('each .age decrypts with age -d to exactly its key, for each of its recipients and no other; 0644; the index says what each holds', async () => {
  const p = await project(doc([ids.a.recipient], [ids.b.recipient]));
  const r = await run(p.dir, ['apply']);
  assert.is(r.code, 0, r.stderr);
  for (const k of KEYS) {
    const age = path.join(p.certs, `${k}.age`);
    assert.is(statSync(age).mode & 0o777, 0o644, k);
    assert.match(readFileSync(age, 'utf8'), /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    const dec = await ageDecrypt(age, ids.a);
    assert.is(dec.code, 0, k);
    assert.ok(dec.out.equals(readFileSync(path.join(p.certs, k))), `${k}.age holds ${k}`);
    const byB = await ageDecrypt(age, ids.b);
    assert.is(byB.code, k.startsWith('clients/root/') ? 0 : 1, `${k}: b is a recipient of root's only`);
    assert.is((await ageDecrypt(age, ids.c)).code, 1, `${k}: c is no recipient`);
  }
  const index = JSON.parse(readFileSync(path.join(p.certs, 'age-index.json'), 'utf8')) as { files: Record<string, { recipients: string[]; plaintextSha256: string }> };
  assert.equal(Object.keys(index.files).sort(), KEYS.map((k) => `${k}.age`).sort());
  assert.equal(index.files['clients/root/client.root.key.age']?.recipients, [ids.a.recipient, ids.b.recipient].sort());
  assert.not.ok(readFileSync(path.join(p.certs, 'age-index.json'), 'utf8').includes('PRIVATE KEY'));
  assert.is(existsSync(path.join(p.certs, 'clients/root/client.root.key.pk8.age')), false, 'the .pk8 is derived from the key, not encrypted apart');
  const report = await run(p.dir, ['report', '--format', 'tsv']);
  assert.not.match(report.stdout, /\.age|age-index/, 'the .age files and the index are no junk rows');
  assert.is((await run(p.dir, ['check'])).code, 0);
});

encrypted('unchanged keys are never encrypted again; new recipients and a new key rewrite only what they concern', async () => {
  const p = await project(doc([ids.a.recipient]));
  assert.is((await run(p.dir, ['apply'])).code, 0);
  const first = snapshot(p.certs);
  const again = await run(p.dir, ['apply']);
  assert.match(again.stdout, /^Nothing to do/);
  assert.equal(snapshot(p.certs), first, 'no byte, mode or mtime changed');

  // node2 gets a second recipient: its .age and the index, nothing else.
  const d = doc([ids.a.recipient]);
  (d.nodes as Record<string, unknown>[])[1]!.encrypt = { age: [ids.a.recipient, ids.c.recipient] };
  p.write(d);
  const plan = await run(p.dir, ['plan', '--json']);
  const changes = (JSON.parse(plan.stdout) as { changes: { artifact: string; action: string; reasons: { code: string }[] }[] }).changes.filter((c) => c.action !== 'keep');
  assert.equal(changes.map((c) => `${c.action} ${c.artifact}: ${c.reasons.map((x) => x.code).join(',')}`), ['update node/node2: age-recipients-changed', 'update age-index.json: age-index-stale']);
  assert.is((await run(p.dir, ['apply'])).code, 0);
  const second = snapshot(p.certs);
  const changed = Object.keys(second).filter((f) => second[f] !== first[f]);
  assert.equal(changed.sort(), ['age-index.json', 'nodes/node2/node.key.age']);
  assert.is((await ageDecrypt(path.join(p.certs, 'nodes/node2/node.key.age'), ids.c)).code, 0);

  // node1's hosts change: a new key, and its .age with it.
  (d.nodes as Record<string, unknown>[])[0]!.hosts = ['node1.example.com', 'db.example.com'];
  p.write(d);
  assert.is((await run(p.dir, ['apply'])).code, 0);
  const third = snapshot(p.certs);
  assert.equal(Object.keys(third).filter((f) => third[f] !== second[f]).sort(), ['age-index.json', 'nodes/node1/node.crt', 'nodes/node1/node.key', 'nodes/node1/node.key.age']);
  assert.ok((await ageDecrypt(path.join(p.certs, 'nodes/node1/node.key.age'), ids.a)).out.equals(readFileSync(path.join(p.certs, 'nodes/node1/node.key'))));
});

encrypted.run();

// ---------------------------------------------------------------------------------------------
const checkout = suite('a fresh checkout: keys restored from their .age files, not reissued');

/** A tree applied, then what git would hold of it: every key and .pk8 removed. */
async function freshCheckout(): Promise<{ dir: string; certs: string; before: Record<string, string> }> {
  const p = await project(doc([ids.a.recipient], [ids.b.recipient]));
  assert.is((await run(p.dir, ['apply'])).code, 0);
  const before = snapshot(p.certs);
  for (const k of KEYS) rmSync(path.join(p.certs, k));
  rmSync(path.join(p.certs, 'clients/root/client.root.key.pk8'));
  return { dir: p.dir, certs: p.certs, before };
}

setup(checkout, async () => {
  keysDir ||= tmpdir();
  ids ??= { a: await identity(keysDir, 'a.txt'), b: await identity(keysDir, 'b.txt'), c: await identity(keysDir, 'c.txt') };
});

checkout('without an identity: the plan names each key it cannot restore, apply refuses and writes nothing', async () => {
  const f = await freshCheckout();
  const snap = snapshot(f.certs);
  const plan = await run(f.dir, ['plan']);
  assert.is(plan.code, 1);
  for (const k of KEYS) assert.match(plan.stdout, new RegExp(`error: \\S+: ${k.replace(/\./g, '\\.')} exists only encrypted, as ${k.replace(/\./g, '\\.')}\\.age: give an age identity`));
  assert.not.match(plan.stdout, /^\s+reissue /m);
  const apply = await run(f.dir, ['apply']);
  assert.is(apply.code, 1);
  assert.equal(snapshot(f.certs), snap);
});

for (const how of ['--identity FILE', 'CERTGEN_AGE_IDENTITY'] as const) {
  checkout(`with ${how}: every key restored (0600, the same bytes), the .pk8 derived again, no certificate touched`, async () => {
    const f = await freshCheckout();
    const r = how === '--identity FILE' ? await run(f.dir, ['apply', '--identity', ids.a.file]) : await run(f.dir, ['apply'], { CERTGEN_AGE_IDENTITY: `# a CI secret\n${ids.b.text}${ids.a.text}` });
    assert.is(r.code, 0, r.stderr);
    const after = snapshot(f.certs);
    assertSameContent(f.before, after);
    for (const [file, was] of Object.entries(f.before)) {
      if (!KEYS.includes(file) && !file.endsWith('.pk8')) assert.is(after[file], was, `${file} untouched`);
    }
    assert.equal((await run(f.dir, ['plan', '--detailed-exitcode'])).code, 0);
  });
}

checkout('certgen decrypt restores the keys and does nothing else; without an identity it says so', async () => {
  const f = await freshCheckout();
  // A host added since: apply would reissue node1; decrypt must not.
  const d = doc([ids.a.recipient], [ids.b.recipient]);
  (d.nodes as Record<string, unknown>[])[0]!.hosts = ['node1.example.com', 'db.example.com'];
  writeFileSync(path.join(f.dir, 'cluster-certs.yaml'), stringify(d));
  const none = await run(f.dir, ['decrypt']);
  assert.is(none.code, 4);
  assert.match(none.stderr, /decrypt needs an age identity: --identity FILE, or CERTGEN_AGE_IDENTITY/);
  const r = await run(f.dir, ['decrypt', '--identity', ids.a.file]);
  assert.is(r.code, 0, r.stderr);
  const after = snapshot(f.certs);
  assertSameContent(f.before, after);
  const plan = await run(f.dir, ['plan', '--json']);
  const changes = (JSON.parse(plan.stdout) as { changes: { artifact: string; action: string }[] }).changes.filter((c) => c.action !== 'keep');
  assert.equal(changes.map((c) => `${c.action} ${c.artifact}`), ['reissue node/node1', 'update age-index.json']);
});

checkout('a wrong identity, a corrupt .age, a .age of another key, a bad identity file: one line each, nothing written', async () => {
  const f = await freshCheckout();
  const snap = snapshot(f.certs);
  const wrong = await run(f.dir, ['apply', '--identity', ids.c.file]);
  assert.is(wrong.code, 1);
  assert.is(wrong.stderr.split('\n').filter((l) => l.includes('none of the given age identities can decrypt it')).length, KEYS.length, wrong.stderr);
  assert.equal(snapshot(f.certs), snap);

  writeFileSync(path.join(f.certs, 'nodes/node1/node.key.age'), '-----BEGIN AGE ENCRYPTED FILE-----\nbm90IGFnZQ==\n-----END AGE ENCRYPTED FILE-----\n');
  cpSync(path.join(f.certs, 'nodes/node2/node.key.age'), path.join(f.certs, 'clients/app/client.app.key.age'));
  const snap2 = snapshot(f.certs);
  const bad = await run(f.dir, ['apply', '--identity', ids.a.file]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /node\/node1: nodes\/node1\/node\.key\.age (cannot be decrypted|is not an armored age file)[^\n]*\n/);
  assert.match(bad.stderr, /client\/app: clients\/app\/client\.app\.key\.age does not hold the key of clients\/app\/client\.app\.crt/);
  assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(snapshot(f.certs), snap2);

  const notIdentity = path.join(keysDir, 'recipient.txt');
  writeFileSync(notIdentity, `${ids.a.recipient}\n`);
  const badId = await run(f.dir, ['plan', '--identity', notIdentity]);
  assert.is(badId.code, 1);
  assert.equal(badId.stderr.trim().split('\n').length, 1, badId.stderr);
  assert.match(badId.stderr, /recipient\.txt:1: a recipient \(public key\), not an identity/);
  assert.not.ok(`${bad.stdout}${bad.stderr}${wrong.stderr}`.includes('AGE-SECRET-KEY-1'), 'no identity in any output');
});

checkout('a recipient that is not an age recipient: one line at its place in the spec, nothing written', async () => {
  const p = await project(doc([ids.a.recipient, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl']));
  const r = await run(p.dir, ['apply']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /cluster-certs\.yaml:\d+:\d+: encrypt\.age\[1\]: "ssh-ed25519 [^"]*" is an SSH key/);
  assert.is(existsSync(p.certs), false);
});

checkout.run();
