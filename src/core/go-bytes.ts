// cockroach's byte-size flag values (humanizeutil.ParseBytes over go-humanize's ParseBytes), for
// the deprecated `--log-file-max-size` and `--log-group-max-size`: `10MiB`, `1.5 GB`, `64k`,
// `1,000`, a leading `-`; units in any case, with or without a space.
import { goQuote } from './go-quote.js';

const KI = 1024;
const K = 1000;
/** go-humanize's bytesSizeTable. */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: K,
  kb: K,
  ki: KI,
  kib: KI,
  m: K ** 2,
  mb: K ** 2,
  mi: KI ** 2,
  mib: KI ** 2,
  g: K ** 3,
  gb: K ** 3,
  gi: KI ** 3,
  gib: KI ** 3,
  t: K ** 4,
  tb: K ** 4,
  ti: KI ** 4,
  tib: KI ** 4,
  p: K ** 5,
  pb: K ** 5,
  pi: KI ** 5,
  pib: KI ** 5,
  e: K ** 6,
  eb: K ** 6,
  ei: KI ** 6,
  eib: KI ** 6,
};

const MAX_UINT64 = 2 ** 64;

/** The number of bytes, or the error text Go gives. */
export function parseGoBytes(s: string): { value: bigint } | { error: string } {
  if (s === '') return { error: 'parsing "": invalid syntax' };
  const negative = s.startsWith('-');
  const rest = negative ? s.slice(1) : s;
  // The number is the leading run of digits (unicode.IsDigit), dots and commas.
  const m = /^[\p{Nd}.,]*/u.exec(rest)?.[0] ?? '';
  const num = m.replaceAll(',', '');
  // strconv.ParseFloat of what is left: only ASCII decimal forms can be valid here.
  if (!/^(\d+\.?\d*|\.\d+)$/.test(num)) return { error: `strconv.ParseFloat: parsing ${goQuote(num)}: invalid syntax` };
  let f = Number(num);
  if (!Number.isFinite(f)) return { error: `strconv.ParseFloat: parsing ${goQuote(num)}: value out of range` };
  const extra = rest.slice(m.length).trim().toLowerCase();
  const unit = UNITS[extra];
  if (unit === undefined) return { error: `unhandled size name: ${extra}` };
  f *= unit;
  if (f >= MAX_UINT64) return { error: `too large: ${rest}` };
  const value = BigInt(Math.trunc(f));
  if (value > 2n ** 63n - 1n) return { error: `too large: ${s}` };
  return { value: negative ? -value : value };
}
