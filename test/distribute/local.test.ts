// The local checks (src/distribute/local.ts) that keep the CA key off every node: which public
// keys are the CA's, and whether a key file is the private half of one, whatever its encoding.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCA } from '../../src/cert/commands.js';
import { addCertPublicKeys, holdsKeyOf, isInside } from '../../src/distribute/local.js';
import { decodePem, encodePem } from '../../src/pki/read/pem.js';
import type { PublicKeyFacts } from '../../src/pki/read/types.js';
import { tmpdir } from '../helpers/index.js';

async function ca(keyPem?: string): Promise<{ crt: string; key: string; dir: string }> {
  const dir = tmpdir('certgen-dist-local-');
  const key = path.join(dir, 'ca.key');
  if (keyPem !== undefined) writeFileSync(key, keyPem, { mode: 0o600 });
  await createCA({ certsDir: path.join(dir, 'certs'), caKey: key, keySize: 1024, allowCAKeyReuse: keyPem !== undefined });
  return { crt: path.join(dir, 'certs', 'ca.crt'), key, dir };
}

test('isInside', () => {
  assert.ok(isInside('/a/b', '/a/b'));
  assert.ok(isInside('/a/b/c', '/a/b'));
  assert.ok(isInside('/a/b/..ca.key', '/a/b'), '`..ca.key` is a name inside the folder');
  assert.not.ok(isInside('/a', '/a/b'));
  assert.not.ok(isInside('/a/bc', '/a/b'));
});

test("holdsKeyOf: the CA's key in PKCS#1, PKCS#8 PEM or DER, after other blocks; other keys and junk are not", async () => {
  const { crt, key } = await ca();
  const keys = new Map<string, PublicKeyFacts>();
  await addCertPublicKeys(crt, keys);
  assert.is(keys.size, 1);
  const pem = readFileSync(key);
  const k = createPrivateKey(pem);
  assert.ok(holdsKeyOf(pem, keys.values()));
  assert.ok(holdsKeyOf(Buffer.from(k.export({ type: 'pkcs8', format: 'pem' }) as string), keys.values()));
  assert.ok(holdsKeyOf(k.export({ type: 'pkcs8', format: 'der' }), keys.values()));
  assert.ok(holdsKeyOf(Buffer.concat([readFileSync(crt), pem]), keys.values()));
  const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  assert.not.ok(holdsKeyOf(Buffer.from(other), keys.values()));
  assert.not.ok(holdsKeyOf(Buffer.from('not a key'), keys.values()));
  assert.not.ok(holdsKeyOf(pem, []));
});

test('holdsKeyOf: an EC CA key too', async () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const { crt } = await ca(ec.export({ type: 'sec1', format: 'pem' }) as string);
  const keys = new Map<string, PublicKeyFacts>();
  await addCertPublicKeys(crt, keys);
  assert.ok(holdsKeyOf(Buffer.from(ec.export({ type: 'pkcs8', format: 'pem' }) as string), keys.values()));
  assert.ok(holdsKeyOf(ec.export({ type: 'pkcs8', format: 'der' }), keys.values()));
});

test('addCertPublicKeys: every certificate of a bundle, once each; a certificate Go refuses still counts; missing files add nothing', async () => {
  const a = await ca();
  const b = await ca();
  const keys = new Map<string, PublicKeyFacts>();
  await addCertPublicKeys(path.join(a.dir, 'nope.crt'), keys);
  assert.is(keys.size, 0);
  const bundle = path.join(a.dir, 'bundle.crt');
  writeFileSync(bundle, Buffer.concat([readFileSync(a.crt), Buffer.from('junk between\n'), readFileSync(b.crt)]));
  await addCertPublicKeys(bundle, keys);
  await addCertPublicKeys(a.crt, keys);
  assert.is(keys.size, 2);
  assert.ok(holdsKeyOf(readFileSync(b.key), keys.values()));

  // Trailing bytes after the DER: Go (and so the reader) refuses it, OpenSSL reads it; its key is
  // still the CA's and must still be caught.
  const [der] = decodePem(readFileSync(b.crt));
  const broken = path.join(b.dir, 'broken.crt');
  writeFileSync(broken, encodePem('CERTIFICATE', Buffer.concat([der?.der ?? Buffer.alloc(0), Buffer.from([0])])));
  const fromBroken = new Map<string, PublicKeyFacts>();
  await addCertPublicKeys(broken, fromBroken);
  assert.is(fromBroken.size, 1);
  assert.ok(holdsKeyOf(readFileSync(b.key), fromBroken.values()));
  // A block that is no certificate at all adds nothing.
  writeFileSync(broken, encodePem('CERTIFICATE', Buffer.from('nonsense')));
  const none = new Map<string, PublicKeyFacts>();
  await addCertPublicKeys(broken, none);
  assert.is(none.size, 0);
});

test.run();
