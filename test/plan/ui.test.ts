// A node's `ui:` (provided DB Console files) through plan and apply on real files: an organisational
// CA and a UI certificate made with openssl (certgen never makes these), one tree applied from a
// spec with defaults.ui and a node with its own, then for each row a copy of it is changed (the
// provided files, the copies, the spec, the clock) and the plan must give exactly the expected
// changes, reasons (with their files), errors and warnings. Each row that plans a change is applied,
// and the next plan must be empty; the copies are then byte for byte the provided files, keys 0600.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply, PlanBlockedError } from '../../src/apply.js';
import { plan } from '../../src/plan/plan.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import type { Plan } from '../../src/plan/types.js';
import { openssl, tmpdir, setup } from '../helpers/index.js';

const T0 = new Date();
const DAY = 24 * 3600e3;

/** An organisational CA, and UI pairs it signs with openssl (EC P-256), as an operator would get them. */
async function makeUi(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'org-ca.key'), '-out', path.join(dir, 'org-ca.crt'), '-subj', '/CN=Org UI CA', '-days', '400']);
  await issueUi(dir, 'ui', 200);
  await issueUi(dir, 'ui2', 200);
}

/** `<name>.crt` signed by the org CA for `days`, with `<name>.key` (made unless it exists). */
async function issueUi(dir: string, name: string, days: number): Promise<void> {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key];
  let exists = true;
  try {
    statSync(key);
  } catch {
    exists = false;
  }
  await openssl(['req', ...(exists ? ['-new', '-key', key] : newKey), '-out', csr, '-subj', '/CN=console.example.com']);
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, 'subjectAltName=DNS:console.example.com\nextendedKeyUsage=serverAuth\n');
  await openssl(['x509', '-req', '-in', csr, '-CA', path.join(dir, 'org-ca.crt'), '-CAkey', path.join(dir, 'org-ca.key'), '-days', String(days), '-out', path.join(dir, `${name}.crt`), '-extfile', ext]);
}

type Doc = Record<string, unknown> & { defaults: Record<string, unknown>; nodes: Record<string, unknown>[] };

function spec(): Doc {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keySize: 1024 },
    defaults: { keySize: 1024, ui: { cert: 'ui/ui.crt', key: 'ui/ui.key', ca: 'ui/org-ca.crt' } },
    nodes: [
      { name: 'node1', hosts: ['node1.example.com'] },
      { name: 'node2', hosts: ['node2.example.com'] },
      { name: 'node3', hosts: ['node3.example.com'], ui: { cert: 'ui/ui2.crt', key: 'ui/ui2.key' } },
    ],
  };
}

interface Case {
  name: string;
  change?: (dir: string) => void | Promise<void>;
  edit?: (doc: Doc) => void;
  at?: number;
  want: string[];
  errors?: string[];
  warnings?: RegExp[];
  check?: (p: Plan) => void;
}

const CASES: Case[] = [
  { name: 'nothing changed', want: [] },
  {
    name: 'a copy removed',
    change: (d) => rmSync(path.join(d, 'certs/nodes/node1/ui.key')),
    want: ['reissue node/node1: missing'],
    check: (p) => {
      const c = p.changes.find((x) => x.artifact === 'node/node1' && x.action !== 'keep');
      assert.equal(c?.ops.write.map((w) => [w.file, w.content, w.mode.toString(8), w.source]), [['nodes/node1/ui.key', 'copy', '600', '../ui/ui.key']]);
      assert.match(c?.ops.write[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
    },
  },
  { name: 'a copy edited in the folder', change: (d) => writeFileSync(path.join(d, 'certs/nodes/node2/ca-ui.crt'), 'edited'), want: ['reissue node/node2: source-changed'] },
  {
    name: 'the provided certificate renewed (same key): every node using it',
    change: (d) => issueUi(path.join(d, 'ui'), 'ui', 300),
    want: ['reissue node/node1: source-changed', 'reissue node/node2: source-changed'],
    check: (p) => assert.equal(p.changes.filter((c) => c.action === 'reissue').map((c) => c.reasons[0]?.file), ['nodes/node1/ui.crt', 'nodes/node2/ui.crt']),
  },
  {
    name: 'a new provided pair (new key): the key copy no longer matches',
    change: (d) => {
      rmSync(path.join(d, 'ui/ui2.key'));
      return issueUi(path.join(d, 'ui'), 'ui2', 100);
    },
    want: ['reissue node/node3: source-changed, key-mismatch'],
    check: (p) => assert.equal(p.changes.find((c) => c.action === 'reissue')?.reasons.map((r) => r.file), ['nodes/node3/ui.crt', 'nodes/node3/ui.key']),
  },
  { name: 'the key copy chmod 644', change: (d) => chmodSync(path.join(d, 'certs/nodes/node3/ui.key'), 0o644), want: ['fix-mode node/node3: mode-too-open'] },
  {
    name: 'the provided key gone: one error naming it, for the nodes using it',
    change: (d) => rmSync(path.join(d, 'ui/ui.key')),
    want: [],
    errors: ['ui: unreadable: the provided UI key ui/ui.key cannot be read (no such file): certgen copies it into the node\'s folder and never makes it; fix the path in ui:, or put the file there (the ui: of node1, node2)'],
  },
  {
    name: 'a provided key that does not match the provided certificate',
    change: (d) => cpSync(path.join(d, 'ui/ui.key'), path.join(d, 'ui/ui2.key')),
    want: [],
    errors: ['node/node3: key-mismatch: the provided UI key ui/ui2.key does not match the provided UI certificate ui/ui2.crt: CockroachDB would refuse the pair (the ui: of node3)'],
  },
  {
    name: 'a provided certificate that is not one',
    change: (d) => writeFileSync(path.join(d, 'ui/ui2.crt'), 'not a certificate\n'),
    want: [],
    errors: [/^node\/node3: unreadable: the provided UI certificate ui\/ui2\.crt is not a certificate CockroachDB can load \(.+\) \(the ui: of node3\)$/.source],
  },
  {
    name: 'a provided file that is a folder',
    change: (d) => {
      rmSync(path.join(d, 'ui/org-ca.crt'));
      mkdirSync(path.join(d, 'ui/org-ca.crt'));
    },
    want: [],
    errors: [/^ui: unreadable: the provided UI CA certificate ui\/org-ca\.crt cannot be read \(it is a folder\)/.source],
  },
  { name: 'the provided certificate inside renewBefore: a warning, nothing to do', at: T0.getTime() + 190 * DAY, want: [], warnings: [/^the provided UI certificate ui\/ui\.crt \(the ui: of node1, node2\) expires on .* left, less than renewBefore 720h0m0s\): renew it with the CA that issued it/, /ui\/ui2\.crt \(the ui: of node3\) expires/] },
  { name: 'the provided certificate expired: a warning', at: T0.getTime() + 202 * DAY, want: [], warnings: [/ui\/ui\.crt \(the ui: of node1, node2\) expired on /, /ui\/ui2\.crt \(the ui: of node3\) expired on /] },
  {
    name: 'ui removed from defaults: the copies are orphans',
    edit: (d) => {
      delete d.defaults['ui'];
    },
    want: ['orphan nodes/node1/ca-ui.crt: not-in-spec', 'orphan nodes/node1/ui.crt: not-in-spec', 'orphan nodes/node1/ui.key: not-in-spec', 'orphan nodes/node2/ca-ui.crt: not-in-spec', 'orphan nodes/node2/ui.crt: not-in-spec', 'orphan nodes/node2/ui.key: not-in-spec'],
  },
  {
    name: 'a node switched to the other pair, without a CA file',
    edit: (d) => {
      d.nodes[0]!['ui'] = { cert: 'ui/ui2.crt', key: 'ui/ui2.key' };
    },
    want: ['reissue node/node1: source-changed, key-mismatch', 'orphan nodes/node1/ca-ui.crt: not-in-spec'],
  },
];

function describe(p: Plan): { want: string[]; errors: string[] } {
  return {
    want: p.changes.filter((c) => c.action !== 'keep').map((c) => `${c.action} ${c.artifact}: ${c.reasons.map((r) => r.code).join(', ')}`),
    errors: p.errors.map((e) => `${e.artifact}: ${e.code}: ${e.message}`),
  };
}

const table = suite('ui: provided files, planned and copied');

let base: string | undefined;
setup(table, async () => {
  if (base) return;
  base = tmpdir();
  await makeUi(path.join(base, 'ui'));
  writeFileSync(path.join(base, 'cluster-certs.yaml'), stringify(spec()));
  const r = await apply(await loadSpec(path.join(base, 'cluster-certs.yaml')), { now: () => T0, journal: false });
  assert.equal(r.applied.map((c) => `${c.action} ${c.artifact}`), ['create ca', 'create node/node1', 'create node/node1', 'create node/node2', 'create node/node2', 'create node/node3', 'create node/node3']);
});

table('the first apply copied every provided file, byte for byte, keys 0600', () => {
  const certs = path.join(base as string, 'certs/nodes');
  const ui = path.join(base as string, 'ui');
  const same = (a: string, b: string): boolean => readFileSync(a).equals(readFileSync(b));
  for (const n of ['node1', 'node2']) {
    assert.ok(same(path.join(certs, n, 'ui.crt'), path.join(ui, 'ui.crt')));
    assert.ok(same(path.join(certs, n, 'ui.key'), path.join(ui, 'ui.key')));
    assert.ok(same(path.join(certs, n, 'ca-ui.crt'), path.join(ui, 'org-ca.crt')));
    assert.is(statSync(path.join(certs, n, 'ui.key')).mode & 0o777, 0o600);
    assert.is(statSync(path.join(certs, n, 'ui.crt')).mode & 0o777, 0o644);
  }
  assert.ok(same(path.join(certs, 'node3/ui.crt'), path.join(ui, 'ui2.crt')));
  assert.throws(() => statSync(path.join(certs, 'node3/ca-ui.crt')), 'no ca: no ca-ui.crt');
});

for (const c of CASES) {
  table(c.name, async () => {
    const dir = tmpdir();
    cpSync(base as string, dir, { recursive: true });
    const doc = spec();
    c.edit?.(doc);
    const file = path.join(dir, 'cluster-certs.yaml');
    writeFileSync(file, stringify(doc));
    await c.change?.(dir);
    const s = await loadSpec(file);
    const now = new Date(c.at ?? T0.getTime() + 3600e3);
    const p = await plan(s, { now: () => now });
    const got = describe(p);
    assert.equal(got.want, c.want);
    const errors = c.errors ?? [];
    assert.is(got.errors.length, errors.length, got.errors.join('\n'));
    errors.forEach((e, i) => assert.match(got.errors[i] ?? '', e.startsWith('^') ? new RegExp(e) : e));
    const warnings = c.warnings ?? [];
    assert.is(p.warnings.length, warnings.length, p.warnings.join('\n'));
    warnings.forEach((w, i) => assert.match(p.warnings[i] ?? '', w));
    c.check?.(p);
    if (errors.length > 0) {
      let refused: unknown;
      await apply(s, { now: () => now, journal: false }).catch((err: unknown) => (refused = err));
      assert.instance(refused, PlanBlockedError);
      return;
    }
    await apply(s, { now: () => now, prune: true, journal: false });
    assert.equal(describe(await plan(s, { now: () => now, prune: true })).want, [], 'one apply converges');
    for (const n of s.nodes) {
      if (!n.ui) continue;
      const folder = path.join(s.certsDir, 'nodes', n.name);
      assert.ok(readFileSync(path.join(folder, 'ui.crt')).equals(readFileSync(n.ui.cert)), `${n.name}/ui.crt is the provided file`);
      assert.ok(readFileSync(path.join(folder, 'ui.key')).equals(readFileSync(n.ui.key)), `${n.name}/ui.key is the provided file`);
      assert.is(statSync(path.join(folder, 'ui.key')).mode & 0o777, 0o600);
    }
  });
}

table.run();
