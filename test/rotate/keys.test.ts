// A CA rotation whose caKey is an .age file, on a real tree (node shipped "by the operator"):
// every rotate step refuses without an identity; start writes the new key only encrypted
// (ca.key.next.age, which age -d opens); continue switches, archives (ca.key.<id>.old.age) and
// finishes; the key at caKey then decrypts to the key of the new CA, which signed the leaves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { rotateContinue } from '../../src/rotate/continue.js';
import { rotateStart } from '../../src/rotate/start.js';
import { rotateStatus } from '../../src/rotate/status.js';
import { RotationError } from '../../src/rotate/state.js';
import { parseIdentities } from '../../src/pki/age.js';
import { tmpdir } from '../helpers/index.js';

const spki = (pem: Buffer | string): string => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('base64');

test('rotate start/continue with an .age caKey: identity required, keys only encrypted, the signer switched', async () => {
  const dir = tmpdir();
  const idFile = path.join(dir, 'id.txt');
  await execa('age-keygen', ['-o', idFile]);
  const recipient = (await execa('age-keygen', ['-y', idFile])).stdout.trim();
  const identities = await parseIdentities(readFileSync(idFile, 'utf8'), idFile);
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key.age', ca: { keyType: 'ecdsa-p256', clientPropagation: '0s', pruneOld: 'after-reissue' }, defaults: { keyType: 'ecdsa-p256' }, encrypt: { age: [recipient] }, nodes: [{ name: 'node1', hosts: ['node1.example.com'] }], clients: [{ user: 'root' }] }));
  const spec = await loadSpec(file);
  await apply(spec);
  const err = await rotateStart(spec).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof RotationError && err.reason === 'age-identity-needed', String(err));
  assert.equal(readdirSync(path.join(dir, 'secrets')), ['ca.key.age'], 'nothing written');
  const r = await rotateStart(spec, { identities });
  assert.is(r.newKey, path.join(dir, 'secrets/ca.key.next.age'));
  const next = await execa('age', ['-d', '-i', idFile, r.newKey], { encoding: 'buffer' });
  assert.match(readFileSync(r.newKey, 'utf8'), /^-----BEGIN AGE ENCRYPTED FILE-----/);
  assert.ok((await rotateStatus(spec, { identities })).consistent);
  await rotateContinue(spec, { identities, until: 'done', shipped: ['node1'], ackClients: true });
  const files = readdirSync(path.join(dir, 'secrets')).sort();
  assert.equal(files.length, 2, files.join(' '));
  assert.match(files[0] ?? '', /^ca\.key\.\d{8}T\d{6}Z-[0-9a-f]{4}\.old\.age$/);
  assert.is(files[1], 'ca.key.age');
  const now = (await execa('age', ['-d', '-i', idFile, path.join(dir, 'secrets/ca.key.age')], { encoding: 'buffer' })).stdout;
  const caCert = new X509Certificate(readFileSync(path.join(dir, 'certs/ca.crt')));
  assert.is(spki(Buffer.from(now)), caCert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), 'caKey holds the new CA key');
  assert.is(spki(Buffer.from(now)), spki(Buffer.from(next.stdout)), 'the one start made');
  const v = await execa('openssl', ['verify', '-CAfile', path.join(dir, 'certs/ca.crt'), path.join(dir, 'certs/nodes/node1/node.crt')], { reject: false });
  assert.is(v.exitCode, 0, v.stderr);
  // The key at caKey after the switch is not the one the index recorded: the rotation's apply
  // encrypted it again for the spec's recipients and recorded it, so a later apply leaves it alone.
  const index = JSON.parse(readFileSync(path.join(dir, 'certs/age-index.json'), 'utf8')) as { files: Record<string, { ageSha256: string; recipients: string[] }> };
  assert.is(index.files['../secrets/ca.key.age']?.ageSha256, createHash('sha256').update(readFileSync(path.join(dir, 'secrets/ca.key.age'))).digest('hex'));
  assert.equal(index.files['../secrets/ca.key.age']?.recipients, [recipient]);
  assert.equal((await apply(spec, { identities })).applied, [], 'nothing left to do');
  for (const f of files) assert.not.match(readFileSync(path.join(dir, 'secrets', f), 'utf8'), /PRIVATE KEY/, `${f} is ciphertext`);
});

test.run();
