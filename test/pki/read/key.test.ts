// src/pki/read/key.ts: the block-level entry points (findPrivateKeyBlock, readPrivateKeyBlock,
// loadPrivateKeyBlock) and keyMatchesPublicKey. readPrivateKeyPem itself is in reader.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  findPrivateKeyBlock,
  isPrivateKeyType,
  keyMatchesPublicKey,
  loadPrivateKeyBlock,
  readPrivateKeyBlock,
  readPrivateKeyPem,
  sameKey,
  KeyReadError,
} from '../../../src/pki/read/key.js';
import { decodePem } from '../../../src/pki/read/pem.js';
import type { PublicKeyFacts } from '../../../src/pki/read/types.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const sec1 = ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string;
const cert = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';

const rsaPublic = (): PublicKeyFacts => {
  const jwk = rsa.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  return { type: 'rsa', spki: rsa.publicKey.export({ type: 'spki', format: 'der' }), rsaModulus: Buffer.from(jwk.n, 'base64url'), rsaExponent: Buffer.from(jwk.e, 'base64url') };
};

test('isPrivateKeyType is Go\'s test', () => {
  for (const t of ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']) assert.ok(isPrivateKeyType(t), t);
  for (const t of ['CERTIFICATE', 'PUBLIC KEY', 'XPRIVATE KEY', 'PRIVATE KEYS']) assert.not.ok(isPrivateKeyType(t), t);
});

test('findPrivateKeyBlock skips other blocks; readPrivateKeyPem is readPrivateKeyBlock of it', () => {
  const block = findPrivateKeyBlock(cert + pkcs1);
  assert.is(block.type, 'RSA PRIVATE KEY');
  assert.ok(sameKey(readPrivateKeyBlock(block), readPrivateKeyPem(pkcs1)));
  try {
    findPrivateKeyBlock(cert);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, KeyReadError);
    assert.is((err as KeyReadError).code, 'no-key');
    assert.is((err as Error).message, 'tls: failed to find any PEM data in key input');
  }
});

test('loadPrivateKeyBlock: the facts and the node:crypto key of the same key', () => {
  for (const [pem, pub] of [[pkcs1, rsa.publicKey], [sec1, ec.publicKey]] as const) {
    const { facts, key } = loadPrivateKeyBlock(findPrivateKeyBlock(pem));
    assert.equal(createPublicKey(key).export({ type: 'spki', format: 'der' }), pub.export({ type: 'spki', format: 'der' }));
    assert.ok(sameKey(facts, readPrivateKeyPem(pem)));
  }
  const [encrypted] = decodePem(rsa.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }) as string);
  assert.throws(() => loadPrivateKeyBlock(encrypted as never), (e: Error) => e instanceof KeyReadError && e.code === 'encrypted');
  const [other] = decodePem('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n');
  assert.throws(() => loadPrivateKeyBlock(other as never), (e: Error) => e instanceof KeyReadError && e.code === 'malformed' && e.message === 'failed to parse private key');
});

test('keyMatchesPublicKey: RSA by modulus and exponent, others by SPKI', () => {
  const rsaFacts = readPrivateKeyPem(pkcs1);
  const ecFacts = readPrivateKeyPem(sec1);
  assert.ok(keyMatchesPublicKey(rsaFacts, rsaPublic()));
  assert.not.ok(keyMatchesPublicKey(rsaFacts, { ...rsaPublic(), rsaExponent: Buffer.from([3]) }));
  assert.not.ok(keyMatchesPublicKey(rsaFacts, { ...rsaPublic(), type: 'ec' }));
  const ecSpki = ec.publicKey.export({ type: 'spki', format: 'der' });
  assert.ok(keyMatchesPublicKey(ecFacts, { type: 'ec', spki: ecSpki }));
  assert.not.ok(keyMatchesPublicKey(ecFacts, rsaPublic()));
});

test.run();
