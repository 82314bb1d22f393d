// The spec's Kubernetes part: `nodeSets:` (a StatefulSet's shared node certificate, planned as a
// node whose hosts certgen derives) and `outputs.kubernetes` (the manifests of a node set). The
// rules report at the offending value like the rest of parse-spec.ts, which calls in here with its
// locating and reporting helpers; the normalisers run only on a valid spec.
import path from 'node:path';
import { ageRecipientProblem } from '../core/age-recipient.js';
import { describeHostProblem } from '../core/hosts.js';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_K8S_CLIENT, clusterDomainProblem, defaultObjectNames, manifestFileName, statefulSetHosts, type KubernetesLayout } from '../core/kubernetes.js';
import { normalizeUsername } from '../core/username.js';
import type { KubernetesOutputSpec, NodeSetSpec, NodeSpec } from './spec.js';

type Seg = string | number;
type Obj = Record<string, unknown>;

/** What parse-spec.ts lends the rules. */
export interface K8sRuleContext {
  data: Obj;
  report(segs: Seg[], message: string): void;
  locate(segs: Seg[]): { line: number; col: number };
  /** A value as the operator wrote it, for messages. */
  show(v: unknown): string;
  /** A host's identity for duplicate detection. */
  hostKey(host: string): string;
  inside(child: string, parent: string): boolean;
  /** A local path of the spec resolved, or undefined (then already reported). */
  local(segs: Seg[], text: unknown): string | undefined;
}

const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function nodeSetNames(raw: Obj): Pick<NodeSetSpec, 'name' | 'statefulSet' | 'namespace' | 'clusterDomain' | 'joinService'> {
  const name = String(raw['name']);
  return {
    name,
    statefulSet: str(raw['statefulSet']) ?? name,
    namespace: String(raw['namespace']),
    clusterDomain: str(raw['clusterDomain']) ?? DEFAULT_CLUSTER_DOMAIN,
    joinService: raw['joinService'] === true,
  };
}

function outputLayout(raw: Obj): KubernetesLayout {
  return raw['layout'] as KubernetesLayout;
}

/** The file names (relative to the spec's folder) an output writes, for collisions. */
function outputFiles(raw: Obj, sets: Map<string, Obj>, clientOf: (o: Obj) => string): string[] {
  const set = sets.get(String(raw['nodeSet']));
  if (set === undefined || typeof raw['dir'] !== 'string') return [];
  const names = { ...defaultObjectNames(outputLayout(raw), nodeSetNames(set).statefulSet, clientOf(raw)), ...(obj(raw['names']) as object | undefined) } as Record<string, string>;
  const files = [manifestFileName('Secret', names['node'] ?? ''), manifestFileName('Secret', names['client'] ?? '')];
  if (outputLayout(raw) === 'operator') files.push(manifestFileName('ConfigMap', names['ca'] ?? ''));
  return files.map((f) => path.join(String(raw['dir']), f));
}

export function checkKubernetes(ctx: K8sRuleContext, certsDir: string | undefined): void {
  const { data, report, locate, show } = ctx;
  const nodeNames = new Map<string, Seg[]>();
  list(data['nodes']).forEach((n, i) => {
    const name = str(obj(n)?.['name']);
    if (name !== undefined && !nodeNames.has(name)) nodeNames.set(name, ['nodes', i, 'name']);
  });
  const sets = new Map<string, Obj>();
  list(data['nodeSets']).forEach((raw, i) => {
    const set = obj(raw);
    if (set === undefined) return;
    const name = str(set['name']);
    if (name !== undefined) {
      const first = nodeNames.get(name);
      if (first !== undefined) {
        report(['nodeSets', i, 'name'], `duplicate node name ${show(name)} (first used by ${String(first[0])}[${String(first[1])}].name at line ${locate(first).line}): a node set's folder is nodes/<name>/ like a node's`);
      } else {
        nodeNames.set(name, ['nodeSets', i, 'name']);
        sets.set(name, set);
      }
    }
    const domain = str(set['clusterDomain']);
    if (domain !== undefined) {
      const problem = clusterDomainProblem(domain);
      if (problem !== undefined) report(['nodeSets', i, 'clusterDomain'], problem);
    }
    list(set['hosts']).forEach((host, j) => {
      if (typeof host !== 'string') return;
      const problem = describeHostProblem(host);
      if (problem !== undefined) report(['nodeSets', i, 'hosts', j], problem);
    });
  });

  const users = new Set(list(data['clients']).map((c) => str(obj(c)?.['user'])).filter((u): u is string => u !== undefined).map(normalizeUsername));
  const clientOf = (o: Obj): string => normalizeUsername(str(o['client']) ?? DEFAULT_K8S_CLIENT);
  const written = new Map<string, number>();
  list(obj(data['outputs'])?.['kubernetes']).forEach((raw, i) => {
    const out = obj(raw);
    if (out === undefined) return;
    const at = (...segs: Seg[]): Seg[] => ['outputs', 'kubernetes', i, ...segs];
    const setName = str(out['nodeSet']);
    if (setName !== undefined && !sets.has(setName)) {
      const known = [...sets.keys()];
      report(at('nodeSet'), `no node set named ${show(setName)} in nodeSets${known.length > 0 ? ` (there are: ${known.join(', ')})` : ': add one (nodeSets: - name, namespace)'}`);
    }
    const client = clientOf(out);
    if (!users.has(client)) {
      report(out['client'] === undefined ? at('layout') : at('client'), `the client Secret needs the certificate of user ${show(client)}, which clients does not list: add "- user: ${client}" to clients${out['client'] === undefined ? ' (or name another user with client:)' : ''}`);
    }
    const names = obj(out['names']);
    if (names?.['ca'] !== undefined && out['layout'] !== 'operator') report(at('names', 'ca'), `names.ca is the CA ConfigMap of the operator layout; the ${show(out['layout'])} layout has none (its Secrets carry ca.crt)`);
    if (names !== undefined && typeof names['node'] === 'string' && names['node'] === names['client']) report(at('names', 'client'), `the client Secret cannot have the node Secret's name ${show(names['node'])}`);
    list(obj(out['sops'])?.['age']).forEach((r, j) => {
      if (typeof r !== 'string') return;
      const problem = ageRecipientProblem(r.trim());
      if (problem !== undefined) report(at('sops', 'age', j), problem);
    });
    const dir = ctx.local(at('dir'), out['dir']);
    if (dir !== undefined && certsDir !== undefined && ctx.inside(dir, certsDir)) {
      report(at('dir'), `${show(out['dir'])} is inside certsDir: the certs dir is what gets distributed (and pruned); write the manifests beside it`);
    }
    for (const f of outputFiles(out, sets, clientOf)) {
      const first = written.get(f);
      if (first === undefined) written.set(f, i);
      else if (first !== i) report(at('dir'), `writes ${path.basename(f)} in the same folder as outputs.kubernetes[${first}] (line ${locate(['outputs', 'kubernetes', first]).line}): give one of them another dir or other names`);
    }
  });
}

/** The node sets as nodes: derived hosts first, then the extra ones, each once. */
export function nodeSetNodes(raws: unknown[], leaf: (o: Obj) => Pick<NodeSpec, 'keyType' | 'keySize' | 'lifetime' | 'renewBefore' | 'ageRecipients'>, hostKey: (h: string) => string): NodeSpec[] {
  return raws.map((raw) => {
    const o = obj(raw) ?? {};
    const names = nodeSetNames(o);
    const extraHosts = list(o['hosts']).map(String);
    const seen = new Set<string>();
    const hosts: string[] = [];
    for (const h of [...statefulSetHosts(names), ...extraHosts]) {
      if (seen.has(hostKey(h))) continue;
      seen.add(hostKey(h));
      hosts.push(h);
    }
    const { keyType, keySize, lifetime, renewBefore, ageRecipients } = leaf(o);
    return { name: names.name, hosts, keyType, keySize, lifetime, renewBefore, ...(ageRecipients ? { ageRecipients } : {}), nodeSet: { ...names, extraHosts } };
  });
}

/** outputs.kubernetes with the defaults filled in; `local` resolves a path of the spec. */
export function kubernetesOutputs(outputs: Obj, nodeSetRaws: unknown[], local: (text: unknown) => string): KubernetesOutputSpec[] {
  const sets = new Map(nodeSetRaws.map((r) => obj(r) ?? {}).map((o) => [String(o['name']), nodeSetNames(o)]));
  return list(outputs['kubernetes']).map((raw, index) => {
    const o = obj(raw) ?? {};
    const set = sets.get(String(o['nodeSet']));
    const layout = outputLayout(o);
    const client = normalizeUsername(str(o['client']) ?? DEFAULT_K8S_CLIENT);
    const given = obj(o['names']) ?? {};
    const names = { ...defaultObjectNames(layout, set?.statefulSet ?? String(o['nodeSet']), client) };
    if (typeof given['node'] === 'string') names.node = given['node'];
    if (typeof given['client'] === 'string') names.client = given['client'];
    if (typeof given['ca'] === 'string') names.ca = given['ca'];
    const spec: KubernetesOutputSpec = { index, nodeSet: String(o['nodeSet']), layout, namespace: str(o['namespace']) ?? set?.namespace ?? 'default', client, names };
    if (typeof o['dir'] === 'string') spec.dir = local(o['dir']);
    const age = list(obj(o['sops'])?.['age']).map((r) => String(r).trim());
    if (age.length > 0) spec.sops = { age: [...new Set(age)] };
    return spec;
  });
}
