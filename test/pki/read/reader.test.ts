// The one reader (src/pki/read) against two full decoders: @peculiar/x509 and node:crypto (OpenSSL).
// Go's verdicts on a mutated corpus are in differential.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate as NodeX509, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bytes, x509 } from '../../../src/pki/x509.js';
import { generateRsaKey, privateKeyToPem, toSigner } from '../../../src/pki/keys.js';
import { CA_COMMON_NAME, issueCertificate } from '../../../src/pki/issue.js';
import { pemToCertificateBlocks } from '../../../src/pki/read/pem.js';
import { sanHosts } from '../../../src/pki/san.js';
import { parseCertificate as parseCertFacts } from '../../../src/pki/read/cert.js';
import { keyMatchesCert, readPkcs8Der as parsePkcs8Facts, readPrivateKeyPem as parsePrivateKeyFacts, sameKey } from '../../../src/pki/read/key.js';
import { isSignedBy } from '../../../src/pki/read/verify.js';
import { REFERENCE_CERTS } from '../../helpers/index.js';

const keyMatches = (cert: ReturnType<typeof parseCertFacts>, key: ReturnType<typeof parsePrivateKeyFacts>): boolean => keyMatchesCert(key, cert);
const publicKeyOf = (c: ReturnType<typeof parseCertFacts>) => createPublicKey({ key: Buffer.from(c.publicKey.spki), format: 'der', type: 'spki' });
const hostsOf = (c: ReturnType<typeof parseCertFacts>) => ({ dns: c.san.dns, ips: c.san.ips, other: [...c.san.emails, ...c.san.uris, ...c.san.other] });

const facts = suite('parseCertFacts');

async function issued(now = new Date('2026-03-01T00:00:00Z'), lifetimeHours = 43920) {
  const caKey = (await generateRsaKey(1024)).privateKey;
  const ca = await issueCertificate({ kind: 'ca', subjectKey: caKey, signer: await toSigner(caKey), commonName: CA_COMMON_NAME, now, lifetimeMs: 87840 * 3600e3, serial: randomBytes(16) });
  const nodeKey = (await generateRsaKey(1024)).privateKey;
  const hosts = ['node1.example.com', '*.local', '127.0.0.1', '::1', '::ffff:10.1.2.3', '2001:db8::7'];
  const node = await issueCertificate({ kind: 'node', subjectKey: nodeKey, signer: await toSigner(caKey), issuer: ca, commonName: 'node', hosts, now, lifetimeMs: lifetimeHours * 3600e3, serial: randomBytes(16) });
  return { caKey, ca, nodeKey, node };
}

facts('agrees with @peculiar/x509 and node:crypto on every field plan reads', async () => {
  const { ca, node, caKey, nodeKey } = await issued();
  for (const cert of [ca, node]) {
    const der = Buffer.from(cert.rawData);
    const f = parseCertFacts(der);
    const n = new NodeX509(der);
    assert.is(f.notBefore.getTime(), cert.notBefore.getTime());
    assert.is(f.notAfter.getTime(), cert.notAfter.getTime());
    assert.is(f.subject.cn, cert.subjectName.getField('CN')[0]);
    assert.is(f.subject.o, 'Cockroach');
    assert.is(f.subject.text, cert.subject);
    assert.is(f.issuer.text, cert.issuer);
    assert.is(f.serial, n.serialNumber.toUpperCase());
    assert.is(f.fingerprint, n.fingerprint256);
    assert.equal(Buffer.from(f.publicKey.spki), n.publicKey.export({ type: 'spki', format: 'der' }));
    assert.is(f.publicKey.bits, n.publicKey.asymmetricKeyDetails?.modulusLength);
    assert.equal(hostsOf(f), sanHosts(cert));
  }
  assert.equal(hostsOf(parseCertFacts(Buffer.from(node.rawData))), { dns: ['node1.example.com', '*.local'], ips: ['127.0.0.1', '::1', '10.1.2.3', '2001:db8::7'], other: [] });
  const caFacts = parseCertFacts(Buffer.from(ca.rawData));
  assert.ok(isSignedBy(parseCertFacts(Buffer.from(node.rawData)), publicKeyOf(caFacts)));
  assert.ok(isSignedBy(caFacts, publicKeyOf(caFacts)), 'self-signed');
  assert.not.ok(isSignedBy(caFacts, createPublicKey(nodeKey)), 'not signed by another key');
  assert.ok(keyMatches(parseCertFacts(Buffer.from(node.rawData)), parsePrivateKeyFacts(Buffer.from(privateKeyToPem(nodeKey)))));
  assert.not.ok(keyMatches(parseCertFacts(Buffer.from(node.rawData)), parsePrivateKeyFacts(Buffer.from(privateKeyToPem(caKey)))));
});

facts('reads cockroach\'s own test certificates', () => {
  for (const [file, cn] of [['ca.crt', 'Cockroach CA'], ['node.crt', 'node'], ['client.root.crt', 'root']] as const) {
    const [der] = pemToCertificateBlocks(readFileSync(path.join(REFERENCE_CERTS, file)));
    const f = parseCertFacts(der as Buffer);
    const ref = new x509.X509Certificate(bytes(der as Buffer));
    assert.is(f.subject.cn, cn);
    assert.is(f.notAfter.getTime(), ref.notAfter.getTime());
    assert.equal(hostsOf(f), sanHosts(ref));
    assert.is(f.publicKey.bits, 2048);
    assert.is(f.subject.text, ref.subject);
  }
  const [caDer] = pemToCertificateBlocks(readFileSync(path.join(REFERENCE_CERTS, 'ca.crt')));
  const caPub = publicKeyOf(parseCertFacts(caDer as Buffer));
  // As `openssl verify -CAfile ca.crt` says: client.root.crt chains to this ca.crt, and the test
  // node.crt was signed by another CA (cockroach regenerated them separately).
  const [clientDer] = pemToCertificateBlocks(readFileSync(path.join(REFERENCE_CERTS, 'client.root.crt')));
  const [nodeDer] = pemToCertificateBlocks(readFileSync(path.join(REFERENCE_CERTS, 'node.crt')));
  assert.ok(isSignedBy(parseCertFacts(clientDer as Buffer), caPub));
  assert.not.ok(isSignedBy(parseCertFacts(nodeDer as Buffer), caPub));
});

facts('GeneralizedTime after 2049, and garbage is an error', async () => {
  const { node } = await issued(new Date('2040-01-01T00:00:00Z'), 20 * 8784);
  const f = parseCertFacts(Buffer.from(node.rawData));
  assert.is(f.notAfter.toISOString(), node.notAfter.toISOString());
  assert.ok(f.notAfter.getUTCFullYear() >= 2050);
  assert.throws(() => parseCertFacts(Buffer.from('not der')));
  assert.throws(() => parseCertFacts(Buffer.from(node.rawData).subarray(0, 100)));
});

facts.run();

const keys = suite('private key facts');

keys('PKCS#1, PKCS#8 (PEM and DER) and EC keys; broken ones are errors', async () => {
  const rsa = (await generateRsaKey(1024)).privateKey;
  const pkcs1 = parsePrivateKeyFacts(Buffer.from(rsa.export({ type: 'pkcs1', format: 'pem' }) as string));
  const pkcs8 = parsePrivateKeyFacts(Buffer.from(rsa.export({ type: 'pkcs8', format: 'pem' }) as string));
  const der = parsePkcs8Facts(rsa.export({ type: 'pkcs8', format: 'der' }));
  assert.ok(sameKey(pkcs1, pkcs8) && sameKey(pkcs1, der));
  const modulus = Buffer.from((rsa.export({ format: 'jwk' }) as { n: string }).n, 'base64url');
  assert.equal(Buffer.from(pkcs1.rsaModulus ?? []), modulus);
  const other = parsePrivateKeyFacts(Buffer.from((await generateRsaKey(1024)).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string));
  assert.not.ok(sameKey(pkcs1, other));
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecFacts = parsePrivateKeyFacts(Buffer.from(ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string));
  assert.equal(Buffer.from(ecFacts.spki ?? []), ec.publicKey.export({ type: 'spki', format: 'der' }));
  const truncated = (rsa.export({ type: 'pkcs1', format: 'pem' }) as string).replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END');
  assert.throws(() => parsePrivateKeyFacts(Buffer.from(truncated)), /failed to parse private key/);
  assert.throws(() => parsePrivateKeyFacts(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')), /tls: failed to find any PEM data in key input/);
  const encrypted = rsa.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string;
  assert.throws(() => parsePrivateKeyFacts(Buffer.from(encrypted)), /failed to parse private key/);
  void privateKeyToPem;
});

keys.run();
