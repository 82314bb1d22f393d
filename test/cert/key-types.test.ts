// `cert create-*` with every --key-type (a certgen extension), and mixed trees: the files as Go and
// cockroach write keys, judged by Go (tls.LoadX509KeyPair, CheckSignatureFrom, MarshalPKCS8PrivateKey)
// and by `openssl verify -x509_strict -purpose`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createCA, createClient, createNode } from '../../src/cert/commands.js';
import { listCerts } from '../../src/cert/list.js';
import { parseCertificate } from '../../src/pki/read/cert.js';
import { KEY_TYPES, type KeyType } from '../../src/core/key-type.js';
import { cli, opensslStatus, rejects, tmpdir } from '../helpers/index.js';
import { keycheck } from '../helpers/go.js';
import { goParse } from './go-judge.js';

const LABEL: Record<KeyType, string> = { rsa: 'RSA PRIVATE KEY', 'ecdsa-p256': 'EC PRIVATE KEY', 'ecdsa-p384': 'EC PRIVATE KEY', ed25519: 'PRIVATE KEY' };
const SIG_ALG: Record<KeyType, string> = { rsa: 'SHA256-RSA', 'ecdsa-p256': 'ECDSA-SHA256', 'ecdsa-p384': 'ECDSA-SHA384', ed25519: 'Ed25519' };
const KU_KEY_ENCIPHERMENT = 1 << 2;

function setup(): { certsDir: string; caKey: string } {
  const dir = tmpdir();
  mkdirSync(path.join(dir, 'safe'));
  return { certsDir: path.join(dir, 'certs'), caKey: path.join(dir, 'safe', 'ca.key') };
}

const pemBody = (file: string): string => readFileSync(file, 'latin1').replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
const pemLabel = (file: string): string | undefined => /^-----BEGIN ([A-Z ]+)-----\n/.exec(readFileSync(file, 'latin1'))?.[1];
/** The first certificate of a PEM file (a bundle holds several). */
const certOf = (file: string) => parseCertificate(Buffer.from((/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END/.exec(readFileSync(file, 'latin1'))?.[1] ?? '').replace(/\s+/g, ''), 'base64'));

const types = suite('cert create-* --key-type');

const TREES: [string, KeyType, KeyType][] = [...KEY_TYPES.map((t): [string, KeyType, KeyType] => [t, t, t]), ['ECDSA CA, RSA leaves', 'ecdsa-p256', 'rsa'], ['RSA CA, Ed25519 leaves', 'rsa', 'ed25519']];

types('every key type and mixed trees: Go loads every pair, checks every signature, and writes the keys the same', async () => {
  for (const [name, caType, leafType] of TREES) {
    const o = setup();
    await createCA({ ...o, keyType: caType });
    await createNode({ ...o, keyType: leafType }, ['localhost', '127.0.0.1']);
    await createClient({ ...o, keyType: leafType, alsoGeneratePkcs8Key: true }, 'root');
    const f = (n: string) => path.join(o.certsDir, n);
    assert.is(pemLabel(o.caKey), LABEL[caType], `${name}: CA key encoding`);
    assert.is(pemLabel(f('node.key')), LABEL[leafType], `${name}: node key encoding`);
    assert.is(pemLabel(f('client.root.key')), LABEL[leafType], `${name}: client key encoding`);

    const go = keycheck([
      { op: 'key', key: o.caKey },
      { op: 'key', key: f('node.key') },
      { op: 'key', key: f('client.root.key') },
      { op: 'pair', cert: f('node.crt'), key: f('node.key') },
      { op: 'pair', cert: f('client.root.crt'), key: f('client.root.key') },
      { op: 'pair', cert: f('ca.crt'), key: o.caKey },
      { op: 'pair', cert: f('node.crt'), key: f('client.root.key') },
      { op: 'sig', cert: f('node.crt'), ca: f('ca.crt') },
      { op: 'sig', cert: f('client.root.crt'), ca: f('ca.crt') },
      { op: 'sig', cert: f('ca.crt'), ca: f('ca.crt') },
    ]);
    const [caKey, nodeKey, clientKey, nodePair, clientPair, caPair, crossPair, ...sigs] = go;
    for (const [label, g, file] of [['CA', caKey, o.caKey], ['node', nodeKey, f('node.key')], ['client', clientKey, f('client.root.key')]] as const) {
      assert.ok(g?.ok, `${name}: Go reads the ${label} key: ${g?.error}`);
      assert.is(pemBody(file), g?.native, `${name}: the ${label} key is written as Go writes it`);
    }
    assert.is(readFileSync(f('client.root.key.pk8')).toString('base64'), clientKey?.pkcs8, `${name}: the .pk8 is Go's MarshalPKCS8PrivateKey`);
    for (const [label, g] of [['node', nodePair], ['client', clientPair], ['CA', caPair]] as const) assert.ok(g?.ok, `${name}: tls.LoadX509KeyPair(${label}): ${g?.error}`);
    assert.not.ok(crossPair?.ok, `${name}: the client key does not pass for the node's`);
    for (const g of sigs) {
      assert.ok(g.ok, `${name}: CheckSignatureFrom: ${g.error}`);
      assert.is(g.sigAlg, SIG_ALG[caType], `${name}: the signature algorithm follows the CA's key`);
    }
    for (const v of goParse([f('ca.crt'), f('node.crt'), f('client.root.crt')])) assert.ok(v.ok, `${name}: x509.ParseCertificate: ${v.error}`);

    for (const [cert, purpose] of [[f('node.crt'), 'sslserver'], [f('node.crt'), 'sslclient'], [f('client.root.crt'), 'sslclient']] as const) {
      const r = await opensslStatus(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', f('ca.crt'), cert]);
      assert.is(r.code, 0, `${name}: openssl verify -purpose ${purpose} ${path.basename(cert)}: ${r.out}`);
    }
    // keyEncipherment only for RSA subject keys (RFC 5480 §3, RFC 8410 §5).
    for (const [file, t] of [[f('ca.crt'), caType], [f('node.crt'), leafType], [f('client.root.crt'), leafType]] as const) {
      assert.is(((certOf(file).keyUsage ?? 0) & KU_KEY_ENCIPHERMENT) !== 0, t === 'rsa', `${name}: keyEncipherment on ${path.basename(file)}`);
    }
  }
});

types('a key size with another key type is refused before anything is written', async () => {
  const o = setup();
  const err = await rejects(createCA({ ...o, keyType: 'ecdsa-p256', keySize: 2048 }));
  assert.is(err.message, 'failed to generate CA cert and key: could not generate new CA key: a key size applies to RSA keys only, not ecdsa-p256');
  assert.not.ok(existsSync(o.caKey));
  assert.not.ok(existsSync(o.certsDir) && existsSync(path.join(o.certsDir, 'ca.crt')));
  await createCA({ ...o, keyType: 'ed25519' });
  const leaf = await rejects(createNode({ ...o, keyType: 'ed25519', keySize: 4096 }, ['localhost']));
  assert.match(leaf.message, /could not generate new node key: a key size applies to RSA keys only, not ed25519$/);
  assert.not.ok(existsSync(path.join(o.certsDir, 'node.key')));
});

types('--allow-ca-key-reuse keeps the existing key whatever its type', async () => {
  const o = setup();
  await createCA({ ...o, keyType: 'ecdsa-p384' });
  await createCA({ ...o, keyType: 'rsa', allowCAKeyReuse: true, overwrite: true });
  assert.is(pemLabel(o.caKey), 'EC PRIVATE KEY');
  assert.is(certOf(path.join(o.certsDir, 'ca.crt')).publicKey.curve, 'P-384');
});

types('cert list names the keys cockroach never writes in Notes (RSA rows stay as cockroach lists them); report names every key', async () => {
  const o = setup();
  await createCA({ ...o, keyType: 'ecdsa-p384' });
  await createNode({ ...o, keyType: 'ed25519' }, ['localhost', '127.0.0.1']);
  await createClient({ ...o, keyType: 'rsa', keySize: 2048 }, 'root');
  await createClient({ ...o, keyType: 'ecdsa-p256' }, 'bob');
  const expected = [
    ['ca.crt', 'num certs: 1; key: ECDSA P-384'],
    ['node.crt', 'addresses: localhost,127.0.0.1; key: Ed25519'],
    ['client.bob.crt', 'user: bob; key: ECDSA P-256'],
    ['client.root.crt', 'user: root'],
  ];
  const listing = await listCerts({ certsDir: o.certsDir });
  assert.equal(listing.rows.map((r) => [r.certificateFile, r.notes]), expected);
  const tsv = await cli(['cert', 'list', '--certs-dir', o.certsDir]);
  assert.is(tsv.code, 0, tsv.stderr);
  assert.equal(tsv.stdout.split('\n').slice(2, 6).map((l) => { const f = l.split('\t'); return [f[1], f[4]]; }), expected);

  const report = await cli(['report', '--certs-dir', o.certsDir, '--format', 'json']);
  assert.is(report.code, 0, report.stderr);
  const rows = (JSON.parse(report.stdout) as { rows: { file: string; keyAlgorithm: string; keySize: number | null; key: string; notes: string }[] }).rows;
  assert.equal(
    rows.map((r) => [r.file, r.keyAlgorithm, r.keySize, r.key]),
    [
      ['ca.crt', 'ECDSA', 384, 'ECDSA P-384'],
      ['node.crt', 'Ed25519', null, 'Ed25519'],
      ['client.bob.crt', 'ECDSA', 256, 'ECDSA P-256'],
      ['client.root.crt', 'RSA', 2048, 'RSA 2048'],
    ],
  );
  const table = await cli(['report', '--certs-dir', o.certsDir, '--format', 'tsv']);
  const header = table.stdout.split('\n')[0]?.split('\t') ?? [];
  const keyCol = header.indexOf('Key');
  assert.ok(keyCol >= 0, `a Key column in ${header.join(' | ')}`);
  assert.equal(table.stdout.trim().split('\n').slice(1).map((l) => l.split('\t')[keyCol]), ['ECDSA P-384', 'Ed25519', 'ECDSA P-256', 'RSA 2048']);
});

types.run();
