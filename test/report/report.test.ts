// buildReport: rows for every certificate of a spec's tree or of a certs folder, bad input as
// rows (never a crash, never a hidden row), the forecast and the CA rotation deadline.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildReport, rotationDeadline, type Report, type ReportRow } from '../../src/report/report.js';
import { listCerts } from '../../src/cert/list.js';
import { createCA, createClient, createNode } from '../../src/cert/commands.js';
import { openssl, tmpdir, setup } from '../helpers/index.js';
import { NOW, SPEC_YAML, T0, T1, goldenCluster, healthyCluster, runUnprivileged, writeSpec } from './fixture.js';

const DAY = 24 * 3600 * 1000;
const at = (iso: string): Date => new Date(iso);
const byFile = (r: Report, file: string): ReportRow[] => r.rows.filter((x) => x.file === file);
const one = (r: Report, file: string): ReportRow => {
  const rows = byFile(r, file);
  assert.is(rows.length, 1, `exactly one row for ${file}, got ${rows.length}`);
  return rows[0] as ReportRow;
};

/** Every path under `dir` with its type, mode, size and mtime: the tree as a writer would change it. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = statSync(p);
      out.push(`${path.relative(dir, p)} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
const spec = suite('report for a spec');

let golden: Awaited<ReturnType<typeof goldenCluster>>;
let report: Report;
setup(spec, async () => {
  golden = await goldenCluster();
  report = await buildReport({ spec: golden.spec }, { now: NOW, specFileLabel: 'cluster-certs.yaml', certsDirLabel: 'certs' });
});

spec('rows: each CA of the bundle, each node and client in spec order, stale bundle copies, then orphans', () => {
  assert.equal(
    report.rows.map((r) => `${r.owner} ${r.usage} ${r.file}${r.certsInFile > 1 ? ` ${r.position}/${r.certsInFile}` : ''}`),
    [
      'CA CA ca.crt 1/2',
      'CA CA ca.crt 2/2',
      'node1 Node nodes/node1/node.crt',
      'node2 Node nodes/node2/node.crt',
      'node3 Node nodes/node3/node.crt',
      'node3 CA nodes/node3/ca.crt',
      'node4 Node nodes/node4/node.crt',
      'node4 CA nodes/node4/ca.crt',
      'root Client clients/root/client.root.crt',
      'maxroach Client clients/maxroach/client.maxroach.crt',
      'maxroach CA clients/maxroach/ca.crt',
      'backup Client clients/backup/client.backup.crt',
      'old CA nodes/old/ca.crt 1/2',
      'old CA nodes/old/ca.crt 2/2',
      'old Node nodes/old/node.crt',
      '(none)  notes.txt',
    ],
  );
  assert.equal(report.source, { kind: 'spec', specFile: 'cluster-certs.yaml', certsDir: 'certs' });
  assert.is(report.now, '2025-05-20T12:00:00Z');
  assert.equal(report.summary, { total: 16, ok: 9, renewSoon: 2, expired: 1, error: 4 });
});

spec('statuses: ok, renew-soon inside renewBefore, expired, error', () => {
  const status = Object.fromEntries(report.rows.filter((r) => r.usage === 'Node' || r.usage === 'Client').map((r) => [r.file, r.status]));
  assert.equal(status, {
    'nodes/node1/node.crt': 'renew-soon', // expires 2025-06-02, window opened 2025-05-03
    'nodes/node2/node.crt': 'ok', // 1440h window opens 2026-04-04
    'nodes/node3/node.crt': 'expired',
    'nodes/node4/node.crt': 'error', // expired too, but the key mismatch is the headline
    'clients/root/client.root.crt': 'error',
    'clients/maxroach/client.maxroach.crt': 'ok',
    'clients/backup/client.backup.crt': 'error',
    'nodes/old/node.crt': 'renew-soon',
  });
  const n1 = one(report, 'nodes/node1/node.crt');
  assert.is(n1.expires, '2025-06-02T00:00:00Z');
  assert.is(n1.notBefore, '2024-05-31T00:00:00Z'); // issued at T1, backdated a day like cockroach
  assert.is(n1.daysLeft, 12);
  assert.is(n1.renewBefore, '720h0m0s');
  assert.is(n1.renewalStarts, '2025-05-03T00:00:00Z');
  assert.is(one(report, 'nodes/node3/node.crt').daysLeft, -140);
  assert.is(one(report, 'nodes/node2/node.crt').renewBefore, '1440h0m0s');
});

spec('notes are cert list\'s; keys, key files and subjects are filled in', () => {
  const n2 = one(report, 'nodes/node2/node.crt');
  assert.is(n2.notes, 'addresses: node2.example.com,10.0.0.2,fd00::2');
  assert.is(n2.keyFile, 'nodes/node2/node.key');
  assert.is(n2.key, 'RSA 2048');
  assert.is(n2.keyAlgorithm, 'RSA');
  assert.is(n2.keySize, 2048);
  assert.is(n2.subject, 'O=Cockroach, CN=node');
  assert.is(one(report, 'clients/maxroach/client.maxroach.crt').notes, 'user: maxroach');
  const [ca1, ca2] = byFile(report, 'ca.crt') as [ReportRow, ReportRow];
  assert.is(ca1.notes, 'num certs: 2');
  assert.is(ca2.notes, 'cert 2 of 2 in the bundle');
  assert.is(ca1.keyFile, '../secrets/ca.key');
  assert.is(ca2.keyFile, '');
  assert.is(one(report, 'nodes/node3/ca.crt').notes, 'num certs: 1; differs from ca.crt');
});

spec('bad input becomes rows with errors: mismatched key, missing key, corrupt PEM, junk', () => {
  const n4 = one(report, 'nodes/node4/node.crt');
  assert.is(n4.problem, 'key-mismatch');
  assert.is(n4.error, 'key file nodes/node4/node.key does not match the certificate');
  assert.ok(n4.fingerprint, 'the certificate columns are still there');
  const root = one(report, 'clients/root/client.root.crt');
  assert.is(root.problem, 'key-missing');
  assert.is(root.error, 'could not stat key file clients/root/client.root.key: stat clients/root/client.root.key: no such file or directory');
  assert.is(root.expires, '2025-06-02T00:00:00Z', 'a missing key does not hide the certificate');
  const backup = one(report, 'clients/backup/client.backup.crt');
  assert.is(backup.problem, 'corrupt');
  assert.is(backup.error, 'no certificates found in client.backup.crt');
  assert.is(backup.expires, null);
  assert.is(backup.notes, 'user: <unknown>');
  const junk = one(report, 'notes.txt');
  assert.is(junk.problem, 'junk');
  assert.ok(junk.orphan);
  assert.is(junk.status, 'error');
});

spec('pending: what apply would do, per row, from the plan', () => {
  assert.is(one(report, 'nodes/node1/node.crt').pending, 'reissue: expiring');
  assert.is(one(report, 'nodes/node2/node.crt').pending, '');
  assert.is(one(report, 'nodes/node4/node.crt').pending, 'reissue: key-mismatch, not-signed-by-ca, expired');
  assert.is(one(report, 'clients/maxroach/client.maxroach.crt').pending, 'reissue: not-signed-by-ca');
  for (const r of byFile(report, 'nodes/old/ca.crt')) assert.is(r.pending, 'orphan: not in the spec (apply --prune removes it)');
  assert.is(report.plan?.pendingChanges, 6);
  assert.is(report.plan?.changes.filter((c) => c.action === 'orphan').length, 2);
  assert.equal(report.plan?.errors, []);
});

spec('issuer fingerprints: the CA in the tree that signed each certificate', () => {
  const [ca1, ca2] = byFile(report, 'ca.crt') as [ReportRow, ReportRow];
  assert.is(ca1.issuerFingerprint, ca1.fingerprint, 'a root CA is its own issuer');
  assert.is(ca2.issuerFingerprint, ca2.fingerprint);
  assert.is.not(ca1.fingerprint, ca2.fingerprint);
  for (const f of ['nodes/node1/node.crt', 'nodes/node2/node.crt', 'clients/root/client.root.crt']) assert.is(one(report, f).issuerFingerprint, ca1.fingerprint, f);
  for (const f of ['nodes/node3/node.crt', 'nodes/node4/node.crt', 'clients/maxroach/client.maxroach.crt']) assert.is(one(report, f).issuerFingerprint, ca2.fingerprint, f);
});

spec('serial, fingerprint and dates agree with openssl', async () => {
  const file = path.join(golden.certsDir, 'nodes', 'node2', 'node.crt');
  const out = await openssl(['x509', '-in', file, '-noout', '-serial', '-fingerprint', '-sha256', '-startdate', '-enddate']);
  const row = one(report, 'nodes/node2/node.crt');
  assert.match(out, `serial=${row.serial}\n`);
  assert.match(out.toUpperCase(), `FINGERPRINT=${row.fingerprint}\n`);
  assert.is(new Date(/notBefore=(.*)/.exec(out)?.[1] ?? '').toISOString(), new Date(row.notBefore ?? '').toISOString());
  assert.is(new Date(/notAfter=(.*)/.exec(out)?.[1] ?? '').toISOString(), new Date(row.expires ?? '').toISOString());
  const bundle = await openssl(['crl2pkcs7', '-nocrl', '-certfile', path.join(golden.certsDir, 'ca.crt')]);
  const fps = ((await openssl(['pkcs7', '-print_certs', '-noout'], bundle)).match(/^subject=/gm) ?? []).length;
  assert.is(fps, byFile(report, 'ca.crt').length, 'one row per certificate openssl finds in the bundle');
});

spec('forecast: next renewal of every artifact, soonest first, and the CA rotation deadline', () => {
  const f = report.forecast.renewals;
  assert.equal(
    f.map((r) => `${r.renewsAt.slice(0, 10)} ${r.artifact} ${r.why}`),
    [
      '2025-05-20 node/node1 reissue: expiring',
      '2025-05-20 node/node3 reissue: not-signed-by-ca, expired',
      '2025-05-20 node/node4 reissue: key-mismatch, not-signed-by-ca, expired',
      '2025-05-20 client/root reissue: key-missing, expiring',
      '2025-05-20 client/maxroach reissue: not-signed-by-ca',
      '2025-05-20 client/backup reissue: unreadable',
      '2026-02-03 ca renewal window',
      '2026-04-04 node/node2 renewal window',
    ],
  );
  assert.is(f.find((r) => r.artifact === 'client/maxroach')?.windowOpens, '2025-06-19T00:00:00Z', 'the window itself is still reported');
  const [rot] = report.forecast.caRotations;
  assert.ok(rot);
  // node2 renews at 2026-04-04 for 17568h (to 2028-04-05), past the CA's 2027-06-04: the first
  // renewal CA #2 cannot sign. node1 (renewed now, every 336 days) would bind only at 2027-03-23.
  assert.is(rot.expires, '2027-06-04T00:00:00Z');
  assert.is(rot.rotateBy, '2026-04-04T00:00:00Z');
  assert.equal(rot.binding, { artifact: 'node/node2', file: 'nodes/node2/node.crt', renewsAt: '2026-04-04T00:00:00Z', lifetime: '17568h0m0s', needsCaUntil: '2028-04-05T00:00:00Z' });
  assert.is(rot.lead, '1440h0m0s');
  assert.is(rot.windowOpens, '2026-02-03T00:00:00Z');
  assert.is(rot.leaves, 7);
  assert.is(rot.overdue, false);
  assert.match(rot.explanation, /would need a CA valid until 2028-04-05T00:00:00Z/);
  const ca = byFile(report, 'ca.crt')[0];
  assert.is(ca?.renewalStarts, rot.windowOpens);
  assert.is(ca?.status, 'ok');
});

spec('never writes: the tree, modes and mtimes are unchanged, a missing tree is not created', async () => {
  const before = snapshot(golden.base);
  await buildReport({ spec: golden.spec }, { now: NOW });
  await buildReport({ certsDir: golden.certsDir }, { now: NOW, recursive: true });
  assert.is(snapshot(golden.base), before);
  const f = await writeSpec(tmpdir('certgen-report-'), SPEC_YAML);
  const r = await buildReport({ spec: f.spec }, { now: T0 });
  assert.not.ok(readdirSync(f.base).includes('certs'), 'the certs dir was not created');
  assert.is(r.rows.length, 8, 'the CA and each of the 7 leaves, all missing');
  assert.ok(r.rows.every((x) => x.problem === 'missing' && x.status === 'error'));
  assert.is(r.rows[0]?.error, 'the certs dir does not exist yet, so neither does ca.crt');
  assert.is(r.rows[1]?.error, 'nodes/node1/ does not exist yet');
  assert.is(r.forecast.renewals.length, 8);
  assert.ok(r.forecast.renewals.every((x) => x.renewsAt === '2024-01-01T00:00:00Z'));
});

spec.run();

// ---------------------------------------------------------------------------------------------
const healthy = suite('a healthy tree over time');

healthy('right after apply: every row ok, nothing pending, the bundle copies folded away', async () => {
  const f = await healthyCluster();
  const r = await buildReport({ spec: f.spec }, { now: new Date(T0.getTime() + 10 * DAY) });
  assert.is(r.rows.length, 8);
  assert.ok(r.rows.every((x) => x.status === 'ok' && x.error === '' && x.pending === ''), JSON.stringify(r.rows.filter((x) => x.status !== 'ok')));
  assert.is(r.plan?.pendingChanges, 0);
  assert.ok(r.rows.every((x) => !x.file.endsWith('/ca.crt')), 'identical copies of ca.crt are not repeated');
  // CA: 26352h from 2024-01-01 → 2027-01-03 (notAfter = issue time + lifetime). Leaves of 8784h
  // renew every 8064h (336 days); node2's 17568h leaf renews on 2025-11-03, then 2027-09-05.
  const [rot] = r.forecast.caRotations;
  assert.is(rot?.expires, '2027-01-03T00:00:00Z');
  assert.is(rot?.binding?.artifact, 'node/node2');
  assert.is(rot?.rotateBy, '2025-11-03T00:00:00Z');
});

healthy('renew-soon starts exactly when the window opens; expired exactly at notAfter', async () => {
  const f = await healthyCluster();
  const expires = Date.parse('2025-01-01T00:00:00Z'); // node1: T0 + 8784h
  const rowAt = async (ms: number): Promise<ReportRow> => one(await buildReport({ spec: f.spec }, { now: new Date(ms) }), 'nodes/node1/node.crt');
  assert.is((await rowAt(expires - 720 * 3600e3 - 1000)).status, 'ok');
  assert.is((await rowAt(expires - 720 * 3600e3)).status, 'renew-soon');
  assert.is((await rowAt(expires - 1000)).status, 'renew-soon');
  const gone = await rowAt(expires);
  assert.is(gone.status, 'expired');
  assert.is(gone.daysLeft, 0);
});

healthy('a certificate from the future is an error (peers reject it)', async () => {
  const f = await healthyCluster();
  const r = await buildReport({ spec: f.spec }, { now: new Date(T0.getTime() - 3 * DAY) });
  const n1 = one(r, 'nodes/node1/node.crt');
  assert.is(n1.problem, 'not-yet-valid');
  assert.is(n1.status, 'error');
  assert.match(n1.error, 'is not valid before 2023-12-31T00:00:00Z');
});

healthy('an old-CA leaf that no CA in the bundle signed is flagged', async () => {
  const f = await healthyCluster();
  const other = await healthyCluster();
  writeFileSync(path.join(f.certsDir, 'nodes', 'node1', 'node.crt'), readFileSync(path.join(other.certsDir, 'nodes', 'node1', 'node.crt')));
  writeFileSync(path.join(f.certsDir, 'nodes', 'node1', 'node.key'), readFileSync(path.join(other.certsDir, 'nodes', 'node1', 'node.key')), { mode: 0o600 });
  const r = await buildReport({ spec: f.spec }, { now: T1 });
  const n1 = one(r, 'nodes/node1/node.crt');
  assert.is(n1.problem, 'not-signed');
  assert.is(n1.error, 'nodes/node1/node.crt is not signed by any CA certificate in ca.crt');
  assert.is(n1.issuerFingerprint, '');
  assert.is(n1.pending, 'reissue: not-signed-by-ca');
});

healthy.run();

// ---------------------------------------------------------------------------------------------
const bare = suite('report for a certs dir');

async function certsDirFixture(): Promise<{ base: string; dir: string }> {
  const base = tmpdir('certgen-bare-');
  mkdirSync(path.join(base, 'safe'));
  const dir = path.join(base, 'certs');
  const o = { certsDir: dir, caKey: path.join(base, 'safe', 'ca.key'), now: () => T0, keySize: 1024 };
  await createCA(o);
  await createNode(o, ['localhost', '127.0.0.1', 'node1.example.com']);
  await createClient(o, 'root');
  await createClient({ ...o, now: () => T1, lifetime: 2000n * 3_600_000_000_000n }, 'maxroach');
  writeFileSync(path.join(dir, 'client.junk.crt'), 'this is not a certificate\n');
  writeFileSync(path.join(dir, 'client.nokey.crt'), readFileSync(path.join(dir, 'client.root.crt')));
  writeFileSync(path.join(dir, 'client.loose.crt'), readFileSync(path.join(dir, 'client.root.crt')));
  writeFileSync(path.join(dir, 'client.loose.key'), readFileSync(path.join(dir, 'client.root.key')), { mode: 0o644 });
  chmodSync(path.join(dir, 'client.loose.key'), 0o644);
  writeFileSync(path.join(dir, 'foo.crt'), 'cockroach ignores this name');
  writeFileSync(path.join(dir, 'README.txt'), 'notes');
  writeFileSync(path.join(dir, 'ca.key'), readFileSync(o.caKey));
  // A sub-folder that is a certs dir of its own, and a hidden one (Kubernetes' ..data style).
  const sub = path.join(dir, 'node2');
  mkdirSync(sub);
  writeFileSync(path.join(sub, 'ca.crt'), readFileSync(path.join(dir, 'ca.crt')));
  await createNode({ ...o, certsDir: sub }, ['node2.example.com']);
  // Kubernetes' secret volume layout: ..<timestamp>/ holds the files, ..data links to it.
  mkdirSync(path.join(dir, '..2024_06_01'));
  writeFileSync(path.join(dir, '..2024_06_01', 'ca.crt'), readFileSync(path.join(dir, 'ca.crt')));
  symlinkSync('..2024_06_01', path.join(dir, '..data'));
  symlinkSync('../..data/ca.crt', path.join(sub, 'ca-link.crt'));
  symlinkSync('..', path.join(sub, 'up'));
  mkdirSync(path.join(dir, '.git'));
  writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return { base, dir };
}

bare('cert list for the folder, richer: same rows, usages, key files, notes and dates', async () => {
  const { dir } = await certsDirFixture();
  const listing = await listCerts({ certsDir: dir, skipKeyPermissionCheck: false });
  const r = await buildReport({ certsDir: dir }, { now: T1 });
  for (const l of listing.rows) {
    const row = one(r, l.certificateFile);
    assert.is(row.usage, l.usage, l.certificateFile);
    assert.is(row.keyFile, l.keyFile, l.certificateFile);
    assert.is(row.notes, l.notes, l.certificateFile);
    if (!l.error) assert.is(row.expires?.slice(0, 10).replace(/-/g, '/'), l.expires, l.certificateFile);
    assert.is(row.error, l.error.split(`${dir}/`).join(''), l.certificateFile);
  }
  assert.equal(r.source, { kind: 'certs-dir', certsDir: dir, recursive: false });
  assert.is(r.plan, null);
  assert.equal(
    r.rows.map((x) => `${x.owner}|${x.file}|${x.status}|${x.problem ?? ''}`),
    [
      'CA|ca.crt|ok|',
      'node|node.crt|ok|',
      'junk|client.junk.crt|error|corrupt',
      'loose|client.loose.crt|error|key-permissions',
      'maxroach|client.maxroach.crt|ok|',
      'nokey|client.nokey.crt|error|key-missing',
      'root|client.root.crt|ok|',
      '(none)|foo.crt|error|bad-filename',
      '(none)|README.txt|error|junk',
      '(none)|ca.key|error|junk',
    ],
  );
  assert.match(one(r, 'foo.crt').error, 'bad filename foo.crt: unknown prefix "foo" (cockroach ignores this file)');
  assert.match(one(r, 'ca.key').error, 'looks like a CA private key');
  assert.match(one(r, 'client.loose.crt').error, /^key file client\.loose\.key has permissions -rw-r--r--, exceeds -rwx/);
  assert.equal(r.warnings, ['sub-folder .git/ not reported (use --recursive)', 'sub-folder node2/ not reported (use --recursive)']);
});

bare('leaves renew renewBefore (default 720h) before expiry; the CA gets a rotation deadline from its leaves', async () => {
  const { dir } = await certsDirFixture();
  const r = await buildReport({ certsDir: dir }, { now: T1 });
  const mr = one(r, 'client.maxroach.crt');
  assert.is(mr.expires, '2024-08-23T08:00:00Z'); // T1 + 2000h
  assert.is(mr.renewBefore, '720h0m0s');
  assert.is(mr.renewalStarts, '2024-07-24T08:00:00Z');
  const r2 = await buildReport({ certsDir: dir }, { now: T1, renewBefore: 2000n * 3_600_000_000_000n });
  assert.is(one(r2, 'client.maxroach.crt').status, 'renew-soon');
  const [rot] = r.forecast.caRotations;
  assert.is(rot?.file, 'ca.crt');
  assert.is(rot?.leaves, 5, 'node, maxroach, root, nokey and loose: every leaf the CA signed');
  // CA: T0 + 87840h = 2034-01-08. The broken leaves (loose, nokey) must be replaced now (T1) with
  // 43920h certificates, renewed every 43200h: 2029-05-06 + 43920h passes the CA. The healthy
  // 43920h leaves would bind on 2033-11-09, maxroach (2000h, every 1280h) on 2033-11-27T16:00.
  assert.is(rot?.expires, '2034-01-08T00:00:00Z');
  assert.is(rot?.rotateBy, '2029-05-06T00:00:00Z');
  assert.is(rot?.binding?.file, 'client.loose.crt');
  unlinkSync(path.join(dir, 'client.loose.crt'));
  unlinkSync(path.join(dir, 'client.nokey.crt'));
  const healthy = await buildReport({ certsDir: dir }, { now: T1 });
  assert.is(healthy.forecast.caRotations[0]?.rotateBy, '2033-11-09T00:00:00Z');
  assert.is(healthy.forecast.caRotations[0]?.binding?.file, 'node.crt');
  assert.is(r.forecast.renewals.filter((x) => x.file === 'ca.crt').length, 1);
});

bare('--recursive: every sub-folder as its own certs dir; hidden folders, Kubernetes plumbing and symlinked folders skipped', async () => {
  const { dir } = await certsDirFixture();
  const r = await buildReport({ certsDir: dir }, { now: T1, recursive: true });
  assert.equal(
    r.rows.filter((x) => x.file.startsWith('node2/')).map((x) => `${x.owner}|${x.file}|${x.status}`),
    ['CA|node2/ca.crt|ok', 'node2|node2/node.crt|ok', 'node2|node2/ca-link.crt|error'],
  );
  assert.match(one(r, 'node2/ca-link.crt').error, 'bad filename node2/ca-link.crt');
  assert.ok(!r.rows.some((x) => x.file.startsWith('..') || x.file.startsWith('.git') || x.file.startsWith('node2/up')), r.rows.map((x) => x.file).join(' '));
  assert.equal(r.warnings, ['hidden folder .git/ skipped']);
  assert.is(one(r, 'node2/node.crt').issuerFingerprint, one(r, 'ca.crt').fingerprint);
  assert.is(r.forecast.caRotations.length, 1, 'the same CA in two folders is one rotation');
});

bare('a missing certs dir, or a file instead of one, is one error row, not a crash', async () => {
  const base = tmpdir();
  const missing = await buildReport({ certsDir: path.join(base, 'nope') }, { now: T0 });
  assert.equal(missing.rows.map((x) => [x.file, x.problem, x.error]), [['.', 'missing', `cannot read certs dir ${path.join(base, 'nope')}: no such file or directory`]]);
  writeFileSync(path.join(base, 'file'), 'x');
  const notDir = await buildReport({ certsDir: path.join(base, 'file') }, { now: T0 });
  assert.is(notDir.rows[0]?.error, `${path.join(base, 'file')} is not a folder`);
});

bare.run();

// ---------------------------------------------------------------------------------------------
const unreadable = suite('a folder without permission to read');

unreadable('spec mode: the folder is one error row; every other row is still there', async () => {
  const f = await healthyCluster();
  chmodSync(path.join(f.certsDir, 'nodes', 'node2'), 0o000);
  try {
    const out = await runUnprivileged(
      f.base,
      `const { loadSpec } = await import(ROOT + '/src/cluster-spec/load-spec.ts');
       const { buildReport } = await import(ROOT + '/src/report/report.ts');
       const r = await buildReport({ spec: await loadSpec(${JSON.stringify(f.specFile)}) }, { now: new Date('2024-02-01T00:00:00Z') });
       process.stdout.write(JSON.stringify(r));`,
    );
    const r = JSON.parse(out) as Report;
    assert.equal(
      r.rows.map((x) => `${x.owner}|${x.file}|${x.status}|${x.problem ?? ''}`),
      ['CA|ca.crt|ok|', 'node1|nodes/node1/node.crt|ok|', 'node2|nodes/node2/|error|unreadable', 'node3|nodes/node3/node.crt|ok|', 'node4|nodes/node4/node.crt|ok|', 'root|clients/root/client.root.crt|ok|', 'maxroach|clients/maxroach/client.maxroach.crt|ok|', 'backup|clients/backup/client.backup.crt|ok|'],
    );
    assert.is(one(r, 'nodes/node2/').error, 'cannot read folder nodes/node2: permission denied');
  } finally {
    chmodSync(path.join(f.certsDir, 'nodes', 'node2'), 0o700);
  }
});

unreadable('certs-dir mode with --recursive: same', async () => {
  const f = await healthyCluster();
  chmodSync(path.join(f.certsDir, 'clients', 'root'), 0o000);
  try {
    const out = await runUnprivileged(
      f.base,
      `const { buildReport } = await import(ROOT + '/src/report/report.ts');
       const r = await buildReport({ certsDir: ${JSON.stringify(f.certsDir)} }, { now: new Date('2024-02-01T00:00:00Z'), recursive: true });
       process.stdout.write(JSON.stringify(r));`,
    );
    const r = JSON.parse(out) as Report;
    const bad = one(r, 'clients/root/');
    assert.is(bad.error, 'cannot read folder clients/root: permission denied');
    assert.is(r.rows.filter((x) => x.usage === 'Node').length, 4);
    assert.is(r.rows.filter((x) => x.usage === 'Client').length, 2);
    assert.is(r.rows.filter((x) => x.usage === 'CA').length, 7, 'ca.crt at the top and in each readable folder');
  } finally {
    chmodSync(path.join(f.certsDir, 'clients', 'root'), 0o700);
  }
});

unreadable.run();

// ---------------------------------------------------------------------------------------------
const rotation = suite('rotationDeadline');

const H = 3600e3;
rotation('the first renewal whose leaf would outlive the CA', () => {
  // CA ends at 1000h. Leaf: first renewal at 100h, lifetime 300h, renewBefore 50h → renewals at
  // 100, 350, 600 (ends 900 ≤ 1000), 850 (ends 1150 > 1000): the deadline is 850h.
  const leaf = { artifact: 'node/a', file: 'a', firstRenewalMs: 100 * H, lifetimeMs: 300 * H, renewBeforeMs: 50 * H };
  const d = rotationDeadline(1000 * H, [leaf]);
  assert.is(d.rotateByMs, 850 * H);
  assert.is(d.binding, leaf);
  assert.is(d.bindingNeedsMs, 1150 * H);
  // Exactly fitting is fine (checkLifetimeAgainstCA allows notAfter == CA notAfter): 600+400.
  assert.is(rotationDeadline(1000 * H, [{ ...leaf, lifetimeMs: 400 * H, renewBeforeMs: 150 * H }]).rotateByMs, 1100 * H - 250 * H);
});

rotation('the earliest over all leaves wins; no leaves means the CA expiry', () => {
  const a = { artifact: 'a', file: 'a', firstRenewalMs: 0, lifetimeMs: 300 * H, renewBeforeMs: 50 * H };
  const b = { artifact: 'b', file: 'b', firstRenewalMs: 500 * H, lifetimeMs: 600 * H, renewBeforeMs: 100 * H };
  const d = rotationDeadline(1000 * H, [a, b]);
  assert.is(d.rotateByMs, 500 * H, 'b cannot be renewed even once by this CA');
  assert.is(d.binding?.artifact, 'b');
  assert.equal(rotationDeadline(1000 * H, []), { rotateByMs: 1000 * H, binding: null, bindingNeedsMs: 1000 * H });
});

rotation('a leaf whose renewBefore is not shorter than its lifetime binds at its first renewal', () => {
  const d = rotationDeadline(1000 * H, [{ artifact: 'x', file: 'x', firstRenewalMs: 10 * H, lifetimeMs: 50 * H, renewBeforeMs: 60 * H }]);
  assert.is(d.rotateByMs, 10 * H);
});

rotation('an overdue rotation is reported as such', async () => {
  const f = await healthyCluster(SPEC_YAML.replace('lifetime: 26352h', 'lifetime: 17568h'));
  const r = await buildReport({ spec: f.spec }, { now: at('2025-06-01T00:00:00Z') });
  const [rot] = r.forecast.caRotations;
  assert.ok(rot?.overdue);
  assert.match(rot?.explanation ?? '', /^OVERDUE: /);
  assert.is(byFile(r, 'ca.crt')[0]?.status, 'renew-soon');
});

rotation.run();
