// `cert create-tenant-client-ca`, `create-tenant-client` and `create-tenant-signing` through the
// library: files, modes, the CA fall-back chain, errors, and the certificates field by field against
// cockroach's GenerateTenantCert / GenerateTenantSigningCert (reference §1.7, §2.7, §2.8, §2.9),
// decoded by @peculiar/x509, by openssl and by Go's crypto/x509 (which also loads each key pair).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { x509 } from '../../src/pki/x509.js';
import { createCA, createClientCA, createTenantClient, createTenantClientCA, createTenantSigning, DEFAULT_TENANT_HOSTS } from '../../src/cert/commands.js';
import { listCerts, listingCells } from '../../src/cert/list.js';
import { REFERENCE_CERTS, openssl, opensslExtensions, opensslStatus, rejects, tmpdir } from '../helpers/index.js';
import { goParse } from './go-judge.js';

const NOW = new Date('2026-03-01T12:00:00.250Z');
const now = (): Date => NOW;
const HOUR = 3_600_000;
const second = (ms: number): number => Math.floor(ms / 1000) * 1000;

function setup(): { certsDir: string; caKey: string; safe: string } {
  const dir = tmpdir();
  const safe = path.join(dir, 'safe');
  mkdirSync(safe);
  return { certsDir: path.join(dir, 'certs'), caKey: path.join(safe, 'ca.key'), safe };
}

const mode = (file: string): number => statSync(file).mode & 0o777;
const pem = (file: string): x509.X509Certificate => new x509.X509Certificate(readFileSync(file, 'latin1'));
/** openssl's extension lines without its `X509v3 extensions:` heading. */
const extensionLines = async (file: string): Promise<string[]> => (await opensslExtensions(file)).filter((e) => e !== 'X509v3 extensions');
const snapshot = (dir: string): Record<string, string> => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), 'latin1')]));

// ---------------------------------------------------------------------------------------------
const tca = suite('create-tenant-client-ca');

tca('writes ca-client-tenant.crt with GenerateCA\'s fields and its key, 0644/0600 minus the umask', async () => {
  for (const umask of [0o022, 0o077]) {
    const o = setup();
    const key = path.join(o.safe, 'ca-client-tenant.key');
    const old = process.umask(umask);
    let r;
    try {
      r = await createTenantClientCA({ ...o, caKey: key, now, keySize: 1024 });
    } finally {
      process.umask(old);
    }
    const crt = path.join(o.certsDir, 'ca-client-tenant.crt');
    assert.equal(r.files, [key, crt]);
    assert.is(mode(crt), 0o644 & ~umask);
    assert.is(mode(key), 0o600 & ~umask);
    assert.match(readFileSync(key, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    const [go] = goParse([crt]);
    assert.is(go?.subject, 'CN=Cockroach CA,O=Cockroach');
    assert.is(go?.issuer, 'CN=Cockroach CA,O=Cockroach');
    assert.ok(go?.isCA && go.basicConstraints);
    assert.is(go?.maxPathLen, 1);
    assert.is(go?.keyUsage, 1 | 2 | 4 | 32, 'digitalSignature, contentCommitment, keyEncipherment, certSign');
    assert.is(go?.notAfter, new Date(second(NOW.getTime() + 87840 * HOUR)).toISOString().replace('.000', ''), 'CA lifetime default 87840h');
    assert.equal(await opensslExtensions(crt), await opensslExtensions(path.join(REFERENCE_CERTS, 'ca.crt')), 'the extensions of cockroach\'s test ca.crt');
    assert.is(go?.subjectKeyId.length, 40, 'a SKID');
  }
});

tca('key reuse, bundles and wording as create-ca', async () => {
  const o = setup();
  const key = path.join(o.safe, 'tca.key');
  await createTenantClientCA({ ...o, caKey: key, now, keySize: 1024 });
  let err = await rejects(createTenantClientCA({ ...o, caKey: key, now }));
  assert.is(err.message, `failed to generate tenant client CA cert and key: CA key ${key} exists, but key reuse is disabled`);
  err = await rejects(createTenantClientCA({ ...o, caKey: key, now, allowCAKeyReuse: true }));
  const crt = path.join(o.certsDir, 'ca-client-tenant.crt');
  assert.is(err.message, `failed to generate tenant client CA cert and key: could not write CA certificate file ${crt}: open ${crt}: file exists`);
  await createTenantClientCA({ ...o, caKey: key, now, allowCAKeyReuse: true, overwrite: true });
  assert.is((readFileSync(crt, 'latin1').match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'the new CA is prepended to the bundle');
});

tca.run();

// ---------------------------------------------------------------------------------------------
const client = suite('create-tenant-client');

client('has the fields of GenerateTenantCert: O=Cockroach, OU=Tenants, CN=<id>, EKU clientAuth then serverAuth, hosts as SANs', async () => {
  const o = setup();
  const tcaKey = path.join(o.safe, 'ca-client-tenant.key');
  await createCA({ ...o, now, keySize: 1024 });
  const { certificate: caCert } = await createTenantClientCA({ ...o, caKey: tcaKey, now, keySize: 1024 });
  const hosts = ['tenant10.example.com', '10.0.0.7', '*.svc', '::1'];
  const r = await createTenantClient({ ...o, caKey: tcaKey, now, keySize: 1024 }, '10', hosts);
  const crt = path.join(o.certsDir, 'client-tenant.10.crt');
  const key = path.join(o.certsDir, 'client-tenant.10.key');
  assert.equal(r.files, [crt, key], 'certificate first, then key, as WriteTenantPair');
  assert.is(mode(crt), 0o644 & ~process.umask());
  assert.is(mode(key), 0o600 & ~process.umask());
  const cert = r.certificate;
  assert.is(cert.subject, 'O=Cockroach, OU=Tenants, CN=10');
  assert.is(cert.issuer, 'O=Cockroach, CN=Cockroach CA');
  assert.is(cert.notBefore.getTime(), second(NOW.getTime() - 24 * HOUR));
  assert.is(cert.notAfter.getTime(), second(NOW.getTime() + 43920 * HOUR), 'leaf lifetime default 43920h');
  assert.equal([...cert.extensions].map((e) => [e.type, e.critical]), [
    ['2.5.29.15', true],
    ['2.5.29.37', false],
    ['2.5.29.35', false],
    ['2.5.29.17', false],
  ]);
  assert.is(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
  assert.match(readFileSync(key, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
  // Go: subject in RFC 2253 order, the EKU order, the SANs (DNS first), the key pair.
  const [go] = goParse([[crt, key]]);
  assert.ok(go?.ok, go?.error);
  assert.is(go?.subject, 'CN=10,OU=Tenants,O=Cockroach');
  assert.is(go?.cn, '10');
  assert.equal(go?.extKeyUsage, ['clientAuth', 'serverAuth']);
  assert.is(go?.keyUsage, 1 | 4);
  assert.is(go?.basicConstraints, false);
  assert.equal(go?.dns, ['tenant10.example.com', '*.svc']);
  assert.equal(go?.ips, ['10.0.0.7', '::1']);
  assert.is(go?.subjectKeyId, '');
  assert.is(go?.keyPair, 'ok');
  assert.is(go?.keyBits, 1024);
  // openssl: the same, and it verifies for both purposes against the tenant CA.
  const text = await openssl(['x509', '-in', crt, '-noout', '-text']);
  assert.match(text, /Subject: O = Cockroach, OU = Tenants, CN = 10\n/);
  assert.match(text, /TLS Web Client Authentication, TLS Web Server Authentication/);
  assert.match(text, /DNS:tenant10\.example\.com, DNS:\*\.svc, IP Address:10\.0\.0\.7, IP Address:0:0:0:0:0:0:0:1/);
  for (const purpose of ['sslclient', 'sslserver']) {
    const v = await opensslStatus(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', path.join(o.certsDir, 'ca-client-tenant.crt'), crt]);
    assert.is(v.code, 0, `${purpose}: ${v.out}`);
  }
});

client('with no hosts uses 127.0.0.1, ::1, localhost, *.local; the id is read as a decimal uint64', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  await createTenantClient({ ...o, now, keySize: 1024 }, '0012');
  const crt = path.join(o.certsDir, 'client-tenant.12.crt');
  const [go] = goParse([crt]);
  assert.equal(DEFAULT_TENANT_HOSTS, ['127.0.0.1', '::1', 'localhost', '*.local']);
  assert.equal(go?.dns, ['localhost', '*.local']);
  assert.equal(go?.ips, ['127.0.0.1', '::1']);
  assert.is(go?.cn, '12', '%d of the parsed id');
  await createTenantClient({ ...o, now, keySize: 1024 }, '18446744073709551615', ['h']);
  assert.is(goParse([path.join(o.certsDir, 'client-tenant.18446744073709551615.crt')])[0]?.cn, '18446744073709551615');
});

client('signs with ca-client-tenant.crt, else ca-client.crt, else ca.crt', async () => {
  const o = setup();
  const ccKey = path.join(o.safe, 'cc.key');
  const tcKey = path.join(o.safe, 'tc.key');
  const signedBy = async (id: string, caFile: string): Promise<void> => {
    const crt = path.join(o.certsDir, `client-tenant.${id}.crt`);
    assert.is(pem(crt).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, pem(path.join(o.certsDir, caFile)).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, `${id} by ${caFile}`);
    const v = await opensslStatus(['verify', '-purpose', 'sslclient', '-CAfile', path.join(o.certsDir, caFile), crt]);
    assert.is(v.code, 0, v.out);
  };
  await createCA({ ...o, now, keySize: 1024 });
  await createTenantClient({ ...o, now, keySize: 1024 }, '1', ['a']);
  await signedBy('1', 'ca.crt');
  await createClientCA({ ...o, caKey: ccKey, now, keySize: 1024 });
  const err = await rejects(createTenantClient({ ...o, now, keySize: 1024 }, '2', ['a']));
  assert.match(err.message, /^failed to generate tenant client certificate and key: error loading CA certificate .*ca-client\.crt and key .*ca\.key: tls: private key does not match public key$/);
  await createTenantClient({ ...o, caKey: ccKey, now, keySize: 1024 }, '2', ['a']);
  await signedBy('2', 'ca-client.crt');
  await createTenantClientCA({ ...o, caKey: tcKey, now, keySize: 1024 });
  await createTenantClient({ ...o, caKey: tcKey, now, keySize: 1024 }, '3', ['a']);
  await signedBy('3', 'ca-client-tenant.crt');
});

client('a CA the chain lands on must have loaded: certificate-manager errors, nothing written', async () => {
  const o = setup();
  let err = await rejects(createTenantClient({ ...o, now }, '5', ['a']));
  assert.is(err.message, 'failed to generate tenant client certificate and key: problem with CA certificate: not found');
  assert.ok(err.certManagement, 'gets the "cannot load certificates." advice');
  await createCA({ ...o, now, keySize: 1024 });
  writeFileSync(path.join(o.certsDir, 'ca-client-tenant.crt'), 'junk\n');
  const before = snapshot(o.certsDir);
  err = await rejects(createTenantClient({ ...o, now }, '5', ['a']));
  assert.is(err.message, 'failed to generate tenant client certificate and key: problem with tenant client CA certificate: no certificates found in ca-client-tenant.crt');
  assert.ok(err.certManagement);
  writeFileSync(path.join(o.certsDir, 'ca-client-tenant.crt'), '');
  writeFileSync(path.join(o.certsDir, 'ca-client.crt'), '');
  err = await rejects(createTenantClient({ ...o, now }, '5', ['a']));
  assert.is(err.message, 'failed to generate tenant client certificate and key: problem with tenant client CA certificate: empty certificate file: ca-client-tenant.crt');
  assert.equal(Object.keys(snapshot(o.certsDir)).sort(), [...Object.keys(before), 'ca-client.crt'].sort());
});

client('argument and CA errors in cockroach\'s words', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  const before = snapshot(o.certsDir);
  const cases: [string, string][] = [
    ['abc', 'abc is invalid uint64: strconv.ParseUint: parsing "abc": invalid syntax'],
    ['-1', '-1 is invalid uint64: strconv.ParseUint: parsing "-1": invalid syntax'],
    ['0x10', '0x10 is invalid uint64: strconv.ParseUint: parsing "0x10": invalid syntax'],
    ['', ' is invalid uint64: strconv.ParseUint: parsing "": invalid syntax'],
    ['18446744073709551616', '18446744073709551616 is invalid uint64: strconv.ParseUint: parsing "18446744073709551616": value out of range'],
    // GenerateTenantCert refuses 0 once the CA is loaded.
    ['0', 'failed to generate tenant client certificate and key: error creating tenant certificate and key: tenantId 0 is invalid (requires != 0)'],
  ];
  for (const [id, message] of cases) assert.is((await rejects(createTenantClient({ ...o, now, keySize: 1024 }, id, ['a']))).message, message, id);
  assert.is((await rejects(createTenantClient({ ...o, caKey: '', now }, '4'))).message, 'failed to generate tenant client certificate and key: the path to the CA key is required');
  const lifetime = await rejects(createTenantClient({ ...o, now, keySize: 1024, lifetime: 100_000n * 3_600_000_000_000n }, '4'));
  assert.match(lifetime.message, /^failed to generate tenant client certificate and key: error creating tenant certificate and key: CA lifetime is 8783\d\.\d{6}h, shorter than the requested 100000\.000000h\. Renew CA certificate, or rerun with --lifetime=8783\dh for a shorter duration\.$/);
  assert.equal(snapshot(o.certsDir), before, 'nothing written');
});

client('existing files: the write step\'s own wording, nothing half-made; --overwrite replaces both', async () => {
  const o = setup();
  await createCA({ ...o, now, keySize: 1024 });
  const crt = path.join(o.certsDir, 'client-tenant.7.crt');
  const key = path.join(o.certsDir, 'client-tenant.7.key');
  writeFileSync(key, 'mine', { mode: 0o600 });
  let err = await rejects(createTenantClient({ ...o, now, keySize: 1024 }, '7', ['a']));
  assert.is(err.message, `failed to write tenant client certificate and key: error writing tenant key to ${key}: open ${key}: file exists`);
  assert.equal(readdirSync(o.certsDir).sort(), ['ca.crt', 'client-tenant.7.key'], 'no certificate left behind (cockroach writes it first)');
  assert.is(readFileSync(key, 'utf8'), 'mine');
  await createTenantClient({ ...o, now, keySize: 1024, overwrite: true }, '7', ['a']);
  const [go] = goParse([[crt, key]]);
  assert.is(go?.keyPair, 'ok');
  err = await rejects(createTenantClient({ ...o, now, keySize: 1024 }, '7', ['a']));
  assert.is(err.message, `failed to write tenant client certificate and key: error writing tenant certificate to ${crt}: open ${crt}: file exists`);
});

client.run();

// ---------------------------------------------------------------------------------------------
const signing = suite('create-tenant-signing');

signing('has the fields of GenerateTenantSigningCert (as cockroach\'s test tenant-signing.10.crt): Ed25519, serial 1, CN only, CA:FALSE, signatures only', async () => {
  const o = setup();
  const r = await createTenantSigning({ certsDir: o.certsDir, now }, '10');
  const crt = path.join(o.certsDir, 'tenant-signing.10.crt');
  const key = path.join(o.certsDir, 'tenant-signing.10.key');
  assert.equal(r.files, [key, crt], 'the key first, as CreateTenantSigningPair writes them');
  assert.is(mode(crt), 0o644 & ~process.umask());
  assert.is(mode(key), 0o600 & ~process.umask());
  // The key: Ed25519 as PKCS#8 `PRIVATE KEY`, matching the certificate.
  const keyPem = readFileSync(key, 'utf8');
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
  const priv = createPrivateKey(keyPem);
  assert.is(priv.asymmetricKeyType, 'ed25519');
  const cert = r.certificate;
  assert.equal(createPublicKey(priv).export({ type: 'spki', format: 'der' }), Buffer.from(cert.publicKey.rawData));
  assert.is(cert.serialNumber, '01');
  assert.is(cert.subject, 'CN=Tenant 10 Token Signing Certificate');
  assert.is(cert.issuer, cert.subject, 'self-signed');
  assert.is(cert.notBefore.getTime(), second(NOW.getTime() - 24 * HOUR));
  assert.is(cert.notAfter.getTime(), second(NOW.getTime() + 43920 * HOUR), 'the leaf lifetime default, 43920h');
  assert.ok(await cert.verify({ signatureOnly: true }), 'signed by its own key');
  // Extensions as Go emits them: KeyUsage (critical, digitalSignature), BasicConstraints (critical, empty: CA false, no path length).
  assert.equal([...cert.extensions].map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')]), [
    ['2.5.29.15', true, '03020780'],
    ['2.5.29.19', true, '3000'],
  ]);
  const [go] = goParse([[crt, key]]);
  assert.ok(go?.ok, go?.error);
  assert.is(go?.serial, '1');
  assert.is(go?.subject, 'CN=Tenant 10 Token Signing Certificate');
  assert.is(go?.issuer, 'CN=Tenant 10 Token Signing Certificate');
  assert.is(go?.publicKeyAlgorithm, 'Ed25519');
  assert.is(go?.signatureAlgorithm, 'Ed25519');
  assert.is(go?.keyUsage, 1);
  assert.equal(go?.extKeyUsage, []);
  assert.ok(go?.basicConstraints && !go.isCA);
  assert.is(go?.maxPathLen, -1, 'no path length');
  assert.is(go?.subjectKeyId, '');
  assert.is(go?.authorityKeyId, '');
  assert.is(go?.keyPair, 'ok', 'tls.X509KeyPair loads it, as CockroachDB does');
  const text = await openssl(['x509', '-in', crt, '-noout', '-text']);
  assert.match(text, /Serial Number: 1 \(0x1\)/);
  assert.match(text, /Signature Algorithm: ED25519/);
  assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature\n\s+X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
  assert.equal(await extensionLines(crt), ['X509v3 Key Usage critical', 'X509v3 Basic Constraints critical']);
  assert.match(await openssl(['pkey', '-in', key, '-noout', '-text']), /^ED25519 Private-Key:/);
});

signing('needs no CA; --lifetime applies; ids, 0 and existing files in cockroach\'s words, nothing half-made', async () => {
  const o = setup();
  await createTenantSigning({ certsDir: o.certsDir, now, lifetime: 2n * 3_600_000_000_000n }, '3');
  assert.is(pem(path.join(o.certsDir, 'tenant-signing.3.crt')).notAfter.getTime(), second(NOW.getTime() + 2 * HOUR));
  assert.is((await rejects(createTenantSigning({ certsDir: o.certsDir }, 'x'))).message, 'x is invalid uint64: strconv.ParseUint: parsing "x": invalid syntax');
  assert.is((await rejects(createTenantSigning({ certsDir: o.certsDir }, '0'))).message, 'failed to generate tenant signing cert and key: tenantId 0 is invalid (requires != 0)');
  assert.is((await rejects(createTenantSigning({ certsDir: '' }, '4'))).message, 'failed to generate tenant signing cert and key: the path to the certs directory is required');
  // The certificate exists, the key does not: cockroach writes the key and then fails; certgen writes neither.
  const crt = path.join(o.certsDir, 'tenant-signing.9.crt');
  writeFileSync(crt, 'x');
  const err = await rejects(createTenantSigning({ certsDir: o.certsDir }, '9'));
  assert.is(err.message, `failed to generate tenant signing cert and key: could not write tenant signing certificate file ${crt}: open ${crt}: file exists`);
  assert.equal(readdirSync(o.certsDir).sort(), ['tenant-signing.3.crt', 'tenant-signing.3.key', 'tenant-signing.9.crt']);
  const key3 = path.join(o.certsDir, 'tenant-signing.3.key');
  assert.is((await rejects(createTenantSigning({ certsDir: o.certsDir }, '3'))).message, `failed to generate tenant signing cert and key: could not write tenant signing key to file ${key3}: open ${key3}: file exists`);
  const old = readFileSync(key3, 'latin1');
  await createTenantSigning({ certsDir: o.certsDir, overwrite: true }, '3');
  assert.is.not(readFileSync(key3, 'latin1'), old, '--overwrite makes a new key');
});

signing.run();

// ---------------------------------------------------------------------------------------------
const list = suite('cert list: tenant rows');

list('lists the tenant client CA, tenant client and signing certificates (cockroach loads them but lists none)', async () => {
  const o = setup();
  const tcKey = path.join(o.safe, 'tc.key');
  await createCA({ ...o, now, keySize: 1024 });
  await createTenantClientCA({ ...o, caKey: tcKey, now, keySize: 1024 });
  await createTenantClient({ ...o, caKey: tcKey, now, keySize: 1024 }, '20', ['db.example', '10.1.1.1']);
  await createTenantClient({ ...o, caKey: tcKey, now, keySize: 1024 }, '3');
  await createTenantSigning({ certsDir: o.certsDir, now }, '20');
  writeFileSync(path.join(o.certsDir, 'client-tenant.9.crt'), 'junk');
  const listing = await listCerts({ certsDir: o.certsDir, skipKeyPermissionCheck: false });
  const exp = (h: number): string => {
    const d = new Date(NOW.getTime() + h * HOUR);
    return `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
  };
  assert.equal(listing.rows.map(listingCells), [
    ['CA', 'ca.crt', '', exp(87840), 'num certs: 1', ''],
    ['Tenant Client CA', 'ca-client-tenant.crt', '', exp(87840), 'num certs: 1', ''],
    ['Tenant Client', 'client-tenant.20.crt', 'client-tenant.20.key', exp(43920), 'tenant: 20; addresses: db.example,10.1.1.1', ''],
    ['Tenant Client', 'client-tenant.3.crt', 'client-tenant.3.key', exp(43920), 'tenant: 3; addresses: localhost,*.local,127.0.0.1,::1', ''],
    ['Tenant Client', 'client-tenant.9.crt', '', '0001/01/01', 'tenant: <unknown>; addresses: <unknown>', 'no certificates found in client-tenant.9.crt'],
    // certgen's key note: the signing key is Ed25519 (cockroach lists no tenant rows at all).
    ['Tenant Signing', 'tenant-signing.20.crt', 'tenant-signing.20.key', exp(43920), 'tenant: 20; key: Ed25519', ''],
  ]);
});

list.run();
