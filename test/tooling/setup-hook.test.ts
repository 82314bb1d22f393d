// Why test/helpers' setup() exists: uvu 0.5.6 passes a suite whose `before` hook throws (exit 0,
// no test failed). Both are run here as real uvu processes, so an upgrade of uvu that fixes (or
// a change to setup() that breaks) the behaviour shows up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { execa } from 'execa';
import { ROOT, tmpdir } from '../helpers/index.js';

async function runSuite(body: string): Promise<{ exitCode: number; output: string }> {
  const dir = tmpdir('certgen-uvu-');
  mkdirSync(path.join(dir, 'test'));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  // The very module the runner uses (one uvu instance), by its path: the folder is outside the repo.
  const uvu = path.join(ROOT, 'node_modules/uvu/dist/index.mjs');
  writeFileSync(path.join(dir, 'test', 'x.test.ts'), `import { suite } from ${JSON.stringify(uvu)};\nimport { setup } from ${JSON.stringify(path.join(ROOT, 'test/helpers/index.ts'))};\nconst s = suite('s');\n${body}\ns('one', () => {});\ns('two', () => {});\ns.run();\n`);
  const r = await execa(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'node_modules/uvu/bin.js'), 'test'], { cwd: dir, reject: false, all: true });
  return { exitCode: r.exitCode ?? -1, output: (r.all ?? '').replace(/\x1b\[[0-9;]*m/g, '') };
}

test("uvu's own before hook hides a failing setup: exit 0 (the reason setup() exists)", async () => {
  const r = await runSuite(`s.before(() => { throw new Error('fixture broke'); });`);
  assert.is(r.exitCode, 0, r.output);
  assert.not.match(r.output, 'fixture broke');
});

test('setup(): a failing setup fails every test, with its error, and exit 1', async () => {
  const r = await runSuite(`setup(s, () => { throw new Error('fixture broke'); });`);
  assert.is(r.exitCode, 1, r.output);
  assert.match(r.output, 'fixture broke');
  assert.match(r.output, /Passed:\s+0/);
});

test('setup(): runs once, before the first test', async () => {
  const r = await runSuite(`let n = 0;\nsetup(s, () => { n++; });\ns.after(() => { if (n !== 1) throw new Error('setup ran ' + n + ' times'); });`);
  assert.is(r.exitCode, 0, r.output);
  assert.match(r.output, /Passed:\s+2/);
});

test('no suite in test/ uses uvu\'s before hook (setup() instead)', () => {
  const offenders: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && p !== fileURLToPath(import.meta.url)) {
        readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
          if (/\.before\(/.test(line)) offenders.push(`${path.relative(ROOT, p)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(path.join(ROOT, 'test'));
  assert.equal(offenders, []);
});

test.run();
