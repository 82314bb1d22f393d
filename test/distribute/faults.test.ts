// distribute's faults on the remote side, each against a real OpenSSH sshd on 127.0.0.1 that runs
// in a private mount namespace (test/helpers/sshd.ts, mountSetup): its sessions see a tiny tmpfs
// (the disk full) and a read-only bind mount (a read-only folder); the rest of the machine does
// not. And a host whose key changed. Each must give a clear per-host result, leave no partial file
// under a real name remotely (every live file keeps its old bytes and mode), and converge on a rerun
// once the cause is gone. `status` sees the same states.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { createCA, createNode } from '../../src/cert/commands.js';
import { distribute } from '../../src/distribute/distribute.js';
import { fleetStatus } from '../../src/distribute/status.js';
import { DEFAULT_CA_LIFETIME_NS, DEFAULT_KEY_SIZE, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, type ClusterSpec, type SshTarget } from '../../src/cluster-spec/spec.js';
import { startSshd, type SshServer } from '../helpers/sshd.js';
import { tmpdir, setup } from '../helpers/index.js';

const FILES = ['ca.crt', 'node.crt', 'node.key'] as const;
const modeFor = (f: string): number => (f.endsWith('.key') ? 0o600 : 0o644);

interface Tree {
  root: string;
  certsDir: string;
  caKey: string;
  remote: string;
}

async function issue(tree: Tree, name: string, overwrite = false): Promise<void> {
  const dir = path.join(tree.certsDir, 'nodes', name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(tree.certsDir, 'ca.crt'), path.join(dir, 'ca.crt'));
  await createNode({ certsDir: dir, caKey: tree.caKey, overwrite, keySize: 1024 }, [`${name}.example.com`]);
}

async function makeTree(nodes: string[]): Promise<Tree> {
  const root = tmpdir('certgen-faults-');
  const tree = { root, certsDir: path.join(root, 'certs'), caKey: path.join(root, 'safe', 'ca.key'), remote: path.join(root, 'remote') };
  mkdirSync(path.dirname(tree.caKey));
  await createCA({ certsDir: tree.certsDir, caKey: tree.caKey, keySize: 1024 });
  for (const n of nodes) {
    await issue(tree, n);
    mkdirSync(path.join(tree.remote, n), { recursive: true, mode: 0o700 });
  }
  return tree;
}

function spec(tree: Tree, server: SshServer, nodes: string[], knownHosts = server.knownHosts): ClusterSpec {
  const ssh = (n: string): SshTarget => ({ host: server.host, port: server.port, user: server.user, dir: path.join(tree.remote, n), identityFile: server.identityFile, knownHosts, options: [] });
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

const local = (tree: Tree, node: string, f: string): Buffer => readFileSync(path.join(tree.certsDir, 'nodes', node, f));

/** The node's local files now, to compare the remote ones with after a failed run. */
function versionOf(tree: Tree, node: string): Record<string, Buffer> {
  return Object.fromEntries(FILES.map((f) => [f, local(tree, node, f)]));
}

/** The remote folder (as the server sees it) holds exactly these files, with their final modes, and nothing else. */
function assertHolds(dir: string, files: Record<string, Buffer>, where: string): void {
  assert.equal(readdirSync(dir).filter((n) => n !== 'filler').sort(), [...FILES], `${where}: exactly the three files, no staging folder left`);
  for (const f of FILES) {
    assert.ok(readFileSync(path.join(dir, f)).equals(files[f] as Buffer), `${where}: ${f} is not the expected file`);
    assert.is(statSync(path.join(dir, f)).mode & 0o777, modeFor(f), `${where}: ${f} mode`);
  }
}

// ---------------------------------------------------------------------------------------------
const ns = suite('a full disk and a read-only folder (private mount namespace)');
let tree: Tree;
let server: SshServer | undefined;
const NODES = ['full', 'ro'];

setup(ns, async () => {
  tree = await makeTree(NODES);
  // The old files, in place before the read-only mount.
  for (const f of FILES) writeFileSync(path.join(tree.remote, 'ro', f), local(tree, 'ro', f), { mode: modeFor(f) });
  const full = path.join(tree.remote, 'full');
  const ro = path.join(tree.remote, 'ro');
  server = await startSshd({ mountSetup: [`mount -t tmpfs -o size=64k,mode=0700 certgen-full '${full}'`, `mount --bind '${ro}' '${ro}'`, `mount -o remount,bind,ro '${ro}'`] });
});
ns.after(async () => {
  await server?.stop();
});

ns('the disk full: nothing replaced, no staging folder left, a clear reason; a rerun converges once there is room', async () => {
  if (server === undefined) throw new Error('the server did not start');
  const sv = server;
  const dir = sv.inside(path.join(tree.remote, 'full'));
  assert.ok(existsSync(dir));
  assert.is(readdirSync(path.join(tree.remote, 'full')).length, 0, 'the tmpfs is private to the server');
  const sp = spec(tree, sv, ['full']);
  assert.ok((await distribute(sp)).ok);
  const old = versionOf(tree, 'full');
  await issue(tree, 'full', true);
  const next = versionOf(tree, 'full');
  const bundle = (next['node.crt'] as Buffer).length + (next['node.key'] as Buffer).length;
  // Free space left for the run: none at all; a page (the received bytes fit, the split copies do not).
  for (const room of [0, 4096]) {
    rmSync(path.join(dir, 'filler'), { force: true });
    const st = statfsSync(dir);
    const free = Number(st.bavail) * Number(st.bsize);
    writeFileSync(path.join(dir, 'filler'), Buffer.alloc(free - room));
    assert.is(Number(statfsSync(dir).bavail) * Number(statfsSync(dir).bsize), room);
    assert.ok(room === 0 || bundle < room, 'the bundle alone fits');
    const r = await distribute(sp);
    const t = r.targets[0];
    const where = `${room} bytes free`;
    assert.is(t?.status, 'failed', where);
    assert.is(t?.phase, 'copy', `${where}: ${t?.error}`);
    assert.match(t?.error ?? '', /^cannot (write|create) the staging folder.*No space left on device; no file was replaced$/, `${where}: ${t?.error}`);
    assertHolds(dir, old, where);
    const s = await fleetStatus(sp);
    assert.equal([s.exitCode, s.targets[0]?.files.map((f) => f.state)], [2, ['in-sync', 'different', 'different']], `${where}: status sees the old files`);
  }
  rmSync(path.join(dir, 'filler'));
  const again = await distribute(sp);
  assert.ok(again.ok, again.targets[0]?.error ?? '');
  assertHolds(dir, next, 'after the rerun');
  assert.is((await fleetStatus(sp)).exitCode, 0);
});

ns('a read-only folder: refused with the reason, nothing changed; a rerun converges once it is writable', async () => {
  if (server === undefined) throw new Error('the server did not start');
  const sv = server;
  const dir = sv.inside(path.join(tree.remote, 'ro'));
  const old = versionOf(tree, 'ro');
  const sp = spec(tree, sv, ['ro']);
  // The server's mount namespace, entered to make the folder writable or read-only again.
  const remount = (how: 'rw' | 'ro') => execa('nsenter', ['-t', String(/^\/proc\/(\d+)\//.exec(dir)?.[1]), '-m', 'mount', '-o', `remount,bind,${how}`, path.join(tree.remote, 'ro')]);
  assert.is((await fleetStatus(sp)).exitCode, 0, 'status reads a read-only folder');
  await issue(tree, 'ro', true);
  const next = versionOf(tree, 'ro');
  const r = await distribute(sp);
  const t = r.targets[0];
  assert.is(t?.status, 'failed');
  assert.is(t?.phase, 'copy');
  assert.match(t?.error ?? '', /^cannot create the staging folder in the remote folder: mkdir: cannot create directory '\.certgen-[0-9a-f]+': Read-only file system; no file was replaced$/, t?.error ?? '');
  assertHolds(dir, old, 'read-only');
  const status = await fleetStatus(sp);
  assert.equal([status.exitCode, status.targets[0]?.state], [2, 'drift']);

  // Only a mode to fix: refused the same way, with the file named.
  writeFileSync(path.join(tree.certsDir, 'nodes/ro/node.crt'), old['node.crt'] as Buffer);
  writeFileSync(path.join(tree.certsDir, 'nodes/ro/node.key'), old['node.key'] as Buffer, { mode: 0o600 });
  await remount('rw');
  await execa('chmod', ['0640', path.join(dir, 'node.key')]);
  await remount('ro');
  const chmodOnly = await distribute(sp);
  assert.is(chmodOnly.targets[0]?.status, 'failed');
  assert.match(chmodOnly.targets[0]?.error ?? '', /^cannot set the mode of node\.key: chmod: changing permissions of 'node\.key': Read-only file system$/, chmodOnly.targets[0]?.error ?? '');
  assert.is(statSync(path.join(dir, 'node.key')).mode & 0o777, 0o640);

  // Writable again (and the newer certificate back): the rerun converges.
  await issue(tree, 'ro', true);
  const newest = versionOf(tree, 'ro');
  assert.not.ok((newest['node.crt'] as Buffer).equals(next['node.crt'] as Buffer));
  await remount('rw');
  const again = await distribute(sp);
  assert.ok(again.ok, again.targets[0]?.error ?? '');
  assertHolds(dir, newest, 'after the rerun');
});

ns.run();

// ---------------------------------------------------------------------------------------------
const hk = suite('a host whose key changed');
let plain: SshServer | undefined;
setup(hk, async () => {
  plain = await startSshd();
});
hk.after(async () => {
  await plain?.stop();
});

hk('refused before anything is sent, known_hosts untouched, the message says what to do; following it converges', async () => {
  if (plain === undefined) throw new Error('the server did not start');
  const sv = plain;
  const t = await makeTree(['hk']);
  const kh = path.join(t.root, 'ops known_hosts');
  copyFileSync(sv.knownHosts, kh);
  const sp = spec(t, sv, ['hk'], kh);
  assert.ok((await distribute(sp)).ok);
  const old = versionOf(t, 'hk');
  // The host "was reinstalled": known_hosts still holds the old key.
  const other = path.join(t.root, 'old_host_key');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  writeFileSync(kh, `[127.0.0.1]:${sv.port} ${readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const khBefore = readFileSync(kh);
  await issue(t, 'hk', true);
  const next = versionOf(t, 'hk');
  const s0 = sv.sessions().length;

  const r = await distribute(sp);
  const target = r.targets[0];
  assert.is(target?.status, 'failed');
  assert.is(target?.phase, 'check');
  const fix = `ssh-keygen -f '${kh}' -R '[127.0.0.1]:${sv.port}'`;
  assert.is(
    target?.error,
    `host key verification failed: the key of 127.0.0.1:${sv.port} differs from the one in ${kh}:1, so nothing was sent; if the host was reinstalled, check its new key's fingerprint out of band, remove the old one (${fix}), add the new one and run again`,
  );
  assert.is(sv.sessions().length, s0, 'no session reached the server');
  assert.ok(readFileSync(kh).equals(khBefore), 'known_hosts untouched');
  assertHolds(path.join(t.remote, 'hk'), old, 'refused');
  const status = await fleetStatus(sp);
  assert.equal([status.exitCode, status.targets[0]?.state, status.targets[0]?.error], [1, 'unreachable', target?.error]);

  // Do what the message says.
  await execa('/bin/sh', ['-c', fix]);
  writeFileSync(kh, `${readFileSync(kh, 'utf8')}[127.0.0.1]:${sv.port} ${sv.hostPublicKey}\n`);
  const again = await distribute(sp);
  assert.ok(again.ok, again.targets[0]?.error ?? '');
  assertHolds(path.join(t.remote, 'hk'), next, 'after the fix');
});

hk.run();
