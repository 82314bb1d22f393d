// certgen's certificates through OpenSSL's and GnuTLS's path validation, offline: the checks a TLS
// peer makes before it trusts a certificate (chain to ca.crt, extended key usage for the role,
// host name or IP in the SANs), run by `openssl verify -x509_strict`, `openssl x509 -checkhost
// -checkip` and `certtool --verify`, for a cluster made by `certgen cert …` and one made by
// `certgen apply` — each party trusting the ca.crt in its own folder. What must be refused is: a
// client cert as a server cert, a name or IP outside the SANs, a certificate of another CA.
// The same certificates in real handshakes: tls.test.ts.
//
// Needs the Debian packages openssl and gnutls-bin (certtool).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ClusterFiles, type Pair, type Source, SOURCES } from '../helpers/clusters.js';
import { tmpdir } from '../helpers/index.js';
import { CERTTOOL, CLIENT_AUTH, OPENSSL, SERVER_AUTH, assertNotTrusted, assertNotVerified, assertTrusted, assertVerified, cluster, foreign, requireBinaries, show, tool, trustOf } from './peers.js';

/** node.crt followed by ca.crt, as a server sends them. */
function chainOf(p: Pair, label: string): string {
  const file = path.join(tmpdir(`certgen-verify-${label}-`), 'chain.pem');
  writeFileSync(file, readFileSync(p.cert, 'latin1') + readFileSync(trustOf(p), 'latin1'));
  return file;
}

for (const source of SOURCES) defineSuite(source);

function defineSuite(source: Source): void {
  const c = async (): Promise<ClusterFiles> => {
    requireBinaries([OPENSSL, CERTTOOL]);
    return cluster(source);
  };
  const test = suite(`verify [${source}]: openssl verify, x509 -checkhost, certtool --verify`);

  test('openssl verify -x509_strict: node.crt is an sslserver and an sslclient cert, client certs are sslclient certs', async () => {
    const x = await c();
    const ca = trustOf(x.node);
    // The CA itself, under the strict rules for CA certificates (critical basicConstraints,
    // keyCertSign, key identifiers), its self-signature checked too.
    await assertVerified(ca, ca, ['-check_ss_sig']);
    await assertVerified(ca, x.node.cert, ['-purpose', 'sslserver']);
    await assertVerified(ca, x.node.cert, ['-purpose', 'sslclient']);
    await assertVerified(trustOf(x.root), x.root.cert, ['-purpose', 'sslclient']);
    await assertVerified(trustOf(x.maxroach), x.maxroach.cert, ['-purpose', 'sslclient']);
  });

  test('openssl verify: a client cert is not an sslserver cert', async () => {
    const x = await c();
    for (const p of [x.root, x.maxroach]) {
      await assertNotVerified(trustOf(p), p.cert, ['-purpose', 'sslserver'], /unsuitable certificate purpose/);
    }
  });

  test('openssl: node.crt matches localhost and 127.0.0.1 (verify -verify_hostname/-verify_ip, x509 -checkhost/-checkip)', async () => {
    const x = await c();
    const ca = trustOf(x.node);
    await assertVerified(ca, x.node.cert, ['-purpose', 'sslserver', '-verify_hostname', 'localhost']);
    await assertVerified(ca, x.node.cert, ['-purpose', 'sslserver', '-verify_ip', '127.0.0.1']);
    const r = await tool('openssl', ['x509', '-in', x.node.cert, '-noout', '-checkhost', 'localhost', '-checkip', '127.0.0.1']);
    assert.is(r.code, 0, show('x509 -checkhost', r));
    assert.match(r.out, /^Hostname localhost does match certificate$/m, show('x509 -checkhost localhost', r));
    assert.match(r.out, /^IP 127\.0\.0\.1 does match certificate$/m, show('x509 -checkip 127.0.0.1', r));
  });

  test('openssl: names and IPs outside the SANs do not match, the CN "node" included', async () => {
    const x = await c();
    const ca = trustOf(x.node);
    // CN=node is no host name: with DNS SANs present, OpenSSL (like every RFC 6125 client) never
    // falls back to the CN.
    for (const host of ['db.example.com', 'node', 'localhost.localdomain']) {
      await assertNotVerified(ca, x.node.cert, ['-verify_hostname', host], /hostname mismatch/);
    }
    for (const ip of ['127.0.0.2', '::1']) {
      await assertNotVerified(ca, x.node.cert, ['-verify_ip', ip], /IP address mismatch/);
    }
    // x509 -checkhost reports a mismatch on stdout but still exits 0: the text is the verdict.
    const r = await tool('openssl', ['x509', '-in', x.node.cert, '-noout', '-checkhost', 'db.example.com', '-checkip', '127.0.0.2']);
    assert.match(r.out, /^Hostname db\.example\.com does NOT match certificate$/m, show('x509 -checkhost db.example.com', r));
    assert.match(r.out, /^IP 127\.0\.0\.2 does NOT match certificate$/m, show('x509 -checkip 127.0.0.2', r));
  });

  test('openssl verify: certificates of another CA are refused, and ours under its CA', async () => {
    const x = await c();
    const f = await foreign(source);
    for (const p of [f.node, f.root]) {
      await assertNotVerified(trustOf(x.node), p.cert, [], /unable to get local issuer certificate/);
    }
    await assertNotVerified(trustOf(f.node), x.node.cert, [], /unable to get local issuer certificate/);
  });

  test('certtool --verify: node.crt and the chain node.crt + ca.crt for serverAuth as localhost and as 127.0.0.1', async () => {
    const x = await c();
    const ca = trustOf(x.node);
    const chain = chainOf(x.node, source);
    for (const infile of [x.node.cert, chain]) {
      for (const host of ['localhost', '127.0.0.1']) {
        await assertTrusted(ca, infile, ['--verify-hostname', host, '--verify-purpose', SERVER_AUTH]);
      }
    }
  });

  test('certtool --verify: client certs and node.crt for clientAuth', async () => {
    const x = await c();
    for (const p of [x.root, x.maxroach, x.node]) {
      await assertTrusted(trustOf(p), p.cert, ['--verify-purpose', CLIENT_AUTH]);
    }
  });

  test('certtool --verify: refused: a client cert for serverAuth', async () => {
    const x = await c();
    for (const p of [x.root, x.maxroach]) {
      await assertNotTrusted(trustOf(p), p.cert, ['--verify-purpose', SERVER_AUTH], /The certificate chain does not match the intended purpose\./);
    }
  });

  test('certtool --verify: refused: a name or an IP outside the SANs', async () => {
    const x = await c();
    for (const host of ['db.example.com', 'node', '127.0.0.2']) {
      await assertNotTrusted(trustOf(x.node), x.node.cert, ['--verify-hostname', host], /The name in the certificate does not match the expected\./);
    }
  });

  test('certtool --verify: refused: certificates of another CA, and ours under its CA', async () => {
    const x = await c();
    const f = await foreign(source);
    for (const p of [f.node, f.root]) {
      await assertNotTrusted(trustOf(x.node), p.cert, [], /The certificate issuer is unknown\./);
    }
    await assertNotTrusted(trustOf(f.node), chainOf(x.node, source), [], /The certificate issuer is unknown\./);
  });

  test.run();
}
