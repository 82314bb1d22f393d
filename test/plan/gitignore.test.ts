// The certs dir's .gitignore: its lines, checked with real git against every name apply and its
// lock can leave, and apply keeping it in a real repository (created, completed, never trimmed),
// or leaving it alone outside one; git absent or broken: one line in the plan.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { IGNORED_PATTERNS, gitignoreBytes, missingPatterns } from '../../src/plan/gitignore.js';
import { stagingName } from '../../src/core/staging-name.js';
import { apply, applySaved } from '../../src/apply.js';
import { plan } from '../../src/plan/plan.js';
import { savedPlanFor } from '../../src/plan/saved.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { bin, rejects, tmpdir } from '../helpers/index.js';
import { git, gitInit } from '../helpers/git.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const now = (): Date => NOW;

const lines = suite('the .gitignore lines');

lines('missingPatterns: absent lines, and lines a later negation undoes', () => {
  const all = IGNORED_PATTERNS.join('\n');
  const rows: [string, string, string[]][] = [
    ['empty', '', [...IGNORED_PATTERNS]],
    ['complete', `${all}\n`, []],
    ['complete, CRLF and trailing spaces', `${IGNORED_PATTERNS.map((p) => `${p}  `).join('\r\n')}\r\n`, []],
    ['one missing', `${IGNORED_PATTERNS.filter((p) => p !== '*.key.pk8').join('\n')}\n`, ['*.key.pk8']],
    ['a comment is not a pattern', `# *.key\n${IGNORED_PATTERNS.filter((p) => p !== '*.key').join('\n')}\n`, ['*.key']],
    ['a negation after them undoes them all', `${all}\n!nodes/node1/node.key\n`, [...IGNORED_PATTERNS]],
    ['a negation before them does not', `!keep.key\n${all}\n`, []],
  ];
  for (const [name, text, want] of rows) assert.equal(missingPatterns(text), want, name);
});

lines('gitignoreBytes keeps the file byte for byte and appends the lines', () => {
  for (const before of ['', 'mine\n', 'mine', 'a\r\nb\r\n']) {
    const out = gitignoreBytes(before === '' ? undefined : Buffer.from(before), ['*.key']).toString();
    assert.ok(out.startsWith(before), JSON.stringify(before));
    assert.ok(out.endsWith('\n*.key\n'));
    assert.equal(missingPatterns(out).includes('*.key'), false);
  }
  assert.is(gitignoreBytes(Buffer.from('mine'), ['*.key']).toString().split('\n')[1], '', 'a file without a final newline gets one, then a blank line');
});

lines('real git ignores every name apply and its lock leave, and nothing certgen means to be committed', async () => {
  const dir = tmpdir();
  await gitInit(dir);
  writeFileSync(path.join(dir, '.gitignore'), gitignoreBytes(undefined, IGNORED_PATTERNS));
  const ignored = [
    'nodes/node1/node.key',
    'clients/root/client.root.key',
    'clients/root/client.root.key.pk8',
    'clients/app-user/client.app-user.key.pk8',
    '.certgen.lock',
    '.certgen.lock.takeover',
    '.certgen.lock.12345.0a1b2c3d.tmp',
    stagingName('ca.crt', '0123456789ab'),
    `nodes/node1/${stagingName('node.key', 'abcdef012345')}`,
    `nodes/node1/${stagingName('node.crt', 'abcdef012345')}.old`,
  ];
  const kept = ['ca.crt', 'nodes/node1/ca.crt', 'nodes/node1/node.crt', 'clients/root/client.root.crt', 'nodes/node1/node.key.age', 'clients/root/client.root.key.pk8.age', '.gitignore'];
  const r = await git(dir, ['check-ignore', '--no-index', '--stdin'], { input: [...ignored, ...kept].join('\n'), ok: [0, 1] });
  assert.equal(r.stdout.split('\n').filter((l) => l !== ''), ignored);
});

lines.run();

// --- apply in a real repository ---------------------------------------------------------------

const applied = suite('apply keeps the .gitignore of a certs dir in a git work tree');

function doc(): Record<string, unknown> {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keyType: 'ecdsa-p256' },
    defaults: { keyType: 'ecdsa-p256' },
    nodes: [{ name: 'node1', hosts: ['node1.example.com'] }],
    clients: [{ user: 'root', pkcs8: true }],
  };
}

async function repo(init = true): Promise<{ dir: string; file: string; certs: string }> {
  const dir = tmpdir();
  if (init) await gitInit(dir);
  // The CA key is ignored at the top, as an operator keeping it in the repository would do.
  writeFileSync(path.join(dir, '.gitignore'), 'secrets/\n');
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify(doc()));
  return { dir, file, certs: path.join(dir, 'certs') };
}

applied('a first apply writes it (0644), git then sees no key, and the next plan is empty', async () => {
  const p = await repo();
  const spec = await loadSpec(p.file);
  const first = await plan(spec, { now });
  const change = first.changes.find((c) => c.artifact === '.gitignore');
  assert.equal(change?.action, 'create');
  assert.equal(change?.reasons.map((r) => r.code), ['missing']);
  assert.equal(change?.ops.write, [{ file: '.gitignore', content: 'gitignore', mode: 0o644, lines: [...IGNORED_PATTERNS], exclusive: true }]);
  assert.equal(first.warnings, []);
  await apply(spec, { now });
  assert.is(statSync(path.join(p.certs, '.gitignore')).mode & 0o777, 0o644);
  await git(p.dir, ['add', '-A']);
  const added = (await git(p.dir, ['ls-files'])).stdout.split('\n');
  assert.equal(added.filter((f) => /\.key(\.pk8)?$/.test(f)), []);
  assert.ok(added.includes('certs/.gitignore') && added.includes('certs/nodes/node1/node.crt'));
  const again = await plan(spec, { now });
  assert.equal(again.changes.filter((c) => c.action !== 'keep'), []);
});

applied("the operator's lines stay; a negation that would let a key in gets the lines again, after it", async () => {
  const p = await repo();
  const spec = await loadSpec(p.file);
  await apply(spec, { now });
  const gi = path.join(p.certs, '.gitignore');
  const mine = `${readFileSync(gi, 'utf8')}# mine\n*.bak\n!nodes/node1/node.key\n`;
  writeFileSync(gi, mine);
  const change = (await plan(spec, { now })).changes.find((c) => c.artifact === '.gitignore');
  assert.equal(change?.action, 'update');
  assert.equal(change?.reasons[0]?.code, 'gitignore-incomplete');
  await apply(spec, { now });
  const after = readFileSync(gi, 'utf8');
  assert.ok(after.startsWith(mine), 'nothing removed or reordered');
  const r = await git(p.dir, ['check-ignore', '-q', 'certs/nodes/node1/node.key'], { ok: [0, 1] });
  assert.is(r.code, 0, 'the key is ignored again');
  assert.equal((await plan(spec, { now })).changes.filter((c) => c.action !== 'keep'), []);
});

applied('a saved plan writes exactly the lines it shows, and is stale once the .gitignore changed', async () => {
  const p = await repo();
  const spec = await loadSpec(p.file);
  await apply(spec, { now });
  const gi = path.join(p.certs, '.gitignore');
  writeFileSync(gi, '*.key\n');
  const saved = await savedPlanFor(spec, path.join(p.dir, 'plan.json'), { now });
  const change = saved.plan.changes.find((c) => c.artifact === '.gitignore');
  assert.equal(change?.ops.write[0]?.lines, IGNORED_PATTERNS.filter((l) => l !== '*.key'));
  writeFileSync(gi, '*.key\n# edited meanwhile\n');
  const err = await rejects(applySaved(saved, spec, { now, planFile: 'plan.json' }));
  assert.match(err.message, '.gitignore changed');
  writeFileSync(gi, '*.key\n');
  await applySaved(saved, spec, { now, planFile: 'plan.json' });
  assert.is(readFileSync(gi, 'utf8'), gitignoreBytes(Buffer.from('*.key\n'), change?.ops.write[0]?.lines ?? []).toString());
});

applied('outside a git work tree no .gitignore is written, and one that is there is no orphan', async () => {
  const p = await repo(false);
  const spec = await loadSpec(p.file);
  await apply(spec, { now });
  assert.is(existsSync(path.join(p.certs, '.gitignore')), false);
  writeFileSync(path.join(p.certs, '.gitignore'), 'mine\n');
  const again = await plan(spec, { now, prune: true });
  assert.equal(again.changes.filter((c) => c.action !== 'keep'), []);
});

applied('a broken repository: one warning, and the .gitignore is kept all the same', async () => {
  const p = await repo(false);
  writeFileSync(path.join(p.dir, '.git'), 'gitdir: /nonexistent/certgen-test.git\n');
  const r = await bin(['apply', p.file], { cwd: p.dir });
  assert.is(r.code, 0, r.stderr);
  const out = `${r.stdout}${r.stderr}`;
  assert.is(out.match(/warning: git cannot use the repository at .*\.git \(not a git repository: \/nonexistent\/certgen-test\.git\)/g)?.length, 1, out);
  assert.ok(existsSync(path.join(p.certs, '.gitignore')));
});

applied('git not installed: outside a repository nothing is said; with a .git above, one warning and the .gitignore', async () => {
  const noGit = tmpdir();
  const env = { PATH: noGit };
  const outside = await repo(false);
  const a = await bin(['plan', outside.file], { cwd: outside.dir, env });
  assert.is(a.code, 0, a.stderr);
  assert.not.match(`${a.stdout}${a.stderr}`, /git/);
  const inside = await repo(true);
  const b = await bin(['apply', inside.file], { cwd: inside.dir, env });
  assert.is(b.code, 0, b.stderr);
  assert.match(`${b.stdout}${b.stderr}`, /warning: git is not installed, but .*\.git says certs is in a git work tree/);
  assert.ok(existsSync(path.join(inside.certs, '.gitignore')));
});

applied('a CA key in the work tree that git does not ignore: the plan warns', async () => {
  const p = await repo();
  writeFileSync(path.join(p.dir, '.gitignore'), '');
  mkdirSync(path.join(p.dir, 'secrets'));
  const spec = await loadSpec(p.file);
  const first = await plan(spec, { now });
  assert.equal(first.warnings.length, 1);
  assert.match(first.warnings[0] ?? '', 'the CA key lies in the git work tree (secrets/ca.key) and git does not ignore it');
});

applied.run();
