// The verify phase of one node: after its files are in place and its reload ran, connect to its
// endpoints (the spec's `verify:`, else the SQL port 26257 of its ssh host) and check that each
// presents the local node.crt (src/verify/). Failures are recorded on the target, never thrown.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CA_CERT, NODE_CERT, UI_CA_CERT, UI_CERT } from '../core/cert-names.js';
import { expectedFrom, type Expected } from '../verify/compare.js';
import { DEFAULT_SQL_PORT, endpointsOf, type ClientCredentials, type EndpointKind, type NodePorts } from '../verify/probe.js';
import { verifyEndpoint, type VerifyOptions } from '../verify/verify.js';
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

async function readIfThere(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** What each endpoint of a node should present, from its local folder. */
export interface Expectations {
  /** node.crt against ca.crt with the spec's hosts: every endpoint but a UI one. */
  node: Expected;
  of: (kind: EndpointKind) => Expected;
}

/**
 * Reads the local files a node is judged by. A folder with `ui.crt` is a node that serves it on
 * its HTTP port instead of node.crt (as CockroachDB does): that endpoint must present ui.crt,
 * chained to `ca-ui.crt` when there is one (otherwise to a CA only browsers know: not checked);
 * its names are the operator's choice for browsers, not the node's spec hosts, so none are checked.
 */
export async function expectationsOf(plan: Pick<TargetPlan, 'folder' | 'hosts'>): Promise<Expectations> {
  const [nodeCrt, caCrt, uiCrt, uiCa] = await Promise.all([
    fs.readFile(path.join(plan.folder, NODE_CERT)),
    fs.readFile(path.join(plan.folder, CA_CERT)),
    readIfThere(path.join(plan.folder, UI_CERT)),
    readIfThere(path.join(plan.folder, UI_CA_CERT)),
  ]);
  const node = expectedFrom(nodeCrt, caCrt, plan.hosts ?? []);
  if (uiCrt === undefined) return { node, of: () => node };
  const ui: Expected = { ...expectedFrom(uiCrt, uiCa ?? '', []), cert: UI_CERT, rootsFile: uiCa === undefined ? null : UI_CA_CERT };
  return { node, of: (kind) => (kind === 'http' ? ui : node) };
}

/** Verifies one node against the plan's local files. */
export async function verifyNode(plan: TargetPlan, ctx: VerifyContext): Promise<TargetVerification> {
  const { host, ports } = verifyEndpointsOf(plan);
  const expected = await expectationsOf(plan);
  const eps = endpointsOf(host, ports);
  ctx.emit(plan, `verifying ${eps.map((e) => `${e.kind} ${host}:${e.port}`).join(', ')}`);
  const servername = servernameOf(plan.hosts ?? []);
  const options: VerifyOptions = {
    ...(ctx.timeoutMs !== undefined ? { timeoutMs: ctx.timeoutMs } : {}),
    ...(ctx.client !== undefined ? { client: ctx.client } : {}),
    ...(servername !== undefined ? { servername } : {}),
    onRetry: (ep, j, attempt) => {
      if (attempt === 1) ctx.emit(plan, `${ep.kind} ${host}:${ep.port}: not yet (${j.problems[0] ?? 'no match'}); polling`);
    },
  };
  const endpoints = await Promise.all(eps.map((ep) => verifyEndpoint(ep, expected.of(ep.kind), options)));
  return { ok: endpoints.every((e) => e.ok), host, expectedSha256: expected.node.sha256, endpoints };
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
    const on = (cert: string): string => v.endpoints.filter((e) => e.judgement.cert === cert).map((e) => e.kind).join(', ');
    const what = [NODE_CERT, UI_CERT].filter((c) => on(c) !== '').map((c) => `the local ${c} on ${on(c)}`);
    ctx.emit(plan, `verified: presents ${what.join(' and ')}${client ? `; ${client.offered} accepted` : ''}`);
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
