// The git edge: every question certgen asks git (is a folder in a work tree, what the index holds,
// what git ignores or tracks), each one `git` process started with an argv array (no shell),
// read-only. git's own messages are C-locale text; only their first line is passed on.
// Users: the plan's .gitignore and check's key findings (tree/git-facts.ts, report/key-leaks.ts),
// and the Kubernetes outputs, which write a plaintext Secret only where git ignores it.
import { spawn } from 'node:child_process';
import { childEnv } from './child-env.js';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { CertgenError } from '../errors.js';

/** Where a folder stands with git. */
export type GitRepo =
  /** Inside a work tree: its top folder (real path). */
  | { state: 'repo'; top: string }
  /** Not inside any work tree (no `.git` above it). */
  | { state: 'none' }
  /** git is not installed; `dotGit`: a `.git` found above the folder all the same. */
  | { state: 'no-git'; dotGit?: string }
  /** A `.git` is there but git refuses it (damaged, dubious ownership, a bare repository …). */
  | { state: 'broken'; dotGit: string; error: string };

/** One entry of the index (`git ls-files -s`): a path that is tracked or staged. */
export interface IndexEntry {
  /** Octal file mode as git writes it: 100644, 100755, 120000 (a symlink), 160000 (a submodule). */
  mode: string;
  /** The blob's object name. */
  blob: string;
  /** Relative to the top of the work tree, with `/`. */
  path: string;
}

export class GitMissingError extends Error {}

interface Run {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * The environment git runs with. A hook started by `git commit -a` or `git commit PATH` gets
 * GIT_INDEX_FILE (and sometimes GIT_DIR) relative to the top of the work tree; certgen runs git
 * from other folders, so they are made absolute first, or git would read another index.
 */
function gitEnv(): Record<string, string> {
  const env: Record<string, string> = { LC_ALL: 'C', LANGUAGE: 'C', GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0' };
  for (const name of ['GIT_INDEX_FILE', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR']) {
    const v = process.env[name];
    if (v !== undefined && v !== '' && !path.isAbsolute(v)) env[name] = path.resolve(v);
  }
  return env;
}

/**
 * Runs git to completion. node:child_process rather than execa: execa's import alone (~100 files,
 * ~100 ms) was a tenth of a no-change `plan` in a repository, and all this needs is the exit code and
 * both outputs.
 */
function git(cwd: string, args: string[], input?: Buffer | string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: childEnv(gitEnv()), stdio: [input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new GitMissingError('git is not installed (no git on PATH)') : new Error(`git could not be started: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (code === null) reject(new Error(`git ${args[0] ?? ''} was killed by ${signal ?? 'a signal'}`));
      else resolve({ exitCode: code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    if (input !== undefined && child.stdin) {
      // git may exit before reading all of it (a refused repository): its answer is what counts.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

/** git's first line of complaint, without its `fatal: ` prefix. */
function complaint(r: Run): string {
  const line = r.stderr.split('\n').find((l) => l.trim() !== '') ?? `git exited with ${r.exitCode}`;
  return line.replace(/^(fatal|error): /, '').trim();
}

/** The folder itself, or its nearest ancestor that exists (a certs dir apply has yet to create). */
async function existingAncestor(dir: string): Promise<string> {
  let d = path.resolve(dir);
  for (;;) {
    const st = await fs.stat(d).catch(() => undefined);
    if (st?.isDirectory()) return d;
    const up = path.dirname(d);
    if (up === d) return d;
    d = up;
  }
}

/** The nearest `.git` (folder or file) at or above `dir`. */
async function findDotGit(dir: string): Promise<string | undefined> {
  let d = dir;
  for (;;) {
    const candidate = path.join(d, '.git');
    if (await fs.lstat(candidate).then(() => true, () => false)) return candidate;
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/**
 * Whether git could place `dir` in a work tree at all: a `.git` at or above it, or `GIT_DIR` set.
 * Without either, git would only say "not a git repository", so callers for whom that and a
 * missing git mean the same skip starting it.
 */
export async function mayBeInWorkTree(dir: string): Promise<boolean> {
  return process.env.GIT_DIR !== undefined || (await findDotGit(await existingAncestor(dir))) !== undefined;
}

/** Whether `dir` (or, when it does not exist yet, where it would be) lies in a git work tree. */
export async function findRepo(dir: string): Promise<GitRepo> {
  const from = await existingAncestor(dir);
  let r: Run;
  try {
    r = await git(from, ['rev-parse', '--show-toplevel']);
  } catch (err) {
    if (!(err instanceof GitMissingError)) throw err;
    const dotGit = await findDotGit(from);
    return dotGit ? { state: 'no-git', dotGit } : { state: 'no-git' };
  }
  const top = r.stdout.toString('utf8').trim();
  if (r.exitCode === 0 && top !== '') return { state: 'repo', top };
  // "not a git repository" and a damaged one both exit 128: what tells them apart is a .git above.
  const dotGit = process.env.GIT_DIR ?? (await findDotGit(from));
  if (dotGit === undefined) return { state: 'none' };
  return { state: 'broken', dotGit, error: complaint(r) };
}

/** Every path in the index (tracked, or staged to be), with its blob. */
export async function indexEntries(top: string): Promise<IndexEntry[]> {
  const r = await git(top, ['ls-files', '--stage', '-z']);
  if (r.exitCode !== 0) throw new Error(`git ls-files failed: ${complaint(r)}`);
  const out: IndexEntry[] = [];
  for (const rec of r.stdout.toString('utf8').split('\0')) {
    const m = /^(\d+) ([0-9a-f]+) \d\t(.*)$/s.exec(rec);
    if (m) out.push({ mode: m[1] as string, blob: m[2] as string, path: m[3] as string });
  }
  return out;
}

/**
 * The contents of blobs (from the object store, not the work tree), skipping any larger than
 * `maxBytes`: first their sizes (`cat-file --batch-check`), then the small ones (`--batch`).
 */
export async function readBlobs(top: string, blobs: string[], maxBytes: number): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const unique = [...new Set(blobs)];
  if (unique.length === 0) return out;
  const sizes = await git(top, ['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'], `${unique.join('\n')}\n`);
  if (sizes.exitCode !== 0) throw new Error(`git cat-file failed: ${complaint(sizes)}`);
  const wanted: string[] = [];
  for (const line of sizes.stdout.toString('utf8').split('\n')) {
    const [name, type, size] = line.split(' ');
    if (name && type === 'blob' && Number(size) <= maxBytes) wanted.push(name);
  }
  if (wanted.length === 0) return out;
  const r = await git(top, ['cat-file', '--batch'], `${wanted.join('\n')}\n`);
  if (r.exitCode !== 0) throw new Error(`git cat-file failed: ${complaint(r)}`);
  // Each object: "<name> <type> <size>\n<size bytes>\n".
  let at = 0;
  const buf = r.stdout;
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) break;
    const [name, , size] = buf.subarray(at, nl).toString('latin1').split(' ');
    const n = Number(size);
    if (!name || !Number.isFinite(n)) break;
    out.set(name, buf.subarray(nl + 1, nl + 1 + n));
    at = nl + 1 + n + 1;
  }
  return out;
}

/** Which of `paths` (relative to `top`, with `/`) git ignores; a tracked path is never ignored. */
export async function ignoredPaths(top: string, paths: string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const r = await git(top, ['check-ignore', '--stdin', '-z'], Buffer.from(`${paths.join('\0')}\0`));
  // 0: some are ignored, 1: none is.
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`git check-ignore failed: ${complaint(r)}`);
  return new Set(r.stdout.toString('utf8').split('\0').filter((p) => p !== ''));
}

/** Files under `dir` (relative to `top`) that are neither tracked nor ignored: what `git add .` would take. */
export async function unignoredUntracked(top: string, dir: string): Promise<string[]> {
  const r = await git(top, ['ls-files', '--others', '--exclude-standard', '-z', '--', dir === '' ? '.' : dir]);
  if (r.exitCode !== 0) throw new Error(`git ls-files failed: ${complaint(r)}`);
  return r.stdout.toString('utf8').split('\0').filter((p) => p !== '');
}

/** `file` relative to the work tree's top (both real paths; '' for the top itself), or undefined when it lies outside. */
export async function repoRelative(top: string, file: string): Promise<string | undefined> {
  const parent = await existingAncestor(path.dirname(file));
  const realParent = await fs.realpath(parent).catch(() => parent);
  const rest = path.relative(parent, path.dirname(path.resolve(file)));
  let real = path.join(realParent, rest, path.basename(file));
  real = await fs.realpath(real).catch(() => real);
  const realTop = await fs.realpath(top).catch(() => top);
  const rel = path.relative(realTop, real);
  if (rel.startsWith(`..${path.sep}`) || rel === '..' || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

// --- one path at a time: may a plaintext file go there? ---------------------------------------

/** `ignored`: git ignores it and does not track it; `tracked`: in the index; `not-ignored`: neither; `no-repo`: not inside a git work tree. */
export type GitPathState = 'ignored' | 'tracked' | 'not-ignored' | 'no-repo';

/** git is missing, or the repository is broken: whether a path is safe cannot be told. */
export class GitError extends CertgenError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'GitError';
  }
}

/** Whether a `.git` (folder, or a worktree's file) lies at or above `dir`. */
function hasDotGit(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return true;
    if (path.dirname(d) === d) return false;
  }
}

/** git in `cwd`, with a missing git as a GitError in the Kubernetes outputs' words. */
async function gitFor(cwd: string, args: string[]): Promise<Run> {
  try {
    return await git(cwd, args);
  } catch (err) {
    if (err instanceof GitMissingError) throw new GitError('git is not installed (not on PATH), so certgen cannot tell whether git ignores the plaintext manifests: install git, or encrypt them with sops', err);
    throw err;
  }
}

/**
 * The state of each path (absolute; the file need not exist yet), in the given order.
 * @throws {@link GitError} when git is missing or fails inside a work tree.
 */
export async function gitPathStates(paths: readonly string[]): Promise<GitPathState[]> {
  const out: GitPathState[] = [];
  for (const p of paths) {
    const cwd = await existingAncestor(path.dirname(p));
    const top = await gitFor(cwd, ['rev-parse', '--show-toplevel']);
    if (top.exitCode !== 0) {
      if (!hasDotGit(cwd)) {
        out.push('no-repo');
        continue;
      }
      throw new GitError(`git cannot read the repository around ${p}: ${complaint(top)}`);
    }
    const rel = path.relative(cwd, p);
    const tracked = await gitFor(cwd, ['ls-files', '--error-unmatch', '--', rel]);
    if (tracked.exitCode === 0) {
      out.push('tracked');
      continue;
    }
    const ignored = await gitFor(cwd, ['check-ignore', '-q', '--', rel]);
    if (ignored.exitCode === 0) out.push('ignored');
    else if (ignored.exitCode === 1) out.push('not-ignored');
    else throw new GitError(`git check-ignore failed for ${p}: ${complaint(ignored)}`);
  }
  return out;
}
