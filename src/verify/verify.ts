// Live verification of one node: probe each of its endpoints on fresh connections, with backoff,
// until what it presents is the local node.crt (chain to the local ca.crt, every spec host valid)
// or the timeout passes; a reload is asynchronous, so the first look may still see the old
// certificate. Once an endpoint matches, a client certificate (when given) is presented once and
// the server's verdict recorded. A node still presenting another certificate at the timeout
// fails with both fingerprints named.
import { judge, type Expected, type Judgement } from './compare.js';
import { DEFAULT_PROBE_TIMEOUT_MS, colonHex, probeEndpoint, type ClientCredentials, type Endpoint, type Presentation } from './probe.js';

/** How long a node may take to present the new certificate after its reload (ms) by default. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 30_000;

/** The waits between attempts (ms); the last one repeats. */
export const BACKOFF_MS: readonly number[] = [100, 200, 400, 800, 1_600, 2_000];

export interface VerifyOptions {
  /** Overall, per endpoint, from the first attempt; default {@link DEFAULT_VERIFY_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Per connection; default {@link DEFAULT_PROBE_TIMEOUT_MS} (at most what is left of `timeoutMs`). */
  probeTimeoutMs?: number;
  servername?: string;
  client?: ClientCredentials;
  /** The clock, for the chain's validity (default: the system clock at each attempt). */
  now?: () => Date;
  /** Called after each attempt that did not match (progress: "still presents …"). */
  onRetry?: (ep: Endpoint, judgement: Judgement, attempt: number) => void;
}

export interface EndpointVerification {
  kind: Endpoint['kind'];
  host: string;
  port: number;
  ok: boolean;
  attempts: number;
  /** The last presentation (with the client verdict, when one was asked for and the leaf matched). */
  presented: Presentation;
  judgement: Judgement;
  /** One line when not ok; names the presented and the expected fingerprint when they differ. */
  error: string | null;
  durationMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls one endpoint until it presents the expected certificate or `timeoutMs` passes. */
export async function verifyEndpoint(ep: Endpoint, expected: Expected, options: VerifyOptions = {}): Promise<EndpointVerification> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  const deadline = started + timeoutMs;
  const now = options.now ?? (() => new Date());
  const perProbe = options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const base = { ...(options.servername !== undefined ? { servername: options.servername } : {}) };
  let attempts = 0;
  for (;;) {
    attempts++;
    const left = Math.max(1, deadline - Date.now());
    const presented = await probeEndpoint(ep, { ...base, timeoutMs: Math.min(perProbe, left) });
    let judgement = judge(presented, expected, now());
    if (judgement.ok) {
      if (options.client === undefined) return done(ep, true, attempts, presented, judgement, null, started);
      const withClient = await probeEndpoint(ep, { ...base, timeoutMs: perProbe, client: options.client });
      judgement = judge(withClient, expected, now());
      return done(ep, judgement.ok, attempts + 1, withClient, judgement, judgement.ok ? null : judgement.problems.join('; '), started);
    }
    const wait = BACKOFF_MS[Math.min(attempts - 1, BACKOFF_MS.length - 1)] ?? 2_000;
    if (Date.now() + wait >= deadline) {
      return done(ep, false, attempts, presented, judgement, timeoutError(presented, expected, judgement, timeoutMs), started);
    }
    options.onRetry?.(ep, judgement, attempts);
    await sleep(wait);
  }
}

function done(ep: Endpoint, ok: boolean, attempts: number, presented: Presentation, judgement: Judgement, error: string | null, started: number): EndpointVerification {
  return { kind: ep.kind, host: ep.host, port: ep.port, ok, attempts, presented, judgement, error, durationMs: Date.now() - started };
}

/** The failure at the timeout: another certificate names both fingerprints. */
function timeoutError(p: Presentation, expected: Expected, j: Judgement, timeoutMs: number): string {
  const where = `${p.kind} ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
  const after = `after ${formatSeconds(timeoutMs)}`;
  if (p.leaf !== null && !j.leafMatches) {
    return `${where} still presents SHA-256 ${p.leaf.fingerprint} ${after}, not the local ${expected.cert ?? 'node.crt'}'s ${colonHex(expected.sha256)} (did the reload take effect?)`;
  }
  return `${j.problems.join('; ')} (${after})`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** Every endpoint of a node, at once; the results in the endpoints' order. */
export function verifyEndpoints(endpoints: Endpoint[], expected: Expected, options: VerifyOptions = {}): Promise<EndpointVerification[]> {
  return Promise.all(endpoints.map((ep) => verifyEndpoint(ep, expected, options)));
}
