// Renders a certificate report: `table` (terminal), `tsv` and `csv` (CockroachDB's result-set
// formats, via renderResultSet), `json` (the Report itself, schemas/report.schema.json), `markdown`
// (a pull-request comment or CI step summary) and `html` (one self-contained page with an SVG
// timeline; no script, no external resource). Pure: a function of the report only.
import { renderResultSet } from '../core/table-format.js';
import { md, mdCode, mdTable } from '../core/markdown.js';
import type { CaRotation, Report, ReportRow, ReportStatus } from './report.js';

export const REPORT_FORMATS = ['table', 'tsv', 'csv', 'json', 'markdown', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function isReportFormat(s: string): s is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(s);
}

/** The row columns of table, tsv and csv, in order. */
export const REPORT_COLUMNS = [
  'Owner',
  'Usage',
  'File',
  'Key File',
  'Not Before',
  'Expires',
  'Days Left',
  'Renew From',
  'Status',
  'Pending',
  'Notes',
  'Serial',
  'SHA-256 Fingerprint',
  'Key',
  'Issuer Fingerprint',
  'Error',
] as const;

const FORECAST_COLUMNS = ['Renews', 'In Days', 'Owner', 'File', 'Expires', 'Renew Before', 'Status', 'Why'];

/** `AB:CD:…` cut to its first 8 bytes, for terminals. */
function shortFingerprint(fp: string): string {
  return fp.length > 23 ? `${fp.slice(0, 23)}…` : fp;
}

const num = (n: number | null): string => (n === null ? '' : String(n));

/** One row's cells, in {@link REPORT_COLUMNS} order. `short` shortens the fingerprints (table). */
export function reportCells(row: ReportRow, opts: { short?: boolean } = {}): string[] {
  const fp = opts.short ? shortFingerprint : (s: string): string => s;
  return [
    row.owner,
    row.usage,
    row.file,
    row.keyFile,
    row.notBefore ?? '',
    row.expires ?? '',
    num(row.daysLeft),
    row.renewalStarts ?? '',
    row.status,
    row.pending,
    row.notes,
    row.serial,
    fp(row.fingerprint),
    row.key,
    fp(row.issuerFingerprint),
    row.error,
  ];
}

export function renderReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case 'table':
      return renderText(report);
    case 'tsv':
    case 'csv':
      // One result set, nothing else: the forecast is in the Renew From column, the rest in json.
      return renderResultSet(format, { columns: [...REPORT_COLUMNS], rows: report.rows.map((r) => reportCells(r)) });
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'markdown':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    default: {
      const never: never = format;
      throw new TypeError(`unknown report format ${String(never)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Shared wording

function title(report: Report): string {
  const s = report.source;
  return s.kind === 'spec' ? `Certificate report for ${s.specFile} (certs dir ${s.certsDir})` : `Certificate report for ${s.certsDir}${s.recursive ? ' and its sub-folders' : ''}`;
}

function summaryLine(report: Report): string {
  const s = report.summary;
  const parts = [`${s.ok} ok`, `${s.renewSoon} renew-soon`, `${s.expired} expired`, `${s.error} error`];
  return `${s.total} certificate${s.total === 1 ? '' : 's'}: ${parts.join(', ')}.`;
}

function planLine(report: Report): string | undefined {
  if (!report.plan) return undefined;
  const n = report.plan.pendingChanges;
  const errors = report.plan.errors.length;
  const head = n === 0 ? 'Plan: the tree matches the spec.' : `Plan: ${n} pending change${n === 1 ? '' : 's'} (certgen plan shows them, certgen apply makes them).`;
  return errors > 0 ? `${head} ${errors} error${errors === 1 ? '' : 's'} block apply.` : head;
}

function rotationHeadline(r: CaRotation): string {
  const when = r.overdue ? `OVERDUE since ${r.rotateBy}` : `rotate by ${r.rotateBy} (in ${r.daysUntil} day${r.daysUntil === 1 ? '' : 's'})`;
  return `${r.file} (${r.owner}, expires ${r.expires}): ${when}; renewal window from ${r.windowOpens}.`;
}

/** Spec mode: the latest safe `certgen rotate start`, or the rotation under way. */
function rotationStartLine(r: CaRotation): string | undefined {
  if (r.rotation) return `Rotation ${r.rotation.id} under way (${r.rotation.phase}): trust and reissue must be done by ${r.rotation.deadline} (certgen rotate status).`;
  if (r.latestStart) return `certgen rotate start by ${r.latestStart} at the latest (trust and reissue done by ${r.deadline ?? '?'}, ca.clientPropagation and ca.reissueAllowance before it).`;
  return undefined;
}

/** Words wrapped at `width` columns, each line prefixed with `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// table

function renderText(report: Report): string {
  const out: string[] = [];
  out.push(`${title(report)} at ${report.now}`);
  out.push(renderResultSet('table', { columns: [...REPORT_COLUMNS], rows: report.rows.map((r) => reportCells(r, { short: true })) }).trimEnd());
  out.push(summaryLine(report));
  const plan = planLine(report);
  if (plan) out.push(plan);
  for (const e of report.plan?.errors ?? []) out.push(`error: ${e.artifact}: ${e.message}`);
  out.push('', 'Forecast: when each certificate is next renewed (by `certgen apply` in its renewal window):');
  const f = report.forecast.renewals.map((r) => [r.renewsAt, String(r.daysUntil), r.owner, r.file, r.expires ?? '', r.renewBefore ?? '', r.status, r.why]);
  out.push(renderResultSet('table', { columns: FORECAST_COLUMNS, rows: f }).trimEnd());
  if (report.forecast.caRotations.length > 0) {
    out.push('', 'CA rotation:');
    for (const r of report.forecast.caRotations) {
      out.push(`  ${rotationHeadline(r)}`);
      const start = rotationStartLine(r);
      if (start) out.push(`    ${start}`);
      out.push(wrap(r.explanation, 96, '    '));
    }
  }
  for (const w of report.warnings) out.push(`warning: ${w}`);
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// markdown

const MARKER: Record<ReportStatus, string> = { ok: '[ok]', 'renew-soon': '**[RENEW-SOON]**', expired: '**[EXPIRED]**', error: '**[ERROR]**' };

const date = (s: string | null): string => (s === null ? '' : s.slice(0, 10));

export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  const s = report.summary;
  out.push(`## ${md(title(report))}`, '');
  out.push(`As of ${report.now}. **${s.total} certificate${s.total === 1 ? '' : 's'}**: ${s.ok} ok, ${s.renewSoon} renew-soon, ${s.expired} expired, ${s.error} error.`);
  const plan = planLine(report);
  if (plan) out.push('', md(plan));
  for (const e of report.plan?.errors ?? []) out.push('', `**[ERROR]** ${md(`${e.artifact}: ${e.message}`)}`);
  out.push('');
  out.push(
    mdTable(
      ['Status', 'Owner', 'Usage', 'File', 'Expires', 'Days left', 'Renew from', 'Pending', 'Notes', 'Error'],
      report.rows.map((r) => [MARKER[r.status], md(r.owner), md(r.usage), mdCode(r.file), date(r.expires), num(r.daysLeft), date(r.renewalStarts), md(r.pending), md(r.notes), md(r.error)]),
    ),
  );
  out.push('', '<details><summary>Serials, fingerprints and keys</summary>', '');
  out.push(
    mdTable(
      ['Owner', 'File', '#', 'Not before', 'Expires', 'Serial', 'SHA-256 fingerprint', 'Key', 'Key file', 'Issuer fingerprint'],
      report.rows.map((r) => [md(r.owner), mdCode(r.file), r.certsInFile > 0 ? `${r.position}/${r.certsInFile}` : '', r.notBefore ?? '', r.expires ?? '', mdCode(r.serial), mdCode(r.fingerprint), md(r.key), mdCode(r.keyFile), mdCode(r.issuerFingerprint)]),
    ),
  );
  out.push('', '</details>', '', '### Forecast', '');
  if (report.forecast.renewals.length === 0) out.push('Nothing to renew.');
  else {
    out.push(
      mdTable(
        ['Renews', 'In days', 'Owner', 'File', 'Expires', 'Renew before', 'Status', 'Why'],
        report.forecast.renewals.map((r) => [r.renewsAt.slice(0, 10), String(r.daysUntil), md(r.owner), mdCode(r.file), date(r.expires), md(r.renewBefore ?? ''), MARKER[r.status], md(r.why)]),
      ),
    );
  }
  for (const r of report.forecast.caRotations) {
    out.push('', `### CA rotation: ${mdCode(r.file)}`, '');
    out.push(`${r.overdue ? '**[OVERDUE]** ' : ''}Rotate by **${r.rotateBy.slice(0, 10)}** (${r.overdue ? 'overdue' : `in ${r.daysUntil} days`}); renewal window from ${r.windowOpens.slice(0, 10)}; the CA expires ${r.expires.slice(0, 10)}.`, '');
    out.push(md(r.explanation.replace(/^OVERDUE: /, '')));
  }
  if (report.warnings.length > 0) {
    out.push('', '### Warnings', '');
    for (const w of report.warnings) out.push(`- ${md(w)}`);
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// html

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const STATUS_COLOR: Record<ReportStatus, string> = { ok: '#2f8f5b', 'renew-soon': '#c98a04', expired: '#c0392b', error: '#7d3c98' };
const STATUS_TEXT: Record<ReportStatus, string> = { ok: 'OK', 'renew-soon': 'RENEW SOON', expired: 'EXPIRED', error: 'ERROR' };

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 24px; color: #1d2430; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #5b6472; margin: 0 0 14px; }
.chips { display: flex; gap: 8px; flex-wrap: wrap; margin: 0 0 8px; }
.chip { border-radius: 14px; padding: 3px 12px; color: #fff; font-weight: 600; }
.chip.total { background: #3d4756; }
.note { margin: 6px 0; }
.card { background: #fff; border: 1px solid #d9dde3; border-radius: 8px; padding: 12px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e6e9ee; vertical-align: top; }
th { background: #eef1f5; position: sticky; top: 0; white-space: nowrap; }
td.mono, .mono { white-space: nowrap; font-family: "DejaVu Sans Mono", ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 11.5px; }
td.path { white-space: normal; }
td.fp { font-family: "DejaVu Sans Mono", ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 10.5px; line-height: 1.35; word-break: break-all; width: calc(24.4ch + 16px); }
td.text { min-width: 12em; overflow-wrap: anywhere; }
td.num { text-align: right; }
td.err { color: #8e1b12; }
.status { display: inline-block; border-radius: 4px; padding: 1px 6px; color: #fff; font-weight: 700; font-size: 11px; white-space: nowrap; }
tr.orphan td { background: #fbfaf3; }
svg text { font-family: "DejaVu Sans", system-ui, sans-serif; }
svg .lbl { font-size: 11px; fill: #1d2430; }
svg .sub { font-size: 10px; fill: #5b6472; }
svg .tick { font-size: 10px; fill: #5b6472; }
.legend { display: flex; gap: 16px; flex-wrap: wrap; font-size: 12px; margin-top: 8px; color: #3d4756; }
.sw { display: inline-block; width: 14px; height: 10px; vertical-align: middle; margin-right: 4px; border-radius: 2px; }
footer { color: #7a8391; font-size: 12px; margin-top: 24px; }
@media (max-width: 1180px) {
  body { margin: 16px; }
  .card { padding: 8px; }
  th { white-space: normal; }
  td.when { white-space: normal; }
  td.when span { display: inline-block; white-space: nowrap; }
  th, td { padding: 5px 6px; }
  td.fp { width: calc(15.4ch + 12px); min-width: calc(15.4ch + 12px); }
  td.text { min-width: 7em; }
}
`;

interface Scale {
  x: (ms: number) => number;
  ticks: { ms: number; label: string }[];
}

function timeScale(minMs: number, maxMs: number, x0: number, width: number): Scale {
  const span = Math.max(maxMs - minMs, 1);
  const x = (ms: number): number => x0 + ((ms - minMs) / span) * width;
  const years = span / (365.25 * 24 * 3600 * 1000);
  const months = years > 6 ? 12 : years > 3 ? 6 : years > 1.5 ? 3 : 1;
  const ticks: { ms: number; label: string }[] = [];
  const start = new Date(minMs);
  let y = start.getUTCFullYear();
  let m = Math.ceil(start.getUTCMonth() / months) * months;
  for (;;) {
    const t = Date.UTC(y + Math.floor(m / 12), m % 12, 1);
    if (t > maxMs) break;
    if (t >= minMs) {
      const d = new Date(t);
      ticks.push({ ms: t, label: months === 12 ? String(d.getUTCFullYear()) : `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}` });
    }
    m += months;
  }
  return { x, ticks };
}

function ellipsis(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** The timeline: one bar per certificate (validity), its renewal window hatched, a "now" line. */
export function renderTimeline(report: Report): string {
  const rows = report.rows;
  const nowMs = Date.parse(report.now);
  const dated = rows.filter((r) => r.notBefore !== null && r.expires !== null);
  const rotations = report.forecast.caRotations;
  const times = [nowMs, ...dated.flatMap((r) => [Date.parse(r.notBefore ?? ''), Date.parse(r.expires ?? '')]), ...rotations.map((r) => Date.parse(r.rotateBy))];
  const pad = Math.max((Math.max(...times) - Math.min(...times)) * 0.03, 15 * 24 * 3600 * 1000);
  const minMs = Math.min(...times) - pad;
  const maxMs = Math.max(...times) + pad;
  const labelW = 360;
  const chartW = 900;
  const width = labelW + chartW + 20;
  const rowH = 26;
  const top = 34;
  const height = top + rows.length * rowH + 18;
  const scale = timeScale(minMs, maxMs, labelW, chartW);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Validity timeline of ${rows.length} certificates">`,
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff" fill-opacity="0.28"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="3" stroke-opacity="0.75"/></pattern></defs>',
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  for (const t of scale.ticks) {
    const x = scale.x(t.ms).toFixed(1);
    parts.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${height - 14}" stroke="#e3e7ec"/>`, `<text class="tick" x="${x}" y="${top - 12}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    if (i % 2 === 1) parts.push(`<rect x="0" y="${y}" width="${width}" height="${rowH}" fill="#f7f8fa"/>`);
    const label = `${r.owner}${r.usage ? ` · ${r.usage}` : ''}`;
    const sub = `${r.file}${r.certsInFile > 1 ? ` (${r.position}/${r.certsInFile})` : ''}${r.orphan ? ' · not in the spec' : ''}`;
    parts.push(`<text class="lbl" x="8" y="${y + 12}">${esc(ellipsis(label, 52))}</text>`, `<text class="sub" x="8" y="${y + 23}">${esc(ellipsis(sub, 60))}</text>`);
    const color = STATUS_COLOR[r.status];
    const tip = [`${r.owner} ${r.file}`, `status: ${r.status}`, r.notBefore ? `valid ${r.notBefore} → ${r.expires}` : '', r.renewalStarts ? `renewal window from ${r.renewalStarts}` : '', r.error].filter((s) => s).join('\n');
    if (r.notBefore !== null && r.expires !== null) {
      const x1 = scale.x(Date.parse(r.notBefore));
      const x2 = scale.x(Date.parse(r.expires));
      parts.push(`<g><title>${esc(tip)}</title>`);
      parts.push(`<rect x="${x1.toFixed(1)}" y="${y + 6}" width="${Math.max(x2 - x1, 1).toFixed(1)}" height="${rowH - 12}" rx="3" fill="${color}" fill-opacity="${r.status === 'ok' ? 0.85 : 1}"/>`);
      if (r.renewalStarts !== null) {
        const w1 = Math.max(scale.x(Date.parse(r.renewalStarts)), x1);
        parts.push(`<rect x="${w1.toFixed(1)}" y="${y + 6}" width="${Math.max(x2 - w1, 1).toFixed(1)}" height="${rowH - 12}" rx="3" fill="url(#hatch)"/>`);
        parts.push(`<rect x="${w1.toFixed(1)}" y="${y + 6}" width="${Math.max(x2 - w1, 1).toFixed(1)}" height="${rowH - 12}" rx="3" fill="none" stroke="#1d2430" stroke-opacity="0.35"/>`);
      }
      const textX = Math.min(x2 + 4, width - 4);
      const anchor = x2 + 90 > width ? 'end' : 'start';
      const days = r.daysLeft === null ? '' : r.daysLeft < 0 ? `expired ${-r.daysLeft}d ago` : `${r.daysLeft}d left`;
      parts.push(`<text class="sub" x="${(anchor === 'end' ? x1 - 4 : textX).toFixed(1)}" y="${y + 17}" text-anchor="${anchor}">${esc(`${days}${r.status === 'error' ? ' · error' : ''}`)}</text>`);
      parts.push('</g>');
    } else {
      parts.push(`<g><title>${esc(tip)}</title><text class="sub" x="${labelW + 6}" y="${y + 17}" fill="${color}">${esc(ellipsis(`no validity to show: ${r.problem ?? 'error'}: ${r.error}`, 150))}</text></g>`);
    }
  });
  for (const rot of rotations) {
    const x = scale.x(Date.parse(rot.rotateBy)).toFixed(1);
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${height - 14}" stroke="#6c3fb5" stroke-width="1.5" stroke-dasharray="6 4"><title>${esc(`rotate ${rot.file} by ${rot.rotateBy}`)}</title></line>`);
    parts.push(`<text class="tick" x="${x}" y="${height - 3}" text-anchor="middle" fill="#6c3fb5">rotate CA by ${esc(rot.rotateBy.slice(0, 10))}</text>`);
  }
  const nx = scale.x(nowMs).toFixed(1);
  parts.push(`<line x1="${nx}" y1="${top - 4}" x2="${nx}" y2="${height - 14}" stroke="#d62828" stroke-width="2"/>`);
  parts.push(`<text x="${nx}" y="${top - 22}" text-anchor="middle" font-size="11" font-weight="700" fill="#d62828">now ${esc(report.now.slice(0, 10))}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** A path in a table cell: it may wrap after each slash (and only there, or at a space). */
function pathCell(p: string): string {
  return esc(p).replace(/\//g, '/<wbr>');
}

function htmlTable(columns: string[], rows: { cells: { html: string; cls?: string }[]; cls?: string }[]): string {
  const head = `<tr>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr${r.cls ? ` class="${r.cls}"` : ''}>${r.cells.map((c) => `<td${c.cls ? ` class="${c.cls}"` : ''}>${c.html}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/**
 * An instant (RFC 3339) in a table cell, date and time in spans of their own so that on a narrow
 * page (and only there: the CSS makes them inline blocks) it may wrap after the date. Not <wbr>:
 * Chromium breaks there even in white-space: nowrap.
 */
function instantCell(v: string | null): string {
  const m = /^([^T]*T)(.*)$/.exec(v ?? '');
  return m ? `<span>${esc(m[1] ?? '')}</span><span>${esc(m[2] ?? '')}</span>` : esc(v ?? '');
}

/** A date for people (YYYY-MM-DD), the full instant on hover. */
function dateCell(v: string | null): string {
  return v === null ? '' : `<span title="${esc(v)}">${esc(v.slice(0, 10))}</span>`;
}

function statusBadge(s: ReportStatus): string {
  return `<span class="status" style="background:${STATUS_COLOR[s]}">${STATUS_TEXT[s]}</span>`;
}

export function renderHtml(report: Report): string {
  const s = report.summary;
  const chips = [
    `<span class="chip total">${s.total} certificate${s.total === 1 ? '' : 's'}</span>`,
    ...(['ok', 'renew-soon', 'expired', 'error'] as ReportStatus[]).map((st) => {
      const n = st === 'ok' ? s.ok : st === 'renew-soon' ? s.renewSoon : st === 'expired' ? s.expired : s.error;
      return `<span class="chip" style="background:${STATUS_COLOR[st]}">${n} ${STATUS_TEXT[st].toLowerCase()}</span>`;
    }),
  ].join('');
  const plan = planLine(report);
  const rowsTable = htmlTable(
    ['Status', 'Owner', 'Usage', 'File', 'Expires', 'Days left', 'Renew from', 'Pending', 'Notes', 'Error'],
    report.rows.map((r) => ({
      cls: r.orphan ? 'orphan' : undefined,
      cells: [
        { html: statusBadge(r.status) },
        { html: esc(r.owner) },
        { html: esc(r.usage) },
        { html: pathCell(r.file) + (r.certsInFile > 1 ? ` <span class="sub">(${r.position}/${r.certsInFile})</span>` : ''), cls: 'mono path' },
        { html: dateCell(r.expires), cls: 'mono' },
        { html: esc(num(r.daysLeft)), cls: 'num' },
        { html: dateCell(r.renewalStarts), cls: 'mono' },
        { html: esc(r.pending), cls: 'text' },
        { html: esc(r.notes), cls: 'text' },
        { html: esc(r.error), cls: 'text err' },
      ],
    })),
  );
  const detailsTable = htmlTable(
    ['Owner', 'File', 'Key file', 'Not before', 'Expires', 'Serial', 'SHA-256 fingerprint', 'Key', 'Issuer fingerprint'],
    report.rows.map((r) => ({
      cls: r.orphan ? 'orphan' : undefined,
      cells: [
        { html: esc(r.owner) },
        { html: pathCell(r.file) + (r.certsInFile > 1 ? ` <span class="sub">(${r.position}/${r.certsInFile})</span>` : ''), cls: 'mono path' },
        { html: pathCell(r.keyFile), cls: 'mono path' },
        { html: instantCell(r.notBefore), cls: 'mono when' },
        { html: instantCell(r.expires), cls: 'mono when' },
        { html: esc(r.serial), cls: 'fp' },
        { html: esc(r.fingerprint), cls: 'fp' },
        { html: esc(r.key), cls: 'mono' },
        { html: esc(r.issuerFingerprint), cls: 'fp' },
      ],
    })),
  );
  const forecastTable =
    report.forecast.renewals.length === 0
      ? '<p>Nothing to renew.</p>'
      : htmlTable(
          ['Renews', 'In days', 'Owner', 'File', 'Expires', 'Renew before', 'Status', 'Why'],
          report.forecast.renewals.map((r) => ({
            cells: [
              { html: esc(r.renewsAt), cls: 'mono' },
              { html: esc(String(r.daysUntil)) },
              { html: esc(r.owner) },
              { html: pathCell(r.file), cls: 'mono path' },
              { html: esc(r.expires ?? ''), cls: 'mono' },
              { html: esc(r.renewBefore ?? '') },
              { html: statusBadge(r.status) },
              { html: esc(r.why) },
            ],
          })),
        );
  const rotations = report.forecast.caRotations
    .map((r) => `<div class="card note"><p><strong>${esc(r.overdue ? 'OVERDUE: ' : '')}${esc(rotationHeadline(r))}</strong></p><p>${esc(r.explanation.replace(/^OVERDUE: /, ''))}</p></div>`)
    .join('\n');
  const notices = [...(report.plan?.errors ?? []).map((e) => `error: ${e.artifact}: ${e.message}`), ...report.warnings.map((w) => `warning: ${w}`)];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title(report))}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(title(report))}</h1>
<p class="meta">As of ${esc(report.now)} · generated by certgen report (format version ${report.version})</p>
<div class="chips">${chips}</div>
${plan ? `<p class="note">${esc(plan)}</p>` : ''}
${notices.length > 0 ? `<ul>${notices.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<h2>Timeline</h2>
<div class="card">
${renderTimeline(report)}
<div class="legend"><span><span class="sw" style="background:${STATUS_COLOR.ok}"></span>valid</span><span><span class="sw" style="background:${STATUS_COLOR['renew-soon']}"></span>renew soon</span><span><span class="sw" style="background:${STATUS_COLOR.expired}"></span>expired</span><span><span class="sw" style="background:${STATUS_COLOR.error}"></span>error</span><span><span class="sw" style="background:repeating-linear-gradient(45deg,#8a93a0 0 3px,#fff 3px 6px)"></span>renewal window</span><span><span class="sw" style="background:#d62828;width:3px"></span>now</span>${report.forecast.caRotations.length > 0 ? '<span><span class="sw" style="background:#6c3fb5;width:3px"></span>CA rotation deadline</span>' : ''}</div>
</div>
<h2>Certificates</h2>
<div class="card">
${rowsTable}
</div>
<h2>Serials, fingerprints and keys</h2>
<div class="card">
${detailsTable}
</div>
<h2>Forecast</h2>
<div class="card">
${forecastTable}
</div>
${report.forecast.caRotations.length > 0 ? `<h2>CA rotation</h2>\n${rotations}` : ''}
<footer>${esc(summaryLine(report))}</footer>
</body>
</html>
`;
}
