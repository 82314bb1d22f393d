// Where the readers of a certs folder get their files from: the disk, or a tree already read
// (src/tree/tree-source.ts), so that `report` and `check` look at each file once. The operations
// are the few a CockroachDB certs-dir scan needs, with the disk's errors (errno codes) either way.
import { close, constants, fstat, open, promises as fs, readFile as readFileCallback } from 'node:fs';

/** What a folder listing says of an entry (a subset of node's Dirent). */
export interface DirEntry {
  name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** What a stat says (links followed). */
export interface EntryStat {
  isFile(): boolean;
  isDirectory(): boolean;
  mode: number;
  uid: number;
  gid: number;
}

export interface FileSource {
  /** A folder's entries, with their types (links not followed). */
  readdir(dir: string): Promise<DirEntry[]>;
  /** Links followed. */
  stat(file: string): Promise<EntryStat>;
  /** A regular file's contents, links followed; anything else fails (code ENOTREG). */
  readFile(file: string): Promise<Buffer>;
  /** Fails when the file cannot be opened for reading. */
  access(file: string): Promise<void>;
}

/**
 * fs.readFile, in its callback form: for many small files it costs half of what fs.promises' does.
 * Only a regular file is read: a FIFO in a certs dir would block the read (and the command) for
 * good, a link to /dev/zero never end. Opened non-blocking, so that opening a FIFO does not wait
 * for a writer; that changes nothing for a regular file.
 */
export function readFileQuick(file: string): Promise<Buffer>;
export function readFileQuick(file: string, encoding: BufferEncoding): Promise<string>;
export function readFileQuick(file: string, encoding?: BufferEncoding): Promise<Buffer | string> {
  return new Promise((resolve, reject) => {
    open(file, constants.O_RDONLY | constants.O_NONBLOCK, (openErr, fd) => {
      if (openErr) return reject(openErr);
      const done = (err: unknown, data?: Buffer): void => close(fd, () => (err || data === undefined ? reject(err) : resolve(encoding ? data.toString(encoding) : data)));
      fstat(fd, (statErr, st) => {
        if (statErr) return done(statErr);
        if (!st.isFile()) return done(notRegular(file));
        readFileCallback(fd, done);
      });
    });
  });
}

/** The error for reading something that is not a regular file. */
export function notRegular(file: string): NodeJS.ErrnoException {
  return Object.assign(new Error('not a regular file'), { code: 'ENOTREG', path: file });
}

/** The disk itself. */
export const diskSource: FileSource = {
  readdir: (dir) => fs.readdir(dir, { withFileTypes: true }),
  stat: (file) => fs.stat(file),
  readFile: (file) => readFileQuick(file),
  access: (file) => fs.access(file, fs.constants.R_OK),
};
