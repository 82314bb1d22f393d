// Crash safety of `certgen apply`, proved on the built CLI: a 34-folder apply is SIGKILLed at many
// points spread over a whole run (startup, planning, key generation, staging, publishing), on a
// fresh tree and on a tree being reissued. After every kill no file under a real name is partial
// or malformed, no key or folder is open to group or others, every pair present matches (or its
// folder still holds the staged file proving the kill fell between the two renames), and the next
// apply removes every staged temporary the kill left and converges to a complete tree that
// `plan --detailed-exitcode` calls unchanged.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from '../helpers/index.js';
import { CLI, TEMP_NAME, assertComplete, inspect, run, show, snapshot, writeSpec, type SpecShape } from './lib.js';

const NODES = 30;
const CLIENTS = ['root', 'alice', 'bob', 'carol'];
const FRESH: SpecShape = { nodes: NODES, clients: CLIENTS };
// Every node gets a new host and a third of them a bigger key, so the kill lands while existing
// files are being replaced, not just created.
const REISSUE: SpecShape = { nodes: NODES, clients: CLIENTS, extraHost: () => true, bigKey: (i) => i % 3 === 0 };

type Trigger = { afterMs: number } | { watch: string[]; pattern: RegExp; extraMs: number } | { inotify: string; name: string };

interface KillResult {
  killed: boolean;
  atMs: number;
}

/** Starts `certgen apply` and SIGKILLs it on the trigger: a delay, or a file appearing. */
function killRun(file: string, trigger: Trigger): Promise<KillResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [CLI, 'apply', file], { stdio: 'ignore' });
    let atMs = -1;
    let exited = false;
    const kill = (): void => {
      if (exited) return;
      atMs = performance.now() - start;
      child.kill('SIGKILL');
    };
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      exited = true;
      resolve({ killed: signal === 'SIGKILL', atMs: atMs < 0 ? performance.now() - start : atMs });
    });
    if ('afterMs' in trigger) {
      setTimeout(kill, trigger.afterMs);
      return;
    }
    if ('inotify' in trigger) {
      // inotify reports the rename into place within a fraction of a millisecond: close enough
      // to land inside a publish loop that lasts a few.
      const w = watch(trigger.inotify, (_event, name) => {
        if (name === trigger.name) {
          kill();
          w.close();
        }
      });
      child.on('exit', () => w.close());
      return;
    }
    // Polls every millisecond (the write phase lasts tens): a tighter loop would steal a core
    // from the child's key generation; timers keep the child's exit noticed if it wins the race.
    const poll = (): void => {
      if (exited) return;
      for (const d of trigger.watch) {
        let names: string[] = [];
        try {
          names = readdirSync(d);
        } catch {
          continue;
        }
        if (names.some((n) => trigger.pattern.test(n))) {
          if (trigger.extraMs > 0) setTimeout(kill, trigger.extraMs);
          else kill();
          return;
        }
      }
      setTimeout(poll, 1);
    };
    poll();
  });
}

/** Managed (non-temp, non-lock) files under certs/ and secrets/ whose bytes differ from `before`. */
function changedFiles(dir: string, before: Map<string, string>): number {
  const now = snapshot(dir, (rel) => rel === 'cluster-certs.yaml');
  let n = 0;
  for (const [rel, v] of now) {
    if (v.startsWith('dir') || TEMP_NAME.test(path.basename(rel)) || rel.endsWith('.certgen.lock')) continue;
    const old = before.get(rel);
    // Content hash only: the inode part changes with every rename.
    if (old === undefined || old.split(' ').at(-1) !== v.split(' ').at(-1)) n++;
  }
  return n;
}

type Phase = 'startup' | 'plan+keygen' | 'staging' | 'backup-links' | 'publishing' | 'after-publish' | 'finished';

interface Scenario {
  name: string;
  /** A scenario folder ready for the killed apply (spec written, prior tree copied in). */
  prepare: () => string;
  /** How many managed files a full apply of this scenario writes. */
  writes: number;
  before: Map<string, string>;
  fullMs: number;
}

const landed: Record<string, Record<Phase, number>> = {};
let mismatchesSeen = 0;
let tempsSeen = 0;

async function oneKill(sc: Scenario, trigger: Trigger, label: string): Promise<Phase> {
  const dir = sc.prepare();
  const file = path.join(dir, 'cluster-certs.yaml');
  const k = await killRun(file, trigger);
  const state = inspect(dir);
  const published = changedFiles(dir, sc.before);
  const phase: Phase = !k.killed
    ? 'finished'
    : published === 0
      ? !state.lockHeld
        ? 'startup'
        : state.temps.length === 0
          ? 'plan+keygen'
          : state.temps.some((t) => t.endsWith('.old'))
            ? 'backup-links'
            : 'staging'
      : published < sc.writes
        ? 'publishing'
        : 'after-publish';
  const ctx = `${sc.name} ${label} killed=${k.killed} at ${k.atMs.toFixed(0)} ms (${phase}, ${published}/${sc.writes} published)`;
  assert.equal(state.problems, [], ctx);
  // Two renames cannot be one atomic step: a kill between a certificate's rename and its key's
  // leaves them mismatched, and then the key's staged temp must still be beside them.
  for (const m of state.mismatched) {
    const folder = path.dirname(m);
    assert.ok(state.temps.some((t) => path.dirname(t) === folder), `${ctx}: ${m} mismatched with no staged file beside it`);
    mismatchesSeen++;
  }
  tempsSeen += state.temps.length;
  const tempsLeft = state.temps;

  const again = await run(['apply', file]);
  assert.is(again.code, 0, `${ctx}: the next apply\n${show(again)}`);
  const planned = await run(['plan', '--detailed-exitcode', file]);
  assert.is(planned.code, 0, `${ctx}: plan after the converging apply\n${show(planned)}`);
  const after = inspect(dir);
  // Whatever temps the killed run left, the converging apply removed (removeStaleTempsOf in src/apply.ts).
  assert.equal(after.temps, [], `${ctx}: temps left after converging (killed run left ${tempsLeft.join(', ')})`);
  assert.equal(assertComplete(dir, NODES, CLIENTS), [], ctx);
  (landed[sc.name] ??= { startup: 0, 'plan+keygen': 0, staging: 0, 'backup-links': 0, publishing: 0, 'after-publish': 0, finished: 0 })[phase]++;
  return phase;
}

async function timedApply(file: string): Promise<number> {
  const start = performance.now();
  const r = await run(['apply', file]);
  assert.is(r.code, 0, show(r));
  return performance.now() - start;
}

let fresh: Scenario | undefined;
let reissue: Scenario | undefined;

async function freshScenario(): Promise<Scenario> {
  if (fresh) return fresh;
  const probe = tmpdir('certgen-crash-probe-');
  const ms = await timedApply(writeSpec(probe, FRESH));
  const writes = changedFiles(probe, new Map());
  return (fresh = {
    name: 'fresh',
    prepare: () => {
      const d = tmpdir('certgen-crash-fresh-');
      writeSpec(d, FRESH);
      return d;
    },
    writes,
    before: new Map(),
    fullMs: ms,
  });
}

async function reissueScenario(): Promise<Scenario> {
  if (reissue) return reissue;
  const template = tmpdir('certgen-crash-template-');
  await timedApply(writeSpec(template, FRESH));
  const before = snapshot(template, (rel) => rel === 'cluster-certs.yaml');
  const prepare = (): string => {
    const d = tmpdir('certgen-crash-reissue-');
    cpSync(template, d, { recursive: true, preserveTimestamps: true });
    writeSpec(d, REISSUE);
    return d;
  };
  const probe = prepare();
  const ms = await timedApply(path.join(probe, 'cluster-certs.yaml'));
  return (reissue = { name: 'reissue', prepare, writes: changedFiles(probe, before), before, fullMs: ms });
}

/**
 * Kill delays spread evenly over [0, 0.9 T), jittered inside each slot so reruns probe new
 * points; the last tenth is left out because a run can be quicker than the one that measured T.
 */
function spread(count: number, T: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.floor(((i + Math.random()) / count) * 0.9 * T));
}

const test = suite('crash safety (SIGKILL during apply)');

test('fresh tree: killed at 9 points spread over a full apply, and 4 times during the writes', async () => {
  const sc = await freshScenario();
  for (const ms of spread(9, sc.fullMs)) await oneKill(sc, { afterMs: ms }, `after ${ms} ms`);
  // The write phase is a few dozen ms of a run: aim at it by watching for the first staged file.
  const dirs = (d: string): string[] => [path.join(d, 'secrets'), path.join(d, 'certs'), path.join(d, 'certs', 'nodes', 'n0')];
  for (const extraMs of [0, 1, 2, 4]) {
    const d0 = sc.prepare();
    await oneKill({ ...sc, prepare: () => d0 }, { watch: dirs(d0), pattern: TEMP_NAME, extraMs }, `${extraMs} ms after the first temp`);
  }
});

test('tree being reissued: killed at 7 points spread over the apply, and 7 times during the writes', async () => {
  const sc = await reissueScenario();
  for (const ms of spread(7, sc.fullMs)) await oneKill(sc, { afterMs: ms }, `after ${ms} ms`);
  const n = (d: string, i: number): string => path.join(d, 'certs', 'nodes', `n${i}`);
  for (const extraMs of [0, 4]) {
    const d0 = sc.prepare();
    await oneKill({ ...sc, prepare: () => d0 }, { watch: [n(d0, 0)], pattern: TEMP_NAME, extraMs }, `${extraMs} ms after the first temp`);
  }
  // Backup links appear only once every file is staged, just before the publish loop.
  const d1 = sc.prepare();
  await oneKill({ ...sc, prepare: () => d1 }, { watch: [n(d1, 0)], pattern: /\.tmp\.old$/, extraMs: 0 }, 'at the first backup link');
  // Inside the publish loop: right after one folder's certificate is renamed into place, early,
  // midway and late in the batch.
  for (const i of [3, 12, 20, 29]) {
    const d = sc.prepare();
    await oneKill({ ...sc, prepare: () => d }, { inotify: n(d, i), name: 'node.crt' }, `when n${i}/node.crt is renamed into place`);
  }
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
  const total = Object.values(landed).reduce((s, r) => s + Object.values(r).reduce((a, b) => a + b, 0) - r.finished, 0);
  console.log(`  kills by phase: ${JSON.stringify(landed)}; mismatched pairs seen ${mismatchesSeen}; temps seen ${tempsSeen}; full apply ${fresh?.fullMs.toFixed(0)} ms fresh, ${reissue?.fullMs.toFixed(0)} ms reissue`);
  assert.ok(total >= 20, `only ${total} runs were really killed`);
  // The point of the watched runs: some kills must fall inside the write phase.
  const inWrites = Object.values(landed).reduce((s, r) => s + r.staging + r['backup-links'] + r.publishing + r['after-publish'], 0);
  assert.ok(inWrites >= 4, `only ${inWrites} kills fell in the write phase`);
});

test.run();
