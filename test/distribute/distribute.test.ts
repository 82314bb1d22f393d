// `distribute()` against a real OpenSSH server (test/helpers/sshd.ts) on 127.0.0.1: each "node"
// is a folder on that server; one node's port has nothing listening. Real certificates from the
// cert library, real ssh, nothing mocked. Needs /usr/sbin/sshd (Debian: openssh-server) and the
// ssh and ssh-keygen clients (openssh-client). Other servers (no SFTP, Dropbear), session counts
// and killed transfers: servers.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { createCA, createClient, createClientCA, createNode } from '../../src/cert/commands.js';
import { distribute, type DistributeEvent, type DistributeOptions, type DistributeResult, type DistributeTarget } from '../../src/distribute/distribute.js';
import { distributeResultJson, formatDistributeEvent, renderDistributeTable } from '../../src/distribute/render.js';
import { CertgenError } from '../../src/errors.js';
import { DEFAULT_KEY_SIZE, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, DEFAULT_CA_LIFETIME_NS, type ClusterSpec, type NodeSpec, type ClientSpec, type SshTarget } from '../../src/cluster-spec/spec.js';
import { freePort, startSshd, type SshdServer } from '../helpers/sshd.js';
import { tmpdir, setup } from '../helpers/index.js';
import { shellQuote } from '../../src/io/remote.js';

// ---------------------------------------------------------------------------------------------
// Fixtures

/** Small keys keep the tests quick; distribute does not look at key sizes. */
const KEY_SIZE = 1024;

interface Tree {
  root: string;
  certsDir: string;
  caKey: string;
  remote: string;
}

/** A generated tree as `certgen apply` lays it out, with real certificates. */
async function makeTree(nodes: string[], clients: string[] = []): Promise<Tree> {
  const root = tmpdir('certgen-dist-');
  const certsDir = path.join(root, 'certs');
  const caKey = path.join(root, 'safe', 'ca.key');
  mkdirSync(path.dirname(caKey));
  await createCA({ certsDir, caKey, keySize: KEY_SIZE });
  for (const n of nodes) await issueNode({ root, certsDir, caKey, remote: '' }, n);
  for (const u of clients) {
    const dir = path.join(certsDir, 'clients', u);
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(certsDir, 'ca.crt'), path.join(dir, 'ca.crt'));
    await createClient({ certsDir: dir, caKey, keySize: KEY_SIZE }, u);
  }
  const remote = path.join(root, 'remote');
  mkdirSync(remote);
  return { root, certsDir, caKey, remote };
}

async function issueNode(tree: Tree, name: string, overwrite = false): Promise<void> {
  const dir = path.join(tree.certsDir, 'nodes', name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(tree.certsDir, 'ca.crt'), path.join(dir, 'ca.crt'));
  await createNode({ certsDir: dir, caKey: tree.caKey, overwrite, keySize: KEY_SIZE }, [`${name}.example.com`, 'localhost']);
}

let sshd: SshdServer;
/** known_hosts in a folder whose name has a space, proving the UserKnownHostsFile quoting. */
let knownHosts: string;

function ssh(dir: string, over: Partial<SshTarget> = {}): SshTarget {
  return { host: sshd.host, port: sshd.port, user: sshd.user, dir, identityFile: sshd.identityFile, knownHosts, options: [], ...over };
}

interface NodeDef {
  name: string;
  ssh?: SshTarget;
  reload?: string;
}

function makeSpec(tree: Tree, nodes: NodeDef[], clients: { user: string; ssh?: SshTarget; reload?: string }[] = []): ClusterSpec {
  return {
    file: path.join(tree.root, 'cluster-certs.yaml'),
    baseDir: tree.root,
    certsDir: tree.certsDir,
    caKey: tree.caKey,
    ca: { keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_CA_LIFETIME_NS },
    nodes: nodes.map((n): NodeSpec => {
      const out: NodeSpec = { name: n.name, hosts: [`${n.name}.example.com`, 'localhost'], keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_LIFETIME_NS, renewBefore: DEFAULT_RENEW_BEFORE_NS };
      if (n.ssh) out.ssh = n.ssh;
      if (n.reload !== undefined) out.reload = n.reload;
      return out;
    }),
    clients: clients.map((c): ClientSpec => {
      const out: ClientSpec = { user: c.user, pkcs8: false, keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_LIFETIME_NS, renewBefore: DEFAULT_RENEW_BEFORE_NS };
      if (c.ssh) out.ssh = c.ssh;
      if (c.reload !== undefined) out.reload = c.reload;
      return out;
    }),
  };
}

async function run(spec: ClusterSpec, opts: DistributeOptions = {}): Promise<{ result: DistributeResult; events: DistributeEvent[] }> {
  const events: DistributeEvent[] = [];
  const result = await distribute(spec, { ...opts, onEvent: (e) => events.push(e) });
  return { result, events };
}

function target(result: DistributeResult, name: string): DistributeTarget {
  const t = result.targets.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no target ${name} in ${result.targets.map((x) => x.name).join(', ')}`);
  return t;
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const mode = (p: string): number => statSync(p).mode & 0o7777;

/** Every file under a folder: relative path → mode, inode, mtime and content hash. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = path.join(dir, e);
      const st = lstatSync(p);
      const rel = path.relative(root, p);
      if (st.isDirectory()) {
        out[`${rel}/`] = `${(st.mode & 0o7777).toString(8)}`;
        walk(p);
      } else {
        out[rel] = `${(st.mode & 0o7777).toString(8)} ino=${st.ino} mtime=${st.mtimeMs} ${st.isFile() ? sha(readFileSync(p)) : 'link'}`;
      }
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/** Fails when any file under `root` holds the CA key's bytes or its base64 body. */
function assertNoCaKey(root: string, caKey: string): void {
  const key = readFileSync(caKey);
  const body = key.toString('latin1').split('\n').filter((l) => l !== '' && !l.startsWith('-----')).join('');
  const firstLine = body.slice(0, 64);
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = path.join(dir, e);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const data = readFileSync(p);
        assert.not.ok(data.equals(key), `${p} is the CA key`);
        assert.not.ok(data.toString('latin1').replace(/\n/g, '').includes(firstLine), `${p} contains the CA key`);
      }
    }
  };
  walk(root);
}

function assertArrived(tree: Tree, node: string, remoteDir: string): void {
  const local = path.join(tree.certsDir, 'nodes', node);
  assert.equal(readdirSync(remoteDir).sort(), ['ca.crt', 'node.crt', 'node.key'], `${remoteDir}: exactly the three files, no staging leftovers`);
  for (const f of ['ca.crt', 'node.crt', 'node.key']) {
    assert.ok(readFileSync(path.join(remoteDir, f)).equals(readFileSync(path.join(local, f))), `${f} bytes`);
  }
  assert.is(mode(path.join(remoteDir, 'node.key')).toString(8), '600');
  assert.is(mode(path.join(remoteDir, 'node.crt')).toString(8), '644');
  assert.is(mode(path.join(remoteDir, 'ca.crt')).toString(8), '644');
  assert.is(mode(remoteDir).toString(8), '700');
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<CertgenError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, CertgenError);
    assert.match((err as Error).message, re);
    return err as CertgenError;
  }
  throw new assert.Assertion({ message: `expected a rejection matching ${re}`, operator: 'rejects', expects: String(re), actual: 'resolved' } as never);
}

// ---------------------------------------------------------------------------------------------
const d = suite('distribute over real ssh');

setup(d, async () => {
  sshd = await startSshd();
  const khDir = path.join(sshd.dir, 'known hosts dir');
  mkdirSync(khDir);
  knownHosts = path.join(khDir, 'known_hosts');
  copyFileSync(sshd.knownHosts, knownHosts);
});

d.after(async () => {
  await sshd?.stop();
});

d('copies each node its own files with the right bytes and modes; reload runs; a second run changes nothing', async () => {
  const tree = await makeTree(['n1', 'n2', 'n3']);
  const dirs = { n1: path.join(tree.remote, 'n1'), n2: path.join(tree.remote, "node 2 'q' $HOME"), n3: path.join(tree.remote, 'deep', 'er', 'n3') };
  const marker = path.join(tree.root, 'reloaded-n1');
  const spec = makeSpec(tree, [
    { name: 'n1', ssh: ssh(dirs.n1), reload: `touch '${marker}'` },
    { name: 'n2', ssh: ssh(dirs.n2) },
    { name: 'n3', ssh: ssh(dirs.n3) },
  ]);
  const { result, events } = await run(spec, { concurrency: 2 });
  assert.ok(result.ok, JSON.stringify(result.targets.map((t) => t.error)));
  assert.is(result.dryRun, false);
  for (const n of ['n1', 'n2', 'n3'] as const) {
    const t = target(result, n);
    assert.is(t.status, 'updated');
    assert.equal(t.copied, ['ca.crt', 'node.crt', 'node.key']);
    assert.equal(t.unchanged, []);
    assertArrived(tree, n, dirs[n]);
    // One ssh session: the check, then the installer (with the reload, for n1) sent on its stdin.
    assert.equal(t.commands.map((c) => c[0]), ['ssh', 'eval']);
    assert.is((t.commands[1]?.[1] ?? '').includes("r='touch"), n === 'n1');
    for (const argv of t.commands) assert.not.ok(argv.some((a) => a.includes(tree.caKey) || a.includes('ca.key')), 'the CA key is never named in a command');
  }
  assert.is(target(result, 'n1').reload.status, 'ran');
  assert.is(target(result, 'n2').reload.status, 'none');
  assert.ok(existsSync(marker), 'reload ran');
  assertNoCaKey(tree.remote, tree.caKey);
  assert.ok(events.some((e) => e.target === 'node n2' && /copying ca\.crt, node\.crt, node\.key/.test(e.message)));
  assert.ok(events.map(formatDistributeEvent).includes('node n1: updated'));

  // Second run: nothing to copy, no reload, nothing on the remote side touched.
  rmSync(marker);
  const before = snapshot(tree.remote);
  const again = await run(spec);
  assert.ok(again.result.ok);
  for (const t of again.result.targets) {
    assert.is(t.status, 'unchanged', t.label);
    assert.equal(t.copied, []);
    assert.equal(t.unchanged, ['ca.crt', 'node.crt', 'node.key']);
    assert.is(t.commands.length, 1, 'only the read-only check ran');
    assert.ok(t.files.every((f) => f.remoteSha256 === f.sha256));
  }
  assert.is(target(again.result, 'n1').reload.status, 'skipped');
  assert.not.ok(existsSync(marker), 'no reload when nothing changed');
  assert.equal(snapshot(tree.remote), before);
  assert.match(renderDistributeTable(again.result), /3 targets: 0 updated, 3 up to date, 0 failed/);

  // Re-issue n2 only: just its two changed files travel; ca.crt and the other nodes stay as they were.
  await issueNode(tree, 'n2', true);
  const third = await run(spec);
  assert.ok(third.result.ok);
  const n2 = target(third.result, 'n2');
  assert.is(n2.status, 'updated');
  assert.equal(n2.copied, ['node.crt', 'node.key']);
  assert.equal(n2.unchanged, ['ca.crt']);
  assert.is(target(third.result, 'n1').status, 'unchanged');
  assert.is(target(third.result, 'n3').status, 'unchanged');
  assert.not.ok(existsSync(marker), 'n1 did not change, so no reload');
  assertArrived(tree, 'n2', dirs.n2);
  const after = snapshot(tree.remote);
  for (const [k, v] of Object.entries(before)) {
    const changed = k.startsWith(`${path.basename(dirs.n2)}/node.`) || k === `${path.basename(dirs.n2)}/`;
    if (!changed) assert.is(after[k], v, `${k} untouched`);
  }
  assert.is.not(after[`${path.basename(dirs.n2)}/node.key`], before[`${path.basename(dirs.n2)}/node.key`]);
  assertNoCaKey(tree.remote, tree.caKey);
});

d('modes that drifted are fixed without copying or reloading', async () => {
  const tree = await makeTree(['m1']);
  const dir = path.join(tree.remote, 'm1');
  const marker = path.join(tree.root, 'reloaded');
  const spec = makeSpec(tree, [{ name: 'm1', ssh: ssh(dir), reload: `touch ${marker}` }]);
  assert.ok((await run(spec)).result.ok);
  rmSync(marker);
  chmodSync(path.join(dir, 'node.key'), 0o644);
  chmodSync(dir, 0o755);
  const inode = statSync(path.join(dir, 'node.key')).ino;
  const { result } = await run(spec);
  const t = target(result, 'm1');
  assert.is(t.status, 'updated');
  assert.equal(t.copied, []);
  assert.equal(t.modesFixed, ['node.key']);
  assert.is(t.reload.status, 'skipped');
  assert.not.ok(existsSync(marker));
  // An existing folder keeps the mode its operator chose (a group may need to read it); certgen
  // only warns when others can get in.
  assert.is(statSync(dir).mode & 0o777, 0o755);
  assert.ok(t.warnings.some((w) => /is open to other users \(mode 0755\)/.test(w)), t.warnings.join('; '));
  chmodSync(dir, 0o700);
  assertArrived(tree, 'm1', dir);
  assert.is(statSync(path.join(dir, 'node.key')).ino, inode, 'fixed in place, not copied');
});

d('a node whose server is down fails alone with a clear message', async () => {
  const tree = await makeTree(['up', 'down', 'up2']);
  const deadPort = await freePort();
  const spec = makeSpec(tree, [
    { name: 'up', ssh: ssh(path.join(tree.remote, 'up')) },
    { name: 'down', ssh: ssh(path.join(tree.remote, 'down'), { port: deadPort }) },
    { name: 'up2', ssh: ssh(path.join(tree.remote, 'up2')) },
  ]);
  const { result, events } = await run(spec, { concurrency: 1 });
  assert.is(result.ok, false);
  const down = target(result, 'down');
  assert.is(down.status, 'failed');
  assert.is(down.error, `connection refused on 127.0.0.1:${deadPort}`);
  assert.is(down.phase, 'check');
  assert.equal(down.copied, []);
  assert.not.ok(existsSync(path.join(tree.remote, 'down')));
  assert.is(target(result, 'up').status, 'updated');
  assert.is(target(result, 'up2').status, 'updated', 'the node after the failed one still ran');
  assertArrived(tree, 'up', path.join(tree.remote, 'up'));
  assertArrived(tree, 'up2', path.join(tree.remote, 'up2'));
  assert.ok(events.some((e) => e.failed && e.target === 'node down' && e.message.includes('connection refused')));

  const table = renderDistributeTable(result);
  assert.match(table, new RegExp(`node down .*FAILED \\(checking remote files\\): connection refused on 127\\.0\\.0\\.1:${deadPort}`));
  assert.match(table, /3 targets: 2 updated, 0 up to date, 1 failed/);
  const json = JSON.parse(JSON.stringify(distributeResultJson(result)));
  assert.is(json.version, 1);
  assert.is(json.ok, false);
  assert.equal(Object.keys(json.targets[1]), ['kind', 'name', 'host', 'port', 'user', 'dir', 'status', 'error', 'phase', 'copied', 'unchanged', 'modesFixed', 'reload', 'files', 'warnings', 'commands', 'verify', 'reloadAgain', 'durationMs']);
  assert.is(json.targets[1].error, `connection refused on 127.0.0.1:${deadPort}`);
  assert.is(json.targets[0].files[2].mode, '0600');
});

d('host key checks: a wrong key and an unknown host both fail; so does an unauthorized client key', async () => {
  const tree = await makeTree(['wrongkey', 'unknown', 'noauth', 'fine']);
  const other = path.join(tree.root, 'other_host_key');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  const wrongKnownHosts = path.join(tree.root, 'wrong_known_hosts');
  writeFileSync(wrongKnownHosts, `[127.0.0.1]:${sshd.port} ${readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const emptyKnownHosts = path.join(tree.root, 'empty_known_hosts');
  writeFileSync(emptyKnownHosts, '');
  const spec = makeSpec(tree, [
    { name: 'wrongkey', ssh: ssh(path.join(tree.remote, 'wrongkey'), { knownHosts: wrongKnownHosts }) },
    { name: 'unknown', ssh: ssh(path.join(tree.remote, 'unknown'), { knownHosts: emptyKnownHosts }) },
    { name: 'noauth', ssh: ssh(path.join(tree.remote, 'noauth'), { identityFile: other }) },
    { name: 'fine', ssh: ssh(path.join(tree.remote, 'fine')) },
  ]);
  const { result } = await run(spec);
  assert.is(result.ok, false);
  assert.match(target(result, 'wrongkey').error ?? '', /^host key verification failed: the key of 127\.0\.0\.1:\d+ differs/);
  assert.match(target(result, 'unknown').error ?? '', /^host key verification failed: no ED25519 host key is known for \[127\.0\.0\.1\]:\d+$/);
  assert.is(target(result, 'noauth').error, 'permission denied (publickey)');
  assert.is(target(result, 'fine').status, 'updated');
  assert.equal(readdirSync(tree.remote), ['fine']);
  assert.is(readFileSync(emptyKnownHosts, 'utf8'), '', 'no host key was learnt');
});

d('dry run: reads sums, changes nothing, reports the exact commands', async () => {
  const tree = await makeTree(['fresh', 'current']);
  const freshDir = path.join(tree.remote, 'fresh dir');
  const currentDir = path.join(tree.remote, 'current');
  const marker = path.join(tree.root, 'reloaded');
  const spec = makeSpec(tree, [
    { name: 'fresh', ssh: ssh(freshDir), reload: `touch ${marker}` },
    { name: 'current', ssh: ssh(currentDir) },
  ]);
  assert.ok((await run(spec, { nodes: ['current'] })).result.ok);
  // An out-of-date node.crt on `current`.
  writeFileSync(path.join(currentDir, 'node.crt'), 'stale');
  const before = snapshot(tree.remote);
  const { result, events } = await run(spec, { dryRun: true });
  assert.equal(snapshot(tree.remote), before, 'nothing changed remotely');
  assert.not.ok(existsSync(marker));
  assert.is(result.dryRun, true);
  assert.ok(result.ok);

  const fresh = target(result, 'fresh');
  assert.is(fresh.status, 'would-update');
  assert.equal(fresh.copied, ['ca.crt', 'node.crt', 'node.key']);
  assert.is(fresh.reload.status, 'would-run');
  assert.equal(fresh.commands.map((c) => c[0]), ['ssh', 'eval']);
  assert.not.ok(fresh.commands[0]?.includes('-n'), 'the session reads the installer from stdin');
  const line = fresh.commands[1]?.[1] ?? '';
  assert.match(line, /\{ \[ -d '.*\/fresh dir' \] \|\| mkdir -p -m 0700 -- '.*\/fresh dir'; \} \|\| fail mkdir; cd -- '.*\/fresh dir' \|\| fail mkdir/);
  assert.match(line, /mkdir -m 0700 -- \.certgen-[0-9a-f]{12} \|\| fail staging/);
  const order = ['ca.crt', 'node.crt', 'node.key'].map((f) => line.indexOf(`head -c ${statSync(path.join(tree.certsDir, 'nodes', 'fresh', f)).size} > "$st"/${f}`));
  assert.ok(order.every((i, k) => i > 0 && (k === 0 || i > (order[k - 1] ?? 0))), 'the files are split off in order, each by its size');
  assert.ok(line.includes(`r=${shellQuote(`touch ${marker}`)}`), 'the reload runs in the same session');
  assert.not.ok(line.includes(readFileSync(path.join(tree.certsDir, 'nodes', 'fresh', 'node.key'), 'latin1').split('\n')[1] ?? 'x'), 'no key material in the line');

  const current = target(result, 'current');
  assert.is(current.status, 'would-update');
  assert.equal(current.copied, ['node.crt']);
  assert.equal(current.unchanged, ['ca.crt', 'node.key']);
  assert.is(current.files[1]?.remoteSha256, sha('stale'));
  assert.ok(events.some((e) => e.target === 'node current' && e.message === 'would copy node.crt'));
  assert.ok(events.some((e) => e.target === 'node current' && e.message.startsWith("would send on the session's stdin: eval ")));

  const table = renderDistributeTable(result);
  assert.match(table, /Would copy/);
  assert.match(table, /dry run, nothing changed: 2 targets: 2 would change, 0 up to date, 0 failed/);
  assert.match(table, /# node fresh\nssh -p \d+ .*\n# then, on that session's stdin \(followed by the files' bytes\):\neval /);

  // The commands shown are the ones that then run (apart from the staging folder's random name).
  const real = await run(spec);
  assert.ok(real.result.ok);
  const strip = (argv: string[]): string[] => argv.map((a) => a.replace(/\.certgen-[0-9a-f]+/g, '.certgen-X'));
  assert.equal(target(real.result, 'fresh').commands.map(strip), fresh.commands.map(strip));
  assert.ok(existsSync(marker));
  assertArrived(tree, 'fresh', freshDir);
  assertArrived(tree, 'current', currentDir);
});

d('reload failing after a copy marks the node failed (files stay installed)', async () => {
  const tree = await makeTree(['r1']);
  const dir = path.join(tree.remote, 'r1');
  const spec = makeSpec(tree, [{ name: 'r1', ssh: ssh(dir), reload: 'echo "cockroach is not running" >&2; exit 3' }]);
  const { result } = await run(spec);
  const t = target(result, 'r1');
  assert.is(result.ok, false);
  assert.is(t.status, 'failed');
  assert.is(t.phase, 'reload');
  assert.is(t.reload.status, 'failed');
  assert.is(t.error, 'reload command failed (exit status 3): cockroach is not running');
  assert.equal(t.copied, ['ca.crt', 'node.crt', 'node.key']);
  assertArrived(tree, 'r1', dir);
  // forceReload runs it again on the now up-to-date node; it cannot be combined with skipReload.
  const again = target((await run(spec, { forceReload: true })).result, 'r1');
  assert.equal([again.status, again.phase, again.reload.status, again.copied], ['failed', 'reload', 'failed', []]);
  await rejects(run(spec, { forceReload: true, skipReload: true }), /^forceReload and skipReload cannot be used together$/);
});

d('clients with an ssh target are distributed when asked', async () => {
  const tree = await makeTree(['c-node'], ['root', 'maxroach']);
  const dir = path.join(tree.remote, 'client-root');
  const spec = makeSpec(tree, [{ name: 'c-node', ssh: ssh(path.join(tree.remote, 'c-node')) }], [{ user: 'root', ssh: ssh(dir) }, { user: 'maxroach' }]);
  const nodesOnly = await run(spec);
  assert.equal(nodesOnly.result.targets.map((t) => t.label), ['node c-node']);
  const { result } = await run(spec, { includeClients: true });
  assert.equal(result.targets.map((t) => `${t.label}:${t.status}`), ['node c-node:unchanged', 'client root:updated']);
  assert.equal(readdirSync(dir).sort(), ['ca.crt', 'client.root.crt', 'client.root.key']);
  assert.is(mode(path.join(dir, 'client.root.key')).toString(8), '600');
  assert.is(mode(path.join(dir, 'client.root.crt')).toString(8), '644');
  assertNoCaKey(tree.remote, tree.caKey);
});

d('refuses, before copying anything, a node folder that leads to the CA key', async () => {
  const tree = await makeTree(['good', 'evil']);
  const evilDir = path.join(tree.certsDir, 'nodes', 'evil');
  const spec = makeSpec(tree, [
    { name: 'good', ssh: ssh(path.join(tree.remote, 'good')) },
    { name: 'evil', ssh: ssh(path.join(tree.remote, 'evil')) },
  ]);
  // A symlink named like a node file…
  rmSync(path.join(evilDir, 'node.key'));
  symlinkSync(tree.caKey, path.join(evilDir, 'node.key'));
  await rejects(run(spec), /^refusing to distribute node evil: .*node\.key is a symbolic link to the CA key$/);
  // …an extra symlink that would never be sent…
  const reset = async (): Promise<void> => {
    rmSync(evilDir, { recursive: true, force: true });
    await issueNode(tree, 'evil');
  };
  await reset();
  symlinkSync(path.relative(evilDir, tree.caKey), path.join(evilDir, 'backup.key'));
  await rejects(run(spec), /node evil: .*backup\.key is a symbolic link to the CA key/);
  rmSync(path.join(evilDir, 'backup.key'));
  // …a symlink anywhere outside the folder, a hard link, a copy.
  symlinkSync('/etc', path.join(evilDir, 'etc'));
  await rejects(run(spec), /etc is a symbolic link to \/etc, outside/);
  rmSync(path.join(evilDir, 'etc'));
  linkSync(tree.caKey, path.join(evilDir, 'ca.key'));
  await rejects(run(spec), /ca\.key is the CA key \(a hard link/);
  rmSync(path.join(evilDir, 'ca.key'));
  mkdirSync(path.join(evilDir, 'old'));
  copyFileSync(tree.caKey, path.join(evilDir, 'old', 'ca.key.bak'));
  await rejects(run(spec), /old\/ca\.key\.bak is a copy of the CA key/);
  rmSync(path.join(evilDir, 'old'), { recursive: true });
  // node.key holding the CA's private key in another encoding.
  const { stdout } = await execa('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', tree.caKey]);
  writeFileSync(path.join(evilDir, 'node.key'), `${stdout}\n`);
  await rejects(run(spec), /node\.key holds the CA's private key/);
  // The node folder itself a symlink to the CA key's folder.
  rmSync(evilDir, { recursive: true });
  symlinkSync(path.dirname(tree.caKey), evilDir);
  await rejects(run(spec), /refusing to distribute node evil: .* resolves to .*safe, outside/);
  // Nothing reached the server, not even the good node's files: refusal comes first.
  assert.equal(readdirSync(tree.remote), []);

  rmSync(evilDir);
  await reset();
  const { result } = await run(spec);
  assert.ok(result.ok);
  assertNoCaKey(tree.remote, tree.caKey);
});

d('with a split client CA: ca-client.crt and the client.node pair are shipped, and a node folder holding the client CA key is refused', async () => {
  const tree = await makeTree(['n1']);
  const clientCaKey = path.join(tree.root, 'safe', 'ca-client.key');
  await createClientCA({ certsDir: tree.certsDir, caKey: clientCaKey, keySize: KEY_SIZE });
  const dir = path.join(tree.certsDir, 'nodes', 'n1');
  copyFileSync(path.join(tree.certsDir, 'ca-client.crt'), path.join(dir, 'ca-client.crt'));
  await createClient({ certsDir: dir, caKey: clientCaKey, keySize: KEY_SIZE }, 'node');
  const spec: ClusterSpec = { ...makeSpec(tree, [{ name: 'n1', ssh: ssh(path.join(tree.remote, 'n1')) }]), clientCa: { key: clientCaKey, keyType: 'rsa', keySize: KEY_SIZE, lifetime: DEFAULT_CA_LIFETIME_NS } };
  const good = readFileSync(path.join(dir, 'client.node.key'));
  // client.node.key replaced by the client CA's key, in another encoding (PKCS#8).
  const { stdout } = await execa('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', clientCaKey]);
  writeFileSync(path.join(dir, 'client.node.key'), `${stdout}\n`, { mode: 0o600 });
  await rejects(run(spec), /node n1: .*client\.node\.key holds the client CA's private key/);
  assert.equal(readdirSync(tree.remote), []);
  writeFileSync(path.join(dir, 'client.node.key'), good, { mode: 0o600 });
  const { result } = await run(spec);
  assert.ok(result.ok);
  assert.equal(readdirSync(path.join(tree.remote, 'n1')).sort(), ['ca-client.crt', 'ca.crt', 'client.node.crt', 'client.node.key', 'node.crt', 'node.key']);
  assertNoCaKey(tree.remote, clientCaKey);
});

d('bad selections and specs are errors before any connection', async () => {
  const tree = await makeTree(['a1', 'a2']);
  const spec = makeSpec(tree, [{ name: 'a1', ssh: ssh(path.join(tree.remote, 'a1')) }, { name: 'a2', ssh: ssh(path.join(tree.remote, 'a1/')) }, { name: 'a3' }]);
  await rejects(distribute(spec, { nodes: ['a1', 'zz', 'yy'] }), /^unknown nodes zz, yy \(valid nodes: a1, a2, a3\)$/);
  await rejects(distribute(spec, { nodes: ['a3'] }), /node a3 has no ssh target/);
  await rejects(distribute(spec), /node a2 and node a1 have the same ssh destination/);
  await rejects(distribute(spec, { nodes: ['a1'], concurrency: 0 }), /concurrency/);
  const bad = makeSpec(tree, [{ name: 'a1', ssh: ssh(path.join(tree.remote, 'a1'), { options: ['BatchMode=no'] }) }]);
  await rejects(distribute(bad), /BatchMode=no.*not allowed/);
  const none = makeSpec(tree, [{ name: 'a1' }]);
  await rejects(distribute(none), /nothing to distribute/);
  const missing = makeSpec(tree, [{ name: 'a9', ssh: ssh(path.join(tree.remote, 'a9')) }]);
  const err = await rejects(distribute(missing), /node a9: .*nodes\/a9 does not exist/);
  assert.match(err.hint ?? '', /certgen apply/);
  assert.equal(readdirSync(tree.remote), []);

  // --node limits the run to the named nodes.
  const { result } = await run(spec, { nodes: ['a2'] });
  assert.equal(result.targets.map((t) => t.name), ['a2']);
  assert.equal(readdirSync(tree.remote), ['a1']);
});

d.run();
