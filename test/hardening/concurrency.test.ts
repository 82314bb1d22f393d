// Two `certgen apply` processes started at the same instant on one certs dir: exactly one runs,
// the other fails at once (before the winner is done) with one error naming the winner's pid and
// host; the tree the winner leaves is complete and `plan` finds nothing to change. Run on a fresh
// tree (both also race to create the certs dir) and on a tree being reissued.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { tmpdir } from '../helpers/index.js';
import { CLI, assertComplete, run, show, writeSpec, type SpecShape } from './lib.js';

// 2048-bit keys so the winner holds the lock for a second or more, far longer than the two
// processes' start-up jitter.
const SHAPE: SpecShape = { nodes: 5, clients: ['root'], keySize: 2048 };

interface Exit {
  pid: number;
  code: number | null;
  stdout: string;
  stderr: string;
  endedMs: number;
}

function start(file: string, t0: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'apply', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ pid: child.pid ?? -1, code, stdout, stderr, endedMs: performance.now() - t0 }));
  });
}

async function race(dir: string, file: string, ctx: string): Promise<void> {
  const t0 = performance.now();
  const [a, b] = await Promise.all([start(file, t0), start(file, t0)]);
  const both = `${ctx}\n--- A ${a.pid} exit ${a.code}\n${a.stdout}${a.stderr}\n--- B ${b.pid} exit ${b.code}\n${b.stdout}${b.stderr}`;
  const winners = [a, b].filter((x) => x.code === 0);
  assert.is(winners.length, 1, `exactly one apply proceeds: ${both}`);
  const winner = winners[0] as Exit;
  const loser = winner === a ? b : a;
  assert.is(loser.code, 1, both);
  assert.ok(loser.endedMs < winner.endedMs, `the loser waited for the winner: ${both}`);
  const errors = loser.stderr.split('\n').filter((l) => l.startsWith('ERROR:'));
  assert.equal(errors, [`ERROR: another certgen apply or distribute is running on ${path.join(dir, 'certs')} (pid ${winner.pid} on ${os.hostname()} since ${errors[0]?.match(/since (\S+)\)$/)?.[1] ?? '?'})`], both);
  assert.match(errors[0] ?? '', /since \d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
  assert.match(loser.stderr, /^HINT: wait for it to finish; if it is not running any more, remove .*\.certgen\.lock$/m);
  assert.not.match(loser.stderr, /^\s+at /m);
  assert.equal(assertComplete(dir, SHAPE.nodes, SHAPE.clients ?? []), [], ctx);
  const p = await run(['plan', '--detailed-exitcode', file]);
  assert.is(p.code, 0, `${ctx}: ${show(p)}`);
}

const test = suite('two applies at once');

test('on a fresh tree, twice: one proceeds, the other names it and fails at once', async () => {
  for (let i = 0; i < 2; i++) {
    const dir = tmpdir('certgen-race-fresh-');
    await race(dir, writeSpec(dir, SHAPE), `fresh #${i}`);
  }
});

test('on a tree being reissued: one proceeds, the other names it and fails at once', async () => {
  const dir = tmpdir('certgen-race-reissue-');
  assert.is((await run(['apply', writeSpec(dir, SHAPE)])).code, 0);
  await race(dir, writeSpec(dir, { ...SHAPE, extraHost: () => true }), 'reissue');
});

test.run();
