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

/** COCKROACH_SKIP_KEY_PERMISSION_CHECK from an environment. */
export function skipKeyPermissionCheckFrom(env: Record<string, string | undefined>): boolean {
  return parseGoBool('COCKROACH_SKIP_KEY_PERMISSION_CHECK', env.COCKROACH_SKIP_KEY_PERMISSION_CHECK);
}
