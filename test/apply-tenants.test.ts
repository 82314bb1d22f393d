// `tenants:` through apply on real files: what apply writes under tenants/<id>/ is what
// `cert create-tenant-client` and `create-tenant-signing` write with the same CA, field by field as
// openssl prints them (serials, times and keys aside), with the same key encodings and modes; Go's
// crypto/x509 parses each certificate and loads each pair with tls.X509KeyPair; openssl verifies
// the tenant client certificate against the folder's ca-client-tenant.crt for both purposes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply } from '../src/apply.js';
import { loadSpec } from '../src/cluster-spec/load-spec.js';
import { createTenantClient, createTenantSigning } from '../src/cert/commands.js';
import { openssl, opensslStatus, tmpdir } from './helpers/index.js';
import { goParse } from './cert/go-judge.js';

const T0 = new Date('2026-04-01T08:00:00Z');
const HOUR = 3600e3;
const mode = (f: string): number => statSync(f).mode & 0o777;

/** openssl's text of a certificate without what differs between two makings (serial, times, key, signature). */
async function fields(file: string): Promise<string> {
  const text = await openssl(['x509', '-in', file, '-noout', '-text', '-certopt', 'no_pubkey,no_sigdump,no_serial,no_validity']);
  return text.replace(/(X509v3 (Subject|Authority) Key Identifier:.*\n\s+)[0-9A-F:]+/g, '$1<id>');
}

const t = suite('apply: tenant folders as cert create-tenant-* makes them');

t('the files, modes and fields of a tenant with a signing pair, and a tenant with default hosts', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(
    file,
    stringify({
      certsDir: 'certs',
      caKey: 'secrets/ca.key',
      ca: { keySize: 1024 },
      defaults: { keySize: 1024 },
      nodes: [{ name: 'node1', hosts: ['localhost'] }],
      tenants: [
        { id: 10, hosts: ['tenant10.example.com', '*.svc', '10.0.0.7', '::1'], signing: true },
        { id: 11, keyType: 'ecdsa-p256' },
      ],
    }),
  );
  const spec = await loadSpec(file);
  const r = await apply(spec, { now: () => T0, journal: false });
  assert.equal(r.applied.map((c) => `${c.action} ${c.artifact}`), ['create ca', 'create node/node1', 'create tenant/10', 'create tenant/10', 'create tenant/11']);
  const certs = path.join(dir, 'certs');
  assert.equal(readdirSync(path.join(certs, 'tenants/10')).sort(), ['ca-client-tenant.crt', 'ca.crt', 'client-tenant.10.crt', 'client-tenant.10.key', 'tenant-signing.10.crt', 'tenant-signing.10.key']);
  assert.equal(readdirSync(path.join(certs, 'tenants/11')).sort(), ['ca-client-tenant.crt', 'ca.crt', 'client-tenant.11.crt', 'client-tenant.11.key']);
  assert.is(mode(path.join(certs, 'tenants/10')), 0o700);
  for (const f of ['ca.crt', 'ca-client-tenant.crt', 'client-tenant.10.crt', 'tenant-signing.10.crt']) assert.is(mode(path.join(certs, 'tenants/10', f)), 0o644, f);
  for (const f of ['client-tenant.10.key', 'tenant-signing.10.key']) assert.is(mode(path.join(certs, 'tenants/10', f)), 0o600, f);
  assert.ok(readFileSync(path.join(certs, 'tenants/10/ca-client-tenant.crt')).equals(readFileSync(path.join(certs, 'ca.crt'))), 'ca-client-tenant.crt is the cluster CA');

  // The same tenants made by the cert commands, signed by the same CA.
  const ref = path.join(dir, 'ref');
  mkdirSync(ref);
  cpSync(path.join(certs, 'ca.crt'), path.join(ref, 'ca.crt'));
  const now = (): Date => T0;
  await createTenantClient({ certsDir: ref, caKey: spec.caKey, keySize: 1024, now }, '10', ['tenant10.example.com', '*.svc', '10.0.0.7', '::1']);
  await createTenantClient({ certsDir: ref, caKey: spec.caKey, keyType: 'ecdsa-p256', now }, '11');
  await createTenantSigning({ certsDir: ref, now }, '10');
  const pairs: [string, string][] = [
    ['tenants/10/client-tenant.10.crt', 'client-tenant.10.crt'],
    ['tenants/10/tenant-signing.10.crt', 'tenant-signing.10.crt'],
    ['tenants/11/client-tenant.11.crt', 'client-tenant.11.crt'],
  ];
  for (const [mine, theirs] of pairs) {
    assert.is(await fields(path.join(certs, mine)), await fields(path.join(ref, theirs)), mine);
    const keyOf = (f: string): string => f.replace(/\.crt$/, '.key');
    const header = (f: string): string => readFileSync(f, 'latin1').split('\n')[0] ?? '';
    assert.is(header(path.join(certs, keyOf(mine))), header(path.join(ref, keyOf(theirs))), `${keyOf(mine)}: the same key encoding`);
  }
  assert.is(readFileSync(path.join(certs, 'tenants/10/tenant-signing.10.key'), 'latin1').split('\n')[0], '-----BEGIN PRIVATE KEY-----', 'Ed25519 as PKCS#8');
  const serial = await openssl(['x509', '-in', path.join(certs, 'tenants/10/tenant-signing.10.crt'), '-noout', '-serial']);
  assert.is(serial.trim(), 'serial=01');
  const dates = await openssl(['x509', '-in', path.join(certs, 'tenants/10/client-tenant.10.crt'), '-noout', '-startdate', '-enddate']);
  assert.is(dates.trim(), 'notBefore=Mar 31 08:00:00 2026 GMT\nnotAfter=Apr  5 08:00:00 2031 GMT', 'lifetime 43920h, backdated 24h');

  // Go: each certificate parses, each pair loads; the fields CockroachDB reads.
  const [c10, s10, c11] = goParse(pairs.map(([mine]) => [path.join(certs, mine), path.join(certs, mine.replace(/\.crt$/, '.key'))]));
  for (const v of [c10, s10, c11]) {
    assert.ok(v?.ok, v?.error);
    assert.is(v?.keyPair, 'ok');
  }
  assert.is(c10?.subject, 'CN=10,OU=Tenants,O=Cockroach');
  assert.equal(c10?.extKeyUsage, ['clientAuth', 'serverAuth']);
  assert.equal([c10?.dns, c10?.ips], [['tenant10.example.com', '*.svc'], ['10.0.0.7', '::1']]);
  assert.is(s10?.subject, 'CN=Tenant 10 Token Signing Certificate');
  assert.is(s10?.issuer, s10?.subject);
  assert.is(s10?.publicKeyAlgorithm, 'Ed25519');
  assert.equal([s10?.keyUsage, s10?.basicConstraints, s10?.isCA], [1, true, false]);
  assert.equal([c11?.dns, c11?.ips, c11?.publicKeyAlgorithm], [['localhost', '*.local'], ['127.0.0.1', '::1'], 'ECDSA']);
  for (const purpose of ['sslclient', 'sslserver']) {
    const v = await opensslStatus(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', path.join(certs, 'tenants/10/ca-client-tenant.crt'), path.join(certs, 'tenants/10/client-tenant.10.crt')]);
    assert.is(v.code, 0, v.out);
  }

  // Converged: a second apply changes nothing.
  const again = await apply(spec, { now: () => new Date(T0.getTime() + HOUR), journal: false });
  assert.equal(again.applied, []);
});

t.run();
