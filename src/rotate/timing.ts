// The rotation's timing rules (../shared/reference/rotation-and-gitops.md §4, R2): the trust and
// reissue phases must be finished by the old CA's NotAfter minus a margin (`ca.rotationMargin`;
// by default the longest renewBefore of its leaves: they must be renewable by the new CA before
// the old one ends), so a rotation must start by that deadline minus the time clients take to
// pick up a bundle (`ca.clientPropagation`) and the time the rolling reissue takes
// (`ca.reissueAllowance`, default 24h). Pure.
import { DEFAULT_CLIENT_PROPAGATION, DEFAULT_REISSUE_ALLOWANCE, DEFAULT_RENEW_BEFORE_NS, type ClusterSpec } from '../cluster-spec/spec.js';
import { durationToMs, parseDuration } from '../core/duration.js';

/** What the rolling reissue of every leaf is allowed to take, in the latest-start arithmetic. */
export function reissueAllowanceMs(spec: ClusterSpec): number {
  return durationToMs(spec.ca.reissueAllowance ?? parseDuration(DEFAULT_REISSUE_ALLOWANCE));
}

export function clientPropagationMs(spec: ClusterSpec): number {
  return durationToMs(spec.ca.clientPropagation ?? parseDuration(DEFAULT_CLIENT_PROPAGATION));
}

/** `ca.rotationMargin`, else the longest renewBefore of any leaf (720h when there is none). */
export function marginMs(spec: ClusterSpec): number {
  if (spec.ca.rotationMargin !== undefined) return durationToMs(spec.ca.rotationMargin);
  const leaves = [...spec.nodes, ...spec.clients];
  const ns = leaves.length === 0 ? DEFAULT_RENEW_BEFORE_NS : leaves.reduce((m, l) => (l.renewBefore > m ? l.renewBefore : m), 0n);
  return durationToMs(ns);
}

export interface RotationTiming {
  /** Trust and reissue must be done by then. */
  deadline: Date;
  /** The latest day a rotation can start and still meet the deadline. */
  latestStart: Date;
}

export function rotationTiming(spec: ClusterSpec, oldNotAfter: Date): RotationTiming {
  const deadline = new Date(oldNotAfter.getTime() - marginMs(spec));
  return { deadline, latestStart: new Date(deadline.getTime() - clientPropagationMs(spec) - reissueAllowanceMs(spec)) };
}

/** How long the new CA must last: a full leaf lifetime and its renewal window, plus the next rotation's lead time (P0). */
export function newCaLifetimeNeededMs(spec: ClusterSpec): number {
  const leaves = [...spec.nodes, ...spec.clients];
  const longest = leaves.reduce((m, l) => Math.max(m, durationToMs(l.lifetime)), 0);
  return longest + marginMs(spec) + clientPropagationMs(spec) + reissueAllowanceMs(spec);
}
