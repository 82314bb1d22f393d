// Fuzzes the files of a certs dir (see arbitraries.ts for the mutators and properties): trees made
// once by `certgen apply` and by `certgen cert`, copied and damaged per case. FIFOs only go through
// the built bin (`npm run build` first), where a reader stuck on one is a timeout rather than a
// hung test process. A failure prints the seed, path and counterexample; replay with
// FUZZ_SEED=S FUZZ_PATH=P or scripts/fuzz.ts.
import { suite } from 'uvu';
import fc from 'fast-check';
import { assertProperty, fcParams, testReplay, makeBaseTrees, runTreeCase, treeCase, type BaseTree, type Mode } from './arbitraries.js';

const RUNS = Number(process.env['FUZZ_TREE_RUNS'] ?? 40);
const BIN_RUNS = Number(process.env['FUZZ_TREE_BIN_RUNS'] ?? 4);

let trees: Promise<BaseTree[]> | undefined;
const getTrees = (): Promise<BaseTree[]> => (trees ??= makeBaseTrees());

const property = (t: BaseTree[], mode: Mode) =>
  fc.asyncProperty(treeCase(t.length, mode === 'bin'), async (c) => {
    const problems = await runTreeCase(t[c.tree % t.length]!, c, mode);
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });

const test = suite('fuzz: the certs dir');

test(`damaged trees, in-process (${RUNS} cases)`, async () => {
  const t = await getTrees();
  await assertProperty('certs-dir', property(t, 'in-process'), fcParams(RUNS, 2), testReplay('certs-dir'));
});

test(`damaged trees with FIFOs, through the built bin (${BIN_RUNS} cases)`, async () => {
  const t = await getTrees();
  await assertProperty('certs-dir-bin', property(t, 'bin'), fcParams(BIN_RUNS, 3), testReplay('certs-dir'));
});

test.run();
