// `certgen rotate status`: the phase, what the next step needs, per node and client what was
// observed, and whether the tree agrees with the state file, for the rotation of one kind (the
// CA, or the split client CA). Never writes.
import { requireCAKeyIdentity } from './keys.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { readTree } from '../tree/read-tree.js';
import { problemsOf, rotationFacts, type RotationProblem, type Which } from './derive.js';
import { clientsWait, pruneWait } from './gates.js';
import { RotationError, nextPhase, readRotationState, rotationFileFor, type ClientObservation, type NodeObservation, type Phase, type RotationKind, type RotationState, type StatusPhase } from './state.js';
import { targetOf } from './target.js';
import { rotationTiming } from './timing.js';

export const ROTATE_STATUS_VERSION = 1;

export interface RotateStatus {
  version: typeof ROTATE_STATUS_VERSION;
  phase: StatusPhase;
  stateFile: string;
  id: string | null;
  kind: RotationKind | null;
  compromised: boolean;
  /** The phase being entered by a step that was interrupted (rerun `rotate continue`). */
  pending: Phase | null;
  aborting: boolean;
  signing: 'old' | 'new' | null;
  startedAt: string | null;
  reached: Partial<Record<Phase, string>>;
  deadline: string | null;
  /** The latest safe start of a rotation of the current CA (when none is under way), or of this one. */
  latestStart: string | null;
  old: { sha256: string; notAfter: string } | null;
  new: { sha256: string; notAfter: string } | null;
  /** The CAs of the root bundle (ca.crt; ca-client.crt for the client CA), in order. */
  bundle: Which[];
  /** The tree agrees with the state file; otherwise `problems` says where not (exit 1). */
  consistent: boolean;
  problems: RotationProblem[];
  next: { phase: Phase | null; command: string | null; needs: string[] };
  nodes: Array<{ name: string; ssh: boolean; verify: boolean; bundle: Which[]; leafSignedBy: Which } & NodeObservation>;
  clients: Array<{ user: string; leafSignedBy: Which } & ClientObservation>;
}

export async function rotateStatus(spec: ClusterSpec, opts: { now?: () => Date; identities?: readonly string[]; kind?: RotationKind } = {}): Promise<RotateStatus> {
  const now = (opts.now ?? (() => new Date()))();
  const kind = opts.kind ?? 'ca';
  const flag = targetOf(spec, kind).flag;
  const base: RotateStatus = {
    version: ROTATE_STATUS_VERSION,
    phase: 'none',
    stateFile: rotationFileFor(spec.file, kind),
    id: null,
    kind: null,
    compromised: false,
    pending: null,
    aborting: false,
    signing: null,
    startedAt: null,
    reached: {},
    deadline: null,
    latestStart: null,
    old: null,
    new: null,
    bundle: [],
    consistent: true,
    problems: [],
    next: { phase: 'staged', command: `certgen rotate start${flag}`, needs: [] },
    nodes: [],
    clients: [],
  };
  let state: RotationState | undefined;
  try {
    state = await readRotationState(spec, kind);
  } catch (err) {
    if (!(err instanceof RotationError)) throw err;
    return { ...base, phase: 'none', consistent: false, problems: [{ code: err.reason, message: err.message }], next: { phase: null, command: null, needs: ['restore the rotation state file from git'] } };
  }
  if (state === undefined) return base;
  // An encrypted CA key: which key is where can be told only by decrypting them (the client CA's key is never encrypted).
  if (kind === 'ca') requireCAKeyIdentity(spec, opts.identities);
  const tree = await readTree(spec, opts.identities ? { identities: opts.identities } : {});
  if (kind === 'ca') requireCAKeyIdentity(spec, opts.identities, tree);
  const facts = await rotationFacts(spec, tree, state, opts.identities);
  const problems = state.phase === 'done' && state.aborting === undefined ? [] : problemsOf(state, facts, { aborting: state.aborting !== undefined });
  const timing = rotationTiming(spec, new Date(state.old.notAfter));
  const leafOf = (artifact: string): (typeof facts.leaves)[number] | undefined => facts.leaves.find((l) => l.artifact === artifact);
  return {
    ...base,
    phase: state.phase,
    id: state.id,
    kind: state.kind,
    compromised: state.compromised,
    pending: state.pending ?? null,
    aborting: state.aborting !== undefined,
    signing: state.signing,
    startedAt: state.startedAt,
    reached: state.reached,
    deadline: state.deadline,
    latestStart: timing.latestStart.toISOString(),
    old: { sha256: state.old.sha256, notAfter: state.old.notAfter },
    new: { sha256: state.new.sha256, notAfter: state.new.notAfter },
    bundle: facts.bundle,
    consistent: problems.length === 0,
    problems,
    next: nextStep(spec, state, now),
    // A node's bundle and leaf are those of the rotated CA: ca.crt and node.crt, or ca-client.crt and client.node.crt.
    nodes: spec.nodes.map((n) => ({ name: n.name, ssh: n.ssh !== undefined, verify: n.verify !== undefined || n.ssh !== undefined, bundle: leafOf(`node/${n.name}`)?.bundle ?? [], leafSignedBy: leafOf(`node/${n.name}`)?.signer ?? 'missing', ...state.nodes[n.name] })),
    clients: spec.clients.map((c) => ({ user: c.user, leafSignedBy: leafOf(`client/${c.user}`)?.signer ?? 'missing', ...state.clients[c.user] })),
  };
}

/** What the next `rotate continue` does, and what it needs first. */
function nextStep(spec: ClusterSpec, state: RotationState, now: Date): RotateStatus['next'] {
  const t = targetOf(spec, state.kind);
  const L = t.label;
  if (state.aborting !== undefined) return { phase: null, command: `certgen rotate abort${t.flag}`, needs: [`an abort was interrupted: rerun certgen rotate abort${t.flag}`] };
  const to = state.pending ?? nextPhase(state.phase);
  if (to === undefined) return { phase: null, command: `certgen rotate start${t.flag}`, needs: [] };
  const needs: string[] = [];
  const operator = spec.nodes.filter((n) => n.ssh === undefined).map((n) => n.name);
  const ship = (what: string): void => {
    if (operator.length > 0) needs.push(`nodes without ssh (${operator.join(', ')}): ship their ${what} yourself, reload them, and say so with --shipped ${operator.join(',')}`);
  };
  const client = state.kind === 'client-ca';
  if (to === 'trusted') {
    needs.push(`every ${t.bundle} becomes [new, old]; each node gets it, reloads, and must accept a probe client certificate signed by the new ${L}`);
    ship(t.bundle);
  } else if (to === 'reissued') {
    const w = clientsWait(spec, state, now, false);
    if (w) needs.push(`${w.message}; or acknowledge that every client has the new ca.crt with --ack-clients`);
    needs.push(
      client
        ? `the new client CA signs; every client certificate and each node's ${t.nodeLeaf} are reissued; nodes are rolled one at a time, each must still present its node.crt and accept a probe signed by the new client CA`
        : 'the new CA signs; every leaf is reissued; nodes are rolled one at a time, each must present its new certificate chained to the new CA alone',
    );
    ship(client ? `new ${t.nodeLeaf}/client.node.key` : 'new node.crt/node.key');
  } else if (to === 'pruned') {
    const w = pruneWait(spec, state, now, false);
    if (w) needs.push(w.message + (w.reason === 'prune-blocked' && w.until === undefined ? '; acknowledge with --ack-clients' : ''));
    needs.push(`every ${t.bundle} becomes [new]; each node must refuse a probe signed by the old ${L}`);
    ship(t.bundle);
  } else {
    needs.push(spec.ca.retireOldKey === 'remove' ? `the old ${L} key is removed` : `the old ${L} key is archived read-only (0400)`);
  }
  return { phase: to, command: `certgen rotate continue${t.flag}`, needs };
}
