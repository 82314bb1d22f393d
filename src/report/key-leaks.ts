// `certgen check`'s git findings: no private key in git. `key-tracked`: a path in the index
// (tracked, or staged to be) that is a key by name (the certs dir's `*.key` / `*.key.pk8`, the CA
// key) or by content (src/pki/read/sniff-key.ts), read from git's objects, not the work tree, so
// `check --staged` in a pre-commit hook sees exactly what would be committed. `key-not-ignored`
// (not with --staged): a key in the certs dir, or the CA key, that `git add .` would take.
// `git-unusable`: git cannot answer. Findings name paths, never key material.
import path from 'node:path';
import { GitMissingError, findRepo, ignoredPaths, indexEntries, readBlobs, repoRelative, unignoredUntracked, type GitRepo } from '../io/git.js';
import { describeKeySniff, sniffPrivateKey, type KeySniff } from '../pki/read/sniff-key.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { isEncryptedCAKey } from '../tree/layout.js';

/** A finding of check's (check.ts's Finding; declared here so the two modules do not import each other). */
export interface GitFinding {
  kind: 'error' | 'warning';
  code: 'key-tracked' | 'key-not-ignored' | 'git-unusable';
  artifact: string;
  file?: string;
  message: string;
}

/** Blobs larger than this are not read (a key, a Secret, a kubeconfig is a few KiB). */
const MAX_BLOB = 8 << 20;

export interface KeyLeakOptions {
  /** Only the index (a pre-commit hook): no work-tree findings, and no repository is an error. */
  staged?: boolean;
  /** Where to look for the repository without a spec (default the working directory). */
  cwd?: string;
}

/** A key by its name: what apply writes into the certs dir (`certsDirRel`: '' is the top; undefined: no spec). */
function keyByName(p: string, certsDirRel: string | undefined): boolean {
  if (certsDirRel === undefined) return false;
  const inside = certsDirRel === '' || p.startsWith(`${certsDirRel}/`);
  return inside && (p.endsWith('.key') || p.endsWith('.key.pk8'));
}

function gitProblem(repo: GitRepo, where: string, staged: boolean): GitFinding[] {
  const finding = (kind: GitFinding['kind'], message: string): GitFinding[] => [{ kind, code: 'git-unusable', artifact: '', message }];
  switch (repo.state) {
    case 'repo':
      return [];
    case 'none':
      return staged ? finding('error', `check --staged: ${where} is not in a git work tree, so there is no index to check`) : [];
    case 'no-git':
      if (staged) return finding('error', 'check --staged: git is not installed (no git on PATH)');
      return repo.dotGit ? finding('warning', `git is not installed, so certgen cannot see which keys ${repo.dotGit} tracks`) : [];
    case 'broken':
      return finding('error', `git cannot use the repository at ${repo.dotGit} (${repo.error}): certgen cannot see whether it tracks a private key`);
  }
}

/** The git findings for a spec's tree (or, without a spec, for the repository at `opts.cwd`). */
export async function keyLeakFindings(spec: ClusterSpec | undefined, opts: KeyLeakOptions = {}): Promise<GitFinding[]> {
  const staged = opts.staged ?? false;
  const from = spec ? spec.certsDir : path.resolve(opts.cwd ?? '.');
  const repo = await findRepo(from).catch((err: unknown): GitRepo => ({ state: 'broken', dotGit: from, error: (err as Error).message }));
  if (repo.state !== 'repo') return gitProblem(repo, from, staged);
  try {
    return await scan(repo.top, spec, staged);
  } catch (err) {
    if (err instanceof GitMissingError) return gitProblem({ state: 'no-git' }, from, staged);
    return [{ kind: 'error', code: 'git-unusable', artifact: '', message: `git could not list what it tracks (${(err as Error).message}): certgen cannot see whether it tracks a private key` }];
  }
}

async function scan(top: string, spec: ClusterSpec | undefined, staged: boolean): Promise<GitFinding[]> {
  const certsDirRel = spec ? await repoRelative(top, spec.certsDir) : undefined;
  // An encrypted CA key (caKey ending in .age) may be committed: only its content could make it a
  // finding (a plaintext key under the .age name is sniffed like any file).
  const caKeyRel = spec && !isEncryptedCAKey(spec.caKey) ? await repoRelative(top, path.resolve(spec.caKey)) : undefined;
  // Regular files only: a symlink's blob is its target's name, a submodule is another repository.
  const entries = (await indexEntries(top)).filter((e) => e.mode === '100644' || e.mode === '100755');
  const blobs = await readBlobs(top, entries.map((e) => e.blob), MAX_BLOB);
  const sniffed = new Map<string, KeySniff | undefined>();
  const findings: GitFinding[] = [];
  for (const e of entries) {
    if (!sniffed.has(e.blob)) {
      const bytes = blobs.get(e.blob);
      sniffed.set(e.blob, bytes ? sniffPrivateKey(bytes) : undefined);
    }
    const found = sniffed.get(e.blob);
    const isCAKey = e.path === caKeyRel;
    if (!found && !isCAKey && !keyByName(e.path, certsDirRel)) continue;
    const what = isCAKey ? 'the CA key' : found ? describeKeySniff(found) : 'a private key by its name';
    const holds = isCAKey || !found ? `is ${what}` : `holds ${what}`;
    const undo = `git rm --cached ${e.path}${isCAKey ? ', and rotate the CA if it was ever committed or pushed' : ', and reissue the key if it was ever committed or pushed'}`;
    findings.push({ kind: 'error', code: 'key-tracked', artifact: '', file: e.path, message: `${e.path} is in git's index (${staged ? 'staged to be committed' : 'tracked or staged'}) and ${holds}: ${undo}` });
  }
  if (staged) return findings;
  const tracked = new Set(entries.map((e) => e.path));
  if (certsDirRel !== undefined) {
    for (const p of await unignoredUntracked(top, certsDirRel)) {
      if (keyByName(p, certsDirRel)) findings.push({ kind: 'error', code: 'key-not-ignored', artifact: '', file: p, message: `${p} is a private key that git does not ignore (git add would take it): certgen apply keeps the certs dir's .gitignore; check what undoes it (a ! line, a .gitignore below)` });
    }
  }
  if (caKeyRel !== undefined && !tracked.has(caKeyRel) && !(await ignoredPaths(top, [caKeyRel])).has(caKeyRel)) {
    findings.push({ kind: 'error', code: 'key-not-ignored', artifact: 'ca', file: caKeyRel, message: `the CA key ${caKeyRel} lies in the git work tree and git does not ignore it: add it to a .gitignore, or move it out of the work tree` });
  }
  return findings;
}
