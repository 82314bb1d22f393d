// The long bad-input fuzz run (issue 6): the same mutators and properties as test/fuzz/ (see
// test/fuzz/arbitraries.ts), for as many cases as asked.
//
//   npx tsx scripts/fuzz.ts [--runs N] [--seed S] [--target spec|certs-dir|all] [--bin-share F] [--path P]
//
// --runs: cases per target (default 1000); --seed: default random, always printed;
// --bin-share: fraction of cases run through the built bin instead of in-process (default 0.1;
// `npm run build` first); --path: fast-check's replay path from a failure. A failure prints the
// seed, path and counterexample, and the exit code is 1.
import fc from 'fast-check';
import { assertProperty, makeBaseTrees, makeSpecBases, runSpecCase, runTreeCase, specCase, treeCase, type Mode } from '../test/fuzz/arbitraries.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const runs = Number(option('runs') ?? 1000);
const seed = Number(option('seed') ?? Math.floor(Math.random() * 2 ** 31));
const target = option('target') ?? 'all';
const binShare = Number(option('bin-share') ?? 0.1);
const replayPath = option('path');
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed) || !['spec', 'certs-dir', 'all'].includes(target) || !(binShare >= 0 && binShare <= 1)) {
  process.stderr.write('usage: tsx scripts/fuzz.ts [--runs N] [--seed S] [--target spec|certs-dir|all] [--bin-share 0..1] [--path P]\n');
  process.exit(4);
}

// Which cases run through the bin is part of the case, so a replay runs them the same way.
// Without noBias fast-check favours the small end, and most cases would go through the bin.
const mode: fc.Arbitrary<Mode> = fc.noBias(fc.integer({ min: 0, max: 9999 })).map((x) => (x < binShare * 10_000 ? 'bin' : 'in-process'));

process.stdout.write(`fuzz: seed ${seed}, ${runs} cases per target, target ${target}, ${Math.round(binShare * 100)}% through the bin\n`);
let failed = false;

// Progress every 250 cases, and the first failure at once: shrinking it can take a while.
let count = 0;
let reported = false;
const t0 = Date.now();
function track(problems: string[]): void {
  if (++count % 250 === 0) process.stdout.write(`fuzz: ${count} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  if (problems.length > 0 && !reported) {
    reported = true;
    process.stdout.write(`fuzz: a case failed (now shrinking it):\n${problems.join('\n').slice(0, 4000)}\n`);
  }
}
const params = { seed, numRuns: runs, ...(replayPath ? { path: replayPath } : {}) };

async function runTarget(name: string, body: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  count = 0;
  reported = false;
  try {
    await body();
    process.stdout.write(`fuzz ${name}: ${runs} cases passed in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    failed = true;
    process.stdout.write(`${err instanceof Error ? err.message : String(err)}\n`);
  }
}

if (target === 'spec' || target === 'all') {
  await runTarget('spec', async () => {
    const bases = await makeSpecBases();
    await assertProperty(
      'spec',
      fc.asyncProperty(specCase(bases.length), mode, async (c, m) => {
        const problems = await runSpecCase(bases, c, m);
        track(problems);
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      params,
      (p) => `npx tsx scripts/fuzz.ts --target spec --runs ${runs} --seed ${seed} --bin-share ${binShare} --path ${p}`,
    );
  });
}
if (target === 'certs-dir' || target === 'all') {
  await runTarget('certs-dir', async () => {
    const trees = await makeBaseTrees();
    // FIFOs only through the bin: in-process, a read stuck on one would hang this script.
    const treeAndMode = mode.chain((m) => treeCase(trees.length, m === 'bin').map((c) => ({ c, m })));
    await assertProperty(
      'certs-dir',
      fc.asyncProperty(treeAndMode, async ({ c, m }) => {
        const problems = await runTreeCase(trees[c.tree % trees.length]!, c, m);
        track(problems);
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      params,
      (p) => `npx tsx scripts/fuzz.ts --target certs-dir --runs ${runs} --seed ${seed} --bin-share ${binShare} --path ${p}`,
    );
  });
}
process.exit(failed ? 1 : 0);
