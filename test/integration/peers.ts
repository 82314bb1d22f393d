// What the TLS interop suites (tls.test.ts, verify.test.ts) share: the check that the peers'
// binaries are installed, lazy set-ups (uvu 0.5 swallows errors thrown in `before` hooks, so tests
// call these and fail with the reason), one cluster per source made by the built CLI (shared
// between the files when uvu runs them in one process; no test changes one), and assertions on
// `openssl verify` and `certtool --verify` that check the reason of a refusal.
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { bin } from '../helpers/index.js';
import { LOOPBACK } from '../helpers/net.js';
import { type Server, startServer } from '../helpers/server.js';
import { type ClusterFiles, type Pair, type Source, makeCluster } from '../helpers/clusters.js';

export const OPENSSL: [string, string] = ['openssl', 'openssl'];
export const CERTTOOL: [string, string] = ['certtool', 'gnutls-bin'];
export const GNUTLS_CLI: [string, string] = ['gnutls-cli', 'gnutls-bin'];
export const GNUTLS_SERV: [string, string] = ['gnutls-serv', 'gnutls-bin'];

function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Throws naming the Debian packages of the binaries (program, package) that are not on PATH. */
export function requireBinaries(binaries: Array<[string, string]>): void {
  const missing = binaries.filter(([b]) => !onPath(b));
  if (missing.length > 0) {
    throw new Error(`missing ${missing.map(([b, pkg]) => `${b} (Debian package ${pkg})`).join(', ')}: apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')}`);
  }
}

export function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

const clusters = new Map<string, Promise<ClusterFiles>>();
function memo(key: string, make: () => Promise<ClusterFiles>): Promise<ClusterFiles> {
  let p = clusters.get(key);
  if (p === undefined) clusters.set(key, (p = make()));
  return p;
}

/** The cluster under test: a CA, node.crt for localhost and 127.0.0.1, clients root and maxroach. */
export function cluster(source: Source): Promise<ClusterFiles> {
  return memo(`main ${source}`, () => makeCluster(source, { label: 'tls' }));
}

/** Another cluster made the same way: the same names and subjects under a different CA. */
export function foreign(source: Source): Promise<ClusterFiles> {
  return memo(`foreign ${source}`, () => makeCluster(source, { label: 'tls-foreign' }));
}

/** The trust anchors a node or client holds: the ca.crt beside its certificate (`certgen apply`
 * writes one into every node and client folder; `certgen cert` keeps one flat certs dir). */
export function trustOf(p: Pair): string {
  return path.join(path.dirname(p.cert), 'ca.crt');
}

export function pemBlocks(file: string): string[] {
  return [...readFileSync(file, 'latin1').matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)].map((m) => m[0]);
}

/** `certgen args` through the built CLI; throws with its output when it fails. */
export async function certgen(args: string[]): Promise<void> {
  const r = await bin(args);
  if (r.code !== 0) throw new Error(`certgen ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
}

export const TOOL_TIMEOUT_MS = 10_000;

export interface ToolResult {
  code: number;
  /** stdout and stderr interleaved. */
  out: string;
}

/** An offline tool run (openssl verify, certtool --verify), bounded by a timeout. */
export async function tool(cmd: string, args: string[]): Promise<ToolResult> {
  const r = await execa(cmd, args, { reject: false, all: true, timeout: TOOL_TIMEOUT_MS, forceKillAfterDelay: 1_000, encoding: 'utf8', stdin: 'ignore' });
  if (r.timedOut) throw new Error(`${cmd} ${args.join(' ')} timed out after ${TOOL_TIMEOUT_MS} ms:\n${r.all ?? ''}`);
  return { code: r.exitCode ?? -1, out: r.all ?? '' };
}

// ---------------------------------------------------------------------------------------------
// Path validation by openssl verify and certtool --verify

export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export function show(what: string, r: ToolResult): string {
  return `${what}: exit ${r.code}:\n${r.out}`;
}

/** `openssl verify -x509_strict -CAfile ca … cert`. */
function osslVerify(ca: string, cert: string, extra: string[]): Promise<ToolResult> {
  return tool('openssl', ['verify', '-x509_strict', '-CAfile', ca, ...extra, cert]);
}

export async function assertVerified(ca: string, cert: string, extra: string[]): Promise<void> {
  const r = await osslVerify(ca, cert, extra);
  const what = `openssl verify -CAfile ${path.basename(ca)} ${extra.join(' ')} ${path.basename(cert)}`;
  assert.is(r.code, 0, show(what, r));
  assert.ok(r.out.trim().endsWith(`${cert}: OK`), show(what, r));
}

/** A refusal with OpenSSL's reason, for the leaf (depth 0). */
export async function assertNotVerified(ca: string, cert: string, extra: string[], reason: RegExp): Promise<void> {
  const r = await osslVerify(ca, cert, extra);
  const what = `openssl verify -CAfile ${path.basename(ca)} ${extra.join(' ')} ${path.basename(cert)}`;
  assert.is.not(r.code, 0, `expected a refusal, got ${show(what, r)}`);
  assert.match(r.out, reason, show(what, r));
  assert.match(r.out, /error \d+ at 0 depth lookup/, show(what, r));
  assert.match(r.out, /verification failed/, show(what, r));
}

/** `certtool --verify`: the medium profile (112-bit security: RSA-2048 and SHA-256 pass; `high`
 * would want 3072-bit keys, more than cockroach's default) rather than certtool's default, which
 * it warns will change. */
function certtool(ca: string, infile: string, extra: string[]): Promise<ToolResult> {
  return tool('certtool', ['--verify', '--verify-profile', 'medium', '--load-ca-certificate', ca, '--infile', infile, ...extra]);
}

export async function assertTrusted(ca: string, infile: string, extra: string[]): Promise<void> {
  const r = await certtool(ca, infile, extra);
  const what = `certtool --verify --load-ca-certificate ${path.basename(ca)} ${extra.join(' ')} ${path.basename(infile)}`;
  assert.is(r.code, 0, show(what, r));
  assert.match(r.out, /Chain verification output: Verified\. The certificate is trusted\./, show(what, r));
}

export async function assertNotTrusted(ca: string, infile: string, extra: string[], reason: RegExp): Promise<void> {
  const r = await certtool(ca, infile, extra);
  const what = `certtool --verify --load-ca-certificate ${path.basename(ca)} ${extra.join(' ')} ${path.basename(infile)}`;
  assert.is.not(r.code, 0, `expected a refusal, got ${show(what, r)}`);
  assert.match(r.out, /Chain verification output: Not verified\. The certificate is NOT trusted\./, show(what, r));
  assert.match(r.out, reason, show(what, r));
}

// ---------------------------------------------------------------------------------------------
// TLS peers on 127.0.0.1: openssl s_server, and the openssl s_client and gnutls-cli clients

export const CLIENT_TIMEOUT_MS = 10_000;
export const SERVER_START_TIMEOUT_MS = 10_000;
export const HTTP_GET = 'GET / HTTP/1.0\r\n\r\n';

/** What every server here is started with (see helpers/server.ts). */
export const SERVER = {
  startTimeoutMs: SERVER_START_TIMEOUT_MS,
  // A port taken between freePort and bind is worth another try; anything else is not.
  retry: ({ log, exited }: { log: string; exited: boolean }) => exited && /in use|bind/i.test(log),
};

export interface RunResult {
  code: number;
  stdout: string;
  /** stdout and stderr interleaved. */
  all: string;
  timedOut: boolean;
}

/** `cmd args` where `server` listens (in its network namespace, for gnutls-serv). */
export async function run(server: Server, cmd: string, args: string[], input: string): Promise<RunResult> {
  const [c, a] = server.wrap(cmd, args);
  const r = await execa(c, a, { input, reject: false, all: true, timeout: CLIENT_TIMEOUT_MS, forceKillAfterDelay: 1_000, encoding: 'utf8' });
  return { code: r.exitCode ?? -1, stdout: r.stdout ?? '', all: r.all ?? '', timedOut: r.timedOut };
}

export function showRun(r: RunResult): string {
  return `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}:\n${r.all}`;
}

export function assertOk(r: RunResult, what: string): void {
  assert.not.ok(r.timedOut, `${what}: client timed out\n${showRun(r)}`);
  assert.is(r.code, 0, `${what}: expected success, got ${showRun(r)}`);
}

/** A refused handshake: a prompt non-zero exit, the expected reason, and no application data. */
export function assertRefused(r: RunResult, reason: RegExp, what: string): void {
  assert.not.ok(r.timedOut, `${what}: client timed out instead of failing\n${showRun(r)}`);
  assert.is.not(r.code, 0, `${what}: expected a failed handshake, got ${showRun(r)}`);
  assert.match(r.all, reason, `${what}: expected ${reason} in ${showRun(r)}`);
  assert.not.match(r.all, /HTTP\/1\.0 200/, `${what}: data got through: ${showRun(r)}`);
}

// ---------------------------------------------------------------------------------------------
// TLS servers and clients

/** `openssl s_server -www`: requires and verifies a client cert; answers a GET with a status page
 * that includes the client certificate it verified, then closes. */
export function sServer(name: string, server: Pair, caFile: string): Promise<Server> {
  return startServer({
    ...SERVER,
    name,
    build: (port) => ({
      cmd: 'openssl',
      args: ['s_server', '-accept', `${LOOPBACK}:${port}`, '-cert', server.cert, '-key', server.key, '-CAfile', caFile, '-Verify', '1', '-verify_return_error', '-www'],
    }),
  });
}

export interface ClientOpts {
  caFile: string;
  client?: Pair;
  /** The name the server certificate must carry (SAN check). */
  host?: string;
}

/** gnutls-cli to 127.0.0.1, verifying the server as `host` against `caFile`, sending one GET; at
 * the end of its input it half-closes and reads until the server closes. */
export function gnutlsCli(s: Server, o: ClientOpts, extra: string[] = []): Promise<RunResult> {
  const args = ['--x509cafile', o.caFile, '--verify-hostname', o.host ?? 'localhost', ...extra];
  if (o.client) args.push('--x509certfile', o.client.cert, '--x509keyfile', o.client.key);
  args.push('--port', String(s.port), LOOPBACK);
  return run(s, 'gnutls-cli', args, HTTP_GET);
}

/** openssl s_client to 127.0.0.1 with SNI and host name verification as `host`, failing on any
 * verification error, checking the server cert's purpose (sslserver), sending one GET. */
export function sClient(s: Server, o: ClientOpts & { keyform?: 'PEM' | 'DER' }): Promise<RunResult> {
  const host = o.host ?? 'localhost';
  const args = ['s_client', '-connect', `${LOOPBACK}:${s.port}`, '-servername', host, '-verify_hostname', host, '-CAfile', o.caFile, '-verify_return_error', '-purpose', 'sslserver', '-ign_eof'];
  if (o.client) args.push('-cert', o.client.cert, '-key', o.client.key, ...(o.keyform ? ['-keyform', o.keyform] : []));
  return run(s, 'openssl', args, HTTP_GET);
}

/** s_server -www prints the verified client certificate as `Subject: O=Cockroach, CN=<cn>`. */
export function assertClientCN(r: RunResult, cn: string, what: string): void {
  assert.match(r.stdout, /HTTP\/1\.0 200 ok/, `${what}: no HTTP response in ${showRun(r)}`);
  const m = /Client certificate[\s\S]*?Subject: ([^\n]*)/.exec(r.stdout);
  assert.ok(m, `${what}: the server saw no client certificate: ${showRun(r)}`);
  // X509_print's spacing varies between OpenSSL builds: compare without blanks around `=`.
  assert.is(m?.[1]?.trim().replace(/\s*=\s*/g, '='), `O=Cockroach, CN=${cn}`, `${what}: client certificate subject`);
}

