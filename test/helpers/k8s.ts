// The Kubernetes tests' shared pieces: offline validation of the manifests certgen writes (the
// Kubernetes API schemas from kubernetes-models plus what the API server adds for Secrets and
// ConfigMaps), and the spec most of them start from.
import * as assert from 'uvu/assert';
import { ConfigMap, Secret } from 'kubernetes-models/v1';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Schema validation (kubernetes-models, offline) plus what the API server adds for these kinds. */
export function validateObject(o: Record<string, unknown>): void {
  const meta = o['metadata'] as { name: string; namespace: string };
  assert.match(meta.name, DNS_SUBDOMAIN);
  assert.ok(meta.name.length <= 253);
  if (o['kind'] === 'Secret') {
    new Secret(o as never).validate();
    const data = o['data'] as Record<string, string>;
    for (const [k, v] of Object.entries(data)) {
      assert.match(k, /^[-._a-zA-Z0-9]+$/);
      assert.is(Buffer.from(v, 'base64').toString('base64'), v, `${k} is base64`);
    }
    if (o['type'] === 'kubernetes.io/tls') for (const k of ['tls.crt', 'tls.key']) assert.ok(k in data, `kubernetes.io/tls needs ${k}`);
  } else {
    assert.is(o['kind'], 'ConfigMap');
    new ConfigMap(o as never).validate();
  }
}

/** One `outputs.kubernetes` entry of {@link crdbSpecText}; unset fields take the tests' usual values. */
export interface CrdbOutput {
  layout?: string;
  clients?: string[];
  /** A flow mapping, e.g. `{ node: crdb-tls-node }`. */
  names?: string;
  dir?: string;
}

/**
 * The Kubernetes tests' spec: an ECDSA CA, clients root and app, node set crdb in namespace db,
 * and these outputs for it (none: no `outputs:` at all).
 */
export function crdbSpecText(outs: CrdbOutput[]): string {
  const body = outs
    .map((o) => `    - nodeSet: crdb\n      layout: ${o.layout ?? 'tls'}\n      clients: [${(o.clients ?? ['root', 'app']).map((u) => `{ user: ${u} }`).join(', ')}]\n${o.names ? `      names: ${o.names}\n` : ''}      dir: ${o.dir ?? 'private/k8s'}\n`)
    .join('');
  return `certsDir: certs
caKey: secrets/ca.key
defaults: { keyType: ecdsa-p256 }
ca: { keyType: ecdsa-p256 }
nodes: []
clients: [{ user: root }, { user: app }]
nodeSets: [{ name: crdb, namespace: db }]
${outs.length > 0 ? `outputs:\n  kubernetes:\n${body}` : ''}`;
}
