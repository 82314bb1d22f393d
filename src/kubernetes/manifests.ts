// The objects of one outputs.kubernetes entry, built from the files of the tree: which Secrets
// (and ConfigMap) a layout has, which keys they hold, and the non-secret annotations that say what
// is inside (so a reviewer, a GitOps diff and certgen itself can tell without decrypting).
import { createHash } from 'node:crypto';
import { CA_CERT, NODE_CERT, NODE_KEY, clientCertName, clientKeyName } from '../core/cert-names.js';
import { manifestFileName } from '../core/kubernetes.js';
import { findPrivateKeyInPem, publicKeyDer } from '../pki/keys.js';
import { pemToCertificateBlocks } from '../pki/read/pem.js';
import { readCertificate } from '../pki/x509.js';
import type { KubernetesOutputSpec } from '../cluster-spec/spec.js';
import { CertgenError } from '../errors.js';

/** The annotation keys (../shared/reference/rotation-and-gitops.md §5). Values are lowercase hex, and RFC 3339 UTC. */
export const ANNOTATIONS = {
  cert: 'certgen/cert-sha256',
  keySpki: 'certgen/key-spki-sha256',
  bundle: 'certgen/ca-bundle-sha256',
  notAfter: 'certgen/not-after',
} as const;

export const MANAGED_BY_LABEL = { 'app.kubernetes.io/managed-by': 'certgen' } as const;

/** A Kubernetes object as written: plain strings only (SOPS's MAC and YAML both see them as str). */
export interface K8sObject {
  apiVersion: 'v1';
  kind: 'Secret' | 'ConfigMap';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  type?: 'Opaque' | 'kubernetes.io/tls';
  data: Record<string, string>;
}

export interface Manifest {
  /** File name inside the output's folder. */
  file: string;
  object: K8sObject;
  /** Whether it carries a private key (a Secret). */
  secret: boolean;
  /** A client Secret: whose pair it holds. */
  user?: string;
}

/** The certificate and key files one pair of the tree contributes, as bytes. */
export interface PairFiles {
  /** Relative to certsDir, for messages. */
  dir: string;
  bundle: Buffer;
  cert: Buffer;
  key: Buffer;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** RFC 3339 in UTC, seconds only: how certificates count time. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function firstCert(pem: Buffer, what: string): { der: Buffer; notAfter: Date } {
  const [der] = pemToCertificateBlocks(pem);
  if (der === undefined) throw new CertgenError(`${what} holds no certificate: run certgen apply to make it`);
  return { der, notAfter: readCertificate(der).notAfter };
}

function pairAnnotations(p: PairFiles, certName: string, keyName: string): Record<string, string> {
  const cert = firstCert(p.cert, `${p.dir}/${certName}`);
  let spki: Buffer;
  try {
    spki = publicKeyDer(findPrivateKeyInPem(p.key.toString('latin1')));
  } catch (err) {
    throw new CertgenError(`${p.dir}/${keyName} cannot be read as a private key (${(err as Error).message}): run certgen plan`, { cause: err });
  }
  return { [ANNOTATIONS.cert]: sha256(cert.der), [ANNOTATIONS.keySpki]: sha256(spki), [ANNOTATIONS.bundle]: sha256(p.bundle), [ANNOTATIONS.notAfter]: rfc3339(cert.notAfter) };
}

const b64 = (b: Buffer): string => b.toString('base64');

/** A client Secret's inputs: whose pair, under which name. */
export interface ClientPair {
  user: string;
  name: string;
  files: PairFiles;
}

/**
 * The objects of `out`, in a fixed order (node Secret, the client Secrets in spec order, then the
 * CA ConfigMap): byte-identical for identical files, so an unchanged tree renders unchanged manifests.
 */
export function buildManifests(out: KubernetesOutputSpec, node: PairFiles, clients: readonly ClientPair[]): Manifest[] {
  const meta = (name: string, annotations: Record<string, string>): K8sObject['metadata'] => ({ name, namespace: out.namespace, labels: { ...MANAGED_BY_LABEL }, annotations });
  const nodeNotes = pairAnnotations(node, NODE_CERT, NODE_KEY);
  const secret = (name: string, notes: Record<string, string>, type: 'Opaque' | 'kubernetes.io/tls', data: Record<string, string>, user?: string): Manifest => ({
    file: manifestFileName('Secret', name),
    secret: true,
    object: { apiVersion: 'v1', kind: 'Secret', metadata: meta(name, notes), type, data },
    ...(user !== undefined ? { user } : {}),
  });
  const tls = (p: PairFiles, withCa: boolean): Record<string, string> => ({ ...(withCa ? { [CA_CERT]: b64(p.bundle) } : {}), 'tls.crt': b64(p.cert), 'tls.key': b64(p.key) });
  const clientNotes = (c: ClientPair): Record<string, string> => pairAnnotations(c.files, clientCertName(c.user), clientKeyName(c.user));
  switch (out.layout) {
    case 'helm':
      // `kubectl create secret generic --from-file`: the files under their cockroach names.
      return [
        secret(out.names.node, nodeNotes, 'Opaque', { [CA_CERT]: b64(node.bundle), [NODE_CERT]: b64(node.cert), [NODE_KEY]: b64(node.key) }),
        ...clients.map((c) => secret(c.name, clientNotes(c), 'Opaque', { [CA_CERT]: b64(c.files.bundle), [clientCertName(c.user)]: b64(c.files.cert), [clientKeyName(c.user)]: b64(c.files.key) }, c.user)),
      ];
    case 'tls':
    case 'public-operator':
      // cert-manager's shape: the API server then guarantees tls.crt and tls.key.
      return [secret(out.names.node, nodeNotes, 'kubernetes.io/tls', tls(node, true)), ...clients.map((c) => secret(c.name, clientNotes(c), 'kubernetes.io/tls', tls(c.files, true), c.user))];
    case 'operator': {
      // The CockroachDB operator reads trust from a ConfigMap; its Secrets hold the pairs only.
      const ca = firstCert(node.bundle, `${node.dir}/${CA_CERT}`);
      const caName = out.names.ca ?? `${out.nodeSet}-ca`;
      const caNotes = { [ANNOTATIONS.cert]: sha256(ca.der), [ANNOTATIONS.bundle]: sha256(node.bundle), [ANNOTATIONS.notAfter]: rfc3339(ca.notAfter) };
      return [
        secret(out.names.node, nodeNotes, 'kubernetes.io/tls', tls(node, false)),
        ...clients.map((c) => secret(c.name, clientNotes(c), 'kubernetes.io/tls', tls(c.files, false), c.user)),
        { file: manifestFileName('ConfigMap', caName), secret: false, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(caName, caNotes), data: { [CA_CERT]: node.bundle.toString('utf8') } } },
      ];
    }
  }
}
