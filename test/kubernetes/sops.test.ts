// When a SOPS file counts as unchanged (and is left alone) and when it is written again: judged
// without decrypting, so every way its visible part can differ must count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { decryptSops } from 'sops-age';
import { sopsEncryptYaml, sopsUpToDate } from '../../src/kubernetes/sops.js';
import { tmpdir } from '../helpers/index.js';
import path from 'node:path';
import { readFileSync } from 'node:fs';

async function identity(): Promise<{ secret: string; recipient: string }> {
  const file = path.join(tmpdir('certgen-sops-'), 'id');
  await execa('age-keygen', ['-o', file]);
  return { secret: readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) ?? '', recipient: (await execa('age-keygen', ['-y', file])).stdout.trim() };
}

const doc = () => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'x', namespace: 'y', annotations: { 'certgen/cert-sha256': 'aa', 'certgen/not-after': '2031-01-01T00:00:00Z' } },
  type: 'Opaque',
  data: { 'node.key': 'c2VjcmV0', 'ca.crt': 'Y2E=' },
});

test('up to date only when names, annotations, data keys, recipients and the encryption are all as wanted', async () => {
  const a = await identity();
  const b = await identity();
  const text = await sopsEncryptYaml(doc(), [a.recipient, b.recipient], new Date('2026-01-02T03:04:05.678Z'));
  assert.match(text, /certgen\/not-after: "2031-01-01T00:00:00Z"/, 'a timestamp-like string is quoted (YAML 1.1 readers)');
  assert.match(text, /lastmodified: "2026-01-02T03:04:05Z"/);
  assert.equal(await decryptSops(text, { secretKey: b.secret, fileType: 'yaml' }), doc());
  assert.ok(sopsUpToDate(text, doc(), [b.recipient, a.recipient]), 'recipients in any order');

  const changed = doc();
  changed.metadata.annotations['certgen/cert-sha256'] = 'bb';
  assert.not.ok(sopsUpToDate(text, changed, [a.recipient, b.recipient]), 'another certificate');
  const moreKeys = doc() as ReturnType<typeof doc> & { data: Record<string, string> };
  moreKeys.data['extra'] = 'eA==';
  assert.not.ok(sopsUpToDate(text, moreKeys, [a.recipient, b.recipient]), 'another data key');
  assert.not.ok(sopsUpToDate(text, doc(), [a.recipient]), 'a recipient removed');
  assert.not.ok(sopsUpToDate(text, doc(), [a.recipient, b.recipient, (await identity()).recipient]), 'a recipient added');

  const parsed = parse(text) as Record<string, any>;
  parsed.data['node.key'] = 'c2VjcmV0';
  assert.not.ok(sopsUpToDate(stringify(parsed), doc(), [a.recipient, b.recipient]), 'a value left in plaintext by hand');
  const noSops = parse(text) as Record<string, any>;
  delete noSops.sops;
  assert.not.ok(sopsUpToDate(stringify(noSops), doc(), [a.recipient, b.recipient]), 'no sops block');
  const otherRule = parse(text) as Record<string, any>;
  otherRule.sops.encrypted_regex = '^data$';
  assert.not.ok(sopsUpToDate(stringify(otherRule), doc(), [a.recipient, b.recipient]), 'another encrypted_regex');
  assert.not.ok(sopsUpToDate('{ not yaml', doc(), [a.recipient]), 'not YAML');
  assert.not.ok(sopsUpToDate(stringify(doc()), doc(), [a.recipient]), 'the plaintext manifest');
});

test('each encryption is new: a new data key and IVs, the same plaintext', async () => {
  const a = await identity();
  const now = new Date('2026-01-01T00:00:00Z');
  const one = await sopsEncryptYaml(doc(), [a.recipient], now);
  const two = await sopsEncryptYaml(doc(), [a.recipient], now);
  assert.is.not(one, two);
  assert.equal(await decryptSops(one, { secretKey: a.secret, fileType: 'yaml' }), await decryptSops(two, { secretKey: a.secret, fileType: 'yaml' }));
  try {
    await sopsEncryptYaml(doc(), ['nope'], now);
    assert.unreachable('a bad recipient');
  } catch (err) {
    assert.match((err as Error).message, /"nope" is not an age recipient/);
  }
});

test.run();
