// How certificates and keys are written. Every write goes to a temporary name in the target's
// folder and is then linked or renamed into place, so no reader ever sees a partly written file,
// and keys are 0600 from their first byte whatever the umask.
import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import path from 'node:path';
import { stagedTarget, stagingName } from '../core/staging-name.js';

export { CERT_MODE, DIR_MODE, KEY_MODE } from '../core/modes.js';

const GO_ERRNO_TEXT: Record<string, string> = {
  EEXIST: 'file exists',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EIO: 'input/output error',
};

/** The text Go's syscall.Errno prints for a Node fs error. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e?.code && GO_ERRNO_TEXT[e.code]) ?? (e instanceof Error ? e.message : String(err));
}

/** Go's *PathError text: `open certs/node.crt: file exists`. */
export function pathErrorText(op: string, file: string, err: unknown): string {
  return `${op} ${file}: ${errnoText(err)}`;
}

export function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException)?.code === code;
}

export interface FileWrite {
  path: string;
  data: string | Uint8Array;
  mode: number;
  /** Fail with EEXIST instead of replacing an existing file (cockroach's O_EXCL without --overwrite). */
  exclusive: boolean;
  /** Go-style prefix for errors on this file, e.g. `error writing node server key to certs/node.key`. */
  describe?: string;
}

/** A failed write, carrying Go-style `<op> <path>: <errno>` text and which file it was. */
export class WriteError extends Error {
  readonly file: FileWrite;
  /** `op` names the system call, as Go's *PathError does: open (create/write), link, rename. */
  constructor(file: FileWrite, cause: unknown, op = 'open') {
    const text = pathErrorText(op, file.path, cause);
    super(file.describe ? `${file.describe}: ${text}` : text, { cause });
    this.name = 'WriteError';
    this.file = file;
  }
}

const STAGE_CONCURRENCY = 16;

/**
 * Runs `fn` over `items` with at most `limit` in flight, results in input order. On a failure it
 * stops starting new work, waits for what is in flight, and rejects with the failure of the
 * earliest item, so the error a user sees does not depend on timing.
 */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const state: { failed?: { index: number; err: unknown } } = {};
  const worker = async (): Promise<void> => {
    while (state.failed === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        // (Read through a cast: the loop condition narrowed `state.failed` to undefined, but
        // another worker may have set it during the await.)
        const seen = state.failed as { index: number } | undefined;
        if (seen === undefined || i < seen.index) state.failed = { index: i, err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (state.failed) throw state.failed.err;
  return results;
}

interface Staged {
  write: FileWrite;
  tmp: string;
}

/**
 * Removes what a killed writeFilesAtomic left in `dir`: staged temporaries and backup links
 * (copies of keys among them), for the given target names or, without `names`, for any. Only safe
 * while nobody else can be writing there: apply calls it under the certs-dir lock.
 */
export async function removeStaleTemps(dir: string, names?: ReadonlySet<string>): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const e of entries) {
    const target = stagedTarget(e.name);
    if (target === undefined || !e.isFile() || (names && !names.has(target))) continue;
    const p = path.join(dir, e.name);
    // Best effort: a leftover that cannot go (a read-only folder) must not fail the apply.
    if (await fs.rm(p, { force: true }).then(() => true, () => false)) removed.push(p);
  }
  return removed;
}

async function stage(write: FileWrite): Promise<Staged> {
  const dir = path.dirname(write.path);
  const tmp = path.join(dir, stagingName(path.basename(write.path), randomBytes(6).toString('hex')));
  let handle: fs.FileHandle | undefined;
  try {
    // O_EXCL on a fresh random name; the creation mode is at most `mode` whatever the umask,
    // and the chmod makes it exactly `mode` before any byte is written.
    handle = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, write.mode);
    await handle.chmod(write.mode);
    await handle.writeFile(write.data);
    await handle.sync();
  } catch (err) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw new WriteError(write, err);
  }
  await handle.close();
  return { write, tmp };
}

async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fs.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the renames are still atomic.
  }
}

/**
 * Writes a set of files as one unit: every file is first written and synced under a temporary
 * name, and only when all of them are complete are they moved into place. If anything fails,
 * files this call created are removed again and replaced files get their old contents back
 * (from a hard link taken before the swap), so a failed run leaves the folders as they were.
 */
export async function writeFilesAtomic(writes: FileWrite[]): Promise<void> {
  // Everything that can be checked is checked before the first byte is written.
  // Files found absent need no backup link below (callers hold the folder's lock: none appears).
  const absent = new Set<FileWrite>();
  for (const w of writes) {
    let st;
    try {
      st = await fs.lstat(w.path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        absent.add(w);
        continue;
      }
      throw new WriteError(w, err);
    }
    if (w.exclusive) throw new WriteError(w, Object.assign(new Error('exists'), { code: 'EEXIST' }));
    if (st.isDirectory()) throw new WriteError(w, Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
  }
  // Staging (write + fsync) runs a few files at a time: fsync latency, not bandwidth, is the cost.
  const staged: Staged[] = [];
  const results = await mapLimit(writes, STAGE_CONCURRENCY, async (w) => {
    const s = await stage(w);
    staged.push(s);
    return s;
  }).catch(async (err: unknown) => {
    await Promise.all(staged.map((s) => fs.rm(s.tmp, { force: true }).catch(() => {})));
    throw err;
  });
  staged.length = 0;
  staged.push(...results);
  // Every file about to be replaced gets a hard link under a spare name first, so that a failure
  // while publishing can put the old file back: the batch is all or nothing.
  const backups = new Map<Staged, string>();
  const cleanup = async (): Promise<void> => {
    await Promise.all([...staged.map((s) => s.tmp), ...backups.values()].map((p) => fs.rm(p, { force: true }).catch(() => {})));
  };
  try {
    for (const s of staged) {
      if (s.write.exclusive || absent.has(s.write)) continue;
      const backup = `${s.tmp}.old`;
      try {
        await fs.link(s.write.path, backup);
        backups.set(s, backup);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw new WriteError(s.write, err, 'link');
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  const published: Staged[] = [];
  try {
    for (const s of staged) {
      if (s.write.exclusive) {
        // link(2) fails with EEXIST rather than replacing: an atomic create-if-absent.
        await fs.link(s.tmp, s.write.path).catch((err) => {
          throw new WriteError(s.write, err, 'link');
        });
        await fs.rm(s.tmp, { force: true });
      } else {
        await fs.rename(s.tmp, s.write.path).catch((err) => {
          throw new WriteError(s.write, err, 'rename');
        });
      }
      published.push(s);
    }
  } catch (err) {
    // Undo in reverse: replaced files get their old inode back, new files go.
    for (const s of [...published].reverse()) {
      const backup = backups.get(s);
      if (backup !== undefined) await fs.rename(backup, s.write.path).catch(() => {});
      else await fs.rm(s.write.path, { force: true }).catch(() => {});
    }
    await cleanup();
    throw err;
  }
  // Every temporary is published by now (renamed, or linked and removed): only backups remain.
  await Promise.all([...backups.values()].map((p) => fs.rm(p, { force: true }).catch(() => {})));
  for (const dir of new Set(writes.map((w) => path.dirname(w.path)))) await syncDir(dir);
}
