// Orchestrators for the declarative workflow: read the tree, diff it against the spec (pure),
// and carry out exactly that plan. All crypto happens in memory before the first write, and all
// files are published in one atomic batch, so a failure leaves the tree as it was.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { readCertificate, x509 } from './pki/x509.js';
import { findPrivateKeyInPem, generateKey, privateKeyToPem, privateKeyToPkcs8Der, toSigner } from './pki/keys.js';
import { issueCertificate, issueCertificateDer, issueTenantSigningCert } from './pki/issue.js';
import { encodePem, pemToCertificateBlocks } from './pki/read/pem.js';
import { diff } from './plan/diff.js';
import { rotationContexts } from './plan/rotation.js';
import type { PlanOptions } from './plan/plan.js';
import { hasChanges, isActionable, type CertParams, type Change, type KeyParams, type Plan, type WriteOp } from './plan/types.js';
import { inputChanges, planInputs, programDifferences, type SavedPlan } from './plan/saved.js';
import { durationToMs, parseDuration } from './core/duration.js';
import { CA_CERT, CLIENT_CA_CERT } from './core/cert-names.js';
import { readTree, type ActualTree } from './tree/read-tree.js';
import { CLIENT_CA_ARTIFACT, DIR_MODE, LEAF_PARENTS, LOCK_FILE, absolute } from './tree/layout.js';
import { gitignoreBytes } from './plan/gitignore.js';
import { nextAgeIndex } from './plan/age-index-write.js';
import { encryptArmored } from './pki/age.js';
import { restoreChanges } from './plan/age-keys.js';
import type { ClusterSpec } from './cluster-spec/spec.js';
import { CertgenError } from './errors.js';
import { errnoText, removeStaleTemps, writeFilesAtomic, type FileWrite } from './io/files.js';
import { acquireLock } from './io/lock.js';
import { appendJournal, journalFileFor, sha256, type JournalFile } from './journal/journal.js';
import { checkPlaintextOutputs, writeKubernetesOutputs, type K8sFileResult } from './kubernetes/outputs.js';
import { renderK8sLines } from './kubernetes/render.js';
import { manifestIndexFile } from './kubernetes/manifest-index.js';

/** `keygen`: how many leaf keys are being generated; `key`: one more key (the CA's counted too) is ready, `done` of `total`. */
export type ApplyEvent = { type: 'done'; change: Change } | { type: 'keygen'; count: number } | { type: 'key'; done: number; total: number };

export interface ApplyOptions extends PlanOptions {
  /** Progress: one event per change carried out. */
  onEvent?: (e: ApplyEvent) => void;
  /** The journal line beside the spec for a run that changes something (default on): false for none, or the command to record (default `apply`). */
  journal?: false | { command: string };
}

export interface ApplyResult {
  plan: Plan;
  /** Changes carried out, in order. */
  applied: Change[];
  /** Absolute paths written, chmodded and removed. */
  written: string[];
  chmodded: string[];
  removed: string[];
  /** Absolute paths of files a killed earlier apply had staged, removed before anything else. */
  cleanedUp: string[];
  /** The journal line written for this run (when it changed something), or why none could be: the changes stand either way. */
  journal?: { file: string; seq: number } | { file: string; error: string };
  /** Every journal line this run appended, in order (the certificates', then the manifests'), or why one could not be. */
  journalLines?: Array<{ file: string; seq: number } | { file: string; error: string }>;
  /** The spec's outputs.kubernetes files, each written or found unchanged (absent when the spec has none). */
  kubernetes?: K8sFileResult[];
}

/** The plan error, rendered for people; apply refuses to run when the plan has errors. */
export class PlanBlockedError extends CertgenError {
  readonly plan: Plan;
  constructor(plan: Plan) {
    super(plan.errors.map((e) => `${e.artifact}: ${e.message}`).join('\n'), { code: 'plan-blocked' });
    this.name = 'PlanBlockedError';
    this.plan = plan;
  }
}

async function mkdirTracked(dir: string, created: string[]): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: DIR_MODE });
    // The creation mode passes through the umask; make it exactly 0700.
    await fs.chmod(dir, DIR_MODE);
    created.push(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const st = await fs.stat(dir);
      if (st.isDirectory()) return;
      throw new CertgenError(`${dir} exists but is not a folder`);
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await mkdirTracked(path.dirname(dir), created);
      return mkdirTracked(dir, created);
    }
    throw new CertgenError(`cannot create folder ${dir}: ${errnoText(err)}`);
  }
}

/**
 * A run killed while writing leaves staged files (whole keys among them, the CA's too) under
 * temporary names; nothing else would ever remove them. Only folders of this tree's own shape
 * are visited, and beside the CA key only its own temporaries.
 */
async function removeStaleTempsOf(spec: ClusterSpec): Promise<string[]> {
  const folders: string[] = [];
  for (const [sub] of LEAF_PARENTS) {
    const top = path.join(spec.certsDir, sub);
    const entries = await fs.readdir(top, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) folders.push(path.join(top, e.name));
  }
  const removed = await removeStaleTemps(spec.certsDir, new Set(spec.clientCa ? [CA_CERT, CLIENT_CA_CERT] : [CA_CERT]));
  for (const dir of folders) removed.push(...(await removeStaleTemps(dir)));
  removed.push(...(await removeStaleTemps(path.dirname(spec.caKey), new Set([path.basename(spec.caKey)]))));
  if (spec.clientCa) removed.push(...(await removeStaleTemps(path.dirname(spec.clientCa.key), new Set([path.basename(spec.clientCa.key)]))));
  return removed;
}

/**
 * Computes the plan under the certs-dir lock and carries it out. Idempotent: with nothing to do
 * it writes nothing (no bytes, modes or mtimes change).
 */
export async function apply(spec: ClusterSpec, opts: ApplyOptions = {}): Promise<ApplyResult> {
  return underLock(spec, async (tree) => {
    const now = (opts.now ?? (() => new Date()))();
    const rotations = await rotationContexts(spec, tree, opts.identities);
    const thePlan = diff({ spec, tree, now, prune: opts.prune, specFile: opts.specFileLabel, certsDirLabel: opts.certsDirLabel, ...rotations });
    return withOutputs(spec, now, opts, () => execute(thePlan, spec, tree, now, opts));
  }, opts.identities);
}

/**
 * `certgen decrypt`: only the keys that exist as `<key>.age` and not in the clear are written (the
 * plan's `restore` changes, and a `.pk8` derived again from a restored key); nothing else. A key
 * that cannot be restored stops it, as it stops apply.
 */
export async function decrypt(spec: ClusterSpec, opts: Omit<ApplyOptions, 'prune'> & { identities: readonly string[] }): Promise<ApplyResult> {
  return underLock(spec, async (tree) => {
    const now = (opts.now ?? (() => new Date()))();
    const full = diff({ spec, tree, now, specFile: opts.specFileLabel, certsDirLabel: opts.certsDirLabel });
    // Every key it cannot restore stops it (apply would reissue a pair that is due anyway; decrypt does not).
    const errors = (tree.lockedKeys ?? []).map((l) => ({ artifact: l.artifact, code: l.code, message: l.message }));
    return execute({ ...full, prune: false, changes: restoreChanges(spec, tree), errors, warnings: [] }, spec, tree, now, opts);
  }, opts.identities);
}

/** A saved plan is stale: what it was made from changed, so it is not the plan any more. */
export class StalePlanError extends CertgenError {
  constructor(planFile: string, why: string) {
    super(`the saved plan ${planFile} is stale: since it was made, ${why}. Nothing was changed`, { hint: `make a new plan (certgen plan --out ${planFile}) and review it`, code: 'plan-stale' });
    this.name = 'StalePlanError';
  }
}

/**
 * `certgen apply PLANFILE`: carries out exactly a saved plan, or nothing at all when the spec or
 * the tree changed since it was made, or when the plan computed now would do something else
 * (time passes: a certificate may have entered its renewal window).
 */
export async function applySaved(saved: SavedPlan, spec: ClusterSpec, opts: Omit<ApplyOptions, 'prune'> & { planFile: string }): Promise<ApplyResult> {
  const thePlan = saved.plan;
  return underLock(spec, async (tree) => {
    const now = (opts.now ?? (() => new Date()))();
    const changed = inputChanges(saved.inputs, planInputs(spec, tree), thePlan.caKey);
    if (changed.length > 0) throw new StalePlanError(opts.planFile, changed.join('; '));
    const rotations = await rotationContexts(spec, tree, opts.identities);
    const current = diff({ spec, tree, now, prune: thePlan.prune, ...rotations });
    if (current.errors.length > 0) throw new PlanBlockedError(current);
    const differs = programDifferences(thePlan, current);
    if (differs.length > 0) throw new StalePlanError(opts.planFile, `what apply would do changed for ${differs.slice(0, 5).join(', ')}${differs.length > 5 ? ` and ${differs.length - 5} more` : ''}`);
    return withOutputs(spec, now, opts, () => execute(thePlan, spec, tree, now, opts));
  }, opts.identities);
}

/**
 * Runs the certificate changes, then writes the spec's Kubernetes manifests from the tree they
 * left (unchanged ones untouched). Whether git would let a plaintext Secret be committed is
 * checked first, so a refused output changes nothing at all.
 */
async function withOutputs(spec: ClusterSpec, now: Date, opts: ApplyOptions, changes: () => Promise<ApplyResult>): Promise<ApplyResult> {
  const outputs = spec.outputs?.kubernetes.filter((o) => o.dir !== undefined) ?? [];
  // With no output left, the manifests certgen wrote before (its index lists them) are still pruned.
  if (outputs.length === 0 && !(await exists(manifestIndexFile(spec.file)))) return changes();
  await checkPlaintextOutputs(spec, outputs);
  const result = await changes();
  try {
    result.kubernetes = await writeKubernetesOutputs(spec, { now });
  } catch (err) {
    const done = result.applied.length > 0 ? 'the certificates were updated, but ' : '';
    throw new CertgenError(`${done}the Kubernetes manifests were not written: ${(err as Error).message}`, { cause: err, ...(err instanceof CertgenError && err.hint ? { hint: err.hint } : {}) });
  }
  if (opts.journal !== false) {
    const line = await journalManifests(spec, result.kubernetes, opts.journal?.command ?? 'apply', now);
    if (line) result.journalLines = [...(result.journalLines ?? []), line];
    if (line && 'error' in line) result.journal = line;
    else result.journal ??= line;
  }
  return result;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/**
 * The manifests' own journal line (after the certificates' one when they changed too): each file
 * written or removed as stale, relative to the certs dir like every journal path, its SHA-256
 * before and after (of plaintext or SOPS text: keys appear only as hashes). None when nothing changed.
 */
export async function journalManifests(spec: ClusterSpec, results: readonly K8sFileResult[], command: string, now: Date): Promise<ApplyResult['journal']> {
  const rel = (f: string): string => path.relative(spec.certsDir, f).split(path.sep).join('/');
  const files: JournalFile[] = results.flatMap((k): JournalFile[] => {
    const artifact = `outputs.kubernetes[${k.output}]`;
    if (k.action === 'written') return [{ file: rel(k.file), op: 'write', old: k.before, new: k.after, mode: k.mode, reason: k.before === null ? 'missing' : 'changed', artifact }];
    if (k.action === 'removed') return [{ file: rel(k.file), op: 'remove', old: k.before, new: null, reason: 'stale-manifest', artifact }];
    return [];
  });
  return files.length === 0 ? undefined : journalRun(spec, command, files, now);
}

/** Creates the certs dir if needed, takes its lock, reads the tree and runs `work` on it. */
async function underLock(spec: ClusterSpec, work: (tree: ActualTree) => Promise<ApplyResult>, identities?: readonly string[]): Promise<ApplyResult> {
  const created: string[] = [];
  await mkdirTracked(spec.certsDir, created);
  try {
    const lock = await acquireLock(spec.certsDir, LOCK_FILE);
    try {
      return await work(await readTree(spec, { ...(identities ? { identities } : {}) }));
    } finally {
      await lock.release();
    }
  } catch (err) {
    // A folder this run made and left empty goes again, so a refused apply leaves no trace.
    for (const d of [...created].reverse()) await fs.rmdir(d).catch(() => {});
    throw err;
  }
}

/** The key a plan's change uses: generated (newKey) or already in the tree. */
function existingKey(tree: ActualTree, rel: string): KeyObject {
  const f = tree.entries[rel];
  if (!f?.bytes) throw new CertgenError(`${rel} disappeared while applying`);
  return findPrivateKeyInPem(f.bytes.toString('latin1'));
}

/** A provided file's bytes as the tree was read (a node's UI files), exactly those the plan saw. */
function providedBytes(spec: ClusterSpec, tree: ActualTree, w: WriteOp): Buffer {
  const bytes = tree.provided?.[path.resolve(spec.certsDir, w.source ?? '')]?.bytes;
  if (!bytes || createHash('sha256').update(bytes).digest('hex') !== w.sha256) throw new CertgenError(`${w.source ?? w.file} changed since the plan was made: plan again`);
  return bytes;
}

/**
 * Carries out a plan and nothing else: its changes' ops, in order. `spec` gives only where the
 * tree and the CA key lie; `tree` the bytes the plan was computed from (the CA, existing keys).
 */
async function execute(thePlan: Plan, spec: ClusterSpec, tree: ActualTree, now: Date, opts: ApplyOptions): Promise<ApplyResult> {
  const result: ApplyResult = { plan: thePlan, applied: [], written: [], chmodded: [], removed: [], cleanedUp: [] };
  if (thePlan.errors.length > 0) throw new PlanBlockedError(thePlan);
  result.cleanedUp = await removeStaleTempsOf(spec);
  if (!hasChanges(thePlan)) return result;
  const todo = thePlan.changes.filter((c) => isActionable(c, thePlan.prune));
  const where = (op: { file: string; caKey?: true; clientCaKey?: true }): string => (op.clientCaKey && spec.clientCa ? spec.clientCa.key : op.caKey ? spec.caKey : absolute(spec, op.file));

  // Every key, the CA's included, is started at once: node:crypto generates them on libuv's
  // thread pool, so a big cluster uses every core and apply is bound by key generation alone.
  const keyed = todo.filter((c) => c.ops.newKey !== undefined);
  opts.onEvent?.({ type: 'keygen', count: keyed.filter((c) => c.kind !== 'ca').length });
  const newKeys = new Map(keyed.map((c) => [c, background(generateKey(c.ops.newKey as KeyParams))]));
  let keysDone = 0;
  for (const k of newKeys.values()) void k.then(() => opts.onEvent?.({ type: 'key', done: ++keysDone, total: newKeys.size }), () => {});

  // The CAs (the one of ca.crt, and a split client CA): each created (new key, or an existing key
  // without a certificate) or loaded, when this plan signs with it or copies its bundle.
  const cas: LoadedCa[] = [];
  const caData = new Map<WriteOp, string | Uint8Array>();
  /** What each `.age` written holds (for the age index). */
  const agePlain = new Map<WriteOp, Buffer>();
  for (const which of [MAIN_CA, CLIENT_CA] as const) {
    if (which === CLIENT_CA && !spec.clientCa) continue;
    const keyPath = which === CLIENT_CA ? (spec.clientCa?.key ?? '') : spec.caKey;
    const keyFact = which === CLIENT_CA ? tree.clientCaKey : tree.caKey;
    const certRel = which === CLIENT_CA ? CLIENT_CA_CERT : CA_CERT;
    const bundleContent = which === CLIENT_CA ? 'client-ca-bundle' : 'ca-bundle';
    const newSigner = which === CLIENT_CA ? 'new-client-ca' : 'new-ca';
    const caChange = todo.find((c) => c.artifact === which && c.ops.issue !== undefined);
    if (caChange?.ops.issue) {
      const k = newKeys.get(caChange);
      const key = k ? (await k).privateKey : keyOf(keyFact?.bytes, keyPath);
      const cert = await issueCertificate({ kind: 'ca', subjectKey: key, signer: toSigner(key), commonName: caChange.ops.issue.commonName, now, lifetimeMs: lifetimeMs(caChange.ops.issue), serial: randomBytes(16) });
      const bundle = Buffer.from(encodePem('CERTIFICATE', Buffer.from(cert.rawData)));
      for (const w of caChange.ops.write) {
        // caKey ending in .age: the new key exists in the clear only in this process's memory.
        if (w.content === 'ca-key-age') {
          const pem = privateKeyToPem(key);
          caData.set(w, await encryptArmored(pem, w.recipients ?? []));
          agePlain.set(w, Buffer.from(pem));
        }
        else caData.set(w, w.content === 'ca-key' ? privateKeyToPem(key) : bundle);
      }
      cas.push({ which, cert, key, signer: toSigner(key), bundle, fingerprint: fingerprintOf(cert), newSigner });
      continue;
    }
    const signs = todo.filter((c) => c.artifact !== 'ca' && c.artifact !== CLIENT_CA_ARTIFACT && c.ops.issue !== undefined && c.ops.issue.kind !== 'tenant-signing');
    const mine = (sig: string | undefined): boolean => sig !== undefined && sig !== 'new-ca' && sig !== 'new-client-ca' && blocksOf(tree, certRel).some((b) => fingerprintOfDer(b) === sig);
    // The CA of ca.crt signs for any leaf (one planned against another certificate then fails the
    // signer check below: plan again), the client CA for those planned against it. Only signing
    // needs the key (an encrypted one may not be open to this run); a bundle copy needs the bundle.
    const byClientCa = (sig: string | undefined): boolean => sig === 'new-client-ca' || (spec.clientCa !== undefined && blocksOf(tree, CLIENT_CA_CERT).some((b) => fingerprintOfDer(b) === sig));
    const signing = which === MAIN_CA ? signs.some((c) => !byClientCa(c.ops.issue?.signer)) : signs.some((c) => mine(c.ops.issue?.signer));
    if (!signing && !todo.some((c) => c.ops.write.some((w) => w.content === bundleContent))) continue;
    const bundle = tree.entries[certRel]?.bytes;
    if (!bundle) throw new CertgenError(`the ${which === CLIENT_CA ? 'client CA' : 'CA'} disappeared while applying`);
    if (!signing) {
      cas.push({ which, bundle, fingerprint: '', newSigner });
      continue;
    }
    if (!keyFact?.bytes) throw new CertgenError(keyFact?.sealed?.message ?? `the ${which === CLIENT_CA ? 'client CA' : 'CA'} disappeared while applying`);
    // The plan names the signer (during a CA rotation it need not be the first of the bundle).
    const blocks = pemToCertificateBlocks(bundle);
    const wanted = signs.find((c) => mine(c.ops.issue?.signer))?.ops.issue?.signer;
    const first = blocks.find((b) => fingerprintOfDer(b) === wanted) ?? blocks[0];
    let cert: x509.X509Certificate;
    try {
      cert = readCertificate(first ?? Buffer.alloc(0));
    } catch (err) {
      // Go's reader accepted it; @peculiar/x509, which signs, is stricter.
      throw new CertgenError(`${certRel} cannot be read as a CA bundle (${(err as Error).message}): restore it from a backup, or move it away to create a new CA`, { cause: err });
    }
    const key = keyOf(keyFact.bytes, keyPath);
    cas.push({ which, cert, key, signer: toSigner(key), bundle, fingerprint: fingerprintOf(cert), newSigner });
  }
  const bundleOf = (content: 'ca-bundle' | 'client-ca-bundle'): Buffer | undefined => cas.find((c) => c.which === (content === 'client-ca-bundle' ? CLIENT_CA : MAIN_CA))?.bundle;
  /** The CA a leaf's plan names as its signer (by fingerprint, or the one this plan creates). */
  const signerOf = (issue: CertParams): LoadedCa | undefined => cas.find((c) => c.signer !== undefined && (c.fingerprint === issue.signer || c.newSigner === issue.signer));

  // Each certificate is signed as soon as its key is ready, while the other keys are still
  // being generated; the writes keep the plan's order.
  const leafData = new Map<WriteOp, string | Uint8Array>();
  await Promise.all(
    todo.map(async (c) => {
      const issue = c.ops.issue;
      if (!issue || c.artifact === 'ca' || c.artifact === CLIENT_CA_ARTIFACT) return;
      const ca = issue.kind === 'tenant-signing' ? undefined : signerOf(issue);
      if (issue.kind !== 'tenant-signing' && ca === undefined) throw new CertgenError(`${c.artifact} was planned to be signed by ${issue.signer}, but ${CA_CERT}${spec.clientCa ? ` and ${CLIENT_CA_CERT} hold` : ' holds'} ${cas.map((x) => x.fingerprint).join(', ') || 'no CA'}: plan again`);
      const k = newKeys.get(c);
      const key = k ? (await k).privateKey : undefined;
      if (!key) throw new CertgenError(`${c.artifact}: the plan has no key for its certificate`);
      // A tenant's signing certificate is its own issuer (the CA takes no part), as create-tenant-signing makes it.
      const der =
        issue.kind === 'tenant-signing'
          ? Buffer.from((await issueTenantSigningCert(key, c.artifact.slice(c.artifact.indexOf('/') + 1), now, lifetimeMs(issue))).rawData)
          : issueCertificateDer({ kind: issue.kind, subjectKey: key, signer: (ca as Required<LoadedCa>).signer, issuer: (ca as Required<LoadedCa>).cert, commonName: issue.commonName, hosts: issue.hosts, now, lifetimeMs: lifetimeMs(issue), serial: randomBytes(16) });
      for (const w of c.ops.write) {
        if (w.content === 'cert') leafData.set(w, encodePem('CERTIFICATE', der));
        else if (w.content === 'key') leafData.set(w, privateKeyToPem(key));
        else if (w.content === 'pkcs8') leafData.set(w, privateKeyToPkcs8Der(key));
        else if (w.content === 'key-age') {
          // The very bytes of the key file, so the index's plaintext hash is that file's.
          const pem = privateKeyToPem(key);
          agePlain.set(w, Buffer.from(pem));
          leafData.set(w, await encryptArmored(pem, w.recipients ?? []));
        }
      }
    }),
  );
  const writes: FileWrite[] = [];
  const journalFiles: JournalFile[] = [];
  const oldSha = (op: { file: string; caKey?: true; clientCaKey?: true }): string | null => {
    // An encrypted CA key is journaled as the file on disk, never as the key it holds.
    const bytes = op.clientCaKey ? tree.clientCaKey?.bytes : op.caKey ? (tree.caKey.armored ?? tree.caKey.bytes) : tree.entries[op.file]?.bytes;
    return bytes ? sha256(bytes) : null;
  };
  const ageData = new Map<WriteOp, string>();
  for (const c of todo) {
    for (const w of c.ops.write) {
      if (w.content === 'ca-key-age' && !caData.has(w)) {
        // The CA key encrypted again (other recipients, or not recorded): from the key the read
        // decrypted in memory, straight to ciphertext; no plaintext is ever staged.
        const plain = tree.caKey.sealed === undefined ? tree.caKey.bytes : undefined;
        if (!plain || !tree.caKey.armored) throw new CertgenError(tree.caKey.sealed?.message ?? `the CA key ${spec.caKey} disappeared while applying`);
        agePlain.set(w, plain);
        caData.set(w, await encryptArmored(plain, w.recipients ?? []));
        continue;
      }
      if (w.content !== 'key-age' || w.from === undefined) continue;
      const plain = tree.entries[w.from]?.bytes;
      if (!plain) throw new CertgenError(`${w.from} disappeared while applying`);
      agePlain.set(w, plain);
      ageData.set(w, await encryptArmored(plain, w.recipients ?? []));
    }
  }
  for (const c of todo) {
    for (const w of c.ops.write) {
      let data = caData.get(w) ?? leafData.get(w) ?? ageData.get(w);
      if (data === undefined && w.content === 'key' && w.from !== undefined) data = tree.entries[w.file]?.restoredFrom === w.from ? tree.entries[w.file]?.bytes : undefined; // decrypted by the read
      if (data === undefined && (w.content === 'ca-bundle' || w.content === 'client-ca-bundle')) data = bundleOf(w.content);
      if (data === undefined && w.content === 'pkcs8' && w.from !== undefined) data = privateKeyToPkcs8Der(existingKey(tree, w.from)); // from the existing key: no reissue
      if (data === undefined && w.content === 'gitignore') data = gitignoreBytes(tree.entries[w.file]?.bytes, w.lines ?? []);
      if (data === undefined && w.content === 'copy') data = providedBytes(spec, tree, w);
      if (data === undefined && w.content === 'age-index') data = nextAgeIndex(tree, [...agePlain].map(([op, plain]) => ({ op, plain, armored: leafData.get(op) ?? ageData.get(op) ?? caData.get(op) ?? '' })), spec);
      if (data === undefined) throw new CertgenError(`${c.artifact}: nothing to write to ${w.file} (${w.content})`);
      const path_ = where(w);
      const describe = w.content === 'ca-key' ? `could not write CA key to file ${path_}` : w.content === 'ca-cert' ? `could not write CA certificate file ${path_}` : undefined;
      writes.push({ path: path_, data, mode: w.mode, exclusive: w.exclusive === true, ...(describe ? { describe } : {}) });
      journalFiles.push({ file: w.file, op: 'write', old: oldSha(w), new: sha256(typeof data === 'string' ? data : Buffer.from(data)), mode: w.mode, reason: reasonFor(c, w.file), artifact: c.artifact });
    }
  }

  // Publish: folders first (0700, the CA key's too), then every file in one atomic batch.
  const created: string[] = [];
  for (const dir of new Set(writes.map((w) => path.dirname(w.path)))) await mkdirTracked(dir, created);
  try {
    await writeFilesAtomic(writes);
  } catch (err) {
    for (const d of [...created].reverse()) await fs.rmdir(d).catch(() => {});
    throw new CertgenError(`apply failed, nothing was changed: ${(err as Error).message}`, { cause: err });
  }
  result.written.push(...writes.map((w) => w.path));

  for (const c of todo) {
    for (const m of c.ops.chmod) {
      await fs.chmod(where(m), m.mode);
      result.chmodded.push(where(m));
      const sum = oldSha(m);
      journalFiles.push({ file: m.file, op: 'chmod', old: sum, new: sum, mode: m.mode, reason: reasonFor(c, m.file), artifact: c.artifact });
    }
    for (const rel of c.ops.remove) {
      await fs.rm(absolute(spec, rel), { recursive: true, force: true });
      result.removed.push(absolute(spec, rel));
      journalFiles.push({ file: rel, op: 'remove', old: oldSha({ file: rel }), new: null, reason: reasonFor(c, rel), artifact: c.artifact });
    }
    result.applied.push(c);
    opts.onEvent?.({ type: 'done', change: c });
  }
  if (opts.journal !== false) {
    result.journal = await journalRun(spec, opts.journal?.command ?? 'apply', journalFiles, now);
    if (result.journal) result.journalLines = [result.journal];
  }
  return result;
}

/** The reason code a change gives for one of its files (its first reason when none names the file). */
function reasonFor(c: Change, file: string): string {
  return (c.reasons.find((r) => r.file === file) ?? c.reasons[0])?.code ?? c.action;
}

/** Appends the run to the journal beside the spec, still under the lock; a failure is reported, not thrown (the changes are made). */
async function journalRun(spec: ClusterSpec, command: string, files: JournalFile[], now: Date): Promise<ApplyResult['journal']> {
  try {
    const { file, entry } = await appendJournal({ specFile: spec.file, command, files, now });
    return { file, seq: entry.seq };
  } catch (err) {
    return { file: journalFileFor(spec.file), error: err instanceof Error ? err.message : String(err) };
  }
}

function lifetimeMs(issue: CertParams): number {
  return durationToMs(parseDuration(issue.lifetime));
}

function keyOf(bytes: Buffer | undefined, file: string): KeyObject {
  if (!bytes) throw new CertgenError(`the CA key ${file} disappeared while applying`);
  return findPrivateKeyInPem(bytes.toString('latin1'));
}

const MAIN_CA = 'ca';
const CLIENT_CA = CLIENT_CA_ARTIFACT;

/** A CA apply signs with: the one of ca.crt, or the split client CA. */
interface LoadedCa {
  which: typeof MAIN_CA | typeof CLIENT_CA;
  /** Absent when this run only copies its bundle. */
  cert?: x509.X509Certificate;
  key?: KeyObject;
  signer?: ReturnType<typeof toSigner>;
  /** What its bundle copies hold. */
  bundle: Buffer;
  fingerprint: string;
  /** The signer a plan names when it creates this CA. */
  newSigner: 'new-ca' | 'new-client-ca';
}

/** The certificates of a CA file as the tree was read (none when it is missing or unreadable). */
function blocksOf(tree: ActualTree, rel: string): Uint8Array[] {
  const bytes = tree.entries[rel]?.bytes;
  if (!bytes) return [];
  try {
    return pemToCertificateBlocks(bytes);
  } catch {
    return [];
  }
}

/** `AA:BB:…`, as the reader prints a certificate's SHA-256 fingerprint. */
function fingerprintOf(cert: x509.X509Certificate): string {
  return fingerprintOfDer(Buffer.from(cert.rawData));
}

function fingerprintOfDer(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/** A promise started now and awaited later: a failure before its await is not an unhandled rejection. */
function background<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Past tense of each action, for apply's report. */
export const DONE_VERB: Record<Change['action'], string> = {
  create: 'created',
  reissue: 'reissued',
  'fix-mode': 'fixed mode',
  'update-ca-bundle': 'updated CA bundle',
  update: 'updated',
  restore: 'restored',
  orphan: 'pruned',
  keep: 'kept',
};

export function renderApplyText(r: ApplyResult): string {
  const n = r.cleanedUp.length;
  const rot = r.plan.rotation;
  const crot = r.plan.clientCaRotation;
  const rotating =
    (rot ? `CA rotation ${rot.id} in progress: phase ${rot.phase}, the ${rot.signing} CA signs (certgen rotate status).\n` : '') +
    (crot ? `Client CA rotation ${crot.id} in progress: phase ${crot.phase}, the ${crot.signing} client CA signs (certgen rotate status --client-ca).\n` : '');
  const cleaned = `${rotating}${n > 0 ? `Removed ${n} file${n === 1 ? '' : 's'} left by an interrupted apply.\n` : ''}`;
  const k8s = renderK8sLines(r.kubernetes ?? []);
  if (r.applied.length === 0) return `${cleaned}Nothing to do: ${r.plan.certsDir} matches ${r.plan.specFile}.\n${k8s}`;
  const width = Math.max(...r.applied.map((c) => c.artifact.length));
  const lines = r.applied.map((c) => `  ${DONE_VERB[c.action].padEnd(18)} ${c.artifact.padEnd(width)}  ${c.reasons.map((x) => x.code).join(', ')}`);
  return `${cleaned}Applied ${r.applied.length} change${r.applied.length === 1 ? '' : 's'} to ${r.plan.certsDir}:\n${lines.join('\n')}\n${k8s}`;
}
