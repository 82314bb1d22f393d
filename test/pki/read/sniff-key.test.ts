// src/pki/read/sniff-key.ts: private keys found by content, whatever the file is called. The keys
// come from node:crypto, openssl, ssh-keygen, gpg and age-keygen; the wrappers are the shapes
// they take in a repository (a Kubernetes Secret, a JSON string, a kubeconfig, a SOPS file).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describeKeySniff, sniffPrivateKey } from '../../../src/pki/read/sniff-key.js';
import { REFERENCE_CERTS, openssl, setup, tmpdir } from '../../helpers/index.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ed = generateKeyPairSync('ed25519').privateKey;
const pem = (k: typeof rsa, type: 'pkcs1' | 'pkcs8' | 'sec1'): string => k.export({ type, format: 'pem' }) as string;
const der = (k: typeof rsa, type: 'pkcs1' | 'pkcs8' | 'sec1'): Buffer => k.export({ type, format: 'der' });
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const what = (bytes: string | Buffer): string | undefined => {
  const s = sniffPrivateKey(Buffer.from(bytes));
  return s ? describeKeySniff(s) : undefined;
};

const secret = (name: string, value: string): string => `apiVersion: v1\nkind: Secret\nmetadata:\n  name: cockroachdb-node\ntype: kubernetes.io/tls\ndata:\n  ca.crt: ${b64(readFileSync(path.join(REFERENCE_CERTS, 'ca.crt')))}\n  ${name}: ${value}\n`;

/** A value as SOPS encrypts it (AES-256-GCM, `ENC[…]`): ciphertext is no key, whatever it hides. */
function sopsValue(plain: string): string {
  const key = randomBytes(32);
  const iv = randomBytes(32);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([c.update(plain), c.final()]);
  return `ENC[AES256_GCM,data:${b64(data)},iv:${b64(iv)},tag:${b64(c.getAuthTag())},type:str]`;
}

const found = suite('sniffPrivateKey: keys');
const tools: Record<string, string | Buffer> = {};

setup(found, async () => {
  const dir = tmpdir();
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
  tools.openssh = readFileSync(path.join(dir, 'id'), 'latin1');
  await openssl(['genpkey', '-genparam', '-algorithm', 'DSA', '-pkeyopt', 'dsa_paramgen_bits:1024', '-out', path.join(dir, 'dsa.param')]);
  await openssl(['genpkey', '-paramfile', path.join(dir, 'dsa.param'), '-out', path.join(dir, 'dsa.key')]);
  await openssl(['pkey', '-in', path.join(dir, 'dsa.key'), '-traditional', '-out', path.join(dir, 'dsa-trad.key')]);
  tools.dsa = readFileSync(path.join(dir, 'dsa-trad.key'), 'latin1');
  await openssl(['pkcs8', '-topk8', '-in', path.join(dir, 'dsa.key'), '-v2', 'aes-256-cbc', '-passout', 'pass:x', '-out', path.join(dir, 'enc.key')]);
  tools.encrypted = readFileSync(path.join(dir, 'enc.key'), 'latin1');
  await openssl(['pkcs8', '-topk8', '-nocrypt', '-in', path.join(dir, 'dsa.key'), '-outform', 'DER', '-out', path.join(dir, 'dsa.der')]);
  tools.dsaDer = readFileSync(path.join(dir, 'dsa.der'));
  const gpgHome = path.join(dir, 'gnupg');
  const gpg = ['--batch', '--homedir', gpgHome, '--pinentry-mode', 'loopback', '--passphrase', ''];
  await execa('mkdir', ['-m', '700', gpgHome]);
  await execa('gpg', [...gpg, '--quick-gen-key', 'certgen test <t@example.com>', 'ed25519', 'sign', 'never']);
  tools.pgp = (await execa('gpg', [...gpg, '--armor', '--export-secret-keys'])).stdout;
  await execa('age-keygen', ['-o', path.join(dir, 'age.txt')]);
  tools.age = readFileSync(path.join(dir, 'age.txt'), 'latin1');
});

found('PEM blocks of every type, as the tools write them', () => {
  const rows: [string, string, string][] = [
    ['RSA PKCS#1', pem(rsa, 'pkcs1'), 'a PEM RSA PRIVATE KEY block'],
    ['RSA PKCS#8', pem(rsa, 'pkcs8'), 'a PEM PRIVATE KEY block'],
    ['EC SEC1', pem(ec, 'sec1'), 'a PEM EC PRIVATE KEY block'],
    ['Ed25519 PKCS#8', pem(ed, 'pkcs8'), 'a PEM PRIVATE KEY block'],
    ['DSA (openssl -traditional)', tools.dsa as string, 'a PEM DSA PRIVATE KEY block'],
    ['encrypted PKCS#8 (openssl)', tools.encrypted as string, 'a PEM ENCRYPTED PRIVATE KEY block'],
    ['OpenSSH (ssh-keygen)', tools.openssh as string, 'a PEM OPENSSH PRIVATE KEY block'],
    ['OpenPGP (gpg --armor)', tools.pgp as string, 'a PEM PGP PRIVATE KEY BLOCK block'],
    ['legacy encrypted PEM (Proc-Type headers)', rsa.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }) as string, 'a PEM RSA PRIVATE KEY block'],
    ['a certificate and its key in one file', `${readFileSync(path.join(REFERENCE_CERTS, 'node.crt'), 'latin1')}${pem(ec, 'sec1')}`, 'a PEM EC PRIVATE KEY block'],
    ['CRLF line ends', pem(rsa, 'pkcs1').replace(/\n/g, '\r\n'), 'a PEM RSA PRIVATE KEY block'],
    ['a JSON string with \\n escapes', JSON.stringify({ key: pem(ec, 'pkcs8') }), 'a PEM PRIVATE KEY block'],
    ['a YAML block scalar (stringData)', `stringData:\n  tls.key: |\n${pem(ec, 'sec1').split('\n').map((l) => `    ${l}`).join('\n')}\n`, 'a PEM EC PRIVATE KEY block'],
    ['an age identity (age-keygen)', tools.age as string, 'an age identity (AGE-SECRET-KEY-1…)'],
  ];
  for (const [name, text, want] of rows) assert.is(what(text), want, name);
});

found('DER PKCS#1, PKCS#8 and SEC1 (the .pk8 files), RSA, EC, Ed25519 and DSA', () => {
  const rows: [string, Buffer, string][] = [
    ['RSA PKCS#8', der(rsa, 'pkcs8'), 'a DER PKCS#8 private key'],
    ['RSA PKCS#1', der(rsa, 'pkcs1'), 'a DER PKCS#1 private key'],
    ['EC PKCS#8', der(ec, 'pkcs8'), 'a DER PKCS#8 private key'],
    ['EC SEC1', der(ec, 'sec1'), 'a DER SEC1 private key'],
    ['Ed25519 PKCS#8 (48 bytes)', der(ed, 'pkcs8'), 'a DER PKCS#8 private key'],
    ['DSA PKCS#8 (openssl)', tools.dsaDer as Buffer, 'a DER PKCS#8 private key'],
  ];
  for (const [name, bytes, want] of rows) assert.is(what(bytes), want, name);
});

found("base64 inside YAML and JSON: a Secret's data:, a kubeconfig, a Secret holding a kubeconfig", () => {
  const kubeconfig = `apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-certificate-data: ${b64(readFileSync(path.join(REFERENCE_CERTS, 'client.root.crt')))}\n    client-key-data: ${b64(pem(ec, 'sec1'))}\n`;
  const rows: [string, string, string][] = [
    ["a Secret's tls.key", secret('tls.key', b64(pem(rsa, 'pkcs1'))), 'a PEM RSA PRIVATE KEY block, base64-encoded'],
    ["a Secret's key.pk8 (base64 DER)", secret('client.root.key.pk8', b64(der(ec, 'pkcs8'))), 'a DER PKCS#8 private key, base64-encoded'],
    ['the Secret as JSON (kubectl get -o json)', JSON.stringify({ kind: 'Secret', data: { 'tls.key': b64(pem(ed, 'pkcs8')) } }), 'a PEM PRIVATE KEY block, base64-encoded'],
    ["a kubeconfig's client-key-data", kubeconfig, 'a PEM EC PRIVATE KEY block, base64-encoded'],
    ['a Secret holding a kubeconfig (two layers)', secret('config', b64(kubeconfig)), 'a PEM EC PRIVATE KEY block, base64-encoded (2 layers)'],
  ];
  for (const [name, text, want] of rows) assert.is(what(text), want, name);
});

found.run();

const clean = suite('sniffPrivateKey: not keys');

/** An identity file with one Bech32 character of its key changed: the checksum no longer holds. */
function mangle(identityFile: string): string {
  return identityFile.replace(/(AGE-SECRET-KEY-1.{20})(.)/, (_, head: string, c: string) => head + (c === 'Q' ? 'P' : 'Q'));
}

clean('certificates, public keys, a README quoting the header, a SOPS-encrypted Secret, age ciphertext', async () => {
  const dir = tmpdir();
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-subj', '/CN=x', '-days', '1', '-outform', 'DER', '-out', path.join(dir, 'c.der')]);
  await execa('age-keygen', ['-o', path.join(dir, 'age.txt')]);
  const recipient = (await execa('age-keygen', ['-y', path.join(dir, 'age.txt')])).stdout.trim();
  const ageOut = await execa('age', ['-a', '-r', recipient], { input: pem(ec, 'sec1') });
  const rows: [string, string | Buffer][] = [
    ['a CA bundle', readFileSync(path.join(REFERENCE_CERTS, 'ca.crt'))],
    ['a DER certificate', readFileSync(path.join(dir, 'c.der'))],
    ['a PEM public key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string],
    ['a DER public key', generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' })],
    ['a README quoting the header', 'Keys start with `-----BEGIN RSA PRIVATE KEY-----` and end with\n-----END RSA PRIVATE KEY-----\n'],
    ['a Secret with only certificates', secret('tls.crt', b64(readFileSync(path.join(REFERENCE_CERTS, 'node.crt'))))],
    ['a SOPS-encrypted Secret', `${secret('tls.key', sopsValue(b64(pem(rsa, 'pkcs1'))))}sops:\n  age:\n  - recipient: ${recipient}\n  encrypted_regex: ^(data|stringData)$\n  mac: ${sopsValue(randomBytes(32).toString('hex'))}\n`],
    ['an age file (armored)', ageOut.stdout],
    ['random bytes', randomBytes(4096)],
    // A placeholder of an identity's shape whose Bech32 checksum fails (as in docs and tests), and a
    // real identity with one character changed.
    ['an identity-shaped placeholder', `identity: AGE-SECRET-KEY-1${'Q'.repeat(58)}\n`],
    ['a real identity with one character changed', mangle(readFileSync(path.join(dir, 'age.txt'), 'latin1'))],
  ];
  for (const [name, bytes] of rows) assert.is(what(bytes), undefined, name);
});

clean.run();
