// Real TLS peers over certgen's certificates: OpenSSL and GnuTLS servers and clients doing mutual
// TLS on 127.0.0.1 the way CockroachDB nodes and clients do — node.crt as a server and as a
// node-to-node client cert, client.<user>.crt as a client cert (client.maxroach.key.pk8, the DER
// PKCS#8 key, included), ca.crt as the trust anchors — for a cluster made by `certgen cert …` and
// one made by `certgen apply` (each party trusting the ca.crt in its own folder), and the handshakes
// that must fail: a foreign CA, no client cert, a name missing from the SANs, a client cert posing
// as a server. Then, through `certgen cert` only: a CA rotation (`create-ca --overwrite`, ca.crt a
// bundle of the new and the old CA) and a separate client CA (`create-client-ca`, ca-client.crt).
// The same certificates under offline path validation: verify.test.ts.
//
// Needs the Debian packages openssl (openssl s_server/s_client), gnutls-bin (gnutls-cli,
// gnutls-serv, certtool), util-linux (unshare, nsenter) and iproute2 (ip), root, and the built CLI
// (dist/cli.js). Every server is started here, on a free loopback port, and stopped in `after`;
// every client run is bounded by a timeout. gnutls-serv, which cannot be bound to 127.0.0.1, runs
// in a network namespace of its own, and its clients join it there: nothing listens on any address
// outside that namespace.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Pair, type Source, SOURCES } from '../helpers/clusters.js';
import { tmpdir } from '../helpers/index.js';
import { LOOPBACK, NETNS_BINARIES } from '../helpers/net.js';
import { type Server, startServer, stopAll } from '../helpers/server.js';
import {
  CERTTOOL,
  GNUTLS_CLI,
  GNUTLS_SERV,
  HTTP_GET,
  OPENSSL,
  SERVER,
  SERVER_AUTH,
  assertClientCN,
  assertNotTrusted,
  assertNotVerified,
  assertOk,
  assertRefused,
  assertTrusted,
  assertVerified,
  certgen,
  cluster,
  foreign,
  gnutlsCli,
  once,
  pemBlocks,
  requireBinaries,
  run,
  sClient,
  sServer,
  showRun,
  trustOf,
} from './peers.js';

const BINARIES: Array<[string, string]> = [
  OPENSSL,
  GNUTLS_CLI,
  GNUTLS_SERV,
  CERTTOOL,
  // gnutls-serv's private network namespace
  ...NETNS_BINARIES,
];

// ---------------------------------------------------------------------------------------------
// gnutls-serv

/** `gnutls-serv --http` requiring a client cert and verifying it against `caFile`. gnutls-serv
 * (3.7) has no bind-address option and listens on the wildcard address, so it runs in a network
 * namespace of its own (unshare --net, needs root) where its clients join it (nsenter) and use
 * 127.0.0.1: nothing listens outside that namespace. */
function gnutlsServ(name: string, server: Pair, caFile: string): Promise<Server> {
  if (process.getuid?.() !== 0) throw new Error(`${name}: gnutls-serv runs in a private network namespace (unshare --net, nsenter), which needs root`);
  return startServer({
    ...SERVER,
    name,
    privateNetwork: true,
    build: (port) => ({
      cmd: 'gnutls-serv',
      args: ['--port', String(port), '--x509certfile', server.cert, '--x509keyfile', server.key, '--x509cafile', caFile, '--require-client-cert', '--verify-client-cert', '--http'],
    }),
  });
}

/** gnutls-serv logged the client certificate of `cn` (after `mark`) as verified. */
async function assertGnutlsVerifiedClient(s: Server, cn: string, mark: number, what: string): Promise<void> {
  const log = await s.waitForLog(new RegExp(`Subject: CN=${cn},O=Cockroach`), mark);
  assert.match(log, /Status: The certificate is trusted/, `gnutls-serv did not verify ${what}:\n${log}`);
}

// ---------------------------------------------------------------------------------------------
// One cluster per source: node.crt behind an OpenSSL and a GnuTLS server

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

const GNUTLS_PAGE = /This is <a href="http:\/\/www\.gnu\.org\/software\/gnutls">GnuTLS<\/a>/;

for (const source of SOURCES) handshakes(source);

function handshakes(source: Source): void {
  const tag = `[${source}]`;
  const c = async () => {
    requireBinaries(BINARIES);
    return cluster(source);
  };

  // OpenSSL server; GnuTLS and OpenSSL clients

  const mtls = suite(`mTLS ${tag}: openssl s_server with node.crt`);
  mtls.after(stopAll);

  const nodeServer = once(async () => {
    const x = await c();
    return sServer(`openssl s_server ${tag} (node.crt)`, x.node, trustOf(x.node));
  });

  mtls('gnutls-cli presenting client.root verifies the server as localhost; data round-trips', async () => {
    const x = await c();
    const s = await nodeServer();
    const r = await gnutlsCli(s, { caFile: trustOf(x.root), client: x.root, host: 'localhost' });
    assertOk(r, 'gnutls-cli client.root');
    assert.match(r.all, /Status: The certificate is trusted/);
    assert.match(r.all, /Handshake was completed/);
    assert.match(r.all, /Description: \(TLS1\.3-X\.509\)/);
    assertClientCN(r, 'root', 'gnutls-cli client.root');
  });

  mtls('the same over TLS 1.2', async () => {
    const x = await c();
    const s = await nodeServer();
    const r = await gnutlsCli(s, { caFile: trustOf(x.root), client: x.root }, ['--priority', 'NORMAL:-VERS-ALL:+VERS-TLS1.2']);
    assertOk(r, 'gnutls-cli TLS 1.2');
    assert.match(r.all, /Description: \(TLS1\.2-X\.509\)/);
    assertClientCN(r, 'root', 'gnutls-cli TLS 1.2');
  });

  mtls('the server is also verified by its IP SAN 127.0.0.1', async () => {
    const x = await c();
    const s = await nodeServer();
    const r = await gnutlsCli(s, { caFile: trustOf(x.root), client: x.root, host: '127.0.0.1' });
    assertOk(r, 'gnutls-cli by IP');
    assertClientCN(r, 'root', 'gnutls-cli by IP');
  });

  mtls('openssl s_client (-purpose sslserver, -verify_hostname) presenting client.maxroach logs in as maxroach', async () => {
    const x = await c();
    const s = await nodeServer();
    const r = await sClient(s, { caFile: trustOf(x.maxroach), client: x.maxroach });
    assertOk(r, 's_client client.maxroach');
    assert.match(r.all, /Verified peername: localhost/);
    assert.match(r.all, /Verify return code: 0 \(ok\)/);
    assertClientCN(r, 'maxroach', 's_client client.maxroach');
  });

  mtls('node-to-node: node.crt presented as a client cert (EKU clientAuth) is accepted', async () => {
    const x = await c();
    const s = await nodeServer();
    const ca = trustOf(x.node);
    const r = await gnutlsCli(s, { caFile: ca, client: x.node });
    assertOk(r, 'gnutls-cli node.crt as client');
    assertClientCN(r, 'node', 'gnutls-cli node.crt as client');
    const o = await sClient(s, { caFile: ca, client: x.node });
    assertOk(o, 's_client node.crt as client');
    assertClientCN(o, 'node', 's_client node.crt as client');
  });

  mtls('openssl s_client with the DER PKCS#8 key (client.maxroach.key.pk8) logs in as maxroach', async () => {
    const x = await c();
    const der = readFileSync(x.maxroach.pk8);
    assert.is(der[0], 0x30, 'the .pk8 is DER (a SEQUENCE), not PEM');
    assert.is(mode(x.maxroach.pk8), 0o600, '.pk8 mode');
    const s = await nodeServer();
    const r = await sClient(s, { caFile: trustOf(x.maxroach), client: { cert: x.maxroach.cert, key: x.maxroach.pk8 }, keyform: 'DER' });
    assertOk(r, 's_client with .pk8');
    assert.match(r.all, /Verify return code: 0 \(ok\)/);
    assertClientCN(r, 'maxroach', 's_client with .pk8');
  });

  mtls('refused: a client cert from another CA', async () => {
    const x = await c();
    const f = await foreign(source);
    const s = await nodeServer();
    const mark = s.log().length;
    const r = await gnutlsCli(s, { caFile: trustOf(x.root), client: f.root });
    assertRefused(r, /alert[\s\S]*CA is unknown/, 'gnutls-cli with a foreign client.root');
    await s.waitForLog(/verify error:num=20:unable to get local issuer certificate/, mark);
  });

  mtls('refused: no client cert at all', async () => {
    const x = await c();
    const s = await nodeServer();
    const r = await gnutlsCli(s, { caFile: trustOf(x.root) });
    assertRefused(r, /Certificate is required/, 'gnutls-cli without a client cert');
  });

  mtls('refused: a host name not in the node cert SANs (gnutls-cli and s_client)', async () => {
    const x = await c();
    const s = await nodeServer();
    const ca = trustOf(x.root);
    const g = await gnutlsCli(s, { caFile: ca, client: x.root, host: 'db.example.com' });
    assertRefused(g, /The name in the certificate does not match the expected/, 'gnutls-cli as db.example.com');
    const o = await sClient(s, { caFile: ca, client: x.root, host: 'db.example.com' });
    assertRefused(o, /hostname mismatch/, 's_client as db.example.com');
  });

  mtls('refused: a server cert from another CA', async () => {
    const x = await c();
    const f = await foreign(source);
    const s = await sServer(`openssl s_server ${tag} (foreign node.crt)`, f.node, trustOf(x.node));
    const r = await gnutlsCli(s, { caFile: trustOf(x.root), client: x.root });
    assertRefused(r, /The certificate is NOT trusted/, 'gnutls-cli to a foreign node');
    const o = await sClient(s, { caFile: trustOf(x.root), client: x.root });
    // s_server cannot complete this chain from our ca.crt and sends node.crt alone.
    assertRefused(o, /unable to get local issuer certificate/, 's_client to a foreign node');
  });

  mtls('refused: a client cert (EKU clientAuth only) used as a server cert', async () => {
    const x = await c();
    const ca = trustOf(x.node);
    // Control: the same strict clients accept node.crt as a server cert.
    const good = await nodeServer();
    assertOk(await sClient(good, { caFile: ca, client: x.node }), 's_client -purpose sslserver to node.crt');

    const s = await sServer(`openssl s_server ${tag} (client.root.crt as server cert)`, x.root, ca);
    const o = await sClient(s, { caFile: ca, client: x.node, host: 'localhost' });
    assertRefused(o, /unsuitable certificate purpose/, 's_client -purpose sslserver to client.root.crt');
    // GnuTLS checks the purpose by default (its name check fails too: a client cert has no SANs).
    const g = await gnutlsCli(s, { caFile: ca, client: x.node, host: 'localhost' });
    assertRefused(g, /does not match the intended purpose/, 'gnutls-cli to client.root.crt');
  });

  mtls.run();

  // GnuTLS server, OpenSSL client

  const gserv = suite(`mTLS ${tag}: gnutls-serv with node.crt`);
  gserv.after(stopAll);

  const gnutlsServer = once(async () => {
    const x = await c();
    return gnutlsServ(`gnutls-serv ${tag} (node.crt)`, x.node, trustOf(x.node));
  });

  gserv('openssl s_client presenting client.root verifies localhost; the server verifies the client', async () => {
    const x = await c();
    const s = await gnutlsServer();
    const mark = s.log().length;
    const r = await sClient(s, { caFile: trustOf(x.root), client: x.root, host: 'localhost' });
    assertOk(r, 's_client to gnutls-serv');
    assert.match(r.all, /Verified peername: localhost/);
    assert.match(r.all, /Verify return code: 0 \(ok\)/);
    assert.match(r.stdout, GNUTLS_PAGE, `no HTTP page in ${showRun(r)}`);
    assert.match(r.stdout, /Server Name: localhost/);
    await assertGnutlsVerifiedClient(s, 'root', mark, 'the client');
  });

  gserv('openssl s_client with the DER PKCS#8 key logs in as maxroach', async () => {
    const x = await c();
    const s = await gnutlsServer();
    const mark = s.log().length;
    const r = await sClient(s, { caFile: trustOf(x.maxroach), client: { cert: x.maxroach.cert, key: x.maxroach.pk8 }, keyform: 'DER' });
    assertOk(r, 's_client with .pk8 to gnutls-serv');
    assert.match(r.stdout, GNUTLS_PAGE, `no HTTP page in ${showRun(r)}`);
    await assertGnutlsVerifiedClient(s, 'maxroach', mark, 'the client');
  });

  gserv('node-to-node: node.crt as the client cert', async () => {
    const x = await c();
    const s = await gnutlsServer();
    const mark = s.log().length;
    const r = await sClient(s, { caFile: trustOf(x.node), client: x.node });
    assertOk(r, 's_client node.crt to gnutls-serv');
    assert.match(r.stdout, GNUTLS_PAGE, `no HTTP page in ${showRun(r)}`);
    await assertGnutlsVerifiedClient(s, 'node', mark, 'the client');
  });

  gserv('refused: a client cert from another CA', async () => {
    const x = await c();
    const f = await foreign(source);
    const s = await gnutlsServer();
    const mark = s.log().length;
    const r = await sClient(s, { caFile: trustOf(x.root), client: f.root });
    assertRefused(r, /alert access denied/, 's_client with a foreign client.root to gnutls-serv');
    await s.waitForLog(/Error in handshake: Error in the certificate/, mark);
  });

  gserv('refused: a host name or an IP not in the SANs', async () => {
    const x = await c();
    const s = await gnutlsServer();
    const r = await sClient(s, { caFile: trustOf(x.root), client: x.root, host: 'node1.example.com' });
    assertRefused(r, /hostname mismatch/, 's_client as node1.example.com');
    // The server answers on 127.0.0.1; the client expects it to be 127.0.0.2.
    const ip = await run(s, 'openssl', ['s_client', '-connect', `${LOOPBACK}:${s.port}`, '-verify_ip', '127.0.0.2', '-CAfile', trustOf(x.root), '-verify_return_error', '-cert', x.root.cert, '-key', x.root.key, '-ign_eof'], HTTP_GET);
    assertRefused(ip, /IP address mismatch/, 's_client -verify_ip 127.0.0.2');
  });

  gserv.run();
}

// ---------------------------------------------------------------------------------------------
// CA rotation through `certgen cert create-ca --overwrite`: ca.crt a bundle of the new and the
// old CA, so that leaves of either CA are trusted while they are being replaced

interface Rotation {
  bundle: string;
  oldCaOnly: string;
  newCaOnly: string;
  oldNode: Pair;
  newNode: Pair;
  oldRoot: Pair;
  newRoot: Pair;
}

const rotation = once(async (): Promise<Rotation> => {
  requireBinaries(BINARIES);
  const dir = tmpdir('certgen-tls-rotation-');
  const certsDir = path.join(dir, 'certs');
  const secrets = path.join(dir, 'secrets');
  mkdirSync(secrets, { mode: 0o700 });
  const oldKey = path.join(secrets, 'ca-old.key');
  const newKey = path.join(secrets, 'ca-new.key');
  const cert = (caKey: string, ...args: string[]): Promise<void> => certgen(['cert', ...args, '--certs-dir', certsDir, '--ca-key', caKey]);
  const keep = path.join(dir, 'old');
  mkdirSync(keep);
  const copy = (name: string): string => {
    const to = path.join(keep, name);
    copyFileSync(path.join(certsDir, name), to);
    return to;
  };

  await cert(oldKey, 'create-ca');
  await cert(oldKey, 'create-node', 'localhost', '127.0.0.1');
  await cert(oldKey, 'create-client', 'root');
  const oldCaOnly = copy('ca.crt');
  const oldNode = { cert: copy('node.crt'), key: copy('node.key') };
  const oldRoot = { cert: copy('client.root.crt'), key: copy('client.root.key') };

  // The rotation as cockroach documents it: a new CA key, whose certificate --overwrite prepends to
  // ca.crt; then new leaves, signed by the new key.
  await cert(newKey, 'create-ca', '--overwrite');
  await cert(newKey, 'create-node', 'localhost', '127.0.0.1', '--overwrite');
  await cert(newKey, 'create-client', 'root', '--overwrite');

  const bundle = path.join(certsDir, 'ca.crt');
  const first = pemBlocks(bundle)[0];
  if (first === undefined) throw new Error(`${bundle} holds no certificate`);
  const newCaOnly = path.join(dir, 'ca-new-only.crt');
  writeFileSync(newCaOnly, first);
  const p = (base: string): Pair => ({ cert: path.join(certsDir, `${base}.crt`), key: path.join(certsDir, `${base}.key`) });
  return { bundle, oldCaOnly, newCaOnly, oldNode, newNode: p('node'), oldRoot, newRoot: p('client.root') };
});

const rot = suite('CA rotation [cert]: create-ca --overwrite, the ca.crt bundle');
rot.after(stopAll);

rot('the bundle holds the new CA first and the old CA verbatim after it', async () => {
  const r = await rotation();
  const blocks = pemBlocks(r.bundle);
  assert.is(blocks.length, 2, 'two CA certificates in ca.crt');
  assert.is(blocks[1], readFileSync(r.oldCaOnly, 'latin1'), 'the old CA certificate, unchanged');
  assert.is.not(blocks[0], blocks[1]);
  assert.is(blocks[0], readFileSync(r.newCaOnly, 'latin1'));
});

rot('openssl verify and certtool --verify trust node certs of both CAs through the bundle, and each CA alone only its own', async () => {
  const r = await rotation();
  for (const node of [r.oldNode, r.newNode]) {
    await assertVerified(r.bundle, node.cert, ['-purpose', 'sslserver', '-verify_hostname', 'localhost']);
    await assertTrusted(r.bundle, node.cert, ['--verify-hostname', 'localhost', '--verify-purpose', SERVER_AUTH]);
  }
  for (const root of [r.oldRoot, r.newRoot]) await assertVerified(r.bundle, root.cert, ['-purpose', 'sslclient']);
  await assertNotVerified(r.newCaOnly, r.oldNode.cert, [], /unable to get local issuer certificate/);
  await assertNotVerified(r.oldCaOnly, r.newNode.cert, [], /unable to get local issuer certificate/);
  await assertNotTrusted(r.newCaOnly, r.oldNode.cert, [], /The certificate issuer is unknown\./);
  await assertNotTrusted(r.oldCaOnly, r.newNode.cert, [], /The certificate issuer is unknown\./);
});

rot('a node cert signed by the OLD CA is trusted through the bundle; the server takes a NEW client cert', async () => {
  const r = await rotation();
  const s = await sServer('openssl s_server (old node.crt, bundle)', r.oldNode, r.bundle);
  const g = await gnutlsCli(s, { caFile: r.bundle, client: r.newRoot });
  assertOk(g, 'gnutls-cli (bundle, new client.root) to the old node');
  assert.match(g.all, /Processed 2 CA certificate/);
  assertClientCN(g, 'root', 'gnutls-cli to the old node');
  const o = await sClient(s, { caFile: r.bundle, client: r.oldRoot });
  assertOk(o, 's_client (bundle, old client.root) to the old node');
  assertClientCN(o, 'root', 's_client to the old node');
  // Control: a client that trusts only the new CA refuses this node.
  const n = await gnutlsCli(s, { caFile: r.newCaOnly, client: r.newRoot });
  assertRefused(n, /The certificate is NOT trusted/, 'gnutls-cli trusting only the new CA');
});

rot('a node cert signed by the NEW CA is trusted through the bundle; the server takes an OLD client cert', async () => {
  const r = await rotation();
  const s = await sServer('openssl s_server (new node.crt, bundle)', r.newNode, r.bundle);
  const g = await gnutlsCli(s, { caFile: r.bundle, client: r.oldRoot });
  assertOk(g, 'gnutls-cli (bundle, old client.root) to the new node');
  assertClientCN(g, 'root', 'gnutls-cli to the new node');
  const o = await sClient(s, { caFile: r.bundle, client: r.newRoot });
  assertOk(o, 's_client (bundle, new client.root) to the new node');
  // Control: a client that still trusts only the old CA refuses the new node. The server sends the
  // new CA along with node.crt (OpenSSL completes the chain from its CA file), which this client
  // does not trust.
  const n = await sClient(s, { caFile: r.oldCaOnly, client: r.oldRoot });
  assertRefused(n, /self-signed certificate in certificate chain/, 's_client trusting only the old CA');
});

rot('gnutls-serv with the new node cert and the bundle: s_client with the old client cert and the old CA alone is refused, with the bundle accepted', async () => {
  const r = await rotation();
  const s = await gnutlsServ('gnutls-serv (new node.crt, bundle)', r.newNode, r.bundle);
  const mark = s.log().length;
  const ok = await sClient(s, { caFile: r.bundle, client: r.oldRoot });
  assertOk(ok, 's_client (bundle, old client.root) to gnutls-serv');
  assert.match(ok.stdout, GNUTLS_PAGE, `no HTTP page in ${showRun(ok)}`);
  await assertGnutlsVerifiedClient(s, 'root', mark, 'the old client cert');
  // Unlike s_server, gnutls-serv sends node.crt alone.
  const n = await sClient(s, { caFile: r.oldCaOnly, client: r.oldRoot });
  assertRefused(n, /unable to get local issuer certificate/, 's_client trusting only the old CA');
});

rot.run();

// ---------------------------------------------------------------------------------------------
// A separate client CA (`certgen cert create-client-ca`, ca-client.crt): nodes verify client
// certs against it

const splitCA = once(async () => {
  requireBinaries(BINARIES);
  const dir = tmpdir('certgen-tls-client-ca-');
  const certsDir = path.join(dir, 'certs');
  const secrets = path.join(dir, 'secrets');
  mkdirSync(secrets, { mode: 0o700 });
  const caKey = path.join(secrets, 'ca.key');
  const clientCaKey = path.join(secrets, 'ca-client.key');
  const cert = (key: string, ...args: string[]): Promise<void> => certgen(['cert', ...args, '--certs-dir', certsDir, '--ca-key', key]);
  await cert(caKey, 'create-ca');
  await cert(caKey, 'create-node', 'localhost', '127.0.0.1');
  // Made before ca-client.crt exists, so signed by ca.crt: not a valid client cert afterwards.
  await cert(caKey, 'create-client', 'maxroach');
  await cert(clientCaKey, 'create-client-ca');
  await cert(clientCaKey, 'create-client', 'root');
  const p = (base: string): Pair => ({ cert: path.join(certsDir, `${base}.crt`), key: path.join(certsDir, `${base}.key`) });
  return {
    ca: path.join(certsDir, 'ca.crt'),
    clientCa: path.join(certsDir, 'ca-client.crt'),
    node: p('node'),
    root: p('client.root'),
    nodeCaSigned: p('client.maxroach'),
  };
});

const split = suite('client CA [cert]: create-client-ca, ca-client.crt');
split.after(stopAll);

split('a node trusting ca-client.crt accepts a client cert it signed and refuses one signed by ca.crt', async () => {
  const x = await splitCA();
  const s = await sServer('openssl s_server (node.crt, ca-client.crt)', x.node, x.clientCa);
  const ok = await gnutlsCli(s, { caFile: x.ca, client: x.root });
  assertOk(ok, 'client.root signed by the client CA');
  assertClientCN(ok, 'root', 'client.root signed by the client CA');
  const bad = await gnutlsCli(s, { caFile: x.ca, client: x.nodeCaSigned });
  assertRefused(bad, /CA is unknown/, 'client.maxroach signed by ca.crt');
});

split('client.root chains to ca-client.crt and not to ca.crt; node.crt to ca.crt', async () => {
  const x = await splitCA();
  await assertVerified(x.clientCa, x.root.cert, ['-purpose', 'sslclient']);
  await assertNotVerified(x.ca, x.root.cert, [], /unable to get local issuer certificate/);
  await assertVerified(x.ca, x.node.cert, ['-purpose', 'sslserver', '-verify_hostname', 'localhost']);
  await assertNotVerified(x.clientCa, x.node.cert, [], /unable to get local issuer certificate/);
});

split.run();
