// `certgen journal show`: the journal for people, one block per run.
import type { JournalEntry } from './journal.js';

const short = (sum: string | null): string => (sum === null ? '-' : sum.slice(0, 12));

export function renderJournalText(entries: JournalEntry[], file: string): string {
  if (entries.length === 0) return `${file}: no entries yet (a run that changes something appends one)\n`;
  const out: string[] = [];
  for (const e of entries) {
    out.push(`#${e.seq}  ${e.time}  ${e.user}@${e.host}  certgen ${e.certgen}  ${e.command}  spec ${short(e.spec)}`);
    const width = Math.max(0, ...e.files.map((f) => f.file.length));
    for (const f of e.files) {
      const what = f.op === 'chmod' ? `chmod ${(f.mode ?? 0).toString(8).padStart(4, '0')}` : f.op === 'remove' ? `removed ${short(f.old)}` : `${short(f.old)} → ${short(f.new)}`;
      out.push(`    ${f.file.padEnd(width)}  ${what.padEnd(27)}  ${f.artifact}: ${f.reason}`);
    }
  }
  return `${out.join('\n')}\n`;
}
