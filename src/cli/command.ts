// What every command module shares: commander wiring that leaves printing errors and exiting to
// main(), and settings read from the environment.
import type { Command, OutputConfiguration } from 'commander';
import { skipKeyPermissionCheckFrom } from '../core/go-bool.js';
import type { Io } from './io.js';

/** commander writes help to io and never prints an error itself: main() reports it. */
export function commanderOutput(io: Io): OutputConfiguration {
  return { writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} };
}

/** `parent.command(name)`, throwing its parse errors to main() and writing to io, like the root. */
export function subcommand(parent: Command, name: string, io: Io): Command {
  return parent.command(name).exitOverride().configureOutput(commanderOutput(io));
}

/**
 * COCKROACH_SKIP_KEY_PERMISSION_CHECK. Environment variables are read from io.env (not
 * process.env) so embedding callers and tests control them.
 */
export function skipKeyPermissionCheck(env: NodeJS.ProcessEnv): boolean {
  return skipKeyPermissionCheckFrom(env);
}
