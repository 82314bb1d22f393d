// How `certgen distribute` reports: progress lines, the summary table and the versioned JSON.
// Pure: functions of a DistributeResult (or event) only.
import { renderResultSet } from '../core/table-format.js';
import { plainStyle, styleLastColumn, type Style, type Tone } from '../core/style.js';
import { phaseText, type DistributeEvent, type DistributeResult, type DistributeTarget } from './types.js';
import { formatArgv } from '../io/remote.js';

/** Version of the `--json` document; bumped on any incompatible change. */
export const DISTRIBUTE_JSON_VERSION = 1;

export const DISTRIBUTE_COLUMNS = ['Target', 'Destination', 'Copied', 'Unchanged', 'Reload', 'Status'] as const;

/** A progress line: `node n1: copying node.crt, node.key`. */
export function formatDistributeEvent(e: DistributeEvent): string {
  return `${e.target}: ${e.message}`;
}

function destination(t: DistributeTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.user !== null ? `${t.user}@` : ''}${host}:${t.port}:${t.dir}`;
}

function statusCell(t: DistributeTarget): string {
  switch (t.status) {
    case 'updated':
      return t.copied.length > 0 ? 'updated' : t.modesFixed.length > 0 ? 'updated (modes)' : 'updated (cleanup)';
    case 'unchanged':
      return 'up to date';
    case 'would-update':
      return 'would update';
    case 'failed':
      return `FAILED${t.phase !== null ? ` (${phaseText(t.phase)})` : ''}: ${t.error ?? 'unknown error'}`;
  }
}

function reloadCell(t: DistributeTarget): string {
  switch (t.reload.status) {
    case 'none':
      return '-';
    case 'would-run':
      return 'would run';
    default:
      return t.reload.status;
  }
}

/** The rows of the summary table, one per target in spec order (nodes, then clients). */
export function distributeCells(t: DistributeTarget): string[] {
  const copied = [...t.copied, ...t.modesFixed.map((n) => `${n} (mode)`)];
  return [t.label, destination(t), copied.length === 0 ? '-' : copied.join(', '), String(t.unchanged.length), reloadCell(t), statusCell(t)];
}

/**
 * The summary printed after a run: a table (CockroachDB's table format, as `cert list` uses),
 * then one totals line; in a dry run, the commands each target would run.
 */
const TONE: Record<DistributeTarget['status'], Tone> = { updated: 'change', unchanged: 'ok', 'would-update': 'change', failed: 'error' };

export function renderDistributeTable(result: DistributeResult, style: Style = plainStyle): string {
  const columns = [...DISTRIBUTE_COLUMNS] as string[];
  if (result.dryRun) columns[2] = 'Would copy';
  const rows = result.targets.map(distributeCells);
  let out = styleLastColumn(renderResultSet('table', { columns, rows }), rows.map((r) => r[r.length - 1] ?? ''), result.targets.map((t) => TONE[t.status]), style);
  const count = (s: DistributeTarget['status']): number => result.targets.filter((t) => t.status === s).length;
  const n = result.targets.length;
  const parts = result.dryRun
    ? [`${count('would-update')} would change`, `${count('unchanged')} up to date`, `${count('failed')} failed`]
    : [`${count('updated')} updated`, `${count('unchanged')} up to date`, `${count('failed')} failed`];
  out += `${result.dryRun ? 'dry run, nothing changed: ' : ''}${n} target${n === 1 ? '' : 's'}: ${parts.join(', ')}\n`;
  for (const w of result.targets.flatMap((t) => t.warnings.map((x) => `${t.label}: warning: ${x}`))) out += `${style('warn', w)}\n`;
  if (result.dryRun) {
    for (const t of result.targets) {
      const [session, ...sent] = t.commands;
      if (session === undefined || sent.length === 0) continue;
      const note = t.status === 'failed' ? ` (check failed: ${t.error ?? 'unknown error'}; shown as if every file had to be copied)` : '';
      out += `\n# ${t.label}${note}\n${formatArgv(session)}\n`;
      for (const argv of sent) out += `# then, on that session's stdin (followed by the files' bytes):\n${formatArgv(argv)}\n`;
    }
  }
  return out;
}

/**
 * The `--json` document: `{ version: 1, dryRun, ok, targets: [...] }`, every key always present
 * (null when not applicable), in a fixed order.
 */
export function distributeResultJson(result: DistributeResult): object {
  return {
    version: DISTRIBUTE_JSON_VERSION,
    dryRun: result.dryRun,
    ok: result.ok,
    targets: result.targets.map((t) => ({
      kind: t.kind,
      name: t.name,
      host: t.host,
      port: t.port,
      user: t.user,
      dir: t.dir,
      status: t.status,
      error: t.error,
      phase: t.phase,
      copied: [...t.copied],
      unchanged: [...t.unchanged],
      modesFixed: [...t.modesFixed],
      reload: { command: t.reload.command, status: t.reload.status },
      files: t.files.map((f) => ({
        name: f.name,
        localPath: f.localPath,
        remotePath: f.remotePath,
        mode: `0${f.mode.toString(8)}`,
        sha256: f.sha256,
        remoteSha256: f.remoteSha256,
        remoteMode: f.remoteMode === null ? null : `0${f.remoteMode.toString(8)}`,
        action: f.action,
      })),
      warnings: [...t.warnings],
      commands: t.commands.map((argv) => [...argv]),
      durationMs: t.durationMs,
    })),
  };
}
