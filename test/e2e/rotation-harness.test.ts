// The rotation fleet (test/helpers/rotation-fleet.ts) tested on its own, with commands that exist
// without `rotate`: apply, distribute. A harness that cannot see failures proves nothing, so after
// a quiet start a CA is replaced the wrong way (the CA deleted, `apply` makes a new one and
// reissues everything at once, `distribute` ships it): every loop must record the breakage it
// causes, on every node, of the kind it causes (the server no longer trusted, or the client's
// certificate refused by the server), and nothing before it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setup } from '../helpers/index.js';
import { type Attempt, type ClientLoop, type RotationFleet, REFUSED_CLIENT, UNTRUSTED_SERVER, bundleCerts, certSha256, fixed, startRotationFleet } from '../helpers/rotation-fleet.js';

let f: RotationFleet;
const s = suite('rotation fleet: PostgreSQL nodes over a loopback sshd, client loops with verify-full');
setup(s, async () => {
  f = await startRotationFleet();
});
s.after(async () => {
  await f?.stop();
});

/** Every node has at least `n` attempts after `since` satisfying `pred`. */
const everyNode = (since: number, pred: (a: Attempt) => boolean, n = 1) => (as: readonly Attempt[]) => f.nodes.every((node) => as.filter((a) => a.node === node && a.at >= since && pred(a)).length >= n);
const markAt = (label: string): number => f.marks().find((m) => m.label === label)?.at ?? Number.NaN;

s('every node serves the folder distribute wrote, verified live; loops connect to every node without a failure', async () => {
  const r = await f.certgen(['distribute', f.specFile, '--verify', '--verify-probe-cert', '--json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout) as { targets: Array<{ name: string; status: string; verify: { ok: boolean } }> };
  assert.equal(out.targets.map((t) => [t.name, t.status, t.verify.ok]), f.nodes.map((n) => [n, 'unchanged', true]));
  for (const n of f.nodes) {
    for (const file of ['ca.crt', 'node.crt']) assert.ok(readFileSync(path.join(f.remote[n] as string, file)).equals(readFileSync(path.join(f.certsDir, 'nodes', n, file))), `${n} ${file}`);
  }
  const loop = f.startLoop('follower', 'app', f.fromTree('app'));
  const t0 = Date.now();
  await loop.waitFor(everyNode(t0, (a) => a.ok, 5), 'five good rounds on every node');
  await loop.stop();
  assert.equal(loop.failures(), [], f.describe(loop.failures()));
  // Rounds start 100 ms apart, or when the last one is done on a busy machine; an attempt starts a
  // little after its round does, so two may be a little less than 100 ms apart, never much less.
  const rounds = loop.attempts().filter((a) => a.node === 'n1');
  const gaps = rounds.slice(1).map((a, i) => a.at - (rounds[i] as Attempt).at);
  assert.ok(gaps.every((g) => g >= 50 && g < 6_000), `gaps between rounds: ${gaps.join(', ')} ms`);
});

s('a CA replaced all at once: the loops catch every breakage, on every node, and none before it', async () => {
  const follower = f.startLoop('follower', 'app', f.fromTree('app'));
  const old = f.snapshot('app');
  const stale = f.startLoop('stale', 'app', fixed(old));
  const quiet = Date.now();
  await follower.waitFor(everyNode(quiet, (a) => a.ok, 3), 'three good rounds');
  await stale.waitFor(everyNode(quiet, (a) => a.ok, 3), 'three good rounds');

  f.mark('ca-replaced');
  rmSync(f.caKey);
  rmSync(path.join(f.certsDir, 'ca.crt'));
  await f.certgenOk(['apply', f.specFile]);
  const fresh = f.snapshot('app');
  assert.is.not(certSha256(fresh.cert), certSha256(old.cert));
  // The follower took the new files (a new CA alone in its bundle) while the nodes still present
  // leaves of the old CA: it must fail on every node, as the client the server is not trusted by.
  await follower.waitFor(everyNode(markAt('ca-replaced'), (a) => !a.ok && a.certSha256 === certSha256(fresh.cert)), 'a failure on every node with the new files');
  // A client holding both CAs and its old certificate: fine until the nodes drop the old CA.
  const mixed = f.startLoop('mixed', 'app', fixed({ ...old, ca: Buffer.from(bundleCerts(fresh.ca).join('') + bundleCerts(old.ca).join('')) }));
  await mixed.waitFor(everyNode(markAt('ca-replaced'), (a) => a.ok), 'a good round with both CAs');

  f.mark('distributed');
  const r = await f.certgen(['distribute', f.specFile, '--verify']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  f.mark('verified');
  const after = markAt('verified');
  await follower.waitFor(everyNode(after, (a) => a.ok, 2), 'recovery on every node');
  await stale.waitFor(everyNode(after, (a) => !a.ok, 2), 'failures on every node');
  await mixed.waitFor(everyNode(after, (a) => !a.ok, 2), 'failures on every node');
  const loops: ClientLoop[] = [follower, stale, mixed];
  await Promise.all(loops.map((l) => l.stop()));

  // Nothing failed before the CA was replaced.
  for (const l of loops) {
    const early = l.failures().filter((a) => a.at < markAt('ca-replaced'));
    assert.equal(early, [], `${l.name} failed before the breakage:\n${f.describe(early)}`);
  }
  const late = (l: ClientLoop): Attempt[] => l.failures().filter((a) => a.at >= after);
  // The stale client does not trust the nodes' new certificates (checked on its side).
  for (const a of late(stale)) assert.match(a.code ?? '', UNTRUSTED_SERVER, f.describe([a]));
  // The mixed client trusts them, and the nodes refuse its old certificate (an alert from their side).
  for (const a of late(mixed)) {
    assert.match(a.code ?? '', REFUSED_CLIENT, f.describe([a]));
  }
  assert.equal(late(follower), [], f.describe(late(follower)));
  // The follower's failures are in the window between apply and the verified rollout, with the new certificate.
  for (const a of follower.failures()) {
    assert.ok(a.at >= markAt('ca-replaced') && a.at < after, f.describe([a]));
    assert.match(a.code ?? '', UNTRUSTED_SERVER, f.describe([a]));
  }
});

s('a kill aimed at an event: distribute --rolling SIGKILLed as n2 reloads; n3 untouched; the rerun converges', async () => {
  for (const n of f.nodes) rmSync(path.join(f.certsDir, 'nodes', n, 'node.crt'));
  await f.certgenOk(['apply', f.specFile]);
  const local = (n: string): Buffer => readFileSync(path.join(f.certsDir, 'nodes', n, 'node.crt'));
  const remote = (n: string): Buffer => readFileSync(path.join(f.remote[n] as string, 'node.crt'));
  const n3Before = remote('n3');
  const k = await f.certgenKilled(['distribute', f.specFile, '--rolling'], { on: 'reload', count: 2 });
  assert.ok(k.killed, `not killed: ${JSON.stringify(k)}`);
  assert.is(k.run.signal, 'SIGKILL');
  assert.is(k.seen.reload, 2);
  assert.ok(k.seen.session >= 2 && k.seen.remote >= 4, JSON.stringify(k.seen));
  assert.ok(remote('n1').equals(local('n1')) && remote('n2').equals(local('n2')), 'n1 and n2 were installed');
  assert.ok(remote('n3').equals(n3Before), 'n3 untouched');
  const again = await f.certgen(['distribute', f.specFile, '--rolling']);
  assert.is(again.code, 0, again.stdout + again.stderr);
  for (const n of f.nodes) assert.ok(remote(n).equals(local(n)), n);
  // A delay trigger, and a run that exits before its trigger: not killed, its exit code kept.
  const quick = await f.certgenKilled(['distribute', f.specFile], { on: 'reload', count: 1 });
  assert.equal([quick.killed, quick.run.code, quick.seen.reload], [false, 0, 0]);
  const early = await f.certgenKilled(['distribute', f.specFile], { delayMs: 1 });
  assert.ok(early.killed && early.run.signal === 'SIGKILL');
});

s.run();
