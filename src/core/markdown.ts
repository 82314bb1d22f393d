// GitHub-flavoured markdown for tables that land in pull-request comments and step summaries
// (report --format markdown, plan --format markdown): cell text that cannot break the table.

/** Text safe in a GitHub-flavoured markdown table cell: no HTML, no emphasis, no column breaks. */
export function md(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]#|~])/g, '\\$1')
    .replace(/\r?\n/g, '<br>');
}

/** A file name as inline code (pipes escaped, which GFM tables honour inside code spans). */
export function mdCode(text: string): string {
  if (text === '') return '';
  if (text.includes('`') || /\r|\n/.test(text)) return md(text);
  return `\`${text.replace(/\|/g, '\\|')}\``;
}

export function mdTable(columns: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(columns), line(columns.map(() => '---')), ...rows.map(line)].join('\n');
}
