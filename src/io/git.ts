// What git thinks of a path, asked of git itself (`git check-ignore`, `git ls-files`): certgen
// writes a plaintext Secret only where git ignores it, so it never ends up in a commit. git is
// run with execa, argv only, in the path's folder; its failure is one clear line.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { CertgenError } from '../errors.js';

/** `ignored`: git ignores it and does not track it; `tracked`: in the index; `not-ignored`: neither; `no-repo`: not inside a git work tree. */
export type GitPathState = 'ignored' | 'tracked' | 'not-ignored' | 'no-repo';

/** git is missing, or the repository is broken: whether a path is safe cannot be told. */
export class GitError extends CertgenError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'GitError';
  }
}

/** The nearest folder at or above `dir` that exists. */
function existingAncestor(dir: string): string {
  let d = dir;
  while (!existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

/** Whether a `.git` (folder, or a worktree's file) lies at or above `dir`. */
function hasDotGit(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git'))) return true;
    if (path.dirname(d) === d) return false;
  }
}

async function git(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execa('git', args, { cwd, reject: false, encoding: 'utf8', stdin: 'ignore', env: { GIT_OPTIONAL_LOCKS: '0' } });
    if ((r as { code?: string }).code === 'ENOENT' || (r.failed && r.exitCode === undefined)) throw Object.assign(new Error(r.message), { code: 'ENOENT' });
    return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new GitError('git is not installed (not on PATH), so certgen cannot tell whether git ignores the plaintext manifests: install git, or encrypt them with sops', err);
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
    const cwd = existingAncestor(path.dirname(p));
    const top = await git(cwd, ['rev-parse', '--show-toplevel']);
    if (top.code !== 0) {
      if (!hasDotGit(cwd)) {
        out.push('no-repo');
        continue;
      }
      throw new GitError(`git cannot read the repository around ${p}: ${firstLine(top.stderr) || `git rev-parse exited ${top.code}`}`);
    }
    const rel = path.relative(cwd, p);
    const tracked = await git(cwd, ['ls-files', '--error-unmatch', '--', rel]);
    if (tracked.code === 0) {
      out.push('tracked');
      continue;
    }
    const ignored = await git(cwd, ['check-ignore', '-q', '--', rel]);
    if (ignored.code === 0) out.push('ignored');
    else if (ignored.code === 1) out.push('not-ignored');
    else throw new GitError(`git check-ignore failed for ${p}: ${firstLine(ignored.stderr) || `exit ${ignored.code}`}`);
  }
  return out;
}

function firstLine(s: string): string {
  return s.trim().split('\n', 1)[0]?.replace(/^fatal: /, '') ?? '';
}
