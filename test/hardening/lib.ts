// Shared by the hardening suites: specs for big clusters, the built CLI as a child process, a
// byte-and-mode snapshot of a whole folder, and a checker that says what is wrong with a tree a
// killed or failed run left behind (partial files, open modes, mismatched pairs, stray temps).
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ROOT, cliEnv, type CliResult } from '../helpers/index.js';
import { JournalError, verifyJournalText } from '../../src/journal/journal.js';

export const CLI = path.join(ROOT, 'dist/cli.js');

/** The name writeFilesAtomic stages a file under (`.<name>.<12 hex>.tmp`) and its backup link (`.old`). */
export const TEMP_NAME = /^\.(.+)\.[0-9a-f]{12}\.tmp(\.old)?$/;
/** Where a lock holder stages the lock file before linking it into place. */
export const LOCK_TEMP = /^\.certgen\.lock\.\d+\.[0-9a-f]+\.tmp$/;

export interface SpecShape {
  nodes: number;
  clients?: string[];
  keySize?: number;
  /** Extra host on every node whose index passes the filter (a reissue: hosts-changed). */
  extraHost?: (i: number) => boolean;
  /** keySize override for nodes whose index passes the filter (a reissue: key-size-changed). */
  bigKey?: (i: number) => boolean;
}

export function specText(s: SpecShape): string {
  const k = s.keySize ?? 1024;
  const lines = ['version: 1', 'certsDir: certs', 'caKey: secrets/ca.key', 'ca:', `  keySize: ${k}`, 'defaults:', `  keySize: ${k}`, 'nodes:'];
  for (let i = 0; i < s.nodes; i++) {
    const hosts = [`n${i}.example.com`, `10.0.${i >> 8}.${i & 255}`, ...(s.extraHost?.(i) ? [`n${i}.new.example.com`] : [])];
    lines.push(`  - name: n${i}`, `    hosts: [${hosts.join(', ')}]`);
    if (s.bigKey?.(i)) lines.push(`    keySize: ${k + 8}`);
  }
  const clients = s.clients ?? [];
  if (clients.length > 0) lines.push('clients:');
  for (const u of clients) lines.push(`  - user: ${u}`, '    pkcs8: true');
  return `${lines.join('\n')}\n`;
}

export function writeSpec(dir: string, s: SpecShape | string): string {
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, typeof s === 'string' ? s : specText(s));
  return file;
}

/** The built CLI as a child process; `umask` runs it under that umask through sh. */
export async function run(args: string[], opts: { umask?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const r =
    opts.umask === undefined
      ? await execa(process.execPath, [CLI, ...args], { reject: false, encoding: 'utf8', cwd: opts.cwd, env: cliEnv(opts.env), extendEnv: false })
      : await execa('sh', ['-c', `umask ${opts.umask}; exec "$0" "$@"`, process.execPath, CLI, ...args], { reject: false, encoding: 'utf8', cwd: opts.cwd, env: cliEnv(opts.env), extendEnv: false });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Every entry under `dir`: type, mode and content hash (not mtimes: a rollback may touch them). */
export function snapshot(dir: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const rel = path.relative(dir, p);
      if (skip(rel)) continue;
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.set(rel, `dir ${mode}`);
        walk(p);
      } else if (st.isSymbolicLink()) out.set(rel, `link ${readlinkSync(p)}`);
      else out.set(rel, `file ${mode} ino:${st.ino} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

/** Human-readable differences between two snapshots; empty when identical. */
export function snapshotDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: ${v} -> ${b.get(k) ?? 'gone'}`);
  for (const [k, v] of b) if (!a.has(k)) out.push(`${k}: new ${v}`);
  return out;
}

export interface TreeState {
  /** What is wrong: each entry one broken promise. */
  problems: string[];
  /** Staging temps and backup links left behind, relative to the scenario folder. */
  temps: string[];
  /** Key pairs whose certificate and key do not match, relative folder names. */
  mismatched: string[];
  lockHeld: boolean;
}

function isKeyName(name: string): boolean {
  return name.endsWith('.key') || name.endsWith('.key.pk8');
}

function parseKey(file: string, bytes: Buffer): KeyObject {
  return file.endsWith('.pk8') ? createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }) : createPrivateKey(bytes.toString('latin1'));
}

/**
 * Checks a scenario folder (`certs/`, `secrets/`) against what must hold at any instant, even
 * right after a SIGKILL: every file under a real name parses completely, keys are 0600 and
 * folders 0700, certificates 0644, every pair that is there matches. Temps are listed, not judged
 * (a kill may leave them), except that they must be hidden temp names and no looser than their file.
 */
export function inspect(dir: string): TreeState {
  const problems: string[] = [];
  const temps: string[] = [];
  const mismatched: string[] = [];
  const certs = path.join(dir, 'certs');
  const lockHeld = existsSync(path.join(certs, '.certgen.lock'));
  // The journal beside the spec: whole (every line complete, the chain unbroken) whenever a run stops.
  const journal = path.join(dir, 'cluster-certs.journal.jsonl');
  if (existsSync(journal)) {
    try {
      verifyJournalText(readFileSync(journal, 'utf8'), 'cluster-certs.journal.jsonl');
    } catch (err) {
      problems.push(err instanceof JournalError ? err.message : String(err));
    }
  }
  const folders = [path.join(dir, 'secrets'), certs];
  for (const sub of ['nodes', 'clients']) {
    const p = path.join(certs, sub);
    if (existsSync(p)) {
      folders.push(p);
      for (const n of readdirSync(p)) folders.push(path.join(p, n));
    }
  }
  for (const folder of folders) {
    if (!existsSync(folder)) continue;
    const rel = path.relative(dir, folder);
    const st = lstatSync(folder);
    if (!st.isDirectory()) {
      problems.push(`${rel} is not a folder`);
      continue;
    }
    if ((st.mode & 0o777) !== 0o700) problems.push(`${rel}/ is ${(st.mode & 0o777).toString(8)}, want 700`);
    const certsHere = new Map<string, X509Certificate>();
    const keysHere = new Map<string, KeyObject>();
    for (const name of readdirSync(folder)) {
      const p = path.join(folder, name);
      const frel = path.join(rel, name);
      const fst = lstatSync(p);
      if (fst.isDirectory()) continue;
      const mode = fst.mode & 0o777;
      const temp = TEMP_NAME.exec(name);
      if (temp) {
        temps.push(frel);
        const wants = isKeyName(temp[1] ?? '') ? 0o600 : 0o644;
        if ((mode & ~wants) !== 0) problems.push(`temp ${frel} is ${mode.toString(8)}, looser than ${wants.toString(8)}`);
        continue;
      }
      if (name === '.certgen.lock') continue;
      if (LOCK_TEMP.test(name)) {
        temps.push(frel);
        continue;
      }
      if (!fst.isFile()) {
        problems.push(`${frel} is not a regular file`);
        continue;
      }
      const bytes = readFileSync(p);
      if (isKeyName(name)) {
        if (mode !== 0o600) problems.push(`${frel} is ${mode.toString(8)}, want 600`);
        try {
          keysHere.set(name, parseKey(name, bytes));
        } catch (err) {
          problems.push(`${frel} does not parse as a key: ${(err as Error).message}`);
        }
      } else if (name.endsWith('.crt')) {
        if (mode !== 0o644) problems.push(`${frel} is ${mode.toString(8)}, want 644`);
        try {
          const text = bytes.toString('latin1');
          if (!/^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n$/.test(text)) throw new Error('not one whole PEM block');
          certsHere.set(name, new X509Certificate(bytes));
        } catch (err) {
          problems.push(`${frel} does not parse as a certificate: ${(err as Error).message}`);
        }
      } else {
        problems.push(`${frel}: unexpected file`);
      }
    }
    for (const [name, cert] of certsHere) {
      if (name === 'ca.crt') continue;
      const key = keysHere.get(name.replace(/\.crt$/, '.key'));
      if (key && !cert.checkPrivateKey(key)) mismatched.push(`${rel}/${name}`);
    }
    // The CA key matches the CA certificate it signs with.
    if (folder === certs && certsHere.has('ca.crt')) {
      const caKeyFile = path.join(dir, 'secrets', 'ca.key');
      if (existsSync(caKeyFile)) {
        const ok = certsHere.get('ca.crt')?.checkPrivateKey(createPrivateKey(readFileSync(caKeyFile, 'latin1')));
        if (!ok) mismatched.push('certs/ca.crt');
      }
    }
    for (const [name, key] of keysHere) {
      if (!name.endsWith('.pk8')) continue;
      const pem = keysHere.get(name.replace(/\.pk8$/, ''));
      if (pem && !pem.equals(key)) mismatched.push(`${rel}/${name}`);
    }
  }
  return { problems, temps, mismatched, lockHeld };
}

/**
 * A converged tree: everything `inspect` wants, plus every folder complete, every leaf signed by
 * the CA in ca.crt, every bundle copy equal to ca.crt, and no leftovers.
 */
export function assertComplete(dir: string, nodes: number, clients: string[]): string[] {
  const s = inspect(dir);
  const problems = [...s.problems, ...s.mismatched.map((m) => `mismatched ${m}`), ...s.temps.map((t) => `leftover ${t}`)];
  if (s.lockHeld) problems.push('the lock is still held');
  const certs = path.join(dir, 'certs');
  const caPath = path.join(certs, 'ca.crt');
  if (!existsSync(caPath)) return [...problems, 'ca.crt missing'];
  const caBytes = readFileSync(caPath);
  const ca = new X509Certificate(caBytes);
  const folders = [...Array.from({ length: nodes }, (_, i) => [`nodes/n${i}`, 'node'] as const), ...clients.map((u) => [`clients/${u}`, `client.${u}`] as const)];
  for (const [rel, base] of folders) {
    const d = path.join(certs, rel);
    const need = [`ca.crt`, `${base}.crt`, `${base}.key`, ...(base.startsWith('client.') ? [`${base}.key.pk8`] : [])];
    for (const f of need) if (!existsSync(path.join(d, f))) problems.push(`${rel}/${f} missing`);
    if (!existsSync(path.join(d, `${base}.crt`))) continue;
    if (!readFileSync(path.join(d, 'ca.crt')).equals(caBytes)) problems.push(`${rel}/ca.crt differs from certs/ca.crt`);
    if (!new X509Certificate(readFileSync(path.join(d, `${base}.crt`))).verify(ca.publicKey)) problems.push(`${rel}/${base}.crt is not signed by the CA`);
  }
  return problems;
}
