// Choosing targets and checking their ssh blocks (src/distribute/select.ts): all from the spec,
// before any file is read or host contacted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertgenError } from '../../src/errors.js';
import { checkSelection, checkSshTarget, destinationKey, selectTargets } from '../../src/distribute/select.js';
import { DEFAULT_KEY_SIZE, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, DEFAULT_CA_LIFETIME_NS, type ClusterSpec, type SshTarget } from '../../src/cluster-spec/spec.js';

const ssh = (over: Partial<SshTarget> = {}): SshTarget => ({ host: 'db1', port: 22, dir: '/certs', options: [], ...over });
const leaf = { keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_LIFETIME_NS, renewBefore: DEFAULT_RENEW_BEFORE_NS };

const spec: ClusterSpec = {
  file: '/x/cluster-certs.yaml',
  baseDir: '/x',
  certsDir: '/x/certs',
  caKey: '/safe/ca.key',
  ca: { keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_CA_LIFETIME_NS },
  nodes: [
    { name: 'n1', hosts: ['n1'], ...leaf, ssh: ssh({ host: 'n1', dir: '/c' }), reload: 'reload-n1' },
    { name: 'n2', hosts: ['n2'], ...leaf },
    { name: 'n3', hosts: ['n3'], ...leaf, ssh: ssh({ host: 'n3' }) },
  ],
  clients: [
    { user: 'root', pkcs8: true, ...leaf, ssh: ssh({ host: 'app' }) },
    { user: 'bob', pkcs8: false, ...leaf },
  ],
};

const message = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    assert.instance(err, CertgenError);
    return (err as Error).message;
  }
  throw new Error('expected a CertgenError');
};

test('selectTargets: nodes with an ssh block by default, clients when asked, each with its files', () => {
  assert.equal(selectTargets(spec, {}).map((s) => s.name), ['n1', 'n3']);
  const all = selectTargets(spec, { includeClients: true });
  assert.equal(all.map((s) => `${s.kind} ${s.name}`), ['node n1', 'node n3', 'client root']);
  assert.equal(all[0], { kind: 'node', name: 'n1', ssh: spec.nodes[0]?.ssh, reload: 'reload-n1', folder: '/x/certs/nodes/n1', expected: ['ca.crt', 'node.crt', 'node.key'], hosts: ['n1'], verify: undefined });
  assert.equal(all[2]?.expected, ['ca.crt', 'client.root.crt', 'client.root.key', 'client.root.key.pk8']);
  assert.is(all[2]?.folder, '/x/certs/clients/root');
  // --client implies --clients.
  assert.equal(selectTargets(spec, { nodes: ['n3'], clients: ['root'] }).map((s) => s.name), ['n3', 'root']);
});

test('selectTargets: with a split client CA a node also gets ca-client.crt (what it verifies clients with) and its client.node pair', () => {
  const split: ClusterSpec = { ...spec, clientCa: { key: '/safe/ca-client.key', keyType: 'rsa', keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_CA_LIFETIME_NS } };
  const all = selectTargets(split, { includeClients: true });
  assert.equal(all[0]?.expected, ['ca.crt', 'node.crt', 'node.key', 'ca-client.crt', 'client.node.crt', 'client.node.key']);
  // Clients verify the servers with ca.crt and never hold ca-client.crt.
  assert.equal(all[2]?.expected, ['ca.crt', 'client.root.crt', 'client.root.key', 'client.root.key.pk8']);
});

test('selectTargets: unknown names and named targets without ssh are errors', () => {
  assert.is(message(() => selectTargets(spec, { nodes: ['zz'] })), 'unknown node zz (valid nodes: n1, n2, n3)');
  assert.is(message(() => selectTargets(spec, { nodes: ['n1'], clients: ['a', 'b'] })), 'unknown clients a, b (valid clients: root, bob)');
  assert.is(message(() => selectTargets({ ...spec, clients: [] }, { clients: ['a'] })), 'unknown client a (the spec has no clients)');
  assert.is(message(() => selectTargets(spec, { nodes: ['n2'] })), 'node n2 has no ssh target');
  assert.is(message(() => selectTargets(spec, { clients: ['bob', 'root'] })), 'client bob has no ssh target');
});

test('checkSshTarget: what ssh could misread, or cannot use, is refused', () => {
  checkSshTarget('node n1', ssh({ user: 'crdb', options: ['ConnectTimeout=5', 'Compression yes'] }));
  assert.is(message(() => checkSshTarget('node n1', ssh({ host: '-oProxyCommand=x' }))), 'node n1: "-oProxyCommand=x" is not a valid ssh host');
  assert.is(message(() => checkSshTarget('node n1', ssh({ host: 'a@b' }))), 'node n1: "a@b" is not a valid ssh host');
  assert.is(message(() => checkSshTarget('node n1', ssh({ user: 'a:b' }))), 'node n1: "a:b" is not a valid ssh user');
  assert.is(message(() => checkSshTarget('node n1', ssh({ port: 70000 }))), 'node n1: ssh port 70000 is out of range');
  assert.is(message(() => checkSshTarget('node n1', ssh({ dir: 'a\nb' }))), 'node n1: "a\\nb" is not a usable remote folder');
  assert.is(message(() => checkSshTarget('node n1', ssh({ options: ['-v'] }))), 'node n1: "-v" is not an ssh option (write Name=value)');
  assert.match(message(() => checkSshTarget('node n1', ssh({ options: ['batchmode=no'] }))), /^node n1: ssh option "batchmode=no" is not allowed: certgen always runs ssh with BatchMode=yes/);
  assert.match(message(() => checkSshTarget('node n1', ssh({ options: ['Port 2222'] }))), /not allowed: set ssh\.port instead$/);
});

test('destinationKey: the same remote folder however it is spelt', () => {
  assert.is(destinationKey(ssh({ host: 'DB1', dir: '/certs/' })), destinationKey(ssh({ dir: '/certs/./' })));
  assert.is(destinationKey(ssh({ user: 'a', dir: '/certs' })), destinationKey(ssh({ user: 'b', dir: '/certs' })), 'an absolute dir is the same for every user');
  assert.is.not(destinationKey(ssh({ user: 'a', dir: 'certs' })), destinationKey(ssh({ user: 'b', dir: 'certs' })), "a relative dir is in each user's home");
  assert.is.not(destinationKey(ssh({ port: 22 })), destinationKey(ssh({ port: 2222 })));
});

test('checkSelection: something to do, usable ssh blocks, no two targets on one folder', () => {
  checkSelection(spec, {}, selectTargets(spec, {}));
  assert.is(message(() => checkSelection(spec, {}, [])), 'nothing to distribute: no node in /x/cluster-certs.yaml has an ssh target');
  assert.is(message(() => checkSelection(spec, { includeClients: true }, [])), 'nothing to distribute: no node or client in /x/cluster-certs.yaml has an ssh target');
  const [a] = selectTargets(spec, { nodes: ['n3'] });
  const twin = { ...(a as NonNullable<typeof a>), name: 'n4', ssh: ssh({ host: 'N3', dir: '/certs/' }) };
  assert.is(message(() => checkSelection(spec, {}, [a as NonNullable<typeof a>, twin])), 'node n4 and node n3 have the same ssh destination N3:22:/certs/; their files would overwrite each other');
  assert.match(message(() => checkSelection(spec, {}, [{ ...twin, ssh: ssh({ port: 0 }) }])), /^node n4: ssh port 0 is out of range$/);
});

test.run();
