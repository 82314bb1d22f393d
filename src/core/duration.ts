// Go's time.ParseDuration and time.Duration.String, reproduced to the letter, because
// `cockroach cert --lifetime` parses its value with ParseDuration and prints defaults with
// Duration.String (e.g. `87840h0m0s` in --help). Durations are int64 nanoseconds in Go; we use
// bigint so that every value Go accepts (up to ±2^63 ns, ~292 years) is exact.

/** Nanoseconds in one microsecond. */
export const NS_PER_MICROSECOND = 1_000n;
/** Nanoseconds in one millisecond. */
export const NS_PER_MILLISECOND = 1_000_000n;
/** Nanoseconds in one second. */
export const NS_PER_SECOND = 1_000_000_000n;
/** Nanoseconds in one minute. */
export const NS_PER_MINUTE = 60_000_000_000n;
/** Nanoseconds in one hour (the largest unit Go's duration syntax knows). */
export const NS_PER_HOUR = 3_600_000_000_000n;

/** Smallest and largest values of Go's int64-backed `time.Duration`. */
export const MIN_DURATION = -(1n << 63n);
export const MAX_DURATION = (1n << 63n) - 1n;

/** 1<<63 as an unsigned quantity: the overflow bound Go's parser checks against. */
const TWO_63 = 1n << 63n;

/** Go's unitMap. Both micro spellings are accepted: U+00B5 (micro sign) and U+03BC (Greek mu). */
const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', NS_PER_MICROSECOND],
  ['\u00b5s', NS_PER_MICROSECOND],
  ['\u03bcs', NS_PER_MICROSECOND],
  ['ms', NS_PER_MILLISECOND],
  ['s', NS_PER_SECOND],
  ['m', NS_PER_MINUTE],
  ['h', NS_PER_HOUR],
]);

/**
 * The error `time.ParseDuration` returns. Its message is byte-for-byte Go's, so the CLI can print
 * `invalid argument "10y" for "--lifetime" flag: time: unknown unit "y" in duration "10y"`.
 */
export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

const utf8 = new TextEncoder();

/**
 * Quotes like the `time` package's private `quote` (NOT strconv.Quote): printable ASCII is kept,
 * `"` and `\` are backslash-escaped, and every UTF-8 byte of a control or non-ASCII character is
 * written as `\xNN`. So `quote("1µs ")` is `"1\xc2\xb5s "`.
 */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp >= 0x80 || cp < 0x20) {
      // Lone surrogates encode as U+FFFD's bytes, like Go's handling of invalid UTF-8.
      for (const byte of utf8.encode(ch)) {
        out += '\\x' + byte.toString(16).padStart(2, '0');
      }
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Parses a duration string exactly like Go's `time.ParseDuration`.
 *
 * Syntax: an optional `+`/`-`, then one or more `<decimal><unit>` terms, e.g. `300ms`, `-1.5h`,
 * `2h45m`, `.5h`, `1.h`. Units: `ns`, `us`, `µs` (U+00B5), `μs` (U+03BC), `ms`, `s`, `m`, `h`.
 * A bare `0` (optionally signed) is the only unit-less value accepted. There are no `d`/`y` units.
 *
 * @param s - the text to parse.
 * @returns the duration in nanoseconds, within int64 range.
 * @throws {@link DurationError} with Go's message: `time: invalid duration "X"`,
 *   `time: missing unit in duration "X"` or `time: unknown unit "U" in duration "X"`.
 */
export function parseDuration(s: string): bigint {
  const orig = s;
  const invalid = (): DurationError => new DurationError('time: invalid duration ' + goTimeQuote(orig));
  let d = 0n;
  let neg = false;

  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  // Go special-cases a lone "0" (signed or not); "00" or "0.0" still need a unit.
  if (s === '0') return 0n;
  if (s === '') throw invalid();

  while (s !== '') {
    let v = 0n; // integer part
    let f = 0n; // fraction digits as an integer…
    let scale = 1; // …so that value = v + f/scale (scale is a float64 in Go; keep it a double)

    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();

    // leadingInt: consume [0-9]*, failing on values above 1<<63.
    let i = 0;
    for (; i < s.length && isDigit(s[i]); i++) {
      if (v > TWO_63 / 10n) throw invalid();
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > TWO_63) throw invalid();
    }
    const pre = i > 0;
    s = s.slice(i);

    // leadingFraction: consume (\.[0-9]*)?, silently dropping precision instead of overflowing.
    let post = false;
    if (s !== '' && s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      for (; j < s.length && isDigit(s[j]); j++) {
        if (overflow) continue;
        if (f > (TWO_63 - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
        if (y > TWO_63) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s = s.slice(j);
    }
    // No digits at all, e.g. ".s" or "-.s".
    if (!pre && !post) throw invalid();

    // The unit is everything up to the next '.' or digit (so "1e3h" has unit "e").
    let k = 0;
    while (k < s.length && !(s[k] === '.' || isDigit(s[k]))) k++;
    if (k === 0) throw new DurationError('time: missing unit in duration ' + goTimeQuote(orig));
    const u = s.slice(0, k);
    s = s.slice(k);
    const unit = UNITS.get(u);
    if (unit === undefined) {
      throw new DurationError('time: unknown unit ' + goTimeQuote(u) + ' in duration ' + goTimeQuote(orig));
    }
    if (v > TWO_63 / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      // Go does this step in float64 ("needed to be nanosecond accurate for fractions of hours");
      // Number(bigint) rounds to nearest like Go's float64(uint64), and the product is < 3.6e12,
      // so truncating it reproduces Go's uint64(...) conversion bit for bit.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > TWO_63) throw invalid();
    }
    d += v;
    if (d > TWO_63) throw invalid();
  }
  if (neg) return -d;
  if (d > MAX_DURATION) throw invalid();
  return d;
}

/**
 * Writes the fraction `v / 10**prec` Go-style (`fmtFrac`): trailing zeros and, when nothing is
 * left, the decimal point are omitted. Returns the text and the integer part.
 */
function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let out = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) out = digit.toString() + out;
    v /= 10n;
  }
  return [print ? '.' + out : '', v];
}

/**
 * Formats nanoseconds exactly like Go's `time.Duration.String`: `72h3m0.5s`, `1h0m0s`, `1.5s`;
 * below one second the unit shrinks to `ms`, `µs` (U+00B5) or `ns` (`500ms`, `1µs`, `7ns`); zero is
 * `0s`. Hours are the largest unit, so the CA default is `87840h0m0s`.
 *
 * @param ns - a duration in nanoseconds; must fit Go's int64.
 * @throws RangeError when `ns` is outside the int64 range.
 */
export function formatDuration(ns: bigint): string {
  if (ns < MIN_DURATION || ns > MAX_DURATION) {
    throw new RangeError(`duration ${ns}ns is outside the int64 range`);
  }
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;

  if (u < NS_PER_SECOND) {
    // Sub-second: use the largest of ms/µs/ns that is not larger than the value.
    let prec: number;
    let unit: string;
    if (u === 0n) return '0s';
    if (u < NS_PER_MICROSECOND) {
      prec = 0;
      unit = 'ns';
    } else if (u < NS_PER_MILLISECOND) {
      prec = 3;
      unit = '\u00b5s';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const [frac, whole] = fmtFrac(u, prec);
    out = whole.toString() + frac + unit;
  } else {
    const [frac, secs] = fmtFrac(u, 9);
    out = (secs % 60n).toString() + frac + 's';
    u = secs / 60n;
    if (u > 0n) {
      out = (u % 60n).toString() + 'm' + out;
      u /= 60n;
      // Go stops at hours: days are not a fixed length.
      if (u > 0n) out = u.toString() + 'h' + out;
    }
  }
  return neg ? '-' + out : out;
}

/**
 * Converts nanoseconds to whole milliseconds (truncating toward zero) for use with JS `Date`
 * arithmetic. Sub-millisecond remainders are dropped; certificate times are encoded with
 * 1-second precision anyway.
 */
export function durationToMs(ns: bigint): number {
  return Number(ns / NS_PER_MILLISECOND);
}

/** A span in milliseconds as a Go duration, to the second (`240h0m0s`): for messages about time left. */
export function formatMs(ms: number): string {
  return formatDuration(BigInt(Math.round(ms / 1000)) * NS_PER_SECOND);
}
