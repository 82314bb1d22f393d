// Go's strconv.ParseBool, which cockroach uses for boolean flags and environment variables.
import { CertgenError } from '../errors.js';

const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** true / false for Go's spellings, undefined for anything else. */
export function parseGoBoolText(value: string): boolean | undefined {
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  return undefined;
}

/** A boolean environment variable read the way cockroach reads it; unset or empty is false. */
export function parseGoBool(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  const b = parseGoBoolText(value);
  if (b === undefined) throw new CertgenError(`invalid boolean value ${JSON.stringify(value)} for environment variable ${name}`);
  return b;
}

/**
 * COCKROACH_SKIP_KEY_PERMISSION_CHECK from an environment, as cockroach reads it (os.LookupEnv, then
 * strconv.ParseBool): unset is false, but set and empty is not a boolean (cockroach panics at start
 * on it; certgen says so), for `cert`, `report` and `check` alike.
 */
export function skipKeyPermissionCheckFrom(env: Record<string, string | undefined>): boolean {
  const name = 'COCKROACH_SKIP_KEY_PERMISSION_CHECK';
  const value = env[name];
  if (value === '') throw new CertgenError(`invalid boolean value "" for environment variable ${name}`);
  return parseGoBool(name, value);
}
