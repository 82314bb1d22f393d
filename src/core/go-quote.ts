// Go's strconv.Quote (what `%q` prints), byte for byte: cockroach and the Go libraries it calls
// quote names and values in their messages this way (`x509: "bücher.de" cannot be encoded as an
// IA5String`, `invalid URL escape "%zz"`, `invalid argument "0x" for "--key-size" flag`). It differs
// from JSON.stringify for control characters (`\x01`, not `\u0001`), DEL, invalid UTF-8 (`\xff`),
// and runes Go does not count as printable (`\u00ad`, `\u200b`), which Go escapes and JSON keeps.

const utf8 = new TextEncoder();
const HEX = '0123456789abcdef';

/** UTF-8 bytes of a JS string (a lone surrogate becomes U+FFFD, as Node does with argv). */
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s);
}

/**
 * Go's utf8.DecodeRune on `b` at `i`: the rune and its width, or `{ rune: -1, width: 1 }` for an
 * invalid sequence (a stray continuation byte, a truncated or overlong sequence, a surrogate, or a
 * value above U+10FFFF), which Go reports as RuneError of width 1.
 */
export function decodeRune(b: Uint8Array, i: number): { rune: number; width: number } {
  const c0 = b[i] ?? 0;
  if (c0 < 0x80) return { rune: c0, width: 1 };
  const bad = { rune: -1, width: 1 };
  const cont = (k: number, lo = 0x80, hi = 0xbf): number | undefined => {
    const c = b[i + k];
    return c !== undefined && c >= lo && c <= hi ? c & 0x3f : undefined;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1);
    return c1 === undefined ? bad : { rune: ((c0 & 0x1f) << 6) | c1, width: 2 };
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    // E0 needs A0..BF (no overlongs), ED needs 80..9F (no surrogates).
    const c1 = cont(1, c0 === 0xe0 ? 0xa0 : 0x80, c0 === 0xed ? 0x9f : 0xbf);
    const c2 = c1 === undefined ? undefined : cont(2);
    return c1 === undefined || c2 === undefined ? bad : { rune: ((c0 & 0x0f) << 12) | (c1 << 6) | c2, width: 3 };
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    // F0 needs 90..BF (no overlongs), F4 needs 80..8F (at most U+10FFFF).
    const c1 = cont(1, c0 === 0xf0 ? 0x90 : 0x80, c0 === 0xf4 ? 0x8f : 0xbf);
    const c2 = c1 === undefined ? undefined : cont(2);
    const c3 = c2 === undefined ? undefined : cont(3);
    return c1 === undefined || c2 === undefined || c3 === undefined ? bad : { rune: ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, width: 4 };
  }
  return bad;
}

/**
 * unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space (Go's own
 * Latin-1 table below U+0100, where only U+00AD, the soft hyphen, is left out).
 */
export function goIsPrint(r: number): boolean {
  if (r < 0x100) return (r >= 0x20 && r < 0x7f) || (r >= 0xa1 && r <= 0xff && r !== 0xad);
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(r));
}

function hex(n: number, digits: number): string {
  let out = '';
  for (let s = (digits - 1) * 4; s >= 0; s -= 4) out += HEX[(n >> s) & 0xf];
  return out;
}

/** strconv.Quote of the bytes `b` (or of a string's UTF-8 bytes). */
export function goQuote(input: string | Uint8Array): string {
  const b = typeof input === 'string' ? utf8Bytes(input) : input;
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const { rune: r, width } = decodeRune(b, i);
    if (r < 0) {
      out += `\\x${hex(b[i] ?? 0, 2)}`;
      i += 1;
      continue;
    }
    i += width;
    if (r === 0x22 || r === 0x5c) out += `\\${String.fromCharCode(r)}`;
    else if (goIsPrint(r)) out += String.fromCodePoint(r);
    else if (r === 0x07) out += '\\a';
    else if (r === 0x08) out += '\\b';
    else if (r === 0x0c) out += '\\f';
    else if (r === 0x0a) out += '\\n';
    else if (r === 0x0d) out += '\\r';
    else if (r === 0x09) out += '\\t';
    else if (r === 0x0b) out += '\\v';
    else if (r < 0x20 || r === 0x7f) out += `\\x${hex(r, 2)}`;
    else if (r < 0x10000) out += `\\u${hex(r, 4)}`;
    else out += `\\U${hex(r, 8)}`;
  }
  return out + '"';
}
