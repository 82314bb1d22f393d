// One apply (or distribute) at a time per certs dir: an exclusively created lock file naming its holder.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CertgenError } from '../errors.js';
import { errnoText } from './files.js';

/** The lock is held by a live process (or one this host cannot check): a caller may wait and retry. */
export class LockHeldError extends CertgenError {
  constructor(message: string, hint: string) {
    super(message, { hint });
    this.name = 'LockHeldError';
  }
}

export interface Lock {
  file: string;
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `<lock>.<pid>.<hex>.tmp`: where a holder stages its lock file before linking it into place
 * (the random part keeps two applies of one process, a library caller's, apart). */
const STAGED = /^(.+)\.(\d+)\.[0-9a-f]+\.tmp$/;

/**
 * Creates `file` with `text` as one step: the text is written under a name of this process and
 * then hard-linked into place (link(2) fails with EEXIST like O_EXCL). A lock file is therefore
 * never seen empty or half-written, so a holder killed (or out of disk space) between creating
 * and writing it cannot leave a lock that names nobody and blocks every later apply.
 */
async function createWithContent(file: string, text: string): Promise<void> {
  const staged = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(staged, text, { mode: 0o600, flag: 'wx' });
    await fs.link(staged, file);
  } finally {
    await fs.rm(staged, { force: true }).catch(() => {});
  }
  // Staged lock files of holders killed before their cleanup: only the lock holder removes them.
  const dir = path.dirname(file);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    const m = STAGED.exec(n);
    if (m && m[1] === path.basename(file) && Number(m[2]) !== process.pid && !alive(Number(m[2]))) await fs.rm(path.join(dir, n), { force: true }).catch(() => {});
  }
}

/** Tries to create the lock; between tries, a lock whose holder is gone may be removed. */
const MAX_ATTEMPTS = 3;

/**
 * Removes the lock file if it still is the stale one we read (inode `staleIno`). Several processes
 * may find the same stale lock: removal happens only under `<lock>.takeover`, created exclusively,
 * so a process that read the stale lock a moment ago can never remove the fresh lock of another
 * that has taken over since. A process that finds the takeover taken just waits a moment and
 * competes for the lock as usual.
 */
async function removeStale(file: string, staleIno: number): Promise<void> {
  const mutex = `${file}.takeover`;
  try {
    await fs.writeFile(mutex, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      // Held for microseconds; one whose process is gone (killed right there) is cleared.
      const pid = Number((await fs.readFile(mutex, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await fs.rm(mutex, { force: true });
      await new Promise((r) => setTimeout(r, 20));
    }
    return;
  }
  try {
    const st = await fs.lstat(file).catch(() => undefined);
    if (st?.ino === staleIno) await fs.rm(file, { force: true });
  } finally {
    await fs.rm(mutex, { force: true });
  }
}

/**
 * Takes `<dir>/<name>` or fails at once with a message naming the holder. A lock left by a
 * process that no longer exists on this host is taken over.
 */
export async function acquireLock(dir: string, name: string): Promise<Lock> {
  const file = path.join(dir, name);
  const me: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      await createWithContent(file, `${JSON.stringify(me)}\n`);
      return {
        file,
        release: async () => {
          await fs.rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new CertgenError(`cannot create lock file ${file}: ${errnoText(err)}`);
    }
    let holder: Partial<Holder> = {};
    let ino: number | undefined;
    try {
      const h = await fs.open(file, 'r');
      try {
        ino = (await h.stat()).ino;
        const parsed: unknown = JSON.parse(await h.readFile('utf8'));
        if (parsed !== null && typeof parsed === 'object') holder = parsed as Partial<Holder>;
      } finally {
        await h.close();
      }
    } catch {
      // unreadable or half-written: treat as held
    }
    if (attempt < MAX_ATTEMPTS - 1 && ino !== undefined && holder.host === me.host && typeof holder.pid === 'number' && !alive(holder.pid)) {
      await removeStale(file, ino);
      continue;
    }
    const who = holder.pid ? `pid ${holder.pid} on ${holder.host ?? 'an unknown host'} since ${holder.since ?? 'an unknown time'}` : 'an unknown process';
    throw new LockHeldError(`another certgen apply or distribute is running on ${dir} (${who})`, `wait for it to finish; if it is not running any more, remove ${file}`);
  }
  throw new CertgenError(`cannot take the lock ${file}`);
}

/**
 * The folder beside a spec that holds its locks (the rotation's and the journal's). The spec's
 * folder is the operator's (often a repository's top), so certgen writes no .gitignore there:
 * the lock folder carries its own, `*`, which makes git ignore the folder and all in it (the
 * .gitignore included). A lock a killed run left behind never shows in `git status`.
 */
export const SPEC_LOCK_DIR = '.certgen-locks';

const SELF_IGNORE = '# certgen: locks of the runs on the specs beside this folder; never committed\n*\n';

/** Takes the lock `name` in {@link SPEC_LOCK_DIR} of `specDir`, making the folder (and its .gitignore) first. */
export async function acquireSpecLock(specDir: string, name: string): Promise<Lock> {
  const dir = path.join(specDir, SPEC_LOCK_DIR);
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new CertgenError(`cannot create the lock folder ${dir}: ${errnoText(err)}`);
  }
  // One short write with O_EXCL: two runs creating it at once both see the same bytes.
  await fs.writeFile(path.join(dir, '.gitignore'), SELF_IGNORE, { flag: 'wx', mode: 0o644 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw new CertgenError(`cannot write ${path.join(dir, '.gitignore')}: ${errnoText(err)}`);
  });
  return acquireLock(dir, name);
}
