// What a node serves right now, for `certgen status`: one fresh connection per endpoint of its
// `verify:` block, each presentation judged against the local node.crt, ca.crt and the node's
// hosts exactly as `distribute --verify` judges it (src/verify/compare.ts). One look, no polling:
// status reports the fleet as it is, it does not wait for a reload to take effect.
import { NODE_CERT } from '../core/cert-names.js';
import { judge, type HostCheck } from '../verify/compare.js';
import { DEFAULT_PROBE_TIMEOUT_MS, endpointsOf, probeEndpoint, type EndpointKind } from '../verify/probe.js';
import type { TargetPlan } from './types.js';
import { expectationsOf, servernameOf, verifyEndpointsOf, type Expectations } from './verify-target.js';

/**
 * `in-sync`: the endpoint presents the local node.crt, its chain verifies against the local
 * ca.crt and every host of the node passes the name check; `drift`: any of that fails;
 * `unreachable`: no TLS handshake (down, refused, not TLS, timed out).
 */
export type ServedState = 'in-sync' | 'drift' | 'unreachable';

/** One endpoint's certificate as one fresh handshake saw it. */
export interface ServedEndpoint {
  kind: EndpointKind;
  host: string;
  port: number;
  state: ServedState;
  /** Lower-case hex SHA-256 of the presented leaf's DER (null: nothing presented). */
  sha256: string | null;
  /** The same as `AB:CD:…`, as openssl prints it. */
  fingerprint: string | null;
  /** ISO 8601. */
  notAfter: string | null;
  serial: string | null;
  subject: string | null;
  /** `TLSv1.3`. */
  protocol: string | null;
  /** The local file this endpoint should present: `node.crt`, or `ui.crt` on the HTTP port of a node that has one. */
  expected: string;
  /** Lower-case hex SHA-256 of that file's certificate (null: the local files could not be read). */
  expectedSha256: string | null;
  /** The presented leaf is that local file (null: nothing presented). */
  matchesLocal: boolean | null;
  /** The presented chain verifies against the local ca.crt (ca-ui.crt for ui.crt; null: nothing presented, or a ui.crt without ca-ui.crt: not checked). */
  chainVerifies: boolean | null;
  chainError: string | null;
  /** Each of the node's hosts against the presented leaf's SANs. */
  hosts: HostCheck[];
  /** One line each, as distribute --verify words them: why it is drift or unreachable. */
  problems: string[];
  durationMs: number;
}

export interface Served {
  /** Where the endpoints were reached (the verify block's host, else the ssh host). */
  host: string;
  /** Lower-case hex SHA-256 of the local node.crt's DER, which every endpoint should present. */
  expectedSha256: string | null;
  endpoints: ServedEndpoint[];
  /** The worst endpoint state (`in-sync` with none). */
  state: ServedState;
  /** Why the local files could not be compared with (then the endpoints are `unreachable`). */
  error: string | null;
}

const RANK: Record<ServedState, number> = { 'in-sync': 0, drift: 1, unreachable: 2 };

/** The worst of several states (`unreachable`, then `drift`, then `in-sync`). */
export function worstState(states: ServedState[]): ServedState {
  return states.reduce<ServedState>((a, b) => (RANK[b] > RANK[a] ? b : a), 'in-sync');
}

/** Reads the local files a node is judged by; the reason when it cannot. */
async function expectedOf(plan: TargetPlan): Promise<Expectations | string> {
  try {
    return await expectationsOf(plan);
  } catch (err) {
    return `cannot read the local node.crt and ca.crt: ${(err as Error).message}`;
  }
}

/** One look at every endpoint of a node's `verify:` block, at once; never throws. */
export async function servedBy(plan: TargetPlan, options: { timeoutMs?: number; now?: () => Date } = {}): Promise<Served> {
  const { host, ports } = verifyEndpointsOf(plan);
  const eps = endpointsOf(host, ports);
  const expected = await expectedOf(plan);
  if (typeof expected === 'string') {
    const endpoints = eps.map((ep): ServedEndpoint => ({ ...ep, expected: NODE_CERT, expectedSha256: null, state: 'unreachable', sha256: null, fingerprint: null, notAfter: null, serial: null, subject: null, protocol: null, matchesLocal: null, chainVerifies: null, chainError: null, hosts: [], problems: [expected], durationMs: 0 }));
    return { host, expectedSha256: null, endpoints, state: 'unreachable', error: expected };
  }
  const servername = servernameOf(plan.hosts ?? []);
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const now = options.now ?? (() => new Date());
  const endpoints = await Promise.all(
    eps.map(async (ep): Promise<ServedEndpoint> => {
      const p = await probeEndpoint(ep, { timeoutMs, ...(servername !== undefined ? { servername } : {}) });
      const want = expected.of(ep.kind);
      const j = judge(p, want, now());
      const leaf = p.reached ? p.leaf : null;
      return {
        ...ep,
        expected: j.cert,
        expectedSha256: want.sha256,
        state: leaf === null ? 'unreachable' : j.ok ? 'in-sync' : 'drift',
        sha256: leaf?.sha256 ?? null,
        fingerprint: leaf?.fingerprint ?? null,
        notAfter: leaf === null || leaf.notAfter === '' ? null : leaf.notAfter,
        serial: leaf === null || leaf.serial === '' ? null : leaf.serial,
        subject: leaf === null || leaf.subject === '' ? null : leaf.subject,
        protocol: p.protocol,
        matchesLocal: leaf === null ? null : j.leafMatches,
        chainVerifies: j.chainVerifies,
        chainError: j.chainError,
        hosts: j.hosts,
        problems: j.problems,
        durationMs: p.durationMs,
      };
    }),
  );
  return { host, expectedSha256: expected.node.sha256, endpoints, state: worstState(endpoints.map((e) => e.state)), error: null };
}
