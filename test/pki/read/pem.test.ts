// src/pki/read/pem.ts: decodePem and decodeFirstPem share one scanner with Go's pem.Decode rules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeFirstPem, decodePem, encodePem } from '../../../src/pki/read/pem.js';

const a = encodePem('CERTIFICATE', Buffer.from('one'));
const b = encodePem('RSA PRIVATE KEY', Buffer.from('two'));

test('decodeFirstPem: the first block and the text after it', () => {
  assert.is(decodeFirstPem('no pem here'), undefined);
  const only = decodeFirstPem(`junk before\n${a}`);
  assert.is(only?.block.type, 'CERTIFICATE');
  assert.equal(only?.block.der, Buffer.from('one'));
  assert.is(only?.rest, '');
  assert.is(decodeFirstPem(a + b)?.rest, b);
  assert.is(decodeFirstPem(`${a}\n`)?.rest, '\n');
  // Blanks ending the END line belong to the block, as in Go.
  assert.is(decodeFirstPem(a.replace(/\n$/, '  \r\n'))?.rest, '');
  // A block that is not base64 is skipped, like decodePem (and Go) skip it.
  const broken = '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n';
  assert.is(decodeFirstPem(broken + b)?.block.type, 'RSA PRIVATE KEY');
  assert.equal(decodePem(broken + a + b).map((x) => x.type), ['CERTIFICATE', 'RSA PRIVATE KEY']);
});

test('decodeFirstPem reads Buffers as latin1', () => {
  const first = decodeFirstPem(Buffer.from(`${a}\xff`, 'latin1'));
  assert.is(first?.rest, '\xff');
});

test('headers are kept', () => {
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n';
  assert.equal(decodeFirstPem(pem)?.block.headers, { 'Proc-Type': '4,ENCRYPTED', 'DEK-Info': 'AES-128-CBC,00' });
  assert.equal(decodePem(pem)[0]?.der, Buffer.from('AAAA', 'base64'));
});

test.run();
