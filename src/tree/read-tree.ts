// Reads the generated tree and the CA key: the only reader behind `plan`, `apply` and `check`.
// Returns facts (bytes, modes, types) and never throws for what it finds; the pure diff decides.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CLIENTS_DIR, NODES_DIR, desiredArtifacts } from './layout.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { errnoText } from '../io/files.js';
import { parseCertificate, type CertFacts } from '../pki/read/cert.js';
import { readPrivateKeyPem, type KeyFacts } from '../pki/read/key.js';
import { pemToCertificateBlocks } from '../pki/read/pem.js';

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
  /** Where a symlink points, as written in the link. */
  target?: string;
}

export interface ActualTree {
  /** Why the certs dir itself cannot be used (unreadable, not a folder); undefined when fine or absent. */
  rootError?: string;
  /** Every entry found: top level, nodes/*, clients/* and the files inside those folders. */
  entries: Record<string, FileFact>;
  caKey: FileFact;
  /**
   * Where the CA key really lies inside the tree (relative, with `/`), when symlinks put it there
   * even though the spec's path is outside: such a tree is refused, and never pruned.
   */
  caKeyInTree?: string;
}

const MAX_READ = 1 << 20; // a certificate or key is a few KiB; anything huge is not ours

async function fact(abs: string, rel: string, readBytes: boolean, follow = false): Promise<FileFact> {
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
    return { rel, type: 'error', mode: 0, uid: 0, gid: 0, error: errnoText(err) };
  }
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  const f: FileFact = { rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (type === 'symlink') f.target = await fs.readlink(abs).catch(() => undefined);
  if (readBytes && type === 'file') {
    if (st.size > MAX_READ) f.error = `file is ${st.size} bytes, too large for a certificate or key`;
    else {
      try {
        f.bytes = await fs.readFile(abs);
      } catch (err) {
        f.error = errnoText(err);
      }
    }
  }
  return f;
}

async function list(abs: string): Promise<string[] | { error: string }> {
  try {
    return (await fs.readdir(abs)).sort();
  } catch (err) {
    return { error: errnoText(err) };
  }
}

export async function readTree(spec: ClusterSpec): Promise<ActualTree> {
  const managed = new Set(desiredArtifacts(spec).flatMap((a) => a.files.map((f) => f.rel)));
  const entries: Record<string, FileFact> = {};
  const root = spec.certsDir;
  const top = await fact(root, '', false, true);
  const caKey = await fact(spec.caKey, spec.caKey, true, true);
  if (top.type === 'missing') return { entries, caKey };
  if (top.type !== 'dir') return { rootError: top.type === 'error' ? (top.error ?? 'cannot be read') : `is a ${top.type}, not a folder`, entries, caKey };
  const caKeyInTree = await realRelative(spec.caKey, root);

  const visit = async (rel: string, depth: number): Promise<void> => {
    const abs = rel === '' ? root : path.join(root, ...rel.split('/'));
    const names = await list(abs);
    if (!Array.isArray(names)) {
      if (rel === '') throw new RootUnreadable(names.error);
      entries[rel] = { ...(entries[rel] ?? { rel, type: 'dir', mode: 0, uid: 0, gid: 0 }), type: 'error', error: names.error };
      return;
    }
    // Every entry of a folder at once: a 1,000-node tree is thousands of stats and reads.
    const facts = await Promise.all(names.map((name) => {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      return fact(path.join(abs, name), childRel, managed.has(childRel));
    }));
    const subdirs: Promise<void>[] = [];
    for (const f of facts) {
      entries[f.rel] = f;
      const name = f.rel.slice(f.rel.lastIndexOf('/') + 1);
      // Only the tree's own shape is walked: nodes/<name>/ and clients/<user>/.
      const walkInto = f.type === 'dir' && ((depth === 0 && (name === NODES_DIR || name === CLIENTS_DIR)) || depth === 1);
      if (walkInto) subdirs.push(visit(f.rel, depth + 1));
    }
    await Promise.all(subdirs);
  };
  try {
    await visit('', 0);
  } catch (err) {
    if (err instanceof RootUnreadable) return { rootError: err.message, entries: {}, caKey };
    throw err;
  }
  return { entries, caKey, ...(caKeyInTree !== undefined ? { caKeyInTree } : {}) };
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
 * certificate's position) for the first one Go refuses, or when the file holds none.
 */
export function certsOf(f: FileFact): CertFacts[] {
  if (f.type !== 'file') throw new Error(f.type === 'missing' ? 'missing' : `is a ${f.type}, not a regular file`);
  if (f.error || !f.bytes) throw new Error(f.error ?? 'could not be read');
  const blocks = pemToCertificateBlocks(f.bytes);
  if (blocks.length === 0) throw new Error('no certificates found');
  return blocks.map((der, i) => {
    try {
      return parseCertificate(der);
    } catch (err) {
      // Go's own words: what a CockroachDB node would say about this file.
      throw new Error(`certificate ${i}: ${(err as Error).message}`);
    }
  });
}

/** The private key a regular file holds (PEM). Throws with the reason it cannot be used. */
export function keyOf(f: FileFact): KeyFacts {
  if (f.type !== 'file') throw new Error(f.type === 'missing' ? 'missing' : `is a ${f.type}, not a regular file`);
  if (f.error || !f.bytes) throw new Error(f.error ?? 'could not be read');
  return readPrivateKeyPem(f.bytes);
}
