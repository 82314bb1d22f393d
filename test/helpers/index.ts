// Shared test helpers: temporary folders, openssl as a second decoder, and the CLI run in-process
// or as the built bin.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { CertgenError } from '../../src/errors.js';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
/** CockroachDB's own test certificates, made by `cockroach cert` (copied into fixtures/). */
export const REFERENCE_CERTS = path.join(ROOT, 'fixtures', 'cockroach-test-certs');

const made: string[] = [];
/** A fresh folder under the OS temp dir, removed when the process exits. */
export function tmpdir(prefix = 'certgen-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export async function openssl(args: string[], input?: string | Buffer): Promise<string> {
  const r = await execa('openssl', args, { input, reject: false, encoding: 'utf8' });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** openssl's verdict, without throwing: exit code and combined output. */
export async function opensslStatus(args: string[]): Promise<{ code: number; out: string }> {
  const r = await execa('openssl', args, { reject: false, encoding: 'utf8', all: true });
  return { code: r.exitCode ?? -1, out: r.all ?? '' };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The test process's environment without FORCE_COLOR and NO_COLOR: uvu sets FORCE_COLOR=1 for its
 * own output, and certgen honours it, so a CLI under test would print colour. A test that wants
 * either passes it in `env`.
 */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  return { ...env, ...extra };
}

/** Runs the CLI in-process (fast; same code path as the bin apart from process wiring). */
export async function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const { main } = await import('../../src/cli.js');
  const code = await main(args, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    stdoutIsTTY: opts.tty ?? false,
    env: cliEnv(opts.env),
  });
  return { code, stdout, stderr };
}

/** Runs the built `dist/cli.js` as a child process, as a user's shell would. */
export async function bin(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [path.join(ROOT, 'dist/cli.js'), ...args], {
    reject: false,
    env: cliEnv(opts.env),
    extendEnv: false,
    cwd: opts.cwd,
    encoding: 'utf8',
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Extension names and criticality as `openssl x509 -text` prints them, in order. */
export async function opensslExtensions(certPath: string): Promise<string[]> {
  const text = await openssl(['x509', '-in', certPath, '-noout', '-text']);
  return [...text.matchAll(/^\s+(X509v3 [^:]+):( critical)?$/gm)].map((m) => `${m[1]}${m[2] ?? ''}`);
}

/** Awaits `p`, which must reject with a CertgenError (a user-facing failure), and returns it. */
export async function rejects(p: Promise<unknown>): Promise<CertgenError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof CertgenError)) throw new Error(`expected a CertgenError, got ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return err;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/**
 * A suite's setup, run once before its first test. Use it instead of `suite.before`: uvu 0.5.6
 * drops an error thrown in a `before` hook (its runner returns from a `finally`), so a broken
 * fixture would report no failure and exit 0. Here the error fails every test of the suite.
 */
export function setup<T>(s: { before: { each(fn: (ctx: T) => unknown): void } }, fn: (ctx: T) => Promise<unknown> | unknown): void {
  let once: Promise<unknown> | undefined;
  s.before.each(async (ctx) => {
    once ??= Promise.resolve().then(() => fn(ctx));
    await once;
  });
}
