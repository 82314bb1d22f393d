// Go's crypto/x509 verdict on certificates certgen wrote: the project's x509check program
// (test/pki/read/go/x509check, x509.ParseCertificate on each file, one JSON line each), built once
// per test process with the Debian golang-go toolchain the suite requires.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from '../helpers/index.js';

export interface GoVerdict {
  file: string;
  ok: boolean;
  error: string;
  dns: string[];
  ips: string[];
  uris: string[];
  notBefore: string;
  notAfter: string;
  cn: string;
  serial: string;
  version: number;
  keyBits: number;
  /** pkix.Name.String(): RFC 2253 order, most specific first (`CN=10,OU=Tenants,O=Cockroach`). */
  subject: string;
  issuer: string;
  /** x509.KeyUsage bits: digitalSignature 1, contentCommitment 2, keyEncipherment 4, certSign 32. */
  keyUsage: number;
  extKeyUsage: string[];
  basicConstraints: boolean;
  isCA: boolean;
  maxPathLen: number;
  publicKeyAlgorithm: string;
  signatureAlgorithm: string;
  subjectKeyId: string;
  authorityKeyId: string;
  /** With a key file given: `ok`, or tls.X509KeyPair's error. */
  keyPair?: string;
}

const GO_DIR = new URL('../pki/read/go/x509check/', import.meta.url).pathname;
const tmp = tmpdir('certgen-go-judge-');
let bin: string | undefined;

function env(): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local', GOWORK: 'off', CGO_ENABLED: '0', GOCACHE: path.join(tmp, 'gocache'), GOPATH: path.join(tmp, 'gopath'), GOTELEMETRY: 'off' };
}

/**
 * x509.ParseCertificate on the first certificate of each PEM file; a `[cert, key]` pair is also
 * loaded with tls.X509KeyPair.
 */
export function goParse(pemFiles: (string | [string, string])[]): GoVerdict[] {
  if (bin === undefined) {
    const out = path.join(tmp, 'x509check');
    const r = spawnSync('go', ['build', '-o', out, '.'], { cwd: GO_DIR, env: env(), encoding: 'utf8' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the Go toolchain (`go`) is not on PATH: install the Debian package golang-go');
    if (r.status !== 0) throw new Error(`go build of test/pki/read/go/x509check failed:\n${r.stderr}`);
    bin = out;
  }
  const ders = pemFiles.map((entry, i) => {
    const [f, key] = typeof entry === 'string' ? [entry, undefined] : entry;
    const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(readFileSync(f, 'latin1'));
    if (!m) throw new Error(`no certificate in ${f}`);
    const der = path.join(tmp, `c${Date.now()}-${i}.der`);
    writeFileSync(der, Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
    return key === undefined ? der : `${der}=${key}`;
  });
  const r = spawnSync(bin, ders, { env: env(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`x509check failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as GoVerdict);
}
