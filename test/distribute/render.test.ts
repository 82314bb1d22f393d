// The renderers of `certgen distribute` (src/distribute/render.ts) on hand-made results: the
// summary cells per status and the JSON document's fixed shape. Real runs are in distribute.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { distributeCells, distributeResultJson, formatDistributeEvent, renderDistributeTable } from '../../src/distribute/render.js';
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

test('renderDistributeTable: totals, warnings, and in a dry run the commands', () => {
  const dry = renderDistributeTable({ dryRun: true, ok: true, targets: [target({ status: 'would-update', warnings: ['w'], commands: [['ssh', 'check'], ['eval', 'a b']] })] });
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
  assert.equal(Object.keys(json.targets[0] ?? {}), ['kind', 'name', 'host', 'port', 'user', 'dir', 'status', 'error', 'phase', 'copied', 'unchanged', 'modesFixed', 'reload', 'files', 'warnings', 'commands', 'verify', 'durationMs']);
  assert.equal((json.targets[0]?.files as object[])[0], { name: 'node.key', localPath: '/tree/nodes/n1/node.key', remotePath: '/certs/node.key', mode: '0600', sha256: 'cc', remoteSha256: null, remoteMode: null, action: 'copy' });
  assert.is(formatDistributeEvent({ target: 'node n1', kind: 'node', name: 'n1', phase: 'copy', failed: false, message: 'copying node.key' }), 'node n1: copying node.key');
});

test.run();
