// Pure: what a tenant's folder wants, as pairs for the leaf planner (diff.ts). The tenant client
// pair is a leaf like a node's (hosts, the CA's signature, `O=Cockroach, OU=Tenants, CN=<id>`); the
// signing pair is its companion in the same folder, self-signed with an Ed25519 key, as
// `cert create-tenant-client` and `create-tenant-signing` make them (pki/issue.ts, for both).
import { DEFAULT_KEY_TYPE, TENANT_SIGNING_KEY, keyParams } from '../core/key-type.js';
import { ORGANIZATION, TENANTS_OU, tenantSigningCommonName } from '../core/cert-names.js';
import type { TenantSpec } from '../cluster-spec/spec.js';
import type { Artifact, ManagedFile } from '../tree/layout.js';
import type { LeafWant } from './leaf-want.js';

/** The tenant's pairs: its client pair, then (signing: true) the signing pair. */
export function tenantWants(a: Artifact, t: TenantSpec): LeafWant[] {
  const common = { lifetime: t.lifetime, renewBefore: t.renewBefore };
  const client: LeafWant = {
    artifact: a,
    cn: t.id,
    subject: `O=${ORGANIZATION}, OU=${TENANTS_OU}, CN=${t.id}`,
    hosts: t.hosts,
    key: keyParams(t.keyType ?? DEFAULT_KEY_TYPE, t.keySize),
    serverAuth: true,
    ...common,
  };
  if (!t.signing) return [client];
  // The signing files under the leaf planner's role names: a view of the artifact with just them.
  const as = (from: ManagedFile['role'], role: ManagedFile['role']): ManagedFile[] => a.files.filter((f) => f.role === from).map((f) => ({ ...f, role }));
  const view: Artifact = { ...a, files: [...as('signing-cert', 'cert'), ...as('signing-key', 'key')] };
  const cn = tenantSigningCommonName(t.id);
  const signing: LeafWant = { artifact: view, cn, subject: `CN=${cn}`, key: TENANT_SIGNING_KEY, serverAuth: false, issueKind: 'tenant-signing', selfSigned: true, companion: true, ...common };
  return [client, signing];
}
