// The import-graph rules in .dependency-cruiser.cjs must keep biting: run depcruise with that
// config on a throwaway src/ that breaks some of them (and has clean files too) and check that
// exactly the expected violations come back.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = path.resolve(import.meta.dirname, '../..');
const depcruise = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const config = path.join(root, '.dependency-cruiser.cjs');

const fixture: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  'src/errors.ts': 'export class CertgenError extends Error {}\n',
  'src/core/ok.ts': "import { CertgenError } from '../errors.js';\nexport const e = CertgenError;\n",
  // a run-time cycle
  'src/plan/a.ts': "import { b } from './b.js';\nexport const a = () => b();\n",
  'src/plan/b.ts': "import { a } from './a.js';\nexport const b = () => a();\n",
  // a type-only cycle
  'src/tree/x.ts': "import type { Y } from './y.js';\nexport type X = { y?: Y };\n",
  'src/tree/y.ts': "import type { X } from './x.js';\nexport type Y = { x?: X };\n",
  // a forbidden direction: core reaching up into the CLI
  'src/core/bad.ts': "import { run } from '../cli/main.js';\nexport const r = run;\n",
  'src/cli/main.ts': "import { e } from '../core/ok.js';\nexport const run = () => e;\n",
};

test('depcruise fails on cycles and forbidden directions, and only on them', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'certgen-depcruise-'));
  try {
    for (const [file, text] of Object.entries(fixture)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    let out = '';
    let failed = false;
    try {
      // The default `err` output, as `npm run check:deps` runs it: its exit code is what fails `npm test`.
      out = execFileSync(process.execPath, [depcruise, 'src', '--config', config], { cwd: dir, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    } catch (err) {
      failed = true;
      out = (err as { stdout: string }).stdout;
    }
    assert.ok(failed, 'depcruise must exit non-zero on the fixture');
    // Lines like "  error no-circular: src/plan/a.ts → " (a cycle's later members follow on their own lines).
    const got = [...new Set([...out.matchAll(/^\s*error (\S+): (\S+) →/gm)].map((m) => `${m[1]}: ${m[2]}`))].sort();
    assert.equal(got, [
      'core-imports-only-core-and-errors: src/core/bad.ts',
      'no-circular-type-only: src/plan/a.ts',
      'no-circular-type-only: src/tree/x.ts',
      'no-circular: src/plan/a.ts',
      'only-cli-imports-cli: src/core/bad.ts',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
