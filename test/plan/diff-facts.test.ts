// The pure planner on in-memory facts: one cluster issued in memory (test/plan/facts.ts), then for
// each row a copy of its ActualTree value is edited (bytes, modes, types, orphans, the root, the CA
// key), or the spec, or the clock, and diff() must give exactly the expected actions, reason
// codes, errors and warnings; a few rows check the ops too. No disk access after the fixture.
// Every row also checks that diff() is pure: frozen input, the same output twice, input unchanged.
// test/plan/diff.test.ts is the end-to-end counterpart (real trees on disk, through plan()).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { privateKeyToPkcs8Der } from '../../src/pki/keys.js';
import { diff } from '../../src/plan/diff.js';
import { PLAN_ERROR_CODES, REASON_CODES, type Change, type Plan, type RotationContext } from '../../src/plan/types.js';
import { desiredArtifacts } from '../../src/tree/layout.js';
import { IGNORED_PATTERNS } from '../../src/plan/gitignore.js';
import type { ActualTree } from '../../src/tree/read-tree.js';
import {
  BITS,
  CA_KEY,
  HOUR,
  T0,
  baseDoc,
  buildFixture,
  bytes,
  caKeyInTree,
  deepFreeze,
  dir,
  drop,
  edit,
  empty,
  inGit,
  ageIndexed,
  lockedKey,
  sealedCAKey,
  issueLeaf,
  issueWithOrganization,
  makeCA,
  mode,
  orphan,
  other,
  readError,
  rootError,
  snapshot,
  specOf,
  statError,
  symlink,
  type CA,
  type Doc,
  type Edit,
  type Fixture,
  type Pair,
} from './facts.js';

const LEAF_EXPIRY = T0.getTime() + 43920 * HOUR;
const CA_EXPIRY = T0.getTime() + 87840 * HOUR;
/** Every row's default clock: an hour after the fixture was issued. */
const NOW = T0.getTime() + HOUR;

interface Ctx {
  fx: Fixture;
  /** A second, unrelated CA. */
  otherCA: CA;
  /** node2's name, hosts and lifetime, signed by the other CA (with its own key). */
  node2ByOther: Pair;
  /** node1's key and hosts, but CN=nodeX. */
  node1WrongCN: Pair;
  /** node2's key and hosts, a 1000h lifetime. */
  node2Short: Pair;
  /** node1's certificate as it should be, but O=Other. */
  node1OtherOrg: Buffer;
}

interface Case {
  name: string;
  doc?: (d: Doc) => void;
  tree?: (x: Ctx) => Edit[];
  at?: number;
  prune?: boolean;
  /** `action artifact: code, code` for every change that is not `keep`, in plan order. */
  want: string[];
  /** `artifact: code`, in plan order. */
  errors?: string[];
  /** The artifacts kept; default: every artifact of the spec that no `want` or `errors` line names. */
  keep?: string[];
  /** One pattern per warning, in order; default: no warnings. */
  warnings?: RegExp[];
  /** Further checks (ops, reason details). */
  check?: (p: Plan, x: Ctx) => void;
  /** A CA rotation under way, as src/plan/rotation.ts would hand it to the diff. */
  rotation?: (x: Ctx) => RotationContext;
}

/** The one change of `artifact` with `action`. */
function change(p: Plan, artifact: string, action: Change['action']): Change {
  const cs = p.changes.filter((c) => c.artifact === artifact && c.action === action);
  assert.is(cs.length, 1, `one ${action} change of ${artifact}`);
  return cs[0]!;
}

const leafWrites = (dir: string, cert: string, key: string, bundle = true) => [
  ...(bundle ? [{ file: `${dir}/ca.crt`, content: 'ca-bundle', mode: 0o644 }] : []),
  { file: `${dir}/${cert}`, content: 'cert', mode: 0o644 },
  { file: `${dir}/${key}`, content: 'key', mode: 0o600 },
];

// Encrypted keys: two X25519 age recipients (public keys; their identities are not needed here).
const R1 = 'age1u7k5k0qkjtzqv7xnqaue2uyq4ugp4zk87m8wmdnfr3st32hsufys4ax25l';
const R2 = 'age1ykn2snyrrp44mq6nurk34exe3mtah95fz62h7mx874avsr9htpdsyladpu';
const encNode1 = (d: Doc): void => {
  d.nodes[0]!.encrypt = { age: [R1] };
};
/** The CA key as an .age file, with ca.encrypt's recipients when given. */
const caKeyAge =
  (recipients?: string[]) =>
  (d: Doc): void => {
    d.caKey = 'secrets/ca.key.age';
    if (recipients) d.ca.encrypt = { age: recipients };
  };

const CASES: Case[] = [
  // --- nothing to do ---
  {
    name: 'nothing changed',
    want: [],
    check: (p) => {
      for (const c of p.changes) assert.equal({ files: c.files.length, reasons: c.reasons, ops: c.ops }, { files: c.artifact === 'ca' ? 1 : 0, reasons: [], ops: { write: [], chmod: [], remove: [] } });
    },
  },
  { name: 'exactly renewBefore (720h) left: not yet', at: LEAF_EXPIRY - 720 * HOUR, want: [] },
  { name: 'the lock file at the top is not an orphan', tree: () => [orphan('.certgen.lock')], want: [] },

  // --- encrypted keys: <key>.age and the age index (plan/age-keys.ts) ---
  { name: 'an encrypted key without its .age file: encrypted, and the index made', doc: encNode1, want: ['update node/node1: missing', 'create age-index.json: missing'], check: (p) => assert.equal(change(p, 'node/node1', 'update').ops.write, [{ file: 'nodes/node1/node.key.age', content: 'key-age', mode: 0o644, recipients: [R1], from: 'nodes/node1/node.key' }]) },
  { name: 'a new key is encrypted in its own change', doc: encNode1, tree: () => [drop('nodes/node1')], want: ['create node/node1: missing', 'create age-index.json: missing'], check: (p) => assert.ok(change(p, 'node/node1', 'create').ops.write.some((w) => w.content === 'key-age' && w.file === 'nodes/node1/node.key.age')) },
  { name: 'a .age file the index knows, same recipients: nothing to do', doc: encNode1, tree: () => [ageIndexed([R1])], want: [] },
  { name: 'a .age file for other recipients', doc: encNode1, tree: () => [ageIndexed([R2])], want: ['update node/node1: age-recipients-changed', 'update age-index.json: age-index-stale'] },
  { name: 'a .age file the index does not know', doc: encNode1, tree: () => [ageIndexed([R1]), bytes('nodes/node1/node.key.age', 'other ciphertext')], want: ['update node/node1: age-stale', 'update age-index.json: age-index-stale'] },
  { name: 'an index entry for a key no longer encrypted', doc: encNode1, tree: () => [ageIndexed([R1], { extra: { 'nodes/node2/node.key.age': {} } })], want: ['update age-index.json: age-index-stale'] },
  { name: 'a key restored from its .age file: written, the pair kept', doc: encNode1, tree: () => [ageIndexed([R1], { restored: true })], want: ['restore node/node1: key-missing'], check: (p) => assert.equal(change(p, 'node/node1', 'restore').ops.write, [{ file: 'nodes/node1/node.key', content: 'key', mode: 0o600, from: 'nodes/node1/node.key.age' }]) },
  { name: 'a key only encrypted and no identity: an error, not a reissue', doc: encNode1, tree: () => [ageIndexed([R1]), lockedKey('age-identity-needed')], want: [], errors: ['node/node1: age-identity-needed'] },
  { name: 'a key only encrypted that cannot be decrypted: an error', doc: encNode1, tree: () => [ageIndexed([R1]), lockedKey('age-unreadable')], want: [], errors: ['node/node1: age-unreadable'] },

  // --- the CA key as an .age file (caKey: ….age; tree/age-facts.ts opens it) ---
  // (The leaves are planned as with any CA error; the error stops apply.)
  { name: 'an .age CA key to be made, no recipient for it: refused', doc: caKeyAge(), tree: () => [empty(), drop(CA_KEY)], want: ['create node/node1: missing', 'create node/node2: missing', 'create client/root: missing', 'create client/maxroach: missing'], errors: ['ca: age-recipients-needed'], keep: [] },
  {
    name: 'an .age CA key to be made: written only encrypted, for ca.encrypt',
    doc: caKeyAge([R2]),
    tree: () => [empty(), drop(CA_KEY)],
    // The index records what the new CA key's .age file holds (the leaves' keys are not encrypted here).
    want: ['create ca: missing', 'create node/node1: missing', 'create node/node2: missing', 'create client/root: missing', 'create client/maxroach: missing', 'create age-index.json: missing'],
    check: (p) => assert.equal(change(p, 'ca', 'create').ops.write[0], { file: '../secrets/ca.key.age', caKey: true, content: 'ca-key-age', mode: 0o600, exclusive: true, recipients: [R2] }),
  },
  { name: 'an .age CA key opened by the read, 0644 as git checks it out: no exposure, no chmod', doc: caKeyAge(), tree: () => [mode(CA_KEY, 0o644)], want: [] },
  {
    name: 'an .age CA key without identity: each leaf to sign is an error, what needs no signature is planned',
    doc: caKeyAge(),
    tree: () => [sealedCAKey('identity-needed'), drop('nodes/node1'), mode('nodes/node2/node.crt', 0o640), bytes('clients/root/ca.crt', 'stale')],
    want: ['fix-mode node/node2: mode-changed', 'update-ca-bundle client/root: ca-bundle-stale'],
    errors: ['node/node1: age-identity-needed'],
    keep: ['ca', 'client/maxroach'],
  },
  { name: 'an .age CA key for other recipients: the same, as age-unreadable', doc: caKeyAge(), tree: () => [sealedCAKey('no-match'), drop('clients/root')], want: [], errors: ['client/root: age-unreadable'] },
  { name: 'an .age CA key without identity, nothing to sign: nothing to do', doc: caKeyAge(), tree: () => [sealedCAKey('identity-needed')], want: [] },
  { name: 'a damaged .age CA key: an error of the CA, nothing planned', doc: caKeyAge(), tree: () => [sealedCAKey('corrupt')], want: [], errors: ['ca: age-unreadable'], keep: ['node/node1', 'node/node2', 'client/root', 'client/maxroach'] },
  { name: 'an .age CA key that cannot be opened and no ca.crt: an error', doc: caKeyAge([R1]), tree: () => [sealedCAKey('identity-needed'), drop('ca.crt')], want: [], errors: ['ca: age-identity-needed'], keep: ['node/node1', 'node/node2', 'client/root', 'client/maxroach'] },

  // --- git: the certs dir's .gitignore (plan/gitignore.ts) ---
  {
    name: 'in a git work tree without a .gitignore: it is created to ignore every key',
    tree: () => [inGit()],
    want: ['create .gitignore: missing'],
    check: (p) => assert.equal(change(p, '.gitignore', 'create').ops, { write: [{ file: '.gitignore', content: 'gitignore', mode: 0o644, lines: [...IGNORED_PATTERNS], exclusive: true }], chmod: [], remove: [] }),
  },
  {
    name: "a .gitignore lacking a line gets it (the operator's mode kept); one undone by a later negation gets all again",
    tree: () => [inGit(), orphan('.gitignore', 'file', 0o664), bytes('.gitignore', `# mine\n${IGNORED_PATTERNS.filter((l) => l !== '*.key.pk8').join('\n')}\n`)],
    want: ['update .gitignore: gitignore-incomplete'],
    check: (p) => {
      assert.equal(change(p, '.gitignore', 'update').ops.write, [{ file: '.gitignore', content: 'gitignore', mode: 0o664, lines: ['*.key.pk8'] }]);
      assert.equal(change(p, '.gitignore', 'update').reasons[0]?.added, ['*.key.pk8']);
    },
  },
  { name: 'a .gitignore whose lines a negation undoes', tree: () => [inGit(), orphan('.gitignore'), bytes('.gitignore', `${IGNORED_PATTERNS.join('\n')}\n!nodes/node1/node.key\n`)], want: ['update .gitignore: gitignore-incomplete'] },
  { name: 'a complete .gitignore: nothing to do', tree: () => [inGit(), orphan('.gitignore'), bytes('.gitignore', `mine\n${IGNORED_PATTERNS.join('\n')}\n`)], want: [] },
  { name: 'outside a work tree a .gitignore is neither written nor an orphan', tree: () => [inGit({ repo: { state: 'none' } }), orphan('.gitignore')], prune: true, want: [] },
  { name: 'git not installed and no .git above: nothing to say', tree: () => [inGit({ repo: { state: 'no-git' } })], want: [] },
  { name: 'git not installed but a .git above: written, with a warning', tree: () => [inGit({ repo: { state: 'no-git', dotGit: '/virtual/.git' } })], want: ['create .gitignore: missing'], warnings: [/^git is not installed, but \/virtual\/\.git says /] },
  {
    name: 'a broken repository: written, with one warning',
    tree: () => [inGit({ repo: { state: 'broken', dotGit: '/virtual/.git', error: 'not a git repository: /gone' } })],
    want: ['create .gitignore: missing'],
    warnings: [/^git cannot use the repository at \/virtual\/\.git \(not a git repository: \/gone\)/],
  },
  { name: 'a symlinked .gitignore is not written through', tree: () => [inGit(), symlink('.gitignore', '../elsewhere')], want: [], warnings: [/\.gitignore is a symlink: certgen does not write through it/] },
  {
    name: 'the CA key in the work tree, not ignored: a warning',
    tree: () => [inGit({ repo: { state: 'repo', top: '/virtual' }, caKey: { rel: 'cluster/secrets/ca.key', ignored: false } }), orphan('.gitignore'), bytes('.gitignore', IGNORED_PATTERNS.join('\n'))],
    want: [],
    warnings: [/^the CA key lies in the git work tree \(cluster\/secrets\/ca\.key\) and git does not ignore it/],
  },
  { name: 'the CA key in the work tree, ignored: nothing to say', tree: () => [inGit({ repo: { state: 'repo', top: '/virtual' }, caKey: { rel: 'cluster/secrets/ca.key', ignored: true } })], want: ['create .gitignore: missing'] },

  // --- a first apply: nothing exists ---
  {
    name: 'an empty tree and no CA key: everything is created, leaves signed by the new CA',
    tree: () => [empty(), drop(CA_KEY)],
    want: ['create ca: missing', 'create node/node1: missing', 'create node/node2: missing', 'create client/root: missing', 'create client/maxroach: missing'],
    keep: [],
    check: (p) => {
      assert.equal(change(p, 'ca', 'create').ops, {
        newKey: { type: 'rsa', bits: BITS },
        issue: { kind: 'ca', commonName: 'Cockroach CA', lifetime: '87840h0m0s', signer: 'self' },
        write: [
          { file: '../secrets/ca.key', caKey: true, content: 'ca-key', mode: 0o600, exclusive: true },
          { file: 'ca.crt', content: 'ca-cert', mode: 0o644, exclusive: true },
        ],
        chmod: [],
        remove: [],
      });
      assert.equal(change(p, 'client/maxroach', 'create').ops, {
        newKey: { type: 'rsa', bits: BITS },
        issue: { kind: 'client', commonName: 'maxroach', lifetime: '43920h0m0s', signer: 'new-ca' },
        write: [...leafWrites('clients/maxroach', 'client.maxroach.crt', 'client.maxroach.key'), { file: 'clients/maxroach/client.maxroach.key.pk8', content: 'pkcs8', mode: 0o600 }],
        chmod: [],
        remove: [],
      });
      assert.is(change(p, 'node/node1', 'create').ops.issue?.signer, 'new-ca');
    },
  },

  // --- missing pieces of a leaf ---
  {
    name: 'a node folder gone: created, its bundle copy with it, signed by the current CA',
    tree: () => [drop('nodes/node1')],
    want: ['create node/node1: missing'],
    check: (p, x) => {
      const c = change(p, 'node/node1', 'create');
      assert.equal(c.files, ['nodes/node1/ca.crt', 'nodes/node1/node.crt', 'nodes/node1/node.key']);
      assert.equal(c.ops, {
        newKey: { type: 'rsa', bits: BITS },
        issue: { kind: 'node', commonName: 'node', hosts: ['node1.example.com', '10.0.0.1'], lifetime: '43920h0m0s', signer: x.fx.ca.fingerprint },
        write: leafWrites('nodes/node1', 'node.crt', 'node.key'),
        chmod: [],
        remove: [],
      });
    },
  },
  { name: 'all of nodes/ gone', tree: () => [drop('nodes')], want: ['create node/node1: missing', 'create node/node2: missing'] },
  {
    name: 'a key gone: the pair is reissued, the current bundle copy left alone',
    tree: () => [drop('nodes/node1/node.key')],
    want: ['reissue node/node1: key-missing'],
    check: (p) => {
      const c = change(p, 'node/node1', 'reissue');
      assert.equal(c.reasons, [{ code: 'key-missing', message: 'nodes/node1/node.key does not exist', file: 'nodes/node1/node.key' }]);
      assert.equal(c.ops.write, leafWrites('nodes/node1', 'node.crt', 'node.key', false));
    },
  },
  { name: 'a certificate gone, its key kept: a reissue, not a create', tree: () => [drop('clients/root/client.root.crt')], want: ['reissue client/root: missing'] },

  // --- what the spec asks changed ---
  {
    name: 'hosts edited: reissue with the spec hosts, signed by the CA in ca.crt',
    doc: (d) => {
      d.nodes[1]!.hosts = ['db.example.com', 'node2.example.com', '10.0.0.7'];
    },
    want: ['reissue node/node2: hosts-changed'],
    check: (p, x) => {
      const c = change(p, 'node/node2', 'reissue');
      assert.equal(c.reasons, [{ code: 'hosts-changed', message: 'hosts +db.example.com +10.0.0.7 -10.0.0.2', file: 'nodes/node2/node.crt', added: ['db.example.com', '10.0.0.7'], removed: ['10.0.0.2'] }]);
      assert.equal(c.files, ['nodes/node2/node.crt', 'nodes/node2/node.key']);
      assert.equal(c.ops, {
        newKey: { type: 'rsa', bits: BITS },
        issue: { kind: 'node', commonName: 'node', hosts: ['db.example.com', 'node2.example.com', '10.0.0.7'], lifetime: '43920h0m0s', signer: x.fx.ca.fingerprint },
        write: leafWrites('nodes/node2', 'node.crt', 'node.key', false),
        chmod: [],
        remove: [],
      });
    },
  },
  {
    name: 'hosts reordered: no change',
    doc: (d) => {
      d.nodes[0]!.hosts = ['10.0.0.1', 'node1.example.com'];
    },
    want: [],
  },
  {
    // The certificate holds the 4-byte address Go makes of it, printed as 10.0.0.1.
    name: 'an IPv4 address written v4-mapped: the same host, no change',
    doc: (d) => {
      d.nodes[0]!.hosts = ['node1.example.com', '::ffff:10.0.0.1'];
    },
    want: [],
  },
  {
    name: 'a node certificate with another common name',
    tree: (x) => [bytes('nodes/node1/node.crt', x.node1WrongCN.cert)],
    want: ['reissue node/node1: subject-changed'],
    check: (p) => {
      const [r] = change(p, 'node/node1', 'reissue').reasons;
      assert.equal({ actual: r?.actual, expected: r?.expected }, { actual: 'O=Cockroach, CN=nodeX', expected: 'O=Cockroach, CN=node' });
    },
  },
  {
    name: 'a node certificate of another organization',
    tree: (x) => [bytes('nodes/node1/node.crt', x.node1OtherOrg)],
    want: ['reissue node/node1: subject-changed'],
    check: (p) => assert.is(change(p, 'node/node1', 'reissue').reasons[0]?.actual, 'O=Other, CN=node'),
  },
  {
    name: "a client's pair where a node's belongs",
    tree: (x) => [bytes('nodes/node1/node.crt', x.fx.pairs['client/root']!.cert), bytes('nodes/node1/node.key', x.fx.pairs['client/root']!.key)],
    want: ['reissue node/node1: subject-changed, hosts-changed'],
  },
  {
    name: 'key size edited',
    doc: (d) => {
      d.nodes[0]!.keySize = 2048;
    },
    want: ['reissue node/node1: key-size-changed'],
    check: (p) => {
      const c = change(p, 'node/node1', 'reissue');
      assert.equal({ actual: c.reasons[0]?.actual, expected: c.reasons[0]?.expected, file: c.reasons[0]?.file }, { actual: String(BITS), expected: '2048', file: 'nodes/node1/node.key' });
      assert.equal(c.ops.newKey, { type: 'rsa', bits: 2048 });
    },
  },
  {
    name: 'a node wants another key type: reissued with a new key of that type',
    doc: (d) => {
      d.nodes[0]!.keyType = 'ecdsa-p256';
    },
    want: ['reissue node/node1: key-type-changed'],
    check: (p) => {
      const c = change(p, 'node/node1', 'reissue');
      assert.equal({ actual: c.reasons[0]?.actual, expected: c.reasons[0]?.expected, file: c.reasons[0]?.file }, { actual: `RSA ${BITS}`, expected: 'ECDSA P-256', file: 'nodes/node1/node.key' });
      assert.is(c.reasons[0]?.message, `key is RSA ${BITS}, wants ECDSA P-256`);
      assert.equal(c.ops.newKey, { type: 'ecdsa-p256' });
    },
  },
  {
    name: 'Ed25519 where it hurts: a node (browsers) and a client with a .pk8 (Java before 16) are warned about',
    doc: (d) => {
      d.nodes[1]!.keyType = 'ed25519';
      d.clients[0]!.keyType = 'ed25519';
      d.clients[1]!.keyType = 'ed25519';
    },
    want: ['reissue node/node2: key-type-changed', 'reissue client/root: key-type-changed', 'reissue client/maxroach: key-type-changed'],
    warnings: [/^Ed25519 node keys \(node2\): no browser offers Ed25519, so the DB Console will not load in a browser unless a separate RSA or ECDSA UI certificate/, /^Ed25519 client keys with a \.pk8 for Java \(maxroach\): Java before 16 cannot use Ed25519 keys in TLS/],
    check: (p) => assert.equal(change(p, 'client/root', 'reissue').ops.newKey, { type: 'ed25519' }),
  },
  {
    // Certificate times have second precision: up to 2s either way is the same lifetime.
    name: 'lifetime 2s longer: within the tolerance',
    doc: (d) => {
      d.nodes[0]!.lifetime = '43920h0m2s';
    },
    want: [],
  },
  {
    name: 'lifetime 3s longer: changed',
    doc: (d) => {
      d.nodes[0]!.lifetime = '43920h0m3s';
    },
    want: ['reissue node/node1: lifetime-changed'],
  },
  {
    name: 'lifetime shortened: a client with a .pk8 rewrites it with the pair',
    doc: (d) => {
      d.clients[1]!.lifetime = '8760h';
    },
    want: ['reissue client/maxroach: lifetime-changed'],
    check: (p) => {
      const c = change(p, 'client/maxroach', 'reissue');
      assert.equal({ actual: c.reasons[0]?.actual, expected: c.reasons[0]?.expected }, { actual: '43920h0m0s', expected: '8760h0m0s' });
      assert.is(c.ops.issue?.lifetime, '8760h0m0s');
      assert.equal(c.ops.write, [...leafWrites('clients/maxroach', 'client.maxroach.crt', 'client.maxroach.key', false), { file: 'clients/maxroach/client.maxroach.key.pk8', content: 'pkcs8', mode: 0o600 }]);
    },
  },

  // --- time ---
  {
    name: 'inside renewBefore',
    at: LEAF_EXPIRY - 10 * 24 * HOUR,
    want: ['reissue node/node1: expiring', 'reissue node/node2: expiring', 'reissue client/root: expiring', 'reissue client/maxroach: expiring'],
    check: (p) => {
      const [r] = change(p, 'client/root', 'reissue').reasons;
      assert.equal({ notAfter: r?.notAfter, timeLeft: r?.timeLeft, renewBefore: r?.renewBefore }, { notAfter: new Date(LEAF_EXPIRY).toISOString(), timeLeft: '240h0m0s', renewBefore: '720h0m0s' });
    },
  },
  {
    name: 'a second less than renewBefore left',
    at: LEAF_EXPIRY - 720 * HOUR + 1000,
    want: ['reissue node/node1: expiring', 'reissue node/node2: expiring', 'reissue client/root: expiring', 'reissue client/maxroach: expiring'],
    check: (p) => assert.is(change(p, 'node/node1', 'reissue').reasons[0]?.timeLeft, '719h59m59s'),
  },
  {
    name: 'one short-lived certificate past its expiry',
    doc: (d) => {
      d.nodes[1]!.lifetime = '1000h';
      d.nodes[1]!.renewBefore = '100h';
    },
    tree: (x) => [bytes('nodes/node2/node.crt', x.node2Short.cert)],
    at: T0.getTime() + 1000 * HOUR + 1000,
    want: ['reissue node/node2: expired'],
    check: (p) => assert.is(change(p, 'node/node2', 'reissue').reasons[0]?.notAfter, new Date(T0.getTime() + 1000 * HOUR).toISOString()),
  },
  {
    // With the default lifetimes a leaf expires when its CA has exactly one leaf lifetime left,
    // so a full-length replacement no longer fits: cockroach's lifetime rule, as a plan error.
    name: 'every leaf past expiry: its replacement would outlive the CA',
    at: LEAF_EXPIRY + 1000,
    want: ['reissue node/node1: expired', 'reissue node/node2: expired', 'reissue client/root: expired', 'reissue client/maxroach: expired'],
    errors: ['node/node1: ca-lifetime-too-short', 'node/node2: ca-lifetime-too-short', 'client/root: ca-lifetime-too-short', 'client/maxroach: ca-lifetime-too-short'],
  },
  {
    // A rotation in trusted: ca.crt is [new, old] (the other CA stands for the new one) and the
    // old CA still signs, recorded, though it is not the first; a renewal ends with it (R3).
    name: 'rotation trusted: renewals signed by the old CA, capped at its NotAfter with a warning',
    at: LEAF_EXPIRY + 1000,
    tree: (x) => ['ca.crt', 'nodes/node1/ca.crt', 'nodes/node2/ca.crt', 'clients/root/ca.crt', 'clients/maxroach/ca.crt'].map((f) => bytes(f, Buffer.concat([x.otherCA.pem, x.fx.ca.pem]))),
    rotation: (x) => ({ id: 'r1', phase: 'trusted', signing: 'old', signer: x.fx.ca.fingerprint, capAtSigner: true, problems: [] }),
    want: ['reissue node/node1: expired', 'reissue node/node2: expired', 'reissue client/root: expired', 'reissue client/maxroach: expired'],
    warnings: [/^node\/node1: signed by the old CA during rotation r1 \(trusted\)/, /^node\/node2: /, /^client\/root: /, /^client\/maxroach: /],
    check: (p, x) => {
      const c = change(p, 'node/node1', 'reissue');
      assert.is(c.ops.issue?.signer, x.fx.ca.fingerprint);
      // The CA ends at CA_EXPIRY: what is left of it, in whole seconds.
      assert.is(c.ops.issue?.lifetime, '43919h59m59s');
      assert.equal(p.rotation, { id: 'r1', phase: 'trusted', signing: 'old' });
    },
  },
  {
    name: 'rotation state and tree disagree: apply stops',
    rotation: (x) => ({ id: 'r1', phase: 'trusted', signing: 'old', signer: x.fx.ca.fingerprint, capAtSigner: true, problems: [{ code: 'bundle-lacks-new-ca', message: 'ca.crt holds [old]' }] }),
    want: [],
    errors: ['rotation: rotation-inconsistent'],
    check: (p) => assert.match(p.errors[0]!.message, /^bundle-lacks-new-ca: ca\.crt holds \[old\]; certgen never repairs/),
  },
  {
    name: 'a new leaf as long-lived as the CA no longer fits inside it',
    doc: (d) => {
      d.nodes[0]!.lifetime = '87840h';
    },
    tree: () => [drop('nodes/node1')],
    want: ['create node/node1: missing'],
    errors: ['node/node1: ca-lifetime-too-short'],
  },

  // --- the pair itself ---
  { name: 'a pair from another CA', tree: (x) => [bytes('nodes/node2/node.crt', x.node2ByOther.cert), bytes('nodes/node2/node.key', x.node2ByOther.key)], want: ['reissue node/node2: not-signed-by-ca'] },
  {
    name: 'keys of two nodes swapped',
    tree: (x) => [bytes('nodes/node1/node.key', x.fx.pairs['node/node2']!.key), bytes('nodes/node2/node.key', x.fx.pairs['node/node1']!.key)],
    want: ['reissue node/node1: key-mismatch', 'reissue node/node2: key-mismatch'],
  },
  {
    name: 'a corrupt certificate',
    tree: (x) => [bytes('nodes/node1/node.crt', x.fx.pairs['node/node1']!.cert.toString('latin1').replace(/\n[A-Za-z0-9+/]{64}\n/, '\n!!!!\n'))],
    want: ['reissue node/node1: unreadable'],
  },
  { name: 'a certificate in the key file', tree: (x) => [bytes('nodes/node1/node.key', x.fx.pairs['node/node1']!.cert)], want: ['reissue node/node1: unreadable'] },
  {
    name: 'a folder where the certificate belongs',
    tree: () => [dir('clients/root/client.root.crt')],
    want: [],
    errors: ['client/root: unreadable'],
    check: (p) => assert.equal(p.errors.map((e) => e.message), ['clients/root/client.root.crt is a folder where certgen keeps a file: move it away']),
  },
  {
    name: 'a folder where the bundle copy belongs: an error, not a write over it',
    tree: () => [dir('nodes/node1/ca.crt')],
    want: [],
    errors: ['node/node1: unreadable'],
    check: (p) => assert.equal(p.errors.map((e) => e.message), ['nodes/node1/ca.crt is a folder where certgen keeps a file: move it away']),
  },
  { name: 'a key that could not be read', tree: () => [readError('nodes/node2/node.key', 'EACCES: permission denied')], want: ['reissue node/node2: unreadable'] },
  {
    name: 'a FIFO where the key belongs',
    tree: () => [other('nodes/node2/node.key')],
    want: ['reissue node/node2: unreadable'],
    check: (p) => assert.match(change(p, 'node/node2', 'reissue').reasons[0]?.message ?? '', /^nodes\/node2\/node\.key: .*not a regular file$/),
  },

  // --- modes only ---
  {
    name: 'a key chmod 644: only a chmod, no write, no key',
    tree: () => [mode('nodes/node1/node.key', 0o644)],
    want: ['fix-mode node/node1: mode-too-open'],
    check: (p) => {
      const c = change(p, 'node/node1', 'fix-mode');
      assert.equal(c.files, ['nodes/node1/node.key']);
      assert.equal(c.reasons, [{ code: 'mode-too-open', message: 'nodes/node1/node.key is 0644 (-rw-r--r--), wants 0600', file: 'nodes/node1/node.key', actual: '0644', expected: '0600' }]);
      assert.equal(c.ops, { write: [], chmod: [{ file: 'nodes/node1/node.key', mode: 384 }], remove: [] });
    },
  },
  { name: 'a certificate chmod 600', tree: () => [mode('clients/root/client.root.crt', 0o600)], want: ['fix-mode client/root: mode-changed'] },
  {
    name: 'a folder 0755 and its .pk8 0640: one fix-mode, folder first',
    tree: () => [mode('clients/maxroach', 0o755), mode('clients/maxroach/client.maxroach.key.pk8', 0o640)],
    want: ['fix-mode client/maxroach: mode-too-open, mode-too-open'],
    check: (p) =>
      assert.equal(change(p, 'client/maxroach', 'fix-mode').ops.chmod, [
        { file: 'clients/maxroach', mode: 0o700 },
        { file: 'clients/maxroach/client.maxroach.key.pk8', mode: 0o600 },
      ]),
  },
  { name: 'setuid/sticky bits are not permission bits', tree: () => [mode('nodes/node2', 0o1700), mode('nodes/node2/node.key', 0o4600)], want: [] },

  // --- the bundle copy and the .pk8 around a good pair ---
  {
    name: 'a stale CA bundle copy',
    tree: () => [bytes('nodes/node2/ca.crt', 'old')],
    want: ['update-ca-bundle node/node2: ca-bundle-stale'],
    check: (p) => assert.equal(change(p, 'node/node2', 'update-ca-bundle').ops, { write: [{ file: 'nodes/node2/ca.crt', content: 'ca-bundle', mode: 0o644 }], chmod: [], remove: [] }),
  },
  { name: 'a missing CA bundle copy', tree: () => [drop('clients/root/ca.crt')], want: ['update-ca-bundle client/root: missing'] },
  {
    // node1's own pair stands in for a UI pair from another CA: certgen only copies it.
    name: 'a provided UI file newer than its copy: copied again',
    doc: (d) => {
      (d.nodes[0] as Record<string, unknown>)['ui'] = { cert: 'ui/ui.crt', key: 'ui/ui.key' };
    },
    tree: () => [
      (t) => {
        const file = (rel: string, m: number, b: Buffer | undefined) => ({ rel, type: 'file' as const, mode: m, uid: 0, gid: 0, ...(b ? { bytes: b } : {}) });
        const cert = t.entries['nodes/node1/node.crt']?.bytes;
        const key = t.entries['nodes/node1/node.key']?.bytes;
        t.provided = { '/virtual/cluster/ui/ui.crt': file('/virtual/cluster/ui/ui.crt', 0o644, cert), '/virtual/cluster/ui/ui.key': file('/virtual/cluster/ui/ui.key', 0o600, key) };
        t.entries['nodes/node1/ui.crt'] = file('nodes/node1/ui.crt', 0o644, t.entries['nodes/node2/node.crt']?.bytes);
        t.entries['nodes/node1/ui.key'] = file('nodes/node1/ui.key', 0o600, key);
        return t;
      },
    ],
    want: ['reissue node/node1: source-changed'],
    check: (p) => {
      const c = change(p, 'node/node1', 'reissue');
      assert.equal(c.ops.write.map((w) => [w.file, w.content, w.source]), [['nodes/node1/ui.crt', 'copy', '../ui/ui.crt']]);
    },
  },
  {
    name: 'a stale bundle copy and a key chmod 644 in one folder: two changes',
    tree: () => [bytes('nodes/node1/ca.crt', 'old'), mode('nodes/node1/node.key', 0o644)],
    want: ['update-ca-bundle node/node1: ca-bundle-stale', 'fix-mode node/node1: mode-too-open'],
  },
  {
    name: 'pkcs8 switched on: the .pk8 written from the existing key',
    doc: (d) => {
      d.clients[0]!.pkcs8 = true;
    },
    want: ['create client/root: missing'],
    check: (p) => {
      const c = change(p, 'client/root', 'create');
      assert.equal(c.files, ['clients/root/client.root.key.pk8']);
      assert.equal(c.ops, { write: [{ file: 'clients/root/client.root.key.pk8', content: 'pkcs8', mode: 0o600, from: 'clients/root/client.root.key' }], chmod: [], remove: [] });
    },
  },
  { name: "a .pk8 holding another user's key", tree: (x) => [bytes('clients/maxroach/client.maxroach.key.pk8', privateKeyToPkcs8Der(x.fx.pairs['client/root']!.keyObject))], want: ['create client/maxroach: key-mismatch'] },
  { name: 'a .pk8 holding garbage', tree: () => [bytes('clients/maxroach/client.maxroach.key.pk8', 'not DER')], want: ['create client/maxroach: key-mismatch'] },
  { name: 'a .pk8 gone', tree: () => [drop('clients/maxroach/client.maxroach.key.pk8')], want: ['create client/maxroach: missing'] },

  // --- orphans ---
  {
    name: 'pkcs8 switched off: the .pk8 is an orphan file',
    doc: (d) => {
      d.clients[1]!.pkcs8 = false;
    },
    want: ['orphan clients/maxroach/client.maxroach.key.pk8: not-in-spec'],
    check: (p) => {
      const c = change(p, 'clients/maxroach/client.maxroach.key.pk8', 'orphan');
      assert.equal({ kind: c.kind, ops: c.ops, prune: p.prune }, { kind: 'file', ops: { write: [], chmod: [], remove: ['clients/maxroach/client.maxroach.key.pk8'] }, prune: false });
    },
  },
  {
    name: 'a node removed from the spec, stray files and folders (sorted; nothing below an orphan folder listed on its own)',
    doc: (d) => {
      d.nodes = d.nodes.slice(0, 1);
    },
    tree: () => [orphan('README'), orphan('nodes/node2/extra.txt'), orphan('backup', 'dir'), orphan('nodes/node1/node.crt.bak'), orphan('nodes/junk'), orphan('clients/root/sub', 'dir')],
    want: ['orphan README: not-in-spec', 'orphan backup: not-in-spec', 'orphan clients/root/sub: not-in-spec', 'orphan nodes/junk: not-in-spec', 'orphan nodes/node1/node.crt.bak: not-in-spec', 'orphan node/node2: not-in-spec'],
    check: (p) => {
      assert.equal(
        p.changes.filter((c) => c.action === 'orphan').map((c) => `${c.kind} ${c.files.join()} ${c.ops.remove.join()}`),
        ['file README README', 'dir backup backup', 'dir clients/root/sub clients/root/sub', 'file nodes/junk nodes/junk', 'file nodes/node1/node.crt.bak nodes/node1/node.crt.bak', 'dir nodes/node2 nodes/node2'],
      );
      assert.is(change(p, 'README', 'orphan').reasons[0]?.message, 'README is not in the spec');
      assert.is(change(p, 'node/node2', 'orphan').reasons[0]?.message, 'nodes/node2/ is not in the spec');
    },
  },
  {
    name: 'with --prune: the same orphans, the plan says it prunes',
    doc: (d) => {
      d.clients = d.clients.slice(0, 1);
    },
    prune: true,
    want: ['orphan client/maxroach: not-in-spec'],
    check: (p) => {
      assert.is(p.prune, true);
      assert.equal(change(p, 'client/maxroach', 'orphan').ops, { write: [], chmod: [], remove: ['clients/maxroach'] });
    },
  },
  {
    name: 'no clients in the spec: clients/ and everything in it is one orphan',
    doc: (d) => {
      d.clients = [];
    },
    tree: () => [drop('clients'), orphan('clients')],
    want: ['orphan clients: not-in-spec'],
  },
  {
    name: "staged copies a killed apply left, in a leaf's folder and at the top",
    tree: () => [orphan('nodes/node1/.node.key.0123456789ab.tmp'), orphan('.ca.crt.0123456789ab.tmp'), orphan('.README.0123456789ab.tmp'), orphan('nodes/node2/.node.crt.0123456789ab.tmp.old'), orphan('nodes/node2/.x.0123456789ab.tmp', 'dir')],
    want: ['orphan .README.0123456789ab.tmp: not-in-spec', 'orphan .ca.crt.0123456789ab.tmp: interrupted-write', 'orphan nodes/node1/.node.key.0123456789ab.tmp: interrupted-write', 'orphan nodes/node2/.node.crt.0123456789ab.tmp.old: interrupted-write', 'orphan nodes/node2/.x.0123456789ab.tmp: not-in-spec'],
    check: (p) => assert.equal(change(p, 'nodes/node1/.node.key.0123456789ab.tmp', 'orphan').ops.remove, ['nodes/node1/.node.key.0123456789ab.tmp']),
  },
  {
    name: 'a staged file inside an orphan folder is not listed on its own',
    doc: (d) => {
      d.nodes = d.nodes.slice(0, 1);
    },
    tree: () => [orphan('nodes/node2/.node.key.0123456789ab.tmp')],
    want: ['orphan node/node2: not-in-spec'],
  },

  // --- symlinks and wrong kinds of entries where certgen keeps its own ---
  {
    name: 'a symlink where a key belongs',
    tree: () => [symlink('nodes/node1/node.key', '/etc/hostname')],
    want: [],
    errors: ['node/node1: symlink'],
    check: (p) => assert.match(p.errors[0]!.message, /^nodes\/node1\/node\.key is a symlink to \/etc\/hostname: /),
  },
  { name: 'a symlink where a bundle copy belongs', tree: () => [symlink('clients/root/ca.crt', '../../ca.crt')], want: [], errors: ['client/root: symlink'] },
  { name: 'a symlink where a .pk8 belongs', tree: () => [symlink('clients/maxroach/client.maxroach.key.pk8', '/tmp/k')], want: [], errors: ['client/maxroach: symlink'] },
  { name: 'a symlink where a node folder belongs', tree: () => [symlink('nodes/node2', '/tmp/elsewhere')], want: [], errors: ['node/node2: symlink'] },
  {
    name: 'nodes/ a symlink: one error for the folder, no change for its nodes, not an orphan',
    tree: () => [symlink('nodes', '/tmp/nodes')],
    want: [],
    errors: ['nodes: symlink'],
    keep: ['ca', 'client/root', 'client/maxroach'],
  },
  { name: 'clients/ a regular file', tree: () => [drop('clients'), orphan('clients')], want: [], errors: ['clients: unreadable'], keep: ['ca', 'node/node1', 'node/node2'] },
  {
    name: 'a file where a client folder belongs',
    tree: () => [drop('clients/root'), orphan('clients/root')],
    want: [],
    errors: ['client/root: unreadable'],
    check: (p) => assert.is(p.errors[0]!.message, 'clients/root is a file, not a folder: move it away'),
  },
  {
    name: 'a node folder that cannot be listed',
    tree: () => [statError('nodes/node1', 'EACCES: permission denied')],
    want: [],
    errors: ['node/node1: unreadable'],
    check: (p) => assert.match(p.errors[0]!.message, /^nodes\/node1 .*\(EACCES: permission denied\)/),
  },
  { name: 'a socket where a node folder belongs', tree: () => [other('nodes/node2')], want: [], errors: ['node/node2: unreadable'] },

  // --- the certs dir itself ---
  {
    name: 'the certs dir cannot be read: one error, nothing planned',
    tree: () => [rootError('is a file, not a folder')],
    want: [],
    errors: ['certs-dir: unreadable'],
    keep: [],
    check: (p) => assert.is(p.errors[0]!.message, 'the certs dir /virtual/cluster/certs is a file, not a folder: nothing can be planned until it can be read'),
  },
  {
    name: 'the CA key really inside the certs dir: refused, and never an orphan (nor the folder holding it)',
    tree: () => [orphan('stash', 'dir'), orphan('nodes/key-here'), caKeyInTree('stash/ca.key')],
    want: ['orphan nodes/key-here: not-in-spec'],
    errors: ['ca: ca-key-in-certs-dir'],
    keep: ['ca', 'node/node1', 'node/node2', 'client/root', 'client/maxroach'],
  },
  {
    name: 'the CA key inside the certs dir at a file: that file is not an orphan',
    tree: () => [orphan('nodes/key-here'), caKeyInTree('nodes/key-here')],
    want: [],
    errors: ['ca: ca-key-in-certs-dir'],
    keep: ['ca', 'node/node1', 'node/node2', 'client/root', 'client/maxroach'],
  },

  // --- the CA ---
  { name: 'the CA key gone', tree: () => [drop(CA_KEY)], want: [], errors: ['ca: ca-key-missing'] },
  { name: 'the CA key swapped for another', tree: (x) => [bytes(CA_KEY, x.otherCA.keyPem)], want: [], errors: ['ca: key-mismatch'] },
  { name: 'the CA key garbage', tree: () => [bytes(CA_KEY, 'garbage')], want: [], errors: ['ca: unreadable'] },
  { name: 'a folder at the CA key', tree: () => [dir(CA_KEY)], want: [], errors: ['ca: unreadable'] },
  {
    name: 'the CA key a dangling symlink',
    tree: () => [symlink(CA_KEY, '/gone/ca.key')],
    want: [],
    errors: ['ca: symlink'],
    check: (p) => assert.match(p.errors[0]!.message, /is a symlink to \/gone\/ca\.key, which does not exist/),
  },
  { name: 'the CA key open to others (0644): an error, not a chmod', tree: () => [mode(CA_KEY, 0o644)], want: [], errors: ['ca: mode-too-open'] },
  {
    name: 'the CA key 0400: chmod to 0600',
    tree: () => [mode(CA_KEY, 0o400)],
    want: ['fix-mode ca: mode-changed'],
    check: (p) => assert.equal(change(p, 'ca', 'fix-mode').ops, { write: [], chmod: [{ file: '../secrets/ca.key', caKey: true, mode: 0o600 }], remove: [] }),
  },
  {
    name: 'ca.crt 0600',
    tree: () => [mode('ca.crt', 0o600)],
    want: ['fix-mode ca: mode-changed'],
    check: (p) => assert.equal(change(p, 'ca', 'fix-mode').ops, { write: [], chmod: [{ file: 'ca.crt', mode: 0o644 }], remove: [] }),
  },
  { name: 'ca.crt a symlink', tree: () => [symlink('ca.crt', '/etc/ssl/ca.crt')], want: [], errors: ['ca: symlink'] },
  { name: 'ca.crt garbage: an error, the leaves are not judged against it', tree: () => [bytes('ca.crt', 'garbage')], want: [], errors: ['ca: unreadable'] },
  { name: 'ca.crt a folder', tree: () => [dir('ca.crt')], want: [], errors: ['ca: unreadable'] },
  {
    name: 'ca.crt gone: a CA certificate is made for the existing key, every leaf reissued for it',
    tree: () => [drop('ca.crt')],
    want: ['create ca: missing', 'reissue node/node1: not-signed-by-ca', 'reissue node/node2: not-signed-by-ca', 'reissue client/root: not-signed-by-ca', 'reissue client/maxroach: not-signed-by-ca'],
    keep: [],
    check: (p) => {
      assert.equal(change(p, 'ca', 'create').ops, {
        issue: { kind: 'ca', commonName: 'Cockroach CA', lifetime: '87840h0m0s', signer: 'self' },
        write: [{ file: 'ca.crt', content: 'ca-cert', mode: 0o644, exclusive: true }],
        chmod: [],
        remove: [],
      });
      const c = change(p, 'node/node1', 'reissue');
      assert.is(c.ops.issue?.signer, 'new-ca');
      // The bundle copy is rewritten with the new CA, though its bytes equal the old ca.crt.
      assert.equal(c.ops.write, leafWrites('nodes/node1', 'node.crt', 'node.key'));
    },
  },
  { name: 'ca.crt gone and the CA key unreadable', tree: () => [drop('ca.crt'), bytes(CA_KEY, 'garbage')], want: [], errors: ['ca: unreadable'] },
  { name: 'ca.crt gone and the CA key open to others: only that error', tree: () => [drop('ca.crt'), mode(CA_KEY, 0o640)], want: [], errors: ['ca: mode-too-open'] },
  { name: 'ca.crt gone and the CA key a dangling symlink: only that error', tree: () => [drop('ca.crt'), symlink(CA_KEY, '/gone')], want: [], errors: ['ca: symlink'] },
  {
    name: 'the CA expired',
    at: CA_EXPIRY + 1000,
    want: ['reissue node/node1: expired', 'reissue node/node2: expired', 'reissue client/root: expired', 'reissue client/maxroach: expired'],
    errors: ['ca: expired'],
  },
  {
    name: "the CA inside its leaves' renewal window",
    at: CA_EXPIRY - 100 * HOUR,
    want: ['reissue node/node1: expired', 'reissue node/node2: expired', 'reissue client/root: expired', 'reissue client/maxroach: expired'],
    errors: ['ca: ca-expiring'],
  },
  {
    // 44840h left on the CA, 920h on the leaves: only root (renewBefore 45000h) is in its window,
    // and so is the CA, since a CA must outlast every leaf's window.
    name: "the CA's window is the longest renewBefore of any leaf",
    doc: (d) => {
      d.clients[0]!.renewBefore = '45000h';
      d.clients[0]!.lifetime = '45001h';
    },
    at: T0.getTime() + 43000 * HOUR,
    want: ['reissue client/root: lifetime-changed, expiring'],
    errors: ['ca: ca-expiring'],
    check: (p) => assert.match(p.errors[0]!.message, /\(44840h0m0s left\), inside the renewal window of its leaves \(45000h0m0s\)/),
  },
  {
    name: 'a CA whose key size or lifetime differ from the spec: warnings, no change',
    doc: (d) => {
      d.ca.keySize = 2048;
      d.ca.lifetime = '90000h';
    },
    want: [],
    warnings: [/^the CA key is 1024 bits but the spec asks for 2048: /, /^the CA lifetime is 87840h0m0s but the spec asks for 90000h0m0s: /],
  },
  {
    name: 'a CA whose key type differs from the spec: a warning, never a new CA; an Ed25519 CA warns for the DB Console',
    doc: (d) => {
      delete d.ca.keySize;
      d.ca.keyType = 'ed25519';
    },
    want: [],
    warnings: [/^the CA key is RSA 1024 but the spec asks for Ed25519: certgen never replaces a CA by itself/, /^the CA key is Ed25519, so every node certificate carries an Ed25519 signature: no browser offers Ed25519/],
  },
];

function describe(p: Plan): { want: string[]; errors: string[]; keep: string[] } {
  return {
    want: p.changes.filter((c) => c.action !== 'keep').map((c) => `${c.action} ${c.artifact}: ${c.reasons.map((r) => r.code).join(', ')}`),
    errors: p.errors.map((e) => `${e.artifact}: ${e.code}`),
    keep: p.changes.filter((c) => c.action === 'keep').map((c) => c.artifact),
  };
}

function defaultKeep(c: Case, artifacts: string[]): string[] {
  const named = new Set([...c.want.map((w) => w.split(' ')[1]!.replace(/:$/, '')), ...(c.errors ?? []).map((e) => e.split(':')[0]!)]);
  return artifacts.filter((a) => !named.has(a));
}

// Built on first use, inside the tests, not in a before hook: uvu reports a failing hook with no
// failed test and exit code 0, so a broken fixture would pass unnoticed.
let built: Promise<Ctx> | undefined;
function fixture(): Promise<Ctx> {
  built ??= makeCtx();
  return built;
}

async function makeCtx(): Promise<Ctx> {
  const [fx, otherCA] = await Promise.all([buildFixture(), makeCA()]);
  const [node2ByOther, node1WrongCN, node2Short, node1OtherOrg] = await Promise.all([
    issueLeaf(otherCA, { kind: 'node', commonName: 'node', hosts: ['node2.example.com', '10.0.0.2'] }),
    issueLeaf(fx.ca, { kind: 'node', commonName: 'nodeX', hosts: ['node1.example.com', '10.0.0.1'], key: fx.pairs['node/node1']!.keyObject }),
    issueLeaf(fx.ca, { kind: 'node', commonName: 'node', hosts: ['node2.example.com', '10.0.0.2'], lifetimeMs: 1000 * HOUR, key: fx.pairs['node/node2']!.keyObject }),
    issueWithOrganization(fx.ca, 'Other', { hosts: ['node1.example.com', '10.0.0.1'], key: fx.pairs['node/node1']!.keyObject }),
  ]);
  return { fx, otherCA, node2ByOther, node1WrongCN, node2Short, node1OtherOrg };
}

function inputOf(c: Case, x: Ctx): { spec: ReturnType<typeof specOf>; tree: ActualTree; now: Date; prune: boolean; rotation?: RotationContext } {
  const doc = baseDoc();
  c.doc?.(doc);
  return { spec: specOf(doc), tree: edit(x.fx.tree, c.tree?.(x) ?? []), now: new Date(c.at ?? NOW), prune: c.prune ?? false, ...(c.rotation ? { rotation: c.rotation(x) } : {}) };
}

const table = suite('diff on in-memory facts, one row per situation');

for (const c of CASES) {
  table(c.name, async () => {
    const ctx = await fixture();
    const input = inputOf(c, ctx);
    const before = snapshot(input);
    // Frozen: a write into the spec, the tree or a fact throws (ES modules are strict).
    const p = diff(deepFreeze(input));
    const artifacts = desiredArtifacts(input.spec).map((a) => a.id);
    assert.equal(describe(p), { want: c.want, errors: c.errors ?? [], keep: c.keep ?? defaultKeep(c, artifacts) });
    const warnings = c.warnings ?? [];
    assert.is(p.warnings.length, warnings.length, `warnings: ${JSON.stringify(p.warnings)}`);
    warnings.forEach((re, i) => assert.match(p.warnings[i]!, re));
    c.check?.(p, ctx);
    // Pure: the input is as it was (bytes included), and the same input gives the same plan.
    assert.equal(input, before);
    assert.equal(diff(input), p);
  });
}

/** The codes no row covers: reason codes never seen as a change's reason, plan error codes never seen as an error. */
function uncovered(rows: Case[]): { reasons: string[]; errors: string[]; unknown: string[] } {
  const reasons = new Set(rows.flatMap((c) => c.want.flatMap((w) => w.split(': ')[1]?.split(', ') ?? [])));
  const errors = new Set(rows.flatMap((c) => (c.errors ?? []).map((e) => e.split(': ')[1] ?? '')));
  const known = new Set<string>([...REASON_CODES, ...PLAN_ERROR_CODES]);
  return { reasons: REASON_CODES.filter((r) => !reasons.has(r)), errors: PLAN_ERROR_CODES.filter((e) => !errors.has(e)), unknown: [...reasons, ...errors].filter((x) => !known.has(x)) };
}

table('every reason code appears as a change reason in some row, every plan error code as an error', () => {
  // Derived from the plan's own lists: a new code without a row here fails.
  assert.equal(uncovered(CASES), { reasons: [], errors: [], unknown: [] });
});

table('the coverage check names what a row set leaves out', () => {
  const rows = CASES.filter((c) => !c.want.some((w) => w.includes('interrupted-write')) && !(c.errors ?? []).some((e) => e.endsWith(': symlink')));
  assert.equal(uncovered(rows), { reasons: ['interrupted-write'], errors: ['symlink'], unknown: [] });
});

table("the plan's header: version, instant, labels, the CA key relative to the certs dir", async () => {
  const ctx = await fixture();
  const spec = specOf(baseDoc());
  const now = new Date(NOW);
  const p = diff({ spec, tree: ctx.fx.tree, now, prune: true, specFile: 'cluster-certs.yaml', certsDirLabel: 'certs' });
  assert.equal(
    { version: p.version, now: p.now, specFile: p.specFile, certsDir: p.certsDir, caKey: p.caKey, prune: p.prune },
    { version: 1, now: '2026-01-15T11:00:00.000Z', specFile: 'cluster-certs.yaml', certsDir: 'certs', caKey: '../secrets/ca.key', prune: true },
  );
  const q = diff({ spec, tree: ctx.fx.tree, now });
  assert.equal({ specFile: q.specFile, certsDir: q.certsDir, prune: q.prune }, { specFile: spec.file, certsDir: spec.certsDir, prune: false });
  const r = diff({ spec, tree: edit(ctx.fx.tree, [rootError('cannot be read')]), now, certsDirLabel: 'my/certs' });
  assert.is(r.errors[0]?.message, 'the certs dir my/certs cannot be read: nothing can be planned until it can be read');
});

table('the fixture is the tree apply writes: all keep, the layout, modes and contents', async () => {
  const ctx = await fixture();
  const p = diff({ spec: ctx.fx.spec, tree: ctx.fx.tree, now: new Date(NOW) });
  assert.equal(p.changes.map((c) => `${c.action} ${c.artifact}`), ['keep ca', 'keep node/node1', 'keep node/node2', 'keep client/root', 'keep client/maxroach']);
  assert.equal(Object.keys(ctx.fx.tree.entries).sort(), [
    'ca.crt',
    'clients',
    'clients/maxroach',
    'clients/maxroach/ca.crt',
    'clients/maxroach/client.maxroach.crt',
    'clients/maxroach/client.maxroach.key',
    'clients/maxroach/client.maxroach.key.pk8',
    'clients/root',
    'clients/root/ca.crt',
    'clients/root/client.root.crt',
    'clients/root/client.root.key',
    'nodes',
    'nodes/node1',
    'nodes/node1/ca.crt',
    'nodes/node1/node.crt',
    'nodes/node1/node.key',
    'nodes/node2',
    'nodes/node2/ca.crt',
    'nodes/node2/node.crt',
    'nodes/node2/node.key',
  ]);
  for (const [rel, f] of Object.entries(ctx.fx.tree.entries)) {
    // Folders 0700 without contents, files with their bytes and their mode (keys 0600, certificates 0644).
    const want = f.type === 'dir' ? 0o700 : /\.key(\.pk8)?$/.test(rel) ? 0o600 : 0o644;
    assert.equal({ rel: f.rel, mode: f.mode, hasBytes: f.bytes !== undefined }, { rel, mode: want, hasBytes: f.type === 'file' }, rel);
  }
  assert.equal({ type: ctx.fx.tree.caKey.type, mode: ctx.fx.tree.caKey.mode, rel: ctx.fx.tree.caKey.rel }, { type: 'file', mode: 0o600, rel: ctx.fx.spec.caKey });
});

table('edits change a copy: the fixture tree is left as it was', async () => {
  const ctx = await fixture();
  const before = snapshot(ctx.fx.tree);
  const t = edit(ctx.fx.tree, [drop('nodes'), mode('ca.crt', 0o600), bytes(CA_KEY, 'x'), orphan('README'), caKeyInTree('README')]);
  assert.equal(ctx.fx.tree, before);
  assert.equal(Object.keys(t.entries).filter((k) => k.startsWith('nodes')), []);
  assert.equal({ mode: t.entries['ca.crt']?.mode, key: t.caKey.bytes?.toString(), inTree: t.caKeyInTree }, { mode: 0o600, key: 'x', inTree: 'README' });
});

table.run();
