// What apply and plan say about the Kubernetes manifests, as text.
import path from 'node:path';
import type { K8sFileResult, K8sPlannedFile } from './outputs.js';

const rel = (f: string): string => path.relative(process.cwd(), f) || f;

/** The manifests written (each, with where) or all unchanged (one line). */
export function renderK8sLines(files: readonly K8sFileResult[]): string {
  if (files.length === 0) return '';
  const written = files.filter((f) => f.action === 'written');
  if (written.length === 0) return `Kubernetes manifests unchanged (${files.length}).\n`;
  return `Wrote ${written.length} Kubernetes manifest${written.length === 1 ? '' : 's'}${written.length < files.length ? ` (${files.length - written.length} unchanged)` : ''}:\n${written.map((f) => `  ${rel(f.file)}  ${f.kind} ${f.name}${f.encrypted ? ' (SOPS)' : ''}`).join('\n')}\n`;
}

/** Plan's section: each file apply would write and why, then how many it leaves. */
export function renderK8sPlan(files: readonly K8sPlannedFile[]): string {
  if (files.length === 0) return '';
  const todo = files.filter((f) => f.state !== 'unchanged');
  const kept = files.length - todo.length;
  if (todo.length === 0) return `\nKubernetes manifests: all ${files.length} up to date.\n`;
  const why = (f: K8sPlannedFile): string => (f.state === 'follows' ? `after ${(f.after ?? []).join(', ')}` : f.state === 'missing' ? 'missing' : 'differs from the certs dir');
  const width = Math.max(...todo.map((f) => rel(f.file).length));
  return `\nKubernetes manifests apply would write (outputs.kubernetes):\n${todo.map((f) => `  ${rel(f.file).padEnd(width)}  ${why(f)}`).join('\n')}\n${kept > 0 ? `  (${kept} up to date)\n` : ''}`;
}
