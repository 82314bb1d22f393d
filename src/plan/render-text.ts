// The plan as text for people: one line per change, keeps folded into the summary.
import { plainStyle, type Style, type Tone } from '../core/style.js';
import { summarize, type Action, type Plan, type Reason } from './types.js';

function describeReasons(reasons: Reason[]): string {
  return reasons.map((r) => `${r.code}: ${r.message}`).join('; ');
}

/** How each action is coloured on a terminal (src/core/style.ts). */
const TONE: Record<Action, Tone> = { create: 'add', reissue: 'change', 'fix-mode': 'change', 'update-ca-bundle': 'change', update: 'change', restore: 'add', orphan: 'remove', keep: 'dim' };

/**
 * The human plan, one line per change, keeps folded into the summary unless `verbose`. `style`
 * colours the actions, warnings and errors (the CLI passes one on a terminal); the text is the same.
 */
export function renderPlanText(plan: Plan, opts: { verbose?: boolean; style?: Style } = {}): string {
  const style = opts.style ?? plainStyle;
  const lines: string[] = [];
  const shown = plan.changes.filter((c) => opts.verbose || c.action !== 'keep');
  const width = Math.max(0, ...shown.map((c) => c.artifact.length));
  for (const c of shown) {
    lines.push(`  ${style(TONE[c.action] ?? 'bold', c.action)}${' '.repeat(Math.max(0, 16 - c.action.length))} ${c.artifact.padEnd(width)}  ${describeReasons(c.reasons)}${orphanNote(plan, c)}`);
  }
  const r = plan.rotation;
  const c = plan.clientCaRotation;
  const rotating =
    (r ? `\nCA rotation ${r.id} in progress: phase ${r.phase}${r.pending ? ` (entering ${r.pending})` : ''}, the ${r.signing} CA signs; see certgen rotate status.` : '') +
    (c ? `\nClient CA rotation ${c.id} in progress: phase ${c.phase}${c.pending ? ` (entering ${c.pending})` : ''}, the ${c.signing} client CA signs; see certgen rotate status --client-ca.` : '');
  const head = `Plan for ${plan.specFile} (certs dir ${plan.certsDir}):${rotating}`;
  // With errors nothing is applied, so "matches the spec" would be a false all-clear.
  const idle = plan.errors.length > 0 ? `  no changes can be planned until the ${plan.errors.length === 1 ? 'error below is' : `${plan.errors.length} errors below are`} fixed.` : '  nothing to do: the certs dir matches the spec.';
  const body = shown.length > 0 ? lines.join('\n') : idle;
  const errors = plan.errors.map((e) => `${style('error', 'error:')} ${e.artifact}: ${e.message}`);
  const warnings = plan.warnings.map((w) => `${style('warn', 'warning:')} ${w}`);
  return [head, body, `Plan: ${planSummaryText(plan)}.`, ...warnings, ...errors].join('\n') + '\n';
}

/** The counts line: "1 to create, 0 to reissue, …, 3 unchanged". */
export function planSummaryText(plan: Plan): string {
  const s = summarize(plan);
  const parts = [`${s.create} to create`, `${s.reissue} to reissue`, `${s.fixMode} to fix mode`, `${s.updateCaBundle} CA bundles to update`, ...(s.update > 0 ? [`${s.update} to update`] : []), ...(s.restore > 0 ? [`${s.restore} to restore`] : []), `${s.orphan} ${plan.prune ? 'to prune' : 'orphaned'}`, `${s.keep} unchanged`];
  if (s.interrupted > 0) parts.push(`${s.interrupted} left by an interrupted apply (the next apply removes ${s.interrupted === 1 ? 'it' : 'them'})`);
  return parts.join(', ');
}

/** What a kept orphan's line adds: it stays unless --prune. */
export function orphanNote(plan: Plan, c: Plan['changes'][number]): string {
  return c.action === 'orphan' && !plan.prune && c.reasons[0]?.code !== 'interrupted-write' ? ' (kept; --prune removes it)' : '';
}
