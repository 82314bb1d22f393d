// The whole operator workflow on the command line: apply a spec, then `certgen distribute` to
// "nodes" that are folders on a real sshd on 127.0.0.1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startSshd, type SshdServer } from './helpers/sshd.js';
import { cli, ROOT, tmpdir, setup } from './helpers/index.js';
import { journalFileFor, readJournal } from '../src/journal/journal.js';

let sshd: SshdServer | undefined;

const flow = suite('apply then distribute');

setup(flow, async () => {
  sshd = await startSshd();
});
flow.after(async () => {
  await sshd?.stop();
});

function server(): SshdServer {
  if (!sshd) throw new Error('sshd did not start');
  return sshd;
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

flow('distribute copies each node its own files, then finds nothing to do', async () => {
  const s = server();
  const dir = tmpdir();
  const remote = path.join(dir, 'remote');
  const target = (name: string) => ({ host: s.host, port: s.port, user: s.user, dir: path.join(remote, name), identityFile: s.identityFile, knownHosts: s.knownHosts });
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(
    file,
    stringify({
      certsDir: 'certs',
      caKey: 'secrets/ca.key',
      ca: { keySize: 1024 },
      defaults: { keySize: 1024 },
      nodes: [
        { name: 'node1', hosts: ['localhost'], ssh: target('node1'), reload: `touch ${path.join(dir, 'reloaded-node1')}` },
        { name: 'node2', hosts: ['127.0.0.1'], ssh: target('node2') },
      ],
      clients: [{ user: 'root' }],
    }),
  );
  assert.is((await cli(['apply', file])).code, 0);

  const dry = await cli(['distribute', file, '--dry-run', '--quiet']);
  assert.is(dry.code, 0, dry.stderr);
  assert.not.ok(existsSync(path.join(remote, 'node1')), 'a dry run changes nothing remotely');
  assert.match(dry.stdout, /\nssh -p \d+ .*\n# then, on that session's stdin .*\neval /, 'the dry run shows the commands');

  const r = await cli(['distribute', file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /node node1/, 'progress lines on stderr');
  for (const n of ['node1', 'node2']) {
    for (const f of ['ca.crt', 'node.crt', 'node.key']) {
      assert.is(sha(path.join(remote, n, f)), sha(path.join(dir, 'certs/nodes', n, f)), `${n}/${f}`);
    }
    assert.is(statSync(path.join(remote, n, 'node.key')).mode & 0o777, 0o600);
    assert.is(statSync(path.join(remote, n)).mode & 0o777, 0o700);
  }
  assert.ok(existsSync(path.join(dir, 'reloaded-node1')), 'reload ran after a change');

  const again = await cli(['distribute', file, '--json']);
  assert.is(again.code, 0, again.stderr);
  const doc = JSON.parse(again.stdout) as { version: number; ok: boolean; targets: { status: string; copied: string[] }[] };
  assert.is(doc.version, 1);
  assert.equal(doc.targets.map((t) => [t.status, t.copied]), [
    ['unchanged', []],
    ['unchanged', []],
  ]);

  // The journal: apply's line, then distribute's (each remote file: the remote SHA-256 before, none
  // here, and the local one after); a run that changed nothing adds no line.
  const journal = await readJournal(journalFileFor(file));
  assert.equal(journal.map((e) => e.command), ['apply', 'distribute']);
  const shipped = journal[1]!.files;
  assert.equal(shipped.map((f) => f.file).sort(), ['node1', 'node2'].flatMap((n) => ['ca.crt', 'node.crt', 'node.key'].map((f) => `${s.host}:${path.join(remote, n, f)}`)).sort());
  for (const f of shipped) {
    const [, n, name] = /\/(node\d)\/([^/]+)$/.exec(f.file) ?? [];
    assert.equal([f.op, f.old, f.new, f.artifact], ['write', null, sha(path.join(dir, 'certs/nodes', n!, name!)), `node/${n}`], f.file);
  }
  assert.equal((JSON.parse(again.stdout) as { journal: unknown }).journal, null);

  // While an apply holds the certs dir, distribute waits for nothing and sends nothing.
  const lockFile = path.join(dir, 'certs/.certgen.lock');
  writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'now' }));
  const locked = await cli(['distribute', file, '--quiet']);
  assert.is(locked.code, 1);
  assert.match(locked.stderr, /^ERROR: another certgen apply or distribute is running on /);
  rmSync(lockFile);

  const limited = await cli(['distribute', file, '--node', 'nope']);
  assert.is(limited.code, 1);
  assert.match(limited.stderr, /^ERROR: .*nope.*node1, node2/m);
});

flow('a host that is down fails alone, and the exit code says so', async () => {
  const s = server();
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  const base = { host: s.host, user: s.user, identityFile: s.identityFile, knownHosts: s.knownHosts };
  writeFileSync(
    file,
    stringify({
      certsDir: 'certs',
      caKey: 'secrets/ca.key',
      ca: { keySize: 1024 },
      defaults: { keySize: 1024 },
      nodes: [
        { name: 'up', hosts: ['localhost'], ssh: { ...base, port: s.port, dir: path.join(dir, 'remote/up') } },
        { name: 'down', hosts: ['localhost'], ssh: { ...base, port: 1, dir: path.join(dir, 'remote/down') } },
      ],
    }),
  );
  await cli(['apply', file]);
  const r = await cli(['distribute', file, '--quiet']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /connection refused on 127\.0\.0\.1:1/);
  assert.ok(existsSync(path.join(dir, 'remote/up/node.key')), 'the healthy node got its files');
});

/** Processes whose command line mentions `needle` (the test server's key: only our ssh clients do). */
function processesWith(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
      if (cmd.includes(needle) && Number(pid) !== process.pid) out.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  flow(`${signal} in the middle of a run: certgen stops every ssh it started, releases the lock, leaves whole files; a rerun converges`, async () => {
    const s = server();
    const dir = tmpdir();
    const remote = path.join(dir, 'remote');
    const target = (name: string) => ({ host: s.host, port: s.port, user: s.user, dir: path.join(remote, name), identityFile: s.identityFile, knownHosts: s.knownHosts });
    const file = path.join(dir, 'cluster-certs.yaml');
    const write = (reload: string): void =>
      writeFileSync(
        file,
        stringify({
          certsDir: 'certs',
          caKey: 'secrets/ca.key',
          ca: { keySize: 1024 },
          defaults: { keySize: 1024 },
          nodes: ['s1', 's2', 's3'].map((name) => ({ name, hosts: ['localhost'], ssh: target(name), reload })),
        }),
      );
    write('sleep 20');
    assert.is((await cli(['apply', file])).code, 0);
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/certgen.cjs'), 'distribute', file, '--concurrency', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (x: string) => (stderr += x));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));
    // Every target is in its session (the reload sleeps there) once all three are copying.
    const deadline = Date.now() + 30_000;
    while ((stderr.match(/: copying /g) ?? []).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.is((stderr.match(/: copying /g) ?? []).length, 3, stderr);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.ok(processesWith(s.identityFile).length >= 3, 'three ssh sessions are running');
    const sent = Date.now();
    child.kill(signal);
    const { code, signal: got } = await exited;
    assert.is(got, signal, `exits by the signal (code ${code}): ${stderr}`);
    assert.ok(Date.now() - sent < 5_000, 'promptly');
    assert.equal(processesWith(s.identityFile), [], 'no ssh process is left running');
    assert.not.ok(existsSync(path.join(dir, 'certs/.certgen.lock')), 'the lock was released');
    for (const n of ['s1', 's2', 's3']) {
      for (const f of ['ca.crt', 'node.crt', 'node.key']) {
        const p = path.join(remote, n, f);
        // The files were in place before the reload began; a partial file never is.
        if (existsSync(p)) assert.is(sha(p), sha(path.join(dir, 'certs/nodes', n, f)), `${n}/${f}`);
      }
    }
    write('true');
    const again = await cli(['distribute', file, '--quiet']);
    assert.is(again.code, 0, again.stdout + again.stderr);
    for (const n of ['s1', 's2', 's3']) assert.is(sha(path.join(remote, n, 'node.key')), sha(path.join(dir, 'certs/nodes', n, 'node.key')));
  });
}

flow.run();
