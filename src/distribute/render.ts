// How `certgen distribute` reports: progress lines, the summary table and the versioned JSON.
// Pure: functions of a DistributeResult (or event) only.
import { renderResultSet } from '../core/table-format.js';
import { plainStyle, styleLastColumn, type Style, type Tone } from '../core/style.js';
import { phaseText, type DistributeEvent, type DistributeResult, type DistributeTarget, type TargetVerification } from './types.js';
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
  const verified = t.verify?.ok === true ? ', verified' : '';
  switch (t.status) {
    case 'updated':
      return (t.copied.length > 0 ? 'updated' : t.modesFixed.length > 0 ? 'updated (modes)' : 'updated (cleanup)') + verified;
    case 'unchanged':
      return `up to date${t.reload.status === 'ran' ? ', reloaded' : t.reload.status === 'would-run' ? ', would reload' : ''}${verified}`;
    case 'not-started':
      return 'not started (the rollout stopped)';
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
const TONE: Record<DistributeTarget['status'], Tone> = { updated: 'change', unchanged: 'ok', 'would-update': 'change', failed: 'error', 'not-started': 'warn' };

/**
 * The targets whose files are in place but not (known to be) in use: the reload failed after the
 * install, or the node does not present its new certificate. A plain rerun finds their files up
 * to date and skips the reload; `forceReload` runs it again.
 */
export function needsReloadAgain(t: DistributeTarget): boolean {
  return t.status === 'failed' && t.reload.command !== null && (t.phase === 'reload' || t.phase === 'verify');
}

/**
 * The line that tells the operator how to run those reloads again (and verify them), or undefined
 * when none is needed: `command` is how the run was invoked (`certgen distribute cluster-certs.yaml`).
 */
export function reloadAgainHint(result: DistributeResult, command = 'certgen distribute'): string | undefined {
  const again = result.targets.filter(needsReloadAgain);
  if (again.length === 0 || result.dryRun) return undefined;
  const names = (kind: DistributeTarget['kind'], flag: string): string[] => {
    const list = again.filter((t) => t.kind === kind).map((t) => t.name);
    return list.length === 0 ? [] : [flag, list.join(',')];
  };
  const labels = (phase: DistributeTarget['phase']): string => again.filter((t) => t.phase === phase).map((t) => t.label).join(', ');
  const why = [
    ...(labels('reload') !== '' ? [`${labels('reload')}: the files are in place but the reload failed`] : []),
    ...(labels('verify') !== '' ? [`${labels('verify')}: the files are in place but not presented yet`] : []),
  ];
  const argv = [command, '--force-reload', ...names('node', '--node'), ...names('client', '--client'), '--verify'];
  return `${why.join('; ')}. A plain rerun skips the reload (nothing changes); once the cause is fixed, run it again: ${argv.join(' ')}`;
}

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
  if (result.rollout !== undefined) parts.push(`${count('not-started')} not started`);
  out += `${result.dryRun ? 'dry run, nothing changed: ' : ''}${n} target${n === 1 ? '' : 's'}: ${parts.join(', ')}\n`;
  const r = result.rollout;
  if (r !== undefined) {
    const list = (xs: string[]): string => (xs.length === 0 ? '-' : xs.join(', '));
    out += `rolling (at most ${r.maxUnavailable} at once)${r.stopped ? ', stopped at the first failure' : ''}: done ${list(r.done)}; failed ${list(r.failed)}; not started ${list(r.notStarted)}\n`;
  }
  for (const w of result.targets.flatMap((t) => t.warnings.map((x) => `${t.label}: warning: ${x}`))) out += `${style('warn', w)}\n`;
  if (result.dryRun) {
    for (const t of result.targets) {
      const [session, ...sent] = t.commands;
      if (session === undefined || sent.length === 0) continue;
      const note = t.status === 'failed' ? ` (check failed: ${t.error ?? 'unknown error'}; shown as if every file had to be copied)` : '';
      out += `\n# ${t.label}${note}\n${formatArgv(session)}\n`;
      const bytes = t.copied.length > 0 ? " (followed by the files' bytes)" : '';
      for (const argv of sent) out += `# then, on that session's stdin${bytes}:\n${formatArgv(argv)}\n`;
    }
  }
  return out;
}

/** A node's verification as `--json` shows it (the presented chain's DER left out). */
function verifyJson(v: TargetVerification | null): object | null {
  if (v === null) return null;
  return {
    ok: v.ok,
    host: v.host,
    expectedSha256: v.expectedSha256,
    endpoints: v.endpoints.map((e) => ({
      kind: e.kind,
      port: e.port,
      ok: e.ok,
      attempts: e.attempts,
      error: e.error,
      presentedSha256: e.presented.leaf?.sha256 ?? null,
      notAfter: e.presented.leaf?.notAfter ?? null,
      protocol: e.presented.protocol,
      alpn: e.presented.alpn,
      chainVerifies: e.judgement.chainVerifies,
      hosts: e.judgement.hosts.map((h) => ({ ...h })),
      client: e.presented.client === null ? null : { ...e.presented.client },
      durationMs: e.durationMs,
    })),
  };
}

/**
 * The `--json` document: `{ version: 1, dryRun, ok, rollout, targets: [...] }`, every key always
 * present (null when not applicable), in a fixed order.
 */
export function distributeResultJson(result: DistributeResult): object {
  const r = result.rollout;
  return {
    version: DISTRIBUTE_JSON_VERSION,
    dryRun: result.dryRun,
    ok: result.ok,
    rollout: r === undefined ? null : { maxUnavailable: r.maxUnavailable, stopped: r.stopped, done: [...r.done], failed: [...r.failed], notStarted: [...r.notStarted] },
    journal: result.journal ?? null,
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
      verify: verifyJson(t.verify),
      reloadAgain: needsReloadAgain(t),
      durationMs: t.durationMs,
    })),
  };
}
