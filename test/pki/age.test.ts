// The age wrapper against Debian's `age` CLI, the reference implementation: what certgen encrypts
// age decrypts, what age encrypts certgen decrypts, and every bad input is one clear AgeError.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { AgeError, decryptArmored, decryptWithIdentityFile, encryptArmored, parseIdentities, parseRecipients, readIdentityFile, recipientOf } from '../../src/pki/age.js';
import { ageRecipientProblem } from '../../src/core/age-recipient.js';
import { tmpdir } from '../helpers/index.js';

const dir = tmpdir('certgen-age-');

/** A fresh identity file from age-keygen, and its recipient as age-keygen -y prints it. */
async function keygen(name: string): Promise<{ file: string; recipient: string }> {
  const file = path.join(dir, name);
  await execa('age-keygen', ['-o', file]);
  const { stdout } = await execa('age-keygen', ['-y', file]);
  return { file, recipient: stdout.trim() };
}

async function rejects(p: Promise<unknown>, kind: string, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, AgeError);
    assert.is((err as AgeError).kind, kind);
    assert.match((err as Error).message, pattern);
    assert.not.match((err as Error).message, /AGE-SECRET-KEY-1[A-Z0-9]{10}/);
    assert.not.ok((err as Error).message.includes('\n'), 'one line');
    return;
  }
  assert.unreachable('expected an AgeError');
}

test('certgen encrypts, the age CLI decrypts (two recipients, each identity alone)', async () => {
  const a = await keygen('a.txt');
  const b = await keygen('b.txt');
  const secret = '-----BEGIN RSA PRIVATE KEY-----\nnot really\n-----END RSA PRIVATE KEY-----\n';
  const armored = await encryptArmored(secret, [a.recipient, b.recipient, a.recipient]);
  assert.match(armored, /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
  assert.ok(armored.endsWith('-----END AGE ENCRYPTED FILE-----\n'));
  for (const id of [a, b]) {
    const r = await execa('age', ['-d', '-i', id.file], { input: armored, encoding: 'utf8', stripFinalNewline: false });
    assert.is(r.stdout, secret);
  }
  assert.is(await recipientOf((await readIdentityFile(a.file))[0] ?? ''), a.recipient);
});

test('the age CLI encrypts, certgen decrypts with the identity file; a wrong identity fails cleanly', async () => {
  const a = await keygen('c.txt');
  const other = await keygen('d.txt');
  const data = Buffer.from([0, 1, 2, 255, 254]);
  const { stdout } = await execa('age', ['-a', '-r', a.recipient], { input: data, encoding: 'utf8' });
  assert.equal(Buffer.from(await decryptWithIdentityFile(stdout, a.file, 'x.age')), data);
  await rejects(decryptWithIdentityFile(stdout, other.file, 'x.age'), 'no-match', /^x\.age is encrypted for other recipients/);
});

test('damaged or foreign data is corrupt, not a crash', async () => {
  const a = await keygen('e.txt');
  const ids = await readIdentityFile(a.file);
  const armored = await encryptArmored('hello', [a.recipient]);
  await rejects(decryptArmored('not age at all', ids, 'k.age'), 'corrupt', /^k\.age is not an armored age file/);
  // Flip one character of the body (inside the base64, after the header line).
  const lines = armored.split('\n');
  const body = lines[1] ?? '';
  lines[1] = body.slice(0, 20) + (body[20] === 'A' ? 'B' : 'A') + body.slice(21);
  await rejects(decryptArmored(lines.join('\n'), ids, 'k.age'), 'corrupt', /^k\.age (cannot be decrypted|is not an armored)/);
});

test('recipients: one clear line for each kind of mistake', async () => {
  const { recipient } = await keygen('f.txt');
  assert.equal(parseRecipients([recipient, ` ${recipient} `]), [recipient]);
  const cases: Array<[string, RegExp]> = [
    ['', /is not an age recipient/],
    ['age1qqqq', /not a valid age recipient/],
    [recipient.slice(0, -1) + (recipient.endsWith('q') ? 'p' : 'q'), /checksum/],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', /is an SSH key/],
    ['AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ', /is an age identity \(a private key\), not a recipient/],
    ['age1pq1' + 'q'.repeat(100), /post-quantum/],
  ];
  for (const [text, re] of cases) {
    assert.match(ageRecipientProblem(text) ?? '', re, text);
    try {
      parseRecipients([text]);
      assert.unreachable(text);
    } catch (err) {
      assert.instance(err, AgeError);
      assert.is((err as AgeError).kind, 'recipient');
      assert.not.match((err as Error).message, /QQQQQQQQQQQQQQQQ/, 'an identity pasted as a recipient is not echoed');
    }
  }
  assert.throws(() => parseRecipients([]), /no age recipients/);
  await rejects(encryptArmored('x', ['nope']), 'recipient', /"nope" is not an age recipient/);
});

test('identity files: missing, empty, a recipient by mistake, garbage', async () => {
  const { recipient } = await keygen('g.txt');
  await rejects(readIdentityFile(path.join(dir, 'none.txt')), 'identity', /cannot read the age identity file .*none\.txt: not found/);
  const empty = path.join(dir, 'empty.txt');
  writeFileSync(empty, '# only a comment\n\n');
  await rejects(readIdentityFile(empty), 'identity', /holds no age identity/);
  await rejects(parseIdentities(`# c\n${recipient}\n`, 'ids.txt'), 'identity', /^ids\.txt:2: a recipient \(public key\), not an identity/);
  await rejects(parseIdentities('AGE-SECRET-KEY-1QQQQ\n', 'ids.txt'), 'identity', /^ids\.txt:1: not a valid age identity/);
  await rejects(parseIdentities('hello\n', 'ids.txt'), 'identity', /^ids\.txt:1: not an age identity/);
});

test.run();
