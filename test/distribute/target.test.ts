// The pure phases of one target (src/distribute/target.ts): comparing the remote probe with the
// local files, sorting the changes and planning the commands. The phases that run commands are
// exercised against a real sshd in distribute.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RemoteEntry, RemoteState } from '../../src/io/remote.js';
import { changesOf, compareWithRemote, EVAL, filesToSend, initialResult, planSteps } from '../../src/distribute/target.js';
import type { TargetPlan } from '../../src/distribute/types.js';

const [A, B, C] = ['a', 'b', 'c'].map((x) => x.repeat(64)) as [string, string, string];

const plan = (over: Partial<TargetPlan> = {}): TargetPlan => ({
  kind: 'node',
  name: 'n1',
  label: 'node n1',
  ssh: { host: 'db1', port: 22, user: 'crdb', dir: '/var/certs', options: [] },
  reload: undefined,
  folder: '/tree/nodes/n1',
  files: [
    { name: 'ca.crt', path: '/tree/nodes/n1/ca.crt', mode: 0o644, sha256: A },
    { name: 'node.crt', path: '/tree/nodes/n1/node.crt', mode: 0o644, sha256: B },
    { name: 'node.key', path: '/tree/nodes/n1/node.key', mode: 0o600, sha256: C },
  ],
  ...over,
});

const entry = (name: string, over: Partial<RemoteEntry>): RemoteEntry => ({ name, type: 'file', mode: 0o644, sha256: null, ...over });
const state = (entries: RemoteEntry[], over: Partial<RemoteState> = {}): RemoteState => ({ dirExists: true, dirMode: 0o700, entries, sumsAvailable: true, stale: [], ...over });

test('initialResult and filesToSend: every file to copy, nothing run yet', () => {
  const p = plan({ reload: 'systemctl reload cockroach' });
  const files = filesToSend(p);
  assert.equal(files.map((f) => [f.name, f.remotePath, f.action, f.remoteSha256]), [
    ['ca.crt', '/var/certs/ca.crt', 'copy', null],
    ['node.crt', '/var/certs/node.crt', 'copy', null],
    ['node.key', '/var/certs/node.key', 'copy', null],
  ]);
  const r = initialResult(p, files);
  assert.is(r.status, 'unchanged');
  assert.equal(r.reload, { command: 'systemctl reload cockroach', status: 'skipped' });
  assert.equal([r.user, r.error, r.phase, r.commands, r.durationMs], ['crdb', null, null, [], 0]);
  assert.equal(initialResult(plan({ ssh: { host: 'h', port: 2222, dir: 'certs', options: [] } }), []).reload, { command: null, status: 'none' });
  assert.is(initialResult(plan({ ssh: { host: 'h', port: 2222, dir: 'certs', options: [] } }), []).user, null);
});

test('compareWithRemote: copy when missing or different, chmod when only the mode differs, none otherwise', () => {
  const files = filesToSend(plan());
  const out = compareWithRemote(files, state([entry('ca.crt', { sha256: A }), entry('node.crt', { sha256: B, mode: 0o600 }), entry('node.key', { type: 'missing', mode: null })]), '/var/certs');
  assert.equal(out, { warnings: [] });
  assert.equal(files.map((f) => f.action), ['none', 'chmod', 'copy']);
  assert.equal(files.map((f) => f.remoteMode), [0o644, 0o600, null]);
  assert.equal(changesOf(files), { copy: [files[2]], chmodOnly: [files[1]], unchanged: ['ca.crt'] });
});

test('compareWithRemote: without remote sums every file is copied, with a warning', () => {
  const files = filesToSend(plan());
  const out = compareWithRemote(files, state(files.map((f) => entry(f.name, { mode: f.mode })), { sumsAvailable: false }), '/var/certs');
  assert.equal(out.warnings, ['the remote host has no sha256sum, shasum or openssl: every file is copied']);
  assert.equal(files.map((f) => f.action), ['copy', 'copy', 'copy']);
});

test('compareWithRemote: a folder open to others is a warning; a directory, link or device in place of a file is an error', () => {
  const files = filesToSend(plan());
  const open = compareWithRemote(files, state([], { dirMode: 0o755 }), '/var/certs');
  assert.equal(open.warnings, ['remote folder /var/certs is open to other users (mode 0755); certgen leaves existing folder modes alone']);
  assert.equal(compareWithRemote(filesToSend(plan()), state([], { dirExists: false, dirMode: 0o777 }), '/x').warnings, []);

  for (const [type, what] of [['dir', 'a directory'], ['link', 'a symbolic link'], ['other', 'not a regular file']] as const) {
    const fs = filesToSend(plan());
    const out = compareWithRemote(fs, state([entry('ca.crt', { sha256: A }), entry('node.crt', { type, mode: 0o755 }), entry('node.key', { sha256: C, mode: 0o600 })], { dirMode: 0o755 }), '/var/certs');
    // The error stops the comparison: the folder warning is not reached, later files keep their defaults.
    assert.equal(out, { warnings: [], error: `remote /var/certs/node.crt is ${what}; remove it and run again` });
    assert.equal(fs.map((f) => [f.action, f.remoteMode]), [['none', 0o644], ['copy', 0o755], ['copy', null]]);
  }
});

test('planSteps: one installer line when anything differs (copy + reload, modes, leftovers), nothing otherwise', () => {
  const p = plan({ reload: 'kill -HUP 1' });
  const files = filesToSend(p);
  const sizes = new Map([['node.crt', 11], ['node.key', 22]]);
  const all = planSteps(p, { copy: files.slice(1), chmodOnly: files.slice(0, 1) }, '.certgen-abc', sizes);
  assert.equal(all.map((s) => [s.phase, s.argv[0]]), [['copy', EVAL]]);
  const line = all[0]?.argv[1] ?? '';
  assert.not.ok(line.includes('\n'), 'one line');
  assert.match(line, /\.certgen-abc/);
  assert.match(line, /head -c 11 > "\$st"\/node\.crt/);
  assert.match(line, /tail -c \+12 "\$st"\/\.in \| head -c 22 > "\$st"\/node\.key/);
  assert.ok(line.includes(`"$st"/node.crt) [ "$h" = ${B} ]`), 'each file is checked against its SHA-256');
  assert.match(line, /chmod 0644 -- ca\.crt/, 'the install also fixes the chmod-only file');
  assert.match(line, /r='kill -HUP 1'/);
  assert.not.match(planSteps(plan(), { copy: files, chmodOnly: [] }, '.certgen-abc', sizes)[0]?.argv[1] ?? '', /eval "\$r"/, 'no reload without one in the spec');
  const chmod = planSteps(p, { copy: [], chmodOnly: files.slice(2) }, '.certgen-abc', sizes);
  assert.equal(chmod.map((s) => s.phase), ['install']);
  assert.not.match(chmod[0]?.argv[1] ?? '', /\.certgen-abc|eval "\$r"/, 'no staging folder and no reload when nothing is copied');
  const stale = planSteps(p, { copy: [], chmodOnly: [], stale: ['.certgen-old'] }, '.certgen-abc', sizes);
  assert.match(stale[0]?.argv[1] ?? '', /rm -rf -- \.certgen-old/);
  assert.equal(planSteps(p, { copy: [], chmodOnly: [] }, '.certgen-abc', sizes), []);
});

test('planSteps with forceReload: the reload alone when nothing differs, after modes too; nothing without a reload', () => {
  const p = plan({ reload: 'kill -HUP 1' });
  const files = filesToSend(p);
  const sizes = new Map<string, number>();
  const only = planSteps(p, { copy: [], chmodOnly: [] }, '.certgen-abc', sizes, { forceReload: true });
  assert.equal(only.map((s) => s.phase), ['reload']);
  const line = only[0]?.argv[1] ?? '';
  assert.match(line, /r='kill -HUP 1'.*eval "\$r".*certgen:reloaded.*certgen:done/);
  assert.not.match(line, /\.certgen-abc|cat > /, 'no staging folder, nothing read from stdin');
  const chmod = planSteps(p, { copy: [], chmodOnly: files.slice(2) }, '.certgen-abc', sizes, { forceReload: true });
  assert.equal(chmod.map((s) => s.phase), ['install']);
  assert.match(chmod[0]?.argv[1] ?? '', /chmod 0600 -- node\.key.*eval "\$r"/);
  assert.equal(planSteps(plan(), { copy: [], chmodOnly: [] }, '.certgen-abc', sizes, { forceReload: true }), [], 'no reload command: nothing to run');
});

test.run();
