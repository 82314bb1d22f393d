// Reads the generated tree and the CA key: the only reader behind `plan`, `apply` and `check`.
// Returns facts (bytes, modes, types) and never throws for what it finds; the pure diff decides.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CLIENTS_DIR, NODES_DIR, desiredArtifacts } from './layout.js';
import type { ClusterSpec } from '../spec/spec.js';
import { errnoText } from '../io/files.js';

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
}

export interface ActualTree {
  certsDirExists: boolean;
  /** Every entry found: top level, nodes/*, clients/* and the files inside those folders. */
  entries: Record<string, FileFact>;
  caKey: FileFact;
}

const MAX_READ = 1 << 20; // a certificate or key is a few KiB; anything huge is not ours

async function fact(abs: string, rel: string, readBytes: boolean): Promise<FileFact> {
  let st;
  try {
    st = await fs.lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { rel, type: 'missing', mode: 0, uid: 0, gid: 0 };
    return { rel, type: 'error', mode: 0, uid: 0, gid: 0, error: errnoText(err) };
  }
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  const f: FileFact = { rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
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
  const top = await fact(root, '', false);
  const caKey = await fact(spec.caKey, spec.caKey, true);
  if (top.type !== 'dir') return { certsDirExists: false, entries, caKey };

  const visit = async (rel: string, depth: number): Promise<void> => {
    const abs = rel === '' ? root : path.join(root, ...rel.split('/'));
    const names = await list(abs);
    if (!Array.isArray(names)) {
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
  await visit('', 0);
  return { certsDirExists: true, entries, caKey };
}
