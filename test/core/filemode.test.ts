import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_GROUP_KEY_PERMISSIONS, MAX_KEY_PERMISSIONS, formatFileMode } from '../../src/core/filemode.js';

const cases: Array<[number, string]> = [
  [0o644, '-rw-r--r--'],
  [0o600, '-rw-------'],
  [0o700, '-rwx------'],
  [0o740, '-rwxr-----'],
  [0o640, '-rw-r-----'],
  [0o755, '-rwxr-xr-x'],
  [0o777, '-rwxrwxrwx'],
  [0o000, '----------'],
  [0o001, '---------x'],
  [0o400, '-r--------'],
  [0o100644, '-rw-r--r--'], // regular file st_mode from fs.stat
  [0o100600, '-rw-------'],
  [0o104755, '-rwxr-xr-x'], // setuid is not shown
  [0o041777, 'drwxrwxrwx'], // directory with sticky bit
  [0o040755, 'drwxr-xr-x'],
  [0o120777, '-rwxrwxrwx'], // a symlink's type is not a directory
];

for (const [mode, want] of cases) {
  test(`formatFileMode(0o${mode.toString(8)}) = ${want}`, () => {
    assert.is(formatFileMode(mode), want);
  });
}

test('permission limits match CockroachDB', () => {
  assert.is(MAX_KEY_PERMISSIONS, 0o700);
  assert.is(MAX_GROUP_KEY_PERMISSIONS, 0o740);
  assert.is(formatFileMode(MAX_KEY_PERMISSIONS), '-rwx------');
  assert.is(formatFileMode(MAX_GROUP_KEY_PERMISSIONS), '-rwxr-----');
});

test.run();
