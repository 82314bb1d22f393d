// The verification probe against real servers: PostgreSQL (the SQL path: SSLRequest, then TLS,
// as CockroachDB speaks it) serving a node's files, and OpenSSL s_server for the raw-TLS RPC (ALPN
// h2) and HTTP paths. What the probe reads is checked against a second decoder (openssl x509's
// DER and SHA-256 fingerprint); compare.ts's verdicts against openssl verify and openssl x509
// -checkhost/-checkip; client certificates accepted and refused, with TLS 1.3 (the refusal after
// the handshake) and TLS 1.2 (in it); the poll loop catching a reload and naming both
// fingerprints when a node keeps its old certificate.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { makeCluster, type ClusterFiles } from '../helpers/clusters.js';
import { bin, openssl, opensslStatus, setup, tmpdir } from '../helpers/index.js';
import { LOOPBACK, freePort } from '../helpers/net.js';
import { startPgNode, type PgNode } from '../helpers/postgres.js';
import { startServer, stopAll, type Server } from '../helpers/server.js';
import { expectedFrom, hostPasses, judge, verifyChain } from '../../src/verify/compare.js';
import { probeEndpoint, probeNode, type ClientCredentials } from '../../src/verify/probe.js';
import { PROBE_COMMON_NAME, clientCredentials, probeCredentials } from '../../src/verify/probe-cert.js';
import { verifyEndpoint } from '../../src/verify/verify.js';
import { X509Certificate } from 'node:crypto';

interface World {
  c: ClusterFiles;
  foreign: ClusterFiles;
  /** Another node certificate of the same CA (the "old" one). */
  other: { cert: string; key: string };
  pg: PgNode;
  /** The folder pg serves. */
  served: string;
  rpc: Server;
  http: Server;
  http12: Server;
}

const w = {} as World;

async function otherNodeCert(c: ClusterFiles): Promise<{ cert: string; key: string }> {
  const dir = tmpdir('certgen-other-node-');
  copyFileSync(c.ca, path.join(dir, 'ca.crt'));
  const r = await bin(['cert', 'create-node', 'localhost', '127.0.0.1', '--certs-dir', dir, '--ca-key', c.caKey]);
  if (r.code !== 0) throw new Error(`create-node failed: ${r.stderr}`);
  return { cert: path.join(dir, 'node.crt'), key: path.join(dir, 'node.key') };
}

function sServer(name: string, args: string[]): Promise<Server> {
  return startServer({
    name,
    build: (port) => ({ cmd: 'openssl', args: ['s_server', '-accept', `${LOOPBACK}:${port}`, '-cert', w.c.node.cert, '-key', w.c.node.key, '-CAfile', w.c.ca, ...args] }),
    startTimeoutMs: 10_000,
    retry: ({ log, exited }) => exited && /in use|bind/i.test(log),
  });
}

function serve(dir: string, files: { cert: string; key: string }, ca: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  copyFileSync(ca, path.join(dir, 'ca.crt'));
  copyFileSync(files.cert, path.join(dir, 'node.crt'));
  copyFileSync(files.key, path.join(dir, 'node.key'));
}

async function derSha256(certFile: string): Promise<{ sha256: string; fingerprint: string }> {
  const der = await execa('openssl', ['x509', '-in', certFile, '-outform', 'DER'], { encoding: 'buffer' });
  const sum = await execa('sha256sum', [], { input: der.stdout });
  const fp = await openssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256']);
  return { sha256: sum.stdout.split(' ')[0] ?? '', fingerprint: fp.trim().replace(/^sha256 Fingerprint=/i, '') };
}

const creds = (c: ClusterFiles, label = 'client root'): ClientCredentials => ({ label, cert: readFileSync(c.root.cert, 'latin1'), key: readFileSync(c.root.key), user: 'root' });

const expected = (hosts = ['localhost', '127.0.0.1']) => expectedFrom(readFileSync(w.c.node.cert), readFileSync(w.c.ca), hosts);

const s = suite('verify probe: real servers');
setup(s, async () => {
  w.c = await makeCluster('apply', { label: 'probe' });
  w.foreign = await makeCluster('apply', { label: 'probe-foreign' });
  w.other = await otherNodeCert(w.c);
  w.served = path.join(tmpdir('certgen-pg-served-'), 'certs');
  serve(w.served, w.c.node, w.c.ca);
  w.pg = await startPgNode(w.served, { roles: ['root'] });
  // RPC: ALPN h2, a client certificate required (TLS 1.3: the verdict after the handshake);
  // -rev answers every line it receives, so the h2 preface gets an answer.
  w.rpc = await sServer('s_server rpc', ['-alpn', 'h2', '-rev', '-Verify', '1', '-verify_return_error']);
  w.http = await sServer('s_server http', ['-www']);
  w.http12 = await sServer('s_server http tls1.2', ['-www', '-tls1_2', '-Verify', '1', '-verify_return_error']);
});
s.after(async () => {
  await w.pg?.stop();
  await stopAll();
});

s('sql: the SSLRequest then TLS; the leaf is node.crt as openssl reads it, and it passes every check', async () => {
  const p = await probeEndpoint({ kind: 'sql', host: LOOPBACK, port: w.pg.port });
  assert.ok(p.reached, p.error ?? '');
  assert.is(p.protocol, 'TLSv1.3');
  const ref = await derSha256(w.c.node.cert);
  assert.is(p.leaf?.sha256, ref.sha256);
  assert.is(p.leaf?.fingerprint, ref.fingerprint);
  const j = judge(p, expected(), new Date());
  assert.ok(j.ok, j.problems.join('\n'));
  assert.equal(j.hosts, [{ host: 'localhost', ok: true }, { host: '127.0.0.1', ok: true }]);
  const notCovered = judge(p, expected(['localhost', 'db.example.com']), new Date());
  assert.not.ok(notCovered.ok);
  assert.ok(notCovered.leafMatches);
  assert.match(notCovered.problems.join('\n'), /not valid for db\.example\.com/);
});

s('another certificate of the same CA: the leaf does not match, and the problem names both fingerprints', async () => {
  const p = await probeEndpoint({ kind: 'sql', host: LOOPBACK, port: w.pg.port });
  const want = expectedFrom(readFileSync(w.other.cert), readFileSync(w.c.ca), ['localhost']);
  const j = judge(p, want, new Date());
  assert.not.ok(j.ok);
  assert.not.ok(j.leafMatches);
  assert.ok(j.chainVerifies, 'same CA: the chain still verifies');
  const text = j.problems.join('\n');
  assert.ok(text.includes((await derSha256(w.c.node.cert)).fingerprint), text);
  assert.ok(text.includes((await derSha256(w.other.cert)).fingerprint), text);
});

s('sql: a client certificate of the CA is accepted; one of another CA is refused after the TLS 1.3 handshake', async () => {
  const ok = await probeEndpoint({ kind: 'sql', host: LOOPBACK, port: w.pg.port }, { client: creds(w.c) });
  assert.ok(ok.reached);
  assert.is(ok.client?.accepted, true, ok.client?.detail);
  const bad = await probeEndpoint({ kind: 'sql', host: LOOPBACK, port: w.pg.port }, { client: creds(w.foreign, 'client root (foreign CA)') });
  assert.ok(bad.reached, 'the handshake itself completes with TLS 1.3');
  assert.is(bad.protocol, 'TLSv1.3');
  assert.is(bad.client?.accepted, false, bad.client?.detail);
  assert.match(bad.client?.detail ?? '', /unknown ca|certificate/i);
  assert.match(judge(bad, expected(), new Date()).problems.join('\n'), /client root \(foreign CA\) refused/);
});

s('the in-memory probe certificate: signed by the CA (openssl verify -purpose sslclient), accepted by the server', async () => {
  const before = Date.now();
  const probe = await probeCredentials(w.c.ca, w.c.caKey, new Date());
  const x = new X509Certificate(probe.cert);
  assert.match(x.subject, new RegExp(`CN=${PROBE_COMMON_NAME}`));
  assert.ok(new Date(x.validTo).getTime() <= before + 16 * 60_000, 'valid for one run only');
  const file = path.join(tmpdir('certgen-probe-cert-'), 'probe.crt');
  writeFileSync(file, probe.cert);
  const v = await opensslStatus(['verify', '-CAfile', w.c.ca, '-purpose', 'sslclient', file]);
  assert.is(v.code, 0, v.out);
  assert.match(probe.key.toString('latin1'), /^-----BEGIN PRIVATE KEY-----/);
  const p = await probeEndpoint({ kind: 'sql', host: LOOPBACK, port: w.pg.port }, { client: probe });
  assert.is(p.client?.accepted, true, p.client?.detail);
  const foreignProbe = await probeCredentials(w.foreign.ca, w.foreign.caKey, new Date());
  const refused = await probeEndpoint({ kind: 'rpc', host: LOOPBACK, port: w.rpc.port }, { client: foreignProbe });
  assert.is(refused.client?.accepted, false, refused.client?.detail);
  probe.key.fill(0);
  foreignProbe.key.fill(0);
});

s('--verify-client USER reads that client\'s files; a user without them is a clear error', async () => {
  const cr = await clientCredentials(w.c.certsDir, 'root');
  assert.is(cr.label, 'client root');
  assert.is(cr.cert, readFileSync(w.c.root.cert, 'latin1'));
  const err = await clientCredentials(w.c.certsDir, 'nobody').then(() => undefined, (e: Error) => e);
  assert.match(err?.message ?? '', /--verify-client nobody: cannot read .*client\.nobody\.crt: ENOENT/);
});

s('rpc: raw TLS with ALPN h2; the client verdict from the server\'s first HTTP/2 bytes or its alert', async () => {
  const p = await probeEndpoint({ kind: 'rpc', host: LOOPBACK, port: w.rpc.port });
  assert.ok(p.reached, p.error ?? '');
  assert.is(p.alpn, 'h2');
  assert.ok(judge(p, expected(), new Date()).ok);
  const ok = await probeEndpoint({ kind: 'rpc', host: LOOPBACK, port: w.rpc.port }, { client: creds(w.c) });
  assert.is(ok.client?.accepted, true, ok.client?.detail);
  const bad = await probeEndpoint({ kind: 'rpc', host: LOOPBACK, port: w.rpc.port }, { client: creds(w.foreign) });
  assert.ok(bad.reached);
  assert.is(bad.client?.accepted, false, bad.client?.detail);
  assert.match(bad.client?.detail ?? '', /alert unknown ca/);
});

s('http: raw TLS; a GET answered; with TLS 1.2 a refused client certificate ends the handshake', async () => {
  const p = await probeEndpoint({ kind: 'http', host: LOOPBACK, port: w.http.port }, { client: creds(w.c) });
  assert.ok(p.reached);
  assert.is(p.alpn, null);
  assert.is(p.client?.accepted, true);
  assert.match(p.client?.detail ?? '', /HTTP\/1\.0 200/);
  const ok12 = await probeEndpoint({ kind: 'http', host: LOOPBACK, port: w.http12.port }, { client: creds(w.c) });
  assert.is(ok12.protocol, 'TLSv1.2');
  assert.is(ok12.client?.accepted, true, ok12.client?.detail);
  const bad12 = await probeEndpoint({ kind: 'http', host: LOOPBACK, port: w.http12.port }, { client: creds(w.foreign) });
  assert.not.ok(bad12.reached);
  assert.is(bad12.failure, 'handshake');
  assert.is(bad12.client?.accepted, false);
  assert.match(bad12.client?.detail ?? '', /during the handshake: .*unknown ca/);
});

s('probeNode: every endpoint at once, in sql, rpc, http order', async () => {
  const all = await probeNode(LOOPBACK, { http: w.http.port, sql: w.pg.port, rpc: w.rpc.port });
  assert.equal(all.map((p) => [p.kind, p.port, p.reached]), [['sql', w.pg.port, true], ['rpc', w.rpc.port, true], ['http', w.http.port, true]]);
});

s('the wrong kind of port and a closed port are clear failures', async () => {
  const raw = await probeEndpoint({ kind: 'sql', host: LOOPBACK, port: w.http.port });
  assert.not.ok(raw.reached);
  assert.is(raw.failure, 'no-tls');
  assert.match(raw.error ?? '', /not a PostgreSQL\/CockroachDB SQL port/);
  const closed = await freePort();
  for (const kind of ['sql', 'rpc', 'http'] as const) {
    const p = await probeEndpoint({ kind, host: LOOPBACK, port: closed });
    assert.is(p.failure, 'connect', `${kind}: ${p.error}`);
    assert.match(p.error ?? '', /connection refused by 127\.0\.0\.1:\d+/);
    assert.match(judge(p, expected(), new Date()).problems.join(''), /connection refused/);
  }
});

s('verifyChain agrees with openssl verify: the same CA, another CA, and a time after the leaf expired', async () => {
  const p = await probeEndpoint({ kind: 'http', host: LOOPBACK, port: w.http.port });
  const roots = (file: string): Buffer[] => expectedFrom(readFileSync(w.c.node.cert), readFileSync(file), []).roots;
  const leaf = p.chain[0] as Buffer;
  const notAfter = new Date(new X509Certificate(leaf).validTo);
  const cases: Array<[string, string, Date]> = [
    ['own CA', w.c.ca, new Date()],
    ['foreign CA', w.foreign.ca, new Date()],
    ['after expiry', w.c.ca, new Date(notAfter.getTime() + 86_400_000)],
  ];
  for (const [what, ca, at] of cases) {
    const ours = verifyChain(p.chain, roots(ca), at);
    const theirs = await opensslStatus(['verify', '-CAfile', ca, '-purpose', 'sslserver', '-attime', String(Math.floor(at.getTime() / 1000)), w.c.node.cert]);
    assert.is(ours === undefined, theirs.code === 0, `${what}: certgen says ${ours ?? 'ok'}, openssl says ${theirs.out}`);
  }
  assert.match(verifyChain(p.chain, roots(w.foreign.ca), new Date()) ?? '', /not signed by the local ca\.crt/);
});

s('hostPasses agrees with openssl x509 -checkhost / -checkip', async () => {
  const cert = new X509Certificate(readFileSync(w.c.node.cert));
  for (const host of ['localhost', '127.0.0.1', 'LOCALHOST', 'db.example.com', '10.0.0.1', '::1', '127.0.0.2']) {
    const ip = /^[\d.]+$|:/.test(host);
    const out = await openssl(['x509', '-in', w.c.node.cert, '-noout', ip ? '-checkip' : '-checkhost', host]);
    assert.is(hostPasses(cert, host), /does match/.test(out) && !/does NOT match/.test(out), `${host}: openssl says ${out.trim()}`);
  }
});

s('verifyEndpoint polls until a reload makes the server present the new certificate', async () => {
  const dir = path.join(tmpdir('certgen-pg-swap-'), 'certs');
  serve(dir, w.other, w.c.ca);
  const pg = await startPgNode(dir);
  try {
    const ep = { kind: 'sql' as const, host: LOOPBACK, port: pg.port };
    const retries: string[] = [];
    const swap = (async () => {
      await new Promise((r) => setTimeout(r, 700));
      serve(dir, w.c.node, w.c.ca);
      await pg.reload();
    })();
    const v = await verifyEndpoint(ep, expected(), { timeoutMs: 15_000, onRetry: (_e, j) => retries.push(j.problems.join('; ')) });
    await swap;
    assert.ok(v.ok, v.error ?? '');
    assert.ok(v.attempts > 1, `attempts: ${v.attempts}`);
    assert.ok(retries.length > 0);
    assert.ok(retries[0]?.includes((await derSha256(w.other.cert)).fingerprint), retries[0]);
  } finally {
    await pg.stop();
  }
});

s('verifyEndpoint: a server that keeps its old certificate fails at the timeout, naming both fingerprints', async () => {
  const dir = path.join(tmpdir('certgen-pg-stale-'), 'certs');
  serve(dir, w.other, w.c.ca);
  const pg = await startPgNode(dir);
  try {
    const started = Date.now();
    const v = await verifyEndpoint({ kind: 'sql', host: LOOPBACK, port: pg.port }, expected(), { timeoutMs: 1_500 });
    assert.not.ok(v.ok);
    assert.ok(Date.now() - started < 6_000);
    const old = (await derSha256(w.other.cert)).fingerprint;
    const want = (await derSha256(w.c.node.cert)).fingerprint;
    assert.match(v.error ?? '', new RegExp(`still presents SHA-256 ${old} after 1\\.5s, not the local node\\.crt's ${want}`));
  } finally {
    await pg.stop();
  }
});

s.run();
