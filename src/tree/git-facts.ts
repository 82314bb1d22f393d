// What the planner needs to know from git, read with the tree: whether the certs dir lies in a work
// tree (then apply keeps its .gitignore) and whether git would take the CA key. Never throws: what
// git cannot answer is a fact too, which the plan turns into one line.
import path from 'node:path';
import { findRepo, ignoredPaths, mayBeInWorkTree, repoRelative, type GitRepo } from '../io/git.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { isEncryptedCAKey } from './layout.js';

export interface TreeGit {
  repo: GitRepo;
  /** The CA key, when it lies inside the work tree: its path there and whether git ignores it. */
  caKey?: { rel: string; ignored: boolean };
  /** Why git could not say whether it ignores the CA key. */
  error?: string;
}

export async function readTreeGit(spec: ClusterSpec): Promise<TreeGit> {
  let repo: GitRepo;
  try {
    // Outside any work tree the plan has nothing to say whether or not git is installed: no git process.
    if (!(await mayBeInWorkTree(spec.certsDir))) return { repo: { state: 'none' } };
    repo = await findRepo(spec.certsDir);
  } catch (err) {
    return { repo: { state: 'broken', dotGit: '', error: (err as Error).message } };
  }
  // An encrypted CA key (caKey ending in .age) is meant to be committed: nothing to ask.
  if (repo.state !== 'repo' || isEncryptedCAKey(spec.caKey)) return { repo };
  try {
    const rel = await repoRelative(repo.top, path.resolve(spec.caKey));
    if (rel === undefined) return { repo };
    const ignored = await ignoredPaths(repo.top, [rel]);
    return { repo, caKey: { rel, ignored: ignored.has(rel) } };
  } catch (err) {
    return { repo, error: (err as Error).message };
  }
}
