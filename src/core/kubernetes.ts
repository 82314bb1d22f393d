// The Kubernetes vocabulary certgen writes (../shared/reference/rotation-and-gitops.md §5): the
// layouts CockroachDB's Helm chart and operators expect, their default object names, and the hosts
// of a StatefulSet's shared node certificate. Pure: the spec, the planner and the renderer all
// read it.

export const KUBERNETES_LAYOUTS = ['helm', 'tls', 'public-operator', 'operator'] as const;
export type KubernetesLayout = (typeof KUBERNETES_LAYOUTS)[number];

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
/** The client whose certificate the layouts' client Secret holds unless the spec names another. */
export const DEFAULT_K8S_CLIENT = 'root';

/** What a node set's hosts are derived from. */
export interface StatefulSetNames {
  statefulSet: string;
  namespace: string;
  clusterDomain: string;
  /** Also the `<sts>-join` service names (the CockroachDB operator's migration adds them). */
  joinService: boolean;
}

/**
 * The SANs every pod of the StatefulSet answers to, in the order of the Helm chart's node
 * Certificate (templates/certificate.node.yaml) and its self-signer (pkg/generator): localhost
 * and 127.0.0.1 for the pod itself, the public service in its three forms, and wildcards over the
 * headless service (`<pod>.<sts>…`), since one certificate serves every pod.
 */
export function statefulSetHosts(s: StatefulSetNames): string[] {
  const { statefulSet: sts, namespace: ns, clusterDomain: domain } = s;
  const hosts = [
    'localhost',
    '127.0.0.1',
    `${sts}-public`,
    `${sts}-public.${ns}`,
    `${sts}-public.${ns}.svc.${domain}`,
    `*.${sts}`,
    `*.${sts}.${ns}`,
    `*.${sts}.${ns}.svc.${domain}`,
  ];
  if (s.joinService) hosts.push(`${sts}-join`, `${sts}-join.${ns}`, `${sts}-join.${ns}.svc.${domain}`);
  return hosts;
}

/** The objects' names a layout uses when the spec does not override them. */
export interface K8sObjectNames {
  node: string;
  client: string;
  /** The CA ConfigMap (operator layout only). */
  ca?: string;
}

/**
 * Default names: the Helm chart's `nodeSecret`/`clientRootSecret` values (`cockroachdb-node`,
 * `cockroachdb-root` for the default fullname), the public operator's `<cluster>-node` /
 * `<cluster>-root`, and the CockroachDB operator's externalCertificates example
 * (`<cluster>-ca`, `<cluster>.node`, `<cluster>.client.<user>`).
 */
export function defaultObjectNames(layout: KubernetesLayout, statefulSet: string, client: string): K8sObjectNames {
  const clientPart = client === 'root' ? 'root' : client.replace(/[^a-z0-9.-]/g, '-');
  if (layout === 'operator') return { node: `${statefulSet}.node`, client: `${statefulSet}.client.${clientPart}`, ca: `${statefulSet}-ca` };
  return { node: `${statefulSet}-node`, client: `${statefulSet}-${clientPart}` };
}

/** The file an object is written to inside an output's folder. */
export function manifestFileName(kind: 'Secret' | 'ConfigMap', name: string): string {
  return `${kind.toLowerCase()}-${name}.yaml`;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Why `domain` cannot be a cluster DNS domain, or undefined. */
export function clusterDomainProblem(domain: string): string | undefined {
  const labels = domain.split('.');
  if (domain.length > 253 || labels.some((l) => l.length > 63 || !DNS_LABEL.test(l))) {
    return `${JSON.stringify(domain)} is not a DNS domain: lowercase labels of letters, digits and '-', separated by dots (kubelet's --cluster-domain, usually cluster.local)`;
  }
  return undefined;
}
