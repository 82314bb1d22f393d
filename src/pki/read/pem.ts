// PEM framing as Go's encoding/pem reads and writes it.

export interface PemBlock {
  type: string;
  /** RFC 1421 headers (`Proc-Type: 4,ENCRYPTED` marks an encrypted legacy key). */
  headers: Record<string, string>;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([^\n-]*)-----\r?\n([\s\S]*?)-----END \1-----[ \t]*\r?\n?/g;

/** Each PEM block with the offset just past it (and the whitespace ending its END line). */
function* scan(text: string | Buffer): Generator<{ block: PemBlock; end: number }> {
  const s = typeof text === 'string' ? text : text.toString('latin1');
  for (const m of s.matchAll(BLOCK)) {
    const headers: Record<string, string> = {};
    let body = m[2] ?? '';
    // Headers hold a colon and base64 never does: most blocks skip the header pass.
    if (body.includes(':')) {
      body = body.replace(/^([A-Za-z-]+):(.*)\r?\n/gm, (_h, k: string, v: string) => {
        headers[k] = v.trim();
        return '';
      });
    }
    // Go drops spaces and tabs, its base64 decoder skips CR and LF; any other character (a form
    // feed, a no-break space) or a length that is not a multiple of 4 makes Go skip the block.
    body = body.replace(/[ \t\r\n]+/g, '');
    if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    yield { block: { type: m[1] ?? '', headers, der: Buffer.from(body, 'base64') }, end: (m.index ?? 0) + m[0].length };
  }
}

/**
 * Every PEM block in `text`, in order. Like Go's pem.Decode, text around the blocks is ignored
 * and a block whose body is not base64 is skipped, not the end of the scan: a CA bundle with one
 * damaged block must not lose the certificates after it when it is rewritten.
 */
export function decodePem(text: string | Buffer): PemBlock[] {
  return [...scan(text)].map((x) => x.block);
}

/**
 * Go's `pem.Decode`: the first block and the text after it (`rest`, as latin1), or undefined when
 * there is no block. For readers that, like security.PEMToPrivateKey, want nothing after it.
 */
export function decodeFirstPem(text: string | Buffer): { block: PemBlock; rest: string } | undefined {
  const s = typeof text === 'string' ? text : text.toString('latin1');
  for (const { block, end } of scan(s)) return { block, rest: s.slice(end) };
  return undefined;
}

/** Go's pem.Encode: base64 in 64-character lines, each ending in `\n`. */
export function encodePem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.map((l) => `${l}\n`).join('')}-----END ${type}-----\n`;
}

/**
 * security.PEMToCertificates: all blocks must be CERTIFICATE; the error names the first block that
 * is not (numbered from 0).
 */
export function pemToCertificateBlocks(text: string | Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (const b of decodePem(text)) {
    if (b.type !== 'CERTIFICATE') throw new Error(`block #${out.length} is of type ${b.type}, not CERTIFICATE`);
    out.push(b.der);
  }
  return out;
}
