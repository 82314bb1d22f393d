// The rotation's own record: a small, non-secret JSON file committed beside the spec
// (`cluster-certs.rotation.json` for `cluster-certs.yaml`; a rotation of the split client CA has
// its own, `cluster-certs.client-ca.rotation.json`, so the two never share state) holding only what the tree cannot say:
// the rotation id, the phase reached and when, the two CA certificates (public), the new key's
// path (never the key), and per node and client what was observed or acknowledged. Everything the
// tree can say (which CAs the bundles hold, which key signs, which CA signed each leaf) is derived
// from it on every run (derive.ts) and compared with this file.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { CertgenError } from '../errors.js';
import { errnoText, writeFilesAtomic } from '../io/files.js';
import { isEncryptedCAKey } from '../tree/layout.js';

export const ROTATION_VERSION = 1;

/** What a rotation rotates: the CA of ca.crt, or the split client CA of ca-client.crt. */
export const ROTATION_KINDS = ['ca', 'client-ca'] as const;
export type RotationKind = (typeof ROTATION_KINDS)[number];

/** The phases in order; the state's `phase` is the last one reached. */
export const PHASES = ['staged', 'trusted', 'reissued', 'pruned', 'done'] as const;
export type Phase = (typeof PHASES)[number];
/** What `rotate status` reports: `none` when no rotation was ever started. */
export type StatusPhase = 'none' | Phase;

export function nextPhase(p: Phase): Phase | undefined {
  return PHASES[PHASES.indexOf(p) + 1];
}

/** Why a rotation stops: a state that disagrees with the tree, or a gate that does not hold yet. */
export const ROTATION_REASONS = [
  'no-rotation',
  'rotation-in-progress',
  'other-rotation-in-progress',
  'state-unreadable',
  'bundle-lacks-new-ca',
  'bundle-lacks-old-ca',
  'bundle-has-old-ca',
  'bundle-unexpected',
  'new-key-missing',
  'new-key-mismatch',
  'old-key-missing',
  'signing-key-unexpected',
  'signed-by-new-ca',
  'signed-by-old-ca',
  'precondition',
  'client-ca-not-split',
  'rotation-deadline',
  'trust-unverified',
  'clients-unacked',
  'leaf-unverified',
  'prune-blocked',
  'prune-unverified',
  'abort-refused',
  'operator-shipped',
  'age-identity-needed',
  'age-unreadable',
] as const;
export type RotationReason = (typeof ROTATION_REASONS)[number];

/** A rotation step refused or stopped at a gate; `reason` is the stable code. Exit 1. */
export class RotationError extends CertgenError {
  readonly reason: RotationReason;
  constructor(reason: RotationReason, message: string, hint?: string) {
    super(`${reason}: ${message}`, { code: 'rotation', ...(hint !== undefined ? { hint } : {}) });
    this.name = 'RotationError';
    this.reason = reason;
  }
}

/** One node as the rotation saw it (ISO times). */
export interface NodeObservation {
  /** SHA-256 (hex) of the ca.crt last shipped to it, and when. */
  bundleSha256?: string;
  bundleShippedAt?: string;
  /** The operator said (--shipped) they put the files there themselves. */
  operatorShippedAt?: string;
  /** A probe signed by the new CA was accepted (V2). */
  trustVerifiedAt?: string;
  /** The new leaf it presents (V3): SHA-256 (hex), shipped and seen served. */
  leafSha256?: string;
  leafShippedAt?: string;
  leafServedAt?: string;
  /** A probe signed by the old CA was refused after the prune (V4). */
  pruneVerifiedAt?: string;
}

export interface ClientObservation {
  /** When its certificate signed by the new CA was issued (SHA-256 hex of it). */
  issuedAt?: string;
  leafSha256?: string;
  /** When the operator acknowledged it deployed (--ack-clients). */
  ackedAt?: string;
}

export interface CaRecord {
  /** SHA-256 (hex, lower case) of the certificate's DER. */
  sha256: string;
  notAfter: string;
  /** The certificate (public), so a probe can still be signed as this CA once it left the bundle. */
  pem: string;
}

export interface RotationState {
  version: typeof ROTATION_VERSION;
  id: string;
  kind: RotationKind;
  compromised: boolean;
  phase: Phase;
  /** The phase being entered, from its first change until it is reached: a rerun resumes it. */
  pending?: Phase;
  startedAt: string;
  /** When each phase was reached. */
  reached: Partial<Record<Phase, string>>;
  /** The trust and reissue phases must be finished by then (the old CA's NotAfter minus the margin). */
  deadline: string;
  old: CaRecord;
  new: CaRecord;
  /** The new CA key while the old one signs, then the old key until it is retired; relative to the spec's folder. */
  newKey: string;
  oldKeyArchive: string;
  /** Which CA signs leaves now (recorded, never inferred from the bundle's order). */
  signing: 'old' | 'new';
  nodes: Record<string, NodeObservation>;
  clients: Record<string, ClientObservation>;
  /** The operator acknowledged (--ack-clients, in trusted) that every client has the new bundle. */
  bundleAckedAt?: string;
  /** An abort under way since then (a rerun of abort finishes it). */
  aborting?: string;
}

/** The rotation file of a spec: beside it, named after it (and after the kind, for the client CA). */
export function rotationFileFor(specFile: string, kind: RotationKind = 'ca'): string {
  const base = path.basename(specFile).replace(/\.(ya?ml|json)$/i, '');
  return path.join(path.dirname(specFile), `${base}${kind === 'client-ca' ? '.client-ca' : ''}.rotation.json`);
}

/** The key a rotation of `kind` replaces: caKey, or clientCa.key. */
export function rotatedKeyPath(spec: ClusterSpec, kind: RotationKind): string {
  if (kind === 'ca') return spec.caKey;
  if (spec.clientCa === undefined) throw new RotationError('client-ca-not-split', `${path.basename(spec.file)} has no split client CA (clientCa:)`);
  return spec.clientCa.key;
}

/** Where the new CA key lies while the old one still signs: beside the CA key (an encrypted one keeps its .age ending). */
export function nextKeyPath(spec: ClusterSpec, kind: RotationKind = 'ca'): string {
  return besideCAKey(rotatedKeyPath(spec, kind), 'next');
}

/** Where the old CA key goes when the new one takes its place: beside it, named after the rotation. */
export function archiveKeyPath(spec: ClusterSpec, id: string, kind: RotationKind = 'ca'): string {
  return besideCAKey(rotatedKeyPath(spec, kind), `${id}.old`);
}

/** `ca.key.<what>`, or `ca.key.<what>.age` for an encrypted CA key: still an age file by its name. */
function besideCAKey(key: string, what: string): string {
  return isEncryptedCAKey(key) ? `${key.slice(0, -'.age'.length)}.${what}.age` : `${key}.${what}`;
}

/** A path recorded in the state: relative to the spec's folder, with `/`. */
export function recordedPath(spec: ClusterSpec, abs: string): string {
  return path.relative(spec.baseDir, abs).split(path.sep).join('/');
}

export function resolveRecorded(spec: ClusterSpec, rel: string): string {
  return path.resolve(spec.baseDir, rel);
}

/** The state file, or undefined when there is none; a file that is not a rotation state is a RotationError. */
export async function readRotationState(spec: ClusterSpec, kind: RotationKind = 'ca'): Promise<RotationState | undefined> {
  const file = rotationFileFor(spec.file, kind);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RotationError('state-unreadable', `cannot read ${file}: ${errnoText(err)}`);
  }
  return parseRotationState(text, file, kind);
}

export function parseRotationState(text: string, file: string, kind: RotationKind = 'ca'): RotationState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new RotationError('state-unreadable', `${file} is not JSON (${(err as Error).message})`, 'restore it from git: certgen never repairs the rotation state');
  }
  const o = v as Partial<RotationState> | null;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    o.version === ROTATION_VERSION &&
    o.kind === kind &&
    typeof o.id === 'string' &&
    PHASES.includes(o.phase as Phase) &&
    (o.pending === undefined || PHASES.includes(o.pending)) &&
    (o.signing === 'old' || o.signing === 'new') &&
    typeof o.old?.sha256 === 'string' &&
    typeof o.old.pem === 'string' &&
    typeof o.new?.sha256 === 'string' &&
    typeof o.new.pem === 'string' &&
    typeof o.newKey === 'string' &&
    typeof o.oldKeyArchive === 'string' &&
    typeof o.nodes === 'object' &&
    typeof o.clients === 'object';
  if (!ok) throw new RotationError('state-unreadable', `${file} is not a certgen rotation state of the ${kind === 'ca' ? 'CA' : 'client CA'} (version ${ROTATION_VERSION}, kind ${kind})`, 'restore it from git: certgen never repairs the rotation state');
  return o as RotationState;
}

/** Writes the state file at once (0644: nothing in it is secret). */
export async function writeRotationState(spec: ClusterSpec, state: RotationState): Promise<void> {
  await writeFilesAtomic([{ path: rotationFileFor(spec.file, state.kind), data: `${JSON.stringify(state, null, 2)}\n`, mode: 0o644, exclusive: false }]);
}

export async function removeRotationState(spec: ClusterSpec, kind: RotationKind = 'ca'): Promise<void> {
  await fs.rm(rotationFileFor(spec.file, kind), { force: true });
}

/** Whether a rotation is under way (started and not done). */
export function inProgress(state: RotationState | undefined): state is RotationState {
  return state !== undefined && state.phase !== 'done';
}
