// cockroach's logging flags, which every `cockroach` command accepts (persistent flags of the root
// command, pkg/cli/flags.go and log_flags.go), so scripts pass them to `cockroach cert` too:
// `--log`, `--log-config-file`, `--log-config-vars`, `--logtostderr[=SEVERITY]`, `--log-dir`,
// `--redactable-logs`, and the hidden `--no-color`, `--log-file-verbosity`, `--sql-audit-dir`, `-v`,
// `--log-file-max-size` and `--log-group-max-size` (the last two deprecated: pflag says so on stderr).
//
// certgen writes no log files. What it honours is the stderr threshold: cockroach's client commands
// print log messages on stderr from WARNING up unless told otherwise (`--logtostderr=ERROR`, or
// `--log='sinks: {stderr: {filter: ERROR}}'`), and certgen's only messages at a log severity are the
// warnings `cert list` prints for files it skips. Everything else is accepted with cockroach's value
// syntax and checks, and has no effect.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { CertgenError, UsageError } from '../errors.js';
import { goQuote } from '../core/go-quote.js';
import { goAtoi } from '../core/go-strconv.js';
import { readCsvRecord } from '../core/go-csv.js';
import { parseGoBoolText } from '../core/go-bool.js';
import { parseGoBytes } from '../core/go-bytes.js';
import { errnoText } from '../io/files.js';
import { flagParser } from './flags.js';
import type { PflagFlag } from './pflag-args.js';

/** logpb.Severity. */
export const SEVERITY = { UNKNOWN: 0, INFO: 1, WARNING: 2, ERROR: 3, FATAL: 4, NONE: 5, DEFAULT: 6 } as const;

/** Severity.Set: a name in any case (TRUE is INFO, FALSE is NONE), else strconv.Atoi, as an int32. */
export function parseSeverity(value: string): { value: number } | { error: string } {
  const upper = value.toUpperCase();
  if (Object.hasOwn(SEVERITY, upper)) return { value: SEVERITY[upper as keyof typeof SEVERITY] };
  if (upper === 'TRUE') return { value: SEVERITY.INFO };
  if (upper === 'FALSE') return { value: SEVERITY.NONE };
  const n = goAtoi(value);
  if ('error' in n) return n;
  return { value: Number(BigInt.asIntN(32, n.value)) };
}

const invalid = (flag: string, value: string, reason: string): UsageError => new UsageError(`invalid argument ${goQuote(value)} for "${flag}" flag: ${reason}`);

function severityFlag(flag: string): (v: string) => number {
  return (v) => {
    const s = parseSeverity(v);
    if ('error' in s) throw invalid(flag, v, s.error);
    return s.value;
  };
}

function boolFlag(flag: string): (v: string) => boolean {
  return (v) => {
    const b = parseGoBoolText(v);
    if (b === undefined) throw invalid(flag, v, `strconv.ParseBool: parsing ${goQuote(v)}: invalid syntax`);
    return b;
  };
}

/** fileContentsValue.Set: the file is read while the flags are parsed. */
function readConfigFile(v: string): string {
  try {
    return readFileSync(v, 'utf8');
  } catch (err) {
    // os.ReadFile: a folder opens but fails to read.
    const op = (err as NodeJS.ErrnoException).code === 'EISDIR' ? 'read' : 'open';
    throw invalid('--log-config-file', v, `${op} ${v}: ${errnoText(err)}`);
  }
}

/** humanizeutil.BytesValue.Set. */
function bytesFlag(flag: string): (v: string) => bigint {
  return (v) => {
    const b = parseGoBytes(v);
    if ('error' in b) throw invalid(flag, v, b.error);
    return b.value;
  };
}

/**
 * The deprecated flags among these and what pflag prints when one is set (once per occurrence, on
 * stderr, after a successful parse): cockroach marks them with MarkDeprecated.
 */
const DEPRECATED: Record<string, string> = {
  'log-file-max-size': "use --log instead to specify 'file-defaults: {max-file-size: ...}'",
  'log-group-max-size': "use --log instead to specify 'file-defaults: {max-group-size: ...}'",
};

/** How often each deprecated flag was given, per command. */
const deprecatedUses = new WeakMap<Command, string[]>();

/** pflag's `Flag --x has been deprecated, …` lines for the deprecated flags the command line set. */
export function deprecationNotices(cmd: Command): string {
  return (deprecatedUses.get(cmd) ?? []).map((name) => `Flag --${name} has been deprecated, ${DEPRECATED[name] ?? ''}\n`).join('');
}

function stringSlice(flag: string): (v: string, previous: string[]) => string[] {
  return (v, previous) => {
    const r = readCsvRecord(v);
    if ('error' in r) throw invalid(flag, v, r.error);
    return [...((previous as string[] | undefined) ?? []), ...r.fields];
  };
}

/** Flags whose bare spelling carries pflag's implicit value; commander sees them with a value. */
export const LOG_PFLAGS: PflagFlag[] = [
  { long: 'logtostderr', noOptDefVal: 'DEFAULT' },
  { long: 'redactable-logs', noOptDefVal: 'true' },
  { long: 'no-color', noOptDefVal: 'true' },
  { long: 'verbose', short: 'v', noOptDefVal: 'true' },
];
export const LOG_REWRITTEN: ReadonlySet<string> = new Set(LOG_PFLAGS.map((f) => f.long));

/** How `--help` names the flags commander sees with a required value. */
export const LOG_HELP_TERMS: Record<string, string> = {
  '--logtostderr': '--logtostderr[=<severity>]',
  '--redactable-logs': '--redactable-logs[=<bool>]',
};

/** Which of --log and --log-config-file (which fill the same setting) came last, per command. */
const lastLogInput = new WeakMap<Command, 'log' | 'logConfigFile'>();

/** Adds the logging flags to a command, as cockroach adds them to every command. */
export function addLogFlags(cmd: Command): Command {
  cmd.on('option:log', () => lastLogInput.set(cmd, 'log'));
  cmd.on('option:log-config-file', () => lastLogInput.set(cmd, 'logConfigFile'));
  for (const name of Object.keys(DEPRECATED)) cmd.on(`option:${name}`, () => deprecatedUses.set(cmd, [...(deprecatedUses.get(cmd) ?? []), name]));
  return cmd
    .addOption(new Option('--log <yaml>', 'Logging configuration (YAML), as cockroach reads it. certgen writes no log files and reads only sinks.stderr.filter, the threshold for the warnings the cert commands print; the rest has no effect.'))
    .addOption(new Option('--log-config-file <file>', 'Read the --log configuration from this file.').argParser(flagParser(readConfigFile)))
    .addOption(new Option('--log-config-vars <vars>', 'Environment variables the --log configuration may use as ${VAR}.').argParser(flagParser(stringSlice('--log-config-vars'))))
    .addOption(
      new Option('--logtostderr <severity>', 'Print messages at or above this severity on stderr: INFO, WARNING (the default, also when no value is given), ERROR, FATAL or NONE. The only such messages certgen prints are the warnings of the cert commands for files they skip.').argParser(
        flagParser(severityFlag('--logtostderr')),
      ),
    )
    .addOption(new Option('--log-dir <dir>', 'Accepted for compatibility; no effect (certgen writes no log files).'))
    .addOption(new Option('--redactable-logs <bool>', 'Accepted for compatibility; no effect.').argParser(flagParser(boolFlag('--redactable-logs'))))
    .addOption(new Option('--no-color <bool>').argParser(flagParser(boolFlag('--no-color'))).hideHelp())
    .addOption(new Option('--log-file-verbosity <severity>').argParser(flagParser(severityFlag('--log-file-verbosity'))).hideHelp())
    .addOption(new Option('--sql-audit-dir <dir>').hideHelp())
    .addOption(new Option('--log-file-max-size <bytes>').argParser(flagParser(bytesFlag('--log-file-max-size'))).hideHelp())
    .addOption(new Option('--log-group-max-size <bytes>').argParser(flagParser(bytesFlag('--log-group-max-size'))).hideHelp())
    .addOption(new Option('-v, --verbose <bool>').argParser(flagParser(boolFlag('-v, --verbose'))).hideHelp());
}

/** What the logging flags decide for certgen's output. */
export interface Logging {
  /** Messages of this severity or above go to stderr. */
  stderrThreshold: number;
}

/** os.Expand with the allowed variables, reporting the first problem as cockroach does. */
function expandVariables(s: string, vars: string[], env: NodeJS.ProcessEnv): string {
  const values = new Map<string, string>();
  const problems: string[] = [];
  for (const k of vars) {
    const v = env[k];
    if (v === undefined) problems.push(`variable ${goQuote(k)} is not defined in environment`);
    else values.set(k, v);
  }
  const special = (c: string | undefined): boolean => c !== undefined && '*#$@!?-0123456789'.includes(c);
  let out = '';
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] !== '$' || j + 1 >= s.length) continue;
    out += s.slice(i, j);
    const rest = s.slice(j + 1);
    let name = '';
    let w = 0;
    if (rest[0] === '{') {
      if (rest.length > 2 && special(rest[1]) && rest[2] === '}') [name, w] = [rest[1] as string, 3];
      else {
        const close = rest.indexOf('}');
        if (close === 1) w = 2;
        else if (close > 1) [name, w] = [rest.slice(1, close), close + 1];
        else w = 1;
      }
    } else if (special(rest[0])) [name, w] = [rest[0] as string, 1];
    else {
      const m = /^[A-Za-z0-9_]*/.exec(rest)?.[0] ?? '';
      [name, w] = [m, m.length];
    }
    if (name === '' && w === 0) out += '$';
    else if (name !== '') {
      const v = values.get(name);
      if (v === undefined) problems.push(`unknown variable ${goQuote(name)} used in configuration`);
      out += v ?? '';
    }
    j += w;
    i = j + 1;
  }
  if (problems.length > 0) throw new CertgenError(`unable to expand environment variables: ${problems[0] ?? ''}`);
  return i === 0 ? s : out + s.slice(i);
}

/** sinks.stderr.filter of a --log configuration, if it sets one. */
function stderrFilter(config: string): number | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(config);
  } catch (err) {
    throw new CertgenError(`invalid --log configuration: ${((err as Error).message.split('\n')[0] ?? '').replace(/:$/, '')}`);
  }
  const get = (o: unknown, k: string): unknown => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);
  const filter = get(get(get(doc, 'sinks'), 'stderr'), 'filter');
  if (filter === undefined || filter === null) return undefined;
  const s = parseSeverity(String(filter));
  if ('error' in s) throw new CertgenError(`invalid --log configuration: sinks.stderr.filter: ${s.error}`);
  return s.value;
}

/**
 * setupLogging for a client command: the checks cockroach makes after parsing the flags (a run-time
 * error, exit 1) and the stderr threshold (WARNING unless the flags say otherwise).
 */
export function resolveLogging(cmd: Command, env: NodeJS.ProcessEnv): Logging {
  const o = cmd.opts<Record<string, unknown>>();
  const set = (key: string): boolean => cmd.getOptionValueSource(key) === 'cli';
  // --log and --log-config-file fill the same input; the later one wins.
  const last = lastLogInput.get(cmd);
  const logInput = last === undefined ? undefined : String(o[last] ?? '');
  const threshold = set('logtostderr') ? (o['logtostderr'] as number) : SEVERITY.UNKNOWN;
  const fileVerbosity = set('logFileVerbosity') ? (o['logFileVerbosity'] as number) : SEVERITY.UNKNOWN;
  const overrides =
    set('logDir') || set('sqlAuditDir') || fileVerbosity !== SEVERITY.UNKNOWN || threshold !== SEVERITY.UNKNOWN || set('color') || set('redactableLogs') || set('logFileMaxSize') || set('logGroupMaxSize');
  if (overrides && logInput !== undefined) throw new CertgenError('--log is incompatible with legacy discrete logging flags');
  const vars = (o['logConfigVars'] as string[] | undefined) ?? [];
  for (const v of vars) {
    if (v.toUpperCase().startsWith('COCKROACH_')) throw new CertgenError(`invalid logging configuration: use of ${v} is not allowed as a logging configuration variable`);
  }
  let stderrThreshold: number = SEVERITY.WARNING;
  if (threshold !== SEVERITY.UNKNOWN) stderrThreshold = threshold === SEVERITY.DEFAULT ? SEVERITY.WARNING : threshold;
  if (logInput !== undefined) {
    const text = vars.length > 0 ? expandVariables(logInput, vars, env) : logInput;
    stderrThreshold = stderrFilter(text) ?? stderrThreshold;
  }
  return { stderrThreshold };
}

/** Whether a message of `severity` reaches stderr. */
export function shown(logging: Logging, severity: number): boolean {
  return severity >= logging.stderrThreshold;
}
