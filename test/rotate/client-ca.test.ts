// The split client CA's rotation (rotate … --client-ca) on real trees and keys, no servers (nodes
// without ssh, shipped "by the operator"): its own state file, the refusals while the other kind
// is under way, status of both, every phase touching only ca-client.crt, the client certificates
// and client.node.*, never ca.crt or node.crt (checked by bytes and by openssl), plan/apply/check
// during it, abort, and the built CLI SIGKILLed at a few points and rerun. Live: live-client-ca.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { plan } from '../../src/plan/plan.js';
import { rotateStart } from '../../src/rotate/start.js';
import { rotateContinue } from '../../src/rotate/continue.js';
import { rotateAbort } from '../../src/rotate/abort.js';
import { rotateStatus } from '../../src/rotate/status.js';
import { readRotationState, type RotationError } from '../../src/rotate/state.js';
import { check } from '../../src/report/check.js';
import { reportForSpec } from '../../src/report/report.js';
import { Ajv } from 'ajv';
import { ROOT, cli, cliEnv, openssl, opensslStatus, rejects, tmpdir } from '../helpers/index.js';

const NODES = ['n1', 'n2'];
const SHIPPED = NODES.join(',');
const CLIENT_STATE = 'cluster-certs.client-ca.rotation.json';

function doc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keyType: 'ecdsa-p256', clientPropagation: '0s', pruneOld: 'after-reissue' },
    clientCa: { key: 'secrets/ca-client.key' },
    defaults: { keyType: 'ecdsa-p256' },
    nodes: [
      { name: 'n1', hosts: ['n1.example.com', '127.0.0.1'] },
      { name: 'n2', hosts: ['n2.example.com'] },
    ],
    clients: [{ user: 'root', pkcs8: true }, { user: 'app' }],
    ...extra,
  };
}

async function cluster(d = doc()): Promise<{ dir: string; file: string }> {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify(d));
  await apply(await loadSpec(file), { journal: false });
  return { dir, file };
}

/** Every file under certs/ and secrets/ with its SHA-256 and mode. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${(statSync(p).mode & 0o777).toString(8)}`;
    }
  };
  walk(path.join(dir, 'certs'));
  walk(path.join(dir, 'secrets'));
  return out;
}

/** What a client CA rotation must never touch: the CA, its key, every ca.crt and node.crt/node.key. */
function mainCaFiles(dir: string): Record<string, string> {
  const all = snapshot(dir);
  return Object.fromEntries(Object.entries(all).filter(([f]) => f === 'secrets/ca.key' || /(^|\/)ca\.crt$/.test(f) || /\/node\.(crt|key)$/.test(f)));
}

const pemCount = (f: string): number => (readFileSync(f, 'latin1').match(/BEGIN CERTIFICATE/g) ?? []).length;
const reason = async (p: Promise<unknown>): Promise<string> => ((await rejects(p)) as RotationError).reason;

const start = suite('rotate start --client-ca');

start('makes the new client CA key 0600 beside clientCa.key and its own state file (kind client-ca); nothing else changes', async () => {
  const { dir, file } = await cluster();
  const before = snapshot(dir);
  const spec = await loadSpec(file);
  const r = await rotateStart(spec, { clientCa: true });
  assert.is(r.newKey, path.join(dir, 'secrets', 'ca-client.key.next'));
  assert.is(r.stateFile, path.join(dir, CLIENT_STATE));
  assert.is(statSync(r.newKey).mode & 0o777, 0o600);
  const after = snapshot(dir);
  delete after['secrets/ca-client.key.next'];
  assert.equal(after, before);
  // The CA's rotation has no state: the two never share a file.
  assert.not.ok(existsSync(path.join(dir, 'cluster-certs.rotation.json')));
  assert.is(await readRotationState(spec), undefined);
  const s = await readRotationState(spec, 'client-ca');
  assert.equal([s?.kind, s?.phase, s?.signing, s?.newKey], ['client-ca', 'staged', 'old', 'secrets/ca-client.key.next']);
  assert.not.match(readFileSync(r.stateFile, 'utf8'), /PRIVATE KEY/);
  // The recorded old CA is ca-client.crt's, and the new key is the new CA's (openssl).
  assert.is(s?.old.pem, readFileSync(path.join(dir, 'certs/ca-client.crt'), 'latin1'));
  const newCa = path.join(dir, 'new.pem');
  writeFileSync(newCa, s?.new.pem ?? '');
  assert.match(await openssl(['verify', '-CAfile', newCa, newCa]), /OK/);
  assert.is(await openssl(['pkey', '-in', r.newKey, '-pubout']), await openssl(['x509', '-in', newCa, '-noout', '-pubkey']));
  assert.match(readFileSync(path.join(dir, 'cluster-certs.journal.jsonl'), 'utf8'), /"command":"rotate start --client-ca"/);
});

start('one rotation at a time: either kind refuses while the other is under way (other-rotation-in-progress, nothing written); a second --client-ca start: rotation-in-progress', async () => {
  const { dir, file } = await cluster();
  const spec = await loadSpec(file);
  await rotateStart(spec, { clientCa: true });
  const before = snapshot(dir);
  const e = (await rejects(rotateStart(spec))) as RotationError;
  assert.is(e.reason, 'other-rotation-in-progress');
  assert.match(e.message, /^other-rotation-in-progress: a rotation of the client CA \(\S+\) is staged: one rotation at a time$/);
  assert.equal(snapshot(dir), before);
  assert.not.ok(existsSync(path.join(dir, 'cluster-certs.rotation.json')));
  assert.is(await reason(rotateStart(spec, { clientCa: true })), 'rotation-in-progress');
  // Through the CLI: one line, the reason first, exit 1.
  const r = await cli(['rotate', 'start', file]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: other-rotation-in-progress: /m);

  // The other way round.
  const other = await cluster();
  const spec2 = await loadSpec(other.file);
  await rotateStart(spec2);
  const before2 = snapshot(other.dir);
  assert.is(await reason(rotateStart(spec2, { clientCa: true })), 'other-rotation-in-progress');
  assert.equal(snapshot(other.dir), before2);
  assert.not.ok(existsSync(path.join(other.dir, CLIENT_STATE)));
  // continue and abort without --client-ca act on the one under way; with it, there is none.
  assert.is(await reason(rotateContinue(spec2, { clientCa: true })), 'no-rotation');
  assert.is(await reason(rotateAbort(spec2, { clientCa: true })), 'no-rotation');
  await rotateAbort(spec2);
  // Once it is gone the client CA may start.
  assert.is((await rotateStart(spec2, { clientCa: true })).state.kind, 'client-ca');
});

start('without a split client CA: --client-ca is client-ca-not-split for start, status, continue and abort', async () => {
  const { file } = await cluster(doc({ clientCa: undefined }));
  const spec = await loadSpec(file);
  assert.is(await reason(rotateStart(spec, { clientCa: true })), 'client-ca-not-split');
  for (const cmd of ['status', 'continue', 'abort']) {
    const r = await cli(['rotate', cmd, file, '--client-ca']);
    assert.is(r.code, 1, cmd);
    assert.match(r.stderr, /^ERROR: client-ca-not-split: /m, cmd);
  }
});

start.run();

const status = suite('rotate status with a split client CA');

status('shows both rotations (the CA\'s at the top, the client CA\'s under clientCa), or only the one --client-ca asks for; an inconsistent tree is exit 1 and stops plan and apply', async () => {
  const { dir, file } = await cluster();
  let r = await cli(['rotate', 'status', file, '--json']);
  assert.is(r.code, 0, r.stderr);
  let s = JSON.parse(r.stdout);
  assert.equal([s.phase, s.clientCa.phase, s.clientCa.next.command], ['none', 'none', 'certgen rotate start --client-ca']);
  await cli(['rotate', 'start', file, '--client-ca']);
  r = await cli(['rotate', 'status', file, '--json']);
  s = JSON.parse(r.stdout);
  assert.equal([s.phase, s.clientCa.phase, s.clientCa.kind, s.clientCa.bundle], ['none', 'staged', 'client-ca', ['old']]);
  r = await cli(['rotate', 'status', file, '--client-ca', '--json']);
  s = JSON.parse(r.stdout);
  assert.equal([s.phase, s.kind, s.stateFile, s.next.command], ['staged', 'client-ca', path.join(dir, CLIENT_STATE), 'certgen rotate continue --client-ca']);
  assert.equal(s.nodes.map((n: { name: string; bundle: string[]; leafSignedBy: string }) => `${n.name}:${n.bundle.join('+')}:${n.leafSignedBy}`), ['n1:old:old', 'n2:old:old']);
  assert.equal(s.clients.map((c: { user: string; leafSignedBy: string }) => `${c.user}:${c.leafSignedBy}`), ['root:old', 'app:old']);
  const text = (await cli(['rotate', 'status', file])).stdout;
  assert.match(text, /^No CA rotation under way/);
  assert.match(text, /\nClient CA rotation \S+: phase staged\n {2}signing client CA: old {4}ca-client\.crt: \[old\]\n/);
  // plan says so.
  assert.match((await cli(['plan', file])).stdout, /\nClient CA rotation \S+ in progress: phase staged, the old client CA signs; see certgen rotate status --client-ca\./);

  renameSync(path.join(dir, 'secrets/ca-client.key.next'), path.join(dir, 'elsewhere.key'));
  r = await cli(['rotate', 'status', file, '--json']);
  assert.is(r.code, 1);
  assert.equal(JSON.parse(r.stdout).clientCa.problems.map((p: { code: string }) => p.code), ['new-key-missing']);
  const before = snapshot(dir);
  const p = await plan(await loadSpec(file));
  assert.equal(p.errors.map((x) => x.code), ['rotation-inconsistent']);
  assert.match(p.errors[0]?.message ?? '', /^new-key-missing: the client CA keys are not where rotation \S+ \(staged\) keeps them: .*see certgen rotate status --client-ca$/);
  const a = await cli(['apply', file]);
  assert.is(a.code, 1);
  assert.equal(snapshot(dir), before);
  assert.match((await cli(['rotate', 'continue', file])).stderr, /^ERROR: new-key-missing: /m);
});

status('a client CA state file that is not one: status exit 1 (state-unreadable), continue --client-ca refused', async () => {
  const { dir, file } = await cluster();
  // A state of the CA's kind under the client CA's name is not the client CA's.
  await rotateStart(await loadSpec(file));
  const main = readFileSync(path.join(dir, 'cluster-certs.rotation.json'));
  await rotateAbort(await loadSpec(file));
  writeFileSync(path.join(dir, CLIENT_STATE), main);
  const r = await cli(['rotate', 'status', file, '--client-ca', '--json']);
  assert.is(r.code, 1);
  assert.equal(JSON.parse(r.stdout).problems.map((p: { code: string }) => p.code), ['state-unreadable']);
  assert.match((await cli(['rotate', 'continue', file, '--client-ca'])).stderr, /^ERROR: state-unreadable: \S+ is not a certgen rotation state of the client CA/m);
});

status.run();

const flow = suite('rotate continue --client-ca through every phase (nodes shipped by the operator)');

flow('staged → trusted → reissued → pruned → done: only ca-client.crt, the client certificates and client.node.* change; ca.crt, node.crt and the CA key never do', async () => {
  const { dir, file } = await cluster();
  const spec = await loadSpec(file);
  const untouched = mainCaFiles(dir);
  const oldKey = readFileSync(path.join(dir, 'secrets/ca-client.key'));
  const s0 = (await rotateStart(spec, { clientCa: true })).state;
  const newCa = path.join(dir, 'new.pem');
  const oldCa = path.join(dir, 'old.pem');
  writeFileSync(newCa, s0.new.pem);
  writeFileSync(oldCa, s0.old.pem);
  const crt = (rel: string): string => path.join(dir, 'certs', rel);
  const clientLeaves = ['clients/root/client.root.crt', 'clients/app/client.app.crt', 'nodes/n1/client.node.crt', 'nodes/n2/client.node.crt'];

  // Inferred: the only rotation under way is the client CA's.
  let r = await cli(['rotate', 'continue', file, '--shipped', SHIPPED, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { kind: 'client-ca', from: 'staged', phase: 'trusted', reached: ['trusted'] });
  for (const f of ['ca-client.crt', 'nodes/n1/ca-client.crt', 'nodes/n2/ca-client.crt']) assert.is(pemCount(crt(f)), 2, f);
  assert.is(readFileSync(crt('ca-client.crt'), 'latin1'), s0.new.pem + s0.old.pem);
  // Clients never hold ca-client.crt.
  assert.not.ok(existsSync(crt('clients/root/ca-client.crt')));
  assert.equal(mainCaFiles(dir), untouched);
  // Still signed by the old client CA (R3): nothing was issued by the new one.
  for (const f of clientLeaves) assert.match(await openssl(['verify', '-CAfile', oldCa, crt(f)]), /OK/, f);
  // apply never undoes it; plan and check know; report checks the key against the old CA, which signs.
  const before = snapshot(dir);
  assert.is((await apply(spec)).applied.length, 0);
  assert.equal(snapshot(dir), before);
  const p = await plan(spec);
  assert.equal([p.errors, p.rotation, p.clientCaRotation?.phase, p.clientCaRotation?.signing], [[], undefined, 'trusted', 'old']);
  const c = await check(spec);
  assert.equal(c.findings.filter((f) => f.kind !== 'warning'), [], JSON.stringify(c.findings));
  assert.ok(c.findings.some((f) => f.code === 'rotation-phase' && f.artifact === 'client-ca' && /^Client CA rotation \S+ in progress: phase trusted, the old client CA signs/.test(f.message)));
  const rep = await reportForSpec(spec);
  assert.equal(rep.rows.filter((row) => row.error !== '').map((row) => `${row.file}: ${row.error}`), []);
  assert.is(rep.forecast.caRotations.find((x) => x.file === 'ca-client.crt')?.rotation?.phase, 'trusted');
  assert.match((await cli(['apply', file])).stdout, /^Client CA rotation \S+ in progress: phase trusted, the old client CA signs \(certgen rotate status --client-ca\)\./);
  // plan --json and report --format json against their schemas.
  const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
  const schema = (n: string): object => JSON.parse(readFileSync(path.join(ROOT, 'schemas', n), 'utf8')) as object;
  ajv.addSchema(schema('plan.schema.json'), 'plan.schema.json');
  const planDoc = JSON.parse((await cli(['plan', file, '--json'])).stdout) as { clientCaRotation?: { phase: string } };
  assert.ok(ajv.validate('plan.schema.json', planDoc), JSON.stringify(ajv.errors));
  assert.is(planDoc.clientCaRotation?.phase, 'trusted');
  const reportDoc = JSON.parse((await cli(['report', file, '--format', 'json'])).stdout) as { plan: { clientCaRotation?: { phase: string } } };
  assert.ok(ajv.validate(schema('report.schema.json'), reportDoc), JSON.stringify(ajv.errors));
  assert.is(reportDoc.plan.clientCaRotation?.phase, 'trusted');

  // reissued: the keys switch; every client certificate and client.node.crt by the new client CA alone.
  r = await cli(['rotate', 'continue', file, '--client-ca', '--shipped', SHIPPED]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /the new client CA signs from now on/);
  for (const f of clientLeaves) {
    assert.match(await openssl(['verify', '-CAfile', newCa, crt(f)]), /OK/, f);
    assert.is.not((await opensslStatus(['verify', '-CAfile', oldCa, crt(f)])).code, 0, f);
  }
  assert.is(await openssl(['pkey', '-inform', 'DER', '-in', crt('clients/root/client.root.key.pk8'), '-pubout']), await openssl(['x509', '-in', crt('clients/root/client.root.crt'), '-noout', '-pubkey']));
  assert.is(await openssl(['pkey', '-in', crt('nodes/n1/client.node.key'), '-pubout']), await openssl(['x509', '-in', crt('nodes/n1/client.node.crt'), '-noout', '-pubkey']));
  assert.is(await openssl(['pkey', '-in', path.join(dir, 'secrets/ca-client.key'), '-pubout']), await openssl(['x509', '-in', newCa, '-noout', '-pubkey']));
  assert.equal(mainCaFiles(dir), untouched);
  const s1 = await readRotationState(spec, 'client-ca');
  assert.equal([s1?.phase, s1?.signing], ['reissued', 'new']);
  for (const n of NODES) assert.ok(s1?.nodes[n]?.leafShippedAt && s1.nodes[n]?.leafServedAt, n);
  // No way back once a node got a client.node.crt of the new client CA.
  r = await cli(['rotate', 'abort', file]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: abort-refused: rotation \S+ is reissued and n1, n2 already got a certificate signed by the new client CA/m);

  // The prune gate: every client acknowledged.
  r = await cli(['rotate', 'continue', file, '--shipped', SHIPPED]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: prune-blocked: the new certificates of 2 clients \(root, app\) are not acknowledged as deployed/m);
  r = await cli(['rotate', 'continue', file, '--client-ca', '--shipped', SHIPPED, '--ack-clients', '--until', 'done', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).reached, ['pruned', 'done']);
  for (const f of ['ca-client.crt', 'nodes/n1/ca-client.crt', 'nodes/n2/ca-client.crt']) assert.is(readFileSync(crt(f), 'latin1'), s0.new.pem, f);
  assert.is.not((await opensslStatus(['verify', '-CAfile', crt('ca-client.crt'), oldCa])).code, 0);
  const archived = path.join(dir, `secrets/ca-client.key.${s0.id}.old`);
  assert.is(statSync(archived).mode & 0o777, 0o400);
  assert.ok(readFileSync(archived).equals(oldKey));
  assert.not.ok(existsSync(path.join(dir, 'secrets/ca-client.key.next')));
  assert.equal(mainCaFiles(dir), untouched);
  assert.is((await rotateStatus(spec, { kind: 'client-ca' })).phase, 'done');
  // Rerun after done converges; plan is clean and knows no rotation; check is clean.
  r = await cli(['rotate', 'continue', file, '--client-ca', '--until', 'done']);
  assert.equal([r.code, r.stdout], [0, 'Nothing to do: the client CA rotation is done.\n'], r.stderr);
  const end = await plan(spec);
  assert.equal([end.errors, end.clientCaRotation, end.changes.filter((x) => x.action !== 'keep')], [[], undefined, []]);
  assert.is((await check(spec)).exitCode, 0);
  // The journal has every step, under the client CA's command and artifact.
  const journal = readFileSync(path.join(dir, 'cluster-certs.journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { command: string; files: Array<{ file: string; reason: string; artifact: string }> });
  const reasons = journal.filter((j) => j.command === 'rotate continue --client-ca').flatMap((j) => j.files.map((f) => `${f.reason} ${f.artifact} ${f.file}`));
  for (const want of ['rotation-trusted client-ca ca-client.crt', 'rotation-signer-new client-ca ../secrets/ca-client.key', 'rotation-pruned client-ca ca-client.crt', `rotation-done client-ca ../secrets/ca-client.key.${s0.id}.old`, 'rotation-done rotation ../cluster-certs.client-ca.rotation.json']) {
    assert.ok(reasons.includes(want), `${want} in\n${reasons.join('\n')}`);
  }
  // And then the CA may rotate.
  assert.is((await rotateStart(spec)).state.kind, 'ca');
});

flow('gates: nodes not shipped wait (operator-shipped); at-expiry keeps the old client CA until it expires (prune-blocked); trusted → reissued needs no client wait', async () => {
  const { file } = await cluster(doc({ ca: { keyType: 'ecdsa-p256', clientPropagation: '168h' } }));
  const spec = await loadSpec(file);
  await rotateStart(spec, { clientCa: true });
  let e = (await rejects(rotateContinue(spec, { shipped: ['n1'] }))) as RotationError;
  assert.equal([e.reason, e.message], ['operator-shipped', 'operator-shipped: nodes without ssh wait for their files: n2']);
  assert.is((await readRotationState(spec, 'client-ca'))?.pending, 'trusted');
  await rotateContinue(spec, { shipped: NODES });
  // A CA rotation would wait ca.clientPropagation (168h) here: clients never hold ca-client.crt.
  assert.equal((await rotateContinue(spec, { shipped: NODES })).reached, ['reissued']);
  e = (await rejects(rotateContinue(spec, { shipped: NODES, ackClients: true }))) as RotationError;
  assert.is(e.reason, 'prune-blocked');
  assert.match(e.message, /ca\.pruneOld is at-expiry: the old CA leaves the bundles once it has expired/);
  assert.is((await readRotationState(spec, 'client-ca'))?.phase, 'reissued');
});

flow('abort from trusted: every ca-client.crt back to [old], the new key and the state gone; the tree as before the start', async () => {
  const { dir, file } = await cluster();
  const before = snapshot(dir);
  const spec = await loadSpec(file);
  await rotateStart(spec, { clientCa: true });
  await rotateContinue(spec, { clientCa: true, shipped: NODES });
  const r = await cli(['rotate', 'abort', file, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal([JSON.parse(r.stdout).kind, JSON.parse(r.stdout).from], ['client-ca', 'trusted']);
  assert.equal(snapshot(dir), before);
  assert.not.ok(existsSync(path.join(dir, CLIENT_STATE)));
  assert.is(JSON.parse((await cli(['rotate', 'status', file, '--client-ca', '--json'])).stdout).phase, 'none');
});

flow.run();

// --- SIGKILL and rerun ------------------------------------------------------------------------

const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Runs the built CLI and SIGKILLs it right after the `count`-th change seen in `dirs` (the name matching `match`). */
function killedAt(args: string[], cwd: string, dirs: string[], match: RegExp, count = 1): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let seen = 0;
    const watchers: FSWatcher[] = dirs.map((d) =>
      watch(d, (_e, name) => {
        if (name === null || name.startsWith('.') || !match.test(String(name))) return;
        if (++seen === count) child.kill('SIGKILL');
      }),
    );
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      for (const w of watchers) w.close();
      resolve({ killed: signal === 'SIGKILL', stderr });
    });
  });
}

const kill = suite('rotate continue --client-ca SIGKILLed and rerun (the built CLI)');

kill('killed as ca-client.crt becomes [new, old], between the key switch\'s two renames, and while apply reissues: each rerun converges to the phase, consistent', async () => {
  const { dir, file } = await cluster();
  const untouched = mainCaFiles(dir);
  const spec = await loadSpec(file);
  const s0 = (await rotateStart(spec, { clientCa: true })).state;
  const certs = path.join(dir, 'certs');
  const cont = ['rotate', 'continue', file, '--client-ca', '--shipped', SHIPPED];
  const rerun = async (phase: string): Promise<void> => {
    const st = await rotateStatus(spec, { kind: 'client-ca' });
    assert.ok(st.consistent, JSON.stringify(st.problems));
    const r = await cli(cont);
    assert.is(r.code, 0, r.stderr);
    assert.is((await readRotationState(spec, 'client-ca'))?.phase, phase);
    assert.ok((await rotateStatus(spec, { kind: 'client-ca' })).consistent);
  };
  // 1. Right after the root ca-client.crt is written (before apply copies it into the folders).
  let k = await killedAt(cont, dir, [certs], /^ca-client\.crt$/);
  assert.ok(k.killed, k.stderr);
  assert.is((await readRotationState(spec, 'client-ca'))?.pending, 'trusted');
  await rerun('trusted');
  for (const n of NODES) assert.is(pemCount(path.join(certs, 'nodes', n, 'ca-client.crt')), 2);
  // 2. Right after the first rename of the key switch (clientCa.key moved to its archive name).
  k = await killedAt(cont, dir, [path.join(dir, 'secrets')], new RegExp(`^ca-client\\.key\\.${s0.id}\\.old$`));
  assert.ok(k.killed, k.stderr);
  await rerun('reissued');
  // 3. The prune, killed while apply copies [new] into the node folders.
  k = await killedAt([...cont, '--ack-clients'], dir, NODES.map((n) => path.join(certs, 'nodes', n)), /^ca-client\.crt$/);
  assert.ok(k.killed, k.stderr);
  await rerun('pruned');
  for (const n of NODES) assert.is(readFileSync(path.join(certs, 'nodes', n, 'ca-client.crt'), 'latin1'), s0.new.pem, n);
  const newCa = path.join(dir, 'new.pem');
  writeFileSync(newCa, s0.new.pem);
  for (const f of ['clients/root/client.root.crt', 'clients/app/client.app.crt', 'nodes/n1/client.node.crt', 'nodes/n2/client.node.crt']) assert.match(await openssl(['verify', '-CAfile', newCa, path.join(certs, f)]), /OK/, f);
  assert.equal(mainCaFiles(dir), untouched);
});

kill('killed while the reissue phase\'s apply writes the new client certificates: the rerun finishes with every leaf by the new client CA', async () => {
  const { dir, file } = await cluster();
  const spec = await loadSpec(file);
  const s0 = (await rotateStart(spec, { clientCa: true })).state;
  await rotateContinue(spec, { clientCa: true, shipped: NODES });
  const certs = path.join(dir, 'certs');
  const cont = ['rotate', 'continue', file, '--shipped', SHIPPED];
  const k = await killedAt(cont, dir, [path.join(certs, 'clients', 'root'), path.join(certs, 'nodes', 'n1')], /^client\.(root|node)\.(crt|key)$/);
  assert.ok(k.killed, k.stderr);
  const st = await rotateStatus(spec, { kind: 'client-ca' });
  assert.ok(st.consistent, JSON.stringify(st.problems));
  assert.equal([st.phase, st.pending, st.signing], ['trusted', 'reissued', 'new']);
  const r = await cli(cont);
  assert.is(r.code, 0, r.stderr);
  assert.is((await readRotationState(spec, 'client-ca'))?.phase, 'reissued');
  const newCa = path.join(dir, 'new.pem');
  writeFileSync(newCa, s0.new.pem);
  for (const f of ['clients/root/client.root.crt', 'clients/app/client.app.crt', 'nodes/n1/client.node.crt', 'nodes/n2/client.node.crt']) assert.match(await openssl(['verify', '-CAfile', newCa, path.join(certs, f)]), /OK/, f);
});

kill.run();
