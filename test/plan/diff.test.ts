// Table-driven: one real tree made by apply at a fixed instant, then for each row a copy of it is
// changed on disk (or the spec, or the clock) and the plan must name exactly the expected actions
// and reason codes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, cpSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply } from '../../src/apply.js';
import { plan } from '../../src/plan/plan.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { PLAN_ERROR_CODES, REASON_CODES, type Plan } from '../../src/plan/types.js';
import { tmpdir, setup } from '../helpers/index.js';

const T0 = new Date('2026-01-15T10:00:00Z');
const HOUR = 3600e3;
/** Leaves expire T0 + 43920h; the CA T0 + 87840h. */
const LEAF_EXPIRY = T0.getTime() + 43920 * HOUR;

type Doc = { nodes: { name: string; hosts: string[]; keySize?: number; keyType?: string }[]; clients: { user: string; lifetime?: string; pkcs8?: boolean; keyType?: string }[] } & Record<string, unknown>;

function spec(): Doc {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keySize: 1024 },
    defaults: { keySize: 1024 },
    nodes: [
      { name: 'node1', hosts: ['node1.example.com', '10.0.0.1'] },
      { name: 'node2', hosts: ['node2.example.com', '10.0.0.2'] },
    ],
    clients: [{ user: 'root' }],
  };
}

async function build(): Promise<string> {
  const dir = tmpdir();
  writeFileSync(path.join(dir, 'cluster-certs.yaml'), stringify(spec()));
  await apply(await loadSpec(path.join(dir, 'cluster-certs.yaml')), { now: () => T0 });
  return dir;
}

let base: string | undefined;
let other: string | undefined;

interface Case {
  name: string;
  /** Change the copy on disk (paths relative to its certs dir). */
  change?: (certs: string, ctx: { other: string; dir: string }) => void;
  edit?: (doc: Doc) => void;
  at?: number;
  /** `action artifact: codes` for every change that is not `keep`. */
  want: string[];
  errors?: string[];
  /** age identities the plan may decrypt with. */
  identities?: string[];
}

const at = (ms: number): number => ms;

// Encrypted keys: an age identity made now (age-keygen), and a recipient it is not.
const AGE_ID = /^AGE-SECRET-KEY-1\S+$/m.exec(execFileSync('age-keygen', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))?.[0] ?? '';
const OTHER_RECIPIENT = 'age1u7k5k0qkjtzqv7xnqaue2uyq4ugp4zk87m8wmdnfr3st32hsufys4ax25l';
const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
const encryptNode1 = (d: Doc): void => {
  (d.nodes[0] as Record<string, unknown>).encrypt = { age: [OTHER_RECIPIENT] };
};
/** node1's .age file and an index entry for it, saying it holds node1's key for `recipients`. */
function indexed(c: string, recipients: string[], extra: Record<string, unknown> = {}): void {
  writeFileSync(path.join(c, 'nodes/node1/node.key.age'), 'ciphertext');
  const entry = { key: 'nodes/node1/node.key', plaintextSha256: sha(readFileSync(path.join(c, 'nodes/node1/node.key'))), recipients, ageSha256: sha('ciphertext') };
  writeFileSync(path.join(c, 'age-index.json'), JSON.stringify({ format: 'certgen-age-index', version: 1, files: { 'nodes/node1/node.key.age': entry, ...extra } }));
}

const CASES: Case[] = [
  { name: 'nothing changed', want: [] },
  { name: 'a node folder removed', change: (c) => rmSync(path.join(c, 'nodes/node1'), { recursive: true }), want: ['create node/node1: missing'] },
  { name: 'a key deleted', change: (c) => rmSync(path.join(c, 'nodes/node1/node.key')), want: ['reissue node/node1: key-missing'] },
  {
    name: 'hosts edited',
    edit: (d) => {
      d.nodes[1]!.hosts = ['node2.example.com', '10.0.0.20'];
    },
    want: ['reissue node/node2: hosts-changed'],
  },
  {
    name: 'a client cert put where the node cert belongs',
    change: (c) => {
      cpSync(path.join(c, 'clients/root/client.root.crt'), path.join(c, 'nodes/node1/node.crt'));
      cpSync(path.join(c, 'clients/root/client.root.key'), path.join(c, 'nodes/node1/node.key'));
    },
    want: ['reissue node/node1: subject-changed, hosts-changed'],
  },
  {
    name: 'key size edited',
    edit: (d) => {
      d.nodes[0]!.keySize = 2048;
    },
    want: ['reissue node/node1: key-size-changed'],
  },
  {
    name: 'key type edited',
    edit: (d) => {
      d.nodes[0]!.keyType = 'ecdsa-p384';
      d.clients[0]!.keyType = 'ed25519';
    },
    want: ['reissue node/node1: key-type-changed', 'reissue client/root: key-type-changed'],
  },
  {
    name: 'lifetime shortened',
    edit: (d) => {
      d.clients[0]!.lifetime = '8760h';
    },
    want: ['reissue client/root: lifetime-changed'],
  },
  { name: 'inside renewBefore', at: at(LEAF_EXPIRY - 10 * 24 * HOUR), want: ['reissue node/node1: expiring', 'reissue node/node2: expiring', 'reissue client/root: expiring'] },
  { name: 'just outside renewBefore', at: at(LEAF_EXPIRY - 721 * HOUR), want: [] },
  {
    // With the default lifetimes a leaf expires when its CA has exactly one leaf lifetime left,
    // so a full-length replacement no longer fits: cockroach's lifetime rule, as a plan error.
    name: 'past expiry',
    at: at(LEAF_EXPIRY + 1000),
    want: ['reissue node/node1: expired', 'reissue node/node2: expired', 'reissue client/root: expired'],
    errors: ['node/node1: ca-lifetime-too-short', 'node/node2: ca-lifetime-too-short', 'client/root: ca-lifetime-too-short'],
  },
  {
    name: 'a pair from another CA',
    change: (c, x) => {
      for (const f of ['node.crt', 'node.key']) cpSync(path.join(x.other, 'certs/nodes/node2', f), path.join(c, 'nodes/node2', f));
    },
    want: ['reissue node/node2: not-signed-by-ca'],
  },
  {
    name: 'keys of two nodes swapped',
    change: (c) => {
      renameSync(path.join(c, 'nodes/node1/node.key'), path.join(c, 'swap'));
      renameSync(path.join(c, 'nodes/node2/node.key'), path.join(c, 'nodes/node1/node.key'));
      renameSync(path.join(c, 'swap'), path.join(c, 'nodes/node2/node.key'));
    },
    want: ['reissue node/node1: key-mismatch', 'reissue node/node2: key-mismatch'],
  },
  {
    name: 'a corrupt certificate',
    change: (c) => {
      const f = path.join(c, 'nodes/node1/node.crt');
      writeFileSync(f, readFileSync(f, 'latin1').replace(/\n[A-Za-z0-9+/]{64}\n/, '\n!!!!\n'));
    },
    want: ['reissue node/node1: unreadable'],
  },
  { name: 'a certificate in the key file', change: (c) => cpSync(path.join(c, 'nodes/node1/node.crt'), path.join(c, 'nodes/node1/node.key')), want: ['reissue node/node1: unreadable'] },
  { name: 'a key chmod 644', change: (c) => chmodSync(path.join(c, 'nodes/node1/node.key'), 0o644), want: ['fix-mode node/node1: mode-too-open'] },
  { name: 'a certificate chmod 600', change: (c) => chmodSync(path.join(c, 'clients/root/client.root.crt'), 0o600), want: ['fix-mode client/root: mode-changed'] },
  { name: 'a stale CA bundle copy', change: (c) => writeFileSync(path.join(c, 'nodes/node2/ca.crt'), 'old'), want: ['update-ca-bundle node/node2: ca-bundle-stale'] },
  { name: 'a missing CA bundle copy', change: (c) => rmSync(path.join(c, 'clients/root/ca.crt')), want: ['update-ca-bundle client/root: missing'] },
  {
    // node1's own pair stands in for a UI pair from another CA (test/plan/ui.test.ts has real ones).
    name: 'a provided UI file newer than its copy',
    edit: (d) => {
      (d.nodes[0] as Record<string, unknown>)['ui'] = { cert: 'ui/ui.crt', key: 'ui/ui.key' };
    },
    change: (c, x) => {
      mkdirSync(path.join(x.dir, 'ui'));
      cpSync(path.join(c, 'nodes/node1/node.crt'), path.join(x.dir, 'ui/ui.crt'));
      cpSync(path.join(c, 'nodes/node1/node.key'), path.join(x.dir, 'ui/ui.key'));
      cpSync(path.join(c, 'nodes/node2/node.crt'), path.join(c, 'nodes/node1/ui.crt'));
      cpSync(path.join(c, 'nodes/node1/node.key'), path.join(c, 'nodes/node1/ui.key'));
    },
    want: ['reissue node/node1: source-changed'],
  },
  {
    name: 'pkcs8 switched on',
    edit: (d) => {
      d.clients[0]!.pkcs8 = true;
    },
    want: ['create client/root: missing'],
  },
  {
    name: 'a node removed from the spec and a stray file',
    edit: (d) => {
      d.nodes = d.nodes.slice(0, 1);
    },
    change: (c) => writeFileSync(path.join(c, 'README'), 'x'),
    want: ['orphan README: not-in-spec', 'orphan node/node2: not-in-spec'],
  },
  { name: 'the CA key gone', change: (_c, x) => rmSync(path.join(x.dir, 'secrets/ca.key')), want: [], errors: ['ca: ca-key-missing'] },
  // A rotation state beside the spec that is not one: nothing about who signs can be trusted.
  { name: 'a broken rotation state', change: (_c, x) => writeFileSync(path.join(x.dir, 'cluster-certs.rotation.json'), '{"version": 1}'), want: [], errors: ['rotation: rotation-inconsistent'] },
  { name: 'the CA key swapped', change: (_c, x) => cpSync(path.join(x.other, 'secrets/ca.key'), path.join(x.dir, 'secrets/ca.key')), want: [], errors: ['ca: key-mismatch'] },
  { name: 'the CA expired', at: at(T0.getTime() + 87840 * HOUR + 1000), want: ['reissue node/node1: expired', 'reissue node/node2: expired', 'reissue client/root: expired'], errors: ['ca: expired'] },
  {
    name: 'a new leaf that would outlive the CA',
    at: at(T0.getTime() + 50000 * HOUR),
    change: (c) => rmSync(path.join(c, 'nodes/node1'), { recursive: true }),
    want: ['create node/node1: missing', 'reissue node/node2: expired', 'reissue client/root: expired'],
    errors: ['node/node1: ca-lifetime-too-short', 'node/node2: ca-lifetime-too-short', 'client/root: ca-lifetime-too-short'],
  },
  {
    name: 'a staged copy a killed apply left',
    change: (c) => writeFileSync(path.join(c, 'nodes/node1/.node.key.0123456789ab.tmp'), 'half a key'),
    want: ['orphan nodes/node1/.node.key.0123456789ab.tmp: interrupted-write'],
  },
  {
    name: 'a symlink where a key belongs',
    change: (c) => {
      rmSync(path.join(c, 'nodes/node1/node.key'));
      symlinkSync('/etc/hostname', path.join(c, 'nodes/node1/node.key'));
    },
    want: [],
    errors: ['node/node1: symlink'],
  },
  { name: 'the CA inside its leaves\' renewal window', at: at(T0.getTime() + 87840 * HOUR - 100 * HOUR), want: ['reissue node/node1: expired', 'reissue node/node2: expired', 'reissue client/root: expired'], errors: ['ca: ca-expiring'] },
  {
    name: 'the CA key, through a symlink, really inside the certs dir',
    change: (c, x) => {
      renameSync(path.join(x.dir, 'secrets/ca.key'), path.join(c, 'nodes/key-here'));
      symlinkSync(path.join(c, 'nodes/key-here'), path.join(x.dir, 'secrets/ca.key'));
    },
    want: [],
    errors: ['ca: ca-key-in-certs-dir'],
  },
  {
    name: 'a .gitignore lacking lines in a git work tree',
    change: (c, x) => {
      execFileSync('git', ['init', '-q', x.dir]);
      writeFileSync(path.join(c, '.gitignore'), '*.key\n');
    },
    want: ['update .gitignore: gitignore-incomplete'],
  },
  { name: 'an encrypted key whose .age file is not the one the index knows', edit: encryptNode1, change: (c) => writeFileSync(path.join(c, 'nodes/node1/node.key.age'), 'x'), want: ['update node/node1: age-stale', 'create age-index.json: missing'] },
  { name: 'an encrypted key, its .age file known: nothing to do', edit: encryptNode1, change: (c) => indexed(c, [OTHER_RECIPIENT]), want: [] },
  { name: 'an encrypted key for other recipients', edit: encryptNode1, change: (c) => indexed(c, ['age1ykn2snyrrp44mq6nurk34exe3mtah95fz62h7mx874avsr9htpdsyladpu']), want: ['update node/node1: age-recipients-changed', 'update age-index.json: age-index-stale'] },
  {
    name: 'an index entry for a key no longer encrypted',
    edit: encryptNode1,
    change: (c) => indexed(c, [OTHER_RECIPIENT], { 'nodes/node2/node.key.age': { key: 'nodes/node2/node.key', plaintextSha256: '', recipients: [], ageSha256: '' } }),
    want: ['update age-index.json: age-index-stale'],
  },
  {
    name: 'a key that exists only as its .age file, no identity',
    edit: encryptNode1,
    change: (c) => {
      indexed(c, [OTHER_RECIPIENT]);
      rmSync(path.join(c, 'nodes/node1/node.key'));
    },
    want: [],
    errors: ['node/node1: age-identity-needed'],
  },
  {
    name: 'a key that exists only as a .age file the identity cannot decrypt',
    edit: encryptNode1,
    identities: [AGE_ID],
    change: (c) => {
      indexed(c, [OTHER_RECIPIENT]);
      rmSync(path.join(c, 'nodes/node1/node.key'));
    },
    want: [],
    errors: ['node/node1: age-unreadable'],
  },
  {
    name: 'an .age CA key to be made without a recipient for it',
    edit: (d) => {
      d.caKey = 'secrets/ca.key.age';
    },
    change: (c) => rmSync(path.join(c, 'ca.crt')),
    want: [],
    errors: ['ca: age-recipients-needed'],
  },
  { name: 'ca.crt gone: a CA certificate is made for the existing key', change: (c) => rmSync(path.join(c, 'ca.crt')), want: ['create ca: missing', 'reissue node/node1: not-signed-by-ca', 'reissue node/node2: not-signed-by-ca', 'reissue client/root: not-signed-by-ca'] },
];

function describe(p: Plan): { want: string[]; errors: string[] } {
  return {
    want: p.changes.filter((c) => c.action !== 'keep').map((c) => `${c.action} ${c.artifact}: ${c.reasons.map((r) => r.code).join(', ')}`),
    errors: p.errors.map((e) => `${e.artifact}: ${e.code}`),
  };
}

const table = suite('diff, one row per reason');

setup(table, async () => {
  [base, other] = await Promise.all([build(), build()]);
});

for (const c of CASES) {
  table(c.name, async () => {
    if (!base || !other) throw new Error('the base trees were not built');
    const dir = tmpdir();
    cpSync(base, dir, { recursive: true, preserveTimestamps: true });
    const doc = spec();
    c.edit?.(doc);
    writeFileSync(path.join(dir, 'cluster-certs.yaml'), stringify(doc));
    c.change?.(path.join(dir, 'certs'), { other, dir });
    const p = await plan(await loadSpec(path.join(dir, 'cluster-certs.yaml')), { now: () => new Date(c.at ?? T0.getTime() + HOUR), ...(c.identities ? { identities: c.identities } : {}) });
    assert.equal(describe(p), { want: c.want, errors: c.errors ?? [] });
  });
}

table('every reason code is covered by a row', () => {
  const covered = new Set(CASES.flatMap((c) => [...c.want.flatMap((w) => w.split(': ')[1]?.split(', ') ?? []), ...(c.errors ?? []).map((e) => e.split(': ')[1] ?? '')]));
  // Derived from the plan's own lists: a new code without a row here fails.
  const missing = [...REASON_CODES, ...PLAN_ERROR_CODES].filter((code) => !covered.has(code));
  assert.equal(missing, []);
});

table.run();
