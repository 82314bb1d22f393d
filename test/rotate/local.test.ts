// The rotation's local part on real trees and keys (no servers: nodes without ssh, shipped "by the
// operator"): start's preconditions and files, status, the state file against the tree, plan and
// apply during a rotation (renewals by the old CA, capped), abort, and continue through to done
// with every certificate checked by openssl. The live gates run in test/rotate/live.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { plan } from '../../src/plan/plan.js';
import { rotateStart } from '../../src/rotate/start.js';
import { rotateStatus } from '../../src/rotate/status.js';
import { rotateContinue } from '../../src/rotate/continue.js';
import { readRotationState, RotationError } from '../../src/rotate/state.js';
import { check } from '../../src/report/check.js';
import { reportForSpec } from '../../src/report/report.js';
import { Ajv } from 'ajv';
import { ROOT, cli, openssl, opensslStatus, rejects, tmpdir } from '../helpers/index.js';

const HOUR = 3600e3;

function doc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keyType: 'ecdsa-p256', clientPropagation: '0s', pruneOld: 'after-reissue' },
    defaults: { keyType: 'ecdsa-p256' },
    nodes: [
      { name: 'node1', hosts: ['node1.example.com', '127.0.0.1'] },
      { name: 'node2', hosts: ['node2.example.com', '127.0.0.2'] },
    ],
    clients: [{ user: 'root', pkcs8: true }],
    ...extra,
  };
}

async function cluster(d = doc(), now?: Date): Promise<{ dir: string; file: string }> {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify(d));
  await apply(await loadSpec(file), now ? { now: () => now } : {});
  return { dir, file };
}

/** Every file under the certs dir and the secrets folder, with its SHA-256 and mode. */
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

const pemCount = (f: string): number => (readFileSync(f, 'latin1').match(/BEGIN CERTIFICATE/g) ?? []).length;

const start = suite('rotate start');

start('makes the new CA key 0600 beside the old one and the state file; the tree is unchanged and the old CA still signs', async () => {
  const { dir, file } = await cluster();
  const before = snapshot(dir);
  const r = await rotateStart(await loadSpec(file));
  assert.is(r.newKey, path.join(dir, 'secrets', 'ca.key.next'));
  assert.is(statSync(r.newKey).mode & 0o777, 0o600);
  const after = snapshot(dir);
  delete after['secrets/ca.key.next'];
  assert.equal(after, before);
  const s = await readRotationState(await loadSpec(file));
  assert.is(s?.phase, 'staged');
  assert.is(s?.signing, 'old');
  // Nothing secret in the state: the new CA's certificate, and the key only as a path.
  const text = readFileSync(path.join(dir, 'cluster-certs.rotation.json'), 'utf8');
  assert.not.match(text, /PRIVATE KEY/);
  assert.is(JSON.parse(text).newKey, 'secrets/ca.key.next');
  // openssl: the new CA is self-signed, a CA, and the key beside the old one is its key.
  const newCa = path.join(dir, 'new-ca.pem');
  writeFileSync(newCa, s?.new.pem ?? '');
  assert.match(await openssl(['verify', '-CAfile', newCa, newCa]), /OK/);
  assert.match(await openssl(['x509', '-in', newCa, '-noout', '-text']), /CA:TRUE/);
  const pub = (args: string[]): Promise<string> => openssl(args);
  assert.is(await pub(['pkey', '-in', r.newKey, '-pubout']), await pub(['x509', '-in', newCa, '-noout', '-pubkey']));
  assert.is.not(await pub(['pkey', '-in', path.join(dir, 'secrets/ca.key'), '-pubout']), await pub(['pkey', '-in', r.newKey, '-pubout']));
  // The journal has the step.
  assert.match(readFileSync(path.join(dir, 'cluster-certs.journal.jsonl'), 'utf8'), /"command":"rotate start"/);
});

start('refuses: a rotation under way, --client-ca without a split client CA, no CA yet, a bundle of two CAs, a new CA too short-lived', async () => {
  const { file } = await cluster();
  const spec = await loadSpec(file);
  assert.is(((await rejects(rotateStart(spec, { clientCa: true }))) as RotationError).reason, 'client-ca-not-split');
  // A split client CA not applied yet: nothing to rotate, and nothing is written (its rotation: test/rotate/client-ca.test.ts).
  const split = await loadSpec(file);
  split.clientCa = { key: path.join(path.dirname(file), 'secrets', 'ca-client.key'), keyType: 'ecdsa-p256', keySize: 2048, lifetime: split.ca.lifetime };
  const refused = (await rejects(rotateStart(split, { clientCa: true }))) as RotationError;
  assert.is(refused.reason, 'precondition');
  assert.match(refused.message, /there is no client CA to rotate: \S+ca-client\.crt does not exist yet/);
  assert.not.ok(existsSync(path.join(path.dirname(file), 'cluster-certs.client-ca.rotation.json')));
  assert.not.ok(existsSync(path.join(path.dirname(file), 'cluster-certs.rotation.json')));
  await rotateStart(spec);
  assert.is(((await rejects(rotateStart(spec))) as RotationError).reason, 'rotation-in-progress');

  const bare = tmpdir();
  writeFileSync(path.join(bare, 'cluster-certs.yaml'), stringify(doc()));
  assert.is(((await rejects(rotateStart(await loadSpec(path.join(bare, 'cluster-certs.yaml'))))) as RotationError).reason, 'precondition');

  const two = await cluster();
  const other = await cluster();
  const ca = path.join(two.dir, 'certs/ca.crt');
  writeFileSync(ca, readFileSync(ca, 'latin1') + readFileSync(path.join(other.dir, 'certs/ca.crt'), 'latin1'));
  await apply(await loadSpec(two.file));
  const e = await rejects(rotateStart(await loadSpec(two.file)));
  assert.match(e.message, /^precondition: ca\.crt holds 2 CAs/);

  const short = await cluster(doc({ ca: { keyType: 'ecdsa-p256', lifetime: '44000h' } }));
  const s = await rejects(rotateStart(await loadSpec(short.file)));
  assert.match(s.message, /^precondition: the new CA would live 44000h0m0s/);
  assert.not.ok(existsSync(path.join(short.dir, 'secrets/ca.key.next')));
});

start('past the deadline (the old CA expiry minus the longest renewBefore): refused, unless --compromised', async () => {
  const t0 = new Date();
  const d = doc({ ca: { keyType: 'ecdsa-p256', lifetime: '2000h', clientPropagation: '1h' }, defaults: { keyType: 'ecdsa-p256', lifetime: '100h', renewBefore: '50h' } });
  const { file } = await cluster(d, t0);
  const spec = await loadSpec(file);
  const late = new Date(t0.getTime() + 1970 * HOUR);
  const e = (await rejects(rotateStart(spec, { now: () => late }))) as RotationError;
  assert.is(e.reason, 'rotation-deadline');
  const r = await rotateStart(spec, { now: () => late, compromised: true });
  assert.is(r.state.compromised, true);
});

start.run();

const status = suite('rotate status and the state against the tree');

status('none, then staged; a missing new key is inconsistent (exit 1), plan shows it and apply refuses, writing nothing', async () => {
  const { dir, file } = await cluster();
  let r = await cli(['rotate', 'status', file, '--json']);
  assert.is(r.code, 0);
  assert.is(JSON.parse(r.stdout).phase, 'none');
  await cli(['rotate', 'start', file]);
  r = await cli(['rotate', 'status', file, '--json']);
  assert.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.is(s.phase, 'staged');
  assert.equal(s.bundle, ['old']);
  assert.equal(s.nodes.map((n: { name: string; leafSignedBy: string }) => `${n.name}:${n.leafSignedBy}`), ['node1:old', 'node2:old']);
  // plan knows.
  assert.match((await cli(['plan', file])).stdout, /CA rotation \S+ in progress: phase staged, the old CA signs/);
  const stateBefore = readFileSync(path.join(dir, 'cluster-certs.rotation.json'), 'utf8');
  renameSync(path.join(dir, 'secrets/ca.key.next'), path.join(dir, 'elsewhere.key'));
  r = await cli(['rotate', 'status', file, '--json']);
  assert.is(r.code, 1);
  assert.equal(JSON.parse(r.stdout).problems.map((p: { code: string }) => p.code), ['new-key-missing']);
  const before = snapshot(dir);
  const p = await plan(await loadSpec(file));
  assert.equal(p.errors.map((x) => x.code), ['rotation-inconsistent']);
  const a = await cli(['apply', file]);
  assert.is(a.code, 1);
  assert.match(a.stderr, /ERROR: rotation: new-key-missing: /);
  assert.equal(snapshot(dir), before);
  // Never repaired: the state file is as it was.
  assert.is(readFileSync(path.join(dir, 'cluster-certs.rotation.json'), 'utf8'), stateBefore);
  const c = await cli(['rotate', 'continue', file]);
  assert.is(c.code, 1);
  assert.match(c.stderr, /^ERROR: new-key-missing: /m);
});

status('a state file that is not one: status exit 1, continue refused', async () => {
  const { dir, file } = await cluster();
  writeFileSync(path.join(dir, 'cluster-certs.rotation.json'), '{"version": 1}');
  const r = await cli(['rotate', 'status', file, '--json']);
  assert.is(r.code, 1);
  assert.equal(JSON.parse(r.stdout).problems.map((p: { code: string }) => p.code), ['state-unreadable']);
  assert.match((await cli(['rotate', 'continue', file])).stderr, /ERROR: state-unreadable: /);
});

status.run();

const flow = suite('rotate continue, abort, and apply during a rotation (nodes shipped by the operator)');

flow('trusted: every ca.crt is [new, old]; apply changes nothing after it; a renewal is signed by the old CA and ends with it, with a warning', async () => {
  const t0 = new Date();
  const d = doc({ ca: { keyType: 'ecdsa-p256', lifetime: '2000h', clientPropagation: '1h' }, defaults: { keyType: 'ecdsa-p256', lifetime: '100h', renewBefore: '50h' } });
  const { dir, file } = await cluster(d, t0);
  const spec = await loadSpec(file);
  await rotateStart(spec, { now: () => t0 });
  await rotateContinue(spec, { shipped: ['node1', 'node2'], now: () => t0 });
  assert.is((await readRotationState(spec))?.phase, 'trusted');
  for (const f of ['certs/ca.crt', 'certs/nodes/node1/ca.crt', 'certs/clients/root/ca.crt']) assert.is(pemCount(path.join(dir, f)), 2, f);
  // apply never undoes it.
  const before = snapshot(dir);
  assert.is((await apply(spec, { now: () => t0 })).applied.length, 0);
  assert.equal(snapshot(dir), before);
  // 1960h on, the old CA has 40h left: node1's renewal is signed by it and capped.
  const late = new Date(t0.getTime() + 1960 * HOUR);
  const p = await plan(spec, { now: () => late });
  assert.equal(p.errors, []);
  assert.ok(p.warnings.some((w) => /^node\/node1: signed by the old CA during rotation \S+ \(trusted\)/.test(w)), p.warnings.join('\n'));
  assert.is(p.rotation?.phase, 'trusted');
  await apply(spec, { now: () => late });
  const oldCa = path.join(dir, 'old.pem');
  writeFileSync(oldCa, (await readRotationState(spec))?.old.pem ?? '');
  const leaf = path.join(dir, 'certs/nodes/node1/node.crt');
  assert.match(await openssl(['verify', '-attime', String(Math.floor(late.getTime() / 1000)), '-CAfile', oldCa, leaf]), /OK/);
  const endOf = async (f: string): Promise<number> => Date.parse((await openssl(['x509', '-in', f, '-noout', '-enddate'])).trim().replace(/^notAfter=/, ''));
  // Within the second the plan's clock had left (never after the CA).
  const gap = (await endOf(oldCa)) - (await endOf(leaf));
  assert.ok(gap >= 0 && gap <= 1000, `the leaf ends ${gap} ms before the old CA`);
  // And converged: the capped leaf is neither a lifetime change nor, in its renewal window, expiring (a reissue would end the same).
  const again = await plan(spec, { now: () => new Date(late.getTime() + 1000) });
  assert.equal(again.changes.filter((c) => c.action !== 'keep').map((c) => c.artifact), []);
});

flow('abort from trusted: bundles back to [old], the new key and the state gone, status none', async () => {
  const { dir, file } = await cluster();
  const before = snapshot(dir);
  const spec = await loadSpec(file);
  await rotateStart(spec);
  await rotateContinue(spec, { shipped: ['node1', 'node2'] });
  const r = await cli(['rotate', 'abort', file, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).from, 'trusted');
  assert.equal(snapshot(dir), before);
  assert.not.ok(existsSync(path.join(dir, 'cluster-certs.rotation.json')));
  assert.is(JSON.parse((await cli(['rotate', 'status', file, '--json'])).stdout).phase, 'none');
});

flow('through to done: the keys switch, every leaf (and .pk8, and a tenant certificate) by the new CA alone, the bundles [new], the old key archived 0400; abort refused once leaves shipped', async () => {
  const { dir, file } = await cluster(doc({ tenants: [{ id: 2, signing: true }] }));
  const spec = await loadSpec(file);
  const oldKey = readFileSync(path.join(dir, 'secrets/ca.key'));
  await cli(['rotate', 'start', file]);
  const state0 = await readRotationState(spec);
  let r = await cli(['rotate', 'continue', file, '--shipped', 'node1,node2', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { kind: 'ca', from: 'staged', phase: 'trusted', reached: ['trusted'] });
  // Nodes without ssh wait for the operator's word.
  r = await cli(['rotate', 'continue', file, '--shipped', 'node1']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ERROR: operator-shipped: nodes without ssh wait for their files: node2$/m);
  assert.is(JSON.parse((await cli(['rotate', 'status', file, '--json'])).stdout).pending, 'reissued');
  assert.match((await cli(['rotate', 'abort', file])).stderr, /^ERROR: abort-refused: /m);
  r = await cli(['rotate', 'continue', file, '--shipped', 'node2']);
  assert.is(r.code, 0, r.stderr);
  const newCa = path.join(dir, 'new.pem');
  writeFileSync(newCa, state0?.new.pem ?? '');
  for (const leaf of ['certs/nodes/node1/node.crt', 'certs/nodes/node2/node.crt', 'certs/clients/root/client.root.crt', 'certs/tenants/2/client-tenant.2.crt']) {
    assert.match(await openssl(['verify', '-CAfile', newCa, path.join(dir, leaf)]), /OK/, leaf);
  }
  assert.is(await openssl(['pkey', '-inform', 'DER', '-in', path.join(dir, 'certs/clients/root/client.root.key.pk8'), '-pubout']), await openssl(['x509', '-in', path.join(dir, 'certs/clients/root/client.root.crt'), '-noout', '-pubkey']));
  assert.is(await openssl(['pkey', '-in', path.join(dir, 'secrets/ca.key'), '-pubout']), await openssl(['x509', '-in', newCa, '-noout', '-pubkey']));
  // Pruning needs every client acknowledged.
  r = await cli(['rotate', 'continue', file, '--shipped', 'node1,node2']);
  assert.match(r.stderr, /^ERROR: prune-blocked: the new certificates of 1 client \(root\)/m);
  r = await cli(['rotate', 'continue', file, '--shipped', 'node1,node2', '--ack-clients', '--until', 'done', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).reached, ['pruned', 'done']);
  for (const f of ['certs/ca.crt', 'certs/nodes/node2/ca.crt', 'certs/clients/root/ca.crt', 'certs/tenants/2/ca.crt', 'certs/tenants/2/ca-client-tenant.crt']) assert.is(pemCount(path.join(dir, f)), 1, f);
  const oldCa = path.join(dir, 'old.pem');
  writeFileSync(oldCa, state0?.old.pem ?? '');
  assert.is((await opensslStatus(['verify', '-CAfile', path.join(dir, 'certs/ca.crt'), oldCa])).code !== 0, true);
  const archived = path.join(dir, `secrets/ca.key.${state0?.id}.old`);
  assert.is(statSync(archived).mode & 0o777, 0o400);
  assert.ok(readFileSync(archived).equals(oldKey));
  assert.not.ok(existsSync(path.join(dir, 'secrets/ca.key.next')));
  assert.is(JSON.parse((await cli(['rotate', 'status', file, '--json'])).stdout).phase, 'done');
  // The same command again (as after a kill that landed just after done was recorded) converges.
  r = await cli(['rotate', 'continue', file, '--shipped', 'node1,node2', '--ack-clients', '--until', 'done']);
  assert.equal([r.code, r.stdout], [0, 'Nothing to do: the rotation is done.\n'], r.stderr);
  const p = await plan(spec);
  assert.equal([p.errors, p.rotation, p.changes.filter((c) => c.action !== 'keep')], [[], undefined, []]);
  assert.match(readFileSync(path.join(dir, 'cluster-certs.journal.jsonl'), 'utf8'), /"command":"rotate continue"/);
});

flow('a key switch killed between its two renames: the rerun finishes it', async () => {
  const { dir, file } = await cluster();
  const spec = await loadSpec(file);
  await rotateStart(spec);
  await rotateContinue(spec, { shipped: ['node1', 'node2'] });
  const s = await readRotationState(spec);
  // What a kill right after the first rename leaves: pending reissued, caKey moved to its archive name.
  writeFileSync(path.join(dir, 'cluster-certs.rotation.json'), JSON.stringify({ ...s, pending: 'reissued' }));
  renameSync(path.join(dir, 'secrets/ca.key'), path.join(dir, `secrets/ca.key.${s?.id}.old`));
  assert.is((await rotateStatus(spec)).consistent, true);
  const r = await rotateContinue(spec, { shipped: ['node1', 'node2'] });
  assert.equal(r.reached, ['reissued']);
  assert.is((await readRotationState(spec))?.signing, 'new');
});

flow('remove: ca.retireOldKey remove deletes the old key at done', async () => {
  const { dir, file } = await cluster(doc({ ca: { keyType: 'ecdsa-p256', clientPropagation: '0s', pruneOld: 'after-reissue', retireOldKey: 'remove' } }));
  const spec = await loadSpec(file);
  const s = (await rotateStart(spec)).state;
  await rotateContinue(spec, { shipped: ['node1', 'node2'], ackClients: true, until: 'done' });
  assert.not.ok(existsSync(path.join(dir, `secrets/ca.key.${s.id}.old`)));
  rmSync(path.join(dir, 'new.pem'), { force: true });
});

flow('check: rotation-deadline when the latest safe start is near, and for a rotation not yet reissued near its deadline; report shows the date', async () => {
  const t0 = new Date();
  const d = doc({ ca: { keyType: 'ecdsa-p256', lifetime: '2000h', clientPropagation: '1h' }, defaults: { keyType: 'ecdsa-p256', lifetime: '100h', renewBefore: '50h' } });
  const { file } = await cluster(d, t0);
  const spec = await loadSpec(file);
  const codes = async (at: number): Promise<string[]> => (await check(spec, { now: new Date(t0.getTime() + at * HOUR) })).findings.filter((f) => f.code === 'rotation-deadline').map((f) => f.message);
  assert.equal(await codes(1), []);
  // The CA ends ~2000h after t0: deadline 50h before, latest start 1h + 24h before that.
  const late = await codes(1900);
  assert.is(late.length, 1);
  assert.match(late[0]!, /^the CA rotation must start by \S+ \(the CA expires \S+\); run certgen rotate start$/);
  const rep = await reportForSpec(spec, { now: new Date(t0.getTime() + 1900 * HOUR) });
  const rot = rep.forecast.caRotations[0]!;
  assert.is(Date.parse(rot.expires) - Date.parse(rot.latestStart!), (50 + 1 + 24) * HOUR);
  await rotateStart(spec, { now: () => new Date(t0.getTime() + 1900 * HOUR), compromised: true });
  const r = await check(spec, { now: new Date(t0.getTime() + 1960 * HOUR) });
  assert.equal(r.findings.filter((f) => f.code === 'rotation-deadline').map((f) => f.message.replace(/ \S+-\S+ /, ' ID ')), [`rotation ID is staged: trust and reissue must be done by ${(await readRotationState(spec))?.deadline}; run certgen rotate continue`]);
  assert.is(r.exitCode, 3);
  assert.ok(r.findings.some((f) => f.kind === 'warning' && /^CA rotation \S+ in progress: phase staged, the old CA signs/.test(f.message)));
  assert.match((await cli(['report', file, '--format', 'table'])).stdout, /Rotation \S+ under way \(staged\)/);
  assert.match((await cli(['apply', file])).stdout, /^CA rotation \S+ in progress: phase staged, the old CA signs/);
  // plan --json and report --format json stay valid against their schemas during a rotation.
  const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
  const schema = (n: string): object => JSON.parse(readFileSync(path.join(ROOT, 'schemas', n), 'utf8')) as object;
  ajv.addSchema(schema('plan.schema.json'), 'plan.schema.json');
  const planDoc = JSON.parse((await cli(['plan', file, '--json'])).stdout) as { rotation?: { phase: string } };
  assert.ok(ajv.validate('plan.schema.json', planDoc), JSON.stringify(ajv.errors));
  assert.is(planDoc.rotation?.phase, 'staged');
  const reportDoc = JSON.parse((await cli(['report', file, '--format', 'json'])).stdout) as { plan: { rotation?: { phase: string } } };
  assert.ok(ajv.validate(schema('report.schema.json'), reportDoc), JSON.stringify(ajv.errors));
  assert.is(reportDoc.plan.rotation?.phase, 'staged');
});

flow('ca.rotationMargin and ca.reissueAllowance set the deadline and the latest start (report, start, status)', async () => {
  const t0 = new Date();
  const d = doc({ ca: { keyType: 'ecdsa-p256', lifetime: '2000h', clientPropagation: '1h', rotationMargin: '10h', reissueAllowance: '5h' }, defaults: { keyType: 'ecdsa-p256', lifetime: '100h', renewBefore: '50h' } });
  const { file } = await cluster(d, t0);
  const spec = await loadSpec(file);
  assert.is(spec.ca.rotationMargin, 10n * 3600n * 1_000_000_000n);
  const rep = await reportForSpec(spec, { now: new Date(t0.getTime() + HOUR) });
  const rot = rep.forecast.caRotations[0]!;
  assert.is(Date.parse(rot.expires) - Date.parse(rot.latestStart!), (10 + 1 + 5) * HOUR);
  assert.is(Date.parse(rot.expires) - Date.parse(rot.deadline!), 10 * HOUR);
  // Past the 50h renewBefore but before the 10h margin: start still may begin (not compromised).
  const at = new Date(Date.parse(rot.expires) - 20 * HOUR);
  const r = await rotateStart(spec, { now: () => at });
  assert.is(Date.parse(rot.expires) - Date.parse(r.state.deadline), 10 * HOUR);
  const st = await rotateStatus(spec, { now: () => at });
  assert.is(Date.parse(st.deadline!) - Date.parse(st.latestStart!), (1 + 5) * HOUR);
});

flow.run();
