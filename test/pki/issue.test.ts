// src/pki/issue.ts builds certificates with @peculiar/asn1-x509 and node:crypto's crypto.sign. Here
// each one is compared, byte for byte, with what @peculiar/x509's X509CertificateGenerator makes
// from the same fields through WebCrypto (the way certgen issued them before): every kind, every
// key type and a mixed tree, both validity encodings, serial edge cases and every SAN form.
// RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic, so those certificates must be equal
// whole; ECDSA ones differ only in the signature, which must verify.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, generateKeyPairSync, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { CA_MAX_PATH_LENGTH, issueCertificate, issueCertificateDer, tenantUris, x509Time, VALID_FROM_MS, type CertKind, type IssueParams } from '../../src/pki/issue.js';
import { toSigner } from '../../src/pki/keys.js';
import { ORGANIZATION, TENANTS_OU } from '../../src/core/cert-names.js';
import { classifyHosts, formatIP } from '../../src/core/hosts.js';
import { children, readTlv } from '../../src/pki/read/der.js';
import { x509 } from '../../src/pki/x509.js';

const HOUR = 3600e3;
const NOW = new Date('2026-12-03T07:30:00.250Z');

type KeyName = 'rsa' | 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519';
const KEYS: Record<KeyName, KeyObject> = {
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 }).privateKey,
  'ecdsa-p256': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  'ecdsa-p384': generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
  ed25519: generateKeyPairSync('ed25519').privateKey,
};
const LEAF_KEYS: Record<KeyName, KeyObject> = {
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 }).privateKey,
  'ecdsa-p256': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  'ecdsa-p384': generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
  ed25519: generateKeyPairSync('ed25519').privateKey,
};

// ------------------------------------------------------------------ the reference: @peculiar/x509

async function webSigner(key: KeyObject): Promise<{ cryptoKey: CryptoKey; algorithm: Algorithm }> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const import_ = async (algorithm: Algorithm & Record<string, unknown>, signing: Algorithm) => ({ cryptoKey: await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm: signing });
  if (key.asymmetricKeyType === 'rsa') return import_({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm);
  if (key.asymmetricKeyType === 'ed25519') return import_({ name: 'Ed25519' }, { name: 'Ed25519' });
  const curve = key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'P-256' : 'P-384';
  return import_({ name: 'ECDSA', namedCurve: curve }, { name: 'ECDSA', hash: curve === 'P-256' ? 'SHA-256' : 'SHA-384' } as Algorithm);
}

function name(kind: CertKind, cn: string): x509.Name {
  const ds = (s: string) => (/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s) ? { printableString: s } : { utf8String: s });
  const json = kind === 'tenant-signing' ? [{ CN: [ds(cn)] }] : [{ O: [ds(ORGANIZATION)] }, ...(kind === 'tenant' ? [{ OU: [ds(TENANTS_OU)] }] : []), ...(cn === '' ? [] : [{ CN: [ds(cn)] }])];
  return new x509.Name(json as unknown as x509.JsonName);
}

function ipString(b: Uint8Array): string {
  if (b.length === 4) return formatIP(b);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

/** What certgen's issueCertificate made through @peculiar/x509's generator and WebCrypto. */
async function reference(p: IssueParams, signingKey: KeyObject): Promise<Buffer> {
  const KU = x509.KeyUsageFlags;
  const enc = p.subjectKey.asymmetricKeyType === 'rsa' ? KU.keyEncipherment : 0;
  const spki = createPublicKey(p.subjectKey).export({ type: 'spki', format: 'der' });
  const exts: x509.Extension[] = [];
  if (p.kind === 'ca') {
    const pub = new x509.PublicKey(new Uint8Array(spki));
    exts.push(new x509.KeyUsagesExtension(KU.digitalSignature | KU.nonRepudiation | enc | KU.keyCertSign, true), new x509.BasicConstraintsExtension(true, CA_MAX_PATH_LENGTH, true));
    exts.push(new x509.SubjectKeyIdentifierExtension(Buffer.from(await pub.getKeyIdentifier(webcrypto as unknown as Crypto)).toString('hex')));
  } else if (p.kind === 'tenant-signing') {
    exts.push(new x509.KeyUsagesExtension(KU.digitalSignature, true), new x509.BasicConstraintsExtension(false, undefined, true));
  } else {
    exts.push(new x509.KeyUsagesExtension(KU.digitalSignature | enc, true));
    const { serverAuth, clientAuth } = x509.ExtendedKeyUsage;
    exts.push(new x509.ExtendedKeyUsageExtension(p.kind === 'node' ? [serverAuth, clientAuth] : p.kind === 'tenant' ? [clientAuth, serverAuth] : [clientAuth], false));
    const skid = p.issuer?.getExtension(x509.SubjectKeyIdentifierExtension);
    if (skid) exts.push(new x509.AuthorityKeyIdentifierExtension(skid.keyId, false));
    if ((p.kind === 'node' || p.kind === 'tenant') && (p.hosts?.length ?? 0) > 0) {
      const { dns, ips } = classifyHosts(p.hosts ?? []);
      exts.push(new x509.SubjectAlternativeNameExtension([...dns.map((value) => ({ type: 'dns' as const, value })), ...ips.map((ip) => ({ type: 'ip' as const, value: ipString(ip) }))], false));
    }
    if (p.kind === 'client' && (p.uris?.length ?? 0) > 0) exts.push(new x509.SubjectAlternativeNameExtension(tenantUris(p.uris ?? []).map((value) => ({ type: 'url' as const, value })), false));
  }
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const subject = name(p.kind, p.commonName);
  const s = await webSigner(signingKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(p.serial).toString('hex'),
    subject,
    issuer: p.issuer ? new x509.Name(p.issuer.subjectName.toArrayBuffer()) : subject,
    notBefore: x509Time(second(p.now.getTime() - VALID_FROM_MS)) as unknown as Date,
    notAfter: x509Time(second(p.now.getTime() + p.lifetimeMs)) as unknown as Date,
    publicKey: new x509.PublicKey(new Uint8Array(spki)),
    signingKey: s.cryptoKey,
    signingAlgorithm: s.algorithm,
    extensions: exts,
  });
  return Buffer.from(cert.rawData);
}

// ------------------------------------------------------------------ comparing

/** [tbsCertificate, signatureAlgorithm, signatureValue] encodings. */
function parts(der: Buffer): Buffer[] {
  return children(der, readTlv(der, 0)).map((t) => der.subarray(t.pos, t.end));
}

async function compare(label: string, p: IssueParams, signingKey: KeyObject, issuerKey: KeyObject): Promise<Buffer> {
  const made = issueCertificateDer(p);
  const ref = await reference(p, signingKey);
  const [tbs, alg] = parts(made);
  const [refTbs, refAlg] = parts(ref);
  assert.ok(tbs?.equals(refTbs as Buffer), `${label}: tbsCertificate differs\n  new ${tbs?.toString('hex')}\n  ref ${refTbs?.toString('hex')}`);
  assert.ok(alg?.equals(refAlg as Buffer), `${label}: signatureAlgorithm differs`);
  if (signingKey.asymmetricKeyType !== 'ec') assert.ok(made.equals(ref), `${label}: a deterministic signature, so the whole certificate must be equal`);
  assert.ok(new X509Certificate(made).verify(createPublicKey(issuerKey)), `${label}: the signature verifies under the issuer's key`);
  assert.ok(new X509Certificate(ref).verify(createPublicKey(issuerKey)), `${label}: (the reference verifies too)`);
  return made;
}

const serial = (...b: number[]) => Uint8Array.from([...b, ...Array.from({ length: 16 - b.length }, (_, i) => (i * 37 + 11) & 0xff)]);

for (const caType of Object.keys(KEYS) as KeyName[]) {
  for (const leafType of Object.keys(LEAF_KEYS) as KeyName[]) {
    if (leafType !== caType && !(caType === 'ecdsa-p256' && leafType === 'rsa') && leafType !== 'ecdsa-p256') continue;
    test(`${caType} CA, ${leafType} leaves: every kind equals the @peculiar/x509 reference`, async () => {
      const caKey = KEYS[caType];
      const leafKey = LEAF_KEYS[leafType];
      const signer = toSigner(caKey);
      const caParams: IssueParams = { kind: 'ca', subjectKey: caKey, signer, commonName: 'Cockroach CA', now: NOW, lifetimeMs: 87840 * HOUR, serial: serial(0x12) };
      await compare('ca', caParams, caKey, caKey);
      const ca = await issueCertificate(caParams);
      const leaf = (kind: CertKind, extra: Partial<IssueParams>): IssueParams => ({ kind, subjectKey: leafKey, signer, issuer: ca, commonName: 'node', now: NOW, lifetimeMs: 43920 * HOUR, serial: serial(0x34), ...extra });
      await compare('node', leaf('node', { hosts: ['node1.example.com', 'localhost', '10.0.0.1', '::1', '2001:db8::7', '::ffff:192.0.2.1', '127.0.0.1'] }), caKey, caKey);
      await compare('node without hosts', leaf('node', { hosts: [] }), caKey, caKey);
      await compare('client', leaf('client', { commonName: 'root' }), caKey, caKey);
      await compare('client with a UTF-8 CN and tenant URIs', leaf('client', { commonName: 'ü_user*', uris: ['crdb://tenant/5/user/ü_user*', 'crdb://tenant-name/a b/user/x'] }), caKey, caKey);
      await compare('client with an empty CN', leaf('client', { commonName: '' }), caKey, caKey);
      await compare('tenant', leaf('tenant', { commonName: '7', hosts: ['localhost', '127.0.0.1'] }), caKey, caKey);
      await compare('tenant-signing', { kind: 'tenant-signing', subjectKey: leafKey, signer: toSigner(leafKey), commonName: 'Tenant 7 Token Signing Certificate', now: NOW, lifetimeMs: 43920 * HOUR, serial: Uint8Array.of(1) }, leafKey, leafKey);
    });
  }
}

test('validity: UTCTime for 1950-2049, GeneralizedTime outside, second precision', async () => {
  const key = KEYS['ecdsa-p256'];
  const signer = toSigner(key);
  const cases: [string, number, string][] = [
    ['a 30-year CA ends after 2049', 30 * 8766 * HOUR, 'GeneralizedTime'],
    ['-700000h starts before 1950', -700000 * HOUR, 'GeneralizedTime'],
    ['a year ends in 2027', 8766 * HOUR, 'UTCTime'],
  ];
  for (const [label, lifetimeMs, kind] of cases) {
    const der = await compare(label, { kind: 'ca', subjectKey: key, signer, commonName: 'Cockroach CA', now: NOW, lifetimeMs, serial: serial(0x55) }, key, key);
    const [tbs] = parts(der);
    const t = tbs as Buffer;
    const fields = children(t, readTlv(t, 0));
    const v = fields[4] as { start: number; end: number };
    const [nb, na] = children(t, { tag: 0x30, pos: v.start, start: v.start, end: v.end });
    assert.is(nb?.tag, 0x17, `${label}: NotBefore (2026) is UTCTime`);
    assert.is(na?.tag, kind === 'UTCTime' ? 0x17 : 0x18, `${label}: NotAfter is ${kind}`);
    const x = new X509Certificate(der);
    assert.is(new Date(x.validTo).getTime(), Math.floor((NOW.getTime() + lifetimeMs) / 1000) * 1000, `${label}: the year is read back right`);
  }
});

test('serials: positive, minimal, as @peculiar/x509 wrote them', async () => {
  const key = KEYS.ed25519;
  const signer = toSigner(key);
  for (const [label, s] of [
    ['high first bit gets a zero byte', serial(0xff)],
    ['leading zero bytes are dropped', serial(0x00, 0x00, 0x7f)],
    ['leading zero then high bit', serial(0x00, 0x80)],
    ['one byte', Uint8Array.of(1)],
  ] as [string, Uint8Array][]) {
    const der = await compare(label, { kind: 'ca', subjectKey: key, signer, commonName: 'Cockroach CA', now: NOW, lifetimeMs: 8766 * HOUR, serial: s }, key, key);
    const hex = new X509Certificate(der).serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
    assert.is(hex, Buffer.from(s).toString('hex').replace(/^0+(?=.)/, ''), label);
  }
  // An all-zero serial is replaced by random bytes, never written as 0.
  const der = issueCertificateDer({ kind: 'ca', subjectKey: key, signer, commonName: 'Cockroach CA', now: NOW, lifetimeMs: 8766 * HOUR, serial: new Uint8Array(16) });
  assert.is.not(new X509Certificate(der).serialNumber.replace(/^0+/, ''), '');
});

test('the signature algorithm follows the CA key', () => {
  const oids: [KeyName, string, string | null][] = [
    ['rsa', '1.2.840.113549.1.1.11', 'sha256'],
    ['ecdsa-p256', '1.2.840.10045.4.3.2', 'sha256'],
    ['ecdsa-p384', '1.2.840.10045.4.3.3', 'sha384'],
    ['ed25519', '1.3.101.112', null],
  ];
  for (const [type, oid, hash] of oids) {
    const s = toSigner(KEYS[type]);
    assert.is(s.oid, oid, type);
    assert.is(s.hash, hash, type);
  }
  assert.throws(() => toSigner(createPublicKey(KEYS.rsa)), /private key/);
});

test.run();
