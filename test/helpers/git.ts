// Real git in temporary repositories, isolated from the machine's and the user's git config.
import { execa } from 'execa';
import { cliEnv } from './index.js';

/** git's environment for tests: no global or system config, a fixed author, no prompts. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'certgen test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'certgen test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_TERMINAL_PROMPT: '0',
};

/** Runs git in `cwd` (hooks it runs print no colour: cliEnv); throws with its output unless it exits 0 (or `ok` lists the exit code). */
export async function git(cwd: string, args: string[], opts: { input?: string; ok?: number[]; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('git', args, { cwd, reject: false, encoding: 'utf8', env: cliEnv({ ...GIT_ENV, ...opts.env }), extendEnv: false, ...(opts.input !== undefined ? { input: opts.input } : {}) });
  const code = r.exitCode ?? -1;
  if (!(opts.ok ?? [0]).includes(code)) throw new Error(`git ${args.join(' ')} failed (${code}): ${r.stderr}${r.stdout}`);
  return { code, stdout: r.stdout, stderr: r.stderr };
}

/** `git init` in `dir` (branch main). */
export async function gitInit(dir: string): Promise<void> {
  await git(dir, ['init', '-q', '-b', 'main']);
}
