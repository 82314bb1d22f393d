// Flag value parsers shared by the commands, with pflag's (cockroach's) error wording. Each throws
// UsageError; hand it to commander's argParser wrapped in flagParser().
import { CommanderError } from 'commander';
import { EXIT, UsageError } from '../errors.js';
import { DurationError, parseDuration } from '../core/duration.js';

/** commander calls argParser functions inside parse; turn our UsageErrors into its error type. */
export function flagParser<T>(fn: (v: string) => T): (v: string) => T {
  return (v: string) => {
    try {
      return fn(v);
    } catch (err) {
      if (err instanceof UsageError) throw new CommanderError(EXIT.usage, 'certgen.invalidFlag', err.message);
      throw err;
    }
  };
}

export function parseKeySize(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--key-size" flag: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number.parseInt(value, 10);
}

/** A Go duration (`720h`, `1h30m`) for `flag`. */
export function parseDurationFlag(flag: string): (value: string) => bigint {
  return (value: string) => {
    try {
      return parseDuration(value);
    } catch (err) {
      if (err instanceof DurationError) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${err.message}`);
      throw err;
    }
  };
}

export const parseLifetime = parseDurationFlag('--lifetime');

/** cockroach's SetCertPrincipalMap: every non-empty entry needs a `:` (split on the last one). */
export function parsePrincipalMap(value: string): string {
  for (const entry of value.split(',')) {
    if (entry !== '' && !entry.includes(':')) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--cert-principal-map" flag: invalid <cert-principal>:<db-principal> mapping: ${JSON.stringify(entry)}`);
  }
  return value;
}

/** `--tenant-scope 2,3`: uint64 tenant IDs, 0 is not a tenant. */
export function parseTenantScope(value: string): string[] {
  return commaList(value).map((v) => {
    if (!/^\d+$/.test(v) || BigInt(v) > 18446744073709551615n) {
      throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--tenant-scope" flag: invalid tenant ID ${v}, tenant ID should be an unsigned int greater than 0: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    if (BigInt(v) === 0n) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--tenant-scope" flag: invalid tenant ID 0, tenant ID should be an unsigned int greater than 0`);
    return BigInt(v).toString();
  });
}

export function parseTenantNameScope(value: string): string[] {
  return commaList(value).map((v) => {
    if (!/^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$/.test(v)) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--tenant-name-scope" flag: invalid tenant name: ${JSON.stringify(v)}`);
    return v;
  });
}

export function parseConcurrency(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--concurrency" flag: must be a whole number of at least 1`);
  return Number(value);
}

/** `a,b,,c` → [a, b, c]. */
function commaList(value: string): string[] {
  return value.split(',').filter((v) => v !== '');
}

/** Repeatable, comma separated list flags (`--node a --node b,c`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...commaList(value)];
}
