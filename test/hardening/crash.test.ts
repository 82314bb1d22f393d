// Crash safety of `certgen apply`, proved on the built CLI: a 34-folder apply is SIGKILLed at
// seeded points on a fresh tree and on a tree being reissued. Each kill is classified by the phase
// of the apply it landed in, read from the tree it left (kill-points.ts: before-lock, locked,
// staged, publishing, published), and every phase must be hit in each scenario: points aimed at
// a phase nobody hit yet are added (a bounded number) before the test gives up. After every kill
// no file under a real name is partial or malformed, no key or folder is open to group or others,
// every pair present matches (or its folder still holds the staged file proving the kill fell
// between the two renames), and the next apply removes every staged temporary the kill left and
// converges to a complete tree that `plan --detailed-exitcode` calls unchanged.
//
// The points come from mulberry32 seeded by CERTGEN_CRASH_SEED (default 0x5eed); every failure
// message names the seed, and the same seed replays the same points.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from '../helpers/index.js';
import { assertComplete, inspect, run, show, snapshot, writeSpec, type SpecShape, type TreeState } from './lib.js';
import {
  PHASES,
  changedFiles,
  classify,
  crashSeed,
  describe,
  emptyCounts,
  hash32,
  killRun,
  landingProblems,
  missingPhases,
  mulberry32,
  type Counts,
  type Marks,
  type Phase,
  type Trigger,
} from './kill-points.js';

const NODES = 30;
const CLIENTS = ['root', 'alice', 'bob', 'carol'];
const FRESH: SpecShape = { nodes: NODES, clients: CLIENTS };
// Every node gets a new host and a third of them a bigger key, so the kill lands while existing
// files are being replaced, not just created.
const REISSUE: SpecShape = { nodes: NODES, clients: CLIENTS, extraHost: () => true, bigKey: (i) => i % 3 === 0 };

const SEED = crashSeed();
const SEED_NOTE = `seed ${SEED} (replay: CERTGEN_CRASH_SEED=${SEED})`;
/** Per scenario: kills at delays spread over the whole run, and kills aimed at each phase. */
const SPREAD = 4;
const AIMS_PER_PHASE = 2;
/** Extra kills, each aimed at a phase not hit yet, before the coverage check fails. */
const MAX_RETRIES = 8;

interface Scenario {
  name: string;
  /** A scenario folder ready for the killed apply (spec written, prior tree copied in). */
  prepare: () => string;
  /** How many managed files a full apply of this scenario writes. */
  writes: number;
  before: Map<string, string>;
  /** The managed files there before the run (relative), for the watchers. */
  beforeFiles: Set<string>;
  /** When the measuring run (not killed) reached each step. */
  marks: Marks;
  fullMs: number;
}

interface Tally {
  counts: Counts;
  exited: number;
  kills: number;
  retries: number;
  mismatches: number;
  temps: number;
}

const landed: Record<string, Tally> = {};

/** A trigger aimed at `phase`, from the measuring run's timeline and the scenario's write count. */
function aim(phase: Phase, rng: () => number, sc: Scenario): Trigger {
  const lock = sc.marks.lock ?? 0.4 * sc.fullMs;
  const staged = sc.marks.firstStaged ?? 0.85 * sc.fullMs;
  const upTo = (n: number): number => 1 + Math.floor(rng() * Math.max(1, n));
  switch (phase) {
    case 'before-lock':
      return { kind: 'delay', ms: Math.floor(rng() * 0.8 * lock) };
    case 'locked':
      return { kind: 'delay', ms: Math.floor(lock + (0.1 + 0.8 * rng()) * (staged - lock)) };
    case 'staged':
      return { kind: 'staged', count: upTo(0.8 * sc.writes), extraMs: Math.floor(rng() * 2) };
    case 'publishing':
      return { kind: 'published', count: upTo(0.8 * (sc.writes - 1)), extraMs: 0 };
    case 'published':
      return rng() < 0.75 ? { kind: 'published', count: sc.writes, extraMs: Math.floor(rng() * 6) } : { kind: 'released' };
  }
}

/** The seeded points of one scenario: delays spread over [0, 0.9 T) and aims at each phase, shuffled. */
function schedule(rng: () => number, sc: Scenario): Trigger[] {
  const out: Trigger[] = Array.from({ length: SPREAD }, (_, i) => ({ kind: 'delay' as const, ms: Math.floor(((i + rng()) / SPREAD) * 0.9 * sc.fullMs) }));
  for (const p of PHASES) for (let i = 0; i < AIMS_PER_PHASE; i++) out.push(aim(p, rng, sc));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j] as Trigger, out[i] as Trigger];
  }
  return out;
}

async function oneKill(sc: Scenario, trigger: Trigger, n: number, tally: Tally, log: string[]): Promise<void> {
  const dir = sc.prepare();
  const file = path.join(dir, 'cluster-certs.yaml');
  const k = await killRun(dir, trigger, sc.beforeFiles);
  const state: TreeState = inspect(dir);
  const landing = classify(k.killed, state, changedFiles(dir, sc.before), sc.writes);
  const line = `#${n} ${describe(trigger)}: ${k.killed ? `killed at ${k.atMs.toFixed(0)} ms` : `exited ${k.code} at ${k.atMs.toFixed(0)} ms`} -> ${landing.phase} (${landing.published}/${sc.writes} published, ${landing.staged.length} staged, lock ${state.lockHeld ? 'held' : 'free'})`;
  log.push(line);
  const ctx = `${sc.name} kill ${line}; ${SEED_NOTE}`;
  assert.ok(k.killed || k.code === 0, `${ctx}: an apply that was not killed failed`);
  assert.equal(state.problems, [], ctx);
  assert.equal(landingProblems(landing, state), [], ctx);
  // Two renames cannot be one atomic step: a kill between a certificate's rename and its key's
  // leaves them mismatched, and then the key's staged temp must still be beside them.
  for (const m of state.mismatched) {
    const folder = path.dirname(m);
    assert.ok(landing.staged.some((t) => path.dirname(t) === folder), `${ctx}: ${m} mismatched with no staged file beside it`);
    tally.mismatches++;
  }
  tally.temps += state.temps.length;

  const again = await run(['apply', file]);
  assert.is(again.code, 0, `${ctx}: the next apply\n${show(again)}`);
  const planned = await run(['plan', '--detailed-exitcode', file]);
  assert.is(planned.code, 0, `${ctx}: plan after the converging apply\n${show(planned)}`);
  const after = inspect(dir);
  // Whatever temps the killed run left, the converging apply removed.
  assert.equal(after.temps, [], `${ctx}: temps left after converging (killed run left ${state.temps.join(', ')})`);
  assert.equal(assertComplete(dir, NODES, CLIENTS), [], ctx);
  tally.kills++;
  if (landing.phase === 'exited') tally.exited++;
  else tally.counts[landing.phase]++;
}

/** Runs the scenario's seeded points, then aims at missed phases until each was hit (bounded). */
async function runScenario(sc: Scenario): Promise<Tally> {
  const rng = mulberry32((SEED ^ hash32(sc.name)) >>> 0);
  const tally: Tally = { counts: emptyCounts(), exited: 0, kills: 0, retries: 0, mismatches: 0, temps: 0 };
  landed[sc.name] = tally;
  const log: string[] = [];
  let n = 0;
  for (const t of schedule(rng, sc)) await oneKill(sc, t, n++, tally, log);
  for (let missing = missingPhases(tally.counts); missing.length > 0 && tally.retries < MAX_RETRIES; missing = missingPhases(tally.counts)) {
    tally.retries++;
    await oneKill(sc, aim(missing[Math.floor(rng() * missing.length)] as Phase, rng, sc), n++, tally, log);
  }
  const missing = missingPhases(tally.counts);
  const covered = PHASES.filter((p) => tally.counts[p] > 0);
  assert.equal(
    missing,
    [],
    `${sc.name}: after ${tally.kills} kills (${tally.retries} aimed retries) no kill landed in ${missing.join(', ')}; covered ${covered.join(', ') || 'nothing'} ${JSON.stringify(tally.counts)}, ${tally.exited} exited first; ${SEED_NOTE}\n  ${log.join('\n  ')}`,
  );
  return tally;
}

/** A measuring apply under the same watchers as a killed one: its timeline and what it wrote. */
async function measure(dir: string, beforeFiles: Set<string>): Promise<{ marks: Marks; fullMs: number; seen: number; staged: number }> {
  const k = await killRun(dir, { kind: 'none' }, beforeFiles);
  assert.ok(!k.killed && k.code === 0, `measuring apply in ${dir} exited ${k.code}`);
  return { marks: k.marks, fullMs: k.atMs, seen: k.publishedSeen, staged: k.stagedSeen };
}

function filesOf(snap: Map<string, string>): Set<string> {
  return new Set([...snap].filter(([, v]) => v.startsWith('file')).map(([rel]) => rel));
}

async function freshScenario(): Promise<Scenario> {
  const prepare = (): string => {
    const d = tmpdir('certgen-crash-fresh-');
    writeSpec(d, FRESH);
    return d;
  };
  const probe = prepare();
  const m = await measure(probe, new Set());
  const writes = changedFiles(probe, new Map());
  // The watchers the count triggers rely on saw every file the run staged and published.
  assert.is(m.staged, writes, `fresh: the watchers saw ${m.staged} of ${writes} staged files`);
  assert.is(m.seen, writes, `fresh: the watchers saw ${m.seen} of ${writes} files published`);
  return { name: 'fresh', prepare, writes, before: new Map(), beforeFiles: new Set(), marks: m.marks, fullMs: m.fullMs };
}

async function reissueScenario(): Promise<Scenario> {
  const template = tmpdir('certgen-crash-template-');
  const r = await run(['apply', writeSpec(template, FRESH)]);
  assert.is(r.code, 0, show(r));
  const before = snapshot(template, (rel) => rel === 'cluster-certs.yaml');
  const beforeFiles = filesOf(before);
  const prepare = (): string => {
    const d = tmpdir('certgen-crash-reissue-');
    cpSync(template, d, { recursive: true, preserveTimestamps: true });
    writeSpec(d, REISSUE);
    return d;
  };
  const probe = prepare();
  const m = await measure(probe, beforeFiles);
  const writes = changedFiles(probe, before);
  assert.is(m.staged, writes, `reissue: the watchers saw ${m.staged} of ${writes} staged files`);
  assert.is(m.seen, writes, `reissue: the watchers saw ${m.seen} of ${writes} files replaced`);
  return { name: 'reissue', prepare, writes, before, beforeFiles, marks: m.marks, fullMs: m.fullMs };
}

const test = suite('crash safety (SIGKILL during apply)');

test(`fresh tree: ${SPREAD + AIMS_PER_PHASE * PHASES.length} seeded kills, every phase hit`, async () => {
  await runScenario(await freshScenario());
});

test(`tree being reissued: ${SPREAD + AIMS_PER_PHASE * PHASES.length} seeded kills, every phase hit`, async () => {
  await runScenario(await reissueScenario());
});

test('the phase check: kills are told apart by what is on disk, and a missed phase is reported', () => {
  const state = (o: Partial<TreeState>): TreeState => ({ problems: [], temps: [], mismatched: [], lockHeld: false, ...o });
  const lockTemp = 'certs/.certgen.lock.123.abcd.tmp';
  const staged = 'certs/nodes/n0/.node.crt.0123456789ab.tmp';
  assert.is(classify(true, state({ temps: [lockTemp] }), 0, 10).phase, 'before-lock');
  assert.is(classify(true, state({ lockHeld: true }), 0, 10).phase, 'locked');
  assert.is(classify(true, state({ lockHeld: true, temps: [lockTemp] }), 0, 10).phase, 'locked');
  assert.is(classify(true, state({ lockHeld: true, temps: [`${staged}.old`] }), 0, 10).phase, 'staged');
  assert.is(classify(true, state({ lockHeld: true, temps: [staged] }), 3, 10).phase, 'publishing');
  assert.is(classify(true, state({ lockHeld: true, temps: [staged] }), 10, 10).phase, 'published');
  assert.is(classify(true, state({}), 10, 10).phase, 'published');
  assert.is(classify(false, state({}), 10, 10).phase, 'exited');
  // Files staged or half published with no lock would have been written outside it.
  assert.equal(landingProblems(classify(true, state({ temps: [staged] }), 3, 10), state({ temps: [staged] })).length, 1);
  assert.equal(landingProblems(classify(true, state({ lockHeld: true, mismatched: ['x'] }), 0, 10), state({ lockHeld: true, mismatched: ['x'] })).length, 1);
  const onlyLocked = { ...emptyCounts(), locked: 7 };
  assert.equal(missingPhases(onlyLocked), ['before-lock', 'staged', 'publishing', 'published']);
  assert.equal(missingPhases({ 'before-lock': 1, locked: 1, staged: 1, publishing: 1, published: 1 }), []);
  // The generator is deterministic per seed and differs between seeds.
  const a = mulberry32(1);
  const b = mulberry32(1);
  const c = mulberry32(2);
  const xs = Array.from({ length: 5 }, () => a());
  assert.equal(Array.from({ length: 5 }, () => b()), xs);
  assert.not.equal(Array.from({ length: 5 }, () => c()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.is(crashSeed({ CERTGEN_CRASH_SEED: '0x10' }), 16);
  assert.is(crashSeed({ CERTGEN_CRASH_SEED: '42' }), 42);
  assert.throws(() => crashSeed({ CERTGEN_CRASH_SEED: 'x' }));
});

test('the staged files a killed run leaves are removed by the next apply, and nothing else is', async () => {
  const dir = tmpdir('certgen-crash-temps-');
  const file = writeSpec(dir, { nodes: 2, clients: ['root'] });
  assert.is((await run(['apply', file])).code, 0);
  const key = readFileSync(path.join(dir, 'certs/nodes/n0/node.key'));
  // What a kill leaves: staged files (a CA key never published among them) and backup links.
  const temps = ['secrets/.ca.key.0123456789ab.tmp', 'certs/.ca.crt.0123456789ab.tmp', 'certs/nodes/n0/.node.key.abcdefabcdef.tmp', 'certs/nodes/n0/.node.key.abcdefabcdef.tmp.old', 'certs/clients/root/.client.root.key.pk8.0a0b0c0d0e0f.tmp'];
  // Names that only look alike, and files beside the CA key that are not its temps, are kept.
  const kept = ['secrets/.other.key.0123456789ab.tmp', 'secrets/notes.txt', 'certs/nodes/n0/.node.key.tmp', 'certs/.certgen.lock.backup'];
  for (const t of [...temps, ...kept]) writeFileSync(path.join(dir, t), key, { mode: 0o600 });
  const r = await run(['apply', file]);
  assert.is(r.code, 0, show(r));
  for (const t of temps) assert.not.ok(existsSync(path.join(dir, t)), `${t} left`);
  for (const t of kept) assert.ok(existsSync(path.join(dir, t)), `${t} removed`);
  // A refused apply (here: a plan error) removes nothing either.
  for (const t of temps) writeFileSync(path.join(dir, t), key, { mode: 0o600 });
  writeFileSync(path.join(dir, 'secrets/ca.key'), key);
  const refused = await run(['apply', file]);
  assert.is(refused.code, 1, show(refused));
  for (const t of temps) assert.ok(existsSync(path.join(dir, t)), `${t} removed by a refused apply`);
});

test('where the kills landed', () => {
  for (const [name, t] of Object.entries(landed)) console.log(`  ${name}: ${t.kills} kills (${t.retries} aimed retries, ${t.exited} exited first) by phase ${JSON.stringify(t.counts)}; mismatched pairs seen ${t.mismatches}; temps seen ${t.temps}`);
  console.log(`  ${SEED_NOTE}`);
  const killed = Object.values(landed).reduce((s, t) => s + t.kills - t.exited, 0);
  assert.ok(killed >= 20, `only ${killed} runs were really killed; ${SEED_NOTE}`);
});

test.run();
