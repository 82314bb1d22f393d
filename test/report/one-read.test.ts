// One read of the tree (issue 10 §3): report and check get every fact from one readTree, the plan
// is the diff of those facts, and each file is opened once and each distinct content parsed once
// per command. Opens are counted by strace on the built CLI (what the process really asks the
// kernel for); parses through the reader's diagnostics channel.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { reportForSpec } from '../../src/report/report.js';
import { check } from '../../src/report/check.js';
import { ROOT } from '../helpers/index.js';
import { goldenCluster, NOW } from './fixture.js';

const test = suite('report and check read the tree once');

/** Every regular file under dir (relative). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** The golden tree plus a folder at the top nobody names, holding a certificate. */
async function tree(): Promise<Awaited<ReturnType<typeof goldenCluster>>> {
  const f = await goldenCluster();
  mkdirSync(path.join(f.certsDir, 'old-certs'));
  cpSync(path.join(f.certsDir, 'nodes', 'node1', 'node.crt'), path.join(f.certsDir, 'old-certs', 'node.crt'));
  writeFileSync(path.join(f.certsDir, 'old-certs', 'README'), 'kept for the audit\n');
  return f;
}

/** Regular files opened under `base` by the command, with how often each (strace -f), and every path opened. */
async function opensOf(args: string[], base: string): Promise<Map<string, number> & { all?: string[] }> {
  const log = path.join(base, 'strace.log');
  await execa('strace', ['-f', '-qq', '-e', 'trace=openat', '-o', log, process.execPath, path.join(ROOT, 'dist/cli.js'), ...args], { reject: false, cwd: base });
  const counts: Map<string, number> & { all?: string[] } = new Map<string, number>();
  counts.all = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    // With -f, a call from libuv's thread pool may be split: `openat(…, "f", O_RDONLY <unfinished …>`.
    const m = /openat\([^,]+, "([^"]+)", ([A-Z_|]+)/.exec(line);
    if (!m || (m[2] ?? '').includes('O_DIRECTORY') || / = -1 E/.test(line)) continue;
    counts.all.push(m[1] ?? '');
    const abs = path.resolve(base, m[1] ?? '');
    if (!abs.startsWith(base + path.sep) || abs.endsWith('strace.log')) continue;
    counts.set(path.relative(base, abs), (counts.get(path.relative(base, abs)) ?? 0) + 1);
  }
  return counts;
}

for (const [name, args] of [
  ['report', (spec: string) => ['report', spec, '--format', 'json']],
  ['check', (spec: string) => ['check', spec]],
] as const) {
  test(`${name}: every file of the tree and the CA key opened exactly once`, async () => {
    const f = await tree();
    const opens = await opensOf(args(f.specFile), f.base);
    const expected = [...filesUnder(f.certsDir).map((p) => path.join('certs', p)), path.join('secrets', 'ca.key'), path.basename(f.specFile)].sort();
    const seen = [...opens.keys()].filter((p) => p !== 'strace.log').sort();
    // Every file is looked at (a report shows them all) ...
    for (const p of expected) assert.ok(opens.has(p), `${p} was never opened (opened: ${[...opens.keys()].join(" ")})`);
    // ... once each, and nothing else is opened (the old CA key beside the spec's is not ours).
    assert.equal([...opens].filter(([, n]) => n !== 1), [], 'files opened more than once');
    assert.equal(seen.filter((p) => !expected.includes(p)), []);
    // Reading needs only the one reader: @peculiar/x509 (the issuing library) costs more to load
    // than a 1,000-node tree's certificates take to read.
    assert.equal((opens.all ?? []).filter((p) => p.includes('@peculiar')), [], '@peculiar/x509 was loaded');
    assert.ok((opens.all ?? []).some((p) => p.includes('node_modules/yaml/')), 'the strace log shows module loads at all');
  });
}

test('plan, report and check parse each distinct certificate and key content once', async () => {
  const f = await tree();
  const events: string[] = [];
  const onParse = (m: unknown): void => {
    const { kind, bytes } = m as { kind: string; bytes: Uint8Array };
    events.push(`${kind}:${createHash('sha256').update(bytes).digest('hex')}`);
  };
  subscribe('certgen:parse', onParse);
  try {
    for (const run of [() => reportForSpec(f.spec, { now: NOW }), () => check(f.spec, { now: NOW })]) {
      events.length = 0;
      await run();
      const dupes = events.filter((e, i) => events.indexOf(e) !== i);
      assert.equal(dupes, [], 'a content was parsed twice');
      // The bundle's copies in every folder are one content: far fewer parses than files.
      const certFiles = filesUnder(f.certsDir).filter((p) => p.endsWith('.crt')).length;
      const certParses = events.filter((e) => e.startsWith('certificate:')).length;
      assert.ok(certParses > 0 && certParses < certFiles, `${certParses} certificate parses for ${certFiles} files`);
      assert.ok(events.some((e) => e.startsWith('key:')));
      assert.ok(events.some((e) => e.startsWith('pkcs8:')));
    }
  } finally {
    unsubscribe('certgen:parse', onParse);
  }
});

test.run();
