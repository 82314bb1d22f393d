// distribute's line in the journal beside the spec (src/journal): per target, each file installed
// or chmodded remotely, its remote SHA-256 before and the local one it now has. Only a run that
// changed something on some host writes a line; a dry run never does.
import { appendJournal, journalFileFor, type JournalFile } from '../journal/journal.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import type { DistributeResult } from './types.js';

/** The files a run changed remotely, as journal entries (`host:remote path`). */
export function journalFilesOf(result: DistributeResult): JournalFile[] {
  const out: JournalFile[] = [];
  for (const t of result.targets) {
    // A target that failed after its install (its reload or verification) still changed its files.
    const installed = t.status === 'updated' || (t.status === 'failed' && (t.phase === 'reload' || t.phase === 'verify'));
    if (!installed) continue;
    for (const f of t.files) {
      if (f.action === 'none') continue;
      out.push({
        file: `${t.host}:${f.remotePath}`,
        op: f.action === 'copy' ? 'write' : 'chmod',
        old: f.remoteSha256,
        new: f.sha256,
        mode: f.mode,
        reason: t.status === 'failed' ? `distributed; ${t.phase} failed` : 'distributed',
        artifact: `${t.kind}/${t.name}`,
      });
    }
  }
  return out;
}

/** Appends the run when it changed something; a failure is reported in the result, not thrown (the hosts are changed). */
export async function journalDistribute(spec: ClusterSpec, result: DistributeResult, command: string): Promise<DistributeResult['journal']> {
  const files = journalFilesOf(result);
  if (result.dryRun || files.length === 0) return undefined;
  try {
    const { file, entry } = await appendJournal({ specFile: spec.file, command, files });
    return { file, seq: entry.seq };
  } catch (err) {
    return { file: journalFileFor(spec.file), error: err instanceof Error ? err.message : String(err) };
  }
}
