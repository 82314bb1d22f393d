// The `tenants:` of a spec through plan and apply on real trees: one tree made by apply at a fixed
// instant (two tenants, one with a signing pair), then for each row a copy of it is changed on disk
// (or the spec, or the clock) and the plan must give exactly the expected changes, reason codes and
// reason facts (the file, the hosts added and removed, the key types, the expiry). Each row that
// plans a change is then applied, and the next plan must be empty (one apply converges).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply } from '../../src/apply.js';
import { plan } from '../../src/plan/plan.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { findPrivateKeyInPem, generateKey, toSigner } from '../../src/pki/keys.js';
import { issueCertificate } from '../../src/pki/issue.js';
import { encodePem } from '../../src/pki/read/pem.js';
import type { Change, Plan, Reason } from '../../src/plan/types.js';
import { tmpdir, setup } from '../helpers/index.js';

const T0 = new Date('2026-01-15T10:00:00Z');
const HOUR = 3600e3;
/** Leaves expire T0 + 43920h. */
const LEAF_EXPIRY = T0.getTime() + 43920 * HOUR;

type Tenant = { id: number; hosts?: string[]; signing?: boolean; keyType?: string; lifetime?: string };
type Doc = { tenants: Tenant[] } & Record<string, unknown>;

function spec(): Doc {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keySize: 1024 },
    defaults: { keySize: 1024 },
    nodes: [{ name: 'node1', hosts: ['node1.example.com'] }],
    tenants: [
      { id: 5, hosts: ['tenant5.example.com', '10.0.0.5'], signing: true },
      { id: 10, hosts: ['tenant10.example.com'] },
    ],
  };
}

async function build(doc: Doc = spec()): Promise<string> {
  const dir = tmpdir();
  writeFileSync(path.join(dir, 'cluster-certs.yaml'), stringify(doc));
  await apply(await loadSpec(path.join(dir, 'cluster-certs.yaml')), { now: () => T0, journal: false });
  return dir;
}

/** A certificate with tenant 5's signing key and subject, signed by another key: not self-signed. */
async function notSelfSigned(certs: string): Promise<void> {
  const key = findPrivateKeyInPem(readFileSync(path.join(certs, 'tenants/5/tenant-signing.5.key'), 'latin1'));
  const other = (await generateKey({ type: 'ed25519' })).privateKey;
  const cert = await issueCertificate({ kind: 'tenant-signing', subjectKey: key, signer: await toSigner(other), commonName: 'Tenant 5 Token Signing Certificate', now: T0, lifetimeMs: 43920 * HOUR, serial: Uint8Array.of(1) });
  writeFileSync(path.join(certs, 'tenants/5/tenant-signing.5.crt'), encodePem('CERTIFICATE', Buffer.from(cert.rawData)));
}

interface Case {
  name: string;
  change?: (certs: string, ctx: { other: string; dir: string }) => void | Promise<void>;
  edit?: (doc: Doc) => void;
  at?: number;
  /** `action artifact: codes` for every change that is not `keep`, in plan order. */
  want: string[];
  /** The artifacts kept (default: those no `want` line names). */
  keep?: string[];
  /** Checks of the reasons' facts and the ops. */
  check?: (p: Plan) => void;
}

const reason = (p: Plan, artifact: string, code: Reason['code']): Reason => {
  const r = p.changes.filter((c) => c.artifact === artifact).flatMap((c) => c.reasons).find((x) => x.code === code);
  assert.ok(r, `${artifact} has a ${code} reason`);
  return r as Reason;
};
const changes = (p: Plan, artifact: string): Change[] => p.changes.filter((c) => c.artifact === artifact && c.action !== 'keep');
const written = (c: Change | undefined): string[] => (c?.ops.write ?? []).map((w) => w.file);

const CLIENT5 = ['tenants/5/ca.crt', 'tenants/5/ca-client-tenant.crt', 'tenants/5/client-tenant.5.crt', 'tenants/5/client-tenant.5.key'];
const SIGNING5 = ['tenants/5/tenant-signing.5.crt', 'tenants/5/tenant-signing.5.key'];

const CASES: Case[] = [
  { name: 'nothing changed: one keep per tenant folder', want: [], keep: ['ca', 'node/node1', 'tenant/5', 'tenant/10'] },
  {
    name: 'the folder removed: both pairs created',
    change: (c) => rmSync(path.join(c, 'tenants/5'), { recursive: true }),
    want: ['create tenant/5: missing', 'create tenant/5: missing'],
    check: (p) => {
      const [client, signing] = changes(p, 'tenant/5');
      assert.equal(written(client), CLIENT5);
      const { signer, ...issue } = client?.ops.issue ?? { signer: '' };
      assert.equal(issue, { kind: 'tenant', commonName: '5', hosts: ['tenant5.example.com', '10.0.0.5'], lifetime: '43920h0m0s' });
      assert.match(signer, /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/, 'signed by the CA, by fingerprint');
      assert.equal(client?.ops.newKey, { type: 'rsa', bits: 1024 });
      assert.equal(written(signing), SIGNING5);
      assert.equal(signing?.ops.issue, { kind: 'tenant-signing', commonName: 'Tenant 5 Token Signing Certificate', lifetime: '43920h0m0s', signer: 'self' });
      assert.equal(signing?.ops.newKey, { type: 'ed25519' }, 'the signing key is Ed25519 whatever keyType says');
    },
  },
  {
    name: 'the tenants folder removed: every tenant created',
    change: (c) => rmSync(path.join(c, 'tenants'), { recursive: true }),
    want: ['create tenant/5: missing', 'create tenant/5: missing', 'create tenant/10: missing'],
  },
  {
    name: 'the signing key deleted: only the signing pair, no keep beside it',
    change: (c) => rmSync(path.join(c, 'tenants/5/tenant-signing.5.key')),
    want: ['reissue tenant/5: key-missing'],
    keep: ['ca', 'node/node1', 'tenant/10'],
    check: (p) => {
      assert.equal(written(changes(p, 'tenant/5')[0]), SIGNING5);
      assert.is(reason(p, 'tenant/5', 'key-missing').file, 'tenants/5/tenant-signing.5.key');
    },
  },
  {
    name: 'the client certificate missing',
    change: (c) => rmSync(path.join(c, 'tenants/10/client-tenant.10.crt')),
    want: ['reissue tenant/10: missing'],
    check: (p) => {
      assert.is(reason(p, 'tenant/10', 'missing').file, 'tenants/10/client-tenant.10.crt');
      // The bundle copies are up to date: the reissue writes the pair only.
      assert.equal(written(changes(p, 'tenant/10')[0]), ['tenants/10/client-tenant.10.crt', 'tenants/10/client-tenant.10.key']);
    },
  },
  {
    name: 'hosts edited',
    edit: (d) => {
      d.tenants[0]!.hosts = ['tenant5.example.com', '10.0.0.50', 'sql5.internal'];
    },
    want: ['reissue tenant/5: hosts-changed'],
    check: (p) => {
      const r = reason(p, 'tenant/5', 'hosts-changed');
      assert.equal(r.added, ['sql5.internal', '10.0.0.50']);
      assert.equal(r.removed, ['10.0.0.5']);
      assert.is(r.file, 'tenants/5/client-tenant.5.crt');
    },
  },
  {
    name: 'hosts left out: cockroach\'s default hosts',
    edit: (d) => {
      delete d.tenants[1]!.hosts;
    },
    want: ['reissue tenant/10: hosts-changed'],
    check: (p) => {
      const r = reason(p, 'tenant/10', 'hosts-changed');
      assert.equal(r.added, ['localhost', '*.local', '127.0.0.1', '::1']);
      assert.equal(r.removed, ['tenant10.example.com']);
    },
  },
  {
    name: 'keys of the two tenants swapped',
    change: (c) => {
      const a = path.join(c, 'tenants/5/client-tenant.5.key');
      const b = path.join(c, 'tenants/10/client-tenant.10.key');
      const ka = readFileSync(a);
      writeFileSync(a, readFileSync(b));
      writeFileSync(b, ka);
    },
    want: ['reissue tenant/5: key-mismatch', 'reissue tenant/10: key-mismatch'],
    check: (p) => assert.is(reason(p, 'tenant/5', 'key-mismatch').file, 'tenants/5/client-tenant.5.key'),
  },
  {
    name: 'the signing key of another tenant',
    change: (c, x) => cpSync(path.join(x.other, 'certs/tenants/5/tenant-signing.5.key'), path.join(c, 'tenants/5/tenant-signing.5.key')),
    want: ['reissue tenant/5: key-mismatch'],
    check: (p) => assert.is(reason(p, 'tenant/5', 'key-mismatch').file, 'tenants/5/tenant-signing.5.key'),
  },
  {
    name: 'key type edited: the client key only',
    edit: (d) => {
      d.tenants[0]!.keyType = 'ecdsa-p256';
    },
    want: ['reissue tenant/5: key-type-changed'],
    check: (p) => {
      const r = reason(p, 'tenant/5', 'key-type-changed');
      assert.equal([r.actual, r.expected, r.file], ['RSA 1024', 'ECDSA P-256', 'tenants/5/client-tenant.5.key']);
      assert.equal(changes(p, 'tenant/5')[0]?.ops.newKey, { type: 'ecdsa-p256' });
    },
  },
  {
    name: 'a signing pair that is not Ed25519',
    change: (c) => {
      cpSync(path.join(c, 'tenants/10/client-tenant.10.crt'), path.join(c, 'tenants/5/tenant-signing.5.crt'));
      cpSync(path.join(c, 'tenants/10/client-tenant.10.key'), path.join(c, 'tenants/5/tenant-signing.5.key'));
    },
    want: ['reissue tenant/5: not-signed-by-ca, subject-changed, key-type-changed'],
    check: (p) => {
      const r = reason(p, 'tenant/5', 'subject-changed');
      assert.equal([r.actual, r.expected], ['O=Cockroach, OU=Tenants, CN=10', 'CN=Tenant 5 Token Signing Certificate']);
      assert.equal([reason(p, 'tenant/5', 'key-type-changed').actual, reason(p, 'tenant/5', 'key-type-changed').expected], ['RSA 1024', 'Ed25519']);
    },
  },
  {
    name: 'a signing certificate not signed by its own key',
    change: (c) => notSelfSigned(c),
    want: ['reissue tenant/5: not-signed-by-ca'],
    check: (p) => assert.match(reason(p, 'tenant/5', 'not-signed-by-ca').message, /tenant-signing\.5\.crt is not self-signed/),
  },
  {
    name: 'a client pair signed by another CA',
    change: (c, x) => {
      for (const f of ['client-tenant.10.crt', 'client-tenant.10.key']) cpSync(path.join(x.other, 'certs/tenants/10', f), path.join(c, 'tenants/10', f));
    },
    want: ['reissue tenant/10: not-signed-by-ca'],
    check: (p) => assert.match(reason(p, 'tenant/10', 'not-signed-by-ca').message, /client-tenant\.10\.crt is not signed by the CA in ca\.crt/),
  },
  {
    name: 'a node\'s pair put where the tenant\'s belongs',
    change: (c) => {
      cpSync(path.join(c, 'nodes/node1/node.crt'), path.join(c, 'tenants/10/client-tenant.10.crt'));
      cpSync(path.join(c, 'nodes/node1/node.key'), path.join(c, 'tenants/10/client-tenant.10.key'));
    },
    want: ['reissue tenant/10: subject-changed, hosts-changed'],
    check: (p) => assert.equal([reason(p, 'tenant/10', 'subject-changed').actual, reason(p, 'tenant/10', 'subject-changed').expected], ['O=Cockroach, CN=node', 'O=Cockroach, OU=Tenants, CN=10']),
  },
  {
    name: 'inside renewBefore: both pairs of tenant 5, each with its expiry',
    at: LEAF_EXPIRY - 10 * 24 * HOUR,
    want: ['reissue node/node1: expiring', 'reissue tenant/5: expiring', 'reissue tenant/5: expiring', 'reissue tenant/10: expiring'],
    check: (p) => {
      const rs = changes(p, 'tenant/5').map((c) => c.reasons[0] as Reason);
      assert.equal(rs.map((r) => r.file), ['tenants/5/client-tenant.5.crt', 'tenants/5/tenant-signing.5.crt']);
      for (const r of rs) assert.equal([r.notAfter, r.timeLeft, r.renewBefore], [new Date(LEAF_EXPIRY).toISOString(), '240h0m0s', '720h0m0s']);
    },
  },
  {
    name: 'lifetime shortened',
    edit: (d) => {
      d.tenants[1]!.lifetime = '8760h';
    },
    want: ['reissue tenant/10: lifetime-changed'],
  },
  {
    name: 'a stale ca-client-tenant.crt',
    change: (c) => writeFileSync(path.join(c, 'tenants/10/ca-client-tenant.crt'), 'old'),
    want: ['update-ca-bundle tenant/10: ca-bundle-stale'],
    check: (p) => assert.equal(written(changes(p, 'tenant/10')[0]), ['tenants/10/ca-client-tenant.crt']),
  },
  { name: 'a missing ca.crt copy', change: (c) => rmSync(path.join(c, 'tenants/5/ca.crt')), want: ['update-ca-bundle tenant/5: missing'] },
  {
    name: 'the signing key chmod 644, the folder 755',
    change: (c) => {
      chmodSync(path.join(c, 'tenants/5/tenant-signing.5.key'), 0o644);
      chmodSync(path.join(c, 'tenants/5'), 0o755);
    },
    want: ['fix-mode tenant/5: mode-too-open', 'fix-mode tenant/5: mode-too-open'],
    check: (p) => assert.equal(changes(p, 'tenant/5').flatMap((c) => c.ops.chmod.map((m) => `${m.file} ${m.mode.toString(8)}`)), ['tenants/5 700', 'tenants/5/tenant-signing.5.key 600']),
  },
  {
    name: 'signing switched off: its files are orphans',
    edit: (d) => {
      d.tenants[0]!.signing = false;
    },
    want: ['orphan tenants/5/tenant-signing.5.crt: not-in-spec', 'orphan tenants/5/tenant-signing.5.key: not-in-spec'],
  },
  {
    name: 'signing switched on',
    edit: (d) => {
      d.tenants[1]!.signing = true;
    },
    want: ['create tenant/10: missing'],
    check: (p) => assert.equal(written(changes(p, 'tenant/10')[0]), ['tenants/10/tenant-signing.10.crt', 'tenants/10/tenant-signing.10.key']),
  },
  {
    name: 'a tenant removed from the spec',
    edit: (d) => {
      d.tenants = d.tenants.slice(0, 1);
    },
    want: ['orphan tenant/10: not-in-spec'],
  },
  {
    name: 'a new CA: the client pairs are reissued, the self-signed pair is not',
    change: (c, x) => {
      rmSync(path.join(c, 'ca.crt'));
      rmSync(path.join(x.dir, 'secrets/ca.key'));
    },
    want: ['create ca: missing', 'reissue node/node1: not-signed-by-ca', 'reissue tenant/5: not-signed-by-ca', 'reissue tenant/10: not-signed-by-ca'],
    check: (p) => assert.equal(written(changes(p, 'tenant/5')[0]), CLIENT5),
  },
];

function describe(p: Plan): { want: string[]; keep: string[] } {
  return {
    want: p.changes.filter((c) => c.action !== 'keep').map((c) => `${c.action} ${c.artifact}: ${c.reasons.map((r) => r.code).join(', ')}`),
    keep: p.changes.filter((c) => c.action === 'keep').map((c) => c.artifact),
  };
}

const table = suite('tenants: plan, one row per reason, then apply converges');

let base: string | undefined;
let other: string | undefined;
setup(table, async () => {
  base ??= await build();
  other ??= await build();
});

for (const c of CASES) {
  table(c.name, async () => {
    const dir = tmpdir();
    cpSync(base as string, dir, { recursive: true });
    const doc = spec();
    c.edit?.(doc);
    const file = path.join(dir, 'cluster-certs.yaml');
    writeFileSync(file, stringify(doc));
    await c.change?.(path.join(dir, 'certs'), { other: other as string, dir });
    const s = await loadSpec(file);
    const now = new Date(c.at ?? T0.getTime() + HOUR);
    const p = await plan(s, { now: () => now });
    assert.equal(p.errors, []);
    const got = describe(p);
    assert.equal(got.want, c.want);
    if (c.keep) assert.equal(got.keep, c.keep);
    const named = new Set(c.want.map((w) => w.split(' ')[1]));
    for (const k of got.keep) assert.not.ok(named.has(k), `${k} is kept and changed at once`);
    c.check?.(p);
    await apply(s, { now: () => now, prune: true, journal: false });
    const again = await plan(s, { now: () => now, prune: true });
    assert.equal(describe(again).want, [], 'one apply converges');
  });
}

table.run();
