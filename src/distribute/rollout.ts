// The per-node pieces of a rollout, for scripts (zx, say) that compose their own: which nodes
// changed in the last apply or differ remotely, a node's files, copy to one node, reload one
// node, verify one node. Each is one call on one node, built on what `distribute` does, so a
// script's drain → copy → reload → verify → undrain gets the same staging, checks and reports.
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { CertgenError } from '../errors.js';
import { describeSshFailure, remoteShellPath, run, sshArgv } from '../io/remote.js';
import type { Change } from '../plan/types.js';
import type { ClientCredentials } from '../verify/probe.js';
import { distribute, planTargets } from './distribute.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, type DistributeTarget, type LocalFile, type TargetPlan, type TargetVerification } from './types.js';
import { verifyNode as verifyPlan } from './verify-target.js';

/** The nodes an apply changed (issued, reissued, their ca.crt bundle or modes), in the order it changed them. */
export function changedNodes(result: { applied: Array<Pick<Change, 'kind' | 'artifact'>> }): string[] {
  const names: string[] = [];
  for (const c of result.applied) {
    if (c.kind !== 'node') continue;
    const name = c.artifact.replace(/^node\//, '');
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The nodes (with an ssh block) whose remote files differ from the local tree: a dry run, nothing changed. */
export async function differingNodes(spec: ClusterSpec, options: { nodes?: string[]; concurrency?: number } = {}): Promise<string[]> {
  const r = await distribute(spec, { ...options, dryRun: true });
  const failed = r.targets.filter((t) => t.status === 'failed');
  if (failed.length > 0) throw new CertgenError(`cannot read the remote files of ${failed.map((t) => `${t.label} (${t.error ?? 'failed'})`).join(', ')}`);
  return r.targets.filter((t) => t.status === 'would-update').map((t) => t.name);
}

async function planOf(spec: ClusterSpec, node: string): Promise<TargetPlan> {
  const [plan] = await planTargets(spec, { nodes: [node] });
  if (plan === undefined) throw new CertgenError(`node ${node} has no ssh target`);
  return plan;
}

/** The files distribute sends to a node (local path, mode, SHA-256), checked as distribute checks them. */
export async function nodeFiles(spec: ClusterSpec, node: string): Promise<LocalFile[]> {
  return (await planOf(spec, node)).files;
}

/** Brings one node's remote files up to date (staged, checked, renamed) without running its reload. */
export async function copyToNode(spec: ClusterSpec, node: string, options: { timeoutMs?: number } = {}): Promise<DistributeTarget> {
  const r = await distribute(spec, { nodes: [node], skipReload: true, ...options });
  return r.targets[0] as DistributeTarget;
}

export interface ReloadResult {
  node: string;
  ok: boolean;
  /** The spec's reload command, or null when the node has none (then nothing ran). */
  command: string | null;
  exitCode: number | null;
  /** One line when not ok. */
  error: string | null;
  stderr: string;
}

/** Runs one node's `reload:` over ssh, in its remote folder (as distribute does after a copy). */
export async function reloadNode(spec: ClusterSpec, node: string, options: { timeoutMs?: number } = {}): Promise<ReloadResult> {
  const plan = await planOf(spec, node);
  if (plan.reload === undefined) return { node, ok: true, command: null, exitCode: null, error: null, stderr: '' };
  const t = plan.ssh;
  const r = await run(sshArgv(t, `cd -- ${remoteShellPath(t.dir)} && { ${plan.reload}
}`), { timeoutMs: options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS });
  const ok = r.exitCode === 0;
  const error = ok ? null : r.timedOut ? 'reload timed out' : r.exitCode === 255 ? describeSshFailure(r, t) : `reload command failed (exit status ${r.exitCode ?? 'none'})`;
  return { node, ok, command: plan.reload, exitCode: r.exitCode, error, stderr: r.stderr };
}

/** Checks live that one node presents its local node.crt (see distribute's `verify`). */
export async function verifyNode(spec: ClusterSpec, node: string, options: { timeoutMs?: number; client?: ClientCredentials } = {}): Promise<TargetVerification> {
  const plan = await planOf(spec, node);
  return verifyPlan(plan, { ...options, emit: () => {} });
}
