// The plan as GitHub-flavoured markdown, for a pull request's comment or $GITHUB_STEP_SUMMARY:
// a table of the changes with their files and reasons, then warnings and errors. A plan holds no
// key material, so neither does this.
import { md, mdCode, mdTable } from '../core/markdown.js';
import { orphanNote, planSummaryText } from './render-text.js';
import type { Plan } from './types.js';

export function renderPlanMarkdown(plan: Plan, opts: { verbose?: boolean } = {}): string {
  const shown = plan.changes.filter((c) => opts.verbose || c.action !== 'keep');
  const out = [`### certgen plan: ${mdCode(plan.specFile)}`, '', `Certs dir ${mdCode(plan.certsDir)}. **${md(planSummaryText(plan))}.**`, ''];
  if (shown.length > 0) {
    out.push(
      mdTable(
        ['Action', 'Artifact', 'Files', 'Reasons'],
        shown.map((c) => [
          `**${md(c.action)}**`,
          mdCode(c.artifact),
          c.files.map(mdCode).join('<br>'),
          c.reasons.map((r) => `${mdCode(r.code)} ${md(r.message)}`).join('<br>') + md(orphanNote(plan, c)),
        ]),
      ),
      '',
    );
  } else if (plan.errors.length === 0) out.push('Nothing to do: the certs dir matches the spec.', '');
  if (plan.warnings.length > 0) out.push('**Warnings**', '', ...plan.warnings.map((w) => `- ${md(w)}`), '');
  if (plan.errors.length > 0) {
    out.push(`**Errors**: nothing can be applied until ${plan.errors.length === 1 ? 'it is' : 'they are'} fixed.`, '', ...plan.errors.map((e) => `- ${mdCode(e.artifact)}: ${md(e.message)}`), '');
  }
  return out.join('\n');
}
