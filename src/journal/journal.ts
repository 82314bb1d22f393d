// The journal: an append-only JSON-lines file beside the spec (`cluster-certs.journal.jsonl` for
// `cluster-certs.yaml`), one line per run that changed something: when, who, where, which certgen,
// the spec's SHA-256, the command, and per file its SHA-256 before and after with the reason. It
// never holds key material: a key file appears only as the SHA-256 of its bytes. Each line
// carries the SHA-256 of the line before it (`prev`), so a line changed, removed or inserted
// breaks the chain at the next line, and `certgen journal verify` names the first broken one.
// Meant to be committed with the spec: its history is the audit trail.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CertgenError } from '../errors.js';
import { acquireSpecLock, LockHeldError, type Lock } from '../io/lock.js';
import { errnoText } from '../io/files.js';

export const JOURNAL_VERSION = 1;

/** One file a run wrote, chmodded or removed. */
export interface JournalFile {
  /** Relative to the certs dir, with `/` (the CA key's path may start with `../`). */
  file: string;
  op: 'write' | 'chmod' | 'remove';
  /** SHA-256 (hex) of the bytes before, null when there were none. */
  old: string | null;
  /** SHA-256 (hex) of the bytes after, null when removed. */
  new: string | null;
  /** The mode set, for writes and chmods. */
  mode?: number;
  /** The reason code of the change that touched the file (e.g. `hosts-changed`, `expiring`). */
  reason: string;
  /** The artifact whose change it is (`node/node1`, `ca`, or the orphan's path). */
  artifact: string;
}

export interface JournalEntry {
  v: typeof JOURNAL_VERSION;
  /** 1 for the first line, then one more per line. */
  seq: number;
  time: string;
  user: string;
  host: string;
  certgen: string;
  /** SHA-256 of the spec file's bytes when the run read it, null when it could not be read. */
  spec: string | null;
  command: string;
  files: JournalFile[];
  /** SHA-256 of the previous line (its bytes, without the newline); null on the first line. */
  prev: string | null;
}

/** What a caller records; the journal adds the rest. */
export type JournalRecord = Pick<JournalEntry, 'command' | 'files'> & { specFile: string; now?: Date };

/** Something wrong with a journal file: the chain broken at `line`, or the file unreadable. */
export class JournalError extends CertgenError {
  /** The first broken line (1-based), when the chain is what is wrong. */
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(message, { code: 'journal-broken', hint: line === undefined ? undefined : 'the journal is append-only: restore it from git (git log -p on the file shows what changed)' });
    this.name = 'JournalError';
    this.line = line;
  }
}

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The journal of a spec file: beside it, named after it. */
export function journalFileFor(specFile: string): string {
  const base = path.basename(specFile).replace(/\.(ya?ml|json)$/i, '');
  return path.join(path.dirname(specFile), `${base}.journal.jsonl`);
}

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function whoami(): string {
  try {
    return os.userInfo().username;
  } catch {
    // A container's uid without a passwd entry.
    return process.env['USER'] ?? String(process.getuid?.() ?? '?');
  }
}

/** The file's lines, each checked against the chain; throws JournalError at the first broken one. */
export function verifyJournalText(text: string, label = 'the journal'): JournalEntry[] {
  if (text === '') return [];
  if (!text.endsWith('\n')) {
    const line = text.split('\n').length;
    throw new JournalError(`${label}: line ${line} is incomplete (no newline at the end of the file): a write was cut short`, line);
  }
  const lines = text.slice(0, -1).split('\n');
  const out: JournalEntry[] = [];
  let prev: string | null = null;
  lines.forEach((raw, i) => {
    const n = i + 1;
    let e: JournalEntry;
    try {
      e = JSON.parse(raw) as JournalEntry;
    } catch {
      throw new JournalError(`${label}: line ${n} is not JSON`, n);
    }
    if (typeof e !== 'object' || e === null || e.v !== JOURNAL_VERSION) throw new JournalError(`${label}: line ${n} is not a version ${JOURNAL_VERSION} journal line`, n);
    if (e.seq !== n) throw new JournalError(`${label}: line ${n} says it is line ${String(e.seq)}: a line was removed or inserted before it`, n);
    if (e.prev !== prev) {
      const what = n === 1 ? 'the first line names a previous line: the journal lost its beginning' : `line ${n}'s prev (${String(e.prev).slice(0, 12)}…) is not the SHA-256 of line ${n - 1} (${String(prev).slice(0, 12)}…): line ${n - 1} was changed, or a line was removed or inserted`;
      throw new JournalError(`${label}: ${what}`, n);
    }
    prev = sha256(raw);
    out.push(e);
  });
  return out;
}

/** Every line that parses, whatever the chain says: what `journal show` prints of a broken journal. */
export function parseJournalLenient(text: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const raw of text.split('\n')) {
    try {
      const e = JSON.parse(raw) as JournalEntry;
      if (typeof e === 'object' && e !== null && e.v === JOURNAL_VERSION) out.push(e);
    } catch {
      // not a line of ours
    }
  }
  return out;
}

/** The entries of a journal file (none when it does not exist), the chain verified. */
export async function readJournal(file: string): Promise<JournalEntry[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new JournalError(`cannot read the journal ${file}: ${errnoText(err)}`);
  }
  return verifyJournalText(text, file);
}

/** The SHA-256 of the journal's last line: what the next line's prev is, and what an auditor can note. */
export function headOf(text: string): string | null {
  if (text === '') return null;
  const lines = text.slice(0, -1).split('\n');
  return sha256(lines[lines.length - 1] ?? '');
}

/** The journal's lock: held only for a read and one write, so waiting (up to 10 s) is right. */
async function journalLock(dir: string, name: string): Promise<Lock> {
  // In the spec's git-ignored lock folder: a lock a killed run left never shows in git status.
  const deadline = Date.now() + 10_000;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      return await acquireSpecLock(dir, name);
    } catch (err) {
      if (!(err instanceof LockHeldError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * Appends one line for a run, under the journal's own lock (apply and distribute may append at
 * once). The existing file is verified first: a broken chain is not extended (JournalError). The
 * line goes out in one write; a short write (a full disk) is cut back, so the file stays whole.
 */
export async function appendJournal(rec: JournalRecord): Promise<{ file: string; entry: JournalEntry }> {
  const file = journalFileFor(rec.specFile);
  const dir = path.dirname(file);
  const lock = await journalLock(dir, `${path.basename(file)}.lock`);
  try {
    let text = '';
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new JournalError(`cannot read the journal ${file}: ${errnoText(err)}`);
    }
    const entries = verifyJournalText(text, file);
    let spec: string | null = null;
    try {
      spec = sha256(await fs.readFile(rec.specFile));
    } catch {
      spec = null;
    }
    const entry: JournalEntry = {
      v: JOURNAL_VERSION,
      seq: entries.length + 1,
      time: (rec.now ?? new Date()).toISOString(),
      user: whoami(),
      host: os.hostname(),
      certgen: VERSION,
      spec,
      command: rec.command,
      files: rec.files,
      prev: headOf(text),
    };
    const line = Buffer.from(`${JSON.stringify(entry)}\n`);
    const h = await fs.open(file, 'a', 0o644);
    try {
      const size = (await h.stat()).size;
      let written = 0;
      try {
        written = (await h.write(line, 0, line.length)).bytesWritten;
        if (written !== line.length) throw new Error(`only ${written} of ${line.length} bytes could be written`);
        await h.sync();
      } catch (err) {
        await h.truncate(size).catch(() => undefined);
        throw new JournalError(`cannot append to the journal ${file}: ${err instanceof Error && !('code' in err) ? err.message : errnoText(err)}`);
      }
    } finally {
      await h.close();
    }
    return { file, entry };
  } finally {
    await lock.release();
  }
}
