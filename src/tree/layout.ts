// Where every artifact of a cluster lives in the generated tree. Each node, client and tenant folder
// is a complete CockroachDB certs dir (ca.crt + its own pair), so it can be shipped or mounted as is.
import path from 'node:path';
import { CA_CERT, CLIENT_CA_CERT, NODE_CERT, NODE_KEY, TENANT_CA_CERT, UI_CA_CERT, UI_CERT, UI_KEY, clientCertName, clientKeyName, clientPkcs8Name, tenantCertName, tenantKeyName, tenantSigningCertName, tenantSigningKeyName } from '../core/cert-names.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';

export const NODES_DIR = 'nodes';
export const CLIENTS_DIR = 'clients';
export const TENANTS_DIR = 'tenants';
/** The folders at the top that hold one folder per leaf artifact, and the kind each holds. */
export const LEAF_PARENTS = [
  [NODES_DIR, 'node'],
  [CLIENTS_DIR, 'client'],
  [TENANTS_DIR, 'tenant'],
] as const;
export type LeafKind = (typeof LEAF_PARENTS)[number][1];
/** Held while an apply runs, so two applies never interleave their writes. */
export const LOCK_FILE = '.certgen.lock';
/** Kept by apply when the certs dir lies in a git work tree (plan/gitignore.ts); the operator's lines stay. */
export const GITIGNORE = '.gitignore';

export { CERT_MODE, DIR_MODE, KEY_MODE } from '../core/modes.js';
import { CERT_MODE, KEY_MODE } from '../core/modes.js';

/** One managed file, relative to certsDir (always with `/`). */
export interface ManagedFile {
  rel: string;
  /**
   * `signing-*`: a tenant's token signing pair, beside its client pair in the same folder; `ui-*`: a node's copies of the provided UI files;
   * `client-ca-bundle`, `node-client-*`: with a split client CA, a node's copy of ca-client.crt and its client.node pair.
   */
  role: 'ca-cert' | 'ca-bundle' | 'client-ca-bundle' | 'cert' | 'key' | 'pkcs8' | 'signing-cert' | 'signing-key' | 'node-client-cert' | 'node-client-key' | 'ui-cert' | 'ui-key' | 'ui-ca';
  mode: number;
}

export interface Artifact {
  /** Stable id used in plans: `ca`, `client-ca` (a split client CA), `node/<name>`, `client/<user>`, `tenant/<id>`. */
  id: string;
  kind: 'ca' | LeafKind;
  /** Folder relative to certsDir ('' for the CA). */
  dir: string;
  files: ManagedFile[];
}

export function nodeDir(name: string): string {
  return `${NODES_DIR}/${name}`;
}

export function clientDir(user: string): string {
  return `${CLIENTS_DIR}/${user}`;
}

export function tenantDir(id: string): string {
  return `${TENANTS_DIR}/${id}`;
}

/** The top folder that holds a kind's folders (`nodes`, `clients`, `tenants`). */
export function leafParentOf(kind: LeafKind): string {
  return LEAF_PARENTS.find(([, k]) => k === kind)?.[0] as string;
}

/** The artifact id of a split client CA (ca-client.crt). */
export const CLIENT_CA_ARTIFACT = 'client-ca';
/** The user of a node's own client certificate (client.node.crt), as `cert create-client node` makes it. */
export const NODE_USER = 'node';

/** Every artifact the spec asks for, CA first (then a split client CA), then nodes, clients and tenants in spec order. */
export function desiredArtifacts(spec: ClusterSpec): Artifact[] {
  const out: Artifact[] = [{ id: 'ca', kind: 'ca', dir: '', files: [{ rel: CA_CERT, role: 'ca-cert', mode: CERT_MODE }] }];
  const split = spec.clientCa !== undefined;
  if (split) out.push({ id: CLIENT_CA_ARTIFACT, kind: 'ca', dir: '', files: [{ rel: CLIENT_CA_CERT, role: 'ca-cert', mode: CERT_MODE }] });
  for (const n of spec.nodes) {
    const dir = nodeDir(n.name);
    out.push({
      id: `node/${n.name}`,
      kind: 'node',
      dir,
      files: [
        { rel: `${dir}/${CA_CERT}`, role: 'ca-bundle', mode: CERT_MODE },
        { rel: `${dir}/${NODE_CERT}`, role: 'cert', mode: CERT_MODE },
        { rel: `${dir}/${NODE_KEY}`, role: 'key', mode: KEY_MODE },
        // A node verifies client certificates with ca-client.crt alone once it has one, and then
        // needs client.node.crt (signed by the client CA) for its own connections to other nodes.
        ...(split
          ? [
              { rel: `${dir}/${CLIENT_CA_CERT}`, role: 'client-ca-bundle', mode: CERT_MODE },
              { rel: `${dir}/${clientCertName(NODE_USER)}`, role: 'node-client-cert', mode: CERT_MODE },
              { rel: `${dir}/${clientKeyName(NODE_USER)}`, role: 'node-client-key', mode: KEY_MODE },
            ] satisfies ManagedFile[]
          : []),
        ...(n.ui ? uiFiles(dir, n.ui.ca !== undefined) : []),
      ],
    });
  }
  for (const c of spec.clients) {
    const dir = clientDir(c.user);
    const files: ManagedFile[] = [
      { rel: `${dir}/${CA_CERT}`, role: 'ca-bundle', mode: CERT_MODE },
      { rel: `${dir}/${clientCertName(c.user)}`, role: 'cert', mode: CERT_MODE },
      { rel: `${dir}/${clientKeyName(c.user)}`, role: 'key', mode: KEY_MODE },
    ];
    if (c.pkcs8) files.push({ rel: `${dir}/${clientPkcs8Name(c.user)}`, role: 'pkcs8', mode: KEY_MODE });
    out.push({ id: `client/${c.user}`, kind: 'client', dir, files });
  }
  for (const t of spec.tenants ?? []) {
    const dir = tenantDir(t.id);
    // ca.crt to verify the KV nodes, ca-client-tenant.crt for what checks tenant client certificates
    // (both the cluster's one CA: cockroach falls back to ca.crt when ca-client-tenant.crt is absent).
    const files: ManagedFile[] = [
      { rel: `${dir}/${CA_CERT}`, role: 'ca-bundle', mode: CERT_MODE },
      { rel: `${dir}/${TENANT_CA_CERT}`, role: 'ca-bundle', mode: CERT_MODE },
      { rel: `${dir}/${tenantCertName(t.id)}`, role: 'cert', mode: CERT_MODE },
      { rel: `${dir}/${tenantKeyName(t.id)}`, role: 'key', mode: KEY_MODE },
    ];
    if (t.signing) {
      files.push({ rel: `${dir}/${tenantSigningCertName(t.id)}`, role: 'signing-cert', mode: CERT_MODE }, { rel: `${dir}/${tenantSigningKeyName(t.id)}`, role: 'signing-key', mode: KEY_MODE });
    }
    out.push({ id: `tenant/${t.id}`, kind: 'tenant', dir, files });
  }
  return out;
}

/** A node's copies of its provided UI files: ui.crt, ui.key and (when a CA file is given) ca-ui.crt. */
function uiFiles(dir: string, withCA: boolean): ManagedFile[] {
  const files: ManagedFile[] = [
    { rel: `${dir}/${UI_CERT}`, role: 'ui-cert', mode: CERT_MODE },
    { rel: `${dir}/${UI_KEY}`, role: 'ui-key', mode: KEY_MODE },
  ];
  if (withCA) files.push({ rel: `${dir}/${UI_CA_CERT}`, role: 'ui-ca', mode: CERT_MODE });
  return files;
}

export function absolute(spec: ClusterSpec, rel: string): string {
  return path.join(spec.certsDir, ...rel.split('/'));
}

/** What each `.age` file holds (non-secret: hashes and recipients), so unchanged keys are never re-encrypted. */
export const AGE_INDEX = 'age-index.json';
/** The encrypted copy of a key: `<key>.age`, armored age, 0644 (it is meant to be committed). */
export const AGE_FILE_MODE = CERT_MODE;

/**
 * Whether the CA key is an age file (`caKey: secrets/ca.key.age`): certgen decrypts it in memory to
 * sign and writes a CA key there only encrypted; the plaintext never touches the disk.
 */
export function isEncryptedCAKey(file: string): boolean {
  return file.toLowerCase().endsWith('.age');
}

/** The CA key relative to the certs dir (`../secrets/ca.key`): the same wherever certgen runs. */
export function caKeyRelative(spec: ClusterSpec): string {
  return path.relative(spec.certsDir, spec.caKey).split(path.sep).join('/');
}

/**
 * The CA key when it is an age file: its name relative to the certs dir (its entry in the age
 * index, as the plan names it) and the recipients it must be encrypted for (`ca.encrypt`, else
 * the top level's; none listed: undefined, and an existing file is left as it is).
 */
export function encryptedCAKey(spec: ClusterSpec): { age: string; recipients: string[] } | undefined {
  if (!isEncryptedCAKey(spec.caKey) || !spec.ca.ageRecipients?.length) return undefined;
  return { age: caKeyRelative(spec), recipients: spec.ca.ageRecipients };
}

/** A node's or client's key that the spec encrypts (`encrypt:`), with its `.age` file and recipients. */
export interface EncryptedKey {
  artifact: string;
  kind: 'node' | 'client';
  key: string;
  cert: string;
  age: string;
  recipients: string[];
}

/** Every key the spec encrypts, in spec order (nodes, then clients). */
export function encryptedKeys(spec: ClusterSpec): EncryptedKey[] {
  const out: EncryptedKey[] = [];
  for (const n of spec.nodes) {
    const dir = nodeDir(n.name);
    if (n.ageRecipients) out.push({ artifact: `node/${n.name}`, kind: 'node', key: `${dir}/${NODE_KEY}`, cert: `${dir}/${NODE_CERT}`, age: `${dir}/${NODE_KEY}.age`, recipients: n.ageRecipients });
  }
  for (const c of spec.clients) {
    const dir = clientDir(c.user);
    if (c.ageRecipients) out.push({ artifact: `client/${c.user}`, kind: 'client', key: `${dir}/${clientKeyName(c.user)}`, cert: `${dir}/${clientCertName(c.user)}`, age: `${dir}/${clientKeyName(c.user)}.age`, recipients: c.ageRecipients });
  }
  return out;
}
