// What apply and plan say about the Kubernetes manifests, as text.
import path from 'node:path';
import { md, mdCode, mdTable } from '../core/markdown.js';
import type { K8sFileResult, K8sPlannedFile } from './outputs.js';

const rel = (f: string): string => path.relative(process.cwd(), f) || f;

/** The manifests written (each, with where) or all unchanged (one line); then the stale ones removed or left. */
export function renderK8sLines(files: readonly K8sFileResult[]): string {
  if (files.length === 0) return '';
  const current = files.filter((f) => f.action === 'written' || f.action === 'unchanged');
  const written = current.filter((f) => f.action === 'written');
  const removed = files.filter((f) => f.action === 'removed');
  const kept = files.filter((f) => f.action === 'kept');
  let text = '';
  if (written.length === 0 && current.length > 0) text += `Kubernetes manifests unchanged (${current.length}).\n`;
  else if (written.length > 0) text += `Wrote ${written.length} Kubernetes manifest${written.length === 1 ? '' : 's'}${written.length < current.length ? ` (${current.length - written.length} unchanged)` : ''}:\n${written.map((f) => `  ${rel(f.file)}  ${f.kind} ${f.name}${f.encrypted ? ' (SOPS)' : ''}`).join('\n')}\n`;
  if (removed.length > 0) text += `Removed ${removed.length} stale Kubernetes manifest${removed.length === 1 ? '' : 's'}:\n${removed.map((f) => `  ${rel(f.file)}  ${f.kind} ${f.name}: ${f.reason ?? ''}`).join('\n')}\n`;
  if (kept.length > 0) text += `Left ${kept.length} stale Kubernetes manifest${kept.length === 1 ? '' : 's'} in place:\n${kept.map((f) => `  ${rel(f.file)}  ${f.reason ?? ''}`).join('\n')}\n`;
  return text;
}

/** Why apply would write (or remove) a planned file, in a few words. */
export function k8sPlanReason(f: K8sPlannedFile): string {
  switch (f.state) {
    case 'follows':
      return `after ${(f.after ?? []).join(', ')}`;
    case 'missing':
      return 'missing';
    case 'changed':
      return 'differs from the certs dir';
    case 'remove':
    case 'kept':
      return f.reason ?? 'no longer written';
    case 'unchanged':
      return 'up to date';
  }
}

/** Plan's section: each file apply would write and why, the stale ones it would remove, then how many it leaves. */
export function renderK8sPlan(files: readonly K8sPlannedFile[]): string {
  if (files.length === 0) return '';
  const todo = files.filter((f) => f.state !== 'unchanged' && f.state !== 'remove' && f.state !== 'kept');
  const gone = files.filter((f) => f.state === 'remove');
  const left = files.filter((f) => f.state === 'kept');
  const kept = files.length - todo.length - gone.length - left.length;
  if (todo.length === 0 && gone.length === 0 && left.length === 0) return `\nKubernetes manifests: all ${files.length} up to date.\n`;
  const width = Math.max(...[...todo, ...gone, ...left].map((f) => rel(f.file).length));
  const lines = (fs: readonly K8sPlannedFile[]): string => fs.map((f) => `  ${rel(f.file).padEnd(width)}  ${k8sPlanReason(f)}`).join('\n');
  let text = '';
  if (todo.length > 0) text += `\nKubernetes manifests apply would write (outputs.kubernetes):\n${lines(todo)}\n`;
  if (gone.length > 0) text += `\nKubernetes manifests apply would remove (written by certgen, no longer in the spec):\n${lines(gone)}\n`;
  if (left.length > 0) text += `\nStale Kubernetes manifests apply leaves in place:\n${lines(left)}\n`;
  if (kept > 0) text += `  (${kept} up to date)\n`;
  return text;
}

/** What apply does to a planned file, as the markdown table's action. */
function k8sAction(f: K8sPlannedFile): string {
  return f.state === 'remove' ? 'remove' : f.state === 'kept' ? 'leave (stale)' : f.state === 'unchanged' ? 'keep' : 'write';
}

/**
 * Plan's section as markdown, after the plan's table: a row per file apply would write or remove
 * (and, `verbose`, per file it leaves), paths relative to `baseDir` (the spec's folder).
 */
export function renderK8sPlanMarkdown(files: readonly K8sPlannedFile[], baseDir: string, opts: { verbose?: boolean } = {}): string {
  if (files.length === 0) return '';
  const shown = files.filter((f) => opts.verbose || f.state !== 'unchanged');
  const up = files.filter((f) => f.state === 'unchanged').length;
  const head = ['**Kubernetes manifests** (outputs.kubernetes)', ''];
  if (shown.length === 0) return [...head, `All ${files.length} up to date.`, ''].join('\n');
  const relTo = (f: string): string => path.relative(baseDir, f).split(path.sep).join('/') || f;
  const rows = shown.map((f) => [`**${md(k8sAction(f))}**`, mdCode(relTo(f.file)), mdCode(`outputs.kubernetes[${f.output}]`), md(k8sPlanReason(f))]);
  return [...head, mdTable(['Action', 'File', 'Output', 'Reason'], rows), '', ...(up > 0 && !opts.verbose ? [`${up} up to date.`, ''] : [])].join('\n');
}
