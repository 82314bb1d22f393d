// Saved plans (`certgen plan --out FILE`, then `certgen apply FILE`), as terraform's: the plan a
// pull request shows is the one merging applies. The file holds the plan and digests of what it
// was computed from (the spec's plan-relevant values and every file of the tree), never key
// material: a digest of a file is not the file. The digests and comparisons are pure; the last
// part reads and writes the file.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type SchemaObject, type ValidateFunction } from 'ajv';
import { CertgenError } from '../errors.js';
import { writeFilesAtomic } from '../io/files.js';
import { readTree } from '../tree/read-tree.js';
import { diff } from './diff.js';
import { rotationContexts } from './rotation.js';
import type { PlanOptions } from './plan.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import type { ActualTree, FileFact } from '../tree/read-tree.js';
import { LOCK_FILE } from '../tree/layout.js';
import { isActionable, type Change, type Plan } from './types.js';

export const SAVED_PLAN_FORMAT = 'certgen-saved-plan';
export const SAVED_PLAN_VERSION = 1;

/** What a plan was computed from, as digests. */
export interface PlanInputs {
  /** SHA-256 of the spec's values the plan depends on (paths relative to the spec's folder). */
  spec: string;
  /** Per file or folder of the tree (relative, `/`): SHA-256 of its type, mode, owner and bytes. */
  files: Record<string, string>;
  /** The same for the CA key. */
  caKey: string;
}

export interface SavedPlan {
  format: typeof SAVED_PLAN_FORMAT;
  version: typeof SAVED_PLAN_VERSION;
  /** The spec file, relative to the saved plan's folder (so a checkout elsewhere still finds it). */
  specFile: string;
  inputs: PlanInputs;
  plan: Plan;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

function factDigest(f: FileFact): string {
  const h = createHash('sha256').update(`${f.type}\0${f.mode}\0${f.uid}\0${f.gid}\0${f.error ?? ''}\0${f.target ?? ''}\0`);
  // An encrypted CA key is its file: the same whether or not this run could decrypt it.
  if (f.armored) h.update(f.armored);
  else if (f.bytes) h.update(f.bytes);
  return h.digest('hex');
}

/** The spec's values the diff reads; labels, ssh and reload commands do not change a plan. */
export function specDigest(spec: ClusterSpec): string {
  const rel = (p: string): string => path.relative(spec.baseDir, p).split(path.sep).join('/');
  const values = {
    certsDir: rel(spec.certsDir),
    caKey: rel(spec.caKey),
    ca: { keyType: spec.ca.keyType ?? 'rsa', keySize: spec.ca.keySize, lifetime: String(spec.ca.lifetime) },
    nodes: spec.nodes.map((n) => ({ name: n.name, hosts: n.hosts, keyType: n.keyType ?? 'rsa', keySize: n.keySize, lifetime: String(n.lifetime), renewBefore: String(n.renewBefore), ...(n.ageRecipients ? { age: n.ageRecipients } : {}) })),
    clients: spec.clients.map((c) => ({ user: c.user, pkcs8: c.pkcs8, keyType: c.keyType ?? 'rsa', keySize: c.keySize, lifetime: String(c.lifetime), renewBefore: String(c.renewBefore), ...(c.ageRecipients ? { age: c.ageRecipients } : {}) })),
  };
  return sha256(JSON.stringify(values));
}

export function planInputs(spec: ClusterSpec, tree: ActualTree): PlanInputs {
  const files: Record<string, string> = {};
  // The lock is apply's own (held while it reads the tree), not part of what was planned.
  for (const rel of Object.keys(tree.entries).sort()) if (rel !== LOCK_FILE) files[rel] = factDigest(tree.entries[rel] as FileFact);
  if (tree.rootError !== undefined) files['.'] = sha256(`root-error\0${tree.rootError}`);
  return { spec: specDigest(spec), files, caKey: factDigest(tree.caKey) };
}

/** What changed between the inputs a plan was made from and the ones found now; empty when nothing did. */
export function inputChanges(saved: PlanInputs, now: PlanInputs, caKeyLabel: string): string[] {
  const out: string[] = [];
  if (saved.spec !== now.spec) out.push('the spec changed');
  if (saved.caKey !== now.caKey) out.push(`the CA key ${caKeyLabel} changed`);
  const changed: string[] = [];
  for (const [rel, d] of Object.entries(saved.files)) {
    const n = now.files[rel];
    if (n === undefined) changed.push(`${rel} was removed`);
    else if (n !== d) changed.push(`${rel} changed`);
  }
  for (const rel of Object.keys(now.files)) if (!(rel in saved.files)) changed.push(`${rel} appeared`);
  const shown = changed.slice(0, 5);
  if (changed.length > 0) out.push(`in the certs dir ${shown.join(', ')}${changed.length > shown.length ? ` and ${changed.length - shown.length} more` : ''}`);
  return out;
}

/** The program of a plan: what apply would do, without the reasons' wording or the clock. */
function program(plan: Plan): string[] {
  return plan.changes.filter((c) => isActionable(c, plan.prune)).map((c: Change) => JSON.stringify([c.artifact, c.action, c.ops]));
}

/** The artifacts whose program differs between two plans (in the order of either). */
export function programDifferences(a: Plan, b: Plan): string[] {
  const pa = new Set(program(a));
  const pb = new Set(program(b));
  const artifactOf = (s: string): string => (JSON.parse(s) as [string])[0];
  const diff = [...[...pa].filter((x) => !pb.has(x)), ...[...pb].filter((x) => !pa.has(x))].map(artifactOf);
  return [...new Set(diff)];
}

/** Whether a parsed JSON value claims to be a saved plan (only the envelope is looked at). */
export function isSavedPlan(v: unknown): v is SavedPlan {
  const o = v as Partial<SavedPlan> | null;
  return typeof o === 'object' && o !== null && o.format === SAVED_PLAN_FORMAT;
}

// --- the file ---------------------------------------------------------------------------------

/** The plan for `spec` now, with the digests of what it was computed from, to be saved at `planFile`. */
export async function savedPlanFor(spec: ClusterSpec, planFile: string, opts: PlanOptions = {}): Promise<SavedPlan> {
  const tree = await readTree(spec, { ...(opts.identities ? { identities: opts.identities } : {}) });
  const rotations = await rotationContexts(spec, tree, opts.identities);
  const plan = diff({ spec, tree, now: (opts.now ?? (() => new Date()))(), prune: opts.prune, specFile: opts.specFileLabel, certsDirLabel: opts.certsDirLabel, ...rotations });
  const specFile = path.relative(path.dirname(path.resolve(planFile)), spec.file).split(path.sep).join('/');
  return { format: SAVED_PLAN_FORMAT, version: SAVED_PLAN_VERSION, specFile, inputs: planInputs(spec, tree), plan };
}

/** Writes a saved plan (0644: it holds no secret), replacing the file at once. */
export async function writeSavedPlan(planFile: string, saved: SavedPlan): Promise<void> {
  try {
    await writeFilesAtomic([{ path: planFile, data: `${JSON.stringify(saved, null, 2)}\n`, mode: 0o644, exclusive: false }]);
  } catch (err) {
    throw new CertgenError(`could not save the plan: ${(err as Error).message}`, { cause: err });
  }
}

// schemas/ is outside src/; the same relative path works from src/plan/ (tsx) and dist/plan/.
const require = createRequire(import.meta.url);
let planValidator: ValidateFunction | undefined;

/**
 * The saved plan in `file`, or undefined when the file is not one (a spec, say). A file that says
 * it is a saved plan but is damaged, hand-edited into something else, or from another version is
 * an error: apply must never guess what a plan meant.
 */
export async function readSavedPlan(file: string): Promise<SavedPlan | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined; // the spec loader says why the file cannot be read
  }
  if (!/^\s*\{/.test(text)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isSavedPlan(v)) return undefined;
  if (v.version !== SAVED_PLAN_VERSION) throw new CertgenError(`${file} is a saved plan of version ${String(v.version)}; this certgen reads version ${SAVED_PLAN_VERSION}: make the plan again with this certgen`);
  planValidator ??= new Ajv({ strict: false, validateFormats: false }).compile(require('../../schemas/plan.schema.json') as SchemaObject);
  const inputsOk = typeof v.inputs === 'object' && v.inputs !== null && typeof v.inputs.spec === 'string' && typeof v.inputs.caKey === 'string' && typeof v.inputs.files === 'object';
  if (!planValidator(v.plan) || !inputsOk || typeof v.specFile !== 'string') {
    const where = planValidator.errors?.[0];
    throw new CertgenError(`${file} is not a valid saved plan${where ? ` (plan${where.instancePath} ${where.message ?? ''})` : ''}: make it again with certgen plan --out ${file}`);
  }
  return v;
}
