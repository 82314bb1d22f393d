// A rotation of the CA (ca.crt, without --client-ca) on a cluster with a split client CA, against a
// live PostgreSQL node that verifies clients against ca-client.crt (the rotation fleet with
// clientCa: true). There a probe client certificate of the new CA is refused whatever the node
// trusts, so the gates must not ask for one (they did: trust-unverified on every node, the rotation
// stuck at staged): they check the bundle shipped and reloaded, a probe of the client CA accepted
// and, after the reissue, node.crt chained to the new CA alone. The client CA's own files never
// change. The client CA's rotation is live-client-ca.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleCerts, signedBy, startRotationFleet, type RotationFleet } from '../helpers/rotation-fleet.js';
import { opensslStatus, setup } from '../helpers/index.js';

const s = suite('rotate (the CA) on a split client CA cluster, against a PostgreSQL node over ssh');
let f: RotationFleet;
setup(s, async () => {
  f = await startRotationFleet({ nodes: ['n1'], clients: ['app'], clientCa: true });
  f.writeSpec({ ca: { clientPropagation: '0s', pruneOld: 'after-reissue' } });
});
s.after(async () => {
  await f?.stop();
});

const remote = (file: string): Buffer => readFileSync(path.join(f.remote.n1 as string, file));
const state = (): { new: { pem: string }; old: { pem: string }; nodes: Record<string, Record<string, string>> } => JSON.parse(readFileSync(path.join(f.root, 'cluster-certs.rotation.json'), 'utf8'));

s('start → done: each gate passes on what the node shows; ca-client.crt and the client certificate never change', async () => {
  const clientCaBefore = remote('ca-client.crt');
  const clientCertBefore = readFileSync(f.clientPaths('app').cert);
  const oldLeaf = path.join(f.root, 'old-node.crt');
  writeFileSync(oldLeaf, remote('node.crt'));
  await f.certgenOk(['rotate', 'start']);

  let r = await f.certgen(['rotate', 'continue', '--verify-timeout', '5s']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /node n1: verified/);
  assert.is(bundleCerts(remote('ca.crt')).length, 2, 'n1 holds [new, old]');
  assert.ok(state().nodes.n1?.trustVerifiedAt);

  r = await f.certgen(['rotate', 'continue', '--verify-timeout', '5s']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(signedBy(remote('node.crt'), state().new.pem), 'n1 serves a leaf of the new CA');
  assert.ok(state().nodes.n1?.leafServedAt);
  assert.ok((await f.connect('n1', 'app', f.snapshot('app'))).ok, 'the client, with the new bundle');

  r = await f.certgen(['rotate', 'continue', '--ack-clients', '--until', 'done', '--verify-timeout', '5s', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).reached, ['pruned', 'done']);
  assert.is(bundleCerts(remote('ca.crt')).length, 1, 'n1 holds [new]');
  assert.ok(state().nodes.n1?.pruneVerifiedAt);
  assert.ok((await f.connect('n1', 'app', f.snapshot('app'))).ok, 'the client after the prune');
  // The client's bundle no longer trusts a server certificate of the old CA.
  const v = await opensslStatus(['verify', '-CAfile', f.clientPaths('app').ca, oldLeaf]);
  assert.is.not(v.code, 0, v.out);

  assert.ok(remote('ca-client.crt').equals(clientCaBefore), 'ca-client.crt unchanged on the node');
  assert.ok(readFileSync(f.clientPaths('app').cert).equals(clientCertBefore), 'the client certificate (signed by the client CA) unchanged');
  assert.is((await f.certgen(['check'])).code, 0);
});

s.run();
