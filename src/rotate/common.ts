// What every rotate step shares: its locks and its journal line.
//
// Two locks: the rotation's own (beside the spec, in its git-ignored lock folder: src/io/lock.ts), held for a whole `rotate` run so two runs never
// interleave their phases, and the apply lock of the certs dir (src/io/lock.ts), held while a step
// changes local files. apply and distribute, which a step calls, take the apply lock themselves.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { acquireLock, acquireSpecLock } from '../io/lock.js';
import { appendJournal, sha256, type JournalFile } from '../journal/journal.js';
import { LOCK_FILE } from '../tree/layout.js';
import { rotationFileFor } from './state.js';

export async function withRotationLock<T>(spec: ClusterSpec, work: () => Promise<T>): Promise<T> {
  const file = rotationFileFor(spec.file);
  const lock = await acquireSpecLock(path.dirname(file), `${path.basename(file)}.lock`);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

export async function withApplyLock<T>(spec: ClusterSpec, work: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(spec.certsDir, LOCK_FILE);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

export function underRotationLocks<T>(spec: ClusterSpec, work: () => Promise<T>): Promise<T> {
  return withRotationLock(spec, () => withApplyLock(spec, work));
}

/** A file a rotate step touched, by absolute path; `new` undefined: hashed from the file now. */
export type RotationFile = Omit<JournalFile, 'file' | 'new'> & { file: string; new?: string | null };

/**
 * Appends the step's line to the journal beside the spec (paths relative to the certs dir, as
 * apply's are); a journal that cannot take it is reported, not thrown: the step is done.
 */
export async function journalRotation(spec: ClusterSpec, command: string, now: Date, files: RotationFile[]): Promise<string | undefined> {
  const rel = (abs: string): string => path.relative(spec.certsDir, abs).split(path.sep).join('/');
  const out: JournalFile[] = [];
  for (const f of files) {
    let sum = f.new;
    if (sum === undefined) sum = await fs.readFile(f.file).then((b) => sha256(b), () => null);
    out.push({ ...f, file: rel(f.file), new: sum });
  }
  try {
    await appendJournal({ specFile: spec.file, command, files: out, now });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
