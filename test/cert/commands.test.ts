// `cert create-*` through the library: files, modes, certificate contents (decoded by
// @peculiar/x509 and by openssl), bundles and every failure that must leave the folder intact.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { x509 } from '../../src/pki/x509.js';
import { createCA, createClient, createClientCA, createNode } from '../../src/cert/commands.js';
import { NS_PER_HOUR } from '../../src/core/duration.js';
import { subjectKeyId } from '../../src/pki/issue.js';
import { parseCertificate } from '../../src/pki/read/cert.js';
import { REFERENCE_CERTS, openssl, opensslExtensions, opensslStatus, rejects, tmpdir } from '../helpers/index.js';
import { goParse } from './go-judge.js';

const NOW = new Date('2026-03-01T12:00:00.250Z');
const now = (): Date => NOW;
const HOUR = 3_600_000;

function setup(): { certsDir: string; caKey: string; safe: string } {
  const dir = tmpdir();
  const safe = path.join(dir, 'safe');
  mkdirSync(safe);
  return { certsDir: path.join(dir, 'certs'), caKey: path.join(safe, 'ca.key'), safe };
}

function readCerts(file: string): x509.X509Certificate[] {
  return [...readFileSync(file, 'latin1').matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)].map((m) => new x509.X509Certificate(m[0]));
}

/** The DER of the first certificate in a PEM file. */
function pemDer(file: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(readFileSync(file, 'latin1'));
  return Buffer.from((m?.[1] ?? '').replace(/\s+/g, ''), 'base64');
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) out[f] = `${mode(path.join(dir, f)).toString(8)}:${createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex')}`;
  return out;
}



// ---------------------------------------------------------------------------------------------
const ca = suite('create-ca');

ca('writes ca.crt 0644 and the key 0600 minus the umask, as cockroach does, the key as PKCS#1', async () => {
  for (const umask of [0o000, 0o077, 0o022, 0o027]) {
    const o = setup();
    const old = process.umask(umask);
    try {
      const r = await createCA({ ...o, now });
      assert.equal(r.files, [o.caKey, path.join(o.certsDir, 'ca.crt')]);
    } finally {
      process.umask(old);
    }
    // os.OpenFile(path, …, 0644|0600) and os.Mkdir(dir, 0700): the umask takes its bits away.
    assert.is(mode(path.join(o.certsDir, 'ca.crt')), 0o644 & ~umask, `cert mode under umask ${umask.toString(8)}`);
    assert.is(mode(o.caKey), 0o600 & ~umask, `key mode under umask ${umask.toString(8)}`);
    assert.is(statSync(o.certsDir).mode & 0o777, 0o700 & ~umask, 'certs dir is created 0700 minus the umask');
    const keyPem = readFileSync(o.caKey, 'utf8');
    assert.match(keyPem, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.not.match(keyPem, /[^\n]{65}/, 'base64 lines are at most 64 characters');
    assert.equal(readdirSync(o.certsDir), ['ca.crt'], 'no temporary files are left behind');
  }
});

ca('node and client files are 0644/0600 minus the umask too, fresh and with --overwrite', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  const old = process.umask(0o077);
  try {
    for (const overwrite of [false, true]) {
      await createNode({ ...o, now, keySize: 1024, overwrite }, ['localhost']);
      await createClient({ ...o, now, keySize: 1024, overwrite, alsoGeneratePkcs8Key: true }, 'root');
    }
  } finally {
    process.umask(old);
  }
  const modes = Object.fromEntries(readdirSync(o.certsDir).sort().map((f) => [f, mode(path.join(o.certsDir, f)).toString(8)]));
  assert.equal(modes, { 'ca.crt': '644', 'client.root.crt': '600', 'client.root.key': '600', 'client.root.key.pk8': '600', 'node.crt': '600', 'node.key': '600' });
});

/** The validity times as openssl's ASN.1 dump shows them: `UTCTIME :…` or `GENERALIZEDTIME :…`. */
async function validityEncoding(file: string): Promise<string[]> {
  const dump = await openssl(['asn1parse', '-in', file]);
  return [...dump.matchAll(/prim: (UTCTIME|GENERALIZEDTIME)\s*:(\S+)/g)].slice(0, 2).map((m) => `${m[1]}:${m[2]}`);
}

ca('NotAfter outside 1950-2049 is a GeneralizedTime (RFC 5280), read back right by openssl, Go and our reader', async () => {
  const MS_NS = 1_000_000n;
  const at = (iso: string): bigint => BigInt(new Date(iso).getTime() - NOW.getTime()) * MS_NS;
  const cases: [string, bigint, string][] = [
    ['--lifetime=-700000h', -700000n * NS_PER_HOUR, 'GENERALIZEDTIME:19460423200000Z'],
    ['a 30-year CA made today', 30n * 366n * 24n * NS_PER_HOUR, 'GENERALIZEDTIME:20560323120000Z'],
    ['the last UTCTime second', at('2049-12-31T23:59:59Z'), 'UTCTIME:491231235959Z'],
    ['the first GeneralizedTime second after', at('2050-01-01T00:00:00Z'), 'GENERALIZEDTIME:20500101000000Z'],
    ['the first UTCTime second', at('1950-01-01T00:00:00Z'), 'UTCTIME:500101000000Z'],
    ['the last GeneralizedTime second before', at('1949-12-31T23:59:59Z'), 'GENERALIZEDTIME:19491231235959Z'],
  ];
  const files: string[] = [];
  for (const [what, lifetime, want] of cases) {
    const o = setup();
    await createCA({ ...o, now, keySize: 1024, lifetime });
    const file = path.join(o.certsDir, 'ca.crt');
    files.push(file);
    const [notBefore, notAfter] = await validityEncoding(file);
    assert.is(notBefore, 'UTCTIME:260228120000Z', `${what}: NotBefore`);
    assert.is(notAfter, want, `${what}: NotAfter encoding`);
    const expected = new Date(Math.floor((NOW.getTime() + Number(lifetime / MS_NS)) / 1000) * 1000);
    assert.is(parseCertificate(readFileSync(file).length ? pemDer(file) : new Uint8Array()).notAfter.toISOString(), expected.toISOString(), `${what}: our reader`);
    const enddate = (await openssl(['x509', '-in', file, '-noout', '-enddate'])).trim();
    assert.is(new Date(enddate.replace('notAfter=', '')).toISOString(), expected.toISOString(), `${what}: openssl -enddate`);
  }
  const verdicts = goParse(files);
  verdicts.forEach((v, i) => {
    assert.ok(v.ok, v.error);
    const lifetime = cases[i]?.[1] ?? 0n;
    assert.is(v.notAfter, new Date(Math.floor((NOW.getTime() + Number(lifetime / MS_NS)) / 1000) * 1000).toISOString().replace('.000Z', 'Z'), `Go's NotAfter for ${cases[i]?.[0]}`);
  });
});

ca('computes the SKID as cockroach did for its test ca.crt', async () => {
  const ref = new x509.X509Certificate(readFileSync(path.join(REFERENCE_CERTS, 'ca.crt'), 'latin1'));
  const pub = createPublicKey({ key: Buffer.from(ref.publicKey.rawData), format: 'der', type: 'spki' });
  assert.is(subjectKeyId(pub).toString('hex'), ref.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
});

ca('has the fields of cockroach GenerateCA', async () => {
  const o = setup();
  const { certificate: cert } = await createCA({ ...o, now });
  assert.is(cert.subject, 'O=Cockroach, CN=Cockroach CA');
  assert.is(cert.issuer, cert.subject);
  assert.is(cert.notBefore.toISOString(), '2026-02-28T12:00:00.000Z', 'NotBefore = now - 24h, truncated to the second');
  assert.is(cert.notAfter.getTime(), Math.floor((NOW.getTime() + 87840 * HOUR) / 1000) * 1000, 'NotAfter = now + 87840h');
  assert.is(cert.signatureAlgorithm.name, 'RSASSA-PKCS1-v1_5');
  assert.is((cert.signatureAlgorithm as RsaHashedKeyAlgorithm).hash.name, 'SHA-256');
  const serial = BigInt(`0x${cert.serialNumber}`);
  assert.ok(serial > 0n && serial < 1n << 128n, 'serial is a positive 128-bit integer');
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  assert.ok(ku?.critical);
  assert.is(ku?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  assert.ok(bc?.critical);
  assert.is(bc?.ca, true);
  assert.is(bc?.pathLength, 1);
  const skid = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const spkiKey = createPublicKey(createPrivateKey(readFileSync(o.caKey))).export({ type: 'pkcs1', format: 'der' });
  assert.is(skid?.keyId, createHash('sha1').update(spkiKey).digest('hex'), 'SKID is the SHA-1 of the public key bits');
  assert.is(cert.getExtension(x509.AuthorityKeyIdentifierExtension), null);
  assert.equal([...cert.extensions].map((e) => e.type), ['2.5.29.15', '2.5.29.19', '2.5.29.14'], 'extension order KU, BC, SKID as Go emits it');

  const text = await openssl(['x509', '-in', path.join(o.certsDir, 'ca.crt'), '-noout', '-text']);
  assert.match(text, /Subject: O ?= ?Cockroach, CN ?= ?Cockroach CA/);
  assert.match(text, /Public-Key: \(2048 bit\)/);
  assert.match(text, /Exponent: 65537/);
  assert.match(text, /Digital Signature, Non Repudiation, Key Encipherment, Certificate Sign/);
  assert.match(text, /CA:TRUE, pathlen:1/);
  assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
  assert.equal(await opensslExtensions(path.join(o.certsDir, 'ca.crt')), await opensslExtensions(path.join(REFERENCE_CERTS, 'ca.crt')), 'same extensions and criticality as cockroach test ca.crt');
  const asn = await openssl(['asn1parse', '-in', path.join(o.certsDir, 'ca.crt')]);
  assert.match(asn, /PRINTABLESTRING\s+:Cockroach CA/, 'CN is a PrintableString as Go encodes it');
});

ca('respects --key-size and --lifetime', async () => {
  const o = setup();
  const { certificate } = await createCA({ ...o, now, keySize: 3072, lifetime: 2n * NS_PER_HOUR });
  assert.match(await openssl(['x509', '-in', path.join(o.certsDir, 'ca.crt'), '-noout', '-text']), /Public-Key: \(3072 bit\)/);
  assert.is(certificate.notAfter.getTime(), Math.floor((NOW.getTime() + 2 * HOUR) / 1000) * 1000);
  const small = setup();
  const err = await rejects(createCA({ ...small, keySize: 512 }));
  assert.match(err.message, /^failed to generate CA cert and key: could not generate new CA key: crypto\/rsa: 512-bit keys are insecure/);
  assert.not.ok(existsSync(small.caKey));
});

ca('refuses an existing key unless --allow-ca-key-reuse, and writes nothing', async () => {
  const o = setup();
  await createCA({ ...o, now });
  const before = { ...snapshot(o.certsDir), key: snapshot(o.safe) };
  const err = await rejects(createCA({ ...o, now }));
  assert.is(err.message, `failed to generate CA cert and key: CA key ${o.caKey} exists, but key reuse is disabled`);
  const err2 = await rejects(createCA({ ...o, now, allowCAKeyReuse: true }));
  const crt = path.join(o.certsDir, 'ca.crt');
  assert.is(err2.message, `failed to generate CA cert and key: could not write CA certificate file ${crt}: open ${crt}: file exists`);
  assert.equal({ ...snapshot(o.certsDir), key: snapshot(o.safe) }, before, 'nothing changed');
});

ca('a new key with an existing ca.crt and no --overwrite fails before writing the key (upstream quirk fixed)', async () => {
  const o = setup();
  await createCA({ ...o, now });
  const newKey = path.join(o.safe, 'ca-new.key');
  const err = await rejects(createCA({ ...o, caKey: newKey, now }));
  assert.match(err.message, /could not write CA certificate file .*ca\.crt: open .*ca\.crt: file exists$/);
  assert.not.ok(existsSync(newKey), 'the new key was not left behind');
  // and the rerun with --overwrite converges
  await createCA({ ...o, caKey: newKey, now, overwrite: true });
  assert.ok(existsSync(newKey));
});

ca('--overwrite prepends the new CA to the bundle, keeping old certs verbatim', async () => {
  const o = setup();
  await createCA({ ...o, now });
  const crt = path.join(o.certsDir, 'ca.crt');
  const first = readFileSync(crt, 'latin1');
  const second = await createCA({ ...o, caKey: path.join(o.safe, 'ca2.key'), now, overwrite: true });
  const bundle = readFileSync(crt, 'latin1');
  assert.ok(bundle.endsWith(first), 'old CA kept verbatim at the end');
  const certs = readCerts(crt);
  assert.is(certs.length, 2);
  assert.is(certs[0]?.serialNumber, second.certificate.serialNumber, 'new CA first');
  await createCA({ ...o, now, overwrite: true, allowCAKeyReuse: true });
  assert.is(readCerts(crt).length, 3, 'repeated runs keep growing the bundle');
  assert.is(mode(crt), 0o644);
});

ca('a damaged block in the bundle does not cost the certificates after it (Go skips it too)', async () => {
  const o = setup();
  await createCA({ ...o, now });
  const crt = path.join(o.certsDir, 'ca.crt');
  const first = readFileSync(crt, 'latin1');
  const other = setup();
  await createCA({ ...other, now });
  const second = readFileSync(path.join(other.certsDir, 'ca.crt'), 'latin1');
  writeFileSync(crt, `${first}-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n${second}`);
  await createCA({ ...o, caKey: path.join(o.safe, 'ca3.key'), now, overwrite: true });
  const bundle = readFileSync(crt, 'latin1');
  assert.is(readCerts(crt).length, 3, 'new + both old certificates');
  assert.ok(bundle.endsWith(first + second));
});

ca('reuses an existing key (also ECDSA) with --allow-ca-key-reuse', async () => {
  const o = setup();
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(o.caKey, ec.privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  const keyBefore = readFileSync(o.caKey);
  const { certificate } = await createCA({ ...o, now, allowCAKeyReuse: true, keySize: 4096 });
  assert.equal(readFileSync(o.caKey), keyBefore, 'the key file is untouched');
  assert.is(certificate.signatureAlgorithm.name, 'ECDSA');
  assert.match(await openssl(['x509', '-in', path.join(o.certsDir, 'ca.crt'), '-noout', '-text']), /Signature Algorithm: ecdsa-with-SHA256/);
  // a node cert signed by the EC CA verifies
  await createNode({ ...o, now: () => new Date() }, ['localhost']);
  const v = await opensslStatus(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', path.join(o.certsDir, 'ca.crt'), path.join(o.certsDir, 'node.crt')]);
  assert.is(v.code, 0, v.out);
});

ca('reports unusable reused keys and bundles', async () => {
  const o = setup();
  writeFileSync(o.caKey, 'not a key\n');
  let err = await rejects(createCA({ ...o, allowCAKeyReuse: true }));
  assert.is(err.message, `failed to generate CA cert and key: could not parse CA key file ${o.caKey}: no PEM data found`);
  const k = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  writeFileSync(o.caKey, `${k}\n`);
  err = await rejects(createCA({ ...o, allowCAKeyReuse: true }));
  assert.match(err.message, /more than one PEM block found$/);
  writeFileSync(o.caKey, k);
  mkdirSync(o.certsDir, { recursive: true });
  writeFileSync(path.join(o.certsDir, 'ca.crt'), k);
  err = await rejects(createCA({ ...o, allowCAKeyReuse: true, overwrite: true }));
  assert.match(err.message, /could not parse existing CA cert file .*ca\.crt: block #0 is of type RSA PRIVATE KEY, not CERTIFICATE$/);
});

ca('path and directory errors', async () => {
  const o = setup();
  let err = await rejects(createCA({ ...o, caKey: '' }));
  assert.is(err.message, 'failed to generate CA cert and key: the path to the CA key is required');
  err = await rejects(createCA({ ...o, certsDir: '' }));
  assert.is(err.message, 'failed to generate CA cert and key: the path to the certs directory is required');
  const deep = path.join(o.certsDir, 'a', 'b');
  err = await rejects(createCA({ ...o, certsDir: deep }));
  assert.is(err.message, `failed to generate CA cert and key: could not create certs directory ${deep}: mkdir ${deep}: no such file or directory`);
  assert.ok(err.certManagement, 'marked so the CLI adds the "cannot load certificates." advice');
  writeFileSync(o.certsDir, 'a file');
  err = await rejects(createCA({ ...o }));
  assert.is(err.message, `failed to generate CA cert and key: certs directory ${o.certsDir} exists but is not a directory`);
  const o2 = setup();
  const missingDirKey = path.join(o2.safe, 'nope', 'ca.key');
  err = await rejects(createCA({ ...o2, caKey: missingDirKey }));
  assert.is(err.message, `failed to generate CA cert and key: could not write CA key to file ${missingDirKey}: open ${missingDirKey}: no such file or directory`);
  assert.not.ok(existsSync(o2.certsDir), 'no ca.crt without its key, and the certs dir it made is gone again');
});

ca('create-client-ca writes ca-client.crt', async () => {
  const o = setup();
  await createClientCA({ ...o, caKey: path.join(o.safe, 'ca-client.key'), now });
  assert.equal(readdirSync(o.certsDir), ['ca-client.crt']);
  const [cert] = readCerts(path.join(o.certsDir, 'ca-client.crt'));
  assert.is(cert?.subject, 'O=Cockroach, CN=Cockroach CA');
  const err = await rejects(createClientCA({ ...o, caKey: path.join(o.safe, 'ca-client.key') }));
  assert.match(err.message, /^failed to generate client CA cert and key: CA key .* exists, but key reuse is disabled$/);
});

ca.run();

// ---------------------------------------------------------------------------------------------
const node = suite('create-node');

node('has the fields of cockroach GenerateServerCert, with DNS names before IPs', async () => {
  const o = setup();
  const { certificate: caCert } = await createCA({ ...o, now });
  const hosts = ['127.0.0.1', '::1', 'localhost', '*.local', 'node1.example.com', '::ffff:10.0.0.1', 'localhost:26257', '2001:db8::7'];
  const r = await createNode({ ...o, now }, hosts);
  const crt = path.join(o.certsDir, 'node.crt');
  const key = path.join(o.certsDir, 'node.key');
  assert.equal(r.files, [crt, key]);
  assert.is(mode(crt), 0o644);
  assert.is(mode(key), 0o600);
  const cert = r.certificate;
  assert.is(cert.subject, 'O=Cockroach, CN=node');
  assert.is(cert.issuer, 'O=Cockroach, CN=Cockroach CA');
  assert.is(cert.notAfter.getTime(), Math.floor((NOW.getTime() + 43920 * HOUR) / 1000) * 1000, 'default lifetime 43920h');
  assert.is(cert.notBefore.getTime(), Math.floor((NOW.getTime() - 24 * HOUR) / 1000) * 1000);
  assert.equal([...cert.extensions].map((e) => [e.type, e.critical]), [
    ['2.5.29.15', true],
    ['2.5.29.37', false],
    ['2.5.29.35', false],
    ['2.5.29.17', false],
  ]);
  assert.is(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  assert.equal([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  assert.is(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
  assert.is(cert.getExtension(x509.BasicConstraintsExtension), null);
  const text = await openssl(['x509', '-in', crt, '-noout', '-text']);
  assert.match(
    text,
    /DNS:localhost, DNS:\*\.local, DNS:node1\.example\.com, DNS:localhost:26257, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10\.0\.0\.1, IP Address:2001:DB8:0:0:0:0:0:7/,
  );
  assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  assert.equal(await opensslExtensions(crt), await opensslExtensions(path.join(REFERENCE_CERTS, 'node.crt')), 'same extensions and criticality as cockroach test node.crt');
  for (const purpose of ['sslserver', 'sslclient']) {
    const v = await opensslStatus(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', path.join(o.certsDir, 'ca.crt'), crt]);
    assert.is(v.code, 0, `openssl verify -purpose ${purpose}: ${v.out}`);
  }
  const modFromKey = await openssl(['rsa', '-in', key, '-noout', '-modulus']);
  const modFromCert = await openssl(['x509', '-in', crt, '-noout', '-modulus']);
  assert.is(modFromKey, modFromCert, 'node.key matches node.crt');
  assert.match(readFileSync(key, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
});

node('reproduces the SAN of cockroach test node.crt for the same arguments', async () => {
  const o = setup();
  await createCA({ ...o, now });
  await createNode({ ...o, now }, ['127.0.0.1', '::1', 'localhost', '*.local']);
  const ours = await openssl(['x509', '-in', path.join(o.certsDir, 'node.crt'), '-noout', '-ext', 'subjectAltName']);
  const theirs = await openssl(['x509', '-in', path.join(REFERENCE_CERTS, 'node.crt'), '-noout', '-ext', 'subjectAltName']);
  assert.is(ours, theirs);
});

node('a non-ASCII DNS name fails at signing as in Go (IA5String), and nothing is written', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  const before = snapshot(o.certsDir);
  for (const [hosts, name] of [
    [['bücher.de', 'localhost'], '"bücher.de"'],
    [['127.0.0.1', 'ok.example', 'ß.example', 'ü.example'], '"ß.example"'],
    [['tab\there\u00e9'], '"tab\\thereé"'],
  ] as const) {
    const err = await rejects(createNode({ ...o, now, keySize: 1024 }, [...hosts]));
    assert.is(err.message, `failed to generate node certificate and key: error creating node server certificate and key: x509: ${name} cannot be encoded as an IA5String`);
    assert.equal(snapshot(o.certsDir), before);
  }
  // The A-label form is what a certificate can hold, and Go reads it back as written.
  await createNode({ ...o, now, keySize: 1024 }, ['xn--bcher-kva.de', 'localhost']);
  const [v] = goParse([path.join(o.certsDir, 'node.crt')]);
  assert.ok(v?.ok, v?.error);
  assert.equal(v?.dns, ['xn--bcher-kva.de', 'localhost']);
});

node('COCKROACH_CERT_NODE_USER set but empty leaves the CN out, as pkix.Name does', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  const { certificate } = await createNode({ ...o, now, keySize: 1024, nodeUser: '' }, ['localhost']);
  assert.is(certificate.subject, 'O=Cockroach');
  assert.match(await openssl(['x509', '-in', path.join(o.certsDir, 'node.crt'), '-noout', '-subject']), /^subject=O ?= ?Cockroach$/);
});

node('requires a host', async () => {
  const o = setup();
  const err = await rejects(createNode(o, []));
  assert.is(err.message, 'create-node requires at least one host name or address, none was specified');
});

node('refuses existing files without --overwrite and writes neither file', async () => {
  const o = setup();
  await createCA({ ...o, now });
  await createNode({ ...o, now }, ['localhost']);
  const before = snapshot(o.certsDir);
  const crt = path.join(o.certsDir, 'node.crt');
  let err = await rejects(createNode({ ...o, now }, ['localhost']));
  assert.is(err.message, `failed to generate node certificate and key: error writing node server certificate to ${crt}: open ${crt}: file exists`);
  assert.equal(snapshot(o.certsDir), before);
  // Upstream writes node.crt and then fails on an existing node.key; certgen fails before both.
  const o2 = setup();
  await createCA({ ...o2, now });
  mkdirSync(o2.certsDir, { recursive: true });
  const key2 = path.join(o2.certsDir, 'node.key');
  writeFileSync(key2, 'precious', { mode: 0o600 });
  err = await rejects(createNode(o2, ['localhost']));
  assert.is(err.message, `failed to generate node certificate and key: error writing node server key to ${key2}: open ${key2}: file exists`);
  assert.not.ok(existsSync(path.join(o2.certsDir, 'node.crt')), 'no node.crt was written');
  assert.is(readFileSync(key2, 'utf8'), 'precious');
});

node('--overwrite replaces both files and keeps key mode 0600', async () => {
  const o = setup();
  await createCA({ ...o, now });
  const a = await createNode({ ...o, now }, ['localhost']);
  chmodSync(path.join(o.certsDir, 'node.key'), 0o640);
  const b = await createNode({ ...o, now, overwrite: true }, ['otherhost']);
  assert.is.not(a.certificate.serialNumber, b.certificate.serialNumber);
  assert.match(await openssl(['x509', '-in', path.join(o.certsDir, 'node.crt'), '-noout', '-ext', 'subjectAltName']), /DNS:otherhost/);
  assert.is(mode(path.join(o.certsDir, 'node.key')), 0o600);
});

// cockroach opens with O_CREATE|O_EXCL (refusing any existing name, links included) and, with
// --overwrite, O_TRUNC, which writes through a symlink. certgen refuses the same way, and with
// --overwrite renames a fresh file over the link itself: nothing outside the certs dir is written.
node('symlinks: an existing or dangling link is refused; --overwrite replaces the link, not its target', async () => {
  const o = setup();
  await createCA({ ...o, now });
  await createNode({ ...o, now }, ['localhost']);
  const outside = tmpdir();
  const key = path.join(o.certsDir, 'node.key');
  const precious = path.join(outside, 'precious.key');
  renameSync(key, precious);
  const preciousBytes = readFileSync(precious);
  symlinkSync(precious, key);
  rmSync(path.join(o.certsDir, 'node.crt'));
  let err = await rejects(createNode({ ...o, now }, ['localhost']));
  assert.is(err.message, `failed to generate node certificate and key: error writing node server key to ${key}: open ${key}: file exists`);
  // A dangling link is refused too, rather than followed to create a file outside.
  const rootKey = path.join(o.certsDir, 'client.root.key');
  symlinkSync(path.join(outside, 'not-there.key'), rootKey);
  err = await rejects(createClient({ ...o, now }, 'root'));
  assert.is(err.message, `failed to generate client certificate and key: error writing client key to ${rootKey}: open ${rootKey}: file exists`);
  assert.equal(readdirSync(outside), ['precious.key'], 'nothing was created outside');
  await createNode({ ...o, now, overwrite: true }, ['localhost']);
  await createClient({ ...o, now, overwrite: true }, 'root');
  assert.equal(readFileSync(precious), preciousBytes);
  assert.equal(readdirSync(outside), ['precious.key']);
  assert.not.ok(lstatSync(key).isSymbolicLink() || lstatSync(rootKey).isSymbolicLink(), 'the links were replaced by real files');
  assert.is(mode(key), 0o600);
  assert.is(mode(rootKey), 0o600);
});

node('a leaf may not outlive its CA', async () => {
  const o = setup();
  await createCA({ ...o, lifetime: 100n * NS_PER_HOUR });
  const err = await rejects(createNode(o, ['localhost']));
  assert.match(
    err.message,
    /^failed to generate node certificate and key: error creating node server certificate and key: CA lifetime is \d+\.\d{6}h, shorter than the requested 43920\.000000h\. Renew CA certificate, or rerun with --lifetime=\d+h for a shorter duration\.$/,
  );
  const hours = Number(/rerun with --lifetime=(\d+)h/.exec(err.message)?.[1]);
  assert.is(hours, 99, 'the suggestion is the remaining CA hours, truncated');
  assert.not.ok(existsSync(path.join(o.certsDir, 'node.crt')));
  await createNode({ ...o, lifetime: BigInt(hours) * NS_PER_HOUR }, ['localhost']);
});

node('CA problems: missing key, mismatched key, missing ca.crt', async () => {
  const o = setup();
  const crt = path.join(o.certsDir, 'ca.crt');
  let err = await rejects(createNode(o, ['localhost']));
  assert.is(err.message, `failed to generate node certificate and key: error loading CA certificate ${crt} and key ${o.caKey}: open ${crt}: no such file or directory`);
  await createCA({ ...o, now });
  const other = path.join(o.safe, 'other.key');
  writeFileSync(other, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }));
  err = await rejects(createNode({ ...o, caKey: other }, ['localhost']));
  assert.is(err.message, `failed to generate node certificate and key: error loading CA certificate ${crt} and key ${other}: tls: private key does not match public key`);
  const missing = path.join(o.safe, 'missing.key');
  err = await rejects(createNode({ ...o, caKey: missing }, ['localhost']));
  assert.is(err.message, `failed to generate node certificate and key: error loading CA certificate ${crt} and key ${missing}: open ${missing}: no such file or directory`);
  assert.equal(readdirSync(o.certsDir), ['ca.crt']);
});

node('signs with the first CA of a rotated bundle', async () => {
  const o = setup();
  await createCA({ ...o, now });
  const newKey = path.join(o.safe, 'ca2.key');
  const { certificate: newCA } = await createCA({ ...o, caKey: newKey, now, overwrite: true });
  let err = await rejects(createNode(o, ['localhost']));
  assert.match(err.message, /tls: private key does not match public key$/, 'the old key no longer matches the first cert');
  const r = await createNode({ ...o, caKey: newKey }, ['localhost']);
  assert.is(r.certificate.issuer, newCA.subject);
  assert.ok(await r.certificate.verify({ publicKey: newCA.publicKey, signatureOnly: true }));
  void err;
});

node.run();

// ---------------------------------------------------------------------------------------------
const client = suite('create-client');

client('has the fields of cockroach GenerateClientCert and writes a DER PKCS#8 copy on request', async () => {
  const o = setup();
  await createCA({ ...o, now });
  const r = await createClient({ ...o, now, alsoGeneratePkcs8Key: true }, 'Root');
  const crt = path.join(o.certsDir, 'client.root.crt');
  const key = path.join(o.certsDir, 'client.root.key');
  const pk8 = path.join(o.certsDir, 'client.root.key.pk8');
  assert.equal(r.files, [crt, key, pk8]);
  assert.equal([mode(crt), mode(key), mode(pk8)], [0o644, 0o600, 0o600]);
  const cert = r.certificate;
  assert.is(cert.subject, 'O=Cockroach, CN=root', 'the user is normalised to lower case');
  assert.equal([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], ['1.3.6.1.5.5.7.3.2']);
  assert.is(cert.getExtension(x509.SubjectAlternativeNameExtension), null, 'no SAN on client certs');
  assert.equal(await opensslExtensions(crt), await opensslExtensions(path.join(REFERENCE_CERTS, 'client.root.crt')), 'same extensions and criticality as cockroach test client.root.crt');
  const v = await opensslStatus(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', path.join(o.certsDir, 'ca.crt'), crt]);
  assert.is(v.code, 0, v.out);
  const s = await opensslStatus(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', path.join(o.certsDir, 'ca.crt'), crt]);
  assert.is.not(s.code, 0, 'a client cert is not a server cert');
  const der = readFileSync(pk8);
  assert.is(der[0], 0x30, 'raw DER, not PEM');
  const fromPk8 = await openssl(['pkey', '-inform', 'DER', '-in', pk8, '-pubout']);
  const fromKey = await openssl(['pkey', '-in', key, '-pubout']);
  assert.is(fromPk8, fromKey, 'the .pk8 holds the same key');
  assert.match(await openssl(['asn1parse', '-inform', 'DER', '-in', pk8]), /rsaEncryption/);
});

client('normalises and validates usernames like cockroach', async () => {
  const o = setup();
  await createCA({ ...o, now });
  await createClient({ ...o, now }, 'Ομηρος');
  assert.ok(existsSync(path.join(o.certsDir, 'client.ομηρος.crt')));
  const asn = await openssl(['asn1parse', '-in', path.join(o.certsDir, 'client.ομηρος.crt')]);
  assert.match(asn, /UTF8STRING/, 'non-printable CN is a UTF8String');
  for (const [input, message] of [
    ['foo bar', 'username is invalid'],
    ['', 'username is empty'],
    ['a'.repeat(64), 'username is too long'],
    ['-x', 'username is invalid'],
  ] as const) {
    const err = await rejects(createClient({ ...o, now }, input));
    assert.is(err.message, `failed to generate client certificate and key: ${message}`);
    assert.is(err.hint, 'Usernames are case insensitive, must start with a letter, digit or underscore, may contain letters, digits, dashes, periods, or underscores, and must not exceed 63 characters.');
  }
  await createClient({ ...o, now }, 'a'.repeat(63));
  await createClient({ ...o, now }, 'node');
  assert.ok(existsSync(path.join(o.certsDir, 'client.node.crt')), 'reserved names are allowed (client.node.crt is documented)');
});

client('tenant-scope URI SANs are built as url.Parse + String: percent-encoded, in order', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  const cases: [string, string[]][] = [
    ['Ομηρος', ['crdb://tenant/2/user/%CE%BF%CE%BC%CE%B7%CF%81%CE%BF%CF%82', 'crdb://tenant/10/user/%CE%BF%CE%BC%CE%B7%CF%81%CE%BF%CF%82', 'crdb://tenant-name/app/user/%CE%BF%CE%BC%CE%B7%CF%81%CE%BF%CF%82']],
    ['a b', ['crdb://tenant/2/user/a%20b', 'crdb://tenant/10/user/a%20b', 'crdb://tenant-name/app/user/a%20b']],
    ['a%41b', ['crdb://tenant/2/user/a%41b', 'crdb://tenant/10/user/a%41b', 'crdb://tenant-name/app/user/a%41b']],
    ['x#y z', ['crdb://tenant/2/user/x#y%20z', 'crdb://tenant/10/user/x#y%20z', 'crdb://tenant-name/app/user/x#y%20z']],
  ];
  for (const [user, want] of cases) {
    const r = await createClient({ ...o, now, keySize: 1024, tenantScope: ['2', '10'], tenantNameScope: ['app'], disableUsernameValidation: true, overwrite: true }, user);
    const file = r.files[0] as string;
    const san = await openssl(['x509', '-in', file, '-noout', '-ext', 'subjectAltName']);
    assert.is(san.split('\n')[1]?.trim(), want.map((u) => `URI:${u}`).join(', '), `openssl reads the SANs of ${user}`);
    const [v] = goParse([file]);
    assert.ok(v?.ok, `Go loads the certificate of ${user}: ${v?.error}`);
    assert.equal(v?.uris, want, `Go's uri.String() for ${user}`);
  }
});

client('a bad %-escape or a non-ASCII query in a tenant URI fails like cockroach, writing nothing', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  const before = snapshot(o.certsDir);
  const cases: [string, string][] = [
    ['a%zz', 'parse "crdb://tenant/2/user/a%zz": invalid URL escape "%zz"'],
    ['a%', 'parse "crdb://tenant/2/user/a%": invalid URL escape "%"'],
    ['a#%g1', 'parse "crdb://tenant/2/user/a#%g1": invalid URL escape "%g1"'],
    ['a?é', 'x509: "crdb://tenant/2/user/a?é" cannot be encoded as an IA5String'],
  ];
  for (const [user, reason] of cases) {
    const err = await rejects(createClient({ ...o, now, keySize: 1024, tenantScope: ['2'], disableUsernameValidation: true }, user));
    assert.is(err.message, `failed to generate client certificate and key: error creating client certificate and key: ${reason}`);
  }
  assert.equal(snapshot(o.certsDir), before);
});

client('with the username check disabled an empty name ends in GenerateClientCert\'s "user cannot be empty"', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  const before = snapshot(o.certsDir);
  const err = await rejects(createClient({ ...o, now, keySize: 1024, disableUsernameValidation: true }, ''));
  assert.is(err.message, 'failed to generate client certificate and key: error creating client certificate and key: user cannot be empty');
  assert.equal(snapshot(o.certsDir), before);
  // Checked before the CA's lifetime, as in GenerateClientCert.
  const err2 = await rejects(createClient({ ...o, now, keySize: 1024, disableUsernameValidation: true, lifetime: 999999n * NS_PER_HOUR }, ''));
  assert.match(err2.message, /user cannot be empty$/);
  // An invalid but non-empty name is accepted and still normalised.
  await createClient({ ...o, now, keySize: 1024, disableUsernameValidation: true }, ',Foo');
  assert.ok(existsSync(path.join(o.certsDir, 'client.,foo.crt')));
});

client('is signed by ca-client.crt when it exists', async () => {
  const o = setup();
  await createCA({ ...o, now });
  const clientKey = path.join(o.safe, 'ca-client.key');
  await createClientCA({ ...o, caKey: clientKey, now });
  const err = await rejects(createClient({ ...o, now }, 'maxroach'));
  assert.match(err.message, /error loading CA certificate .*ca-client\.crt and key .*ca\.key: tls: private key does not match public key$/);
  await createClient({ ...o, caKey: clientKey, now }, 'maxroach');
  const v = await opensslStatus(['verify', '-purpose', 'sslclient', '-CAfile', path.join(o.certsDir, 'ca-client.crt'), path.join(o.certsDir, 'client.maxroach.crt')]);
  assert.is(v.code, 0, v.out);
});

client('a folder named ca-client.crt is skipped, as cockroach\'s loader skips folders, so ca.crt signs; a broken ca-client.crt file is still chosen', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  mkdirSync(path.join(o.certsDir, 'ca-client.crt'));
  await createClient({ ...o, now, keySize: 1024 }, 'maxroach');
  const v = await opensslStatus(['verify', '-purpose', 'sslclient', '-CAfile', path.join(o.certsDir, 'ca.crt'), path.join(o.certsDir, 'client.maxroach.crt')]);
  assert.is(v.code, 0, v.out);
  rmSync(path.join(o.certsDir, 'ca-client.crt'), { recursive: true });
  writeFileSync(path.join(o.certsDir, 'ca-client.crt'), '');
  const err = await rejects(createClient({ ...o, now, keySize: 1024 }, 'bob'));
  assert.match(err.message, /error loading CA certificate .*ca-client\.crt and key .*ca\.key: tls: failed to find any PEM data in certificate input$/);
});

client('file exists errors name each file', async () => {
  const o = setup();
  await createCA({ ...o, now });
  await createClient({ ...o, now }, 'bob');
  const crt = path.join(o.certsDir, 'client.bob.crt');
  let err = await rejects(createClient({ ...o, now }, 'bob'));
  assert.is(err.message, `failed to generate client certificate and key: error writing client certificate to ${crt}: open ${crt}: file exists`);
  const pk8 = path.join(o.certsDir, 'client.carol.key.pk8');
  writeFileSync(pk8, 'x');
  err = await rejects(createClient({ ...o, now, alsoGeneratePkcs8Key: true }, 'carol'));
  assert.is(err.message, `failed to generate client certificate and key: error writing client PKCS8 key to ${pk8}: open ${pk8}: file exists`);
  assert.not.ok(existsSync(path.join(o.certsDir, 'client.carol.crt')), 'nothing else was written');
});

client.run();

// ---------------------------------------------------------------------------------------------
const perms = suite('key permission check');

perms('a node key readable by others makes every create-* fail, like cockroach', async () => {
  const o = setup();
  await createCA({ ...o, now });
  await createNode({ ...o, now }, ['localhost']);
  const key = path.join(o.certsDir, 'node.key');
  chmodSync(key, 0o644);
  // Tests run as root, and the file is root-owned with the process's group: the 0740 rule applies.
  const isRootGroup = statSync(key).uid === 0 && statSync(key).gid === process.getgid?.();
  const max = isRootGroup ? '-rwxr-----' : '-rwx------';
  const err = await rejects(createClient({ ...o, now }, 'root'));
  assert.is(err.message, `failed to generate client certificate and key: validating node cert: key file ${key} has permissions -rw-r--r--, exceeds ${max}`);
  assert.ok(err.certManagement);
  const ok = await createClient({ ...o, now, skipKeyPermissionCheck: true }, 'root');
  assert.ok(ok.files.length === 2, 'COCKROACH_SKIP_KEY_PERMISSION_CHECK lets it through');
});

perms.run();
