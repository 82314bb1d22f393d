// `certgen rotate continue` SIGKILLed across the phases of a rotation on live servers (issue 13):
// the rotation fleet (test/helpers/rotation-fleet.ts) with two clients that follow the procedure
// connecting every ~100 ms (see rotation.test.ts), and each phase's `continue` killed at points
// aimed at what the fleet sees (test/hardening/kill-points.ts aims apply's kills the same way, at
// files appearing): the rotation record written, a tree file put in place, a node's remote file put
// in place, a reload started, a moment into a node's verification. Every kill is followed by the
// same command again, killed at the next point, until a clean rerun: each must resume (status
// stays consistent), the rotation must converge to done, and no node may ever refuse a certificate
// still in use: the loops record no failure at all, and at every kill point both clients' current
// certificates are accepted by every node. CERTGEN_CRASH_SEED is not used: the points are fixed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setup } from '../helpers/index.js';
import { describeTrigger, signedBy, startRotationFleet, type Attempt, type Creds, type KillTrigger, type RotationFleet } from '../helpers/rotation-fleet.js';

let f: RotationFleet;
const s = suite('certgen rotate continue SIGKILLed at points across the phases, against live servers');
setup(s, async () => {
  f = await startRotationFleet();
});
s.after(async () => {
  await f?.stop();
});

const PROPAGATION_MS = 1_000;
const MIN_LANDED = 10;

interface Step {
  to: string;
  args: string[];
  /** In order; a run the trigger missed (it exited first) reaches the phase and ends the step's kills. */
  kills: KillTrigger[];
}

const STEPS: Step[] = [
  {
    to: 'trusted',
    args: [],
    kills: [
      { on: 'tree', count: 1 },
      { on: 'remote', count: 1 },
      { on: 'reload', count: 1 },
      { on: 'reload', count: 1, extraMs: 150 },
      { on: 'state', count: 1 },
    ],
  },
  {
    to: 'reissued',
    args: [],
    kills: [
      { on: 'tree', count: 2 },
      { on: 'remote', count: 1 },
      { on: 'reload', count: 1, extraMs: 100 },
      { on: 'remote', count: 2 },
      { on: 'reload', count: 2 },
      { on: 'state', count: 2 },
    ],
  },
  {
    to: 'pruned',
    args: ['--ack-clients'],
    kills: [
      { on: 'tree', count: 1 },
      { on: 'remote', count: 1 },
      { on: 'reload', count: 2, extraMs: 100 },
      { on: 'remote', count: 2 },
    ],
  },
  { to: 'done', args: [], kills: [{ on: 'state', count: 1 }] },
];

interface Landing {
  step: string;
  trigger: string;
  killed: boolean;
  /** The phase `rotate status` reports after the kill. */
  after: string;
  seen: string;
}

async function statusOf(): Promise<{ code: number; phase: string; out: string }> {
  const r = await f.certgen(['rotate', 'status', f.specFile, '--json']);
  let phase = '?';
  try {
    phase = (JSON.parse(r.stdout) as { phase: string }).phase;
  } catch {
    // reported below
  }
  return { code: r.code, phase, out: r.stdout + r.stderr };
}

const refused = (as: Attempt[]): Attempt[] => as.filter((a) => !a.ok);

s('SIGKILLed ≥ 10 times across the phases: every rerun resumes, the rotation converges, no certificate in use is ever refused', async () => {
  f.writeSpec({ ca: { clientPropagation: '1s', pruneOld: 'after-reissue' } });
  const tree = f.fromTree('app');
  let held: Creds = f.snapshot('app');
  const follower = f.startLoop('follower', 'app', tree);
  const acker = f.startLoop('acker', 'app', () => ({ ...held, ca: tree().ca }));
  const start = await f.certgen(['rotate', 'start', f.specFile]);
  assert.is(start.code, 0, start.stdout + start.stderr);
  const landings: Landing[] = [];

  let current = 'staged';
  for (const step of STEPS) {
    if (step.to === 'reissued') await new Promise((r) => setTimeout(r, PROPAGATION_MS + 200));
    if (step.to === 'pruned') held = f.snapshot('app');
    const cmd = ['rotate', 'continue', f.specFile, ...step.args];
    for (const trigger of step.kills) {
      if (current === step.to) break;
      f.mark(`${step.to}: kill ${describeTrigger(trigger)}`);
      const k = await f.certgenKilled(cmd, trigger);
      const st = await statusOf();
      current = st.phase;
      const landing = { step: step.to, trigger: describeTrigger(trigger), killed: k.killed, after: st.phase, seen: JSON.stringify(k.seen) };
      landings.push(landing);
      f.trace(`kill ${landing.trigger} → ${step.to}: ${k.killed ? `killed, status then ${st.phase}` : `exited ${k.run.code} first`}, seen ${landing.seen}`);
      if (!k.killed) assert.is(k.run.code, 0, `an unkilled run must succeed: ${k.run.stdout}\n${k.run.stderr}`);
      // A kill leaves a state the next run resumes from, never one status calls inconsistent.
      assert.is(st.code, 0, `status after a kill ${describeTrigger(trigger)} in → ${step.to}:\n${st.out}`);
      // At the kill point, both clients' current certificates are accepted by every node.
      const now = await Promise.all(f.nodes.flatMap((n) => [f.connect(n, 'app', tree()), f.connect(n, 'app', { ...held, ca: tree().ca })]));
      assert.equal(refused(now), [], `refused after a kill ${describeTrigger(trigger)} in → ${step.to}:\n${f.describe(refused(now))}`);
    }
    // The same command once more, not killed, finishes the step (unless a run the kill missed did).
    if (current !== step.to) {
      f.mark(`${step.to}: rerun`);
      const r = await f.certgen([...cmd, '--json']);
      assert.is(r.code, 0, `the clean rerun into ${step.to}: ${r.stdout}\n${r.stderr}`);
      current = (JSON.parse(r.stdout) as { phase: string }).phase;
    }
    assert.is(current, step.to);
  }
  assert.is((await statusOf()).phase, 'done');

  const t = Date.now();
  const round = (as: readonly Attempt[]): boolean => f.nodes.every((n) => as.some((a) => a.node === n && a.at >= t && a.ok));
  await follower.waitFor(round, 'a round at the end');
  await acker.waitFor(round, 'a round at the end');
  await Promise.all([follower.stop(), acker.stop()]);

  const table = landings.map((l) => `  → ${l.step}: ${l.trigger}: ${l.killed ? `killed, then ${l.after}` : 'exited first'} (seen ${l.seen})`).join('\n');
  const landed = landings.filter((l) => l.killed);
  assert.ok(landed.length >= MIN_LANDED, `only ${landed.length} kills landed:\n${table}`);
  for (const p of ['trusted', 'reissued', 'pruned']) assert.ok(landed.filter((l) => l.step === p).length >= 2, `fewer than 2 kills landed on the way to ${p}:\n${table}`);
  for (const l of [follower, acker]) assert.equal(l.failures(), [], `${l.name} failed:\n${f.describe(l.failures())}\nkills:\n${table}`);

  // Converged: every node serves its leaf of the new CA, the nodes' bundles are the local ones.
  const ca = readFileSync(path.join(f.certsDir, 'ca.crt'));
  for (const n of f.nodes) {
    const leaf = readFileSync(path.join(f.remote[n] as string, 'node.crt'));
    assert.ok(leaf.equals(readFileSync(path.join(f.certsDir, 'nodes', n, 'node.crt'))), `${n} node.crt`);
    assert.ok(signedBy(leaf, ca), `${n} leaf signed by the new CA`);
    assert.ok(readFileSync(path.join(f.remote[n] as string, 'ca.crt')).equals(ca), `${n} ca.crt`);
  }
  const v = await f.certgen(['distribute', f.specFile, '--verify', '--json']);
  assert.is(v.code, 0, v.stdout + v.stderr);
  const targets = (JSON.parse(v.stdout) as { targets: Array<{ name: string; status: string }> }).targets;
  assert.equal(targets.map((t) => [t.name, t.status]), f.nodes.map((n) => [n, 'unchanged']), 'nothing left to ship');
  const j = await f.certgen(['journal', 'verify', f.specFile]);
  assert.is(j.code, 0, j.stdout + j.stderr);
  const check = await f.certgen(['check', f.specFile]);
  assert.is(check.code, 0, check.stdout + check.stderr);
});

s.run();
