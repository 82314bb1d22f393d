// Orchestrators for the declarative workflow: read the tree, diff it against the spec (pure),
// and carry out exactly that plan. All crypto happens in memory before the first write, and all
// files are published in one atomic batch, so a failure leaves the tree as it was.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes, type KeyObject } from 'node:crypto';
import { readCertificate, x509 } from './pki/x509.js';
import { findPrivateKeyInPem, generateRsaKey, privateKeyToPem, privateKeyToPkcs8Der, toSigner } from './pki/keys.js';
import { CA_COMMON_NAME, issueCertificate } from './pki/issue.js';
import { encodePem, pemToCertificateBlocks } from './pki/read/pem.js';
import { diff } from './plan/diff.js';
import type { PlanOptions } from './plan/plan.js';
import { hasChanges, isActionable, isDerivedPkcs8, needsNewKey, type Change, type Plan } from './plan/types.js';
import { durationToMs } from './core/duration.js';
import { CA_CERT } from './core/cert-names.js';
import { readTree, type ActualTree } from './tree/read-tree.js';
import { CLIENTS_DIR, DIR_MODE, KEY_MODE, CERT_MODE, LOCK_FILE, NODES_DIR, absolute, desiredArtifacts } from './tree/layout.js';
import type { ClusterSpec } from './cluster-spec/spec.js';
import { CertgenError } from './errors.js';
import { errnoText, removeStaleTemps, writeFilesAtomic, type FileWrite } from './io/files.js';
import { acquireLock } from './io/lock.js';

export type ApplyEvent = { type: 'done'; change: Change } | { type: 'keygen'; count: number };

export interface ApplyOptions extends PlanOptions {
  /** Progress: one event per change carried out. */
  onEvent?: (e: ApplyEvent) => void;
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
  for (const sub of [NODES_DIR, CLIENTS_DIR]) {
    const top = path.join(spec.certsDir, sub);
    const entries = await fs.readdir(top, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) folders.push(path.join(top, e.name));
  }
  const removed = await removeStaleTemps(spec.certsDir, new Set([CA_CERT]));
  for (const dir of folders) removed.push(...(await removeStaleTemps(dir)));
  removed.push(...(await removeStaleTemps(path.dirname(spec.caKey), new Set([path.basename(spec.caKey)]))));
  return removed;
}

function keyFromTree(tree: ActualTree, rel: string): KeyObject {
  const f = tree.entries[rel];
  if (!f?.bytes) throw new CertgenError(`${rel} disappeared while applying`);
  return findPrivateKeyInPem(f.bytes.toString('latin1'));
}

/**
 * Computes the plan under the certs-dir lock and carries it out. Idempotent: with nothing to do
 * it writes nothing (no bytes, modes or mtimes change).
 */
export async function apply(spec: ClusterSpec, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const created: string[] = [];
  await mkdirTracked(spec.certsDir, created);
  try {
    return await applyLocked(spec, opts, created);
  } catch (err) {
    // Folders this run made and left empty go again, so a refused apply leaves no trace.
    for (const d of [...created].reverse()) await fs.rmdir(d).catch(() => {});
    throw err;
  }
}

async function applyLocked(spec: ClusterSpec, opts: ApplyOptions, created: string[]): Promise<ApplyResult> {
  const now = (opts.now ?? (() => new Date()))();
  const lock = await acquireLock(spec.certsDir, LOCK_FILE);
  try {
    const tree = await readTree(spec);
    const thePlan = diff({ spec, tree, now, prune: opts.prune, specFile: opts.specFileLabel, certsDirLabel: opts.certsDirLabel });
    const result: ApplyResult = { plan: thePlan, applied: [], written: [], chmodded: [], removed: [], cleanedUp: [] };
    if (thePlan.errors.length > 0) throw new PlanBlockedError(thePlan);
    result.cleanedUp = await removeStaleTempsOf(spec);
    if (!hasChanges(thePlan)) return result;
    const todo = thePlan.changes.filter((c) => isActionable(c, thePlan.prune));
    const writes: FileWrite[] = [];
    const abs = (rel: string): string => absolute(spec, rel);

    // Every key, the CA's included, is started at once: node:crypto generates them on libuv's
    // thread pool, so a big cluster uses every core and apply is bound by key generation alone.
    const issues = todo.filter(needsNewKey);
    opts.onEvent?.({ type: 'keygen', count: issues.length });
    const needCAKey = todo.some((c) => c.artifact === 'ca' && c.action === 'create') && !(tree.caKey.type === 'file' && tree.caKey.bytes);
    const newCAKey = needCAKey ? generateRsaKey(spec.ca.keySize) : undefined;
    const keySizes = new Map<string, number>([...spec.nodes.map((n) => [`node/${n.name}`, n.keySize] as const), ...spec.clients.map((u) => [`client/${u.user}`, u.keySize] as const)]);
    const leafKeyPromises = issues.map((c) => generateRsaKey(keySizes.get(c.artifact) ?? 2048));
    // Keep a failed key from going unhandled while the CA is being made; it is awaited below.
    for (const k of leafKeyPromises) k.catch(() => {});

    // The CA: created (new key or an existing key without a certificate) or loaded.
    let caCert: x509.X509Certificate;
    let caKey: KeyObject;
    let bundle: Buffer;
    const caChange = todo.find((c) => c.artifact === 'ca' && c.action === 'create');
    if (caChange) {
      if (tree.caKey.type === 'file' && tree.caKey.bytes) {
        caKey = findPrivateKeyInPem(tree.caKey.bytes.toString('latin1'));
      } else {
        caKey = (await (newCAKey ?? generateRsaKey(spec.ca.keySize))).privateKey;
        writes.push({ path: spec.caKey, data: privateKeyToPem(caKey), mode: KEY_MODE, exclusive: true, describe: `could not write CA key to file ${spec.caKey}` });
      }
      caCert = await issueCertificate({ kind: 'ca', subjectKey: caKey, signer: await toSigner(caKey), commonName: CA_COMMON_NAME, now, lifetimeMs: durationToMs(spec.ca.lifetime), serial: randomBytes(16) });
      bundle = Buffer.from(encodePem('CERTIFICATE', Buffer.from(caCert.rawData)));
      writes.push({ path: abs(CA_CERT), data: bundle, mode: CERT_MODE, exclusive: true, describe: `could not write CA certificate file ${abs(CA_CERT)}` });
    } else {
      const caBytes = tree.entries[CA_CERT]?.bytes;
      if (!caBytes || !tree.caKey.bytes) throw new CertgenError('the CA disappeared while applying');
      bundle = caBytes;
      const [first] = pemToCertificateBlocks(caBytes);
      try {
        caCert = readCertificate(first ?? Buffer.alloc(0));
      } catch (err) {
        // plan's DER reader accepted it; @peculiar/x509 is stricter.
        throw new CertgenError(`${CA_CERT} cannot be read as a CA bundle (${(err as Error).message}): restore it from a backup, or move it away to create a new CA`, { cause: err });
      }
      caKey = findPrivateKeyInPem(tree.caKey.bytes.toString('latin1'));
    }
    const signer = await toSigner(caKey);

    const artifacts = new Map(desiredArtifacts(spec).map((a) => [a.id, a]));
    const nodes = new Map(spec.nodes.map((n) => [`node/${n.name}`, n]));
    const clients = new Map(spec.clients.map((u) => [`client/${u.user}`, u]));
    // Each certificate is signed as soon as its key is ready, while the other keys are still
    // being generated; the writes keep the plan's order.
    const leafWrites = await Promise.all(
      issues.map(async (c, i): Promise<FileWrite[]> => {
        const a = artifacts.get(c.artifact);
        const key = (await leafKeyPromises[i])?.privateKey;
        if (!a || !key) return [];
        const node = nodes.get(c.artifact);
        const client = clients.get(c.artifact);
        const cert = await issueCertificate({
          kind: node ? 'node' : 'client',
          subjectKey: key,
          signer,
          issuer: caCert,
          commonName: node ? 'node' : (client?.user ?? ''),
          hosts: node?.hosts,
          now,
          lifetimeMs: durationToMs(node?.lifetime ?? client?.lifetime ?? 0n),
          serial: randomBytes(16),
        });
        const out: FileWrite[] = [];
        for (const f of a.files) {
          // An up-to-date bundle copy is left alone, so a reissue touches only the pair.
          if (f.role === 'ca-bundle' && tree.entries[f.rel]?.bytes?.equals(bundle)) continue;
          const data = f.role === 'ca-bundle' ? bundle : f.role === 'cert' ? encodePem('CERTIFICATE', Buffer.from(cert.rawData)) : f.role === 'key' ? privateKeyToPem(key) : privateKeyToPkcs8Der(key);
          out.push({ path: abs(f.rel), data, mode: f.mode, exclusive: false });
        }
        return out;
      }),
    );
    writes.push(...leafWrites.flat());
    for (const c of todo) {
      if (c.action === 'update-ca-bundle') for (const rel of c.files) writes.push({ path: abs(rel), data: bundle, mode: CERT_MODE, exclusive: false });
      if (isDerivedPkcs8(c)) {
        // A PKCS#8 copy derived from the existing key: no reissue needed.
        const a = artifacts.get(c.artifact);
        const keyRel = a?.files.find((f) => f.role === 'key')?.rel ?? '';
        writes.push({ path: abs(c.files[0] ?? ''), data: privateKeyToPkcs8Der(keyFromTree(tree, keyRel)), mode: KEY_MODE, exclusive: false });
      }
    }

    // Publish: folders first (0700, the CA key's too), then every file in one atomic batch.
    for (const dir of new Set(writes.map((w) => path.dirname(w.path)))) await mkdirTracked(dir, created);
    try {
      await writeFilesAtomic(writes);
    } catch (err) {
      throw new CertgenError(`apply failed, nothing was changed: ${(err as Error).message}`, { cause: err });
    }
    result.written.push(...writes.map((w) => w.path));

    for (const c of todo) {
      if (c.action === 'fix-mode') {
        for (const r of c.reasons) {
          if (!r.file || !r.expected) continue;
          const p = path.isAbsolute(r.file) ? r.file : abs(r.file);
          await fs.chmod(p, Number.parseInt(r.expected, 8));
          result.chmodded.push(p);
        }
      }
      if (c.action === 'orphan') {
        for (const rel of c.files) {
          await fs.rm(abs(rel), { recursive: true, force: true });
          result.removed.push(abs(rel));
        }
      }
      result.applied.push(c);
      opts.onEvent?.({ type: 'done', change: c });
    }
    return result;
  } finally {
    await lock.release();
  }
}

/** Past tense of each action, for apply's report. */
export const DONE_VERB: Record<Change['action'], string> = {
  create: 'created',
  reissue: 'reissued',
  'fix-mode': 'fixed mode',
  'update-ca-bundle': 'updated CA bundle',
  orphan: 'pruned',
  keep: 'kept',
};

export function renderApplyText(r: ApplyResult): string {
  const n = r.cleanedUp.length;
  const cleaned = n > 0 ? `Removed ${n} file${n === 1 ? '' : 's'} left by an interrupted apply.\n` : '';
  if (r.applied.length === 0) return `${cleaned}Nothing to do: ${r.plan.certsDir} matches ${r.plan.specFile}.\n`;
  const width = Math.max(...r.applied.map((c) => c.artifact.length));
  const lines = r.applied.map((c) => `  ${DONE_VERB[c.action].padEnd(18)} ${c.artifact.padEnd(width)}  ${c.reasons.map((x) => x.code).join(', ')}`);
  return `${cleaned}Applied ${r.applied.length} change${r.applied.length === 1 ? '' : 's'} to ${r.plan.certsDir}:\n${lines.join('\n')}\n`;
}
