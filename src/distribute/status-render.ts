// How `certgen status` reports: `table` (CockroachDB's table format, as distribute and cert list
// print), `markdown` (a pull-request comment or CI step summary) and `json` (versioned). Pure:
// functions of a StatusResult only.
import { md, mdTable } from '../core/markdown.js';
import { renderResultSet } from '../core/table-format.js';
import { plainStyle, styleLastColumn, type Style, type Tone } from '../core/style.js';
import type { FileState, StatusFile, StatusResult, StatusTarget } from './status.js';

export const STATUS_FORMATS = ['table', 'json', 'markdown'] as const;
export type StatusFormat = (typeof STATUS_FORMATS)[number];

/** Version of the json document; bumped on any incompatible change. */
export const STATUS_JSON_VERSION = 1;

export const STATUS_COLUMNS = ['Target', 'Destination', 'Reachable', 'Files', 'Status'] as const;

const octal = (m: number | null): string | null => (m === null ? null : `0${m.toString(8).padStart(3, '0')}`);

function destination(t: StatusTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.user !== null ? `${t.user}@` : ''}${host}:${t.port}:${t.dir}`;
}

const FILE_TEXT: Record<FileState, (f: StatusFile) => string> = {
  'in-sync': (f) => `${f.name} in sync`,
  missing: (f) => `${f.name} missing`,
  different: (f) => `${f.name} different (SHA-256 ${(f.remoteSha256 ?? '').slice(0, 12)}…, local ${f.sha256.slice(0, 12)}…)`,
  mode: (f) => `${f.name} mode ${octal(f.remoteMode)} (local ${octal(f.mode)})`,
  'not-a-file': (f) => `${f.name} is not a regular file`,
  unknown: (f) => `${f.name} unknown (no checksum tool remotely)`,
};

/** One file's state in words: `node.crt different (SHA-256 1a2b…, local 3c4d…)`. */
export function fileText(f: StatusFile): string {
  return FILE_TEXT[f.state](f);
}

/** The Files cell: what differs, or `all N in sync`. */
function filesCell(t: StatusTarget): string {
  if (!t.reachable) return '-';
  if (t.dirExists === false) return `folder missing (${t.files.length} files missing)`;
  const off = t.files.filter((f) => f.state !== 'in-sync');
  if (off.length === 0) return `all ${t.files.length} in sync`;
  return off.map(fileText).join('; ');
}

function statusCell(t: StatusTarget): string {
  if (t.state === 'unreachable') return `UNREACHABLE: ${t.error ?? 'unknown error'}`;
  return t.state === 'in-sync' ? 'in sync' : 'DRIFT';
}

/** The cells of one target's row, in {@link STATUS_COLUMNS} order. */
export function statusCells(t: StatusTarget): string[] {
  return [t.label, destination(t), t.reachable ? 'yes' : 'no', filesCell(t), statusCell(t)];
}

function totals(r: StatusResult): string {
  const s = r.summary;
  return `${s.total} target${s.total === 1 ? '' : 's'}: ${s.inSync} in sync, ${s.drift} drift, ${s.unreachable} unreachable`;
}

function warnings(r: StatusResult): string[] {
  return r.targets.flatMap((t) => t.warnings.map((w) => `${t.label}: warning: ${w}`));
}

const TONE: Record<StatusTarget['state'], Tone> = { 'in-sync': 'ok', drift: 'change', unreachable: 'error' };

/** The table; `style` colours each row's status (green in sync, yellow drift, red unreachable) and the warnings. */
export function renderStatusTable(r: StatusResult, style: Style = plainStyle): string {
  const rows = r.targets.map(statusCells);
  let out = styleLastColumn(renderResultSet('table', { columns: [...STATUS_COLUMNS], rows }), rows.map((x) => x[x.length - 1] ?? ''), r.targets.map((t) => TONE[t.state]), style);
  out += `${totals(r)}\n`;
  for (const w of warnings(r)) out += `${style('warn', w)}\n`;
  return out;
}

export function renderStatusMarkdown(r: StatusResult): string {
  const marker = (t: StatusTarget): string => (t.state === 'in-sync' ? '[ok]' : t.state === 'drift' ? '**[DRIFT]**' : '**[UNREACHABLE]**');
  const out = ['## Fleet status', '', `**${md(totals(r))}**`, ''];
  const rows = r.targets.map((t) => {
    const [label, dest, reach, files] = statusCells(t);
    const why = t.state === 'unreachable' ? md(t.error ?? '') : md(files ?? '');
    return [marker(t), md(label ?? ''), md(dest ?? ''), reach ?? '', why];
  });
  out.push(mdTable(['Status', ...STATUS_COLUMNS.slice(0, 4)], rows));
  const w = warnings(r);
  if (w.length > 0) out.push('', ...w.map((x) => `- ${md(x)}`));
  return `${out.join('\n')}\n`;
}

/** The json document: `{ version: 1, exitCode, summary, targets: [...] }`, every key always present. */
export function statusResultJson(r: StatusResult): object {
  return {
    version: STATUS_JSON_VERSION,
    exitCode: r.exitCode,
    summary: { ...r.summary },
    targets: r.targets.map((t) => ({
      kind: t.kind,
      name: t.name,
      host: t.host,
      port: t.port,
      user: t.user,
      dir: t.dir,
      state: t.state,
      reachable: t.reachable,
      error: t.error,
      dirExists: t.dirExists,
      files: t.files.map((f) => ({ name: f.name, remotePath: f.remotePath, state: f.state, sha256: f.sha256, remoteSha256: f.remoteSha256, mode: octal(f.mode), remoteMode: octal(f.remoteMode) })),
      leftovers: [...t.leftovers],
      warnings: [...t.warnings],
      durationMs: t.durationMs,
    })),
  };
}

/** `style` applies to the table only: markdown and json are documents, never coloured. */
export function renderStatus(r: StatusResult, format: StatusFormat, style: Style = plainStyle): string {
  switch (format) {
    case 'table':
      return renderStatusTable(r, style);
    case 'markdown':
      return renderStatusMarkdown(r);
    case 'json':
      return `${JSON.stringify(statusResultJson(r), null, 2)}\n`;
  }
}
