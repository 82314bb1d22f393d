// `distribute()` against every kind of server a fleet has (test/helpers/sshd.ts, all on 127.0.0.1):
// OpenSSH with an SFTP subsystem, OpenSSH without one (a hardened host: scp cannot copy there),
// and Dropbear. Each is asked to take a full push, a no-change run and a one-node reissue, and the
// server's own log (connections) and session wrapper (one file per session, holding its command
// line) count what each run cost: one connection and one session per target, whatever changed.
// Then the transfer is broken on purpose — the session SIGKILLed (with the server's process for
// the connection) at every external command it starts, or its stdin cut at chosen offsets — and
// each time every live remote file must be whole (the old bytes or the new ones, a new one with
// its final mode) and a rerun must converge.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCA, createNode } from '../../src/cert/commands.js';
import { distribute, type DistributeResult } from '../../src/distribute/distribute.js';
import { DEFAULT_CA_LIFETIME_NS, DEFAULT_KEY_SIZE, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, type ClusterSpec, type SshTarget } from '../../src/cluster-spec/spec.js';
import { startServer, type SshServer, type SshServerKind } from '../helpers/sshd.js';
import { setup, tmpdir } from '../helpers/index.js';

const FILES = ['ca.crt', 'node.crt', 'node.key'] as const;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const modeOf = (p: string): number => statSync(p).mode & 0o7777;

interface Tree {
  root: string;
  certsDir: string;
  caKey: string;
  remote: string;
}

async function makeTree(nodes: string[]): Promise<Tree> {
  const root = tmpdir('certgen-servers-');
  const tree = { root, certsDir: path.join(root, 'certs'), caKey: path.join(root, 'safe', 'ca.key'), remote: path.join(root, 'remote') };
  mkdirSync(path.dirname(tree.caKey));
  mkdirSync(tree.remote);
  await createCA({ certsDir: tree.certsDir, caKey: tree.caKey, keySize: 1024 });
  for (const n of nodes) await issue(tree, n);
  return tree;
}

async function issue(tree: Tree, name: string, overwrite = false): Promise<void> {
  const dir = path.join(tree.certsDir, 'nodes', name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(tree.certsDir, 'ca.crt'), path.join(dir, 'ca.crt'));
  await createNode({ certsDir: dir, caKey: tree.caKey, overwrite, keySize: 1024 }, [`${name}.example.com`]);
}

function spec(tree: Tree, server: SshServer, nodes: string[], reload?: string): ClusterSpec {
  const ssh = (n: string): SshTarget => ({ host: server.host, port: server.port, user: server.user, dir: path.join(tree.remote, n), identityFile: server.identityFile, knownHosts: server.knownHosts, options: [] });
  return {
    file: path.join(tree.root, 'cluster-certs.yaml'),
    baseDir: tree.root,
    certsDir: tree.certsDir,
    caKey: tree.caKey,
    ca: { keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_CA_LIFETIME_NS },
    nodes: nodes.map((name) => ({ name, hosts: [`${name}.example.com`], keySize: DEFAULT_KEY_SIZE, lifetime: DEFAULT_LIFETIME_NS, renewBefore: DEFAULT_RENEW_BEFORE_NS, ssh: ssh(name), ...(reload !== undefined ? { reload } : {}) })),
    clients: [],
  };
}

/** Runs distribute and returns the result with the connections and sessions the server saw meanwhile. */
async function counted(server: SshServer, s: ClusterSpec, concurrency = 3): Promise<{ result: DistributeResult; connections: number; sessions: number }> {
  const c0 = server.connections();
  const s0 = server.sessions().length;
  const result = await distribute(s, { concurrency });
  // The server logs a connection just after it accepts the key; give its stderr a moment.
  const deadline = Date.now() + 2_000;
  while (server.connections() - c0 < result.targets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { result, connections: server.connections() - c0, sessions: server.sessions().length - s0 };
}

function localBytes(tree: Tree, node: string, file: string): Buffer {
  return readFileSync(path.join(tree.certsDir, 'nodes', node, file));
}

function assertArrived(tree: Tree, node: string): void {
  const dir = path.join(tree.remote, node);
  assert.equal(readdirSync(dir).sort(), [...FILES], `${dir}: exactly the three files, no staging leftovers`);
  for (const f of FILES) assert.ok(readFileSync(path.join(dir, f)).equals(localBytes(tree, node, f)), `${node}/${f} bytes`);
  assert.is(modeOf(path.join(dir, 'node.key')), 0o600);
  assert.is(modeOf(path.join(dir, 'node.crt')), 0o644);
  assert.is(modeOf(path.join(dir, 'ca.crt')), 0o644);
  assert.is(modeOf(dir), 0o700);
}

/** Every private key's base64 lines, to search command lines for. */
function keyLines(tree: Tree, nodes: string[]): string[] {
  return nodes.flatMap((n) => localBytes(tree, n, 'node.key').toString('latin1').split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')));
}

// ---------------------------------------------------------------------------------------------
const KINDS: [string, SshServerKind, { sftp?: boolean }][] = [
  ['OpenSSH with SFTP', 'openssh', {}],
  ['OpenSSH without an SFTP subsystem', 'openssh', { sftp: false }],
  ['Dropbear', 'dropbear', {}],
];

for (const [label, kind, options] of KINDS) {
  const s = suite(`distribute to ${label}`);
  let server: SshServer | undefined;
  setup(s, async () => {
    server = await startServer(kind, options);
  });
  s.after(async () => {
    await server?.stop();
  });
  const srv = (): SshServer => {
    if (server === undefined) throw new Error(`${kind} did not start`);
    return server;
  };

  s('full push, no change, one reissue: one connection and one session per target each time; no key in any command line', async () => {
    const sv = srv();
    const nodes = ['a1', 'a2', 'a3'];
    const tree = await makeTree(nodes);
    const marker = path.join(tree.root, 'reloads');
    const sp = spec(tree, sv, nodes, `echo "$(pwd)" >> '${marker}'`);

    const full = await counted(sv, sp);
    assert.ok(full.result.ok, JSON.stringify(full.result.targets.map((t) => t.error)));
    for (const n of nodes) assertArrived(tree, n);
    assert.equal(full.result.targets.map((t) => [t.status, t.copied.length, t.reload.status]), nodes.map(() => ['updated', 3, 'ran']));
    assert.is(full.connections, 3, sv.log());
    assert.is(full.sessions, 3, 'one session per target, the install included');
    assert.is(readFileSync(marker, 'utf8').split('\n').filter(Boolean).length, 3, 'each reload ran once');

    const none = await counted(sv, sp);
    assert.equal(none.result.targets.map((t) => t.status), ['unchanged', 'unchanged', 'unchanged']);
    assert.equal([none.connections, none.sessions], [3, 3]);
    assert.is(readFileSync(marker, 'utf8').split('\n').filter(Boolean).length, 3, 'no reload when nothing changed');

    await issue(tree, 'a2', true);
    const one = await counted(sv, sp);
    assert.equal(one.result.targets.map((t) => [t.status, t.copied]), [['unchanged', []], ['updated', ['node.crt', 'node.key']], ['unchanged', []]]);
    assert.equal([one.connections, one.sessions], [3, 3]);
    assertArrived(tree, 'a2');

    const lines = keyLines(tree, nodes);
    for (const cmd of [...sv.sessions(), ...[full, none, one].flatMap((x) => x.result.targets.flatMap((t) => t.commands.flat()))]) {
      for (const l of lines) assert.not.ok(cmd.includes(l), 'a private key in a remote command line');
    }
  });

  s.run();
}

// ---------------------------------------------------------------------------------------------
const faults = suite('killed and cut transfers');
let sshd: SshServer | undefined;
let dropbear: SshServer | undefined;
setup(faults, async () => {
  sshd = await startServer('openssh', { sftp: false });
  dropbear = await startServer('dropbear');
});
faults.after(async () => {
  await sshd?.stop();
  await dropbear?.stop();
});

interface Versions {
  tree: Tree;
  old: Record<string, Buffer>;
  next: Record<string, Buffer>;
}

/** A node whose remote folder holds an old issue (ca.crt the same), and a newer one locally. */
async function twoVersions(server: SshServer): Promise<Versions> {
  const tree = await makeTree(['k1']);
  const sp = spec(tree, server, ['k1']);
  assert.ok((await distribute(sp)).ok);
  const read = (): Record<string, Buffer> => Object.fromEntries(FILES.map((f) => [f, localBytes(tree, 'k1', f)]));
  const old = read();
  await issue(tree, 'k1', true);
  return { tree, old, next: read() };
}

function resetRemote(v: Versions): void {
  const dir = path.join(v.tree.remote, 'k1');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o700 });
  for (const f of FILES) writeFileSync(path.join(dir, f), v.old[f] as Buffer, { mode: f.endsWith('.key') ? 0o600 : 0o644 });
}

/** Every live file is whole: the old bytes, or the new ones with their final mode; nothing else but staging folders. */
function assertWhole(v: Versions, where: string): void {
  const dir = path.join(v.tree.remote, 'k1');
  for (const name of readdirSync(dir)) assert.ok((FILES as readonly string[]).includes(name) || /^\.certgen-[0-9a-f]+$/.test(name), `${where}: unexpected ${name}`);
  for (const f of FILES) {
    const p = path.join(dir, f);
    assert.ok(existsSync(p), `${where}: ${f} is gone`);
    const b = readFileSync(p);
    const isOld = b.equals(v.old[f] as Buffer);
    const isNew = b.equals(v.next[f] as Buffer);
    assert.ok(isOld || isNew, `${where}: ${f} is neither the old nor the new file (${b.length} bytes, ${sha(b).slice(0, 12)})`);
    if (isNew) assert.is(modeOf(p), f.endsWith('.key') ? 0o600 : 0o644, `${where}: ${f} arrived before its mode was set`);
  }
}

async function converges(v: Versions, server: SshServer, where: string): Promise<void> {
  const r = await distribute(spec(v.tree, server, ['k1']));
  assert.ok(r.ok, `${where}: rerun failed: ${r.targets[0]?.error}`);
  assertArrived(v.tree, 'k1');
}

faults('the session killed at each command it starts: every live file stays whole, a rerun converges (OpenSSH without SFTP)', async () => {
  if (sshd === undefined) throw new Error('sshd did not start');
  const v = await twoVersions(sshd);
  const killedAt: string[] = [];
  for (let k = 1; k <= 60; k++) {
    resetRemote(v);
    rmSync(path.join(sshd.dir, 'killed-at'), { force: true });
    sshd.armFault({ killAtCommand: k });
    const r = await distribute(spec(v.tree, sshd, ['k1']));
    const killed = existsSync(path.join(sshd.dir, 'killed-at'));
    assert.not.ok(sshd.faultPending(), 'the session took the fault');
    if (!killed) {
      // k is past the session's last command: it ran to the end.
      assert.ok(r.ok, `k=${k}: ${r.targets[0]?.error}`);
      assertArrived(v.tree, 'k1');
      break;
    }
    const at = readFileSync(path.join(sshd.dir, 'killed-at'), 'utf8').trim();
    killedAt.push(at);
    const t = r.targets[0];
    assert.is(t?.status, 'failed', `k=${k} (${at}): a killed session is a failure`);
    assert.ok((t?.error ?? '') !== '', 'with a reason');
    assertWhole(v, `k=${k} (${at})`);
    await converges(v, sshd, `k=${k} (${at})`);
  }
  // The probe's ls and sha256sum, then the installer's mkdir, cat, wc, tail/head per file,
  // sha256sum, chmod, each mv and the final rm: at least ten different points.
  assert.ok(killedAt.length >= 10, `only ${killedAt.length} kill points: ${killedAt.join(' ')}`);
  // tail and head are the two sides of one pipeline: they start together and the shim counts
  // whichever takes its lock first (on a busy machine that can be head every time), so either
  // stands for a kill inside the copy pipeline.
  const points = killedAt.map((c) => (c === 'tail' || c === 'head' ? 'tail|head' : c));
  for (const cmd of ['mkdir', 'cat', 'tail|head', 'sha256sum', 'chmod', 'mv', 'rm']) assert.ok(points.includes(cmd), `no kill at ${cmd}: ${killedAt.join(' ')}`);
  // node.crt and node.key changed (ca.crt did not): killed before the first rename and between the two.
  assert.is(killedAt.filter((c) => c === 'mv').length, 2, 'before and between the renames');
});

faults('stdin cut at chosen offsets (inside the installer line, at its end, inside each file): nothing replaced, a rerun converges (OpenSSH and Dropbear)', async () => {
  if (sshd === undefined || dropbear === undefined) throw new Error('sshd or dropbear did not start');
  for (const server of [sshd, dropbear]) {
    const v = await twoVersions(server);
    resetRemote(v);
    const dry = await distribute(spec(v.tree, server, ['k1']), { dryRun: true });
    const line = dry.targets[0]?.commands[1]?.[1] ?? '';
    assert.ok(line.length > 100);
    const lineBytes = Buffer.byteLength(line) + 1;
    const crt = (v.next['node.crt'] as Buffer).length;
    const key = (v.next['node.key'] as Buffer).length;
    for (const n of [0, 1, Math.floor(lineBytes / 2), lineBytes - 1, lineBytes, lineBytes + 1, lineBytes + crt - 1, lineBytes + crt, lineBytes + crt + Math.floor(key / 2), lineBytes + crt + key - 1]) {
      resetRemote(v);
      server.armFault({ cutStdinAfter: n });
      const r = await distribute(spec(v.tree, server, ['k1']));
      const where = `${server.kind} cut at ${n} of ${lineBytes + crt + key}`;
      assert.is(r.targets[0]?.status, 'failed', where);
      assertWhole(v, where);
      for (const f of FILES) assert.ok(readFileSync(path.join(v.tree.remote, 'k1', f)).equals(v.old[f] as Buffer), `${where}: ${f} was replaced`);
      if (n >= lineBytes) assert.match(r.targets[0]?.error ?? '', /cut short|closed|reset|lost/i, `${where}: ${r.targets[0]?.error}`);
      await converges(v, server, where);
    }
  }
});

faults('leftovers of a killed run are removed by the next run, even when every file is already in place', async () => {
  if (sshd === undefined) throw new Error('sshd did not start');
  const tree = await makeTree(['z1']);
  const sp = spec(tree, sshd, ['z1']);
  assert.ok((await distribute(sp)).ok);
  const left = path.join(tree.remote, 'z1', '.certgen-0123456789ab');
  mkdirSync(left, { mode: 0o700 });
  writeFileSync(path.join(left, '.in'), localBytes(tree, 'z1', 'node.key'), { mode: 0o600 });
  const dry = await distribute(sp, { dryRun: true });
  assert.is(dry.targets[0]?.status, 'would-update');
  assert.match(dry.targets[0]?.warnings.join('\n') ?? '', /would remove \.certgen-0123456789ab, left by an interrupted run/);
  assert.ok(existsSync(left), 'a dry run removes nothing');
  const r = await distribute(sp);
  assert.is(r.targets[0]?.status, 'updated');
  assert.equal(r.targets[0]?.copied, []);
  assert.match(r.targets[0]?.warnings.join('\n') ?? '', /removed \.certgen-0123456789ab, left by an interrupted run/);
  assertArrived(tree, 'z1');
  assert.is((await distribute(sp)).targets[0]?.status, 'unchanged');
});

faults.run();
