// The verify phase of one node: after its files are in place and its reload ran, connect to its
// endpoints (the spec's `verify:`, else the SQL port 26257 of its ssh host) and check that each
// presents the local node.crt (src/verify/). Failures are recorded on the target, never thrown.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CA_CERT, NODE_CERT } from '../core/cert-names.js';
import { expectedFrom } from '../verify/compare.js';
import { DEFAULT_SQL_PORT, endpointsOf, type ClientCredentials, type NodePorts } from '../verify/probe.js';
import { verifyEndpoints } from '../verify/verify.js';
import { phaseText, type DistributeTarget, type TargetPlan, type TargetVerification } from './types.js';

export interface VerifyContext {
  timeoutMs?: number;
  client?: ClientCredentials;
  emit: (plan: TargetPlan, message: string, failed?: boolean) => void;
}

/** The host and ports a node is verified on. */
export function verifyEndpointsOf(plan: Pick<TargetPlan, 'ssh' | 'verify'>): { host: string; ports: NodePorts } {
  const v = plan.verify ?? {};
  const ports: NodePorts = {};
  for (const k of ['sql', 'rpc', 'http'] as const) if (v[k] !== undefined) ports[k] = v[k];
  if (ports.sql === undefined && ports.rpc === undefined && ports.http === undefined) ports.sql = DEFAULT_SQL_PORT;
  return { host: v.host ?? plan.ssh.host, ports };
}

/** The SNI a probe sends: the node's first DNS name (TLS carries no IP address there). */
export function servernameOf(hosts: string[]): string | undefined {
  return hosts.find((h) => !/^[\d.]+$/.test(h) && !h.includes(':') && !h.startsWith('*.'));
}

/** Verifies one node against the plan's local files. */
export async function verifyNode(plan: TargetPlan, ctx: VerifyContext): Promise<TargetVerification> {
  const { host, ports } = verifyEndpointsOf(plan);
  const [nodeCrt, caCrt] = await Promise.all([fs.readFile(path.join(plan.folder, NODE_CERT)), fs.readFile(path.join(plan.folder, CA_CERT))]);
  const expected = expectedFrom(nodeCrt, caCrt, plan.hosts ?? []);
  const eps = endpointsOf(host, ports);
  ctx.emit(plan, `verifying ${eps.map((e) => `${e.kind} ${host}:${e.port}`).join(', ')}`);
  const servername = servernameOf(plan.hosts ?? []);
  const endpoints = await verifyEndpoints(eps, expected, {
    ...(ctx.timeoutMs !== undefined ? { timeoutMs: ctx.timeoutMs } : {}),
    ...(ctx.client !== undefined ? { client: ctx.client } : {}),
    ...(servername !== undefined ? { servername } : {}),
    onRetry: (ep, j, attempt) => {
      if (attempt === 1) ctx.emit(plan, `${ep.kind} ${host}:${ep.port}: not yet (${j.problems[0] ?? 'no match'}); polling`);
    },
  });
  return { ok: endpoints.every((e) => e.ok), host, expectedSha256: expected.sha256, endpoints };
}

/** Runs the verify phase on a target that got through its install; marks it failed when it does not verify. */
export async function addVerification(t: DistributeTarget, plan: TargetPlan, ctx: VerifyContext): Promise<DistributeTarget> {
  const started = Date.now();
  let v: TargetVerification;
  try {
    v = await verifyNode(plan, ctx);
  } catch (err) {
    t.status = 'failed';
    t.phase = 'verify';
    t.error = `cannot verify: ${(err as Error).message}`;
    ctx.emit(plan, `failed while ${phaseText('verify')}: ${t.error}`, true);
    return t;
  }
  t.verify = v;
  t.durationMs += Date.now() - started;
  if (v.ok) {
    const client = v.endpoints.find((e) => e.presented.client !== null)?.presented.client;
    ctx.emit(plan, `verified: presents the local node.crt on ${v.endpoints.map((e) => e.kind).join(', ')}${client ? `; ${client.offered} accepted` : ''}`);
    return t;
  }
  t.status = 'failed';
  t.phase = 'verify';
  t.error = v.endpoints
    .filter((e) => !e.ok)
    .map((e) => e.error ?? 'failed')
    .join('; ');
  ctx.emit(plan, `failed while ${phaseText('verify')}: ${t.error}`, true);
  return t;
}
