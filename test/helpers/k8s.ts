// Offline validation of the manifests certgen writes: the Kubernetes API schemas
// (kubernetes-models) plus what the API server adds for Secrets and ConfigMaps.
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
