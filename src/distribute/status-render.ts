// How `certgen status` reports: `table` (CockroachDB's table format, as distribute and cert list
// print), `markdown` (a pull-request comment or CI step summary) and `json` (versioned). Pure:
// functions of a StatusResult only.
import { CA_CERT, NODE_CERT, UI_CA_CERT } from '../core/cert-names.js';
import { md, mdTable } from '../core/markdown.js';
import { renderResultSet } from '../core/table-format.js';
import { plainStyle, styleLastColumn, type Style, type Tone } from '../core/style.js';
import type { Served, ServedEndpoint } from './served.js';
import type { FileState, StatusFile, StatusResult, StatusTarget } from './status.js';

export const STATUS_FORMATS = ['table', 'json', 'markdown'] as const;
export type StatusFormat = (typeof STATUS_FORMATS)[number];

/** Version of the json document; bumped on any incompatible change. */
export const STATUS_JSON_VERSION = 1;

export const STATUS_COLUMNS = ['Target', 'Destination', 'Reachable', 'Files', 'Status'] as const;

/** The column shown (before Status) when some node has a `verify:` block. */
export const SERVED_COLUMN = 'Served';

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

const short = (hex: string): string => `${hex.slice(0, 12)}…`;
const day = (iso: string | null): string => (iso === null ? 'unknown' : iso.slice(0, 10));

/**
 * One endpoint in words: `sql 10.0.0.1:26257: local node.crt (SHA-256 1a2b…, until 2027-12-03)`,
 * `…: ANOTHER certificate (SHA-256 9f8e…, until 2026-12-03; local 1a2b…)`, then any chain or host
 * problem; or `…: unreachable (connection refused …)`.
 */
export function servedText(e: ServedEndpoint, served: Pick<Served, 'expectedSha256'>): string {
  const where = `${e.kind} ${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
  if (e.state === 'unreachable' || e.sha256 === null) return `${where}: unreachable (${e.problems.map((p) => p.replace(`${where}: `, '')).join('; ') || 'no certificate'})`;
  const what = e.matchesLocal === true ? `local ${e.expected}` : 'ANOTHER certificate';
  const want = e.expectedSha256 ?? served.expectedSha256;
  const local = e.matchesLocal === true || want === null ? '' : `; local ${e.expected === NODE_CERT ? '' : `${e.expected} `}${short(want)}`;
  const extra: string[] = [];
  if (e.chainVerifies === false) extra.push(`chain does not verify against the local ${e.expected === NODE_CERT ? CA_CERT : UI_CA_CERT}: ${e.chainError ?? 'unknown reason'}`);
  const failing = e.hosts.filter((h) => !h.ok).map((h) => h.host);
  if (failing.length > 0) extra.push(`not valid for ${failing.join(', ')}`);
  return `${where}: ${what} (SHA-256 ${short(e.sha256)}, until ${day(e.notAfter)}${local})${extra.map((x) => `, ${x}`).join('')}`;
}

/** The Served cell: each endpoint of the node's `verify:` block, or `-` without one. */
function servedCell(t: StatusTarget): string {
  if (t.served === null) return '-';
  if (t.served.error !== null) return t.served.error;
  const s = t.served;
  return s.endpoints.map((e) => servedText(e, s)).join('; ');
}

/** Why a target is unreachable: the ssh look's reason, then each endpoint that did not answer. */
function unreachableWhy(t: StatusTarget): string {
  const s = t.served;
  const served = s === null ? [] : s.error !== null ? [s.error] : s.endpoints.filter((e) => e.state === 'unreachable').map((e) => servedText(e, s));
  const why = [...(t.error !== null ? [t.error] : []), ...served];
  return why.length > 0 ? why.join('; ') : 'unknown error';
}

function statusCell(t: StatusTarget): string {
  if (t.state === 'unreachable') return `UNREACHABLE: ${unreachableWhy(t)}`;
  return t.state === 'in-sync' ? 'in sync' : 'DRIFT';
}

/** Whether the table has a Served column: some target has a `verify:` block. */
function hasServed(r: StatusResult): boolean {
  return r.targets.some((t) => t.served !== null);
}

/** The table's columns: {@link STATUS_COLUMNS}, with Served before Status when some node has a `verify:` block. */
export function statusColumns(r: StatusResult): string[] {
  const cols: string[] = [...STATUS_COLUMNS];
  if (hasServed(r)) cols.splice(cols.length - 1, 0, SERVED_COLUMN);
  return cols;
}

/** The cells of one target's row, in {@link STATUS_COLUMNS} order (with `served`, the Served cell before Status). */
export function statusCells(t: StatusTarget, served = false): string[] {
  return [t.label, destination(t), t.reachable ? 'yes' : 'no', filesCell(t), ...(served ? [servedCell(t)] : []), statusCell(t)];
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
  const served = hasServed(r);
  const rows = r.targets.map((t) => statusCells(t, served));
  let out = styleLastColumn(renderResultSet('table', { columns: statusColumns(r), rows }), rows.map((x) => x[x.length - 1] ?? ''), r.targets.map((t) => TONE[t.state]), style);
  out += `${totals(r)}\n`;
  for (const w of warnings(r)) out += `${style('warn', w)}\n`;
  return out;
}

export function renderStatusMarkdown(r: StatusResult): string {
  const marker = (t: StatusTarget): string => (t.state === 'in-sync' ? '[ok]' : t.state === 'drift' ? '**[DRIFT]**' : '**[UNREACHABLE]**');
  const out = ['## Fleet status', '', `**${md(totals(r))}**`, ''];
  const served = hasServed(r);
  const rows = r.targets.map((t) => {
    const [label, dest, reach, files] = statusCells(t);
    const why = t.error !== null ? md(t.error) : md(files ?? '');
    return [marker(t), md(label ?? ''), md(dest ?? ''), reach ?? '', why, ...(served ? [md(servedCell(t))] : [])];
  });
  out.push(mdTable(['Status', ...STATUS_COLUMNS.slice(0, 4), ...(served ? [SERVED_COLUMN] : [])], rows));
  const w = warnings(r);
  if (w.length > 0) out.push('', ...w.map((x) => `- ${md(x)}`));
  return `${out.join('\n')}\n`;
}

/** A node's `served` as the json document shows it: null without a `verify:` block. */
function servedJson(s: Served | null): object | null {
  if (s === null) return null;
  return {
    host: s.host,
    state: s.state,
    expectedSha256: s.expectedSha256,
    error: s.error,
    endpoints: s.endpoints.map((e) => ({
      kind: e.kind,
      host: e.host,
      port: e.port,
      state: e.state,
      sha256: e.sha256,
      fingerprint: e.fingerprint,
      notAfter: e.notAfter,
      serial: e.serial,
      subject: e.subject,
      protocol: e.protocol,
      expected: e.expected,
      expectedSha256: e.expectedSha256,
      matchesLocal: e.matchesLocal,
      chainVerifies: e.chainVerifies,
      chainError: e.chainError,
      hosts: e.hosts.map((h) => ({ host: h.host, ok: h.ok })),
      problems: [...e.problems],
      durationMs: e.durationMs,
    })),
  };
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
      served: servedJson(t.served),
      leftovers: [...t.leftovers],
      warnings: [...t.warnings],
      durationMs: t.durationMs,
    })),
  };
}

/**
 * The nodes whose files are the local ones but which serve another certificate: they have not
 * reloaded them, and a plain distribute would skip their reload (nothing to copy).
 */
export function notReloaded(r: StatusResult): StatusTarget[] {
  return r.targets.filter((t) => t.reachable && t.files.every((f) => f.state === 'in-sync') && (t.served?.endpoints.some((e) => e.matchesLocal === false) ?? false));
}

/**
 * The line that says how to reload those of them that have a reload command (`hasReload`), or
 * undefined; `command` is how distribute is run (`certgen distribute cluster-certs.yaml`).
 */
export function notReloadedHint(r: StatusResult, hasReload: (node: string) => boolean, command = 'certgen distribute'): string | undefined {
  const nodes = notReloaded(r).filter((t) => hasReload(t.name));
  if (nodes.length === 0) return undefined;
  return `${nodes.map((t) => t.label).join(', ')}: the files are the local ones but another certificate is served (not reloaded?); to reload and verify: ${command} --force-reload --node ${nodes.map((t) => t.name).join(',')} --verify`;
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
