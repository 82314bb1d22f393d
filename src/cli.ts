#!/usr/bin/env node
// The command line's entry (run by bin/certgen.cjs, or directly). The commands live in src/cli/: main.ts runs a command line, and cert.ts,
// spec.ts (validate, plan, apply), distribute.ts and report.ts (report, check) define them.
// The command line is the only part that knows about process.argv, stdout/stderr and exit codes;
// everything it does is in the library.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from './cli/main.js';

export { main, type Io } from './cli/main.js';

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * What a Go program does when stdout or stderr is a pipe whose reader has gone (`certgen cert list |
 * head -1`): it dies of SIGPIPE, quietly. Node ignores SIGPIPE and reports EPIPE as an error event
 * instead (a stack trace, if unhandled); restoring the signal's default action (libuv does that when
 * its last listener goes) and raising it gives the same end, exit status 128+13 in a shell.
 */
function dieOnBrokenPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    const ignore = (): void => {};
    process.on('SIGPIPE', ignore);
    process.off('SIGPIPE', ignore);
    process.kill(process.pid, 'SIGPIPE');
  });
}

/** Runs certgen with this process's argv, streams and environment, setting its exit code. */
export async function runFromProcess(): Promise<void> {
  dieOnBrokenPipe(process.stdout);
  dieOnBrokenPipe(process.stderr);
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    env: process.env,
  });
}

// `node dist/cli.js …` works too; only bin/certgen.cjs can size the thread pool in time.
if (isMain()) await runFromProcess();
