// Where every artifact of a cluster lives in the generated tree. Each node and client folder is a
// complete CockroachDB certs dir (ca.crt + its own pair), so it can be shipped or mounted as is.
import path from 'node:path';
import { CA_CERT, NODE_CERT, NODE_KEY, clientCertName, clientKeyName, clientPkcs8Name } from '../core/cert-names.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';

export const NODES_DIR = 'nodes';
export const CLIENTS_DIR = 'clients';
/** Held while an apply runs, so two applies never interleave their writes. */
export const LOCK_FILE = '.certgen.lock';

export { CERT_MODE, DIR_MODE, KEY_MODE } from '../core/modes.js';
import { CERT_MODE, KEY_MODE } from '../core/modes.js';

/** One managed file, relative to certsDir (always with `/`). */
export interface ManagedFile {
  rel: string;
  role: 'ca-cert' | 'ca-bundle' | 'cert' | 'key' | 'pkcs8';
  mode: number;
}

export interface Artifact {
  /** Stable id used in plans: `ca`, `node/<name>`, `client/<user>`. */
  id: string;
  kind: 'ca' | 'node' | 'client';
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

/** Every artifact the spec asks for, CA first, then nodes and clients in spec order. */
export function desiredArtifacts(spec: ClusterSpec): Artifact[] {
  const out: Artifact[] = [{ id: 'ca', kind: 'ca', dir: '', files: [{ rel: CA_CERT, role: 'ca-cert', mode: CERT_MODE }] }];
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
  return out;
}

export function absolute(spec: ClusterSpec, rel: string): string {
  return path.join(spec.certsDir, ...rel.split('/'));
}
