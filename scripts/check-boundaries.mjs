// Fails when a pure module reaches for the outside world: src/core must stay a function of its
// arguments (no file system, processes, clock or randomness), which is what keeps it testable.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const src = new URL('../src/', import.meta.url).pathname;
// src/core and the planner's pure part (the diff, the plan's types and text).
const files = [...readdirSync(path.join(src, 'core')).map((f) => `core/${f}`), 'plan/diff.ts', 'plan/gitignore.ts', 'plan/types.ts', 'plan/render-text.ts'];
const forbidden = [/from 'node:fs/, /from 'node:child_process'/, /from 'execa'/, /from 'zx/, /\bprocess\./, /Date\.now\(\)/, /new Date\(\)/, /Math\.random/];
let bad = 0;
for (const file of files) {
  if (!file.endsWith('.ts')) continue;
  const text = readFileSync(path.join(src, file), 'utf8');
  text.split('\n').forEach((line, i) => {
    if (line.trim().startsWith('//') || line.trim().startsWith('*')) return;
    for (const re of forbidden) {
      if (re.test(line)) {
        console.error(`src/${file}:${i + 1}: pure module uses ${re.source}: ${line.trim()}`);
        bad++;
      }
    }
  });
}
if (bad > 0) process.exit(1);
console.log('boundaries ok: src/core and the diff are pure');
