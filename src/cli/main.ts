// Runs one certgen command line: builds the command tree from the command modules (cert.ts,
// spec.ts, distribute.ts, status.ts, report.ts), parses argv, runs the chosen action, and turns every failure
// into one error report on stderr and an exit code. The only place that writes errors.
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { CertgenError, EXIT, UsageError } from '../errors.js';
import { parseGoBoolText } from '../core/go-bool.js';
import type { Plan } from '../plan/types.js';
import type { Diagnostic } from '../cluster-spec/spec.js';
import { addCertCommands, findCertCommand, hoistCertCommand } from './cert.js';
import { commanderOutput } from './command.js';
import { addDistributeCommand } from './distribute.js';
import { addReportCommands } from './report.js';
import { addSpecCommands } from './spec.js';
import { addStatusCommand } from './status.js';
import { addJournalCommands } from './journal.js';
import { addRenderCommands } from './render.js';
import { addRotateCommands } from './rotate.js';
import type { Io, Run } from './io.js';

export type { Io, Run } from './io.js';

/** package.json sits two folders up from both src/cli/ (tsx) and dist/cli/ (built). */
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Raised inside commander's parse to carry the exit code of a flag/argument error. */
class ParseFailure extends Error {
  readonly exitCode: number;
  readonly usage: string | undefined;
  constructor(message: string, exitCode: number, usage?: string) {
    super(message);
    this.exitCode = exitCode;
    this.usage = usage;
  }
}

const BOOLEAN_FLAGS = ['--overwrite', '--allow-ca-key-reuse', '--also-generate-pkcs8-key', '--disable-username-validation'];

/**
 * pflag accepts `--overwrite=true|false` for boolean flags; commander does not, so rewrite them
 * before parsing.
 */
function normalizeBoolFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const m = /^(--[a-z0-9-]+)=(.*)$/.exec(a);
    if (m && BOOLEAN_FLAGS.includes(m[1] ?? '')) {
      const v = m[2] ?? '';
      const b = parseGoBoolText(v);
      if (b === true) out.push(m[1] ?? '');
      else if (b === undefined) {
        throw new UsageError(`invalid argument ${JSON.stringify(v)} for "${m[1]}" flag: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
      }
      continue;
    }
    out.push(a);
  }
  return out;
}

/** terraform's single-dash `plan -out FILE` / `-out=FILE`, which commander would read as `-o -u -t`. */
function terraformSpellings(argv: string[]): string[] {
  if (argv[0] !== 'plan') return argv;
  return argv.map((a) => (a === '-out' ? '--out' : a.startsWith('-out=') ? `-${a}` : a));
}

/** Builds the command tree. Actions record what to run; main() runs it, so errors have one exit. */
function buildProgram(io: Io, run: Run): Command {
  const program = new Command('certgen')
    .description('TLS certificates for CockroachDB clusters: a drop-in for `cockroach cert`, and a declarative plan/apply generator.')
    .version(VERSION, '--version', 'print the certgen version')
    .showHelpAfterError(false)
    .configureOutput(commanderOutput(io))
    .exitOverride();
  addCertCommands(program, io, run);
  addSpecCommands(program, io, run);
  addDistributeCommand(program, io, run);
  addStatusCommand(program, io, run);
  addJournalCommands(program, io, run);
  addRotateCommands(program, io, run);
  addReportCommands(program, io, run);
  addRenderCommands(program, io, run);
  return program;
}

function translateCommanderError(err: CommanderError, usage: string): ParseFailure {
  const msg = err.message.replace(/^error: /, '');
  switch (err.code) {
    case 'commander.helpDisplayed':
    case 'commander.help':
    case 'commander.version':
      return new ParseFailure('', EXIT.ok);
    case 'commander.unknownOption': {
      const flag = (/'([^']+)'/.exec(msg)?.[1] ?? msg).split('=')[0] ?? '';
      return new ParseFailure(flag.startsWith('--') ? `unknown flag: ${flag}` : `unknown shorthand flag: '${flag.slice(1, 2)}' in ${flag}`, EXIT.usage, usage);
    }
    case 'commander.optionMissingArgument': {
      const flag = /'(--[a-z0-9-]+)/.exec(msg)?.[1] ?? msg;
      return new ParseFailure(`flag needs an argument: ${flag}`, EXIT.usage, usage);
    }
    case 'commander.invalidArgument': {
      // --format with a value outside the choices.
      const m = /argument '([^']*)' is invalid.*Allowed choices are (.*)\./.exec(msg);
      const text = m ? `invalid argument ${JSON.stringify(m[1])} for "--format" flag: must be one of ${m[2]}` : msg;
      return new ParseFailure(text, EXIT.usage, usage);
    }
    case 'certgen.invalidFlag':
      return new ParseFailure(err.message, EXIT.usage, usage);
    case 'commander.unknownCommand':
      return new ParseFailure(msg, EXIT.error, usage);
    default:
      return new ParseFailure(msg, err.exitCode === 0 ? EXIT.error : err.exitCode, usage);
  }
}

function writeError(io: Io, err: unknown, commandPath: string): void {
  // SpecError and PlanBlockedError live in lazily loaded modules: recognised by their code.
  if (err instanceof CertgenError && err.code === 'spec-invalid') {
    // Diagnostics are already one located line each: file:line:col: path: message.
    const n = (err as CertgenError & { diagnostics: Diagnostic[] }).diagnostics.length;
    io.stderr(`${err.message}\n`);
    io.stderr(`${n} error${n === 1 ? '' : 's'} in the spec; nothing was changed.\n`);
    return;
  }
  if (err instanceof CertgenError && err.code === 'plan-blocked') {
    const plan = (err as CertgenError & { plan: Plan }).plan;
    io.stderr(plan.errors.map((e) => `ERROR: ${e.artifact}: ${e.message}\n`).join(''));
    io.stderr('Nothing was changed.\n');
    return;
  }
  let message: string;
  let hint: string | undefined;
  if (err instanceof CertgenError) {
    message = err.message;
    hint = err.hint;
    if (err.certManagement) {
      message = `cannot load certificates.\nCheck your certificate settings, set --certs-dir, or use --insecure for insecure clusters.\n\n${message}`;
    }
  } else if (err instanceof ParseFailure) {
    message = err.message;
  } else {
    // Not a user mistake: keep the stack so the bug can be reported.
    message = `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\nPlease report this at the certgen issue tracker.`;
  }
  io.stderr(`ERROR: ${message}\n`);
  if (hint) io.stderr(`HINT: ${hint}\n`);
  // cockroach's trailer, kept for the drop-in `cert` family only.
  if (commandPath === 'certgen' || commandPath.startsWith('cert')) io.stderr(`Failed running ${JSON.stringify(commandPath)}\n`);
}

/** Runs certgen with `argv` (without node and script) and returns the exit code. */
export async function main(argvGiven: string[], io: Io): Promise<number> {
  const argv = hoistCertCommand(argvGiven);
  const run: Run = { path: argv[0] ?? '' };
  const program = buildProgram(io, run);
  // The usage shown with a flag error is that of the subcommand being run, found as cobra finds it
  // (flags may stand before a `cert` subcommand).
  const target = findCertCommand(program, argv);
  const cmdPath = (() => {
    const names: string[] = [];
    for (let c: Command | null = target; c && c !== program; c = c.parent) names.unshift(c.name());
    return names.join(' ');
  })();
  try {
    await program.parseAsync(normalizeBoolFlags(terraformSpellings(argv)), { from: 'user' });
  } catch (err) {
    const failure = err instanceof CommanderError ? translateCommanderError(err, target.helpInformation()) : err instanceof UsageError ? new ParseFailure(err.message, EXIT.usage, target.helpInformation()) : undefined;
    if (failure === undefined) {
      writeError(io, err, cmdPath);
      return EXIT.error;
    }
    if (failure.exitCode === EXIT.ok) return EXIT.ok;
    if (failure.usage) io.stderr(`${failure.usage}\n`);
    writeError(io, failure, cmdPath || 'certgen');
    return failure.exitCode;
  }
  if (!run.action) {
    // `certgen` alone: show what it can do.
    io.stdout(program.helpInformation());
    return EXIT.ok;
  }
  try {
    await run.action();
    return run.exitCode ?? EXIT.ok;
  } catch (err) {
    // A flag combination refused by the command itself is a usage error like any other.
    if (err instanceof UsageError) io.stderr(`${target.helpInformation()}\n`);
    writeError(io, err, run.path);
    return err instanceof UsageError ? EXIT.usage : EXIT.error;
  }
}
