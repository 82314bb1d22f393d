// CockroachDB's CLI result-set display formats (`cockroach sql --format=…`), reproduced byte for
// byte, so that `certgen cert list --format X` prints what a `cockroach` binary would print for the
// same rows. Pure: a function of its arguments only.
//
// Sources (cockroachdb/cockroach master unless noted):
//   * pkg/cli/clisqlexec/format_table.go: render() — the order in which each reporter's describe /
//     beforeFirstRow / iter / doneRows hooks run. PrintQueryOutput passes no noRowsHook, so
//     doneRows (never doneNoRows) ends every result, including empty ones.
//   * pkg/cli/clisqlexec/table_display_format.go: the format names (tsv, csv, table, records,
//     ndjson, json, sql, html, rawhtml, unnumbered-html, raw). rawhtml (docs generation only) and
//     unnumbered-html are not offered here.
//   * table:   format_ascii_table.go (asciiTableReporter, border mode 0) driving
//              olekukonko/tablewriter v0.0.5 (as the cockroachdb/tablewriter fork, which adds
//              SetTrimWhiteSpaceAtEOL), text/tabwriter for tab expansion, and mattn/go-runewidth
//              (via tablewriter's DisplayWidth) for column widths.
//   * tsv/csv: format_csv_tsv.go + pkg/util/encoding/csv/writer.go (CockroachDB's fork of Go's
//              encoding/csv writer).
//   * json/ndjson: format_json.go (a Go map marshalled by encoding/json, so keys come out SORTED,
//              not in column order).
//   * records: format_record.go.   sql: format_sql.go + pkg/sql/lexbase/{encode,predicates,
//              normalize,reserved_keywords}.go + pkg/util/stringencoding.
//   * html:    format_html.go (Go's html.EscapeString).   raw: format_raw.go.
//   * Expected outputs cross-checked against the Example_* tests in
//     pkg/cli/clisqlexec/format_table_test.go.

/** The formats `certgen … --format` accepts, in CockroachDB's help order where it has one. */
export const FORMATS = ['table', 'tsv', 'csv', 'json', 'ndjson', 'records', 'sql', 'html', 'raw'] as const;
export type Format = (typeof FORMATS)[number];

/** Column headers plus rows of already-formatted cell strings (every row as wide as `columns`). */
export interface ResultSet {
  columns: string[];
  rows: string[][];
}

/** Type guard for a user-supplied format name. */
export function isFormat(s: string): s is Format {
  return (FORMATS as readonly string[]).includes(s);
}

/**
 * Renders a result set exactly as `cockroach sql --format=<format>` prints it. The text ends in
 * '\n', with one CockroachDB quirk kept: `records` with columns but no rows prints nothing at all,
 * so that case returns ''.
 */
export function renderResultSet(format: Format, rs: ResultSet): string {
  const { columns, rows } = rs;
  rows.forEach((row, i) => {
    if (row.length !== columns.length) {
      throw new RangeError(`row ${i + 1} has ${row.length} cells but there are ${columns.length} columns`);
    }
  });
  switch (format) {
    case 'table':
      return renderTable(columns, rows);
    case 'tsv':
      return renderCSV(columns, rows, '\t');
    case 'csv':
      return renderCSV(columns, rows, ',');
    case 'json':
      return renderJSON(columns, rows, false);
    case 'ndjson':
      return renderJSON(columns, rows, true);
    case 'records':
      return renderRecords(columns, rows);
    case 'sql':
      return renderSQL(columns, rows);
    case 'html':
      return renderHTML(columns, rows);
    case 'raw':
      return renderRaw(columns, rows);
    default: {
      const never: never = format;
      throw new TypeError(`invalid table display format: ${String(never)}`);
    }
  }
}

/** `util.Pluralize`: "s" unless n is exactly 1. */
function plural(n: number): string {
  return n === 1 ? '' : 's';
}

/** The code points of s; lone surrogates become U+FFFD, as they do when written out as UTF-8. */
function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0xfffd;
    out.push(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp);
  }
  return out;
}

/** Go's utf8.RuneCountInString (what Go's fmt and text/tabwriter measure widths in). */
function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** len(s) in Go: the UTF-8 byte length. */
function utf8Length(s: string): number {
  let n = 0;
  for (const cp of codePoints(s)) n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Display width: mattn/go-runewidth (RuneWidth with EastAsianWidth=false, i.e. a non-CJK locale,
// and StringWidth over grapheme clusters), behind tablewriter's DisplayWidth, which first strips
// ANSI SGR/EL escape sequences. The tables are go-runewidth's generated runewidth_table.go
// (Unicode 13 East Asian Width data); graphemes come from Intl.Segmenter instead of rivo/uniseg.

type Ranges = ReadonlyArray<readonly [number, number]>;

const NONPRINT: Ranges = [
  [0x0000, 0x001f], [0x007f, 0x009f], [0x00ad, 0x00ad], [0x070f, 0x070f], [0x180b, 0x180e],
  [0x200b, 0x200f], [0x2028, 0x202e], [0x206a, 0x206f], [0xd800, 0xdfff], [0xfeff, 0xfeff],
  [0xfff9, 0xfffb], [0xfffe, 0xffff],
];

const COMBINING: Ranges = [
  [0x0300, 0x036f], [0x0483, 0x0489], [0x07eb, 0x07f3], [0x0c00, 0x0c00], [0x0c04, 0x0c04],
  [0x0d00, 0x0d01], [0x135d, 0x135f], [0x1a7f, 0x1a7f], [0x1ab0, 0x1ac0], [0x1b6b, 0x1b73],
  [0x1dc0, 0x1df9], [0x1dfb, 0x1dff], [0x20d0, 0x20f0], [0x2cef, 0x2cf1], [0x2de0, 0x2dff],
  [0x3099, 0x309a], [0xa66f, 0xa672], [0xa674, 0xa67d], [0xa69e, 0xa69f], [0xa6f0, 0xa6f1],
  [0xa8e0, 0xa8f1], [0xfe20, 0xfe2f], [0x101fd, 0x101fd], [0x10376, 0x1037a], [0x10eab, 0x10eac],
  [0x10f46, 0x10f50], [0x11300, 0x11301], [0x1133b, 0x1133c], [0x11366, 0x1136c],
  [0x11370, 0x11374], [0x16af0, 0x16af4], [0x1d165, 0x1d169], [0x1d16d, 0x1d172],
  [0x1d17b, 0x1d182], [0x1d185, 0x1d18b], [0x1d1aa, 0x1d1ad], [0x1d242, 0x1d244],
  [0x1e000, 0x1e006], [0x1e008, 0x1e018], [0x1e01b, 0x1e021], [0x1e023, 0x1e024],
  [0x1e026, 0x1e02a], [0x1e8d0, 0x1e8d6],
];

/** East Asian Width W and F. */
const DOUBLEWIDTH: Ranges = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x23e9, 0x23ec], [0x23f0, 0x23f0],
  [0x23f3, 0x23f3], [0x25fd, 0x25fe], [0x2614, 0x2615], [0x2648, 0x2653], [0x267f, 0x267f],
  [0x2693, 0x2693], [0x26a1, 0x26a1], [0x26aa, 0x26ab], [0x26bd, 0x26be], [0x26c4, 0x26c5],
  [0x26ce, 0x26ce], [0x26d4, 0x26d4], [0x26ea, 0x26ea], [0x26f2, 0x26f3], [0x26f5, 0x26f5],
  [0x26fa, 0x26fa], [0x26fd, 0x26fd], [0x2705, 0x2705], [0x270a, 0x270b], [0x2728, 0x2728],
  [0x274c, 0x274c], [0x274e, 0x274e], [0x2753, 0x2755], [0x2757, 0x2757], [0x2795, 0x2797],
  [0x27b0, 0x27b0], [0x27bf, 0x27bf], [0x2b1b, 0x2b1c], [0x2b50, 0x2b50], [0x2b55, 0x2b55],
  [0x2e80, 0x2e99], [0x2e9b, 0x2ef3], [0x2f00, 0x2fd5], [0x2ff0, 0x2ffb], [0x3000, 0x303e],
  [0x3041, 0x3096], [0x3099, 0x30ff], [0x3105, 0x312f], [0x3131, 0x318e], [0x3190, 0x31e3],
  [0x31f0, 0x321e], [0x3220, 0x3247], [0x3250, 0x4dbf], [0x4e00, 0xa48c], [0xa490, 0xa4c6],
  [0xa960, 0xa97c], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe52],
  [0xfe54, 0xfe66], [0xfe68, 0xfe6b], [0xff01, 0xff60], [0xffe0, 0xffe6], [0x16fe0, 0x16fe4],
  [0x16ff0, 0x16ff1], [0x17000, 0x187f7], [0x18800, 0x18cd5], [0x18d00, 0x18d08],
  [0x1b000, 0x1b11e], [0x1b150, 0x1b152], [0x1b164, 0x1b167], [0x1b170, 0x1b2fb],
  [0x1f004, 0x1f004], [0x1f0cf, 0x1f0cf], [0x1f18e, 0x1f18e], [0x1f191, 0x1f19a],
  [0x1f200, 0x1f202], [0x1f210, 0x1f23b], [0x1f240, 0x1f248], [0x1f250, 0x1f251],
  [0x1f260, 0x1f265], [0x1f300, 0x1f320], [0x1f32d, 0x1f335], [0x1f337, 0x1f37c],
  [0x1f37e, 0x1f393], [0x1f3a0, 0x1f3ca], [0x1f3cf, 0x1f3d3], [0x1f3e0, 0x1f3f0],
  [0x1f3f4, 0x1f3f4], [0x1f3f8, 0x1f43e], [0x1f440, 0x1f440], [0x1f442, 0x1f4fc],
  [0x1f4ff, 0x1f53d], [0x1f54b, 0x1f54e], [0x1f550, 0x1f567], [0x1f57a, 0x1f57a],
  [0x1f595, 0x1f596], [0x1f5a4, 0x1f5a4], [0x1f5fb, 0x1f64f], [0x1f680, 0x1f6c5],
  [0x1f6cc, 0x1f6cc], [0x1f6d0, 0x1f6d2], [0x1f6d5, 0x1f6d7], [0x1f6eb, 0x1f6ec],
  [0x1f6f4, 0x1f6fc], [0x1f7e0, 0x1f7eb], [0x1f90c, 0x1f93a], [0x1f93c, 0x1f945],
  [0x1f947, 0x1f978], [0x1f97a, 0x1f9cb], [0x1f9cd, 0x1f9ff], [0x1fa70, 0x1fa74],
  [0x1fa78, 0x1fa7a], [0x1fa80, 0x1fa86], [0x1fa90, 0x1faa8], [0x1fab0, 0x1fab6],
  [0x1fac0, 0x1fac2], [0x1fad0, 0x1fad6], [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];

function inRanges(cp: number, table: Ranges): boolean {
  let lo = 0;
  let hi = table.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last] = table[mid] as readonly [number, number];
    if (last < cp) lo = mid + 1;
    else if (first > cp) hi = mid - 1;
    else return true;
  }
  return false;
}

/** go-runewidth's RuneWidth for a non-East-Asian locale: 0, 1 or 2 terminal cells. */
export function runeWidth(cp: number): number {
  if (cp < 0 || cp > 0x10ffff) return 0;
  if (cp < 0x20) return 0;
  if ((cp >= 0x7f && cp <= 0x9f) || cp === 0xad) return 0;
  if (cp < 0x300) return 1;
  // the "narrow" table's entries above U+0300
  if ((cp >= 0x27e6 && cp <= 0x27ed) || cp === 0x2985 || cp === 0x2986) return 1;
  if (inRanges(cp, NONPRINT) || inRanges(cp, COMBINING)) return 0;
  if (inRanges(cp, DOUBLEWIDTH)) return 2;
  return 1;
}

/** tablewriter's ansi pattern: "\033\\[(?:[0-9]{1,3}(?:;[0-9]{1,3})*)?[m|K]". */
const ANSI = /\x1b\[(?:[0-9]{1,3}(?:;[0-9]{1,3})*)?[m|K]/g;
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Terminal columns s occupies (tablewriter.DisplayWidth): ANSI colour codes count 0, each grapheme
 * cluster counts as the width of its first non-zero-width code point (so East Asian wide and
 * emoji = 2, combining marks and zero-width joiners = 0).
 */
export function displayWidth(s: string): number {
  const plain = s.replace(ANSI, '');
  if (/^[\x20-\x7e]*$/.test(plain)) return plain.length;
  let width = 0;
  for (const { segment } of graphemes.segment(plain)) {
    let w = 0;
    for (const cp of codePoints(segment)) {
      w = runeWidth(cp);
      if (w > 0) break;
    }
    width += w;
  }
  return width;
}

// ---------------------------------------------------------------------------------------------
// table: asciiTableReporter. Every header and cell first goes through a text/tabwriter configured
// as NewWriter(buf, minwidth=4, tabwidth=0, padding=1, ' ', 0) and flushed on its own; then
// tablewriter (border mode 0: no outside border, no row lines, header line on, auto-wrap off,
// auto-format-headers off, trim whitespace at EOL) lays the table out.

const TAB_MINWIDTH = 4;
const TAB_PADDING = 1;

interface TabCell {
  text: string;
  width: number; // in runes, as text/tabwriter counts
}

/**
 * text/tabwriter applied to a single value and flushed. '\t' and '\v' terminate cells; cells of
 * consecutive lines that share a column index form a column block padded to
 * max(minwidth, widest cell + padding); the last cell of each line is never padded (so a trailing
 * tab disappears); '\f' ends the line like '\n' (and is written as '\n') and flushes, so blocks do
 * not span it. Text without '\t', '\v' or '\f' is returned unchanged.
 */
export function expandTabs(text: string): string {
  if (!/[\t\v\f]/.test(text)) return text;
  const segments = text.split('\f');
  // Each '\f'-ended segment is laid out alone and, like a '\n'-ended one, ends in '\n'.
  return segments.map((seg, i) => tabwriterSegment(i < segments.length - 1 ? `${seg}\n` : seg)).join('');
}

function tabwriterSegment(text: string): string {
  const rawLines = text.split('\n');
  const lines: TabCell[][] = rawLines.map((raw, i) => {
    const parts = raw.split(/[\t\v]/);
    const last = parts.length - 1;
    const cells: TabCell[] = [];
    parts.forEach((part, j) => {
      // A newline always terminates the line's last cell; the final Flush only terminates a
      // non-empty one.
      if (j === last && i === rawLines.length - 1 && part === '') return;
      cells.push({ text: part, width: runeCount(part) });
    });
    return cells;
  });

  const out: string[] = [];
  const widths: number[] = [];
  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i] ?? [];
      let s = '';
      line.forEach((c, j) => {
        s += c.text;
        const w = widths[j];
        if (w !== undefined) s += ' '.repeat(Math.max(0, w - c.width));
      });
      out.push(i + 1 === lines.length ? s : `${s}\n`);
    }
  };
  // Writer.format, transcribed: recursive over columns, each call handling one column index.
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let row = line0; row < line1; row++) {
      if (column >= (lines[row] ?? []).length - 1) continue;
      writeLines(line0, row);
      line0 = row;
      let width = TAB_MINWIDTH;
      for (; row < line1; row++) {
        const line = lines[row] ?? [];
        if (column >= line.length - 1) break;
        width = Math.max(width, (line[column] as TabCell).width + TAB_PADDING);
      }
      widths.push(width);
      format(line0, row);
      widths.pop();
      line0 = row;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join('');
}

/** tablewriter's Pad (centre; the extra space goes right), PadRight and PadLeft. */
function padCenter(s: string, width: number): string {
  const gap = width - displayWidth(s);
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + s + ' '.repeat(gap - left);
}

function padRight(s: string, width: number): string {
  const gap = width - displayWidth(s);
  return gap > 0 ? s + ' '.repeat(gap) : s;
}

/** SetTrimWhiteSpaceAtEOL: the padding after the last column never reaches the output. */
function trimEOL(line: string): string {
  return line.replace(/ +$/, '');
}

function renderTable(columns: string[], rows: string[][]): string {
  const footer = `(${rows.length} row${plural(rows.length)})\n`;
  if (columns.length === 0) {
    // No tablewriter at all: "a simple delimiter, like in psql".
    return `--\n${footer}`;
  }
  const header = columns.map((c) => expandTabs(c).split('\n'));
  const body = rows.map((row) => row.map((c) => expandTabs(c).split('\n')));
  // parseDimension: a column is as wide as the widest line of its header or of any cell.
  const widths = header.map((lines) => Math.max(...lines.map(displayWidth)));
  for (const row of body) {
    row.forEach((lines, i) => {
      widths[i] = Math.max(widths[i] ?? 0, ...lines.map(displayWidth));
    });
  }
  const end = columns.length - 1;
  const out: string[] = [];

  // printHeading: header lines centred (the header alignment is left at ALIGN_DEFAULT).
  const headerHeight = Math.max(...header.map((lines) => lines.length));
  for (let x = 0; x < headerHeight; x++) {
    let line = ' ';
    header.forEach((lines, y) => {
      line += ` ${padCenter(lines[x] ?? '', widths[y] ?? 0)} ${y === end ? ' ' : '|'}`;
    });
    out.push(trimEOL(line));
  }
  // printLine: with no left/right border the corner junctions are '-' too.
  out.push(widths.map((w, i) => (i === 0 ? '-' : '') + '-'.repeat(w + 2) + (i === end ? '-' : '+')).join(''));

  // printRow: every column left-aligned ("l" for each column, as `cert list` asks); a cell with
  // fewer lines than its row is filled with two-space lines.
  for (const row of body) {
    const height = Math.max(...row.map((lines) => lines.length));
    for (let x = 0; x < height; x++) {
      let line = '';
      row.forEach((lines, y) => {
        line += `${y === 0 ? ' ' : '|'} ${padRight(lines[x] ?? '  ', widths[y] ?? 0)} `;
      });
      out.push(trimEOL(`${line} `));
    }
  }
  return `${out.join('\n')}\n${footer}`;
}

// ---------------------------------------------------------------------------------------------
// tsv / csv: pkg/util/encoding/csv Writer with UseCRLF=false, EscapeNewline=false.

/** Unicode White_Space, which is what Go's unicode.IsSpace tests. */
const WHITE_SPACE = /^\p{White_Space}$/u;

function csvField(field: string, comma: string): string {
  let needsQuotes = false;
  let maybeTerminator = true; // a field that is exactly `\.` (PostgreSQL's COPY terminator)
  let body = '';
  let i = 0;
  for (const ch of field) {
    maybeTerminator = maybeTerminator && ((i === 0 && ch === '\\') || (i === 1 && ch === '.'));
    if (ch === '"') {
      needsQuotes = true;
      body += '""';
    } else if (ch === comma || ch === '\r' || ch === '\n') {
      needsQuotes = true;
      body += ch;
    } else {
      if (i === 0) needsQuotes = WHITE_SPACE.test(ch);
      body += ch;
    }
    i++;
  }
  needsQuotes = needsQuotes || (maybeTerminator && i === 2);
  return needsQuotes ? `"${body}"` : body;
}

function csvRecord(record: string[], comma: string): string {
  return `${record.map((f) => csvField(f, comma)).join(comma)}\n`;
}

function renderCSV(columns: string[], rows: string[][], comma: string): string {
  let out = csvRecord(columns.length === 0 ? ['# no columns'] : columns, comma);
  for (const row of rows) out += csvRecord(row.length === 0 ? ['# empty'] : row, comma);
  return out;
}

// ---------------------------------------------------------------------------------------------
// json / ndjson: each row is a Go map[string]string passed to encoding/json.Marshal — keys sorted
// bytewise, one entry per distinct column name (the last column of a duplicated name wins),
// compact, HTML-safe escaping.

const HEX = '0123456789abcdef';

/** encoding/json's string encoder with escapeHTML (Go ≥ 1.22: \b and \f short escapes). */
export function goJSONString(s: string): string {
  let out = '"';
  for (const chr of s) {
    const cp = chr.codePointAt(0) ?? 0;
    if (cp < 0x80) {
      if (cp >= 0x20 && chr !== '"' && chr !== '\\' && chr !== '<' && chr !== '>' && chr !== '&') {
        out += chr;
        continue;
      }
      switch (chr) {
        case '\\':
        case '"':
          out += `\\${chr}`;
          break;
        case '\b':
          out += '\\b';
          break;
        case '\f':
          out += '\\f';
          break;
        case '\n':
          out += '\\n';
          break;
        case '\r':
          out += '\\r';
          break;
        case '\t':
          out += '\\t';
          break;
        default:
          out += `\\u00${HEX[cp >> 4]}${HEX[cp & 0xf]}`;
      }
    } else if (cp === 0x2028 || cp === 0x2029) {
      out += `\\u${cp.toString(16)}`;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate is JS's only counterpart of invalid UTF-8, which Go writes as \ufffd.
      out += '\\ufffd';
    } else {
      out += chr;
    }
  }
  return `${out}"`;
}

/** Go's strings.Compare: UTF-8 byte order, which is code point order. */
function compareCodePoints(a: string, b: string): number {
  const ca = codePoints(a);
  const cb = codePoints(b);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const d = (ca[i] as number) - (cb[i] as number);
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

function jsonObject(columns: string[], row: string[]): string {
  const map = new Map<string, string>();
  columns.forEach((c, i) => map.set(c, row[i] ?? ''));
  const keys = [...map.keys()].sort(compareCodePoints);
  return `{${keys.map((k) => `${goJSONString(k)}:${goJSONString(map.get(k) ?? '')}`).join(',')}}`;
}

function renderJSON(columns: string[], rows: string[][], ndjson: boolean): string {
  const objects = rows.map((row) => jsonObject(columns, row));
  if (ndjson) return `${objects.join('\n')}\n`; // zero rows: a lone "\n", as CockroachDB prints
  return `[${objects.map((o, i) => (i === 0 ? '\n  ' : ',\n  ') + o).join('')}\n]\n`;
}

// ---------------------------------------------------------------------------------------------
// records: recordReporter (psql's expanded display). Label widths are counted in runes, as Go's
// `%-*s` does, and only column names set the width.

function renderRecords(columns: string[], rows: string[][]): string {
  if (columns.length === 0) return `(${rows.length} row${plural(rows.length)})\n`;
  let maxColWidth = 0;
  const labels: string[] = [];
  const labelRest: string[][] = [];
  for (const col of columns) {
    const parts = col.split('\n');
    for (const part of parts) maxColWidth = Math.max(maxColWidth, runeCount(part));
    labels.push(parts[0] ?? '');
    labelRest.push(parts.slice(1));
  }
  const padLabel = (s: string): string => s + ' '.repeat(Math.max(0, maxColWidth - runeCount(s)));
  let out = '';
  rows.forEach((row, rowIdx) => {
    out += `-[ RECORD ${rowIdx + 1} ]\n`;
    row.forEach((value, j) => {
      const lines = value.split('\n');
      const rest = labelRest[j] ?? [];
      lines.forEach((line, l) => {
        const label = l > 0 ? '' : (labels[j] ?? '');
        const lineCont = l === lines.length - 1 ? '' : '+';
        let contChar = rest.length > 0 ? '+' : ' ';
        out += `${padLabel(label)}${contChar}| ${line}${lineCont}\n`;
        // (CockroachDB repeats a multi-line column name's continuation after every value line.)
        rest.forEach((cont, k) => {
          if (k === rest.length - 1) contChar = ' ';
          out += `${padLabel(cont)}${contChar}|\n`;
        });
      });
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// sql: CREATE TABLE results (…) + one INSERT per row + "-- N rows".

/** lexbase reservedKeywords (reserved + col_name + type_func_name keywords) + lookaheadKeywords. */
const RESERVED_OR_LOOKAHEAD: ReadonlySet<string> = new Set([
  'all', 'analyse', 'analyze', 'and', 'annotate_type', 'any', 'array', 'as', 'asc', 'asymmetric',
  'authorization', 'between', 'bigint', 'bit', 'boolean', 'both', 'box2d', 'case', 'cast', 'char',
  'character', 'characteristics', 'check', 'coalesce', 'cockroachdb_extra_reserved_keyword',
  'collate', 'collation', 'column', 'concurrently', 'constraint', 'create', 'cross',
  'current_catalog', 'current_date', 'current_role', 'current_schema', 'current_time',
  'current_timestamp', 'current_user', 'dec', 'decimal', 'default', 'deferrable', 'desc',
  'distinct', 'do', 'else', 'end', 'except', 'exists', 'extract', 'extract_duration', 'false',
  'family', 'fetch', 'float', 'for', 'foreign', 'from', 'full', 'geography', 'geometry', 'grant',
  'greatest', 'group', 'grouping', 'having', 'if', 'iferror', 'ifnull', 'ilike', 'in', 'index',
  'initially', 'inner', 'int', 'integer', 'intersect', 'interval', 'into', 'is', 'iserror',
  'isnull', 'join', 'lateral', 'leading', 'least', 'left', 'like', 'limit', 'localtime',
  'localtimestamp', 'natural', 'none', 'not', 'nothing', 'notnull', 'null', 'nullif', 'numeric',
  'offset', 'on', 'only', 'or', 'order', 'out', 'outer', 'overlaps', 'overlay', 'placing', 'point',
  'polygon', 'position', 'precision', 'primary', 'real', 'references', 'returning', 'right', 'row',
  'select', 'session_user', 'similar', 'smallint', 'some', 'string', 'substring', 'symmetric',
  'table', 'then', 'time', 'timestamp', 'timestamptz', 'timetz', 'to', 'trailing', 'treat', 'trim',
  'true', 'union', 'unique', 'user', 'using', 'values', 'varbit', 'varchar', 'variadic', 'virtual',
  'when', 'where', 'window', 'with', 'work',
  // lookaheadKeywords
  'ordinality', 'of', 'generated', 'reset', 'role', 'tenant', 'set',
]);

/** lexbase.NormalizeName: lower case (dotted and dotless i fold to 'i'), then NFC. */
function normalizeName(s: string): string {
  let lower = '';
  for (const cp of codePoints(s)) {
    lower += cp === 0x130 || cp === 0x131 ? 'i' : String.fromCodePoint(cp).toLowerCase();
  }
  return /^[\x00-\x7f]*$/.test(lower) ? lower : lower.normalize('NFC');
}

/** lexbase.IsBareIdentifier (its byte tests: every non-ASCII character is acceptable). */
function isBareIdentifier(s: string): boolean {
  const cps = codePoints(s);
  if (cps.length === 0) return false;
  let ascii = true;
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i] as number;
    if (cp >= 0x80) {
      ascii = false;
      continue;
    }
    const ok = (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f || (i > 0 && ((cp >= 0x30 && cp <= 0x39) || cp === 0x24));
    if (!ok) return false;
  }
  return ascii || normalizeName(s) === s;
}

/** lexbase.EncodeRestrictedSQLIdent with no flags. */
export function encodeSQLIdent(s: string): string {
  if (!RESERVED_OR_LOOKAHEAD.has(s) && isBareIdentifier(s)) return s;
  return `"${s.replaceAll('"', '""')}"`;
}

const SQL_SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x08, '\\b'], [0x0c, '\\f'], [0x0a, '\\n'], [0x0d, '\\r'], [0x09, '\\t'], [0x5c, '\\\\'],
]);

/** stringencoding.EncodeEscapedChar for one code point, with "'" as the quote. */
function sqlEscapeChar(cp: number): string {
  if (cp === 0xfffd) return '\\xef\\xbf\\xbd'; // utf8.RuneError: its bytes, hex-escaped
  if (cp < 0x80) {
    const short = SQL_SHORT_ESCAPES.get(cp);
    if (short !== undefined) return short;
    if (cp === 0x27) return "\\'";
    return `\\x${HEX[cp >> 4]}${HEX[cp & 0xf]}`;
  }
  if (cp < 0x800) return `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`; // 3- and 4-byte runes alike
}

/** lexbase.EncodeSQLStringWithFlags(…, EncNoFlags): 'x', or e'…' once anything needs escaping. */
export function encodeSQLString(s: string): string {
  let escaped = false;
  let body = '';
  for (const cp of codePoints(s)) {
    if (cp >= 0x20 && cp < 0x7f && cp !== 0x5c && cp !== 0x27) {
      body += String.fromCharCode(cp);
      continue;
    }
    escaped = true;
    body += sqlEscapeChar(cp);
  }
  return escaped ? `e'${body}'` : `'${body}'`;
}

function renderSQL(columns: string[], rows: string[][]): string {
  let out = 'CREATE TABLE results (\n';
  columns.forEach((col, i) => {
    out += `  ${encodeSQLIdent(col)} STRING${i < columns.length - 1 ? ',' : ''}\n`;
  });
  out += ');\n\n';
  for (const row of rows) {
    out +=
      columns.length === 0
        ? 'INSERT INTO results(rowid) VALUES (DEFAULT);\n'
        : `INSERT INTO results VALUES (${row.map(encodeSQLString).join(', ')});\n`;
  }
  return `${out}-- ${rows.length} row${plural(rows.length)}\n`;
}

// ---------------------------------------------------------------------------------------------
// html: htmlReporter{escape: true, rowStats: true}. With no rows <tbody> is never opened but
// </tbody> is still written (beforeFirstRow only runs for a first row).

/** Go's html.EscapeString. */
function htmlEscape(s: string): string {
  return s.replace(/[&'<>"]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;' })[c] ?? c);
}

function htmlCell(tag: 'th' | 'td', s: string): string {
  return `<${tag}>${htmlEscape(s).replaceAll('\n', '<br/>')}</${tag}>`;
}

function renderHTML(columns: string[], rows: string[][]): string {
  let out = `<table>\n<thead><tr><th>row</th>${columns.map((c) => htmlCell('th', c)).join('')}</tr></thead>\n`;
  if (rows.length > 0) out += '<tbody>\n';
  rows.forEach((row, i) => {
    out += `<tr><td>${i + 1}</td>${row.map((c) => htmlCell('td', c)).join('')}</tr>\n`;
  });
  out += '</tbody>\n';
  out += `<tfoot><tr><td colspan=${columns.length + 1}>${rows.length} row${plural(rows.length)}</td></tr></tfoot>`;
  return `${out}</table>\n`;
}

// ---------------------------------------------------------------------------------------------
// raw: every value prefixed by its length in bytes, so that it can be read back exactly.

function renderRaw(columns: string[], rows: string[][]): string {
  let out = `# ${columns.length} column${plural(columns.length)}\n`;
  rows.forEach((row, i) => {
    out += `# row ${i + 1}\n`;
    for (const value of row) out += `## ${utf8Length(value)}\n${value}\n`;
  });
  return `${out}# ${rows.length} row${plural(rows.length)}\n`;
}
