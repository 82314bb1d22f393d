// Pure: the reasons and errors about a file's kind and mode that every part of the planner gives
// in the same words (diff.ts for the CA and leaves, ui.ts for the copies of provided files).
import { formatFileMode } from '../core/filemode.js';
import type { FileFact } from '../tree/read-tree.js';
import type { PlanError, Reason } from './types.js';

export function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** Desired mode vs actual: `mode-too-open` when any extra bit is set, else `mode-changed`. */
export function modeReason(rel: string, actual: number, wanted: number): Reason | undefined {
  const m = actual & 0o777;
  if (m === wanted) return undefined;
  const tooOpen = (m & ~wanted) !== 0;
  return {
    code: tooOpen ? 'mode-too-open' : 'mode-changed',
    message: `${rel} is ${octal(m)} (${formatFileMode(m)}), wants ${octal(wanted)}`,
    file: rel,
    actual: octal(m),
    expected: octal(wanted),
  };
}

/** certgen keeps the tree's own files and folders as real entries: a symlink among them could lead
 * a write (or a prune) outside the certs dir, so it is refused rather than followed or replaced. */
export function symlinkError(artifact: string, f: FileFact, what: 'file' | 'folder'): PlanError {
  return {
    artifact,
    code: 'symlink',
    message: `${f.rel} is a symlink${f.target ? ` to ${f.target}` : ''}: certgen never reads or writes through a symlink inside the certs dir; put the real ${what} there, or remove the link to have it made`,
  };
}
