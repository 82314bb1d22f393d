// CockroachDB's SQL username rules as `cert create-client <username>` applies them
// (username.MakeSQLUsernameFromUserInput → lexbase.NormalizeName, then ValidateForCreation).
// The normalised name becomes the certificate CN and the file name, so it must match upstream
// exactly or `client.<user>.crt` would not be found by a real cluster.

/** The hint CockroachDB attaches to every username validation error. */
export const USERNAME_HINT =
  'Usernames are case insensitive, must start with a letter, digit or underscore, may contain letters, digits, dashes, periods, or underscores, and must not exceed 63 characters.';

/** Maximum username length in UTF-8 bytes (`usernameMaxLength`). */
export const USERNAME_MAX_BYTES = 63;

const utf8 = new TextEncoder();

/** `validUsernameCreationRE`; Go's `$` (without (?m)) is end-of-text, as is JS's without `m`. */
const VALID_USERNAME_RE = /^[\p{Ll}0-9_][-\p{Ll}0-9_.]*$/u;

/**
 * Lower-cases one code point with Go's `unicode.ToLower` semantics (simple, 1:1 case mapping).
 * JS `toLowerCase` applies SpecialCasing, whose only unconditional multi-code-point lowercase
 * mapping is `İ` → `i̇`; that one is overridden by the Turkish rule anyway.
 */
function lowerRune(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  // lexbase's unicode.SpecialCase folds both Turkish i's into ASCII so comparisons are
  // locale-invariant (and dottedness-insensitive).
  if (cp === 0x130 || cp === 0x131) return 'i';
  // A lone surrogate is invalid UTF-16; strings.Map turns invalid UTF-8 into U+FFFD.
  if (cp >= 0xd800 && cp <= 0xdfff) return '\ufffd';
  const lower = ch.toLowerCase();
  // Guard against any context-free multi-code-point expansion: Go keeps such runes 1:1.
  return [...lower].length === 1 ? lower : ch;
}

/**
 * Normalises a username like CockroachDB's `lexbase.NormalizeName`: each code point is mapped to
 * lower case on its own (Go `unicode.ToLower`, so no context-sensitive final-sigma rule), `İ`
 * (U+0130) and `ı` (U+0131) both become ASCII `i`, and a non-ASCII result is put in NFC.
 *
 * @example normalizeUsername('Ομηρος') === 'ομηρος'; normalizeUsername('İstanbul') === 'istanbul'
 */
export function normalizeUsername(input: string): string {
  let lower = '';
  for (const ch of input) lower += lowerRune(ch);
  // NFC only when needed, as upstream does (it is a no-op on ASCII anyway).
  return /^[\x00-\x7f]*$/.test(lower) ? lower : lower.normalize('NFC');
}

/** A username validation failure, worded as `cockroach cert create-client` prints it. */
export interface UsernameProblem {
  message: 'username is empty' | 'username is too long' | 'username is invalid';
  hint: string;
}

/**
 * Validates an already-normalised username for creation (`SQLUsername.ValidateForCreation`).
 * Checks, in upstream order: non-empty; at most 63 UTF-8 bytes (not characters, so `ω` counts 2);
 * matches `^[\p{Ll}0-9_][-\p{Ll}0-9_.]*$`. Reserved names (`root`, `node`, …) are accepted.
 *
 * @param normalized - the output of {@link normalizeUsername}.
 * @returns the problem with its hint, or `undefined` when the name is valid.
 */
export function checkUsername(normalized: string): UsernameProblem | undefined {
  if (normalized === '') return { message: 'username is empty', hint: USERNAME_HINT };
  if (utf8.encode(normalized).length > USERNAME_MAX_BYTES) {
    return { message: 'username is too long', hint: USERNAME_HINT };
  }
  if (!VALID_USERNAME_RE.test(normalized)) return { message: 'username is invalid', hint: USERNAME_HINT };
  return undefined;
}
