// Debian's headless Chromium (apt-get install chromium), with a fresh profile and the features that
// would reach the network off. Without it a test fails, it does not skip.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { tmpdir } from './index.js';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export interface ChromiumResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `chromium --headless … args` (with `env` over this process's environment); throws naming the
 * package when it is not installed. */
export async function runChromium(args: string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = {}): Promise<ChromiumResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = tmpdir('certgen-chromium-');
  const r = await execa(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args],
    { reject: false, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } },
  );
  return { code: r.exitCode ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
