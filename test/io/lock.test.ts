// The certs-dir lock: exclusive, names its holder, takes over a lock whose process is gone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SPEC_LOCK_DIR, acquireLock, acquireSpecLock } from '../../src/io/lock.js';
import { CertgenError } from '../../src/errors.js';
import { execa } from 'execa';
import { ROOT, tmpdir } from '../helpers/index.js';
import { git, gitInit } from '../helpers/git.js';

const t = suite('acquireLock');

t('a second holder fails at once with the first holder named; release frees it', async () => {
  const dir = tmpdir();
  const lock = await acquireLock(dir, '.lock');
  const info = JSON.parse(readFileSync(path.join(dir, '.lock'), 'utf8')) as { pid: number; host: string };
  assert.is(info.pid, process.pid);
  assert.is(info.host, os.hostname());
  try {
    await acquireLock(dir, '.lock');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, CertgenError);
    assert.match((err as Error).message, new RegExp(`^another certgen apply or distribute is running on .* \\(pid ${process.pid} on `));
    assert.match((err as CertgenError).hint ?? '', /remove .*\.lock/);
  }
  await lock.release();
  assert.not.ok(existsSync(path.join(dir, '.lock')));
  await (await acquireLock(dir, '.lock')).release();
});

t('a lock left by a dead process on this host is taken over; one from another host is not', async () => {
  const dir = tmpdir();
  writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 2 ** 22 + 4321, host: os.hostname(), since: 'earlier' }));
  const lock = await acquireLock(dir, '.lock');
  await lock.release();
  writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 2 ** 22 + 4321, host: 'elsewhere', since: 'earlier' }));
  try {
    await acquireLock(dir, '.lock');
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /on elsewhere since earlier/);
  }
});

// Racing takeovers: a process that read the stale holder just before another took over must not
// then rename the other's fresh lock away (both would hold it). Real processes, so the fs calls
// really interleave; the built lock module (npm test builds first).
t('processes racing to take over one stale lock: exactly one gets it', async () => {
  const lockModule = path.join(ROOT, 'dist/io/lock.js');
  const script = `import(${JSON.stringify(lockModule)}).then(async ({ acquireLock, LockHeldError }) => {
    try { const l = await acquireLock(process.argv[1], '.lock'); process.stdout.write('got'); await new Promise((r) => setTimeout(r, 4000)); await l.release(); }
    catch (e) { process.stdout.write(e instanceof LockHeldError ? 'busy' : 'crash ' + e.message); }
  })`;
  for (let round = 0; round < 3; round++) {
    const dir = tmpdir();
    writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 2 ** 22 + 4321, host: os.hostname(), since: 'earlier' }));
    const outs = await Promise.all(Array.from({ length: 8 }, () => execa(process.execPath, ['--input-type=module', '-e', script, dir], { reject: false }).then((r) => r.stdout)));
    assert.equal(outs.filter((o) => o === 'got').length, 1, `round ${round}: ${outs.join(', ')}`);
    assert.equal(outs.filter((o) => o !== 'got' && o !== 'busy'), [], outs.join(', '));
  }
});

t('many acquirers in one process (a library caller): exactly one holds the lock, the rest are told who', async () => {
  for (let round = 0; round < 5; round++) {
    const dir = tmpdir();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => acquireLock(dir, '.lock')));
    const held = results.filter((r) => r.status === 'fulfilled');
    assert.is(held.length, 1, `round ${round}`);
    for (const r of results) if (r.status === 'rejected') assert.match((r.reason as Error).message, /^another certgen apply or distribute is running on .* \(pid \d+ on /);
    await (held[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
    assert.equal(readdirSync(dir), [], 'no staged lock file left');
  }
});

t('a lock file holding junk (or JSON null) is reported as held, not a crash', async () => {
  const dir = tmpdir();
  for (const junk of ['null', '', '{"pid":', '[1,2]']) {
    writeFileSync(path.join(dir, '.lock'), junk);
    try {
      await acquireLock(dir, '.lock');
      assert.unreachable();
    } catch (err) {
      assert.instance(err, CertgenError, junk);
      assert.match((err as Error).message, /^another certgen apply or distribute is running on .* \(an unknown process\)$/);
    }
  }
});

// The locks beside a spec (rotation, journal): a run SIGKILLed while holding one leaves the lock
// file, which must never show in git status (it would be committed with the state file).
t('a spec lock left by a killed run is invisible to git status (real git), and is taken over', async () => {
  const dir = tmpdir();
  await gitInit(dir);
  writeFileSync(path.join(dir, 'cluster-certs.yaml'), 'certsDir: certs\n');
  await git(dir, ['add', '.']);
  await git(dir, ['commit', '-q', '-m', 'spec']);
  const lockModule = path.join(ROOT, 'dist/io/lock.js');
  const script = `import(${JSON.stringify(lockModule)}).then(async ({ acquireSpecLock }) => {
    await acquireSpecLock(process.argv[1], 'cluster-certs.rotation.json.lock'); process.stdout.write('got'); setInterval(() => {}, 1000);
  })`;
  const child = execa(process.execPath, ['--input-type=module', '-e', script, dir], { reject: false });
  await new Promise<void>((resolve) => child.stdout?.on('data', () => resolve()));
  child.kill('SIGKILL');
  await child;
  const lockFile = path.join(dir, SPEC_LOCK_DIR, 'cluster-certs.rotation.json.lock');
  assert.ok(existsSync(lockFile), 'the killed holder left its lock');
  const status = await git(dir, ['status', '--porcelain', '--untracked-files=all']);
  assert.is(status.stdout, '', 'git status is clean');
  // `git add -A` takes nothing either.
  await git(dir, ['add', '-A']);
  assert.is((await git(dir, ['diff', '--cached', '--name-only'])).stdout, '');
  const again = await acquireSpecLock(dir, 'cluster-certs.rotation.json.lock');
  await again.release();
  assert.not.ok(existsSync(lockFile));
  assert.is((await git(dir, ['status', '--porcelain', '--untracked-files=all', '--ignored'])).stdout, `!! ${SPEC_LOCK_DIR}/.gitignore`);
});

t.run();
