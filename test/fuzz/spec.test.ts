// Fuzzes the YAML spec (see arbitraries.ts for the mutators and properties): a bounded, seeded run
// in-process, and a few cases through the built bin (`npm run build` first). A failure prints the
// seed, path and counterexample; replay with FUZZ_SEED=S FUZZ_PATH=P or scripts/fuzz.ts.
import { suite } from 'uvu';
import fc from 'fast-check';
import { assertProperty, fcParams, testReplay, makeSpecBases, runSpecCase, specCase, type Mode, type SpecBase } from './arbitraries.js';

const RUNS = Number(process.env['FUZZ_SPEC_RUNS'] ?? 100);
const BIN_RUNS = Number(process.env['FUZZ_SPEC_BIN_RUNS'] ?? 6);

let bases: Promise<SpecBase[]> | undefined;
const getBases = (): Promise<SpecBase[]> => (bases ??= makeSpecBases());

const property = (b: SpecBase[], mode: Mode) =>
  fc.asyncProperty(specCase(b.length), async (c) => {
    const problems = await runSpecCase(b, c, mode);
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });

const test = suite('fuzz: the spec');

test(`mutated specs, in-process (${RUNS} cases)`, async () => {
  const b = await getBases();
  await assertProperty('spec', property(b, 'in-process'), fcParams(RUNS, 0), testReplay('spec'));
});

test(`mutated specs, through the built bin (${BIN_RUNS} cases)`, async () => {
  const b = await getBases();
  await assertProperty('spec-bin', property(b, 'bin'), fcParams(BIN_RUNS, 1), testReplay('spec'));
});

test.run();
