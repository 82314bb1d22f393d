// Faults met by the built CLI (`certgen apply`, and `certgen cert` where the fault applies to it):
// a read-only filesystem, an immutable folder or key, a full disk (so full the lock cannot be
// written, and full part-way through staging), CA keys that are the wrong type, not a key at all,
// or not the key of ca.crt, and keys with open permissions. Each either fails with exactly one
// clear error (no stack trace) and leaves every file and folder byte-identical with the same mode
// and inode, or (an open CA key mode) is fixed as planned; and once the fault is gone a rerun
// converges to a tree `plan --detailed-exitcode` calls unchanged.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, ftruncateSync, fstatSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { CliResult } from '../helpers/index.js';
import { tmpdir } from '../helpers/index.js';
import { assertComplete, run, show, snapshot, snapshotDiff, writeSpec, type SpecShape } from './lib.js';

const SHAPE: SpecShape = { nodes: 3, clients: ['root', 'maxroach'] };
// Every node gets a new host: apply must replace existing files, which is where faults bite.
const RESHAPED: SpecShape = { ...SHAPE, extraHost: () => true };

async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await execa(cmd, args, { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.all}`);
}

/** One failure report: a single `ERROR:` line (plus HINT/Failed running lines), no JS internals. */
function assertOneClearError(r: CliResult, want: RegExp, ctx: string): void {
  assert.is(r.code, 1, `${ctx}\n${show(r)}`);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('ERROR:'));
  assert.is(errors.length, 1, `${ctx}: one ERROR line\n${show(r)}`);
  assert.match(errors[0] ?? '', want, ctx);
  assert.not.match(r.stderr + r.stdout, /^\s+at /m, `${ctx}: a stack trace\n${show(r)}`);
  assert.not.match(r.stderr + r.stdout, /\b[A-Za-z]*Error(?:\s\[\w+\])?:|\bE(?:NOENT|ACCES|PERM|ROFS|NOSPC|EXIST|ISDIR|NOTDIR|IO):|undefined|\[object /, `${ctx}: JS internals in the message\n${show(r)}`);
}

/** A project applied once with SHAPE, its spec then switched to RESHAPED (a pending reissue). */
async function project(dir: string): Promise<string> {
  const file = writeSpec(dir, SHAPE);
  const r = await run(['apply', file]);
  assert.is(r.code, 0, show(r));
  writeSpec(dir, RESHAPED);
  return file;
}

async function assertConverges(dir: string, file: string, ctx: string): Promise<void> {
  const r = await run(['apply', file]);
  assert.is(r.code, 0, `${ctx}: the rerun\n${show(r)}`);
  const p = await run(['plan', '--detailed-exitcode', file]);
  assert.is(p.code, 0, `${ctx}: plan after the rerun\n${show(p)}`);
  assert.equal(assertComplete(dir, SHAPE.nodes, SHAPE.clients ?? []), [], ctx);
}

/** Runs `fn` on a fresh tmpfs of `size`, unmounted (and removed) whatever happens. */
async function onTmpfs(size: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tmpdir('certgen-fault-mnt-');
  await sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  try {
    await fn(dir);
  } finally {
    await sh('umount', [dir]);
  }
}

const test = suite('faults through the CLI');

test('a read-only filesystem: one error naming it, nothing changed, converges once writable', async () => {
  await onTmpfs('4m', async (dir) => {
    const file = await project(dir);
    const before = snapshot(dir);
    await sh('mount', ['-o', 'remount,ro', dir]);
    try {
      const r = await run(['apply', file]);
      assertOneClearError(r, /read-only file system/, 'apply on a read-only fs');
      assert.equal(snapshotDiff(before, snapshot(dir)), []);
    } finally {
      await sh('mount', ['-o', 'remount,rw', dir]);
    }
    await assertConverges(dir, file, 'read-only fs');
  });
});

test('an immutable folder, then an immutable key (chattr +i): nothing changed, converges after chattr -i', async () => {
  const dir = tmpdir('certgen-fault-immutable-');
  const file = await project(dir);
  // The folder fails while staging; the key file only when its backup link is taken, after
  // every other file is staged, so the staged files of the other nodes must be cleaned up.
  for (const target of [path.join(dir, 'certs/nodes/n1'), path.join(dir, 'certs/nodes/n2/node.key')]) {
    const before = snapshot(dir);
    await sh('chattr', ['+i', target]);
    try {
      const r = await run(['apply', file]);
      assertOneClearError(r, /operation not permitted/, `apply with ${target} immutable`);
      assert.match(r.stderr, /nothing was changed/i);
      assert.equal(snapshotDiff(before, snapshot(dir)), [], target);
    } finally {
      await sh('chattr', ['-i', target]);
    }
  }
  await assertConverges(dir, file, 'immutable');
});

/** Fills the filesystem holding `file` completely, then frees `pages` 4 KiB pages. */
function fill(file: string, pages: number): void {
  const fd = openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(1 << 16);
    for (const size of [chunk.length, 4096]) {
      for (;;) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
    ftruncateSync(fd, Math.max(0, fstatSync(fd).size - pages * 4096));
  } finally {
    closeSync(fd);
  }
}

test('a full disk: so full the lock cannot be written, then full part-way through staging; converges once freed', async () => {
  await onTmpfs('1m', async (dir) => {
    const file = await project(dir);
    const filler = path.join(dir, 'filler');
    const skip = (rel: string): boolean => rel === 'filler';
    const before = snapshot(dir, skip);
    // 0 pages: the lock file itself cannot be written. 3 pages: the lock and two staged files
    // fit, the third does not (the reissue writes six).
    for (const [pages, want] of [
      [0, /cannot create lock file .*no space left on device/],
      [3, /apply failed, nothing was changed: .*no space left on device/],
    ] as const) {
      fill(filler, pages);
      const r = await run(['apply', file]);
      assertOneClearError(r, want, `apply with ${pages} pages free`);
      assert.equal(snapshotDiff(before, snapshot(dir, skip)), [], `${pages} pages free`);
      rmSync(filler);
    }
    await assertConverges(dir, file, 'full disk');
  });
});

test('a CA key that is EC, a certificate, garbage, or another RSA key: apply and cert create-node refuse, nothing changed', async () => {
  const dir = tmpdir('certgen-fault-cakey-');
  const file = await project(dir);
  // A cockroach-style flat certs dir beside it, signed by the same CA.
  const flat = path.join(dir, 'flat');
  mkdirSync(flat, { mode: 0o700 });
  copyFileSync(path.join(dir, 'certs/ca.crt'), path.join(flat, 'ca.crt'));
  const caKey = path.join(dir, 'secrets/ca.key');
  const good = path.join(dir, 'good.key');
  copyFileSync(caKey, good);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' });
  const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
  const bad: [string, string | Buffer, RegExp, RegExp][] = [
    ['an EC key', ec, /CA key .* does not match the first certificate in ca\.crt \(it is not an RSA key; the CA certificate's key is RSA-1024\)/, /tls: private key does not match public key/],
    ['a certificate', path.join(dir, 'certs/ca.crt'), /CA key .* cannot be read \(tls: failed to find any PEM data in key input\)/, /tls: failed to find any PEM data in key input/],
    ['garbage', Buffer.from('not a key\n'), /CA key .* cannot be read/, /tls: failed to find any PEM data in key input/],
    ['another RSA key', other, /CA key .* does not match the first certificate in ca\.crt/, /tls: private key does not match public key/],
  ];
  for (const [what, content, wantApply, wantCert] of bad) {
    if (typeof content === 'string' && content.startsWith('/')) copyFileSync(content, caKey);
    else writeFileSync(caKey, content);
    chmodSync(caKey, 0o600);
    const before = snapshot(dir);
    assertOneClearError(await run(['apply', file]), wantApply, `apply with ${what} as the CA key`);
    assert.equal(snapshotDiff(before, snapshot(dir)), [], `apply with ${what}`);
    const c = await run(['cert', 'create-node', 'localhost', '--certs-dir', flat, '--ca-key', caKey, '--key-size', '1024']);
    assertOneClearError(c, wantCert, `create-node with ${what} as the CA key`);
    assert.match(c.stderr, /^Failed running "cert create-node"$/m);
    assert.equal(snapshotDiff(before, snapshot(dir)), [], `create-node with ${what}`);
  }
  copyFileSync(good, caKey);
  rmSync(good);
  rmSync(flat, { recursive: true });
  await assertConverges(dir, file, 'CA key restored');
});

test('open key modes: a CA key open to group or others stops apply (it may have been copied), nothing changed; cert commands refuse a 0644 node key', async () => {
  const dir = tmpdir('certgen-fault-mode-');
  const file = writeSpec(dir, SHAPE);
  assert.is((await run(['apply', file])).code, 0);
  const caKey = path.join(dir, 'secrets/ca.key');
  for (const open of [0o644, 0o640, 0o604]) {
    chmodSync(caKey, open);
    const before = snapshot(dir);
    const p = await run(['plan', '--detailed-exitcode', file]);
    assert.is(p.code, 1, show(p));
    const r = await run(['apply', file]);
    assertOneClearError(r, new RegExp(`the CA key .*ca\\.key is 0${open.toString(8)} \\(.*\\), open to group or others: it may have been copied\\. chmod 600 it, and rotate the CA if it may have leaked`), `apply with a ${open.toString(8)} CA key`);
    assert.equal(snapshotDiff(before, snapshot(dir)), [], 'the mode is the operator\'s to fix: nothing changed');
  }
  // A mode that is merely different (no group or other bits) is narrowed to 0600 as planned.
  chmodSync(caKey, 0o400);
  const p = await run(['plan', '--detailed-exitcode', file]);
  assert.is(p.code, 2, show(p));
  assert.match(p.stdout, /fix-mode\s+ca\s+mode-changed: .*ca\.key is 0400 \(-r--------\), wants 0600/, p.stdout);
  assert.is((await run(['apply', file])).code, 0);
  assert.is((await run(['plan', '--detailed-exitcode', file])).code, 0);

  // cockroach's rule for keys in a certs dir: at most 0700 (0740 for root-owned, group = ours).
  const flat = path.join(dir, 'flat');
  const common = ['--certs-dir', flat, '--ca-key', caKey, '--key-size', '1024'];
  mkdirSync(flat, { mode: 0o700 });
  copyFileSync(path.join(dir, 'certs/ca.crt'), path.join(flat, 'ca.crt'));
  assert.is((await run(['cert', 'create-node', 'localhost', ...common])).code, 0);
  chmodSync(path.join(flat, 'node.key'), 0o644);
  const flatBefore = snapshot(dir);
  const c = await run(['cert', 'create-client', 'root', ...common]);
  assertOneClearError(c, /cannot load certificates/, 'create-client beside a 0644 node.key');
  assert.match(c.stderr, /key file .*node\.key has permissions -rw-r--r--, exceeds -rwxr-----/);
  assert.equal(snapshotDiff(flatBefore, snapshot(dir)), []);
  chmodSync(path.join(flat, 'node.key'), 0o600);
  assert.is((await run(['cert', 'create-client', 'root', ...common])).code, 0);
});

test.run();
