// A DER reader with the rules of Go's cryptobyte (what crypto/x509 parses with): single-byte tags,
// definite minimal lengths, minimal INTEGERs, BOOLEAN as 00/FF, BIT STRINGs with clean padding.
// It walks the bytes without building object trees: `plan` reads thousands of files.

export interface Tlv {
  tag: number;
  /** Offset of the tag byte: `buf.subarray(pos, end)` is the whole encoding. */
  pos: number;
  /** Offset of the value (after tag and length). */
  start: number;
  /** Offset just past the value. */
  end: number;
}

/** The encoding is not DER as cryptobyte reads it. */
export class DerError extends Error {}

/** Reads the TLV at `pos` (cryptobyte's readASN1); throws DerError when it is not one. */
export function readTlv(buf: Uint8Array, pos: number): Tlv {
  if (pos + 2 > buf.length) throw new DerError('truncated');
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag number');
  let len = buf[pos + 1] as number;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // Indefinite (0), over 4 length bytes, a leading zero or a long form for < 128: not DER.
    if (n === 0 || n > 4 || start + n > buf.length) throw new DerError('bad length');
    if (buf[start] === 0) throw new DerError('non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    if (len < 128) throw new DerError('non-minimal length');
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new DerError('truncated');
  return { tag, pos, start, end };
}

/** The TLVs inside a constructed value. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.start; pos < parent.end; ) {
    const t = readTlv(buf, pos);
    if (t.end > parent.end) throw new DerError('truncated');
    out.push(t);
    pos = t.end;
  }
  return out;
}

export function value(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

/** A sequential reader over a constructed value's contents, like a cryptobyte.String. */
export class Cursor {
  pos: number;
  readonly buf: Uint8Array;
  readonly end: number;
  constructor(buf: Uint8Array, start: number, end: number) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  static of(buf: Uint8Array, t: Tlv): Cursor {
    return new Cursor(buf, t.start, t.end);
  }
  empty(): boolean {
    return this.pos >= this.end;
  }
  peekTag(): number | undefined {
    return this.pos < this.end ? this.buf[this.pos] : undefined;
  }
  /** The next element, whatever its tag; undefined when there is none or it is malformed. */
  next(): Tlv | undefined {
    if (this.empty()) return undefined;
    let t: Tlv;
    try {
      t = readTlv(this.buf, this.pos);
    } catch {
      return undefined;
    }
    if (t.end > this.end) return undefined;
    this.pos = t.end;
    return t;
  }
  /** The next element if it has `tag`; undefined (nothing consumed) otherwise. */
  read(tag: number): Tlv | undefined {
    if (this.peekTag() !== tag) return undefined;
    return this.next();
  }
}

/** cryptobyte's checkASN1Integer: non-empty and minimally encoded. */
export function isMinimalInteger(v: Uint8Array): boolean {
  if (v.length === 0) return false;
  if (v.length === 1) return true;
  const a = v[0] as number;
  const b = v[1] as number;
  return !((a === 0 && (b & 0x80) === 0) || (a === 0xff && (b & 0x80) === 0x80));
}

/** A minimal INTEGER's value as a bigint (two's complement). */
export function integerValue(v: Uint8Array): bigint {
  let n = 0n;
  for (const b of v) n = (n << 8n) | BigInt(b);
  if (v.length > 0 && ((v[0] as number) & 0x80) !== 0) n -= 1n << BigInt(v.length * 8);
  return n;
}

/** An INTEGER's magnitude without DER's sign-padding zero. */
export function unsignedInteger(v: Uint8Array): Uint8Array {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  return v.subarray(i);
}

/** cryptobyte's ReadASN1Boolean: one octet, 00 or FF. */
export function booleanValue(v: Uint8Array): boolean | undefined {
  if (v.length !== 1) return undefined;
  return v[0] === 0xff ? true : v[0] === 0 ? false : undefined;
}

/** cryptobyte's ReadASN1BitString: the bytes after the padding octet, or undefined when malformed. */
export function bitStringBytes(v: Uint8Array): Uint8Array | undefined {
  if (v.length === 0) return undefined;
  const padding = v[0] as number;
  const bytes = v.subarray(1);
  if (padding > 7 || (bytes.length === 0 && padding !== 0)) return undefined;
  if (bytes.length > 0 && ((bytes[bytes.length - 1] as number) & ((1 << padding) - 1)) !== 0) return undefined;
  return bytes;
}

/**
 * Dotted text of an OBJECT IDENTIFIER's value, or undefined where cryptobyte (as Go 1.19 vendors
 * it) refuses it: an arc of more than 5 bytes or past 2^31, or a last arc left open.
 */
export function oidText(v: Uint8Array): string | undefined {
  if (v.length === 0) return undefined;
  const arcs: number[] = [];
  let n = 0;
  let bytes = 0;
  for (let i = 0; i < v.length; i++) {
    const b = v[i] as number;
    if (bytes === 5 || n >= 1 << 24) return undefined;
    n = n * 128 + (b & 0x7f);
    bytes++;
    if ((b & 0x80) === 0) {
      arcs.push(n);
      n = 0;
      bytes = 0;
    }
  }
  if (bytes !== 0) return undefined;
  const first = arcs[0] as number;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}
