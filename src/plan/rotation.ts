// What a CA rotation under way (src/rotate/) tells plan, apply, check and report: read from the
// rotation state beside the spec and from the tree, handed to the pure diff as its `rotation`
// (the CA of ca.crt) and `clientCaRotation` (the split client CA, from its own state file).
// No rotation (or a finished one): undefined, and the diff is as it always was.
import type { ClusterSpec } from '../cluster-spec/spec.js';
import type { ActualTree } from '../tree/read-tree.js';
import { colonFingerprint, problemsOf, rotationFacts } from '../rotate/derive.js';
import { RotationError, inProgress, readRotationState, type RotationKind, type RotationState } from '../rotate/state.js';
import { rotationTiming } from '../rotate/timing.js';
import type { RotationContext } from './types.js';

/** Both rotations' contexts, as diff takes them (spread into its input). */
export async function rotationContexts(spec: ClusterSpec, tree: ActualTree, identities?: readonly string[]): Promise<{ rotation?: RotationContext; clientCaRotation?: RotationContext }> {
  const rotation = await rotationContext(spec, tree, identities);
  const clientCaRotation = spec.clientCa ? await rotationContext(spec, tree, identities, 'client-ca') : undefined;
  return { ...(rotation ? { rotation } : {}), ...(clientCaRotation ? { clientCaRotation } : {}) };
}

export async function rotationContext(spec: ClusterSpec, tree: ActualTree, identities?: readonly string[], kind: RotationKind = 'ca'): Promise<RotationContext | undefined> {
  let state;
  try {
    state = await readRotationState(spec, kind);
  } catch (err) {
    if (!(err instanceof RotationError)) throw err;
    // Nothing can be trusted about who signs: the plan stops on it.
    return { id: '?', phase: 'unknown', signing: 'old', signer: '', capAtSigner: false, problems: [{ code: err.reason, message: err.message.replace(/^[a-z-]+: /, '') }] };
  }
  if (!inProgress(state)) return undefined;
  if (kind === 'ca' && tree.caKey.sealed) {
    // Encrypted CA keys (caKey ending in .age) tell who signs only once decrypted.
    return { id: state.id, phase: state.phase, signing: state.signing, signer: '', capAtSigner: false, problems: [{ code: tree.caKey.sealed.code, message: `rotation ${state.id} is under way and ${tree.caKey.sealed.message}, nor tell which CA key is which` }] };
  }
  const facts = await rotationFacts(spec, tree, state, identities);
  const problems = problemsOf(state, facts, { aborting: state.aborting !== undefined });
  // The key at caKey decides who can sign; the state records who should, and problemsOf compares them.
  const signing = facts.signingKey === 'new' ? 'new' : 'old';
  const signer = colonFingerprint(signing === 'new' ? state.new.sha256 : state.old.sha256);
  return { id: state.id, phase: state.phase, ...(state.pending ? { pending: state.pending } : {}), signing, signer, capAtSigner: signing === 'old', problems };
}

/** What the report's forecast adds for a spec: the latest safe rotation start, and a rotation under way (`state`, read by the caller). */
export function rotationForecast(spec: ClusterSpec, caNotAfter: Date, state: RotationState | undefined): { latestStart: string; deadline: string; rotation?: { id: string; phase: string; deadline: string } } {
  const t = rotationTiming(spec, caNotAfter);
  // RFC 3339 to the second, as the report's other times.
  const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const out = { latestStart: iso(t.latestStart), deadline: iso(t.deadline) };
  return inProgress(state) ? { ...out, rotation: { id: state.id, phase: state.phase, deadline: state.deadline } } : out;
}

/** The rotation state, or undefined when there is none or it cannot be read (rotationContext reports that). */
export function rotationStateQuietly(spec: ClusterSpec, kind: RotationKind = 'ca'): Promise<RotationState | undefined> {
  return readRotationState(spec, kind).catch(() => undefined);
}
