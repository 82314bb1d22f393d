// Pure: the certs dir's .gitignore when the dir lies in a git work tree. Every private key
// (`*.key`, `*.key.pk8`), the apply lock and the names writes are staged under must be ignored, so
// `git add .` can never take a key; certgen adds the lines that are missing and never removes or
// reorders one (the file is the operator's too). Also the plan's line about git itself (absent,
// broken) and about a CA key git would take.
import { STAGING_GLOBS } from '../core/staging-name.js';
import { GITIGNORE, LOCK_FILE } from '../tree/layout.js';
import type { ActualTree } from '../tree/read-tree.js';
import type { Change, Reason, WriteOp } from './types.js';

/** The patterns the certs dir's .gitignore must hold (the lock's staged and takeover names: `.certgen.lock.*`). */
export const IGNORED_PATTERNS: readonly string[] = ['*.key', '*.key.pk8', LOCK_FILE, `${LOCK_FILE}.*`, ...STAGING_GLOBS];

const HEADER = '# certgen: private keys, the apply lock and staged writes never go into git (certgen adds what is missing here and removes nothing)';

/**
 * The patterns `text` lacks: absent as a line of their own, or undone by a negation (`!…`) after
 * their last occurrence (gitignore's last matching line wins).
 */
export function missingPatterns(text: string): string[] {
  // gitignore(5): trailing spaces are ignored unless escaped; a line is a pattern unless it starts with #.
  const lines = text.split(/\r?\n/).map((l) => l.replace(/(?<!\\)\s+$/, ''));
  const lastNegation = lines.reduce((at, l, i) => (l.startsWith('!') ? i : at), -1);
  return IGNORED_PATTERNS.filter((p) => lines.lastIndexOf(p) <= lastNegation);
}

/** The file after apply: `existing` as it is, then the certgen header and the missing lines. */
export function gitignoreBytes(existing: Buffer | undefined, lines: readonly string[]): Buffer {
  const before = existing ?? Buffer.alloc(0);
  const sep = before.length === 0 ? '' : before[before.length - 1] === 0x0a ? '\n' : '\n\n';
  return Buffer.concat([before, Buffer.from(`${sep}${HEADER}\n${lines.join('\n')}\n`)]);
}

/** The .gitignore's change (none when it is complete or the dir is not in a work tree) and the plan's git lines. */
export function diffGitignore(tree: ActualTree, certsDirLabel: string, caKeyLabel: string): { change?: Change; warnings: string[] } {
  const git = tree.git;
  const warnings: string[] = [];
  if (!git) return { warnings };
  const repo = git.repo;
  if (repo.state === 'none') return { warnings };
  if (repo.state === 'no-git' && !repo.dotGit) return { warnings };
  if (repo.state === 'no-git') warnings.push(`git is not installed, but ${repo.dotGit} says ${certsDirLabel} is in a git work tree: its ${GITIGNORE} is kept all the same; install git so certgen check can see what git tracks`);
  if (repo.state === 'broken') warnings.push(`git cannot use the repository at ${repo.dotGit} (${repo.error}): ${certsDirLabel}/${GITIGNORE} is kept all the same; certgen check cannot see what git tracks until git can`);
  if (git.error) warnings.push(`git could not say whether it ignores the CA key ${caKeyLabel} (${git.error})`);
  if (git.caKey && !git.caKey.ignored) warnings.push(`the CA key lies in the git work tree (${git.caKey.rel}) and git does not ignore it: add it to a .gitignore, or move it out of the work tree (certgen check fails until then)`);

  const f = tree.entries[GITIGNORE] ?? { rel: GITIGNORE, type: 'missing' as const, mode: 0, uid: 0, gid: 0 };
  if (f.type !== 'file' && f.type !== 'missing') {
    warnings.push(`${certsDirLabel}/${GITIGNORE} is ${f.type === 'symlink' ? 'a symlink' : `not a regular file (${f.type})`}: certgen does not write through it; make sure git ignores ${IGNORED_PATTERNS.join(' ')} there`);
    return { warnings };
  }
  if (f.type === 'file' && (f.error || !f.bytes)) {
    warnings.push(`${certsDirLabel}/${GITIGNORE} cannot be read (${f.error ?? 'no contents'}): certgen leaves it as it is; make sure git ignores ${IGNORED_PATTERNS.join(' ')} there`);
    return { warnings };
  }
  const lines = f.type === 'missing' ? [...IGNORED_PATTERNS] : missingPatterns((f.bytes as Buffer).toString('utf8'));
  if (lines.length === 0) return { warnings };
  const reason: Reason =
    f.type === 'missing'
      ? { code: 'missing', message: `${GITIGNORE} does not exist and the certs dir is in a git work tree: it is written to ignore every private key`, file: GITIGNORE, added: lines }
      : { code: 'gitignore-incomplete', message: `${GITIGNORE} does not ignore ${lines.join(' ')}: ${lines.length === 1 ? 'that line is' : 'those lines are'} added (nothing is removed)`, file: GITIGNORE, added: lines };
  // An existing file keeps its mode; a new one is 0644 like the certificates.
  const write: WriteOp = { file: GITIGNORE, content: 'gitignore', mode: f.type === 'file' ? f.mode & 0o777 : 0o644, lines, ...(f.type === 'missing' ? { exclusive: true as const } : {}) };
  const change: Change = { artifact: GITIGNORE, kind: 'file', action: f.type === 'missing' ? 'create' : 'update', files: [GITIGNORE], reasons: [reason], ops: { write: [write], chmod: [], remove: [] } };
  return { change, warnings };
}
