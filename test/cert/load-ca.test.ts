// loadCA (tls.LoadX509KeyPair over the CA bundle and key): the key is read by the one key reader
// and matched to the first certificate by the one key↔cert match, Go's verdict on it first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCA, loadCA } from '../../src/cert/commands.js';
import { decodePem, encodePem } from '../../src/pki/read/pem.js';
import { rejects, tmpdir } from '../helpers/index.js';

async function ca(): Promise<{ crt: string; key: string }> {
  const dir = tmpdir('certgen-loadca-');
  const certsDir = path.join(dir, 'certs');
  const key = path.join(dir, 'ca.key');
  await createCA({ certsDir, caKey: key, keySize: 1024 });
  return { crt: path.join(certsDir, 'ca.crt'), key };
}

test('the key in another encoding (PKCS#8, after other blocks) still loads and matches', async () => {
  const { crt, key } = await ca();
  const pem = readFileSync(key, 'latin1');
  writeFileSync(key, readFileSync(crt, 'latin1') + (createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }) as string));
  const loaded = await loadCA(crt, key);
  assert.equal(createPublicKey(loaded.key).export({ type: 'spki', format: 'der' }), createPublicKey(pem).export({ type: 'spki', format: 'der' }));
});

test("a first certificate Go refuses is refused with Go's message", async () => {
  const { crt, key } = await ca();
  const [first] = decodePem(readFileSync(crt));
  writeFileSync(crt, encodePem('CERTIFICATE', Buffer.concat([first?.der ?? Buffer.alloc(0), Buffer.from([0])])));
  const err = await rejects(loadCA(crt, key));
  assert.is(err.message, `error loading CA certificate ${crt} and key ${key}: x509: trailing data`);
});

test('a key of another CA does not match', async () => {
  const a = await ca();
  const b = await ca();
  const err = await rejects(loadCA(a.crt, b.key));
  assert.is(err.message, `error loading CA certificate ${a.crt} and key ${b.key}: tls: private key does not match public key`);
});

test.run();
