// Go's strconv.ParseInt / ParseUint / Atoi, with their *NumError text. pflag parses every int flag
// with ParseInt(s, 0, 64) (so `0x800`, `0o4000`, `0b1`, `4_096` are accepted and `04000` is octal),
// cockroach parses tenant IDs with ParseUint(s, 10, 64) and log severities with Atoi.
import { goQuote } from './go-quote.js';

export type NumResult = { value: bigint } | { error: string };

/** `strconv.<fn>: parsing "<s>": <reason>`, as *NumError prints. */
function numError(fn: string, s: string, reason: 'invalid syntax' | 'value out of range' | string): { error: string } {
  return { error: `strconv.${fn}: parsing ${goQuote(s)}: ${reason}` };
}

const lower = (c: number): number => c | 0x20;

/**
 * Go's underscoreOK: underscores only between digits (or after a base prefix), and only where base 0
 * is in effect.
 */
function underscoreOK(s0: string): boolean {
  let s = s0;
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(String.fromCharCode(lower(s.charCodeAt(1))))) {
    i = 2;
    saw = '0';
    hex = lower(s.charCodeAt(1)) === 0x78;
  }
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x39) || (hex && lower(c) >= 0x61 && lower(c) <= 0x66)) {
      saw = '0';
      continue;
    }
    if (c === 0x5f) {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * strconv.ParseUint(s, base, bitSize) for base 0 or 2..36. Works on the string's UTF-16 code units,
 * which for the ASCII digits Go accepts is the same as its bytes (anything else is a syntax error
 * either way).
 */
export function parseGoUint(s: string, base: number, bitSize: number, fn = 'ParseUint'): NumResult {
  if (s === '') return numError(fn, s, 'invalid syntax');
  const base0 = base === 0;
  const s0 = s;
  let digits = s;
  if (base0) {
    base = 10;
    if (s[0] === '0') {
      const p = s.length >= 3 ? lower(s.charCodeAt(1)) : 0;
      if (p === 0x62) [base, digits] = [2, s.slice(2)];
      else if (p === 0x6f) [base, digits] = [8, s.slice(2)];
      else if (p === 0x78) [base, digits] = [16, s.slice(2)];
      else [base, digits] = [8, s.slice(1)];
    }
  }
  const maxVal = (1n << BigInt(bitSize)) - 1n;
  const b = BigInt(base);
  const cutoff = ((1n << 64n) - 1n) / b + 1n;
  let n = 0n;
  let underscores = false;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    let d: number;
    if (c === 0x5f && base0) {
      underscores = true;
      continue;
    } else if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (lower(c) >= 0x61 && lower(c) <= 0x7a) d = lower(c) - 0x61 + 10;
    else return numError(fn, s0, 'invalid syntax');
    if (d >= base) return numError(fn, s0, 'invalid syntax');
    // Overflow is reported where it happens, whatever follows.
    if (n >= cutoff) return numError(fn, s0, 'value out of range');
    n *= b;
    const n1 = n + BigInt(d);
    if (n1 > maxVal) return numError(fn, s0, 'value out of range');
    n = n1;
  }
  if (underscores && !underscoreOK(s0)) return numError(fn, s0, 'invalid syntax');
  return { value: n };
}

/** strconv.ParseInt(s, base, bitSize). */
export function parseGoInt(s: string, base: number, bitSize: number, fn = 'ParseInt'): NumResult {
  if (s === '') return numError(fn, s, 'invalid syntax');
  const s0 = s;
  let neg = false;
  if (s[0] === '+') s = s.slice(1);
  else if (s[0] === '-') {
    neg = true;
    s = s.slice(1);
  }
  const un = parseGoUint(s, base, bitSize, fn);
  if ('error' in un) {
    // A range error is recomputed below against the signed limits; a syntax error names s0.
    if (!un.error.endsWith(': value out of range')) return numError(fn, s0, 'invalid syntax');
    return numError(fn, s0, 'value out of range');
  }
  const cutoff = 1n << BigInt(bitSize - 1);
  if (!neg && un.value >= cutoff) return numError(fn, s0, 'value out of range');
  if (neg && un.value > cutoff) return numError(fn, s0, 'value out of range');
  return { value: neg ? -un.value : un.value };
}

/** strconv.Atoi on a 64-bit platform: ParseInt(s, 10, 64) reporting as Atoi. */
export function goAtoi(s: string): NumResult {
  return parseGoInt(s, 10, 64, 'Atoi');
}
