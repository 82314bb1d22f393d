// outputs.kubernetes carried out: the manifests built from the tree, each compared with what is on
// disk and rewritten only when it changed (byte for byte in plaintext; for SOPS, by the
// unencrypted annotations and names, since ciphertext is random), in one atomic batch. Plaintext
// Secrets are written only where git ignores them; stdout is the one other place keys may go.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { manifestFileName } from '../core/kubernetes.js';
import { CA_CERT, NODE_CERT, NODE_KEY, clientCertName, clientKeyName } from '../core/cert-names.js';
import type { ClusterSpec, KubernetesOutputSpec } from '../cluster-spec/spec.js';
import type { Plan } from '../plan/types.js';
import { CertgenError } from '../errors.js';
import { writeFilesAtomic, type FileWrite } from '../io/files.js';
import { gitPathStates } from '../io/git.js';
import { clientDir, nodeDir } from '../tree/layout.js';
import { buildManifests, type Manifest, type PairFiles } from './manifests.js';
import { YAML_OPTIONS, sopsEncryptYaml, sopsUpToDate } from './sops.js';

/** What happened to one manifest file. */
export interface K8sFileResult {
  /** outputs.kubernetes index. */
  output: number;
  /** Absolute path. */
  file: string;
  kind: 'Secret' | 'ConfigMap';
  name: string;
  action: 'written' | 'unchanged';
  encrypted: boolean;
  /** SHA-256 (hex) of the file before (null: there was none) and after, for the journal. */
  before: string | null;
  after: string;
  mode: number;
}

export interface K8sRenderOptions {
  now?: Date;
  /** Re-encrypt SOPS files even when their content is unchanged (new data key, new IVs). */
  reencrypt?: boolean;
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

/**
 * Writes every output that has a `dir`: the changed files only, all in one atomic batch.
 * Plaintext Secrets are 0600 in a 0700 folder; SOPS files and ConfigMaps, meant for git, 0644.
 */
export async function writeKubernetesOutputs(spec: ClusterSpec, opts: K8sRenderOptions = {}): Promise<K8sFileResult[]> {
  const outputs = (spec.outputs?.kubernetes ?? []).filter((o) => o.dir !== undefined);
  await checkPlaintextOutputs(spec, outputs);
  const now = opts.now ?? new Date();
  const results: K8sFileResult[] = [];
  const writes: FileWrite[] = [];
  const dirs = new Map<string, number>();
  for (const out of outputs) {
    for (const c of await compareOutput(spec, out, opts.reencrypt ?? false)) {
      const data = c.write === 'encrypt' ? await sopsEncryptYaml(c.manifest.object as never, out.sops?.age ?? [], now) : c.write;
      const plaintextSecret = c.manifest.secret && !c.encrypted;
      const mode = plaintextSecret ? 0o600 : 0o644;
      const dir = path.dirname(c.file);
      if (data !== undefined) writes.push({ path: c.file, data, mode, exclusive: false });
      if (plaintextSecret || !dirs.has(dir)) dirs.set(dir, plaintextSecret ? 0o700 : (dirs.get(dir) ?? 0o755));
      const before = c.existing === undefined ? null : sha256(c.existing);
      results.push({ output: out.index, file: c.file, kind: c.manifest.object.kind, name: c.manifest.object.metadata.name, action: data === undefined ? 'unchanged' : 'written', encrypted: c.encrypted, before, after: data === undefined ? (before ?? '') : sha256(data), mode });
    }
  }
  if (writes.length === 0) return results;
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
  return results;
}

/** What apply would do to a manifest file (plan's view): nothing, write it (why), or rewrite it after a change of the plan. */
export interface K8sPlannedFile {
  output: number;
  file: string;
  state: 'unchanged' | 'missing' | 'changed' | 'follows';
  /** For `follows`: the plan's changes it is made from (`node/crdb reissue`). */
  after?: string[];
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
  return out;
}
