// Which targets a run covers, and whether their ssh blocks are usable: all decided from the spec
// and the options alone, before anything is read or any host contacted.
import path from 'node:path';
import { CA_CERT, CLIENT_CA_CERT, NODE_CERT, NODE_KEY, UI_CA_CERT, UI_CERT, UI_KEY, clientCertName, clientKeyName, clientPkcs8Name } from '../core/cert-names.js';
import { CertgenError } from '../errors.js';
import type { ClusterSpec, SshTarget, VerifySpec } from '../cluster-spec/spec.js';
import { NODE_USER } from '../tree/layout.js';
import type { DistributeOptions, TargetKind } from './types.js';

/** A target the options chose, before its local folder is checked. */
export interface Selected {
  kind: TargetKind;
  name: string;
  ssh: SshTarget;
  reload: string | undefined;
  folder: string;
  /** The file names to send, in the order they are reported. */
  expected: string[];
  /** A node's hosts (empty for a client). */
  hosts: string[];
  verify: VerifySpec | undefined;
}

const FORBIDDEN_OPTIONS: Record<string, string> = {
  batchmode: 'certgen always runs ssh with BatchMode=yes (no prompts)',
  port: 'set ssh.port instead',
};

/**
 * The nodes (and, when asked, clients) to distribute to, in spec order. Throws for an unknown
 * name (listing the valid ones) or a named target without an ssh block.
 */
export function selectTargets(spec: ClusterSpec, options: DistributeOptions): Selected[] {
  const out: Selected[] = [];
  const pick = <T extends { ssh?: SshTarget }>(kind: TargetKind, all: T[], nameOf: (x: T) => string, limit: string[] | undefined): T[] => {
    const valid = all.map(nameOf);
    if (limit === undefined) return all.filter((x) => x.ssh !== undefined);
    const unknown = limit.filter((n) => !valid.includes(n));
    if (unknown.length > 0) {
      const list = valid.length === 0 ? `the spec has no ${kind}s` : `valid ${kind}s: ${valid.join(', ')}`;
      throw new CertgenError(`unknown ${kind}${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (${list})`);
    }
    const chosen = all.filter((x) => limit.includes(nameOf(x)));
    const noSsh = chosen.filter((x) => x.ssh === undefined).map(nameOf);
    if (noSsh.length > 0) {
      throw new CertgenError(`${kind}${noSsh.length > 1 ? 's' : ''} ${noSsh.join(', ')} ha${noSsh.length > 1 ? 've' : 's'} no ssh target`, {
        hint: `add an "ssh:" block (host, dir) to the ${kind} in ${spec.file}`,
      });
    }
    return chosen;
  };
  for (const n of pick('node', spec.nodes, (x) => x.name, options.nodes)) {
    out.push({
      kind: 'node',
      name: n.name,
      ssh: n.ssh as SshTarget,
      reload: n.reload,
      folder: path.join(spec.certsDir, 'nodes', n.name),
      // The provided UI files go with the node's own (ui.key, like node.key, as 0600); with a split
      // client CA so do ca-client.crt (what the node verifies clients with) and its client.node pair.
      expected: [
        CA_CERT,
        NODE_CERT,
        NODE_KEY,
        ...(spec.clientCa !== undefined ? [CLIENT_CA_CERT, clientCertName(NODE_USER), clientKeyName(NODE_USER)] : []),
        ...(n.ui ? [UI_CERT, UI_KEY, ...(n.ui.ca ? [UI_CA_CERT] : [])] : []),
      ],
      hosts: n.hosts,
      verify: n.verify,
    });
  }
  if (options.includeClients === true || options.clients !== undefined) {
    for (const c of pick('client', spec.clients, (x) => x.user, options.clients)) {
      out.push({
        kind: 'client',
        name: c.user,
        ssh: c.ssh as SshTarget,
        reload: c.reload,
        folder: path.join(spec.certsDir, 'clients', c.user),
        expected: [CA_CERT, clientCertName(c.user), clientKeyName(c.user), ...(c.pkcs8 ? [clientPkcs8Name(c.user)] : [])],
        hosts: [],
        verify: undefined,
      });
    }
  }
  return out;
}

/** Throws when an ssh block could be read by ssh as an option, or names something unusable. */
export function checkSshTarget(label: string, t: SshTarget): void {
  const bad = (what: string): never => {
    throw new CertgenError(`${label}: ${what}`);
  };
  if (t.host === '' || t.host.startsWith('-') || /[\s@]/.test(t.host)) bad(`${JSON.stringify(t.host)} is not a valid ssh host`);
  if (t.user !== undefined && (t.user.startsWith('-') || /[\s@:]/.test(t.user))) bad(`${JSON.stringify(t.user)} is not a valid ssh user`);
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) bad(`ssh port ${t.port} is out of range`);
  // eslint-disable-next-line no-control-regex
  if (t.dir === '' || /[\x00-\x1f\x7f]/.test(t.dir)) bad(`${JSON.stringify(t.dir)} is not a usable remote folder`);
  for (const o of t.options) {
    const m = /^([A-Za-z][A-Za-z0-9]*)(\s*=\s*|\s+)\S/.exec(o);
    if (m === null) bad(`${JSON.stringify(o)} is not an ssh option (write Name=value)`);
    const why = FORBIDDEN_OPTIONS[(m?.[1] ?? '').toLowerCase()];
    if (why !== undefined) bad(`ssh option ${JSON.stringify(o)} is not allowed: ${why}`);
  }
}

/**
 * Two targets with the same key would write the same remote files. A relative dir is relative to
 * the login user's home, so the user is part of the key only then; host names are case-blind.
 */
export function destinationKey(t: SshTarget): string {
  const dir = path.posix.normalize(t.dir).replace(/(.)\/$/, '$1');
  return `${dir.startsWith('/') ? '' : (t.user ?? '')}@${t.host.toLowerCase()}:${t.port}:${dir}`;
}

/**
 * Throws unless the selection is something to do: at least one target, every ssh block usable,
 * no two targets writing the same remote folder.
 */
export function checkSelection(spec: ClusterSpec, options: DistributeOptions, selected: Selected[]): void {
  if (selected.length === 0) {
    throw new CertgenError(`nothing to distribute: no ${options.includeClients ? 'node or client' : 'node'} in ${spec.file} has an ssh target`, {
      hint: 'add an "ssh:" block (host, dir) to each node that should receive its certificates',
    });
  }
  const seen = new Map<string, string>();
  for (const s of selected) {
    const label = `${s.kind} ${s.name}`;
    checkSshTarget(label, s.ssh);
    const key = destinationKey(s.ssh);
    const other = seen.get(key);
    if (other !== undefined) throw new CertgenError(`${label} and ${other} have the same ssh destination ${s.ssh.host}:${s.ssh.port}:${s.ssh.dir}; their files would overwrite each other`);
    seen.set(key, label);
  }
}
