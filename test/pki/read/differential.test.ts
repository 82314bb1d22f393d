// The strict certificate reader (src/pki/read/cert.ts) against Go's crypto/x509, which is what a
// CockroachDB node runs on every certificate it loads (pkg/security: PEMToCertificates →
// x509.ParseCertificate), with `openssl x509` as a second opinion. Issue 10 item 2.
//
// For every corpus case (test/pki/read/corpus.ts):
//   - our reader accepts exactly when Go accepts;
//   - when both accept, the facts agree field by field;
//   - when Go refuses with an `x509: …` message, CertReadError.message is exactly Go's text.
// Where OpenSSL and Go disagree, Go wins; those cases are printed, not failed.
//
// Needs the Go toolchain (Debian: golang-go) and openssl; without Go the tests FAIL.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildCorpus, type CorpusCase } from './corpus.js';
import { CertReadError, type CertFacts } from '../../../src/pki/read/types.js';

interface GoVerdict {
  file: string;
  ok: boolean;
  error: string;
  unhandledCritical: boolean;
  dns: string[];
  ips: string[];
  uris: string[];
  emails: string[];
  notBefore: string;
  notAfter: string;
  serial: string;
  version: number;
  cn: string;
  keyBits: number;
}

type Ours = { ok: true; facts: CertFacts } | { ok: false; error: unknown };

interface Row {
  c: CorpusCase;
  go: GoVerdict;
  openssl: { ok: boolean; error: string };
}

const GO_DIR = new URL('./go/x509check/', import.meta.url).pathname;
const READER = '../../../src/pki/read/cert.js';

function goEnv(tmp: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOFLAGS: '-mod=mod',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    GOWORK: 'off',
    CGO_ENABLED: '0',
    GOCACHE: path.join(tmp, 'gocache'),
    GOPATH: path.join(tmp, 'gopath'),
    GOTELEMETRY: 'off',
  };
}

/** Builds x509check into `tmp`; throws (naming golang-go) when there is no Go toolchain. */
function buildGo(tmp: string): string {
  const bin = path.join(tmp, 'x509check');
  const r = spawnSync('go', ['build', '-o', bin, '.'], { cwd: GO_DIR, env: goEnv(tmp), encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('the Go toolchain (`go`) is not on PATH: this differential test needs it; install the Debian package golang-go (apt-get install golang-go)');
  }
  if (r.status !== 0) throw new Error(`go build of test/pki/read/go/x509check failed (is golang-go installed?):\n${r.stderr}${r.error ?? ''}`);
  return bin;
}

function runGo(bin: string, files: string[], tmp: string): GoVerdict[] {
  const r = spawnSync(bin, [], { input: files.join('\n') + '\n', env: goEnv(tmp), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`x509check failed: ${r.stderr}${r.error ?? ''}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as GoVerdict);
  assert.is(lines.length, files.length, 'x509check answers once per file');
  return lines;
}

/** `openssl x509 -inform DER -noout` on every file, in one shell loop. */
function runOpenssl(files: string[]): { ok: boolean; error: string }[] {
  const script = 'for f in "$@"; do if e=$(openssl x509 -inform DER -noout -in "$f" 2>&1); then echo "ok"; else echo "fail $(printf %s "$e" | head -n 1)"; fi; done';
  const r = spawnSync('sh', ['-c', script, 'sh', ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`openssl loop failed: ${r.stderr}${r.error ?? ''}`);
  const lines = r.stdout.trimEnd().split('\n');
  assert.is(lines.length, files.length, 'openssl answers once per file');
  return lines.map((l) => (l === 'ok' ? { ok: true, error: '' } : { ok: false, error: l.slice(5) }));
}

let state: Promise<{ rows: Row[]; goVersion: string }> | undefined;
function setup(): Promise<{ rows: Row[]; goVersion: string }> {
  state ??= (async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'certgen-x509diff-'));
    process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
    const bin = buildGo(tmp);
    const goVersion = spawnSync('go', ['version'], { env: goEnv(tmp), encoding: 'utf8' }).stdout.trim();
    const corpus = await buildCorpus();
    const files = corpus.map((c, i) => {
      const f = path.join(tmp, `${String(i).padStart(3, '0')}.der`);
      writeFileSync(f, c.der);
      return f;
    });
    const go = runGo(bin, files, tmp);
    const openssl = runOpenssl(files);
    return { goVersion, rows: corpus.map((c, i) => ({ c, go: go[i] as GoVerdict, openssl: openssl[i] as { ok: boolean; error: string } })) };
  })();
  return state;
}

let reader: Promise<(der: Uint8Array) => CertFacts> | undefined;
function loadReader(): Promise<(der: Uint8Array) => CertFacts> {
  reader ??= (async () => {
    let mod: { parseCertificate?: (der: Uint8Array) => CertFacts };
    try {
      mod = (await import(READER)) as typeof mod;
    } catch (e) {
      throw new Error(`src/pki/read/cert.ts (parseCertificate) could not be loaded: ${(e as Error).message}`);
    }
    if (typeof mod.parseCertificate !== 'function') throw new Error('src/pki/read/cert.ts does not export parseCertificate');
    return mod.parseCertificate;
  })();
  return reader;
}

function ours(parse: (der: Uint8Array) => CertFacts, der: Uint8Array): Ours {
  try {
    return { ok: true, facts: parse(Uint8Array.from(der)) };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(e: unknown): string {
  if (e instanceof CertReadError) return `CertReadError(${e.code}) ${JSON.stringify(e.message)}`;
  if (e instanceof Error) return `${e.name} (not CertReadError) ${JSON.stringify(e.message)}`;
  return `non-error thrown: ${String(e)}`;
}

const goSays = (g: GoVerdict) => (g.ok ? `accepts${g.unhandledCritical ? ' (unhandled critical ext)' : ''}` : `refuses ${JSON.stringify(g.error)}`);

function report(title: string, lines: string[]): void {
  console.log(`\n${title}: ${lines.length === 0 ? 'none' : lines.length}`);
  for (const l of lines) console.log(`  ${l}`);
}

/**
 * Go's big.Int Text(16) and node:crypto's serialNumber (the reader's documented format) both print
 * sign and magnitude (`-7FFE…`); node pads to whole bytes (`01`), Go does not (`1`): drop leading zeros.
 */
function serialNorm(s: string): string {
  const m = /^(-?)(.*)$/.exec(s.toUpperCase()) as RegExpExecArray;
  return `${m[1]}${(m[2] ?? '').replace(/^0+(?=.)/, '')}`;
}
const iso = (d: Date) => (Number.isNaN(d.getTime()) ? `Invalid Date` : d.toISOString().replace(/\.000Z$/, 'Z'));

function factDiffs(g: GoVerdict, f: CertFacts): string[] {
  const diffs: string[] = [];
  const cmp = (field: string, go: unknown, us: unknown) => {
    if (JSON.stringify(go) !== JSON.stringify(us)) diffs.push(`${field}: go ${JSON.stringify(go)} ours ${JSON.stringify(us)}`);
  };
  cmp('dns', g.dns, f.san.dns);
  cmp('ips', g.ips, f.san.ips);
  cmp('uris', g.uris, f.san.uris);
  cmp('emails', g.emails, f.san.emails);
  cmp('notBefore', g.notBefore, iso(f.notBefore));
  cmp('notAfter', g.notAfter, iso(f.notAfter));
  cmp('serial', serialNorm(g.serial), serialNorm(f.serial));
  cmp('version', g.version, f.version);
  cmp('subject CN', g.cn, f.subject.cn ?? '');
  if (g.keyBits > 0) cmp('RSA key bits', g.keyBits, f.publicKey.bits);
  cmp('unhandledCritical', g.unhandledCritical, f.unhandledCritical.length > 0);
  return diffs;
}

const corpus = suite('read: differential corpus');

corpus('the corpus holds at least 15 certificates Go accepts and 15 it refuses', async () => {
  const { rows, goVersion } = await setup();
  const accepted = rows.filter((r) => r.go.ok).length;
  const refused = rows.length - accepted;
  // Verdicts depend on the Go release (e.g. Go ≥ 1.23 refuses negative serials, newer cryptobyte
  // refuses non-minimal OIDs): say which one judged.
  console.log(`\ncorpus: ${rows.length} cases, ${goVersion}: accepts ${accepted}, refuses ${refused}`);
  assert.ok(accepted >= 15, `only ${accepted} accepted cases`);
  assert.ok(refused >= 15, `only ${refused} refused cases`);
  // Every certificate certgen writes must be one Go accepts, or the corpus is built wrong.
  for (const r of rows.filter((r) => !r.c.name.startsWith('mut/'))) assert.ok(r.go.ok, `${r.c.name}: Go refuses ${r.go.error}`);
});

corpus('Go and OpenSSL disagreements (printed; Go wins)', async () => {
  const { rows } = await setup();
  const lines = rows.filter((r) => r.go.ok !== r.openssl.ok).map((r) => `${r.c.name}: Go ${goSays(r.go)}; OpenSSL ${r.openssl.ok ? 'accepts' : `refuses (${r.openssl.error})`}`);
  report('Go vs OpenSSL disagreements', lines);
});

corpus('parseCertificate accepts exactly what Go accepts', async () => {
  const { rows } = await setup();
  const parse = await loadReader();
  const lines: string[] = [];
  for (const r of rows) {
    const o = ours(parse, r.c.der);
    if (o.ok !== r.go.ok) lines.push(`${r.c.name}: Go ${goSays(r.go)}; ours ${o.ok ? 'accepts' : `refuses ${describeError(o.error)}`}`);
    else if (!o.ok && !(o.error instanceof CertReadError)) lines.push(`${r.c.name}: Go ${goSays(r.go)}; ours throws ${describeError(o.error)}`);
  }
  report('verdict disagreements with Go', lines);
  assert.equal(lines, []);
});

corpus('when both accept, the facts agree with Go field by field', async () => {
  const { rows } = await setup();
  const parse = await loadReader();
  const lines: string[] = [];
  for (const r of rows) {
    if (!r.go.ok) continue;
    const o = ours(parse, r.c.der);
    if (!o.ok) continue; // counted by the verdict test
    for (const d of factDiffs(r.go, o.facts)) lines.push(`${r.c.name}: ${d}`);
  }
  report('fact disagreements with Go', lines);
  assert.equal(lines, []);
});

corpus("when Go refuses with an x509: message, CertReadError.message is exactly Go's", async () => {
  const { rows } = await setup();
  const parse = await loadReader();
  const lines: string[] = [];
  for (const r of rows) {
    if (r.go.ok || !r.go.error.startsWith('x509: ')) continue;
    const o = ours(parse, r.c.der);
    if (o.ok) continue; // counted by the verdict test
    const msg = o.error instanceof Error ? o.error.message : String(o.error);
    if (msg !== r.go.error) lines.push(`${r.c.name}: Go ${JSON.stringify(r.go.error)}; ours ${describeError(o.error)}`);
  }
  report('message disagreements with Go', lines);
  assert.equal(lines, []);
});

corpus.run();
