// What a rotation of each kind touches: the CA of ca.crt (caKey; every leaf it signs, each node's
// node.crt the one rolled out node by node) or the split client CA of ca-client.crt
// (clientCa.key; the client certificates and each node's client.node.crt, never ca.crt or
// node.crt). The phases, gates and checks are the same code for both; only this differs.
import path from 'node:path';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { CA_CERT, CLIENT_CA_CERT, NODE_CERT, clientCertName } from '../core/cert-names.js';
import { CLIENT_CA_ARTIFACT, NODE_USER, isEncryptedCAKey, type ManagedFile } from '../tree/layout.js';
import type { ActualTree, FileFact } from '../tree/read-tree.js';
import { RotationError, inProgress, readRotationState, rotatedKeyPath, type RotationKind, type RotationState } from './state.js';

export interface RotationTarget {
  kind: RotationKind;
  /** In messages: `CA`, `client CA`. */
  label: string;
  /** The journal's artifact for its key and bundle. */
  artifact: 'ca' | typeof CLIENT_CA_ARTIFACT;
  /** The bundle at the top of the certs dir (and its copies in the folders, by role). */
  bundle: string;
  bundleRole: Extract<ManagedFile['role'], 'ca-bundle' | 'client-ca-bundle'>;
  /** The key that signs (absolute); the rotation moves the new one here. */
  key: string;
  /** The role of the certificate it signs in each leaf's folder (a node's is node.crt, or client.node.crt). */
  leafRole(kind: 'node' | 'client' | 'tenant'): ManagedFile['role'] | undefined;
  /** The file of a node's folder rolled out in the reissue phase. */
  nodeLeaf: string;
  /** The flag naming this kind on the command line ('' for the CA). */
  flag: string;
}

export function targetOf(spec: ClusterSpec, kind: RotationKind): RotationTarget {
  if (kind === 'ca') {
    return { kind, label: 'CA', artifact: 'ca', bundle: CA_CERT, bundleRole: 'ca-bundle', key: spec.caKey, leafRole: (k) => (spec.clientCa !== undefined && k === 'client' ? undefined : 'cert'), nodeLeaf: NODE_CERT, flag: '' };
  }
  return {
    kind,
    label: 'client CA',
    artifact: CLIENT_CA_ARTIFACT,
    bundle: CLIENT_CA_CERT,
    bundleRole: 'client-ca-bundle',
    key: rotatedKeyPath(spec, kind),
    leafRole: (k) => (k === 'node' ? 'node-client-cert' : k === 'client' ? 'cert' : undefined),
    nodeLeaf: clientCertName(NODE_USER),
    flag: ' --client-ca',
  };
}

/** The tree's fact of the key a rotation of `kind` moves. */
export function keyFactOf(tree: ActualTree, kind: RotationKind): FileFact {
  return kind === 'ca' ? tree.caKey : (tree.clientCaKey ?? { rel: '', type: 'missing', mode: 0, uid: 0, gid: 0 });
}

/** Whether the key of `kind` is age-encrypted (only caKey can be). */
export function encryptedKey(spec: ClusterSpec, kind: RotationKind): boolean {
  return kind === 'ca' && isEncryptedCAKey(spec.caKey);
}

export const otherKind = (kind: RotationKind): RotationKind => (kind === 'ca' ? 'client-ca' : 'ca');

/** Refuses to begin a rotation of `kind` while one of the other kind is under way (they share the tree, the nodes and the reloads). */
export async function refuseWhileOther(spec: ClusterSpec, kind: RotationKind): Promise<void> {
  const other = otherKind(kind);
  if (other === 'client-ca' && spec.clientCa === undefined) return;
  const s = await readRotationState(spec, other);
  if (inProgress(s)) {
    const t = targetOf(spec, other);
    throw new RotationError('other-rotation-in-progress', `a rotation of the ${t.label} (${s.id}) is ${s.phase}: one rotation at a time`, `finish it (certgen rotate continue${t.flag}) or abort it (certgen rotate abort${t.flag}) first`);
  }
}

/**
 * Which rotation continue, abort and status act on: --client-ca's; without it, the one under way
 * (two kinds are never under way together), else the CA's.
 */
export async function selectKind(spec: ClusterSpec, clientCa: boolean | undefined): Promise<RotationKind> {
  if (clientCa === true) {
    if (spec.clientCa === undefined) throw new RotationError('client-ca-not-split', `${path.basename(spec.file)} has no split client CA (ca-client.crt): there is no client CA rotation`, 'run it without --client-ca');
    return 'client-ca';
  }
  if (spec.clientCa === undefined) return 'ca';
  const main: RotationState | undefined = await readRotationState(spec, 'ca').catch(() => undefined);
  if (inProgress(main)) return 'ca';
  const client = await readRotationState(spec, 'client-ca').catch(() => undefined);
  return inProgress(client) ? 'client-ca' : 'ca';
}
