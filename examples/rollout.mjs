#!/usr/bin/env zx
// A custom per-node certificate rollout with certgen's library pieces, one node at a time:
// drain → copy → reload → verify → undrain, stopping at the first node that does not verify.
// Usage: zx examples/rollout.mjs [cluster-certs.yaml] [--all]
//   --all      every node with an ssh block, not only those whose remote files differ
// DRAIN / UNDRAIN (environment): shell commands run before and after each node, with $NODE set
// (e.g. `cockroach node drain --self --host=$NODE …`); by default they only echo.
import { loadSpec, differingNodes, nodeFiles, copyToNode, reloadNode, verifyNode } from 'certgen';

const file = argv._[0] ?? 'cluster-certs.yaml';
const spec = await loadSpec(file);
const nodes = argv.all ? spec.nodes.filter((n) => n.ssh).map((n) => n.name) : await differingNodes(spec);
const drain = process.env.DRAIN ?? 'echo "drain $NODE (placeholder)"';
const undrain = process.env.UNDRAIN ?? 'echo "undrain $NODE (placeholder)"';
const hook = async (cmd, node) => {
  const out = await $({ env: { ...process.env, NODE: node } })`sh -c ${cmd}`;
  if (out.stdout.trim() !== '') echo(out.stdout.trim());
};

echo(`rolling ${nodes.length} node(s): ${nodes.join(', ') || '-'}`);
const done = [];
for (const node of nodes) {
  const files = await nodeFiles(spec, node);
  echo(`${node}: ${files.map((f) => `${f.name} ${f.sha256.slice(0, 12)}`).join(', ')}`);
  await hook(drain, node);
  const copied = await copyToNode(spec, node);
  if (copied.status === 'failed') fail(node, `copy failed: ${copied.error}`);
  echo(`${node}: ${copied.copied.length > 0 ? `copied ${copied.copied.join(', ')}` : 'files already in place'}`);
  const reloaded = await reloadNode(spec, node);
  if (!reloaded.ok) fail(node, `reload failed: ${reloaded.error}`);
  const v = await verifyNode(spec, node, { timeoutMs: Number(process.env.VERIFY_TIMEOUT_MS ?? 30000) });
  if (!v.ok) fail(node, `verify failed: ${v.endpoints.map((e) => e.error).filter(Boolean).join('; ')}`);
  echo(`${node}: verified, presents ${v.expectedSha256.slice(0, 16)}… on ${v.endpoints.map((e) => `${e.kind}:${e.port}`).join(', ')}`);
  await hook(undrain, node);
  done.push(node);
}
echo(`done: ${done.join(', ') || '-'}`);

function fail(node, why) {
  const left = nodes.slice(nodes.indexOf(node) + 1);
  echo(`${node}: ${why}`);
  echo(`stopped; done: ${done.join(', ') || '-'}; not started: ${left.join(', ') || '-'} (${node} stays drained)`);
  process.exit(1);
}
