// Reads the generated tree and the CA key: the only reader behind `plan`, `apply`, `report` and
// `check`. Returns facts (bytes, modes, types) and never throws for what it finds; the pure diff
// decides. `report` and `check` ask for everything (every file's contents, links followed, the
// folders beside nodes/ and clients/) and then look at nothing else (tree-source.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AGE_INDEX, GITIGNORE, KEY_MODE, LEAF_PARENTS, desiredArtifacts, encryptedKeys, isEncryptedCAKey } from './layout.js';
import { openCAKey, restoreEncryptedKeys, type LockedKey, type SealedCAKey } from './age-facts.js';
import { readFileQuick } from '../io/file-source.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { errnoText } from '../io/files.js';
import type { CertFacts } from '../pki/read/cert.js';
import type { KeyFacts } from '../pki/read/key.js';
import { CertFileError, readCertificateFile, readKeyFile } from '../pki/read/file.js';
import { readTreeGit, type TreeGit } from './git-facts.js';

export interface FileFact {
  /** Relative to the certs dir with `/` (the CA key: its absolute path). */
  rel: string;
  type: 'file' | 'dir' | 'symlink' | 'other' | 'missing' | 'error';
  mode: number;
  uid: number;
  gid: number;
  /** Contents of managed regular files only. */
  bytes?: Buffer;
  /** Why it could not be read (type 'error', or a file whose contents failed to load). */
  error?: string;
  /** The errno code behind `error`, when there is one (`EACCES`). */
  code?: string;
  /** Where a symlink points, as written in the link. */
  target?: string;
  /**
   * A symlink's target as stat sees it (read with `everything`; `bytes` are then the target's
   * when it is a regular file).
   */
  followed?: Pick<FileFact, 'type' | 'mode' | 'uid' | 'gid' | 'error' | 'code'>;
  /** A key that is not on disk but was decrypted from this `.age` file (read with an age identity). */
  restoredFrom?: string;
  /**
   * The CA key when caKey is an `.age` file: the file's own bytes. `bytes` then holds the key
   * decrypted in memory, or nothing when it could not be (`sealed` says why).
   */
  armored?: Buffer;
  sealed?: SealedCAKey;
}

/** A folder's entry names, or why it could not be listed. */
export type Listing = string[] | { error: string; code?: string };

export interface ActualTree {
  /** Why the certs dir itself cannot be used (unreadable, not a folder); undefined when fine or absent. */
  rootError?: string;
  /** Every entry found: top level, nodes/*, clients/* and the files inside those folders. */
  entries: Record<string, FileFact>;
  caKey: FileFact;
  /** The split client CA's key (spec `clientCa.key`), read like the CA key; absent without one. */
  clientCaKey?: FileFact;
  /** The files the spec has copied in (nodes' `ui:` files), by absolute path, links followed. */
  provided?: Record<string, FileFact>;
  /**
   * Where the CA key really lies inside the tree (relative, with `/`), when symlinks put it there
   * even though the spec's path is outside: such a tree is refused, and never pruned.
   */
  caKeyInTree?: string;
  /** The certs dir itself (links followed). */
  root?: FileFact;
  /** Every folder listed, by path ('' is the certs dir). */
  folders?: Record<string, Listing>;
  /**
   * With `everything`: the entries of the other folders at the top (not nodes/ or clients/), one
   * level down. Kept apart: they are not the tree's shape, and the diff never looks at them.
   */
  beyond?: Record<string, FileFact>;
  /** Where the certs dir stands with git (absent: not asked, as for a tree built in a test). */
  git?: TreeGit;
  /** Encrypted keys that exist only as `.age` files and could not be restored (no identity, or why). */
  lockedKeys?: LockedKey[];
}

export interface ReadTreeOptions {
  /**
   * Read every regular file (not only those the spec names), follow links, and list the other
   * folders at the top: what `report` shows.
   */
  everything?: boolean;
  /** age identities (`AGE-SECRET-KEY-1…`) to restore keys that exist only as `<key>.age`. */
  identities?: readonly string[];
}

const MAX_READ = 1 << 20; // a certificate or key is a few KiB; anything huge is not ours

async function fact(abs: string, rel: string, readBytes: boolean, follow = false, intern?: Interner): Promise<FileFact> {
  let st;
  try {
    // Entries inside the tree are taken as they are (a symlinked key is suspicious); the tree's
    // root and the CA key may be symlinks an operator made on purpose.
    st = follow ? await fs.stat(abs) : await fs.lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // A followed path that is missing may be a dangling link: creating "it" would write elsewhere.
      const target = follow ? await fs.readlink(abs).catch(() => undefined) : undefined;
      return target === undefined ? { rel, type: 'missing', mode: 0, uid: 0, gid: 0 } : { rel, type: 'symlink', mode: 0, uid: 0, gid: 0, target };
    }
    return { rel, type: 'error', mode: 0, uid: 0, gid: 0, ...failure(err) };
  }
  const type = typeOf(st);
  const f: FileFact = { rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (type === 'symlink') {
    f.target = await fs.readlink(abs).catch(() => undefined);
    if (intern) {
      // What a certs-dir reader (cockroach's among them) sees through the link.
      try {
        const to = await fs.stat(abs);
        f.followed = { type: typeOf(to), mode: to.mode & 0o7777, uid: to.uid, gid: to.gid };
        if (readBytes && to.isFile()) await readInto(f, abs, to.size, intern);
      } catch (err) {
        f.followed = { type: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'error', mode: 0, uid: 0, gid: 0, ...failure(err) };
      }
    }
  }
  if (readBytes && type === 'file') await readInto(f, abs, st.size, intern);
  return f;
}

function typeOf(st: import('node:fs').Stats): FileFact['type'] {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

function failure(err: unknown): { error: string; code?: string } {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? { error: errnoText(err), code } : { error: errnoText(err) };
}

/** One Buffer per distinct content: identical files are then parsed once (pki/read/file.ts). */
type Interner = (bytes: Buffer) => Buffer;

function interner(): Interner {
  const seen = new Map<string, Buffer>();
  return (bytes) => {
    const key = bytes.toString('latin1');
    const known = seen.get(key);
    if (known) return known;
    seen.set(key, bytes);
    return bytes;
  };
}

async function readInto(f: FileFact, abs: string, size: number, intern: Interner | undefined): Promise<void> {
  if (size > MAX_READ) {
    f.error = `file is ${size} bytes, too large for a certificate or key`;
    return;
  }
  try {
    const bytes = await readFileQuick(abs);
    f.bytes = intern ? intern(bytes) : bytes;
  } catch (err) {
    Object.assign(f, failure(err));
  }
}

async function list(abs: string): Promise<string[] | { error: string; code?: string }> {
  try {
    return (await fs.readdir(abs)).sort();
  } catch (err) {
    return failure(err);
  }
}

export async function readTree(spec: ClusterSpec, opts: ReadTreeOptions = {}): Promise<ActualTree> {
  const everything = opts.everything ?? false;
  // The .gitignore's lines are planned too (plan/gitignore.ts), so its bytes are read.
  const managed = new Set([...desiredArtifacts(spec).flatMap((a) => a.files.map((f) => f.rel)), GITIGNORE, AGE_INDEX, ...encryptedKeys(spec).map((k) => k.age)]);
  const gitFacts = readTreeGit(spec);
  const intern = everything ? interner() : undefined;
  const entries: Record<string, FileFact> = {};
  const folders: Record<string, Listing> = {};
  const beyond: Record<string, FileFact> = {};
  const root = spec.certsDir;
  const top = await fact(root, '', false, true);
  const caKey = await fact(spec.caKey, spec.caKey, true, true);
  if (isEncryptedCAKey(spec.caKey) && caKey.type === 'file' && caKey.bytes) {
    // Decrypted here, once, for whoever reads the tree; the plaintext stays in memory.
    caKey.armored = caKey.bytes;
    const opened = await openCAKey(caKey.armored, opts.identities, spec.caKey);
    if ('plaintext' in opened) caKey.bytes = opened.plaintext;
    else {
      delete caKey.bytes;
      caKey.sealed = opened.sealed;
    }
  }
  const clientKey = spec.clientCa ? { clientCaKey: await fact(spec.clientCa.key, spec.clientCa.key, true, true) } : {};
  const sources = [...new Set(spec.nodes.flatMap((n) => (n.ui ? [n.ui.cert, n.ui.key, ...(n.ui.ca ? [n.ui.ca] : [])] : [])))];
  const provided = sources.length > 0 ? Object.fromEntries(await Promise.all(sources.map(async (abs) => [abs, await fact(abs, abs, true, true)] as const))) : undefined;
  const got = { ...(provided ? { provided } : {}), ...clientKey };
  if (top.type === 'missing') return { entries, caKey, root: top, folders, git: await gitFacts, ...got };
  if (top.type !== 'dir') return { rootError: top.type === 'error' ? (top.error ?? 'cannot be read') : `is ${typeText(top.type)}, not a folder`, entries, caKey, root: top, folders, git: await gitFacts, ...got };
  const caKeyInTree = await realRelative(spec.caKey, root);

  const visit = async (rel: string, depth: number, into: Record<string, FileFact>): Promise<void> => {
    const abs = rel === '' ? root : path.join(root, ...rel.split('/'));
    const names = await list(abs);
    folders[rel] = names;
    if (!Array.isArray(names)) {
      if (rel === '') throw new RootUnreadable(names.error);
      const dir = entries[rel] ?? beyond[rel];
      into[rel] = { ...(dir ?? { rel, type: 'dir', mode: 0, uid: 0, gid: 0 }), type: 'error', error: names.error, ...(names.code ? { code: names.code } : {}) };
      return;
    }
    // Every entry of a folder at once: a 1,000-node tree is thousands of stats and reads.
    const facts = await Promise.all(names.map((name) => {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      return fact(path.join(abs, name), childRel, everything || managed.has(childRel), false, intern);
    }));
    const subdirs: Promise<void>[] = [];
    for (const f of facts) {
      into[f.rel] = f;
      const name = f.rel.slice(f.rel.lastIndexOf('/') + 1);
      if (f.type !== 'dir') continue;
      // Only the tree's own shape is walked: nodes/<name>/, clients/<user>/, tenants/<id>/ (and,
      // for a report, one level of any other folder at the top, kept apart).
      const own = depth === 0 && LEAF_PARENTS.some(([top]) => top === name);
      if (own || (depth === 1 && into === entries)) subdirs.push(visit(f.rel, depth + 1, entries));
      else if (everything && depth === 0) subdirs.push(visit(f.rel, depth + 1, beyond));
    }
    await Promise.all(subdirs);
  };
  try {
    await visit('', 0, entries);
  } catch (err) {
    if (err instanceof RootUnreadable) return { rootError: err.message, entries: {}, caKey, root: top, folders, git: await gitFacts, ...got };
    throw err;
  }
  const { restored, locked: lockedKeys } = await restoreEncryptedKeys(spec, entries, opts.identities);
  // A restored key stands where it will be written: 0600, owned like its .age file.
  for (const r of restored) entries[r.key] = { rel: r.key, type: 'file', mode: KEY_MODE, uid: entries[r.age]?.uid ?? 0, gid: entries[r.age]?.gid ?? 0, bytes: r.bytes, restoredFrom: r.age };
  return { entries, caKey, root: top, folders, git: await gitFacts, ...got, ...(lockedKeys.length > 0 ? { lockedKeys } : {}), ...(everything ? { beyond } : {}), ...(caKeyInTree !== undefined ? { caKeyInTree } : {}) };
}

class RootUnreadable extends Error {}

/** `file`'s real location relative to `root`'s, when it is inside it. */
async function realRelative(file: string, root: string): Promise<string | undefined> {
  let realRoot: string;
  let realFile: string;
  try {
    realRoot = await fs.realpath(root);
    realFile = path.join(await fs.realpath(path.dirname(file)), path.basename(file));
    realFile = await fs.realpath(realFile).catch(() => realFile);
  } catch {
    return undefined;
  }
  const rel = path.relative(realRoot, realFile);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return rel === '' ? '' : undefined;
  return rel.split(path.sep).join('/');
}

/**
 * The certificates of a regular file's contents, as Go reads them. Throws with Go's words (and the
 * certificate's position) for the first one Go refuses, or when the file holds none. Parsed once
 * per distinct content (pki/read/file.ts).
 */
export function certsOf(f: FileFact): CertFacts[] {
  const bytes = contentsOf(f);
  try {
    return readCertificateFile(bytes);
  } catch (err) {
    if (err instanceof CertFileError && err.problem.kind === 'empty') throw new Error('no certificates found');
    throw err;
  }
}

/** The private key a regular file holds (PEM). Throws with the reason it cannot be used. */
export function keyOf(f: FileFact): KeyFacts {
  return readKeyFile(contentsOf(f));
}

/** What a fact's type is, in words for a message ("a folder", "a special file (socket, FIFO or device)"). */
export function typeText(type: FileFact['type']): string {
  switch (type) {
    case 'file':
      return 'a file';
    case 'dir':
      return 'a folder';
    case 'symlink':
      return 'a symlink';
    case 'other':
      return 'a special file (socket, FIFO or device)';
    case 'missing':
      return 'missing';
    case 'error':
      return 'unreadable';
  }
}

function contentsOf(f: FileFact): Buffer {
  if (f.type !== 'file') throw new Error(f.type === 'missing' ? 'missing' : `is ${typeText(f.type)}, not a regular file`);
  if (f.error || !f.bytes) throw new Error(f.error ?? 'could not be read');
  return f.bytes;
}
