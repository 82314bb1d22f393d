// How renderers colour their text: a Style maps a meaning (ok, warning, error, …) to text. The
// plain style returns the text unchanged, so a renderer called without one prints exactly what it
// always printed; the ANSI style wraps it in SGR codes (node:util styleText). Whether a run gets
// colour is decided once, in the CLI (src/cli/tty.ts: a terminal, NO_COLOR, FORCE_COLOR).
import * as util from 'node:util';

export type Tone = 'ok' | 'add' | 'change' | 'remove' | 'warn' | 'error' | 'dim' | 'bold';

export type Style = (tone: Tone, text: string) => string;

/** No colour: the text as it is. */
export const plainStyle: Style = (_tone, text) => text;

type StyleText = typeof util.styleText;
type Format = Parameters<StyleText>[0];
/** util.styleText arrived in node 20.12; on an older 20.x there is simply no colour. */
const styleText: StyleText | undefined = (util as { styleText?: StyleText }).styleText;

const SGR: Record<Tone, Format> = {
  ok: 'green',
  add: 'green',
  change: 'yellow',
  remove: 'red',
  warn: 'yellow',
  error: ['bold', 'red'],
  dim: 'dim',
  bold: 'bold',
};

// validateStream false: the CLI has already decided that this run gets colour; styleText must not
// second-guess it from process.stdout (node ≥ 20.20 and 22.13 check the stream by default).
const styleOptions = { validateStream: false } as unknown as Parameters<StyleText>[2];

/** ANSI colour (SGR codes); empty text stays empty. */
export const ansiStyle: Style = (tone, text) => (text === '' || styleText === undefined ? text : styleText(SGR[tone], text, styleOptions));

/**
 * Colours the cells that end a table's rows (the Status column, which is last, so its colour never
 * shifts a column): the first line after the header's `---+---` line that ends with `cells[i]`
 * gets it wrapped in `tones[i]`, in order. Text with no colour comes back unchanged.
 */
export function styleLastColumn(table: string, cells: readonly string[], tones: readonly Tone[], style: Style): string {
  if (style === plainStyle) return table;
  const lines = table.split('\n');
  let i = lines.findIndex((l) => /^-+(\+-+)*$/.test(l)) + 1;
  if (i === 0) return table;
  for (const [k, cell] of cells.entries()) {
    for (; i < lines.length; i++) {
      const l = lines[i] ?? '';
      if (cell !== '' && l.endsWith(cell)) {
        lines[i] = l.slice(0, l.length - cell.length) + style(tones[k] ?? 'bold', cell);
        i++;
        break;
      }
    }
  }
  return lines.join('\n');
}
