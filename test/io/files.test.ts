// writeFilesAtomic: exact modes whatever the umask, create-if-absent, all-or-nothing batches.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { writeFilesAtomic, type FileWrite } from '../../src/io/files.js';
import { tmpdir } from '../helpers/index.js';

const t = suite('writeFilesAtomic');

t('modes are exact whatever the umask, and no temporary file is left', async () => {
  const dir = tmpdir();
  for (const umask of [0o000, 0o077, 0o027]) {
    const old = process.umask(umask);
    try {
      await writeFilesAtomic([
        { path: path.join(dir, `k${umask}`), data: 'key', mode: 0o600, exclusive: true },
        { path: path.join(dir, `c${umask}`), data: 'cert', mode: 0o644, exclusive: true },
      ]);
    } finally {
      process.umask(old);
    }
    assert.is(statSync(path.join(dir, `k${umask}`)).mode & 0o777, 0o600);
    assert.is(statSync(path.join(dir, `c${umask}`)).mode & 0o777, 0o644);
  }
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('.')), []);
});

t('exclusive writes refuse an existing file before writing anything', async () => {
  const dir = tmpdir();
  writeFileSync(path.join(dir, 'b'), 'old');
  const writes: FileWrite[] = [
    { path: path.join(dir, 'a'), data: 'new a', mode: 0o644, exclusive: true },
    { path: path.join(dir, 'b'), data: 'new b', mode: 0o644, exclusive: true, describe: 'error writing b' },
  ];
  try {
    await writeFilesAtomic(writes);
    assert.unreachable();
  } catch (err) {
    assert.is((err as Error).message, `error writing b: open ${path.join(dir, 'b')}: file exists`);
  }
  assert.equal(readdirSync(dir), ['b']);
  assert.is(readFileSync(path.join(dir, 'b'), 'utf8'), 'old');
});

t('replacing writes swap contents atomically; a folder in the way is refused up front', async () => {
  const dir = tmpdir();
  writeFileSync(path.join(dir, 'a'), 'old', { mode: 0o666 });
  mkdirSync(path.join(dir, 'd'));
  try {
    await writeFilesAtomic([
      { path: path.join(dir, 'a'), data: 'new', mode: 0o600, exclusive: false },
      { path: path.join(dir, 'd'), data: 'x', mode: 0o600, exclusive: false },
    ]);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /open .*\/d: is a directory$/);
  }
  assert.is(readFileSync(path.join(dir, 'a'), 'utf8'), 'old', 'nothing written');
  await writeFilesAtomic([{ path: path.join(dir, 'a'), data: 'new', mode: 0o600, exclusive: false }]);
  assert.is(readFileSync(path.join(dir, 'a'), 'utf8'), 'new');
  assert.is(statSync(path.join(dir, 'a')).mode & 0o777, 0o600, 'the new file has the wanted mode, not the old one');
});

t('a staging failure in one folder leaves every folder as it was, and names the earliest file', async () => {
  const dir = tmpdir();
  const ok = path.join(dir, 'ok');
  const frozen = path.join(dir, 'frozen');
  mkdirSync(ok);
  mkdirSync(frozen);
  writeFileSync(path.join(ok, 'x'), 'old x');
  await execa('chattr', ['+i', frozen]);
  try {
    const writes: FileWrite[] = [
      { path: path.join(ok, 'x'), data: 'new x', mode: 0o644, exclusive: false },
      ...Array.from({ length: 20 }, (_, i) => ({ path: path.join(frozen, `f${i}`), data: 'y', mode: 0o644, exclusive: false })),
    ];
    try {
      await writeFilesAtomic(writes);
      assert.unreachable();
    } catch (err) {
      assert.is((err as Error).message, `open ${path.join(frozen, 'f0')}: operation not permitted`);
    }
  } finally {
    await execa('chattr', ['-i', frozen]);
  }
  assert.equal(readdirSync(ok), ['x'], 'the staged temporary file was removed');
  assert.is(readFileSync(path.join(ok, 'x'), 'utf8'), 'old x');
  assert.equal(readdirSync(frozen), []);
});

t.run();
