// The project's Go programs (Debian golang-go, GOPROXY off, no modules fetched), built once per test
// process into a temporary folder. Go's crypto/x509 and crypto/tls are what CockroachDB runs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { tmpdir } from './index.js';

const tmp = tmpdir('certgen-go-');
const built = new Map<string, string>();

export function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local', GOWORK: 'off', CGO_ENABLED: '0', GOCACHE: path.join(tmp, 'gocache'), GOPATH: path.join(tmp, 'gopath'), GOTELEMETRY: 'off' };
}

/** Builds the Go program in `dir` (once); throws, naming golang-go, when there is no toolchain. */
export function buildGo(dir: string): string {
  const known = built.get(dir);
  if (known) return known;
  const out = path.join(tmp, `prog${built.size}`);
  const r = spawnSync('go', ['build', '-o', out, '.'], { cwd: dir, env: goEnv(), encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the Go toolchain (`go`) is not on PATH: install the Debian package golang-go');
  if (r.status !== 0) throw new Error(`go build in ${dir} failed:\n${r.stderr}`);
  built.set(dir, out);
  return out;
}

/** One JSON request a line in, one JSON answer a line out. */
export function goJsonLines<A>(bin: string, requests: object[]): A[] {
  const r = spawnSync(bin, [], { input: requests.map((q) => JSON.stringify(q)).join('\n') + '\n', env: goEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} failed: ${r.stderr}${r.error ?? ''}`);
  const out = r.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as A);
  if (out.length !== requests.length) throw new Error(`${requests.length} requests, ${out.length} answers`);
  return out;
}

export interface KeyCheckAnswer {
  ok: boolean;
  error?: string;
  type?: string;
  bits?: number;
  curve?: string;
  /** base64 (Go's []byte in JSON). */
  spki?: string;
  native?: string;
  pkcs8?: string;
  sigAlg?: string;
}

const KEYCHECK = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../pki/read/go/keycheck');

/** Go's verdicts (test/pki/read/go/keycheck): `key` (tls's parsePrivateKey), `pair` (tls.LoadX509KeyPair), `sig` (CheckSignatureFrom). */
export function keycheck(requests: ({ op: 'key'; key: string } | { op: 'pair'; cert: string; key: string } | { op: 'sig'; cert: string; ca: string })[]): KeyCheckAnswer[] {
  return goJsonLines<KeyCheckAnswer>(buildGo(KEYCHECK), requests);
}
