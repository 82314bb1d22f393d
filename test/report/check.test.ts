// certgen check: each exit code on its own, how they combine (error 1 > expiring 3 > drift 2 >
// ok 0), one line per finding, the JSON shape, and that it never writes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHECK_EXIT, CHECK_EXIT_CODES_HELP, check, checkSpecFile, exitCodeFor, formatFinding, renderCheckText, type CheckResult, type Finding } from '../../src/report/check.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { apply } from '../../src/apply.js';
import { tmpdir } from '../helpers/index.js';
import { NOW, SPEC_YAML, T0, goldenCluster, healthyCluster, runUnprivileged, writeSpec } from './fixture.js';

const DAY = 24 * 3600 * 1000;
const H = 3_600_000_000_000n;
const after = (days: number): Date => new Date(T0.getTime() + days * DAY);
const kinds = (r: CheckResult): string[] => r.findings.map((f) => `${f.kind}:${f.code}:${f.artifact}`);

function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = statSync(p);
      out.push(`${path.relative(dir, p)} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${st.isFile() ? readFileSync(p).toString('base64').slice(0, 40) : ''}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
const codes = suite('exit codes, one at a time');

codes('0: the tree matches the spec and nothing is near expiry', async () => {
  const f = await healthyCluster();
  const r = await check(f.spec, { now: after(30) });
  assert.is(r.exitCode, 0);
  assert.is(r.status, 'ok');
  assert.equal(r.findings, []);
  assert.is(renderCheckText(r), 'check: exit 0, ok: the certs dir matches the spec and nothing expires soon (0 errors, 0 expiring, 0 drift, 0 warnings)\n');
});

codes('1: an invalid spec, one finding per diagnostic', async () => {
  const base = tmpdir('certgen-check-');
  const file = path.join(base, 'cluster-certs.yaml');
  writeFileSync(file, 'certsDir: certs\ncaKey: ca.key\nnodes:\n  - name: Bad_Name\n    hosts: []\n  - hosts: [a]\n');
  const r = await checkSpecFile(file, { now: T0 });
  assert.is(r.exitCode, 1);
  assert.is(r.certsDir, null);
  assert.ok(r.findings.length >= 2, kinds(r).join(', '));
  assert.ok(r.findings.every((x) => x.kind === 'error' && x.code === 'spec-invalid' && x.message.startsWith(`${file}:`)));
});

codes('1: a spec file that does not exist', async () => {
  const r = await checkSpecFile(path.join(tmpdir(), 'nope.yaml'), { now: T0 });
  assert.is(r.exitCode, 1);
  assert.equal(kinds(r), ['error:spec-unreadable:']);
  assert.match(r.findings[0]?.message ?? '', /spec file .*nope\.yaml not found/);
});

codes('1: the plan has errors (the CA key is gone)', async () => {
  const f = await healthyCluster();
  rmSync(f.spec.caKey);
  const r = await check(f.spec, { now: after(30) });
  assert.is(r.exitCode, 1);
  assert.equal(kinds(r), ['error:ca-key-missing:ca']);
  assert.match(r.findings[0]?.message ?? '', 'the CA key');
});

codes('1: a folder of the tree cannot be read', async () => {
  const f = await healthyCluster();
  chmodSync(path.join(f.certsDir, 'nodes', 'node3'), 0o000);
  try {
    const out = await runUnprivileged(
      f.base,
      `const { checkSpecFile } = await import(ROOT + '/src/report/check.ts');
       process.stdout.write(JSON.stringify(await checkSpecFile(${JSON.stringify(f.specFile)}, { now: new Date('2024-02-01T00:00:00Z') })));`,
    );
    const r = JSON.parse(out) as CheckResult;
    assert.is(r.exitCode, 1);
    assert.is(kinds(r).filter((k) => k === 'error:unreadable:node/node3').length, 1, kinds(r).join(', '));
    assert.ok(r.findings.some((x) => x.kind === 'error' && x.file === 'nodes/node3/' && x.message === 'cannot read folder nodes/node3: permission denied'), JSON.stringify(r.findings));
    assert.is(r.findings.filter((x) => x.kind === 'error').length, r.counts.error);
  } finally {
    chmodSync(path.join(f.certsDir, 'nodes', 'node3'), 0o700);
  }
});

codes('2: the tree differs from the spec (hosts changed, a node added), nothing expiring', async () => {
  const f = await healthyCluster();
  const yaml = SPEC_YAML.replace('hosts: [node1.example.com, 10.0.0.1]', 'hosts: [node1.example.com, 10.0.0.9]').replace('clients:\n', '  - name: node5\n    hosts: [node5.example.com]\nclients:\n');
  const changed = await writeSpec(f.base, yaml);
  const r = await check(changed.spec, { now: after(30) });
  assert.is(r.exitCode, 2);
  assert.is(r.status, 'drift');
  assert.equal(kinds(r), ['drift:reissue:node/node1', 'drift:create:node/node5']);
  assert.is(r.findings[0]?.message, 'reissue (hosts-changed: hosts +10.0.0.9 -10.0.0.1)');
});

codes('3: a certificate expires within --within, while the tree still matches the spec', async () => {
  const f = await healthyCluster();
  // node1 and the other 8784h leaves expire on 2025-01-01: 59 days before that, outside their
  // 720h renewBefore (so apply has nothing to do) but inside --within 1440h (60 days).
  const now = new Date('2024-11-03T00:00:00Z');
  assert.is((await check(f.spec, { now })).exitCode, 0, 'with the default window nothing is due yet');
  const r = await check(f.spec, { now, within: 1440n * H });
  assert.is(r.exitCode, 3);
  assert.is(r.status, 'expiring');
  assert.is(r.within, '1440h0m0s');
  assert.equal(kinds(r), ['expiring:expiring:node/node1', 'expiring:expiring:node/node3', 'expiring:expiring:node/node4', 'expiring:expiring:client/root', 'expiring:expiring:client/backup']);
  assert.is(r.findings[0]?.message, 'nodes/node1/node.crt expires 2025-01-01T00:00:00Z (59 days left), within --within 1440h0m0s');
});

codes('3: the CA inside its rotation window, while the leaves are fine and the tree matches', async () => {
  // A 17568h CA (until 2026-01-02) over 8784h leaves, renewed by apply on 2024-12-05 (so they
  // end 2025-12-06). Their next renewal, 2025-11-06, would need the CA until 2026-11-07: the CA
  // must be rotated by 2025-11-06, and its window opens 720h before, on 2025-10-07.
  const f = await healthyCluster('certsDir: certs\ncaKey: secrets/ca.key\nca: { keySize: 1024, lifetime: 17568h }\ndefaults: { keySize: 1024, lifetime: 8784h, renewBefore: 720h }\nnodes:\n  - { name: n1, hosts: [n1.example.com] }\nclients:\n  - user: root\n');
  await apply(f.spec, { now: () => new Date('2024-12-05T00:00:00Z') });
  assert.is((await check(f.spec, { now: new Date('2025-10-06T00:00:00Z') })).exitCode, 0, 'the day before the window opens');
  const r = await check(f.spec, { now: new Date('2025-10-10T00:00:00Z') });
  assert.equal(kinds(r), ['expiring:expiring:ca']);
  assert.is(r.exitCode, 3);
  assert.is(r.findings[0]?.message, 'the CA certificate ca.crt expires 2026-01-02T00:00:00Z (84 days left), within its rotation window (from 2025-10-07T00:00:00Z); rotate the CA by 2025-11-06T00:00:00Z');
});

codes.run();

// ---------------------------------------------------------------------------------------------
const combos = suite('combinations: the most severe wins (1 > 3 > 2 > 0)');

combos('expiring and drift together: 3 (the default window is each renewBefore, which apply also acts on)', async () => {
  const f = await healthyCluster();
  const r = await check(f.spec, { now: new Date('2024-12-10T00:00:00Z') });
  assert.is(r.exitCode, 3);
  assert.ok(r.counts.expiring > 0 && r.counts.drift > 0, JSON.stringify(r.counts));
  assert.equal(r.findings.map((x) => x.kind), [...r.findings.map((x) => x.kind)].sort((a, b) => ['error', 'expiring', 'drift', 'warning'].indexOf(a) - ['error', 'expiring', 'drift', 'warning'].indexOf(b)), 'most severe first');
  // --within 0 looks only at what has expired: the same tree is then plain drift.
  assert.is((await check(f.spec, { now: new Date('2024-12-10T00:00:00Z'), within: 0n })).exitCode, 2);
});

combos('error, expiring and drift together: 1', async () => {
  const g = await goldenCluster();
  rmSync(g.spec.caKey);
  const r = await check(g.spec, { now: NOW });
  assert.is(r.exitCode, 1);
  assert.ok(r.counts.error > 0 && r.counts.expiring > 0 && r.counts.drift > 0, JSON.stringify(r.counts));
  assert.is(r.findings[0]?.code, 'ca-key-missing');
});

combos('the golden tree: expiring, drift and orphans: 3, orphans are warnings; with --prune they are drift', async () => {
  const g = await goldenCluster();
  const r = await check(g.spec, { now: NOW, specFileLabel: 'cluster-certs.yaml', certsDirLabel: 'certs' });
  assert.is(r.exitCode, 3);
  assert.equal(r.counts, { error: 0, expiring: 4, drift: 6, warning: 2 });
  assert.equal(
    kinds(r),
    [
      'expiring:expiring:node/node1',
      'expiring:expired:node/node3',
      'expiring:expired:node/node4',
      'expiring:expiring:client/root',
      'drift:reissue:node/node1',
      'drift:reissue:node/node3',
      'drift:reissue:node/node4',
      'drift:reissue:client/root',
      'drift:reissue:client/maxroach',
      'drift:reissue:client/backup',
      'warning:orphan:node/old',
      'warning:orphan:notes.txt',
    ],
  );
  const pruned = await check(g.spec, { now: NOW, prune: true });
  assert.equal(pruned.counts, { error: 0, expiring: 4, drift: 8, warning: 0 });
});

combos('orphans alone are only warnings: 0; with --prune: 2', async () => {
  const f = await healthyCluster();
  writeFileSync(path.join(f.certsDir, 'stray.txt'), 'x');
  const r = await check(f.spec, { now: after(30) });
  assert.is(r.exitCode, 0);
  assert.equal(kinds(r), ['warning:orphan:stray.txt']);
  assert.is((await check(f.spec, { now: after(30), prune: true })).exitCode, 2);
});

combos('spec warnings are warnings', async () => {
  const f = await healthyCluster();
  const dup = await writeSpec(f.base, SPEC_YAML.replace('hosts: [node3.example.com]', 'hosts: [node3.example.com, node3.example.com]'));
  const r = await checkSpecFile(dup.specFile, { now: after(30) });
  assert.is(r.exitCode, 0);
  assert.equal(kinds(r), ['warning:spec-warning:']);
});

combos('exitCodeFor: the precedence on its own', () => {
  const k = (...ks: Finding['kind'][]): number => exitCodeFor(ks.map((kind) => ({ kind })));
  assert.is(k(), CHECK_EXIT.ok);
  assert.is(k('warning'), 0);
  assert.is(k('drift', 'warning'), 2);
  assert.is(k('drift', 'expiring'), 3);
  assert.is(k('expiring', 'drift', 'error'), 1);
  assert.is(k('error'), 1);
  assert.match(CHECK_EXIT_CODES_HELP, 'the most severe wins: 1, then 3, then 2, then 0');
});

combos.run();

// ---------------------------------------------------------------------------------------------
const output = suite('output and side effects');

output('one line per finding, then the verdict; JSON has a stable shape', async () => {
  const g = await goldenCluster();
  const r = await check(g.spec, { now: NOW, specFileLabel: 'cluster-certs.yaml', certsDirLabel: (s) => path.relative(g.base, s.certsDir) });
  assert.is(r.certsDir, 'certs');
  const lines = renderCheckText(r).trimEnd().split('\n');
  assert.is(lines.length, r.findings.length + 1);
  assert.is(lines[lines.length - 1], 'check: exit 3, expiring: a certificate expires within the window (0 errors, 4 expiring, 6 drift, 2 warnings)');
  assert.is(lines[0], 'expiring: node/node1: nodes/node1/node.crt expires 2025-06-02T00:00:00Z (12 days left), within renewBefore 720h0m0s');
  assert.is(lines[4], 'drift: node/node1: reissue (expiring: expires on 2025-06-02T00:00:00.000Z, 300h0m0s left, less than renewBefore 720h0m0s)');
  assert.is(formatFinding({ kind: 'error', code: 'x', artifact: '', message: 'two\n  lines' }), 'error: two lines');
  const json = JSON.parse(JSON.stringify(r)) as CheckResult;
  assert.equal(Object.keys(json), ['version', 'now', 'specFile', 'certsDir', 'within', 'exitCode', 'status', 'counts', 'findings']);
  assert.is(json.version, 1);
  assert.is(json.now, '2025-05-20T12:00:00Z');
  assert.is(json.within, null);
  assert.equal(json.findings[0], { kind: 'expiring', code: 'expiring', artifact: 'node/node1', file: 'nodes/node1/node.crt', message: 'nodes/node1/node.crt expires 2025-06-02T00:00:00Z (12 days left), within renewBefore 720h0m0s' });
});

output('never writes: not to a drifted tree, not a missing one, not the CA key', async () => {
  const g = await goldenCluster();
  const before = snapshot(g.base);
  await check(g.spec, { now: NOW, prune: true });
  await checkSpecFile(g.specFile, { now: NOW });
  assert.is(snapshot(g.base), before);
  const fresh = await writeSpec(tmpdir('certgen-check-'), SPEC_YAML);
  const r = await check(await loadSpec(fresh.specFile), { now: T0 });
  assert.is(r.exitCode, 2, 'everything is to be created');
  assert.equal(readdirSync(fresh.base).sort(), ['cluster-certs.yaml', 'secrets']);
  assert.equal(readdirSync(path.join(fresh.base, 'secrets')), []);
});

output.run();
