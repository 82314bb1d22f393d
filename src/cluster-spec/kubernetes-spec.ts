// The spec's Kubernetes part: `nodeSets:` (a StatefulSet's shared node certificate, planned as a
// node whose hosts certgen derives) and `outputs.kubernetes` (the manifests of a node set). The
// rules report at the offending value like the rest of parse-spec.ts, which calls in here with its
// locating and reporting helpers; the normalisers run only on a valid spec.
import path from 'node:path';
import { ageRecipientProblem } from '../core/age-recipient.js';
import { describeHostProblem } from '../core/hosts.js';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_K8S_CLIENT, clusterDomainProblem, defaultObjectNames, manifestFileName, statefulSetHosts, type KubernetesLayout } from '../core/kubernetes.js';
import { normalizeUsername } from '../core/username.js';
import type { K8sClientSecret, KubernetesOutputSpec, NodeSetSpec, NodeSpec } from './spec.js';

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

/** An output's client Secrets as written: `clients:`, else `client:`, else root's; each with where it was given. */
function rawClients(raw: Obj): { user: string; name?: string; segs: Seg[]; nameSegs?: Seg[] }[] {
  if (Array.isArray(raw['clients'])) {
    return raw['clients'].flatMap((c, j) => {
      const user = str(obj(c)?.['user']);
      const name = str(obj(c)?.['name']);
      return user === undefined ? [] : [{ user: normalizeUsername(user), segs: ['clients', j, 'user'] as Seg[], ...(name !== undefined ? { name, nameSegs: ['clients', j, 'name'] as Seg[] } : {}) }];
    });
  }
  if (typeof raw['client'] === 'string') return [{ user: normalizeUsername(raw['client']), segs: ['client'] }];
  return [{ user: DEFAULT_K8S_CLIENT, segs: ['layout'] }];
}

/**
 * Each client Secret's name: its `name:` in clients, else (one client only) `names.client`, else
 * the layout's default for that user. A user listed twice counts once (and is reported).
 */
function clientSecrets(raw: Obj, statefulSet: string): (K8sClientSecret & { at: Seg[] })[] {
  const names = obj(raw['names']) ?? {};
  const all = rawClients(raw);
  const seen = new Set<string>();
  const out: (K8sClientSecret & { at: Seg[] })[] = [];
  for (const c of all) {
    if (seen.has(c.user)) continue;
    seen.add(c.user);
    const single = all.length === 1 ? str(names['client']) : undefined;
    out.push({ user: c.user, name: c.name ?? single ?? defaultObjectNames(outputLayout(raw), statefulSet, c.user).client, at: c.nameSegs ?? (single !== undefined ? ['names', 'client'] : c.segs) });
  }
  return out;
}

/** The file names (relative to the spec's folder) an output writes, for collisions. */
function outputFiles(raw: Obj, sets: Map<string, Obj>): string[] {
  const set = sets.get(String(raw['nodeSet']));
  if (set === undefined || typeof raw['dir'] !== 'string') return [];
  const sts = nodeSetNames(set).statefulSet;
  const names = { ...defaultObjectNames(outputLayout(raw), sts, DEFAULT_K8S_CLIENT), ...(obj(raw['names']) as object | undefined) } as Record<string, unknown>;
  const files = [manifestFileName('Secret', String(names['node'] ?? '')), ...clientSecrets(raw, sts).map((c) => manifestFileName('Secret', c.name))];
  if (outputLayout(raw) === 'operator') files.push(manifestFileName('ConfigMap', String(names['ca'] ?? '')));
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
    if (out['client'] !== undefined && out['clients'] !== undefined) {
      report(at('clients'), `give client: (one user) or clients: (a list), not both: clients: [{ user: ${String(out['client'])} }, …] lists every user`);
    }
    const seenUsers = new Map<string, Seg[]>();
    for (const c of rawClients(out)) {
      const first = seenUsers.get(c.user);
      if (first !== undefined) {
        report(at(...c.segs), `user ${show(c.user)} is listed twice (first at line ${locate(at(...first)).line}): each user has one client Secret per output`);
        continue;
      }
      seenUsers.set(c.user, c.segs);
      if (!users.has(c.user)) {
        const implicit = c.segs[0] === 'layout';
        report(at(...c.segs), `the client Secret needs the certificate of user ${show(c.user)}, which clients does not list: add "- user: ${c.user}" to clients${implicit ? ' (or name another user with client:)' : ''}`);
      }
    }
    const names = obj(out['names']);
    if (names?.['ca'] !== undefined && out['layout'] !== 'operator') report(at('names', 'ca'), `names.ca is the CA ConfigMap of the operator layout; the ${show(out['layout'])} layout has none (its Secrets carry ca.crt)`);
    if (names?.['client'] !== undefined && Array.isArray(out['clients']) && out['clients'].length > 1) {
      report(at('names', 'client'), `names.client names the one client Secret, but this output has ${out['clients'].length} clients: give each its name in clients: (- { user: ${[...seenUsers.keys()][1] ?? 'app'}, name: NAME })`);
    }
    const set = setName !== undefined ? sets.get(setName) : undefined;
    if (set !== undefined) {
      // Two Secrets cannot share a name in a namespace: the second would overwrite the first.
      const taken = new Map<string, string>();
      const sts = nodeSetNames(set).statefulSet;
      taken.set(typeof names?.['node'] === 'string' ? names['node'] : defaultObjectNames(outputLayout(out), sts, DEFAULT_K8S_CLIENT).node, 'the node Secret');
      for (const c of clientSecrets(out, sts)) {
        const other = taken.get(c.name);
        if (other !== undefined) report(at(...c.at), `the client Secret${seenUsers.size > 1 ? ` of ${show(c.user)}` : ''} cannot have ${other}'s name ${show(c.name)}`);
        else taken.set(c.name, `the client Secret of ${show(c.user)}`);
      }
    }
    list(obj(out['sops'])?.['age']).forEach((r, j) => {
      if (typeof r !== 'string') return;
      const problem = ageRecipientProblem(r.trim());
      if (problem !== undefined) report(at('sops', 'age', j), problem);
    });
    const dir = ctx.local(at('dir'), out['dir']);
    if (dir !== undefined && certsDir !== undefined && ctx.inside(dir, certsDir)) {
      report(at('dir'), `${show(out['dir'])} is inside certsDir: the certs dir is what gets distributed (and pruned); write the manifests beside it`);
    }
    for (const f of outputFiles(out, sets)) {
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
    const given = obj(o['names']) ?? {};
    const sts = set?.statefulSet ?? String(o['nodeSet']);
    const { node, ca } = defaultObjectNames(layout, sts, DEFAULT_K8S_CLIENT);
    const names: KubernetesOutputSpec['names'] = { node: str(given['node']) ?? node, ...(ca !== undefined ? { ca: str(given['ca']) ?? ca } : {}) };
    const spec: KubernetesOutputSpec = { index, nodeSet: String(o['nodeSet']), layout, namespace: str(o['namespace']) ?? set?.namespace ?? 'default', clients: clientSecrets(o, sts).map(({ user, name }) => ({ user, name })), names };
    if (typeof o['dir'] === 'string') spec.dir = local(o['dir']);
    const age = list(obj(o['sops'])?.['age']).map((r) => String(r).trim());
    if (age.length > 0) spec.sops = { age: [...new Set(age)] };
    return spec;
  });
}
