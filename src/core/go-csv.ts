// The first record of Go's encoding/csv Reader (default settings), which is how pflag splits the
// value of a string-slice flag such as `--cert-principal-map` (readAsCSV): `a,b` is two entries,
// `"a,b:c"` is one, and a stray quote is Go's ParseError (`parse error on line 1, column 2: bare " in
// non-quoted-field`).
import { decodeRune, utf8Bytes } from './go-quote.js';

const BARE_QUOTE = 'bare " in non-quoted-field';
const QUOTE = 'extraneous or missing " in quoted-field';

function parseError(startLine: number, line: number, column: number, err: string): { error: string } {
  if (startLine !== line) return { error: `record on line ${startLine}; parse error on line ${line}, column ${column}: ${err}` };
  return { error: `parse error on line ${line}, column ${column}: ${err}` };
}

/** pflag's readAsCSV: `""` is no entries; otherwise csv.NewReader(value).Read(). */
export function readCsvRecord(value: string): { fields: string[] } | { error: string } {
  if (value === '') return { fields: [] };
  const input = utf8Bytes(value);
  let offset = 0;
  let numLine = 0;
  /** Reader.readLine: up to and including '\n', `\r\n` folded to `\n`, a final `\r` dropped. */
  const readLine = (): { line: Uint8Array; eof: boolean } => {
    if (offset >= input.length) {
      numLine++;
      return { line: new Uint8Array(), eof: true };
    }
    const nl = input.indexOf(0x0a, offset);
    let line = input.slice(offset, nl < 0 ? input.length : nl + 1);
    offset += line.length;
    if (nl < 0 && line[line.length - 1] === 0x0d) line = line.slice(0, -1);
    numLine++;
    const n = line.length;
    if (n >= 2 && line[n - 2] === 0x0d && line[n - 1] === 0x0a) line = Uint8Array.from([...line.subarray(0, n - 2), 0x0a]);
    return { line, eof: false };
  };
  const lengthNL = (b: Uint8Array): number => (b.length > 0 && b[b.length - 1] === 0x0a ? 1 : 0);

  let line: Uint8Array = new Uint8Array();
  let eof = false;
  for (;;) {
    ({ line, eof } = readLine());
    if (!eof && line.length === lengthNL(line)) continue; // empty lines are skipped
    break;
  }
  if (eof) return { error: 'EOF' };

  const recLine = numLine;
  const record: number[] = [];
  const fieldEnds: number[] = [];
  let pos = { line: numLine, col: 1 };
  for (;;) {
    if (line.length === 0 || line[0] !== 0x22) {
      // Unquoted field: up to the next comma, no quote allowed.
      const i = line.indexOf(0x2c);
      const field = i >= 0 ? line.subarray(0, i) : line.subarray(0, line.length - lengthNL(line));
      const j = field.indexOf(0x22);
      if (j >= 0) return parseError(recLine, numLine, pos.col + j, BARE_QUOTE);
      record.push(...field);
      fieldEnds.push(record.length);
      if (i >= 0) {
        line = line.subarray(i + 1);
        pos = { ...pos, col: pos.col + i + 1 };
        continue;
      }
      break;
    }
    // Quoted field.
    line = line.subarray(1);
    pos = { ...pos, col: pos.col + 1 };
    let done = false;
    while (!done) {
      const i = line.indexOf(0x22);
      if (i >= 0) {
        record.push(...line.subarray(0, i));
        line = line.subarray(i + 1);
        pos = { ...pos, col: pos.col + i + 1 };
        const next = line.length > 0 ? decodeRune(line, 0).rune : -2;
        if (next === 0x22) {
          record.push(0x22);
          line = line.subarray(1);
          pos = { ...pos, col: pos.col + 1 };
        } else if (next === 0x2c) {
          line = line.subarray(1);
          pos = { ...pos, col: pos.col + 1 };
          fieldEnds.push(record.length);
          done = true; // next field
        } else if (lengthNL(line) === line.length) {
          fieldEnds.push(record.length);
          return finish(record, fieldEnds);
        } else {
          return parseError(recLine, numLine, pos.col - 1, QUOTE);
        }
      } else if (line.length > 0) {
        // The field goes on over the end of the line.
        record.push(...line);
        pos = { ...pos, col: pos.col + line.length };
        ({ line, eof } = readLine());
        if (line.length > 0) pos = { line: pos.line + 1, col: 1 };
      } else {
        // Input ends inside the quotes.
        void eof;
        return parseError(recLine, pos.line, pos.col, QUOTE);
      }
    }
  }
  return finish(record, fieldEnds);
}

function finish(record: number[], fieldEnds: number[]): { fields: string[] } {
  const bytes = Uint8Array.from(record);
  const fields: string[] = [];
  let prev = 0;
  for (const end of fieldEnds) {
    fields.push(new TextDecoder().decode(bytes.subarray(prev, end)));
    prev = end;
  }
  return { fields };
}
