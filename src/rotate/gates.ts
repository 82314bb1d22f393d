// The gates between phases that depend on time, policy and acknowledgements (the remote checks
// V2–V4 run in continue.ts). Pure: the state, the spec and `now` decide.
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { formatMs } from '../core/duration.js';
import type { RotationReason, RotationState } from './state.js';
import { clientPropagationMs } from './timing.js';

export interface Wait {
  reason: RotationReason;
  message: string;
  /** When the wait ends by itself (a time), if it does. */
  until?: string;
}

/** trusted → reissued: every client has had the bundle long enough, or was acknowledged. */
export function clientsWait(spec: ClusterSpec, state: RotationState, now: Date, ackClients: boolean): Wait | undefined {
  // Clients never hold ca-client.crt (only the nodes verify with it): nothing to propagate to them.
  if (state.kind === 'client-ca') return undefined;
  if (ackClients || state.bundleAckedAt !== undefined) return undefined;
  const trustedAt = Date.parse(state.reached.trusted ?? state.startedAt);
  const until = trustedAt + clientPropagationMs(spec);
  if (now.getTime() >= until) return undefined;
  return {
    reason: 'clients-unacked',
    message: `clients may not have the new CA yet: ca.clientPropagation (${formatMs(clientPropagationMs(spec))}) after trust was reached runs until ${new Date(until).toISOString()}`,
    until: new Date(until).toISOString(),
  };
}

/** reissued → pruned: the policy allows it, and every client's new certificate is acknowledged as deployed. */
export function pruneWait(spec: ClusterSpec, state: RotationState, now: Date, ackClients: boolean): Wait | undefined {
  const unacked = spec.clients.map((c) => c.user).filter((u) => state.clients[u]?.ackedAt === undefined);
  if (!ackClients && unacked.length > 0) {
    return { reason: 'prune-blocked', message: `the new certificates of ${unacked.length} client${unacked.length === 1 ? '' : 's'} (${unacked.slice(0, 3).join(', ')}${unacked.length > 3 ? ', …' : ''}) are not acknowledged as deployed; pruning makes the nodes refuse their old ones` };
  }
  const atOnce = state.compromised || spec.ca.pruneOld === 'after-reissue';
  if (!atOnce && now.getTime() < Date.parse(state.old.notAfter)) {
    return { reason: 'prune-blocked', message: `ca.pruneOld is at-expiry: the old CA leaves the bundles once it has expired, on ${state.old.notAfter} (it does no harm there meanwhile)`, until: state.old.notAfter };
  }
  return undefined;
}
