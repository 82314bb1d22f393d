// Types of the declarative cluster spec (`cluster-certs.yaml`) after validation and normalisation,
// plus its defaults. No logic: parse-spec.ts builds these, plan/apply/distribute read them.
// The written format is described by schemas/cluster-certs.schema.json.

import { NS_PER_HOUR } from '../core/duration.js';
import type { KeyType } from '../core/key-type.js';
import type { K8sObjectNames, KubernetesLayout, StatefulSetNames } from '../core/kubernetes.js';
import { DEFAULT_CA_LIFETIME as DEFAULT_CA_LIFETIME_CERT, DEFAULT_CERT_LIFETIME, DEFAULT_KEY_SIZE as CERT_DEFAULT_KEY_SIZE } from '../core/defaults.js';

/** The spec file certgen looks for when none is named. */
export const DEFAULT_SPEC_FILE = 'cluster-certs.yaml';

/** RSA key size, in bits, of the CA and of every node and client key unless the spec says otherwise. */
export const DEFAULT_KEY_SIZE = CERT_DEFAULT_KEY_SIZE;
/** CA lifetime as written in the spec: 87840h (10 years), `cockroach cert create-ca`'s default. */
export const DEFAULT_CA_LIFETIME = '87840h';
/** Node and client certificate lifetime: 43920h (5 years), `cockroach cert create-node`'s default. */
export const DEFAULT_LIFETIME = '43920h';
/** Reissue a node or client certificate when less than 720h (30 days) of its validity remains. */
export const DEFAULT_RENEW_BEFORE = '720h';
/** {@link DEFAULT_CA_LIFETIME} in nanoseconds. */
export const DEFAULT_CA_LIFETIME_NS = DEFAULT_CA_LIFETIME_CERT;
/** {@link DEFAULT_LIFETIME} in nanoseconds. */
export const DEFAULT_LIFETIME_NS = DEFAULT_CERT_LIFETIME;
/** {@link DEFAULT_RENEW_BEFORE} in nanoseconds. */
export const DEFAULT_RENEW_BEFORE_NS = 720n * NS_PER_HOUR;
/** How long applications take to pick up a new ca.crt unless `ca.clientPropagation` says: 168h (a week). */
export const DEFAULT_CLIENT_PROPAGATION = '168h';
/** What the rolling reissue of every leaf may take, in a rotation's latest-start arithmetic, unless `ca.reissueAllowance` says: 24h. */
export const DEFAULT_REISSUE_ALLOWANCE = '24h';
/** SSH port used when a spec's `ssh` block has none. */
export const DEFAULT_SSH_PORT = 22;
/** The only version of the spec format so far (the optional top-level `version:`). */
export const SPEC_VERSION = 1;

/**
 * One problem found in a spec, located in the file. `line` and `col` are 1-based; `path` is the
 * offending value's place in the document (`nodes[1].hosts[2]`, `''` for the document itself).
 * Rendered by `formatDiagnostic` as `file:line:col: path: message`.
 */
export interface Diagnostic {
  /** The spec file as the user named it (not resolved), so messages echo what they typed. */
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
  /** Absent means `'error'`. Warnings never make a spec invalid. */
  severity?: 'error' | 'warning';
}

/** A remote folder reached with ssh/scp (`certgen distribute`). */
export interface SshTarget {
  /** Host name, address or ~/.ssh/config alias. */
  host: string;
  /** Remote login; when absent ssh chooses (~/.ssh/config, then the local user). */
  user?: string;
  /** Default {@link DEFAULT_SSH_PORT}. */
  port: number;
  /** Remote folder, as written (relative paths are relative to the remote home). */
  dir: string;
  /** Absolute local path of the private key for `ssh -i`. */
  identityFile?: string;
  /** Absolute local path used as `UserKnownHostsFile`. */
  knownHosts?: string;
  /** Extra `-o` options, each `Name=value`; default none. */
  options: string[];
}

/** Where `distribute --verify` connects to a node (the spec's `verify:`, defaults merged in). */
export interface VerifySpec {
  /** Default: the node's ssh host. */
  host?: string;
  sql?: number;
  rpc?: number;
  http?: number;
}

/**
 * The DB Console certificate of a node (`ui:`), files the operator provides and certgen never
 * generates: copied into the node's folder as ui.crt, ui.key and (with `ca`) ca-ui.crt.
 */
export interface UiFiles {
  /** Absolute path of the certificate (PEM). */
  cert: string;
  /** Absolute path of its private key (PEM). */
  key: string;
  /** Absolute path of the CA certificate(s) that issued it. */
  ca?: string;
}

/** A CockroachDB node: `<certsDir>/nodes/<name>/{ca.crt,node.crt,node.key}`. */
export interface NodeSpec {
  /** Unique, `[a-z0-9][a-z0-9-]*`. */
  name: string;
  /** DNS names and IP addresses, validated, in spec order; a repeated host is kept once (with a warning). */
  hosts: string[];
  /** Default `rsa`, or `defaults.keyType`; parseSpec always fills it in (absent: `rsa`). */
  keyType?: KeyType;
  /** RSA modulus size (RSA keys only; with another type it is the unused default). */
  keySize: number;
  /** Certificate validity, in nanoseconds. */
  lifetime: bigint;
  /** Reissue when less than this remains, in nanoseconds; always shorter than `lifetime`. */
  renewBefore: bigint;
  ssh?: SshTarget;
  /** Shell command run on the node after `distribute` changed its files (or always, with forceReload). */
  reload?: string;
  /** The node's `verify:` block over `defaults.verify`, key by key; absent when neither is written. */
  verify?: VerifySpec;
  /** The node's `ui:`, else `defaults.ui` (a node's block replaces the default as a whole); absent when neither is written. */
  ui?: UiFiles;
  /** Set for a Kubernetes node set (spec `nodeSets:`): its hosts were derived from the StatefulSet. */
  nodeSet?: NodeSetSpec;
  /** The key is also written as `<key>.age` for these age recipients (spec `encrypt:`, the node's over the top level's). */
  ageRecipients?: string[];
}

/** A `nodeSets:` entry: one node certificate shared by a StatefulSet's pods (planned as a node). */
export interface NodeSetSpec extends StatefulSetNames {
  /** The node's name (its folder `nodes/<name>/`). */
  name: string;
  /** The spec's extra `hosts`, as written (they follow the derived ones in the node's hosts). */
  extraHosts: string[];
}

/** An `outputs.kubernetes` entry, its defaults filled in. */
export interface KubernetesOutputSpec {
  /** Its place in outputs.kubernetes, for messages (`outputs.kubernetes[0]`). */
  index: number;
  /** The node set's (and so the node's) name. */
  nodeSet: string;
  layout: KubernetesLayout;
  namespace: string;
  /** The client Secrets, in spec order (`client:` or `clients:`; default root's alone): each user, normalised, and its Secret's name. */
  clients: K8sClientSecret[];
  /** The node Secret's and (operator layout) the CA ConfigMap's names. */
  names: Omit<K8sObjectNames, 'client'>;
  /** Absolute folder of the manifests; absent: only printed (`render k8s --stdout`). */
  dir?: string;
  /** SOPS-encrypted for these age recipients; absent: plaintext. */
  sops?: { age: string[] };
}

/** One client Secret of an output: whose pair it holds, and its name. */
export interface K8sClientSecret {
  user: string;
  name: string;
}

/** Where else apply writes the certificates. */
export interface OutputsSpec {
  kubernetes: KubernetesOutputSpec[];
}

/** A SQL user's client certificate: `<certsDir>/clients/<user>/client.<user>.{crt,key}`. */
export interface ClientSpec {
  /** Normalised like `cockroach cert create-client` (lower case, NFC); unique. */
  user: string;
  /** Also write `client.<user>.key.pk8`. Default false. */
  pkcs8: boolean;
  /** Default `rsa`, or `defaults.keyType`; parseSpec always fills it in (absent: `rsa`). */
  keyType?: KeyType;
  /** RSA modulus size (RSA keys only; with another type it is the unused default). */
  keySize: number;
  /** Certificate validity, in nanoseconds. */
  lifetime: bigint;
  /** Reissue when less than this remains, in nanoseconds; always shorter than `lifetime`. */
  renewBefore: bigint;
  ssh?: SshTarget;
  /** Shell command run on the client host after `distribute` changed its files. */
  reload?: string;
  /** The key is also written as `<key>.age` for these age recipients (spec `encrypt:`). */
  ageRecipients?: string[];
}

/**
 * A virtual cluster (tenant) SQL server: `<certsDir>/tenants/<id>/` holds ca.crt, ca-client-tenant.crt,
 * `client-tenant.<id>.{crt,key}` (as `cert create-tenant-client`) and, with `signing`,
 * `tenant-signing.<id>.{crt,key}` (as `cert create-tenant-signing`: self-signed, Ed25519).
 */
export interface TenantSpec {
  /** The tenant ID in decimal, as cockroach prints it: 2 ≤ id < 2^64 (0 is invalid, 1 is the system tenant). */
  id: string;
  /** SANs of the tenant client certificate, validated, in spec order; default 127.0.0.1, ::1, localhost, *.local (cockroach's). */
  hosts: string[];
  /** Also keep a token signing pair. Default false. */
  signing: boolean;
  /** Of the client key (the signing key is always Ed25519). Default `rsa`, or `defaults.keyType`. */
  keyType?: KeyType;
  /** RSA modulus size (RSA keys only; with another type it is the unused default). */
  keySize: number;
  /** Validity of both certificates, in nanoseconds. */
  lifetime: bigint;
  /** Reissue when less than this remains, in nanoseconds; always shorter than `lifetime`. */
  renewBefore: bigint;
}

/** The CA certificate's parameters. The CA has no renewBefore: it is never reissued automatically. */
export interface CaSpec {
  /** Default `rsa` (`defaults.keyType` is for nodes and clients); parseSpec always fills it in (absent: `rsa`). */
  keyType?: KeyType;
  /** RSA modulus size (RSA keys only). */
  keySize: number;
  /** Validity of the CA certificate, in nanoseconds. Every leaf lifetime is at most this. */
  lifetime: bigint;
  /** How long applications take to pick up a new ca.crt, in nanoseconds (default {@link DEFAULT_CLIENT_PROPAGATION}; a CA rotation waits this long). */
  clientPropagation?: bigint;
  /** How long before the old CA's NotAfter a rotation's trust and reissue must be done, in nanoseconds (absent: the longest renewBefore of the leaves). */
  rotationMargin?: bigint;
  /** What the rolling reissue of every leaf is allowed to take in the latest-start arithmetic, in nanoseconds (absent: {@link DEFAULT_REISSUE_ALLOWANCE}). */
  reissueAllowance?: bigint;
  /** When a CA rotation drops the old CA from the bundles (default `at-expiry`). */
  pruneOld?: 'at-expiry' | 'after-reissue';
  /** What a finished rotation does with the old CA key (default `archive`: kept read-only). */
  retireOldKey?: 'archive' | 'remove';
  /**
   * When `caKey` ends in `.age`: the recipients a CA key certgen makes is encrypted for (spec
   * `ca.encrypt`, else the top-level `encrypt`); absent: none, and certgen refuses to make one.
   */
  ageRecipients?: string[];
}

/**
 * A split client CA (`clientCa:`): `<certsDir>/ca-client.crt`, copied into every node's folder,
 * where cockroach verifies client certificates with it alone; it signs every client certificate
 * and each node's client.node.crt (the node's own client identity, as `cert create-client node`).
 * Node server certificates stay signed by ca.crt's CA, which clients keep trusting.
 */
export interface ClientCaSpec {
  /** Absolute path of the client CA private key; never inside `certsDir`, never the CA key. */
  key: string;
  keyType: KeyType;
  /** RSA modulus size (RSA keys only). */
  keySize: number;
  /** Validity of the client CA certificate, in nanoseconds. */
  lifetime: bigint;
}

/** A validated, normalised spec: every default filled in, every local path absolute. */
export interface ClusterSpec {
  /** Absolute path of the spec file. */
  file: string;
  /** Absolute folder of the spec file; relative paths in the spec were resolved against it. */
  baseDir: string;
  /** Absolute root of the generated tree. */
  certsDir: string;
  /** Absolute path of the CA private key; never inside `certsDir`. */
  caKey: string;
  ca: CaSpec;
  /** The split client CA; absent: the CA of ca.crt signs client certificates too (no ca-client.crt). */
  clientCa?: ClientCaSpec;
  /** In spec order, then the node sets (as nodes with `nodeSet`); names unique. */
  nodes: NodeSpec[];
  /** In spec order; users unique. */
  clients: ClientSpec[];
  /** `outputs:`; absent when the spec has none. */
  outputs?: OutputsSpec;
  /** In spec order; ids unique. Absent (specs built by hand) means none. */
  tenants?: TenantSpec[];
}
