// Flag value parsers shared by the commands, with pflag's (cockroach's) error wording. Each throws
// UsageError; hand it to commander's argParser wrapped in flagParser().
import { CommanderError } from 'commander';
import { CertgenError, EXIT, UsageError } from '../errors.js';
import { DurationError, parseDuration } from '../core/duration.js';
import { goQuote } from '../core/go-quote.js';
import { parseGoInt, parseGoUint } from '../core/go-strconv.js';
import { readCsvRecord } from '../core/go-csv.js';
import { KEY_TYPES, isKeyType, type KeyType } from '../core/key-type.js';

/** commander calls argParser functions inside parse; turn our UsageErrors into its error type. */
export function flagParser<T>(fn: (v: string, previous: T) => T): (v: string, previous: T) => T {
  return (v: string, previous: T) => {
    try {
      return fn(v, previous);
    } catch (err) {
      if (err instanceof UsageError) throw new CommanderError(EXIT.usage, 'certgen.invalidFlag', err.message);
      throw err;
    }
  };
}

/** pflag's `invalid argument "<value>" for "<flag>" flag: <reason>`. */
function invalidArgument(flag: string, value: string, reason: string): UsageError {
  return new UsageError(`invalid argument ${goQuote(value)} for "${flag}" flag: ${reason}`);
}

/**
 * An int flag as pflag reads it: strconv.ParseInt(s, 0, 64), so `0x800`, `0o4000`, `0b…` and
 * `4_096` are accepted, a leading 0 is octal (`04000` is 2048), and beyond int64 is `value out of range`.
 */
export function parseKeySize(value: string): number {
  const r = parseGoInt(value, 0, 64);
  if ('error' in r) throw invalidArgument('--key-size', value, r.error);
  return Number(r.value);
}

/** `--key-type`: one of the key types certgen generates. */
export function parseKeyType(value: string): KeyType {
  if (!isKeyType(value)) throw invalidArgument('--key-type', value, `must be one of ${KEY_TYPES.join(', ')}`);
  return value;
}

/** A Go duration (`720h`, `1h30m`) for `flag`. */
export function parseDurationFlag(flag: string): (value: string) => bigint {
  return (value: string) => {
    try {
      return parseDuration(value);
    } catch (err) {
      if (err instanceof DurationError) throw invalidArgument(flag, value, err.message);
      throw err;
    }
  };
}

export const parseLifetime = parseDurationFlag('--lifetime');

/**
 * `--cert-principal-map` is a pflag string slice: each value is split as a CSV record (so
 * `"a,b:c"` is one entry) and repeated flags add up. A malformed record is a flag error; the
 * entries themselves are checked when the command runs ({@link checkPrincipalMap}).
 */
export function parsePrincipalMap(value: string, previous: string[]): string[] {
  const r = readCsvRecord(value);
  if ('error' in r) throw invalidArgument('--cert-principal-map', value, r.error);
  // Unset the first time (commander passes the default, undefined).
  return [...((previous as string[] | undefined) ?? []), ...r.fields];
}

/**
 * security.SetCertPrincipalMap, run before the command (cockroach's pre-run, so a run-time error,
 * exit 1): every non-empty entry needs a `:`, the mapping being split on the last one.
 */
export function checkPrincipalMap(entries: readonly string[]): void {
  for (const entry of entries) {
    if (entry !== '' && !entry.includes(':')) throw new CertgenError(`invalid <cert-principal>:<db-principal> mapping: ${goQuote(entry)}`);
  }
}

/**
 * `--tenant-scope 2,3` (tenantIDSetter): the value split on every comma, each element a tenant ID
 * (roachpb.TenantIDFromString: strconv.ParseUint(s, 10, 64)), so an empty value or element is an
 * error; a repeated flag replaces the list. 0 is no tenant (cockroach panics on it).
 */
export function parseTenantScope(value: string): string[] {
  return value.split(',').map((v) => {
    const r = parseGoUint(v, 10, 64);
    if ('error' in r) throw invalidArgument('--tenant-scope', value, `invalid tenant ID ${v}, tenant ID should be an unsigned int greater than 0: ${r.error}`);
    if (r.value === 0n) throw invalidArgument('--tenant-scope', value, 'invalid tenant ID 0, tenant ID should be an unsigned int greater than 0');
    return r.value.toString();
  });
}

/** `--tenant-name-scope` (tenantNameSetter): split on every comma, each a valid tenant name. */
export function parseTenantNameScope(value: string): string[] {
  return value.split(',').map((v) => {
    if (!/^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$/.test(v)) throw invalidArgument('--tenant-name-scope', value, `invalid tenant name: ${goQuote(v)}`);
    return v;
  });
}

export function parseConcurrency(value: string): number {
  return parseCount('--concurrency')(value);
}

/** A whole number of at least 1 for `flag`. */
export function parseCount(flag: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "${flag}" flag: must be a whole number of at least 1`);
    return Number(value);
  };
}

/** `a,b,,c` → [a, b, c]. */
function commaList(value: string): string[] {
  return value.split(',').filter((v) => v !== '');
}

/** Repeatable, comma separated list flags (`--node a --node b,c`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...commaList(value)];
}
