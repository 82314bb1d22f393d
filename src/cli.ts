#!/usr/bin/env node
// The `certgen` bin. The commands live in src/cli/: main.ts runs a command line, and cert.ts,
// spec.ts (validate, plan, apply), distribute.ts and report.ts (report, check) define them.
// The command line is the only part that knows about process.argv, stdout/stderr and exit codes;
// everything it does is in the library.
import os from 'node:os';
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

if (isMain()) {
  // Key generation runs on libuv's thread pool (4 threads by default); size it to the machine so
  // a big apply uses every core. Read when the pool starts, i.e. at the first key or file I/O.
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, os.availableParallelism()));
  const code = await main(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    stdoutIsTTY: process.stdout.isTTY === true,
    env: process.env,
  });
  process.exitCode = code;
}
