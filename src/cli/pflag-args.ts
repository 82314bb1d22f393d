// Command lines as cobra and pflag read them, turned into what commander parses the same way.
//
// cobra finds the subcommand by skipping flags (and the values of flags that take one), so
// `cert --certs-dir=certs list` and `cert --certs-dir certs list` run `list`; commander would stop at
// the first option it does not know. pflag has flags with an optional value (`--logtostderr`,
// `--logtostderr=ERROR`, never `--logtostderr ERROR`) and boolean flags that take `=false`; commander
// has neither, so such flags are declared to commander as taking a value and the bare spellings are
// rewritten to carry pflag's implicit value (NoOptDefVal) before commander sees them.
import type { Command, Option } from 'commander';
import { UsageError } from '../errors.js';

/** What pflag needs to know about one flag to read a command line. */
export interface PflagFlag {
  /** Long name without dashes. */
  long: string;
  /** One-letter shorthand, without the dash. */
  short?: string;
  /**
   * pflag's NoOptDefVal: the value a bare `--flag` gets (`"true"` for a boolean flag). A flag without
   * one takes the next argument as its value.
   */
  noOptDefVal?: string;
}

/** The flags of a commander command as pflag would see them; `extra` are rewritten flags. */
export function pflagFlagsOf(cmd: Command, extra: PflagFlag[] = []): Map<string, PflagFlag> {
  const flags = new Map<string, PflagFlag>();
  for (const f of extra) flags.set(f.long, f);
  for (const o of cmd.options as readonly Option[]) {
    const long = o.long?.replace(/^--/, '');
    if (!long || flags.has(long)) continue;
    const short = o.short?.replace(/^-/, '');
    // A commander boolean (no value) is a pflag bool: bare `--flag` means true.
    flags.set(long, { long, ...(short ? { short } : {}), ...(o.required || o.optional ? {} : { noOptDefVal: 'true' }) });
  }
  if (!flags.has('help')) flags.set('help', { long: 'help', short: 'h', noOptDefVal: 'true' });
  return flags;
}

/** Go's %q of a single-byte character: `'x'`, `'\''`. */
function goCharQuote(c: string): string {
  return c === "'" || c === '\\' ? `'\\${c}'` : `'${c}'`;
}

function byShort(flags: Map<string, PflagFlag>, c: string): PflagFlag | undefined {
  for (const f of flags.values()) if (f.short === c) return f;
  return undefined;
}

/**
 * cobra's stripFlags + argsMinusFirstX for one level: the index of the first argument that is not a
 * flag or a flag's value (where cobra looks for the subcommand), or -1.
 */
export function firstOperandIndex(args: string[], flags: Map<string, PflagFlag>): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') return -1;
    if (a.startsWith('--')) {
      // `--flag value` consumes the next argument unless the flag has an implicit value.
      if (!a.includes('=') && flags.get(a.slice(2))?.noOptDefVal === undefined) i++;
      continue;
    }
    if (a.startsWith('-')) {
      if (!a.includes('=') && a.length === 2 && byShort(flags, a.slice(1))?.noOptDefVal === undefined) i++;
      continue;
    }
    if (a !== '') return i;
  }
  return -1;
}

/**
 * Rewrites a command line for commander: `flags` marked in `rewritten` are declared to commander with
 * a required value, so their bare spelling gets the implicit value (`--logtostderr` →
 * `--logtostderr=DEFAULT`, `-v` → `--verbose=true`); a shorthand group (`-vh`) is split; an unknown
 * shorthand is pflag's error. The values of flags that take one are passed through untouched.
 */
export function toCommanderArgs(args: string[], flags: Map<string, PflagFlag>, rewritten: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const f = flags.get(name);
      if (f && rewritten.has(f.long) && eq < 0) out.push(`--${f.long}=${f.noOptDefVal ?? ''}`);
      else {
        out.push(a);
        if (f && eq < 0 && f.noOptDefVal === undefined && i + 1 < args.length) out.push(args[++i] as string);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      // A shorthand group: each letter a flag; a flag with a value takes the rest (or the next arg).
      for (let k = 1; k < a.length; k++) {
        const c = a[k] as string;
        const f = byShort(flags, c);
        // pflag names the letter (Go's %q of a byte) and what is left of the group.
        if (f === undefined) throw new UsageError(`unknown shorthand flag: ${goCharQuote(c)} in -${a.slice(k)}`);
        const rest = a.slice(k + 1);
        if (rest.length > 1 && rest.startsWith('=')) {
          out.push(`--${f.long}=${rest.slice(1)}`);
          break;
        }
        if (f.noOptDefVal !== undefined) {
          out.push(f.long === 'help' ? '--help' : rewritten.has(f.long) ? `--${f.long}=${f.noOptDefVal}` : `--${f.long}`);
          continue;
        }
        if (rest !== '') out.push(`--${f.long}=${rest}`);
        else if (i + 1 < args.length) out.push(`--${f.long}=${args[++i] as string}`);
        else out.push(`--${f.long}`);
        break;
      }
      continue;
    }
    out.push(a);
  }
  return out;
}

/**
 * The command a command line names, found as cobra finds it below the first level (`cert --x=1
 * list` is `cert list`); the first word must be the command's name, as before. `flagsOf` gives a
 * command's flags as pflag sees them.
 */
export function findCommandCobra(program: Command, argv: string[], flagsOf: (cmd: Command) => Map<string, PflagFlag>): Command {
  const first = program.commands.find((c) => c.name() === argv[0]);
  if (first === undefined) return program;
  let cmd = first;
  let rest = argv.slice(1);
  for (;;) {
    if (cmd.commands.length === 0) return cmd;
    const i = firstOperandIndex(rest, flagsOf(cmd));
    const next = i < 0 ? undefined : cmd.commands.find((c) => c.name() === rest[i]);
    if (next === undefined) return cmd;
    rest = [...rest.slice(0, i), ...rest.slice(i + 1)];
    cmd = next;
  }
}
