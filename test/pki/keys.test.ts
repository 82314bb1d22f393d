// src/pki/keys.ts: reading a private key (for signing) goes through the one key reader, with the
// messages Go's security.PEMToPrivateKey and tls.X509KeyPair give.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { findPrivateKeyInPem, parsePrivateKeyPem } from '../../src/pki/keys.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const sec1 = ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
const cert = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const spki = (k: KeyObject): string => createPublicKey(k).export({ type: 'spki', format: 'der' }).toString('hex');
const rsaSpki = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('hex');

test('parsePrivateKeyPem: PKCS#1, PKCS#8 and SEC1, one block and nothing after it', () => {
  assert.is(spki(parsePrivateKeyPem(pkcs1)), rsaSpki);
  assert.is(spki(parsePrivateKeyPem(pkcs8)), rsaSpki);
  assert.is(spki(parsePrivateKeyPem(sec1)), ec.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
  // Go's pem.Decode skips text before the block and blanks ending the END line.
  assert.is(spki(parsePrivateKeyPem(`leading text\n${pkcs1.replace(/\n$/, ' \t\n')}`)), rsaSpki);
});

test("parsePrivateKeyPem: Go's messages", () => {
  assert.throws(() => parsePrivateKeyPem('not a key\n'), (e: Error) => e.message === 'no PEM data found');
  assert.throws(() => parsePrivateKeyPem(`${pkcs1}\n`), (e: Error) => e.message === 'more than one PEM block found');
  assert.throws(() => parsePrivateKeyPem(pkcs1 + cert), (e: Error) => e.message === 'more than one PEM block found');
  assert.throws(() => parsePrivateKeyPem(cert), (e: Error) => e.message === 'PEM block is of type CERTIFICATE');
  const encrypted = rsa.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }) as string;
  assert.match(encrypted, /Proc-Type: 4,ENCRYPTED/);
  assert.throws(() => parsePrivateKeyPem(encrypted), (e: Error) => e.message === 'failed to parse private key: key is encrypted');
  const garbage = '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n';
  assert.throws(() => parsePrivateKeyPem(garbage), (e: Error) => e.message === 'failed to parse private key');
  // A key type the reader does not read is refused the same way.
  assert.throws(() => parsePrivateKeyPem(garbage.replaceAll('RSA', 'DSA')), (e: Error) => e.message === 'failed to parse private key');
});

test('findPrivateKeyInPem: the first key block, other blocks skipped', () => {
  assert.is(spki(findPrivateKeyInPem(cert + pkcs1)), rsaSpki);
  assert.is(spki(findPrivateKeyInPem(pkcs8 + sec1)), rsaSpki);
  assert.is(spki(findPrivateKeyInPem(`${sec1}\n${pkcs1}`)), ec.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
  assert.throws(() => findPrivateKeyInPem(cert), (e: Error) => e.message === 'tls: failed to find any PEM data in key input');
  assert.throws(() => findPrivateKeyInPem(''), (e: Error) => e.message === 'tls: failed to find any PEM data in key input');
  const truncated = pkcs1.replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END');
  assert.throws(() => findPrivateKeyInPem(truncated), (e: Error) => e.message === 'failed to parse private key');
});

test.run();
