// plan + apply on real trees: idempotence, minimal changes, every reason code, the lock, and
// failures part-way (a full disk, an immutable folder) that must leave every file as it was.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { apply, renderApplyText } from '../src/apply.js';
import { plan } from '../src/plan/plan.js';
import { loadSpec } from '../src/cluster-spec/load-spec.js';
import { listCerts } from '../src/cert/list.js';
import { isActionable, type Change, type Plan } from '../src/plan/types.js';
import { renderPlanText } from '../src/plan/render-text.js';
import { x509 } from '../src/pki/x509.js';
import { opensslStatus, rejects, tmpdir } from './helpers/index.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const now = (): Date => NOW;

type SpecDoc = Record<string, unknown>;

function baseSpec(): SpecDoc {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keySize: 1024 },
    defaults: { keySize: 1024 },
    nodes: [
      { name: 'node1', hosts: ['node1.example.com', 'localhost', '127.0.0.1'] },
      { name: 'node2', hosts: ['node2.example.com', '10.0.0.2'] },
      { name: 'node3', hosts: ['node3.example.com', '::1'] },
    ],
    clients: [{ user: 'root' }, { user: 'maxroach', pkcs8: true }],
  };
}

async function project(doc: SpecDoc = baseSpec(), dir = tmpdir()): Promise<{ dir: string; file: string; certs: string; write: (d: SpecDoc) => Promise<void> }> {
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify(doc));
  return { dir, file, certs: path.join(dir, 'certs'), write: async (d) => writeFileSync(file, stringify(d)) };
}

async function planOf(file: string, when = NOW, prune = false): Promise<Plan> {
  return plan(await loadSpec(file), { now: () => when, prune });
}

async function applyOf(file: string, when = NOW, prune = false) {
  return apply(await loadSpec(file), { now: () => when, prune });
}

function actionable(p: Plan): Change[] {
  return p.changes.filter((c) => c.action !== 'keep');
}

/** Bytes, mode and mtime of every file and folder under `dir` (and the CA key beside it); not the journal, which each run that changes something appends to (test/journal). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (name.endsWith('.journal.jsonl')) continue;
      const p = path.join(d, name);
      const st = lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(p);
      } else if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else out[rel] = `${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

function cert(file: string): x509.X509Certificate {
  return new x509.X509Certificate(readFileSync(file, 'latin1'));
}


// ---------------------------------------------------------------------------------------------
const first = suite('first apply');

first('creates the whole tree with cockroach-compatible folders and exact modes', async () => {
  const p = await project();
  const before = await planOf(p.file);
  assert.equal(
    actionable(before).map((c) => `${c.action} ${c.artifact}`),
    ['create ca', 'create node/node1', 'create node/node2', 'create node/node3', 'create client/root', 'create client/maxroach'],
  );
  const old = process.umask(0);
  try {
    await applyOf(p.file);
  } finally {
    process.umask(old);
  }
  const snap = snapshot(p.dir);
  const mode = (rel: string): string => (snap[rel] ?? '').split(' ')[snap[rel]?.startsWith('dir') ? 1 : 0] ?? '';
  assert.is(mode('secrets/ca.key'), '600');
  assert.is(mode('secrets'), '700');
  for (const d of ['certs', 'certs/nodes', 'certs/nodes/node1', 'certs/clients', 'certs/clients/maxroach']) assert.is(mode(d), '700', d);
  for (const f of ['certs/ca.crt', 'certs/nodes/node1/ca.crt', 'certs/nodes/node1/node.crt', 'certs/clients/root/client.root.crt']) assert.is(mode(f), '644', f);
  for (const f of ['certs/nodes/node1/node.key', 'certs/clients/root/client.root.key', 'certs/clients/maxroach/client.maxroach.key.pk8']) assert.is(mode(f), '600', f);
  assert.equal(readdirSync(path.join(p.certs, 'clients', 'maxroach')).sort(), ['ca.crt', 'client.maxroach.crt', 'client.maxroach.key', 'client.maxroach.key.pk8']);
  assert.equal(readdirSync(p.certs).sort(), ['ca.crt', 'clients', 'nodes'], 'no lock or temporary files are left');

  // Every node and client folder is a complete cockroach certs dir.
  for (const d of ['nodes/node1', 'nodes/node2', 'nodes/node3', 'clients/root', 'clients/maxroach']) {
    const listing = await listCerts({ certsDir: path.join(p.certs, d) });
    assert.ok(listing.rows.length >= 2, d);
    for (const r of listing.rows) assert.is(r.error, '', `${d}/${r.certificateFile}`);
  }
  const n2 = cert(path.join(p.certs, 'nodes/node2/node.crt'));
  assert.is(n2.subject, 'O=Cockroach, CN=node');
  const v = await opensslStatus(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', path.join(p.certs, 'nodes/node2/ca.crt'), path.join(p.certs, 'nodes/node2/node.crt')]);
  assert.is(v.code, 0, v.out);
  const c = await opensslStatus(['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', path.join(p.certs, 'ca.crt'), path.join(p.certs, 'clients/root/client.root.crt')]);
  assert.is(c.code, 0, c.out);
  assert.equal(readFileSync(path.join(p.certs, 'nodes/node3/ca.crt')), readFileSync(path.join(p.certs, 'ca.crt')));
});

first('a second apply changes nothing: no bytes, modes or mtimes', async () => {
  const p = await project();
  await applyOf(p.file);
  const snap = snapshot(p.dir);
  await new Promise((r) => setTimeout(r, 20));
  const r = await applyOf(p.file);
  assert.is(r.applied.length, 0);
  assert.equal(r.written, []);
  assert.equal(snapshot(p.dir), snap);
  const again = await planOf(p.file);
  assert.equal(actionable(again), []);
  assert.is(again.changes.filter((x) => x.action === 'keep').length, 6);
});

first.run();

// ---------------------------------------------------------------------------------------------
const minimal = suite('only what changed');

async function applied(): Promise<Awaited<ReturnType<typeof project>>> {
  const p = await project();
  await applyOf(p.file);
  return p;
}

function changedFiles(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]).sort();
}

minimal('changing one node\'s hosts reissues that node\'s cert and key and nothing else', async () => {
  const p = await applied();
  const doc = baseSpec();
  (doc.nodes as { hosts: string[] }[])[1]!.hosts = ['node2.example.com', '10.0.0.7', 'db.example.com'];
  await p.write(doc);
  const pl = await planOf(p.file);
  const [change, ...rest] = actionable(pl);
  assert.equal(rest, []);
  assert.is(change?.action, 'reissue');
  assert.is(change?.artifact, 'node/node2');
  const reason = change?.reasons.find((r) => r.code === 'hosts-changed');
  assert.equal(reason?.added, ['db.example.com', '10.0.0.7']);
  assert.equal(reason?.removed, ['10.0.0.2']);
  const before = snapshot(p.dir);
  await applyOf(p.file);
  assert.equal(changedFiles(before, snapshot(p.dir)), ['certs/nodes/node2/node.crt', 'certs/nodes/node2/node.key']);
  const san = cert(path.join(p.certs, 'nodes/node2/node.crt')).getExtension(x509.SubjectAlternativeNameExtension);
  assert.equal(san?.names.items.map((n) => n.value), ['node2.example.com', 'db.example.com', '10.0.0.7']);
});

minimal('a reissue also fixes its folder\'s and its bundle copy\'s modes: one apply converges', async () => {
  const p = await applied();
  const dir = path.join(p.certs, 'nodes/node1');
  chmodSync(dir, 0o755);
  chmodSync(path.join(dir, 'ca.crt'), 0o666);
  unlinkSync(path.join(dir, 'node.key'));
  const pl = await planOf(p.file);
  const [change, ...rest] = actionable(pl);
  assert.equal(rest, []);
  assert.is(change?.action, 'reissue');
  assert.equal(change?.ops.chmod, [{ file: 'nodes/node1', mode: 0o700 }, { file: 'nodes/node1/ca.crt', mode: 0o644 }]);
  assert.equal(change?.reasons.map((r) => [r.code, r.file]), [['key-missing', 'nodes/node1/node.key'], ['mode-too-open', 'nodes/node1'], ['mode-too-open', 'nodes/node1/ca.crt']]);
  assert.ok(change?.files.includes('nodes/node1/ca.crt'), 'the bundle copy is among the files the change touches');
  const bundleBefore = readFileSync(path.join(dir, 'ca.crt'));
  await applyOf(p.file);
  assert.is(statSync(dir).mode & 0o777, 0o700);
  assert.is(statSync(path.join(dir, 'ca.crt')).mode & 0o777, 0o644);
  assert.ok(readFileSync(path.join(dir, 'ca.crt')).equals(bundleBefore), 'the copy was chmodded, not rewritten');
  assert.equal(actionable(await planOf(p.file)), [], 'nothing left for a second apply');
});

minimal('key size and lifetime changes are reasons to reissue', async () => {
  const p = await applied();
  const doc = baseSpec();
  (doc.nodes as Record<string, unknown>[])[0]!.keySize = 2048;
  (doc.clients as Record<string, unknown>[])[0]!.lifetime = '1000h';
  await p.write(doc);
  const pl = await planOf(p.file);
  assert.equal(actionable(pl).map((c) => [c.artifact, c.action, c.reasons.map((r) => r.code)]), [
    ['node/node1', 'reissue', ['key-size-changed']],
    ['client/root', 'reissue', ['lifetime-changed']],
  ]);
  assert.is(actionable(pl)[0]?.reasons[0]?.message, 'key is 1024 bits, wants 2048');
  assert.is(actionable(pl)[1]?.reasons[0]?.message, 'lifetime is 43920h0m0s, wants 1000h0m0s');
  await applyOf(p.file);
  assert.equal(actionable(await planOf(p.file)), [], 'converged');
});

minimal('fix-mode only chmods: bytes and mtime stay', async () => {
  const p = await applied();
  const key = path.join(p.certs, 'nodes/node1/node.key');
  chmodSync(key, 0o644);
  chmodSync(path.join(p.certs, 'clients/root'), 0o755);
  chmodSync(path.join(p.certs, 'nodes/node3/node.crt'), 0o600);
  const pl = await planOf(p.file);
  assert.equal(actionable(pl).map((c) => [c.artifact, c.action, c.reasons.map((r) => `${r.code} ${r.file}`)]), [
    ['node/node1', 'fix-mode', ['mode-too-open nodes/node1/node.key']],
    ['node/node3', 'fix-mode', ['mode-changed nodes/node3/node.crt']],
    ['client/root', 'fix-mode', ['mode-too-open clients/root']],
  ]);
  const before = snapshot(p.dir);
  await applyOf(p.file);
  const after = snapshot(p.dir);
  assert.equal(changedFiles(before, after), ['certs/clients/root', 'certs/nodes/node1/node.key', 'certs/nodes/node3/node.crt']);
  assert.is(after['certs/nodes/node1/node.key']?.split(' ').slice(1).join(' '), before['certs/nodes/node1/node.key']?.split(' ').slice(1).join(' '), 'same mtime and bytes');
  assert.is(statSync(key).mode & 0o777, 0o600);
});

minimal('CA bundle copies: missing and stale', async () => {
  const p = await applied();
  unlinkSync(path.join(p.certs, 'nodes/node1/ca.crt'));
  writeFileSync(path.join(p.certs, 'clients/root/ca.crt'), 'old bundle');
  const pl = await planOf(p.file);
  assert.equal(actionable(pl).map((c) => [c.artifact, c.action, c.reasons.map((r) => r.code)]), [
    ['node/node1', 'update-ca-bundle', ['missing']],
    ['client/root', 'update-ca-bundle', ['ca-bundle-stale']],
  ]);
  const before = snapshot(p.dir);
  await applyOf(p.file);
  assert.equal(changedFiles(before, snapshot(p.dir)), ['certs/clients/root/ca.crt', 'certs/nodes/node1/ca.crt']);
});

minimal('pkcs8 turned on later is derived from the existing key, without a reissue', async () => {
  const p = await applied();
  const doc = baseSpec();
  (doc.clients as Record<string, unknown>[])[0]!.pkcs8 = true;
  await p.write(doc);
  const pl = await planOf(p.file);
  assert.equal(actionable(pl).map((c) => [c.artifact, c.action, c.files]), [['client/root', 'create', ['clients/root/client.root.key.pk8']]]);
  const before = snapshot(p.dir);
  await applyOf(p.file);
  assert.equal(changedFiles(before, snapshot(p.dir)), ['certs/clients/root/client.root.key.pk8']);
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const fromPk8 = createPublicKey(createPrivateKey({ key: readFileSync(path.join(p.certs, 'clients/root/client.root.key.pk8')), format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
  const fromKey = createPublicKey(readFileSync(path.join(p.certs, 'clients/root/client.root.key'))).export({ type: 'spki', format: 'der' });
  assert.equal(fromPk8, fromKey);
});

minimal.run();

// ---------------------------------------------------------------------------------------------
const reasons = suite('reasons found in the tree');

reasons('key-missing, key-mismatch, unreadable and not-signed-by-ca', async () => {
  const p = await applied();
  unlinkSync(path.join(p.certs, 'nodes/node1/node.key'));
  writeFileSync(path.join(p.certs, 'nodes/node2/node.key'), generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(path.join(p.certs, 'clients/root/client.root.crt'), '-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n');
  writeFileSync(path.join(p.certs, 'clients/maxroach/client.maxroach.key'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', { mode: 0o600 });
  // node3's pair from another CA
  const other = await project();
  await applyOf(other.file);
  for (const f of ['node.crt', 'node.key']) writeFileSync(path.join(p.certs, 'nodes/node3', f), readFileSync(path.join(other.certs, 'nodes/node3', f)), { mode: f.endsWith('key') ? 0o600 : 0o644 });
  const pl = await planOf(p.file);
  assert.equal(actionable(pl).map((c) => [c.artifact, c.action, c.reasons.map((r) => r.code)]), [
    ['node/node1', 'reissue', ['key-missing']],
    ['node/node2', 'reissue', ['key-mismatch']],
    ['node/node3', 'reissue', ['not-signed-by-ca']],
    ['client/root', 'reissue', ['unreadable']],
    ['client/maxroach', 'reissue', ['unreadable']],
  ]);
  await applyOf(p.file);
  assert.equal(actionable(await planOf(p.file)), [], 'converged');
});

reasons('expiring inside renewBefore, and expired', async () => {
  const p = await applied();
  const notAfter = cert(path.join(p.certs, 'nodes/node1/node.crt')).notAfter.getTime();
  const soon = await planOf(p.file, new Date(notAfter - 10 * 24 * 3600 * 1000));
  const changes = actionable(soon);
  assert.is(changes.length, 5, 'every leaf was issued at the same time');
  const r = changes[0]?.reasons[0];
  assert.is(r?.code, 'expiring');
  assert.is(r?.timeLeft, '240h0m0s');
  assert.is(r?.renewBefore, '720h0m0s');
  assert.is(soon.errors.length, 0, 'the CA still has years left');
  const late = await planOf(p.file, new Date(notAfter + 1000));
  assert.equal([...new Set(actionable(late).flatMap((c) => c.reasons.map((x) => x.code)))], ['expired']);
  const fine = await planOf(p.file, new Date(notAfter - 31 * 24 * 3600 * 1000));
  assert.equal(actionable(fine), [], 'outside the window nothing happens');
});

reasons('orphans are reported, kept, and removed only with --prune', async () => {
  const p = await applied();
  mkdirSync(path.join(p.certs, 'nodes/node9'));
  writeFileSync(path.join(p.certs, 'nodes/node9/node.key'), 'x');
  writeFileSync(path.join(p.certs, 'nodes/node1/node.csr'), 'x');
  writeFileSync(path.join(p.certs, 'stray.txt'), 'x');
  const pl = await planOf(p.file);
  assert.equal(actionable(pl).map((c) => [c.artifact, c.action, c.reasons[0]?.code]), [
    ['nodes/node1/node.csr', 'orphan', 'not-in-spec'],
    ['node/node9', 'orphan', 'not-in-spec'],
    ['stray.txt', 'orphan', 'not-in-spec'],
  ]);
  const r = await applyOf(p.file);
  assert.is(r.applied.length, 0, 'without --prune orphans stay');
  assert.ok(existsSync(path.join(p.certs, 'nodes/node9/node.key')));
  const pr = await applyOf(p.file, NOW, true);
  assert.is(pr.applied.length, 3);
  assert.not.ok(existsSync(path.join(p.certs, 'nodes/node9')));
  assert.not.ok(existsSync(path.join(p.certs, 'stray.txt')));
  assert.not.ok(existsSync(path.join(p.certs, 'nodes/node1/node.csr')));
  assert.ok(existsSync(path.join(p.certs, 'nodes/node1/node.key')));
});

reasons.run();

// ---------------------------------------------------------------------------------------------
const caSuite = suite('the CA is never silently replaced');

caSuite('a missing CA key next to an existing ca.crt blocks apply and changes nothing', async () => {
  const p = await applied();
  rmSync(path.join(p.dir, 'secrets/ca.key'));
  const doc = baseSpec();
  (doc.nodes as { hosts: string[] }[])[0]!.hosts = ['other'];
  await p.write(doc);
  const pl = await planOf(p.file);
  assert.equal(pl.errors.map((e) => e.code), ['ca-key-missing']);
  assert.match(pl.errors[0]?.message ?? '', /restore the key/);
  const before = snapshot(p.dir);
  const err = await rejects(applyOf(p.file));
  assert.match(err.message, /^ca: the CA key .* is missing but ca\.crt exists/);
  assert.equal(snapshot(p.dir), before);
});

caSuite('a CA key that does not match, or is garbage, is an error', async () => {
  const p = await applied();
  const keyFile = path.join(p.dir, 'secrets/ca.key');
  writeFileSync(keyFile, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }));
  assert.equal((await planOf(p.file)).errors.map((e) => e.code), ['key-mismatch']);
  writeFileSync(keyFile, 'garbage');
  const pl = await planOf(p.file);
  assert.equal(pl.errors.map((e) => e.code), ['unreadable']);
  const before = snapshot(p.dir);
  await rejects(applyOf(p.file));
  assert.equal(snapshot(p.dir), before);
});

caSuite('an expiring or expired CA is an error that says to rotate', async () => {
  const p = await applied();
  const caNotAfter = cert(path.join(p.certs, 'ca.crt')).notAfter.getTime();
  const expiring = await planOf(p.file, new Date(caNotAfter - 5 * 24 * 3600 * 1000));
  assert.ok(expiring.errors.some((e) => e.code === 'ca-expiring' && /rotate the CA/.test(e.message)));
  const expired = await planOf(p.file, new Date(caNotAfter + 1000));
  assert.ok(expired.errors.some((e) => e.code === 'expired' && /rotate the CA/.test(e.message)));
});

caSuite('a leaf that would outlive the CA is refused, with cockroach\'s numbers', async () => {
  const p = await applied();
  const caNotAfter = cert(path.join(p.certs, 'ca.crt')).notAfter.getTime();
  // Four years before the CA expires, a fresh 5-year leaf no longer fits.
  const when = new Date(caNotAfter - 4 * 366 * 24 * 3600 * 1000);
  rmSync(path.join(p.certs, 'nodes/node1/node.crt'));
  const pl = await planOf(p.file, when);
  const e = pl.errors.find((x) => x.artifact === 'node/node1');
  assert.is(e?.code, 'ca-lifetime-too-short');
  assert.match(e?.message ?? '', /^CA lifetime is 35136\.000000h, shorter than the requested 43920\.000000h\. Renew CA certificate, or set lifetime to at most 35136h for node\/node1\.$/);
});

caSuite('a CA key without ca.crt makes a CA certificate from that key', async () => {
  const p = await applied();
  const keyBefore = readFileSync(path.join(p.dir, 'secrets/ca.key'));
  const oldCA = cert(path.join(p.certs, 'ca.crt'));
  rmSync(path.join(p.certs, 'ca.crt'));
  const pl = await planOf(p.file);
  assert.is(actionable(pl)[0]?.artifact, 'ca');
  assert.match(actionable(pl)[0]?.reasons[0]?.message ?? '', /existing key/);
  await applyOf(p.file);
  assert.equal(readFileSync(path.join(p.dir, 'secrets/ca.key')), keyBefore, 'the CA key is untouched');
  const newCA = cert(path.join(p.certs, 'ca.crt'));
  assert.equal(Buffer.from(newCA.publicKey.rawData), Buffer.from(oldCA.publicKey.rawData));
  assert.equal(actionable(await planOf(p.file)), [], 'converged');
});

caSuite.run();

// ---------------------------------------------------------------------------------------------
const safety = suite('safety');

safety('one apply at a time: a second concurrent apply fails at once', async () => {
  const p = await project();
  const spec = await loadSpec(p.file);
  const results = await Promise.allSettled([apply(spec, { now }), apply(spec, { now })]);
  const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  assert.is(failed.length, 1);
  assert.match(String((failed[0]?.reason as Error).message), /^another certgen apply or distribute is running on .*certs \(pid \d+ on /);
  assert.equal(actionable(await planOf(p.file)), [], 'the winner finished the job');
  // A lock left by a process that is gone is taken over.
  writeFileSync(path.join(p.certs, '.certgen.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), since: 'then' }));
  await applyOf(p.file);
  assert.not.ok(existsSync(path.join(p.certs, '.certgen.lock')));
});

safety('a full disk part-way leaves every file intact, and a rerun converges', async () => {
  const mnt = tmpdir('certgen-tmpfs-');
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs', mnt]);
  try {
    const p = await project(baseSpec(), mnt);
    await applyOf(p.file);
    const doc = baseSpec();
    for (const n of doc.nodes as { hosts: string[] }[]) n.hosts = [...n.hosts, 'extra.example.com'];
    await p.write(doc);
    // Leave almost no room: the first temporary file fits, the rest do not.
    const free = Number((await execa('df', ['--output=avail', '-B1', mnt])).stdout.split('\n')[1]);
    writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(Math.max(0, free - 6 * 1024)));
    const before = snapshot(path.join(mnt, 'certs'));
    const err = await rejects(applyOf(p.file));
    assert.match(err.message, /^apply failed, nothing was changed: .*no space left on device/);
    assert.equal(snapshot(path.join(mnt, 'certs')), before, 'no file changed and no temporary file left');
    unlinkSync(path.join(mnt, 'filler'));
    const r = await applyOf(p.file);
    assert.is(r.applied.length, 3);
    assert.equal(actionable(await planOf(p.file)), []);
  } finally {
    await execa('umount', [mnt]);
  }
});

safety('a folder that cannot be written (immutable) fails cleanly, then converges', async () => {
  const p = await applied();
  const doc = baseSpec();
  for (const n of doc.nodes as { hosts: string[] }[]) n.hosts = [...n.hosts, 'extra.example.com'];
  await p.write(doc);
  const locked = path.join(p.certs, 'nodes/node3');
  await execa('chattr', ['+i', locked]);
  const before = snapshot(p.dir);
  try {
    const err = await rejects(applyOf(p.file));
    assert.match(err.message, /^apply failed, nothing was changed: open .*nodes\/node3\/node\.crt: operation not permitted$/);
    assert.equal(snapshot(p.dir), before);
  } finally {
    await execa('chattr', ['-i', locked]);
  }
  await applyOf(p.file);
  assert.equal(actionable(await planOf(p.file)), []);
});

safety('a key that cannot be replaced (immutable file) fails before anything is swapped', async () => {
  const p = await applied();
  const doc = baseSpec();
  for (const n of doc.nodes as { hosts: string[] }[]) n.hosts = [...n.hosts, 'extra.example.com'];
  await p.write(doc);
  const frozen = path.join(p.certs, 'nodes/node2/node.key');
  await execa('chattr', ['+i', frozen]);
  const before = snapshot(p.dir);
  try {
    const err = await rejects(applyOf(p.file));
    assert.match(err.message, /^apply failed, nothing was changed: link .*nodes\/node2\/node\.key: operation not permitted$/);
    assert.equal(snapshot(p.dir), before, 'node1 was not reissued either');
  } finally {
    await execa('chattr', ['-i', frozen]);
  }
  await applyOf(p.file);
  assert.equal(actionable(await planOf(p.file)), []);
});

safety('a CA key that symlinks put inside the certs dir blocks apply and is never pruned', async () => {
  const p = await applied();
  // secrets/ becomes a symlink to a folder inside certs/: the spec's path looks outside.
  const inside = path.join(p.certs, 'vault');
  mkdirSync(inside);
  writeFileSync(path.join(inside, 'ca.key'), readFileSync(path.join(p.dir, 'secrets/ca.key')), { mode: 0o600 });
  rmSync(path.join(p.dir, 'secrets'), { recursive: true });
  symlinkSync(inside, path.join(p.dir, 'secrets'));
  const pl = await planOf(p.file, NOW, true);
  assert.equal(pl.errors.map((e) => e.code), ['ca-key-in-certs-dir']);
  assert.not.ok(pl.changes.some((c) => c.files.includes('vault') || c.files.includes('vault/ca.key')), 'not an orphan');
  await rejects(applyOf(p.file, NOW, true));
  assert.ok(existsSync(path.join(inside, 'ca.key')), 'the CA key is still there');
});

safety('a certs dir and a CA key reached through symlinks are fine', async () => {
  const p = await applied();
  const moved = tmpdir();
  for (const d of ['certs', 'secrets']) {
    renameSync(path.join(p.dir, d), path.join(moved, d));
    symlinkSync(path.join(moved, d), path.join(p.dir, d));
  }
  assert.equal(actionable(await planOf(p.file)), []);
  const keyLink = tmpdir();
  symlinkSync(path.join(moved, 'secrets/ca.key'), path.join(keyLink, 'ca.key'));
  const doc = { ...baseSpec(), caKey: path.join(keyLink, 'ca.key') };
  await p.write(doc);
  const pl = await planOf(p.file);
  assert.equal(pl.errors, []);
  assert.equal(actionable(pl), []);
});

// Inside the certs dir certgen reads and writes real entries only: a symlink where it keeps a file
// or folder is an error naming the link and its target, never followed and never replaced.
const LINKED: Array<[what: string, rel: string, artifact: string]> = [
  ['the nodes folder', 'nodes', 'nodes'],
  ['the clients folder', 'clients', 'clients'],
  ['a node folder', 'nodes/node1', 'node/node1'],
  ['a node key', 'nodes/node1/node.key', 'node/node1'],
  ['a client cert', 'clients/root/client.root.crt', 'client/root'],
  ['a folder\'s ca.crt copy', 'nodes/node2/ca.crt', 'node/node2'],
  ['the top ca.crt', 'ca.crt', 'ca'],
];
for (const [what, rel, artifact] of LINKED) {
  safety(`symlinks: ${what} linked elsewhere blocks apply; nothing is written through or over the link`, async () => {
    const p = await applied();
    const outside = tmpdir();
    const target = path.join(outside, 'moved');
    renameSync(path.join(p.certs, rel), target);
    symlinkSync(target, path.join(p.certs, rel));
    // Every node and client wants a reissue, so apply would write under each link if it followed it.
    const doc = baseSpec();
    doc.nodes = (doc.nodes as Array<{ hosts: string[] }>).map((n) => ({ ...n, hosts: [...n.hosts, 'extra.example.com'] }));
    doc.defaults = { keySize: 2048 };
    await p.write(doc);
    const outsideBefore = snapshot(outside);
    const treeBefore = snapshot(p.dir);
    const pl = await planOf(p.file, NOW, true);
    assert.equal(pl.errors.map((e) => [e.artifact, e.code]), [[artifact, 'symlink']]);
    assert.is(pl.errors[0]?.message, `${rel} is a symlink to ${target}: certgen never reads or writes through a symlink inside the certs dir; put the real ${statSync(target).isDirectory() ? 'folder' : 'file'} there, or remove the link to have it made`);
    assert.not.ok(pl.changes.some((c) => c.action === 'orphan'), 'a link where certgen keeps something is not an orphan to prune');
    const err = await rejects(applyOf(p.file, NOW, true));
    assert.match(err.message, new RegExp(`${rel.replace(/\./g, '\\.')} is a symlink to`));
    assert.equal(snapshot(outside), outsideBefore, 'nothing outside the tree changed');
    assert.equal(snapshot(p.dir), treeBefore, 'nothing in the tree changed');
    assert.ok(lstatSync(path.join(p.certs, rel)).isSymbolicLink(), 'the link is still a link');
    // Putting the real entry back is all it takes.
    unlinkSync(path.join(p.certs, rel));
    renameSync(target, path.join(p.certs, rel));
    await applyOf(p.file);
    assert.equal(actionable(await planOf(p.file)), []);
  });
}

safety('symlinks: a CA key path that is a dangling link is an error, not "missing": no key is created through it', async () => {
  for (const fresh of [true, false]) {
    const p = fresh ? await project() : await applied();
    const elsewhere = path.join(tmpdir(), 'gone', 'ca.key');
    const keyPath = path.join(p.dir, 'secrets/ca.key');
    rmSync(path.join(p.dir, 'secrets'), { recursive: true, force: true });
    mkdirSync(path.join(p.dir, 'secrets'));
    symlinkSync(elsewhere, keyPath);
    const before = snapshot(p.dir);
    const pl = await planOf(p.file);
    assert.equal(pl.errors.map((e) => [e.artifact, e.code, e.message]), [['ca', 'symlink', `the CA key ${keyPath} is a symlink to ${elsewhere}, which does not exist: restore the key it points to, or remove the link to have a new CA made`]]);
    await rejects(applyOf(p.file));
    assert.equal(snapshot(p.dir), before, fresh ? 'no tree was started' : 'the tree is untouched');
    assert.not.ok(existsSync(path.dirname(elsewhere)));
  }
});

safety('symlinks: an orphaned link is pruned as a link; what it points to is untouched', async () => {
  const p = await applied();
  const outside = tmpdir();
  mkdirSync(path.join(outside, 'keep'));
  writeFileSync(path.join(outside, 'keep/precious.key'), 'precious', { mode: 0o600 });
  symlinkSync(path.join(outside, 'keep'), path.join(p.certs, 'nodes/old-node'));
  symlinkSync(path.join(outside, 'keep/precious.key'), path.join(p.certs, 'nodes/node1/stray.key'));
  const before = snapshot(outside);
  const pl = await planOf(p.file, NOW, true);
  assert.equal(pl.errors, []);
  assert.equal(actionable(pl).map((c) => [c.action, c.files]), [['orphan', ['nodes/node1/stray.key']], ['orphan', ['nodes/old-node']]]);
  await applyOf(p.file, NOW, true);
  assert.not.ok(existsSync(path.join(p.certs, 'nodes/old-node')) || existsSync(path.join(p.certs, 'nodes/node1/stray.key')));
  assert.equal(snapshot(outside), before);
});

safety('what a killed apply staged is listed as interrupted-write, is not a change, and the next apply removes it', async () => {
  const p = await applied();
  const leftovers = ['nodes/node1/.node.key.0123456789ab.tmp', 'clients/root/.client.root.crt.abcdef012345.tmp.old', '.ca.crt.00000000ffff.tmp'];
  for (const rel of leftovers) writeFileSync(path.join(p.certs, rel), 'staged', { mode: 0o600 });
  // Look-alikes that are not staging names are ordinary orphans.
  writeFileSync(path.join(p.certs, 'nodes/node1/.node.key.tmp'), 'mine');
  for (const prune of [false, true]) {
    const pl = await planOf(p.file, NOW, prune);
    const byFile = new Map(actionable(pl).map((c) => [c.files[0], c.reasons[0]?.code]));
    for (const rel of leftovers) assert.is(byFile.get(rel), 'interrupted-write', rel);
    assert.is(byFile.get('nodes/node1/.node.key.tmp'), 'not-in-spec');
    assert.match(renderPlanText(pl), /nodes\/node1\/\.node\.key\.0123456789ab\.tmp was left by an interrupted apply \(a staged copy of node\.key\); the next apply removes it\n/);
    assert.match(renderPlanText(pl), /, 3 left by an interrupted apply \(the next apply removes them\)\./);
    assert.is(pl.changes.filter((c) => isActionable(c, prune)).length, prune ? 1 : 0, 'only the look-alike is a change, and only when pruning');
  }
  const r = await applyOf(p.file);
  assert.equal(r.cleanedUp.map((f) => path.relative(p.certs, f)).sort(), [...leftovers].sort());
  assert.equal(r.applied, []);
  assert.match(renderApplyText(r), /^Removed 3 files left by an interrupted apply\.\nNothing to do: /);
  for (const rel of leftovers) assert.not.ok(existsSync(path.join(p.certs, rel)), rel);
  assert.ok(existsSync(path.join(p.certs, 'nodes/node1/.node.key.tmp')), 'an operator\'s own file is kept without --prune');
});

safety('a file where the nodes folder belongs is one error for the folder', async () => {
  const p = await project();
  mkdirSync(p.certs);
  writeFileSync(path.join(p.certs, 'nodes'), 'not a folder');
  const pl = await planOf(p.file);
  assert.equal(pl.errors.map((e) => [e.artifact, e.code, e.message]), [['nodes', 'unreadable', 'nodes is a file, not a folder: move it away']]);
  await rejects(applyOf(p.file));
  assert.equal(readdirSync(p.certs), ['nodes']);
});

safety('a file where a folder belongs is an error, not a crash', async () => {
  const p = await project();
  mkdirSync(path.join(p.certs, 'nodes'), { recursive: true });
  writeFileSync(path.join(p.certs, 'nodes/node2'), 'not a folder');
  const pl = await planOf(p.file);
  assert.equal(pl.errors.map((e) => [e.artifact, e.code]), [['node/node2', 'unreadable']]);
  await rejects(applyOf(p.file));
  assert.not.ok(existsSync(path.join(p.dir, 'secrets')), 'nothing was created');
  assert.equal(readdirSync(p.certs), ['nodes'], 'no lock or folders left behind');
});

safety.run();

// ---------------------------------------------------------------------------------------------
const keyTypes = suite('key types');

const LABEL: Record<string, string> = { rsa: 'RSA PRIVATE KEY', 'ecdsa-p256': 'EC PRIVATE KEY', 'ecdsa-p384': 'EC PRIVATE KEY', ed25519: 'PRIVATE KEY' };

keyTypes('an ECDSA CA with RSA, ECDSA and Ed25519 leaves: written as Go writes them, loaded by Go, a type change reissues with a new key of the new type', async () => {
  const { keycheck } = await import('./helpers/go.js');
  const doc: SpecDoc = {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keyType: 'ecdsa-p256' },
    defaults: { keySize: 1024 },
    nodes: [
      { name: 'node1', hosts: ['localhost', '127.0.0.1'] },
      { name: 'node2', hosts: ['node2.example.com'], keyType: 'ed25519' },
    ],
    clients: [{ user: 'root', keyType: 'ecdsa-p384', pkcs8: true }],
  };
  const p = await project(doc);
  const first = await planOf(p.file);
  assert.equal(first.changes.find((c) => c.artifact === 'ca')?.ops.newKey, { type: 'ecdsa-p256' });
  assert.equal(first.changes.find((c) => c.artifact === 'node/node1')?.ops.newKey, { type: 'rsa', bits: 1024 });
  assert.equal(first.changes.find((c) => c.artifact === 'node/node2')?.ops.newKey, { type: 'ed25519' });
  assert.equal(first.changes.find((c) => c.artifact === 'client/root')?.ops.newKey, { type: 'ecdsa-p384' });
  assert.match(first.warnings.join('\n'), /Ed25519 node keys \(node2\): no browser offers Ed25519/);
  await applyOf(p.file);
  const f = (rel: string): string => path.join(p.certs, rel);
  const label = (file: string): string | undefined => /^-----BEGIN ([A-Z ]+)-----\n/.exec(readFileSync(file, 'latin1'))?.[1];
  assert.is(label(path.join(p.dir, 'secrets/ca.key')), LABEL['ecdsa-p256']);
  assert.is(label(f('nodes/node1/node.key')), LABEL['rsa']);
  assert.is(label(f('nodes/node2/node.key')), LABEL['ed25519']);
  assert.is(label(f('clients/root/client.root.key')), LABEL['ecdsa-p384']);
  const pairs = [
    ['nodes/node1/node.crt', 'nodes/node1/node.key'],
    ['nodes/node2/node.crt', 'nodes/node2/node.key'],
    ['clients/root/client.root.crt', 'clients/root/client.root.key'],
  ];
  const go = keycheck([
    ...pairs.map(([c, k]) => ({ op: 'pair' as const, cert: f(c!), key: f(k!) })),
    ...pairs.map(([c]) => ({ op: 'sig' as const, cert: f(c!), ca: f('ca.crt') })),
    { op: 'key', key: f('clients/root/client.root.key') },
  ]);
  for (const g of go.slice(0, 6)) assert.ok(g.ok, g.error);
  for (const g of go.slice(3, 6)) assert.is(g.sigAlg, 'ECDSA-SHA256');
  assert.is(readFileSync(f('clients/root/client.root.key.pk8')).toString('base64'), go[6]?.pkcs8);
  assert.equal(actionable(await planOf(p.file)), [], 'converged');

  // node1 from RSA to ECDSA P-384: one reissue, a new key of that type; then converged again.
  (doc['nodes'] as Record<string, unknown>[])[0]!['keyType'] = 'ecdsa-p384';
  await p.write(doc);
  const next = await planOf(p.file);
  assert.equal(actionable(next).map((c) => `${c.artifact}: ${c.reasons.map((r) => r.code).join(', ')}`), ['node/node1: key-type-changed']);
  assert.is(actionable(next)[0]?.reasons[0]?.message, 'key is RSA 1024, wants ECDSA P-384');
  const oldKey = readFileSync(f('nodes/node1/node.key'), 'latin1');
  await applyOf(p.file);
  assert.is(label(f('nodes/node1/node.key')), LABEL['ecdsa-p384']);
  assert.is.not(readFileSync(f('nodes/node1/node.key'), 'latin1'), oldKey);
  const [pair] = keycheck([{ op: 'pair', cert: f('nodes/node1/node.crt'), key: f('nodes/node1/node.key') }]);
  assert.ok(pair?.ok, pair?.error);
  assert.equal(actionable(await planOf(p.file)), []);
});

keyTypes.run();
