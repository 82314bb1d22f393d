// Which manifest files certgen wrote for a spec: `<spec>.manifests.json` beside the spec (and the
// journal), so that a file the spec no longer produces (a client dropped from `clients:`, an
// object renamed, a layout or dir changed, an output removed) can be removed by apply, and only
// such a file: one certgen wrote, still holding the bytes it wrote. It lives beside the spec, not
// in an output folder, so it survives the folder's renaming, and travels with the spec in git (it
// holds paths and SHA-256 sums, never key material).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CertgenError } from '../errors.js';

export const MANIFEST_INDEX_VERSION = 1;

export interface ManifestIndexEntry {
  /** SHA-256 (hex) of the file as certgen last wrote it (or found it unchanged). */
  sha256: string;
  /** The outputs.kubernetes entry that wrote it, for messages. */
  output: number;
  kind: 'Secret' | 'ConfigMap';
  name: string;
  /** A client Secret: whose pair it holds. */
  user?: string;
}

export interface ManifestIndex {
  version: typeof MANIFEST_INDEX_VERSION;
  /** Keyed by path relative to the spec's folder, with `/`. */
  files: Record<string, ManifestIndexEntry>;
}

/** `cluster-certs.yaml` → `cluster-certs.manifests.json`, beside it (as the journal is). */
export function manifestIndexFile(specFile: string): string {
  const base = path.basename(specFile).replace(/\.(ya?ml|json)$/i, '');
  return path.join(path.dirname(specFile), `${base}.manifests.json`);
}

/** The index key of an absolute manifest path. */
export function indexKey(specFile: string, file: string): string {
  return path.relative(path.dirname(specFile), file).split(path.sep).join('/');
}

/** The absolute path of an index key. */
export function indexPath(specFile: string, key: string): string {
  return path.resolve(path.dirname(specFile), ...key.split('/'));
}

const KINDS = new Set(['Secret', 'ConfigMap']);

function valid(v: unknown): v is ManifestIndex {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  if (o['version'] !== MANIFEST_INDEX_VERSION || typeof o['files'] !== 'object' || o['files'] === null || Array.isArray(o['files'])) return false;
  return Object.entries(o['files'] as Record<string, unknown>).every(([k, e]) => {
    const x = e as Record<string, unknown> | null;
    return (
      k !== '' &&
      typeof x === 'object' &&
      x !== null &&
      typeof x['sha256'] === 'string' &&
      /^[0-9a-f]{64}$/.test(x['sha256']) &&
      typeof x['output'] === 'number' &&
      KINDS.has(String(x['kind'])) &&
      typeof x['name'] === 'string' &&
      (x['user'] === undefined || typeof x['user'] === 'string')
    );
  });
}

/** The index, with its bytes as read (undefined: there is none yet, an empty index). */
export async function readManifestIndex(specFile: string): Promise<{ index: ManifestIndex; text: string | undefined }> {
  const file = manifestIndexFile(specFile);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { index: { version: MANIFEST_INDEX_VERSION, files: {} }, text: undefined };
    throw new CertgenError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!valid(parsed)) {
    throw new CertgenError(`${path.relative(process.cwd(), file) || file} is not a certgen manifest index (version ${MANIFEST_INDEX_VERSION}): nothing was changed`, {
      hint: 'restore it from git (git checkout -- FILE); deleting it makes certgen forget which manifests it wrote, and it then removes none',
    });
  }
  return { index: parsed, text };
}

/** Stable bytes: keys sorted, so an unchanged index is byte-identical (no git diff). */
export function manifestIndexText(index: ManifestIndex): string {
  const files: Record<string, ManifestIndexEntry> = {};
  for (const k of Object.keys(index.files).sort()) {
    const e = index.files[k] as ManifestIndexEntry;
    files[k] = { sha256: e.sha256, output: e.output, kind: e.kind, name: e.name, ...(e.user !== undefined ? { user: e.user } : {}) };
  }
  return `${JSON.stringify({ version: MANIFEST_INDEX_VERSION, files }, null, 2)}\n`;
}
