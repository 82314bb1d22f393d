// Saved plans (src/plan/saved.ts) and the plan as the program apply runs: a saved plan is carried
// out exactly, or refused with nothing changed when the spec, the tree or the clock would make a
// different plan; the plan holds every op apply performs and no key material.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply, applySaved, StalePlanError } from '../../src/apply.js';
import { plan } from '../../src/plan/plan.js';
import { readSavedPlan, savedPlanFor, writeSavedPlan, type SavedPlan } from '../../src/plan/saved.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import type { ClusterSpec } from '../../src/cluster-spec/spec.js';
import { rejects, tmpdir } from '../helpers/index.js';

const T0 = new Date('2026-01-15T10:00:00Z');
const HOUR = 3600e3;

function doc(extraHost = false): object {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keySize: 1024 },
    defaults: { keySize: 1024, lifetime: '1000h', renewBefore: '100h' },
    nodes: [{ name: 'node1', hosts: ['node1.example.com', '10.0.0.1', ...(extraHost ? ['node1.internal'] : [])] }],
    clients: [{ user: 'root', pkcs8: true }],
  };
}

async function project(d: object = doc()): Promise<{ dir: string; file: string; spec: ClusterSpec }> {
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, stringify(d));
  return { dir, file, spec: await loadSpec(file) };
}

/** Every file and folder under dir: relative path → mode and bytes (hex), to prove nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = statSync(path.join(dir, r));
      if (st.isDirectory()) {
        out[`${r}/`] = (st.mode & 0o7777).toString(8);
        walk(r);
      } else out[r] = `${(st.mode & 0o7777).toString(8)} ${readFileSync(path.join(dir, r)).toString('hex')}`;
    }
  };
  walk('');
  return out;
}

const saved = suite('saved plans');

saved('a saved plan is carried out exactly: the written, chmodded and removed files are its ops', async () => {
  const p = await project();
  await apply(p.spec, { now: () => T0 });
  // A reissue (new host), a mode to fix, a pkcs8 to rewrite from the existing key, and an orphan.
  const p2 = { ...p, spec: await (async () => (writeFileSync(p.file, stringify(doc(true))), loadSpec(p.file)))() };
  chmodSync(path.join(p.dir, 'certs/clients/root/client.root.crt'), 0o600);
  rmSync(path.join(p.dir, 'certs/clients/root/client.root.key.pk8'));
  writeFileSync(path.join(p.dir, 'certs/nodes/node1/notes.txt'), 'x');
  mkdirSync(path.join(p.dir, 'plans'));
  const planFile = path.join(p.dir, 'plans', 'next.json');
  const s = await savedPlanFor(p2.spec, planFile, { prune: true, now: () => T0 });
  await writeSavedPlan(planFile, s);
  const back = await readSavedPlan(planFile);
  assert.ok(back, 'the file reads back as a saved plan');
  assert.is(back?.specFile, '../cluster-certs.yaml', 'the spec is found relative to the plan file');
  const r = await applySaved(back as SavedPlan, p2.spec, { planFile, now: () => new Date(T0.getTime() + HOUR) });
  const rel = (a: string): string => path.relative(path.join(p.dir, 'certs'), a).split(path.sep).join('/');
  const ops = s.plan.changes.filter((c) => c.action !== 'keep').map((c) => c.ops);
  assert.equal(r.written.map(rel).sort(), ops.flatMap((o) => o.write.map((w) => w.file)).sort());
  assert.equal(r.chmodded.map(rel).sort(), ops.flatMap((o) => o.chmod.map((w) => w.file)).sort());
  assert.equal(r.removed.map(rel).sort(), ops.flatMap((o) => o.remove).sort());
  assert.equal(r.written.map(rel).sort(), ['clients/root/client.root.key.pk8', 'nodes/node1/node.crt', 'nodes/node1/node.key'], 'the unchanged bundle copy is not rewritten');
  assert.equal(r.chmodded.map(rel), ['clients/root/client.root.crt']);
  assert.equal(r.removed.map(rel), ['nodes/node1/notes.txt']);
  const after = await plan(p2.spec, { now: () => new Date(T0.getTime() + HOUR) });
  assert.equal(after.changes.filter((c) => c.action !== 'keep').map((c) => c.action), [], 'the tree now matches the spec');
});

saved('the plan names every op with numeric modes, key parameters and the signing CA', async () => {
  const p = await project();
  await apply(p.spec, { now: () => T0 });
  writeFileSync(p.file, stringify(doc(true)));
  const pl = await plan(await loadSpec(p.file), { now: () => T0 });
  const node = pl.changes.find((c) => c.artifact === 'node/node1');
  const caFingerprint = (await import('node:crypto')).createHash('sha256');
  const caDer = Buffer.from(readFileSync(path.join(p.dir, 'certs/ca.crt'), 'latin1').replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const fp = caFingerprint.update(caDer).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
  assert.equal(node?.ops, {
    newKey: { type: 'rsa', bits: 1024 },
    issue: { kind: 'node', commonName: 'node', hosts: ['node1.example.com', '10.0.0.1', 'node1.internal'], lifetime: '1000h0m0s', signer: fp },
    write: [
      { file: 'nodes/node1/node.crt', content: 'cert', mode: 0o644 },
      { file: 'nodes/node1/node.key', content: 'key', mode: 0o600 },
    ],
    chmod: [],
    remove: [],
  });
  assert.is(pl.caKey, '../secrets/ca.key');
  const fresh = await plan((await project()).spec, { now: () => T0 });
  const ca = fresh.changes.find((c) => c.artifact === 'ca');
  assert.equal(ca?.ops.write, [
    { file: '../secrets/ca.key', caKey: true, content: 'ca-key', mode: 0o600, exclusive: true },
    { file: 'ca.crt', content: 'ca-cert', mode: 0o644, exclusive: true },
  ]);
  assert.is(fresh.changes.find((c) => c.artifact === 'client/root')?.ops.issue?.signer, 'new-ca');
});

saved('a saved plan holds no key material', async () => {
  const p = await project();
  await apply(p.spec, { now: () => T0 });
  rmSync(path.join(p.dir, 'certs/clients/root/client.root.key.pk8'));
  writeFileSync(p.file, stringify(doc(true)));
  const planFile = path.join(p.dir, 'p.json');
  await writeSavedPlan(planFile, await savedPlanFor(await loadSpec(p.file), planFile, { now: () => T0 }));
  const text = readFileSync(planFile, 'utf8');
  assert.not.match(text, /PRIVATE KEY|BEGIN/);
  for (const key of ['secrets/ca.key', 'certs/nodes/node1/node.key', 'certs/clients/root/client.root.key']) {
    const body = readFileSync(path.join(p.dir, key), 'latin1').replace(/-----[A-Z ]+-----|\s/g, '');
    for (let i = 0; i + 24 <= body.length; i += 24) assert.not.ok(text.includes(body.slice(i, i + 24)), `no piece of ${key} in the plan`);
    const der = Buffer.from(body, 'base64');
    assert.not.ok(text.includes(der.subarray(40, 72).toString('hex')), `no hex of ${key} in the plan`);
  }
  assert.is((statSync(planFile).mode & 0o777).toString(8), '644');
});

const stale = suite('stale saved plans change nothing');

async function savedAt(p: { dir: string; file: string; spec: ClusterSpec }, now = T0): Promise<{ s: SavedPlan; planFile: string }> {
  const planFile = path.join(p.dir, 'p.json');
  const s = await savedPlanFor(p.spec, planFile, { now: () => now });
  await writeSavedPlan(planFile, s);
  return { s, planFile };
}

async function refused(p: { dir: string }, run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  const before = snapshot(p.dir);
  try {
    await run();
    assert.unreachable('a stale plan was applied');
  } catch (err) {
    assert.instance(err, StalePlanError);
    assert.match((err as Error).message, pattern);
    assert.match((err as Error).message, /Nothing was changed$/);
  }
  assert.equal(snapshot(p.dir), before, 'not a byte or a mode changed');
}

stale('the tree changed: a file edited, one removed, one added, a mode', async () => {
  const p = await project();
  await apply(p.spec, { now: () => T0 });
  writeFileSync(p.file, stringify(doc(true)));
  p.spec = await loadSpec(p.file);
  const { s, planFile } = await savedAt(p);
  chmodSync(path.join(p.dir, 'certs/nodes/node1/node.crt'), 0o640);
  await refused(p, () => applySaved(s, p.spec, { planFile, now: () => T0 }), /since it was made, in the certs dir nodes\/node1\/node\.crt changed\./);
  chmodSync(path.join(p.dir, 'certs/nodes/node1/node.crt'), 0o644);
  rmSync(path.join(p.dir, 'certs/clients/root/client.root.key.pk8'));
  writeFileSync(path.join(p.dir, 'certs/extra.txt'), 'x');
  await refused(p, () => applySaved(s, p.spec, { planFile, now: () => T0 }), /clients\/root\/client\.root\.key\.pk8 was removed, extra\.txt appeared/);
});

stale('the spec or the CA key changed', async () => {
  const p = await project();
  await apply(p.spec, { now: () => T0 });
  const { s, planFile } = await savedAt(p);
  writeFileSync(p.file, stringify(doc(true)));
  const changedSpec = await loadSpec(p.file);
  await refused(p, () => applySaved(s, changedSpec, { planFile, now: () => T0 }), /since it was made, the spec changed\./);
  chmodSync(path.join(p.dir, 'secrets/ca.key'), 0o400);
  await refused(p, () => applySaved(s, p.spec, { planFile, now: () => T0 }), /the CA key \.\.\/secrets\/ca\.key changed/);
});

stale('time passed: a certificate entered its renewal window, so the plan made now differs', async () => {
  const p = await project();
  await apply(p.spec, { now: () => T0 });
  const { s, planFile } = await savedAt(p);
  assert.equal(s.plan.changes.filter((c) => c.action !== 'keep'), [], 'nothing to do when it was made');
  // Leaves live 1000h and renew 100h before: at T0+950h every leaf is due.
  await refused(p, () => applySaved(s, p.spec, { planFile, now: () => new Date(T0.getTime() + 950 * HOUR) }), /what apply would do changed for node\/node1, client\/root/);
});

stale('a hand-edited plan is refused: its program is not the one the inputs give', async () => {
  const p = await project();
  await apply(p.spec, { now: () => T0 });
  chmodSync(path.join(p.dir, 'certs/nodes/node1/node.crt'), 0o600);
  const { s, planFile } = await savedAt(p);
  const edited = JSON.parse(JSON.stringify(s)) as SavedPlan;
  const fix = edited.plan.changes.find((c) => c.action === 'fix-mode');
  assert.ok(fix);
  if (fix?.ops.chmod[0]) fix.ops.chmod[0].mode = 0o777;
  await refused(p, () => applySaved(edited, p.spec, { planFile, now: () => T0 }), /what apply would do changed for node\/node1/);
  // A plan that is not one: a clear error, not a crash.
  writeFileSync(planFile, JSON.stringify({ ...s, plan: { ...s.plan, changes: [{ artifact: 'x' }] } }));
  try {
    await readSavedPlan(planFile);
    assert.unreachable('read a broken plan');
  } catch (err) {
    assert.match((err as Error).message, /p\.json is not a valid saved plan \(plan\/changes\/0 must have required property 'kind'\)/);
  }
  writeFileSync(planFile, JSON.stringify({ ...s, version: 9 }));
  try {
    await readSavedPlan(planFile);
    assert.unreachable('read a plan of another version');
  } catch (err) {
    assert.match((err as Error).message, /is a saved plan of version 9; this certgen reads version 1/);
  }
  assert.is(await readSavedPlan(p.file), undefined, 'a spec is not a saved plan');
});

saved('a saved plan carries each new key\'s type and size, and apply generates exactly those', async () => {
  const p = await project({ ...doc(), ca: { keyType: 'ecdsa-p384' }, nodes: [{ name: 'node1', hosts: ['localhost'], keyType: 'ed25519' }], clients: [{ user: 'root', pkcs8: true, keyType: 'ecdsa-p256' }] });
  const planFile = path.join(p.dir, 'plan.json');
  await writeSavedPlan(planFile, await savedPlanFor(p.spec, planFile, { now: () => T0 }));
  const back = (await readSavedPlan(planFile)) as SavedPlan;
  assert.equal(back.plan.changes.map((c) => [c.artifact, c.ops.newKey]), [['ca', { type: 'ecdsa-p384' }], ['node/node1', { type: 'ed25519' }], ['client/root', { type: 'ecdsa-p256' }]]);
  // The saved program is what runs: a key size on a non-RSA key is not a plan certgen made.
  const text = readFileSync(planFile, 'utf8');
  const sized = text.replace('{"type":"ed25519"}', '{"type":"ed25519","bits":2048}').replace(/"type": "ed25519"\n/, '"type": "ed25519", "bits": 2048\n');
  assert.is.not(sized, text);
  writeFileSync(planFile, sized);
  assert.match((await rejects(readSavedPlan(planFile))).message, /is not a valid saved plan/);
  writeFileSync(planFile, text);
  await applySaved(back, p.spec, { planFile, now: () => T0 });
  const label = (rel: string): string | undefined => /^-----BEGIN ([A-Z ]+)-----/.exec(readFileSync(path.join(p.dir, rel), 'latin1'))?.[1];
  assert.equal([label('secrets/ca.key'), label('certs/nodes/node1/node.key'), label('certs/clients/root/client.root.key')], ['EC PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY']);
});

saved.run();
stale.run();
