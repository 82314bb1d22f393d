// Every key type certgen writes (rsa, ecdsa-p256, ecdsa-p384, ed25519) and a mixed tree (an ECDSA
// CA signing RSA leaves, what CockroachDB's Helm chart gets from cert-manager), each made by
// `certgen cert …` and by `certgen apply` through the built CLI, used by the peers a CockroachDB
// cluster meets: a Go program of our own (crypto/x509 and crypto/tls are what CockroachDB runs),
// OpenSSL (`verify -x509_strict -purpose`, s_server/s_client mutual TLS), GnuTLS (`certtool
// --verify`, gnutls-cli), PostgreSQL (`hostssl … cert`) with psql and node-postgres over
// verify-full, pgjdbc with the DER PKCS#8 key, and headless Chromium against node.crt (the DB
// Console's client, which refuses Ed25519: the plan's warning). RSA trees get the same and more from
// tls.test.ts, verify.test.ts and postgres.test.ts; this file is the matrix, one cluster per tree
// and source, one run of each peer over all of them, so that it stays quick.
//
// Needs what those files need (openssl, gnutls-bin, postgresql, default-jdk-headless,
// libpostgresql-jdbc-java, golang-go, chromium) and `npm run build` (dist/cli.js). Servers listen on
// 127.0.0.1 and free ports, and are stopped in `after`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { KEY_TYPES, type KeyType } from '../../src/core/key-type.js';
import { type ClusterFiles, type Pair, type Source, SOURCES, makeCluster } from '../helpers/clusters.js';
import { ROOT, tmpdir } from '../helpers/index.js';
import { buildGo, goJsonLines } from '../helpers/go.js';
import { LOOPBACK } from '../helpers/net.js';
import { type PgNode, pgBin, pgClientEnv, startPgNode } from '../helpers/postgres.js';
import { type Server, startServer, stopAll } from '../helpers/server.js';
import { runChromium } from '../helpers/chromium.js';
import {
  CERTTOOL,
  CLIENT_AUTH,
  GNUTLS_CLI,
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
  gnutlsCli,
  once,
  requireBinaries,
  sClient,
  sServer,
  show,
  tool,
  trustOf,
} from './peers.js';

interface Tree {
  name: string;
  ca: KeyType;
  leaf: KeyType;
}

const TREES: Tree[] = [...KEY_TYPES.map((t) => ({ name: t, ca: t, leaf: t })), { name: 'ecdsa-p256 CA, rsa leaves', ca: 'ecdsa-p256', leaf: 'rsa' }];

interface Case {
  /** `ecdsa-p256 [apply]`. */
  name: string;
  tree: Tree;
  source: Source;
  x: ClusterFiles;
  /** Another case's cluster: the same names under another CA. */
  foreign: ClusterFiles;
}

/** How Go's crypto names what certgen writes. */
const GO_KEY: Record<KeyType, string> = { rsa: '*rsa.PrivateKey', 'ecdsa-p256': '*ecdsa.PrivateKey', 'ecdsa-p384': '*ecdsa.PrivateKey', ed25519: 'ed25519.PrivateKey' };
const GO_PUBLIC: Record<KeyType, string> = { rsa: 'RSA', 'ecdsa-p256': 'ECDSA', 'ecdsa-p384': 'ECDSA', ed25519: 'Ed25519' };
const GO_SIG: Record<KeyType, string> = { rsa: 'SHA256-RSA', 'ecdsa-p256': 'ECDSA-SHA256', 'ecdsa-p384': 'ECDSA-SHA384', ed25519: 'Ed25519' };
/** The PEM label of each key file, as Go and cockroach write them. */
const PEM_LABEL: Record<KeyType, string> = { rsa: 'RSA PRIVATE KEY', 'ecdsa-p256': 'EC PRIVATE KEY', 'ecdsa-p384': 'EC PRIVATE KEY', ed25519: 'PRIVATE KEY' };

/** `fn` over `items`, at most `limit` at a time (the machine has 2 cores), results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const cases = once(async (): Promise<Case[]> => {
  requireBinaries([OPENSSL, CERTTOOL, GNUTLS_CLI]);
  const made = await mapLimit(
    TREES.flatMap((tree) => SOURCES.map((source) => ({ tree, source }))),
    2,
    async ({ tree, source }) => ({ tree, source, x: await makeCluster(source, { label: `kt-${tree.ca}-${tree.leaf}`, caKeyType: tree.ca, keyType: tree.leaf }) }),
  );
  return made.map((c, i) => ({ ...c, name: `${c.tree.name} [${c.source}]`, foreign: (made[(i + 1) % made.length] as (typeof made)[number]).x }));
});

const pemLabel = (file: string): string | undefined => /^-----BEGIN ([A-Z ]+)-----\n/.exec(readFileSync(file, 'latin1'))?.[1];

/** Every ca.crt a party holds: one in the flat certs dir, or one beside each node's and client's files. */
function trustFiles(x: ClusterFiles): string[] {
  return [...new Set([x.ca, trustOf(x.node), trustOf(x.root), trustOf(x.maxroach)])];
}

// ---------------------------------------------------------------------------------------------
// Go: crypto/x509, tls.X509KeyPair, and mutual TLS as CockroachDB does it

const PEER_DIR = path.join(ROOT, 'test', 'integration', 'go', 'peer');

interface GoAnswer {
  ok: boolean;
  error?: string;
  certs?: { publicKeyAlgorithm: string; signatureAlgorithm: string; cn: string; isCA: boolean }[];
  keyType?: string;
  version?: string;
  serverSawCN?: string;
  clientSawCN?: string;
  serverError?: string;
  clientReceived?: string;
}

type GoRequest =
  | { op: 'load'; cert: string; key?: string; pk8?: string }
  | { op: 'mtls'; serverCert: string; serverKey: string; serverCA: string; clientCert: string; clientKey: string; clientCA: string; serverName: string; maxVersion: '1.2' | '1.3' };

function goPeer(requests: GoRequest[]): GoAnswer[] {
  return goJsonLines<GoAnswer>(buildGo(PEER_DIR), requests);
}

function mtls(server: Pair, serverCA: string, client: Pair, clientCA: string, serverName: string, maxVersion: '1.2' | '1.3'): GoRequest {
  return { op: 'mtls', serverCert: server.cert, serverKey: server.key, serverCA, clientCert: client.cert, clientKey: client.key, clientCA, serverName, maxVersion };
}

const go = suite('key types: Go (crypto/x509, tls.X509KeyPair, mutual TLS)');

go('every certificate and key of every tree loads in Go, written as Go writes keys; signatures follow the CA key', async () => {
  const all = await cases();
  for (const c of all) {
    const { x, tree } = c;
    assert.is(pemLabel(x.caKey), PEM_LABEL[tree.ca], `${c.name}: ca.key encoding`);
    for (const p of [x.node, x.root, x.maxroach]) assert.is(pemLabel(p.key), PEM_LABEL[tree.leaf], `${c.name}: ${path.basename(p.key)} encoding`);
    assert.is(readFileSync(x.maxroach.pk8)[0], 0x30, `${c.name}: the .pk8 is DER`);
  }
  const requests: GoRequest[] = [];
  const expect: { what: string; leaf?: KeyType; ca: KeyType; cn: string; isCA: boolean; certs: number }[] = [];
  for (const c of all) {
    const { x, tree } = c;
    for (const ca of trustFiles(x)) {
      requests.push({ op: 'load', cert: ca });
      expect.push({ what: `${c.name} ${path.relative(x.certsDir, ca)}`, ca: tree.ca, cn: 'Cockroach CA', isCA: true, certs: 1 });
    }
    requests.push({ op: 'load', cert: x.ca, key: x.caKey });
    expect.push({ what: `${c.name} ca.crt + ca.key`, leaf: tree.ca, ca: tree.ca, cn: 'Cockroach CA', isCA: true, certs: 1 });
    for (const [p, cn] of [[x.node, 'node'], [x.root, 'root'], [x.maxroach, 'maxroach']] as const) {
      requests.push({ op: 'load', cert: p.cert, key: p.key, ...(p === x.maxroach ? { pk8: x.maxroach.pk8 } : {}) });
      expect.push({ what: `${c.name} ${path.basename(p.cert)}`, leaf: tree.leaf, ca: tree.ca, cn, isCA: false, certs: 1 });
    }
  }
  const answers = goPeer(requests);
  answers.forEach((a, i) => {
    const e = expect[i] as (typeof expect)[number];
    assert.ok(a.ok, `${e.what}: Go: ${a.error}`);
    assert.is(a.certs?.length, e.certs, `${e.what}: certificates`);
    const cert = a.certs?.[0];
    assert.is(cert?.cn, e.cn, `${e.what}: CN`);
    assert.is(cert?.isCA, e.isCA, `${e.what}: IsCA`);
    assert.is(cert?.publicKeyAlgorithm, GO_PUBLIC[e.isCA ? e.ca : (e.leaf as KeyType)], `${e.what}: public key algorithm`);
    assert.is(cert?.signatureAlgorithm, GO_SIG[e.ca], `${e.what}: signature algorithm`);
    if (e.leaf) assert.is(a.keyType, GO_KEY[e.leaf], `${e.what}: tls.X509KeyPair's private key`);
  });
});

go('mutual TLS node↔client and node↔node over TLS 1.3 and 1.2; refused: a foreign client cert, a client cert as the server cert', async () => {
  const all = await cases();
  const requests: GoRequest[] = [];
  const names: string[] = [];
  for (const c of all) {
    const { x } = c;
    const nodeCA = trustOf(x.node);
    requests.push(mtls(x.node, nodeCA, x.root, trustOf(x.root), 'localhost', '1.3'));
    requests.push(mtls(x.node, nodeCA, x.maxroach, trustOf(x.maxroach), '127.0.0.1', '1.2'));
    requests.push(mtls(x.node, nodeCA, x.node, nodeCA, 'localhost', '1.3'));
    requests.push(mtls(x.node, nodeCA, x.node, nodeCA, '127.0.0.1', '1.2'));
    requests.push(mtls(x.node, nodeCA, c.foreign.root, trustOf(x.root), 'localhost', '1.3'));
    requests.push(mtls(x.root, nodeCA, x.node, nodeCA, 'localhost', '1.3'));
    names.push(c.name);
  }
  const answers = goPeer(requests);
  names.forEach((name, i) => {
    const [root, maxroach, node13, node12, foreignClient, clientAsServer] = answers.slice(i * 6, i * 6 + 6) as [GoAnswer, GoAnswer, GoAnswer, GoAnswer, GoAnswer, GoAnswer];
    for (const [a, cn, version, what] of [
      [root, 'root', '1.3', 'client.root, TLS 1.3, server name localhost'],
      [maxroach, 'maxroach', '1.2', 'client.maxroach, TLS 1.2, server name 127.0.0.1'],
      [node13, 'node', '1.3', 'node↔node, TLS 1.3'],
      [node12, 'node', '1.2', 'node↔node, TLS 1.2'],
    ] as const) {
      assert.ok(a.ok, `${name} ${what}: ${a.error}`);
      assert.is(a.version, version, `${name} ${what}: version`);
      assert.is(a.serverSawCN, cn, `${name} ${what}: the client's CN, as the server saw it`);
      assert.is(a.clientSawCN, 'node', `${name} ${what}: the server's CN, as the client saw it`);
      assert.is(a.clientReceived, `hello ${cn}, you said ping\n`, `${name} ${what}: data`);
    }
    assert.not.ok(foreignClient.ok, `${name}: a client cert of another CA was accepted`);
    assert.match(foreignClient.serverError ?? '', /x509: certificate signed by unknown authority/, `${name}: foreign client cert: ${JSON.stringify(foreignClient)}`);
    assert.not.ok(clientAsServer.ok, `${name}: a client cert was accepted as a server cert`);
    // A client cert has no SANs (and no serverAuth): Go refuses it as a server's.
    assert.match(clientAsServer.error ?? '', /x509: certificate (specifies an incompatible key usage|is not valid for any names)/, `${name}: client cert as server: ${JSON.stringify(clientAsServer)}`);
  });
});

go.run();

// ---------------------------------------------------------------------------------------------
// OpenSSL and GnuTLS path validation

const paths = suite('key types: openssl verify -x509_strict -purpose, certtool --verify');

paths('openssl verify -x509_strict: node.crt for sslserver (by name and IP) and sslclient, client certs for sslclient; refused: a client cert for sslserver, another CA', async () => {
  const all = await cases();
  await mapLimit(all, 2, async (c) => {
    const { x } = c;
    const ca = trustOf(x.node);
    await assertVerified(ca, x.node.cert, ['-purpose', 'sslserver', '-verify_hostname', 'localhost']);
    await assertVerified(ca, x.node.cert, ['-purpose', 'sslserver', '-verify_ip', '127.0.0.1']);
    await assertVerified(ca, x.node.cert, ['-purpose', 'sslclient']);
    await assertVerified(trustOf(x.root), x.root.cert, ['-purpose', 'sslclient']);
    await assertVerified(trustOf(x.maxroach), x.maxroach.cert, ['-purpose', 'sslclient']);
    await assertNotVerified(ca, x.root.cert, ['-purpose', 'sslserver'], /unsuitable certificate purpose/);
    await assertNotVerified(trustOf(c.foreign.node), x.node.cert, ['-purpose', 'sslserver'], /unable to get local issuer certificate/);
  });
});

paths('certtool --verify: node.crt for TLS server (by name) and client, client certs for TLS client; refused: another CA', async () => {
  const all = await cases();
  await mapLimit(all, 2, async (c) => {
    const { x } = c;
    const ca = trustOf(x.node);
    await assertTrusted(ca, x.node.cert, ['--verify-hostname', 'localhost', '--verify-purpose', SERVER_AUTH]);
    await assertTrusted(ca, x.node.cert, ['--verify-purpose', CLIENT_AUTH]);
    await assertTrusted(trustOf(x.root), x.root.cert, ['--verify-purpose', CLIENT_AUTH]);
    await assertTrusted(trustOf(x.maxroach), x.maxroach.cert, ['--verify-purpose', CLIENT_AUTH]);
    await assertNotTrusted(trustOf(c.foreign.node), x.node.cert, [], /The certificate issuer is unknown\./);
  });
});

paths.run();

// ---------------------------------------------------------------------------------------------
// Mutual TLS with openssl s_server, s_client and gnutls-cli

const handshakes = suite('key types: openssl s_server with node.crt; openssl s_client and gnutls-cli');
handshakes.after(stopAll);

handshakes('client.root (s_client), client.maxroach (gnutls-cli; s_client with the .pk8), node↔node (s_client; gnutls-cli over TLS 1.2); refused: a foreign client cert', async () => {
  const all = await cases();
  await mapLimit(all, 2, async (c) => {
    const { x } = c;
    const s: Server = await sServer(`openssl s_server ${c.name}`, x.node, trustOf(x.node));
    try {
      const root = await sClient(s, { caFile: trustOf(x.root), client: x.root });
      assertOk(root, `${c.name}: s_client client.root`);
      assert.match(root.all, /Verify return code: 0 \(ok\)/, `${c.name}: s_client client.root`);
      assertClientCN(root, 'root', `${c.name}: s_client client.root`);
      const pk8 = await sClient(s, { caFile: trustOf(x.maxroach), client: { cert: x.maxroach.cert, key: x.maxroach.pk8 }, keyform: 'DER' });
      assertOk(pk8, `${c.name}: s_client with client.maxroach.key.pk8`);
      assertClientCN(pk8, 'maxroach', `${c.name}: s_client with the .pk8`);
      const g = await gnutlsCli(s, { caFile: trustOf(x.maxroach), client: x.maxroach, host: '127.0.0.1' });
      assertOk(g, `${c.name}: gnutls-cli client.maxroach`);
      assert.match(g.all, /Status: The certificate is trusted/, `${c.name}: gnutls-cli client.maxroach`);
      assertClientCN(g, 'maxroach', `${c.name}: gnutls-cli client.maxroach`);
      assert.match(g.all, /Description: \(TLS1\.3-X\.509\)/, `${c.name}: gnutls-cli client.maxroach`);
      for (const [r, what] of [
        [await sClient(s, { caFile: trustOf(x.node), client: x.node }), 's_client'],
        [await gnutlsCli(s, { caFile: trustOf(x.node), client: x.node }, ['--priority', 'NORMAL:-VERS-ALL:+VERS-TLS1.2']), 'gnutls-cli, TLS 1.2'],
      ] as const) {
        assertOk(r, `${c.name}: node↔node, ${what}`);
        assertClientCN(r, 'node', `${c.name}: node↔node, ${what}`);
      }
      const bad = await gnutlsCli(s, { caFile: trustOf(x.root), client: c.foreign.root });
      assertRefused(bad, /alert[\s\S]*CA is unknown/, `${c.name}: gnutls-cli with a foreign client.root`);
    } finally {
      await s.stop();
    }
  });
});

handshakes.run();

// ---------------------------------------------------------------------------------------------
// Chromium, the DB Console's client: why the plan warns about Ed25519 node and CA keys

/** `openssl s_server -www` with `pair`, no client certificate asked for (a browser has none). */
function httpsServer(name: string, pair: Pair): Promise<Server> {
  return startServer({
    ...SERVER,
    name,
    build: (port) => ({ cmd: 'openssl', args: ['s_server', '-accept', `${LOOPBACK}:${port}`, '-cert', pair.cert, '-key', pair.key, '-www'] }),
  });
}

/**
 * A HOME whose NSS database (Chromium's trust store on Linux, ~/.pki/nssdb) trusts `ca` for TLS
 * servers; certutil's output when it would not take the certificate.
 */
async function nssHome(ca: string): Promise<{ home: string; refused?: string }> {
  const home = tmpdir('certgen-kt-nss-');
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true, mode: 0o700 });
  const init = await tool('certutil', ['-d', db, '-N', '--empty-password']);
  if (init.code !== 0) throw new Error(show('certutil -N', init));
  const add = await tool('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'certgen test CA', '-i', ca]);
  return add.code === 0 ? { home } : { home, refused: add.out };
}

/** The tree the plan's CA warning is about: an Ed25519 CA signing RSA node certificates. */
const edCaTree = once(() => makeCluster('apply', { label: 'kt-ed25519-ca-rsa', caKeyType: 'ed25519', keyType: 'rsa' }));

/** certutil, to make Chromium's trust store. */
const NSS_CERTUTIL: [string, string] = ['certutil', 'libnss3-tools'];

const browser = suite('key types: Chromium, trusting the CA, against node.crt (the DB Console)');
browser.after(stopAll);

browser('Chromium validates and loads every tree [apply] but where a key is Ed25519: an Ed25519 node key fails the handshake, an Ed25519 CA is not trusted', async () => {
  requireBinaries([NSS_CERTUTIL]);
  const trees = [...(await cases()).filter((c) => c.source === 'apply').map((c) => ({ name: c.name, ca: c.tree.ca, leaf: c.tree.leaf, x: c.x })), { name: 'ed25519 CA, rsa leaves [apply]', ca: 'ed25519' as KeyType, leaf: 'rsa' as KeyType, x: await edCaTree() }];
  await mapLimit(trees, 2, async (t) => {
    const nss = await nssHome(trustOf(t.x.node));
    const s = await httpsServer(`openssl s_server -www ${t.name}`, t.x.node);
    try {
      const r = await runChromium(['--dump-dom', `https://localhost:${s.port}/`], 60_000, { HOME: nss.home });
      const what = `${t.name}: chromium exit ${r.code}:\n${r.stderr}\n${r.stdout.slice(0, 300)}`;
      if (t.leaf === 'ed25519') {
        // No browser offers Ed25519 signatures in the handshake.
        assert.match(r.stderr, /Page load failed: net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH/, what);
        await s.waitForLog(/no suitable signature algorithm/, 0);
      } else if (t.ca === 'ed25519') {
        // NSS cannot even take an Ed25519 CA certificate into its database.
        assert.match(nss.refused ?? '', /SEC_ERROR_ADDING_CERT/, `${t.name}: certutil took the Ed25519 CA: ${nss.refused}`);
        assert.match(r.stderr, /Page load failed: net::ERR_CERT_AUTHORITY_INVALID/, what);
      } else {
        assert.is(nss.refused, undefined, `${t.name}: certutil: ${nss.refused}`);
        assert.is(r.code, 0, what);
        assert.match(r.stdout, /Protocol *: TLSv1\.3/, `${t.name}: the s_server page over TLS 1.3, the chain validated: ${what}`);
      }
      if (t.leaf === 'ed25519' || t.ca === 'ed25519') assert.not.match(r.stdout, /s_server/, `${t.name}: a page loaded`);
    } finally {
      await s.stop();
    }
  });
});

browser.run();

// ---------------------------------------------------------------------------------------------
// PostgreSQL (hostssl … cert) with psql, node-postgres and pgjdbc

interface PgCase {
  c: Case;
  node: PgNode;
}

/** One server per case, each with that case's node.crt, node.key and ca.crt (copies). */
let pgStarted: Promise<PgCase[]> | undefined;
const pgServers = (): Promise<PgCase[]> => (pgStarted ??= startPgServers());
async function startPgServers(): Promise<PgCase[]> {
  const all = await cases();
  return mapLimit(all, 2, async (c) => {
    const dir = path.join(tmpdir('certgen-kt-pg-'), 'tls');
    mkdirSync(dir, { mode: 0o700 });
    copyFileSync(c.x.node.cert, path.join(dir, 'node.crt'));
    copyFileSync(c.x.node.key, path.join(dir, 'node.key'));
    copyFileSync(trustOf(c.x.node), path.join(dir, 'ca.crt'));
    return { c, node: await startPgNode(dir, { roles: ['root', 'maxroach'] }) };
  });
}

const CLIENT_TIMEOUT_MS = 15_000;

/** psql with verify-full to `host` as root, the query's one value. */
async function psql(p: PgCase, host: string): Promise<{ code: number; out: string }> {
  const { x } = p.c;
  const conninfo = { host, ...(host === 'localhost' ? { hostaddr: LOOPBACK } : {}), port: p.node.port, user: 'root', dbname: 'postgres', sslmode: 'verify-full', sslrootcert: trustOf(x.root), sslcert: x.root.cert, sslkey: x.root.key };
  const line = Object.entries(conninfo)
    .map(([k, v]) => `${k}='${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' ');
  const sql = "SELECT current_user || ' ' || s.version || ' ' || s.client_dn FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()";
  const r = await execa(path.join(pgBin(), 'psql'), [line, '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: pgClientEnv(tmpdir('certgen-kt-home-')),
    extendEnv: false,
    reject: false,
    all: true,
    timeout: CLIENT_TIMEOUT_MS,
    encoding: 'utf8',
  });
  return { code: r.exitCode ?? -1, out: (r.all ?? '').trim() };
}

/** node-postgres as maxroach to 127.0.0.1 (CA pinned, the server's IP SAN checked). */
async function pgLogin(p: PgCase): Promise<string> {
  const { x } = p.c;
  const client = new pg.Client({
    host: LOOPBACK,
    port: p.node.port,
    user: 'maxroach',
    database: 'postgres',
    ssl: { ca: readFileSync(trustOf(x.maxroach)), cert: readFileSync(x.maxroach.cert), key: readFileSync(x.maxroach.key) },
    connectionTimeoutMillis: 5_000,
    query_timeout: 5_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query<{ u: string }>("SELECT current_user || ' ' || s.version AS u FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()");
    return r.rows[0]?.u ?? '(no row)';
  } catch (err) {
    return `error ${(err as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const JDBC_JAR = '/usr/share/java/postgresql.jar';
const JDBC_PROBE = path.join(ROOT, 'test', 'integration', 'jdbc', 'PgProbe.java');

function jdbcUrl(p: PgCase): string {
  const { x } = p.c;
  const params = {
    user: 'maxroach',
    sslmode: 'verify-full',
    sslrootcert: trustOf(x.maxroach),
    sslcert: x.maxroach.cert,
    sslkey: x.maxroach.pk8,
    gssEncMode: 'disable',
    connectTimeout: '5',
    loginTimeout: '10',
    socketTimeout: '10',
  };
  return `jdbc:postgresql://localhost:${p.node.port}/postgres?${Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&')}`;
}

/** PgProbe's line for each server, from one JVM. */
async function jdbc(servers: PgCase[]): Promise<string[]> {
  if (!existsSync(JDBC_JAR)) throw new Error(`${JDBC_JAR} not found: install the Debian package libpostgresql-jdbc-java`);
  const urls = servers.map(jdbcUrl);
  const r = await execa('java', ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', JDBC_JAR, JDBC_PROBE, ...urls], {
    env: pgClientEnv(tmpdir('certgen-kt-home-')),
    extendEnv: false,
    reject: false,
    timeout: 60_000,
    encoding: 'utf8',
  });
  const lines = (r.stdout ?? '').split('\n').filter((l) => l !== '');
  if (lines.length !== urls.length) throw new Error(`PgProbe.java (a JDK: default-jdk-headless) answered ${lines.length} of ${urls.length} logins (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  return lines;
}

const postgres = suite('key types: PostgreSQL hostssl cert logins (psql, node-postgres, pgjdbc)');
// Servers that started are in helpers/server.ts's registry, also when another one failed.
postgres.after(stopAll);

postgres('psql (client.root, verify-full, by name and by IP) and node-postgres (client.maxroach, by IP) log in with each tree', async () => {
  const servers = await pgServers();
  await mapLimit(servers, 2, async (p) => {
    for (const host of ['localhost', LOOPBACK]) {
      const r = await psql(p, host);
      assert.is(r.code, 0, `${p.c.name}: psql to ${host}: ${r.out}`);
      assert.match(r.out, /^root TLSv1\.3 \/O=Cockroach\/CN=root$/, `${p.c.name}: psql to ${host}`);
    }
    assert.is(await pgLogin(p), 'maxroach TLSv1.3', `${p.c.name}: node-postgres`);
  });
});

postgres('pgjdbc with client.maxroach.key.pk8 logs in with every tree, Ed25519 included (JDK 17)', async () => {
  const servers = await pgServers();
  const lines = await jdbc(servers);
  servers.forEach((p, i) => assert.is(lines[i], 'ok maxroach TLSv1.3', `${p.c.name}: pgjdbc`));
});

postgres.run();
