// `certgen status` against real servers on 127.0.0.1 (test/helpers/sshd.ts): OpenSSH with and
// without an SFTP subsystem, and Dropbear. Each target's remote folder is put in a known state
// (in sync, a file missing, another file's bytes, another mode, the folder missing, a directory
// where a file belongs, a leftover staging folder) and status must say exactly that, in one ssh
// session per target, without changing a byte, a mode or an mtime remotely. The CLI:
// test/cli-status.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCA, createNode } from '../../src/cert/commands.js';
import { distribute } from '../../src/distribute/distribute.js';
import { fleetStatus, type StatusTarget } from '../../src/distribute/status.js';
import { renderStatus } from '../../src/distribute/status-render.js';
import { DEFAULT_CA_LIFETIME_NS, DEFAULT_KEY_SIZE, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, type ClusterSpec, type SshTarget } from '../../src/cluster-spec/spec.js';
import { startServer, type SshServer, type SshServerKind } from '../helpers/sshd.js';
import { tmpdir, setup } from '../helpers/index.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Tree {
  root: string;
  certsDir: string;
  caKey: string;
  remote: string;
}

async function makeTree(nodes: string[]): Promise<Tree> {
  const root = tmpdir('certgen-status-');
  const tree = { root, certsDir: path.join(root, 'certs'), caKey: path.join(root, 'safe', 'ca.key'), remote: path.join(root, 'remote') };
  mkdirSync(path.dirname(tree.caKey));
  mkdirSync(tree.remote);
  await createCA({ certsDir: tree.certsDir, caKey: tree.caKey, keySize: 1024 });
  for (const n of nodes) {
    const dir = path.join(tree.certsDir, 'nodes', n);
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(tree.certsDir, 'ca.crt'), path.join(dir, 'ca.crt'));
    await createNode({ certsDir: dir, caKey: tree.caKey, keySize: 1024 }, [`${n}.example.com`]);
  }
  return tree;
}

function spec(tree: Tree, server: SshServer, nodes: string[], over: Record<string, Partial<SshTarget>> = {}): ClusterSpec {
  const ssh = (n: string): SshTarget => ({ host: server.host, port: server.port, user: server.user, dir: path.join(tree.remote, n), identityFile: server.identityFile, knownHosts: server.knownHosts, options: [], ...over[n] });
  return {
    file: path.join(tree.root, 'cluster-certs.yaml'),
    baseDir: tree.root,
    certsDir: tree.certsDir,
    caKey: tree.caKey,
    ca: { keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_CA_LIFETIME_NS },
    nodes: nodes.map((name) => ({ name, hosts: [`${name}.example.com`], keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_LIFETIME_NS, renewBefore: DEFAULT_RENEW_BEFORE_NS, ssh: ssh(name) })),
    clients: [],
  };
}

/** Every entry under a folder: path → type, mode, mtime, content hash. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = path.join(dir, e);
      const st = lstatSync(p);
      out[path.relative(root, p)] = `${st.isDirectory() ? 'd' : 'f'} ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${st.isFile() ? sha(readFileSync(p)) : ''}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

const byName = (ts: StatusTarget[], name: string): StatusTarget => {
  const t = ts.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no target ${name}`);
  return t;
};
const states = (t: StatusTarget): string[] => t.files.map((f) => `${f.name}=${f.state}`);

const KINDS: [string, SshServerKind, { sftp?: boolean }][] = [
  ['OpenSSH with SFTP', 'openssh', {}],
  ['OpenSSH without an SFTP subsystem', 'openssh', { sftp: false }],
  ['Dropbear', 'dropbear', {}],
];

for (const [label, kind, options] of KINDS) {
  const s = suite(`status against ${label}`);
  let server: SshServer | undefined;
  setup(s, async () => {
    server = await startServer(kind, options);
  });
  s.after(async () => {
    await server?.stop();
  });

  s('each drift named per file, one session per target, nothing changed remotely; in sync after distribute', async () => {
    if (server === undefined) throw new Error('the server did not start');
    const sv = server;
    const nodes = ['ok', 'gone', 'other', 'mode', 'nodir', 'isdir', 'left'];
    const tree = await makeTree(nodes);
    const sp = spec(tree, sv, nodes);
    assert.ok((await distribute(sp, { concurrency: 4 })).ok);
    const r = (n: string): string => path.join(tree.remote, n);
    rmSync(path.join(r('gone'), 'node.key'));
    writeFileSync(path.join(r('other'), 'node.crt'), 'not the certificate\n', { mode: 0o644 });
    chmodSync(path.join(r('mode'), 'node.key'), 0o640);
    rmSync(r('nodir'), { recursive: true });
    rmSync(path.join(r('isdir'), 'ca.crt'));
    mkdirSync(path.join(r('isdir'), 'ca.crt'));
    mkdirSync(path.join(r('left'), '.certgen-0123abcd'), { mode: 0o700 });
    const before = snapshot(tree.remote);
    const s0 = sv.sessions().length;

    const res = await fleetStatus(sp, { concurrency: 3 });
    assert.is(sv.sessions().length - s0, nodes.length, 'one session per target');
    assert.equal(snapshot(tree.remote), before, 'nothing changed remotely (bytes, modes, mtimes, entries)');
    assert.is(res.exitCode, 2);
    assert.equal(res.summary, { total: 7, inSync: 2, drift: 5, unreachable: 0 });
    const t = res.targets;
    assert.equal(t.map((x) => x.name), nodes, 'spec order');
    assert.equal(states(byName(t, 'ok')), ['ca.crt=in-sync', 'node.crt=in-sync', 'node.key=in-sync']);
    assert.equal(states(byName(t, 'gone')), ['ca.crt=in-sync', 'node.crt=in-sync', 'node.key=missing']);
    assert.equal(states(byName(t, 'other')), ['ca.crt=in-sync', 'node.crt=different', 'node.key=in-sync']);
    const other = byName(t, 'other').files[1];
    assert.is(other?.remoteSha256, sha(Buffer.from('not the certificate\n')));
    assert.is(other?.sha256, sha(readFileSync(path.join(tree.certsDir, 'nodes/other/node.crt'))));
    assert.equal(states(byName(t, 'mode')), ['ca.crt=in-sync', 'node.crt=in-sync', 'node.key=mode']);
    assert.equal([byName(t, 'mode').files[2]?.remoteMode, byName(t, 'mode').files[2]?.mode], [0o640, 0o600]);
    assert.equal([byName(t, 'nodir').dirExists, states(byName(t, 'nodir'))], [false, ['ca.crt=missing', 'node.crt=missing', 'node.key=missing']]);
    assert.equal(states(byName(t, 'isdir')), ['ca.crt=not-a-file', 'node.crt=in-sync', 'node.key=in-sync']);
    assert.is(byName(t, 'left').state, 'in-sync', 'a leftover staging folder is not drift of the live files');
    assert.equal(byName(t, 'left').leftovers, ['.certgen-0123abcd']);
    assert.match(byName(t, 'left').warnings.join('\n'), /\.certgen-0123abcd left by an interrupted distribute/);
    for (const x of t) assert.ok(x.reachable && x.error === null, x.label);

    const table = renderStatus(res, 'table');
    assert.match(table, /node gone .*node\.key missing .*DRIFT/);
    assert.match(table, /node other .*node\.crt different \(SHA-256 [0-9a-f]{12}…, local [0-9a-f]{12}…\)/);
    assert.match(table, /node mode .*node\.key mode 0640 \(local 0600\)/);
    assert.match(table, /node ok .*all 3 in sync .*in sync/);
    assert.match(table, /7 targets: 2 in sync, 5 drift, 0 unreachable\n/);

    // distribute fixes all but the directory in ca.crt's place (which it refuses to touch).
    const fixed = await distribute(sp, { concurrency: 4 });
    assert.is(byName(res.targets, 'isdir').state, 'drift');
    assert.equal(fixed.targets.filter((x) => x.status === 'failed').map((x) => x.name), ['isdir']);
    rmSync(path.join(r('isdir'), 'ca.crt'), { recursive: true });
    assert.ok((await distribute(sp)).ok);
    const after = await fleetStatus(sp);
    assert.is(after.exitCode, 0);
    assert.ok(after.targets.every((x) => x.state === 'in-sync'));
  });

  s.run();
}
