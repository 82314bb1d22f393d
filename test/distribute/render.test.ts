// The renderers of `certgen distribute` (src/distribute/render.ts) on hand-made results: the
// summary cells per status and the JSON document's fixed shape. Real runs are in distribute.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { distributeCells, distributeResultJson, formatDistributeEvent, reloadAgainHint, renderDistributeTable } from '../../src/distribute/render.js';
import { filesToSend, initialResult } from '../../src/distribute/target.js';
import type { DistributeTarget, TargetPlan } from '../../src/distribute/types.js';

const plan: TargetPlan = {
  kind: 'node',
  name: 'n1',
  label: 'node n1',
  ssh: { host: '::1', port: 2222, user: 'crdb', dir: '/certs', options: [] },
  reload: 'reload',
  folder: '/tree/nodes/n1',
  files: [{ name: 'node.key', path: '/tree/nodes/n1/node.key', mode: 0o600, sha256: 'cc' }],
};
const target = (over: Partial<DistributeTarget>): DistributeTarget => ({ ...initialResult(plan, filesToSend(plan)), ...over });

test('distributeCells: one row per target, its status in words', () => {
  assert.equal(distributeCells(target({ status: 'updated', copied: ['node.key'] })), ['node n1', 'crdb@[::1]:2222:/certs', 'node.key', '0', 'skipped', 'updated']);
  assert.equal(distributeCells(target({ status: 'updated', modesFixed: ['node.key'] })).slice(2), ['node.key (mode)', '0', 'skipped', 'updated (modes)']);
  assert.is(distributeCells(target({ status: 'updated' }))[5], 'updated (cleanup)', 'only leftovers of a killed run were removed');
  assert.is(distributeCells(target({ unchanged: ['node.key'] }))[5], 'up to date');
  assert.is(distributeCells(target({ status: 'would-update', reload: { command: 'reload', status: 'would-run' } }))[4], 'would run');
  assert.is(distributeCells(target({ status: 'failed', phase: 'copy', error: 'boom' }))[5], 'FAILED (copying): boom');
  assert.is(distributeCells(target({ status: 'failed', error: 'bug' }))[5], 'FAILED: bug', 'a crashed target has no phase');
  assert.is(distributeCells(target({ reload: { command: null, status: 'none' } }))[4], '-');
});

test('--force-reload: an up-to-date target reloaded (or, dry run, to be); the hint after a reload that failed or did not take', () => {
  assert.is(distributeCells(target({ reload: { command: 'reload', status: 'ran' } }))[5], 'up to date, reloaded');
  assert.is(distributeCells(target({ reload: { command: 'reload', status: 'would-run' } }))[5], 'up to date, would reload');
  const dry = renderDistributeTable({ dryRun: true, ok: true, targets: [target({ reload: { command: 'reload', status: 'would-run' }, commands: [['ssh', 'check'], ['eval', 'r=reload']] })] });
  assert.match(dry, /\n# node n1\nssh check\n# then, on that session's stdin:\neval r=reload\n$/, 'no file bytes follow a reload alone');

  const failed = (name: string, phase: 'reload' | 'verify' | 'copy', over: Partial<DistributeTarget> = {}): DistributeTarget => ({ ...target({ status: 'failed', phase, error: 'x' }), name, label: `node ${name}`, ...over });
  const result = { dryRun: false, ok: false, targets: [failed('n1', 'reload'), failed('n2', 'verify'), failed('n3', 'copy'), failed('n4', 'verify', { reload: { command: null, status: 'none' } }), target({})] };
  assert.is(
    reloadAgainHint(result, 'certgen distribute c.yaml'),
    'node n1: the files are in place but the reload failed; node n2: the files are in place but not presented yet. A plain rerun skips the reload (nothing changes); once the cause is fixed, run it again: certgen distribute c.yaml --force-reload --node n1,n2 --verify',
  );
  assert.equal((distributeResultJson(result) as { targets: Array<{ reloadAgain: boolean }> }).targets.map((t) => t.reloadAgain), [true, true, false, false, false], 'a copy failure needs no forced reload, nor a node without a reload');
  assert.is(reloadAgainHint({ dryRun: false, ok: true, targets: [target({})] }), undefined);
});

test('renderDistributeTable: totals, warnings, and in a dry run the commands', () => {
  const dry = renderDistributeTable({ dryRun: true, ok: true, targets: [target({ status: 'would-update', copied: ['node.key'], warnings: ['w'], commands: [['ssh', 'check'], ['eval', 'a b']] })] });
  assert.match(dry, /Would copy/);
  assert.match(dry, /dry run, nothing changed: 1 target: 1 would change, 0 up to date, 0 failed\n/);
  assert.match(dry, /node n1: warning: w\n/);
  assert.match(dry, /\n# node n1\nssh check\n# then, on that session's stdin \(followed by the files' bytes\):\neval 'a b'\n$/);
  const checkOnly = renderDistributeTable({ dryRun: true, ok: true, targets: [target({ commands: [['ssh', 'check']] })] });
  assert.not.match(checkOnly, /# node n1/, 'an up-to-date target has nothing more to show');
  assert.match(renderDistributeTable({ dryRun: false, ok: true, targets: [target({})] }), /1 target: 0 updated, 1 up to date, 0 failed\n$/);
});

test('distributeResultJson: version 1, every key in a fixed order, modes in octal', () => {
  const json = distributeResultJson({ dryRun: false, ok: false, targets: [target({ status: 'failed', error: 'e', phase: 'check' })] }) as { targets: Record<string, unknown>[] };
  assert.equal(Object.keys(json), ['version', 'dryRun', 'ok', 'rollout', 'journal', 'targets']);
  assert.equal(Object.keys(json.targets[0] ?? {}), ['kind', 'name', 'host', 'port', 'user', 'dir', 'status', 'error', 'phase', 'copied', 'unchanged', 'modesFixed', 'reload', 'files', 'warnings', 'commands', 'verify', 'reloadAgain', 'durationMs']);
  assert.equal((json.targets[0]?.files as object[])[0], { name: 'node.key', localPath: '/tree/nodes/n1/node.key', remotePath: '/certs/node.key', mode: '0600', sha256: 'cc', remoteSha256: null, remoteMode: null, action: 'copy' });
  assert.is(formatDistributeEvent({ target: 'node n1', kind: 'node', name: 'n1', phase: 'copy', failed: false, message: 'copying node.key' }), 'node n1: copying node.key');
});

test.run();
