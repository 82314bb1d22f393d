// A tree already read, as a FileSource: the certs-dir scans of `report` and `check` look at the
// facts readTree gathered instead of the disk, so each file is opened once per command. A path the
// reader did not look at (deeper than the tree's shape) goes to the disk, as it would have.
import path from 'node:path';
import { diskSource, notRegular, type DirEntry, type EntryStat, type FileSource } from '../io/file-source.js';
import type { ActualTree, FileFact, Listing } from './read-tree.js';

type Fact = Pick<FileFact, 'type' | 'mode' | 'uid' | 'gid' | 'error' | 'code'>;

function errnoError(message: string, code: string | undefined, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), code ? { code, path: file } : { path: file });
}

const enoent = (file: string): NodeJS.ErrnoException => errnoError('no such file or directory', 'ENOENT', file);

function statOf(f: Fact): EntryStat {
  return { isFile: () => f.type === 'file', isDirectory: () => f.type === 'dir', mode: f.mode, uid: f.uid, gid: f.gid };
}

export function treeSource(tree: ActualTree, certsDir: string): FileSource {
  const root = path.resolve(certsDir);
  const folders: Record<string, Listing> = tree.folders ?? {};
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  const relOf = (p: string): string | undefined => {
    // The scans ask about paths they joined under the root: those need no path.relative (which
    // resolves both sides, cwd included: 0.1 s of a 1,000-node report).
    if (path.sep === '/' && p.startsWith(prefix)) {
      const tail = p.slice(prefix.length);
      if (tail !== '' && !/(^|\/)\.\.?(\/|$)|\/\/|\/$/.test(tail)) return tail;
    }
    const rel = path.relative(root, path.resolve(p));
    if (rel === '') return '';
    if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
    return rel.split(path.sep).join('/');
  };
  const factAt = (rel: string): FileFact | undefined => tree.entries[rel] ?? tree.beyond?.[rel];
  /** The fact at p, 'missing' when its folder was listed without it, undefined when never looked at. */
  const lookup = (p: string): FileFact | 'missing' | undefined => {
    const rel = relOf(p);
    if (rel === undefined || rel === '') return undefined;
    const f = factAt(rel);
    if (f) return f;
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    return Array.isArray(folders[parent]) ? 'missing' : undefined;
  };
  /** A fact with links followed (a link that was not followed: undefined). */
  const resolved = (f: FileFact): Fact | undefined => (f.type === 'symlink' ? f.followed : f);

  return {
    async readdir(dir) {
      const rel = relOf(dir);
      const listing = rel === undefined ? undefined : folders[rel];
      if (listing === undefined) {
        const f = lookup(dir);
        if (f === 'missing') throw enoent(dir);
        const r = f && resolved(f);
        if (r && r.type !== 'dir') throw errnoError('not a directory', 'ENOTDIR', dir);
        return diskSource.readdir(dir);
      }
      if (!Array.isArray(listing)) throw errnoError(listing.error, listing.code, dir);
      return listing.map((name): DirEntry => {
        const childRel = rel === '' ? name : `${rel}/${name}`;
        const f = factAt(childRel);
        // A folder that could not be listed is still a folder (its fact says 'error').
        const dir = f?.type === 'dir' || folders[childRel] !== undefined;
        return { name, isFile: () => f?.type === 'file', isDirectory: () => dir, isSymbolicLink: () => f?.type === 'symlink' };
      });
    },
    async stat(file) {
      const f = lookup(file);
      if (f === 'missing') throw enoent(file);
      const r = f && resolved(f);
      if (!f || !r) return diskSource.stat(file);
      if (r.type === 'missing') throw enoent(file);
      if (r.type === 'error') throw errnoError(r.error ?? 'cannot be read', r.code, file);
      return statOf(r);
    },
    async readFile(file) {
      const f = lookup(file);
      if (f === 'missing') throw enoent(file);
      const r = f && resolved(f);
      if (!f || !r) return diskSource.readFile(file);
      if (r.type === 'missing') throw enoent(file);
      if (r.type === 'error') throw errnoError(r.error ?? 'cannot be read', r.code, file);
      if (r.type !== 'file') throw notRegular(file);
      if (f.error !== undefined) throw errnoError(f.error, f.code, file);
      if (!f.bytes) return diskSource.readFile(file);
      return f.bytes;
    },
    async access(file) {
      const f = lookup(file);
      if (f === 'missing') throw enoent(file);
      if (!f || !resolved(f)) return diskSource.access(file);
      // Opening for reading is what failed, when anything did.
      if (f.code === 'EACCES' || f.code === 'EPERM') throw errnoError(f.error ?? 'permission denied', f.code, file);
    },
  };
}
