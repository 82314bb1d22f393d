// outputs.kubernetes carried out: the manifests built from the tree, each compared with what is on
// disk and rewritten only when it changed (byte for byte in plaintext; for SOPS, by the
// unencrypted annotations and names, since ciphertext is random), in one atomic batch. Plaintext
// Secrets are written only where git ignores them; stdout is the one other place keys may go.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { manifestFileName } from '../core/kubernetes.js';
import { CA_CERT, NODE_CERT, NODE_KEY, clientCertName, clientKeyName } from '../core/cert-names.js';
import type { ClusterSpec, KubernetesOutputSpec } from '../cluster-spec/spec.js';
import type { Plan } from '../plan/types.js';
import { CertgenError } from '../errors.js';
import { removeStaleTemps, writeFilesAtomic, type FileWrite } from '../io/files.js';
import { gitPathStates } from '../io/git.js';
import { clientDir, nodeDir } from '../tree/layout.js';
import { MANAGED_BY_LABEL, buildManifests, type Manifest, type PairFiles } from './manifests.js';
import { MANIFEST_INDEX_VERSION, indexKey, indexPath, manifestIndexFile, manifestIndexText, readManifestIndex, type ManifestIndex, type ManifestIndexEntry } from './manifest-index.js';
import { YAML_OPTIONS, sopsEncryptYaml, sopsUpToDate } from './sops.js';

/** What happened to one manifest file. */
export interface K8sFileResult {
  /** outputs.kubernetes index. */
  output: number;
  /** Absolute path. */
  file: string;
  kind: 'Secret' | 'ConfigMap';
  name: string;
  /**
   * `removed`: a file certgen wrote earlier that the spec no longer produces; `kept`: such a file,
   * left in place because it changed since certgen wrote it (not certgen's any more to delete).
   */
  action: 'written' | 'unchanged' | 'removed' | 'kept';
  encrypted: boolean;
  /** SHA-256 (hex) of the file before (null: there was none) and after (null: removed), for the journal. */
  before: string | null;
  after: string | null;
  mode: number;
  /** removed / kept: why the spec no longer produces it. */
  reason?: string;
}

export interface K8sRenderOptions {
  now?: Date;
  /** Re-encrypt SOPS files even when their content is unchanged (new data key, new IVs). */
  reencrypt?: boolean;
  /**
   * Only these outputs.kubernetes entries (`render k8s --output N`): the others' files are
   * neither written nor pruned. Without it every output is written and stale files are removed.
   */
  only?: readonly number[];
}

/** A plaintext Secret would be written where git could commit it: nothing is written. */
export class PlaintextSecretRefused extends CertgenError {
  constructor(message: string, hint: string) {
    super(message, { hint });
    this.name = 'PlaintextSecretRefused';
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const label = (out: KubernetesOutputSpec): string => `outputs.kubernetes[${out.index}]`;

async function readTreeFile(spec: ClusterSpec, rel: string): Promise<Buffer> {
  try {
    return await fs.readFile(path.join(spec.certsDir, ...rel.split('/')));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const shown = path.relative(process.cwd(), path.join(spec.certsDir, ...rel.split('/'))) || rel;
    throw new CertgenError(`${shown} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`}: the Kubernetes manifests are made from the certs dir`, { cause: err, hint: 'run certgen apply (it writes the certificates, then the manifests)' });
  }
}

async function pairOf(spec: ClusterSpec, dir: string, cert: string, key: string): Promise<PairFiles> {
  const [bundle, c, k] = await Promise.all([readTreeFile(spec, `${dir}/${CA_CERT}`), readTreeFile(spec, `${dir}/${cert}`), readTreeFile(spec, `${dir}/${key}`)]);
  return { dir, bundle, cert: c, key: k };
}

/** The manifests of one output, from the files of the tree. */
export async function manifestsOf(spec: ClusterSpec, out: KubernetesOutputSpec): Promise<Manifest[]> {
  const node = await pairOf(spec, nodeDir(out.nodeSet), NODE_CERT, NODE_KEY);
  const clients = await Promise.all(out.clients.map(async (c) => ({ ...c, files: await pairOf(spec, clientDir(c.user), clientCertName(c.user), clientKeyName(c.user)) })));
  return buildManifests(out, node, clients);
}

/** One YAML document; the same bytes for the same object. */
export function manifestYaml(m: Manifest): string {
  return stringify(m.object, YAML_OPTIONS);
}

/** The outputs' manifests as one plaintext YAML stream, for `kubectl apply -f -`. */
export async function kubernetesManifestStream(spec: ClusterSpec, outputs: readonly KubernetesOutputSpec[]): Promise<string> {
  const docs: string[] = [];
  for (const out of outputs) for (const m of await manifestsOf(spec, out)) docs.push(manifestYaml(m));
  return docs.map((d) => `---\n${d}`).join('');
}

/**
 * Checks, before anything is written, that every plaintext Secret of the spec's outputs goes where
 * git ignores it (outside any git work tree is fine too: nothing can commit it there).
 * @throws {@link PlaintextSecretRefused}, or GitError when git is missing or the repository broken.
 */
export async function checkPlaintextOutputs(spec: ClusterSpec, outputs: readonly KubernetesOutputSpec[] = spec.outputs?.kubernetes ?? []): Promise<void> {
  const plain = outputs.filter((o) => o.dir !== undefined && o.sops === undefined);
  if (plain.length === 0) return;
  const files: { out: KubernetesOutputSpec; file: string }[] = [];
  for (const out of plain) {
    for (const name of [out.names.node, ...out.clients.map((c) => c.name)]) files.push({ out, file: path.join(out.dir ?? '', manifestFileName('Secret', name)) });
  }
  const states = await gitPathStates(files.map((f) => f.file));
  files.forEach((f, i) => {
    const state = states[i];
    if (state === 'ignored' || state === 'no-repo') return;
    const shown = path.relative(process.cwd(), f.file) || f.file;
    throw new PlaintextSecretRefused(
      `${label(f.out)}: refusing to write the plaintext Secret ${shown}: git ${state === 'tracked' ? 'tracks it' : 'does not ignore it'}, so its private key could be committed; nothing was written`,
      state === 'tracked' ? `encrypt the output (sops: { age: [age1…] }), or untrack the file (git rm --cached ${shown}) and ignore it` : `encrypt the output (sops: { age: [age1…] }), or add its folder to .gitignore (${path.relative(process.cwd(), f.out.dir ?? '') || '.'}/)`,
    );
  });
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CertgenError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** One manifest file of an output, compared with what is on disk. */
interface Compared {
  out: KubernetesOutputSpec;
  manifest: Manifest;
  file: string;
  existing: string | undefined;
  encrypted: boolean;
  /** Plaintext text, already known to differ; or `'encrypt'` for a SOPS file to (re)write; undefined: unchanged. */
  write: string | 'encrypt' | undefined;
}

async function compareOutput(spec: ClusterSpec, out: KubernetesOutputSpec, reencrypt: boolean): Promise<Compared[]> {
  const compared: Compared[] = [];
  for (const m of await manifestsOf(spec, out)) {
    const file = path.join(out.dir ?? '', m.file);
    const existing = await readIfExists(file);
    const encrypted = out.sops !== undefined && m.secret;
    let write: Compared['write'];
    if (encrypted) {
      if (reencrypt || existing === undefined || !sopsUpToDate(existing, m.object as never, out.sops?.age ?? [])) write = 'encrypt';
    } else {
      const text = manifestYaml(m);
      // A plaintext Secret someone opened up (chmod 644) is written again, 0600.
      const opened = m.secret && existing !== undefined && ((await fs.stat(file)).mode & 0o077) !== 0;
      if (existing !== text || opened) write = text;
    }
    compared.push({ out, manifest: m, file, existing, encrypted, write });
  }
  return compared;
}

/** A file certgen wrote before (per the index) that the spec no longer produces. */
interface Stale {
  key: string;
  file: string;
  entry: ManifestIndexEntry;
  /** remove: still the bytes certgen wrote; kept: changed since, or not a certgen manifest any more; gone: already absent. */
  state: 'remove' | 'kept' | 'gone';
  reason: string;
}

/** Why the spec no longer produces `file`, in its terms. */
function staleReason(spec: ClusterSpec, file: string, entry: ManifestIndexEntry): string {
  const here = (spec.outputs?.kubernetes ?? []).filter((o) => o.dir === path.dirname(file));
  const dir = path.relative(spec.baseDir, path.dirname(file)).split(path.sep).join('/') || '.';
  if (here.length === 0) return `no entry of outputs.kubernetes writes to ${dir} any more`;
  const at = here.map((o) => `outputs.kubernetes[${o.index}]`).join(', ');
  if (entry.user !== undefined && !here.some((o) => o.clients.some((c) => c.user === entry.user))) return `user ${entry.user} is no longer a client of ${at}`;
  return `${at} no longer writes ${entry.kind} ${entry.name} (renamed, or the layout changed)`;
}

/**
 * Whether `text` is still what certgen wrote as `entry`: the recorded SHA-256, and a manifest
 * labelled as certgen's with that kind and name. Anything else is left alone.
 */
function stillOurs(text: string, entry: ManifestIndexEntry): boolean {
  if (sha256(text) !== entry.sha256) return false;
  try {
    const doc = parse(text) as { kind?: unknown; metadata?: { name?: unknown; labels?: Record<string, unknown> } } | null;
    return doc?.kind === entry.kind && doc.metadata?.name === entry.name && doc.metadata.labels?.['app.kubernetes.io/managed-by'] === MANAGED_BY_LABEL['app.kubernetes.io/managed-by'];
  } catch {
    return false;
  }
}

/** The index's files that `desired` (absolute paths) no longer holds, each with what apply does to it. */
async function staleFiles(spec: ClusterSpec, index: ManifestIndex, desired: ReadonlySet<string>): Promise<Stale[]> {
  const out: Stale[] = [];
  for (const [key, entry] of Object.entries(index.files)) {
    const file = indexPath(spec.file, key);
    if (desired.has(file)) continue;
    const reason = staleReason(spec, file, entry);
    let st;
    try {
      st = await fs.lstat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        out.push({ key, file, entry, state: 'gone', reason });
        continue;
      }
      throw new CertgenError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    const ours = st.isFile() && stillOurs(await fs.readFile(file, 'utf8'), entry);
    out.push({ key, file, entry, state: ours ? 'remove' : 'kept', reason: ours ? reason : `${reason}; changed since certgen wrote it, so left in place (delete it by hand)` });
  }
  return out;
}

/**
 * Writes every output that has a `dir`: the changed files only, all in one atomic batch with the
 * manifest index; then removes the files certgen wrote before that the spec no longer produces.
 * Plaintext Secrets are 0600 in a 0700 folder; SOPS files and ConfigMaps, meant for git, 0644.
 *
 * Removal is resumable: the batch records the files about to be removed in the index (beside the
 * new ones), they are unlinked, then the index drops them. A run killed in between leaves them
 * listed, so the next apply removes them (or finds them gone) and converges.
 */
export async function writeKubernetesOutputs(spec: ClusterSpec, opts: K8sRenderOptions = {}): Promise<K8sFileResult[]> {
  const outputs = (spec.outputs?.kubernetes ?? []).filter((o) => o.dir !== undefined && (opts.only === undefined || opts.only.includes(o.index)));
  const indexFile = manifestIndexFile(spec.file);
  const { index, text: indexBefore } = await readManifestIndex(spec.file);
  if (outputs.length === 0 && indexBefore === undefined) return [];
  await checkPlaintextOutputs(spec, outputs);
  // A killed earlier write left staged copies (a plaintext Secret's among them) under temporary names.
  for (const dir of new Set([...outputs.map((o) => o.dir ?? ''), ...Object.keys(index.files).map((k) => path.dirname(indexPath(spec.file, k)))])) await removeStaleTemps(dir);
  await removeStaleTemps(path.dirname(indexFile), new Set([path.basename(indexFile)]));
  const now = opts.now ?? new Date();
  const results: K8sFileResult[] = [];
  const writes: FileWrite[] = [];
  const dirs = new Map<string, number>();
  const prune = opts.only === undefined;
  const next: ManifestIndex = { version: MANIFEST_INDEX_VERSION, files: prune ? {} : { ...index.files } };
  for (const out of outputs) {
    for (const c of await compareOutput(spec, out, opts.reencrypt ?? false)) {
      const data = c.write === 'encrypt' ? await sopsEncryptYaml(c.manifest.object as never, out.sops?.age ?? [], now) : c.write;
      const plaintextSecret = c.manifest.secret && !c.encrypted;
      const mode = plaintextSecret ? 0o600 : 0o644;
      const dir = path.dirname(c.file);
      if (data !== undefined) writes.push({ path: c.file, data, mode, exclusive: false });
      if (plaintextSecret || !dirs.has(dir)) dirs.set(dir, plaintextSecret ? 0o700 : (dirs.get(dir) ?? 0o755));
      const before = c.existing === undefined ? null : sha256(c.existing);
      const after = data === undefined ? (before ?? '') : sha256(data);
      results.push({ output: out.index, file: c.file, kind: c.manifest.object.kind, name: c.manifest.object.metadata.name, action: data === undefined ? 'unchanged' : 'written', encrypted: c.encrypted, before, after, mode });
      next.files[indexKey(spec.file, c.file)] = { sha256: after, output: out.index, kind: c.manifest.object.kind, name: c.manifest.object.metadata.name, ...(c.manifest.user !== undefined ? { user: c.manifest.user } : {}) };
    }
  }
  const stale = prune ? await staleFiles(spec, index, new Set(results.map((r) => r.file))) : [];
  const removals = stale.filter((x) => x.state === 'remove');
  // Kept files stay listed (and reported) until someone deletes them; gone ones are forgotten.
  for (const x of stale) if (x.state === 'kept') next.files[x.key] = x.entry;
  const finalText = manifestIndexText(next);
  const pendingText = removals.length === 0 ? finalText : manifestIndexText({ ...next, files: { ...next.files, ...Object.fromEntries(removals.map((x) => [x.key, x.entry])) } });
  if (pendingText !== indexBefore) writes.push({ path: indexFile, data: pendingText, mode: 0o644, exclusive: false });
  if (writes.length > 0) {
    for (const [dir, mode] of dirs) {
      await fs.mkdir(dir, { recursive: true, mode }).catch((err: unknown) => {
        throw new CertgenError(`cannot create the manifests folder ${dir}: ${(err as Error).message}`, { cause: err });
      });
    }
    try {
      await writeFilesAtomic(writes);
    } catch (err) {
      throw new CertgenError(`writing the Kubernetes manifests failed, none was changed: ${(err as Error).message}`, { cause: err });
    }
  }
  for (const x of removals) {
    await fs.rm(x.file, { force: true }).catch((err: unknown) => {
      throw new CertgenError(`cannot remove the stale manifest ${x.file}: ${(err as Error).message} (the next apply tries again)`, { cause: err });
    });
  }
  if (removals.length > 0) {
    try {
      await writeFilesAtomic([{ path: indexFile, data: finalText, mode: 0o644, exclusive: false }]);
    } catch (err) {
      throw new CertgenError(`the stale manifests are removed, but ${indexFile} was not updated (the next apply does it): ${(err as Error).message}`, { cause: err });
    }
  }
  for (const x of stale) {
    if (x.state === 'gone') continue;
    results.push({ output: x.entry.output, file: x.file, kind: x.entry.kind, name: x.entry.name, action: x.state === 'remove' ? 'removed' : 'kept', encrypted: false, before: x.entry.sha256, after: x.state === 'remove' ? null : x.entry.sha256, mode: 0, reason: x.reason });
  }
  return results;
}

/** What apply would do to a manifest file (plan's view): nothing, write it (why), or rewrite it after a change of the plan. */
export interface K8sPlannedFile {
  output: number;
  file: string;
  /** `remove`: certgen wrote it and the spec no longer produces it; `kept`: the same, but it changed since, so apply leaves it. */
  state: 'unchanged' | 'missing' | 'changed' | 'follows' | 'remove' | 'kept';
  /** For `follows`: the plan's changes it is made from (`node/crdb reissue`). */
  after?: string[];
  /** For `remove` and `kept`: why the spec no longer produces it. */
  reason?: string;
}

/** The plan's changes that alter what a manifest holds: its pair's, or the CA bundle's. */
function changesFor(plan: Plan, artifacts: string[]): string[] {
  return plan.changes.filter((c) => artifacts.includes(c.artifact) && ['create', 'reissue', 'update-ca-bundle'].includes(c.action)).map((c) => `${c.artifact} ${c.action}`);
}

/**
 * Read-only: for every manifest file of the outputs with a `dir`, whether apply would leave it,
 * write it, or rewrite it because a change of `plan` alters its content (then it is not read).
 */
export async function planKubernetesOutputs(spec: ClusterSpec, plan: Plan): Promise<K8sPlannedFile[]> {
  const out: K8sPlannedFile[] = [];
  for (const o of (spec.outputs?.kubernetes ?? []).filter((x) => x.dir !== undefined)) {
    const nodeAfter = changesFor(plan, ['ca', `node/${o.nodeSet}`]);
    const caAfter = changesFor(plan, ['ca']);
    const files: { file: string; after: string[] }[] = [
      { file: manifestFileName('Secret', o.names.node), after: nodeAfter },
      ...o.clients.map((c) => ({ file: manifestFileName('Secret', c.name), after: changesFor(plan, ['ca', `client/${c.user}`]) })),
      ...(o.layout === 'operator' ? [{ file: manifestFileName('ConfigMap', o.names.ca ?? ''), after: caAfter }] : []),
    ];
    // What the tree holds now, where it can be read (a fresh tree has nothing yet).
    let current: Map<string, K8sPlannedFile['state']> | undefined;
    try {
      current = new Map((await compareOutput(spec, o, false)).map((c) => [c.file, c.write === undefined ? 'unchanged' : c.existing === undefined ? 'missing' : 'changed']));
    } catch {
      current = undefined;
    }
    for (const f of files) {
      const file = path.join(o.dir ?? '', f.file);
      if (f.after.length > 0) out.push({ output: o.index, file, state: 'follows', after: f.after });
      else out.push({ output: o.index, file, state: current?.get(file) ?? ((await readIfExists(file)) === undefined ? 'missing' : 'unchanged') });
    }
  }
  const { index } = await readManifestIndex(spec.file);
  for (const x of await staleFiles(spec, index, new Set(out.map((f) => f.file)))) {
    if (x.state !== 'gone') out.push({ output: x.entry.output, file: x.file, state: x.state, reason: x.reason });
  }
  return out;
}
