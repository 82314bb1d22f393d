// The rotation's live checks of one node (../shared/reference/rotation-and-gitops.md §4, §6), built
// on src/verify: the node presents its local node.crt on fresh handshakes, chained to the CAs the
// phase expects (V2: [new, old]; V3/V4: [new] alone), and every spec host passes; it accepts a
// probe client certificate signed by the new CA; after the prune (V4) it refuses one signed by
// the old CA. The HTTP port never asks for a client certificate, so probes go to SQL and RPC only;
// on a node with its own UI certificate (ui:) the HTTP port is not checked.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ClusterSpec, NodeSpec } from '../cluster-spec/spec.js';
import { NODE_CERT } from '../core/cert-names.js';
import { servernameOf, verifyEndpointsOf } from '../distribute/verify-target.js';
import type { TargetPlan } from '../distribute/types.js';
import { nodeDir } from '../tree/layout.js';
import { expectedFrom } from '../verify/compare.js';
import { DEFAULT_PROBE_TIMEOUT_MS, endpointsOf, probeEndpoint, type ClientCredentials, type Endpoint } from '../verify/probe.js';
import { BACKOFF_MS, verifyEndpoints } from '../verify/verify.js';

export interface NodeCheck {
  /** PEM of the CAs the chain must lead to. */
  roots: string;
  accept: ClientCredentials;
  /** Must be refused (after the prune). */
  refuse?: ClientCredentials;
  timeoutMs: number;
}

/** Where a node is checked: its `verify:` block, else the SQL port of its ssh host; undefined when neither says. */
export function checkable(node: NodeSpec): boolean {
  return node.ssh !== undefined || node.verify?.host !== undefined;
}

/** Runs the checks; returns null when every one holds, else one line saying what failed. */
export async function checkNode(spec: ClusterSpec, node: NodeSpec, c: NodeCheck): Promise<string | null> {
  const where: Pick<TargetPlan, 'ssh' | 'verify'> = { ssh: node.ssh ?? { host: node.verify?.host ?? '', port: 22, dir: '', options: [] }, ...(node.verify ? { verify: node.verify } : {}) };
  const { host, ports } = verifyEndpointsOf(where);
  const nodeCrt = await fs.readFile(path.join(spec.certsDir, nodeDir(node.name), NODE_CERT));
  const expected = expectedFrom(nodeCrt, c.roots, node.hosts);
  const servername = servernameOf(node.hosts);
  // A node with a ui: block serves ui.crt (another CA's) on HTTP: not the rotation's to check there.
  const eps = endpointsOf(host, ports).filter((e) => e.kind !== 'http' || node.ui === undefined);
  const withClient = eps.filter((e) => e.kind !== 'http');
  const base = { timeoutMs: c.timeoutMs, ...(servername !== undefined ? { servername } : {}) };
  const results = [...(await verifyEndpoints(withClient, expected, { ...base, client: c.accept })), ...(await verifyEndpoints(eps.filter((e) => e.kind === 'http'), expected, base))];
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) return failed.map((r) => r.error ?? `${r.kind} ${r.host}:${r.port} failed`).join('; ');
  if (c.refuse === undefined) return null;
  for (const ep of withClient) {
    const err = await untilRefused(ep, c.refuse, c.timeoutMs, servername);
    if (err !== null) return err;
  }
  return null;
}

/** Polls until the endpoint refuses `client` (a reload is asynchronous), or the timeout passes. */
async function untilRefused(ep: Endpoint, client: ClientCredentials, timeoutMs: number, servername: string | undefined): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const p = await probeEndpoint(ep, { client, timeoutMs: Math.min(DEFAULT_PROBE_TIMEOUT_MS, Math.max(1, deadline - Date.now())), ...(servername !== undefined ? { servername } : {}) });
    if (p.client?.accepted === false) return null;
    const wait = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)] ?? 2_000;
    if (Date.now() + wait >= deadline) {
      const what = !p.reached ? (p.error ?? 'unreachable') : `still accepts ${client.label} (${p.client?.detail ?? 'no verdict'})`;
      return `${ep.kind} ${ep.host}:${ep.port}: ${what} after ${Math.round(timeoutMs / 1000)}s (did the reload take effect?)`;
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}
