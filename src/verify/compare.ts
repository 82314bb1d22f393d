// Judges what an endpoint presented (probe.ts) against the local files: the presented leaf is
// byte for byte the local node.crt (SHA-256 of the DER), its chain leads to a certificate of the
// local ca.crt (signatures, validity, CA flags, the leaf's serverAuth usage), and every host the
// spec lists for the node passes the name/IP check (Go's rules: SANs only, never the CN).
// Pure apart from `now`.
import { X509Certificate } from 'node:crypto';
import { parseIP, formatIP } from '../core/hosts.js';
import { decodePem } from '../pki/read/pem.js';
import { colonHex, leafOf, type Presentation } from './probe.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** What the node should present, from the local tree and the spec. */
export interface Expected {
  /** Lower-case hex SHA-256 of the local node.crt's DER. */
  sha256: string;
  /** The local ca.crt's certificates (DER). */
  roots: Buffer[];
  /** The node's hosts from the spec. */
  hosts: string[];
  /** The local file the endpoint should present (default `node.crt`; `ui.crt` on the HTTP port of a node that has one). */
  cert?: string;
  /** The local bundle the chain is checked against (default `ca.crt`); null: not checked (a UI certificate without `ca-ui.crt`, from a CA only browsers know). */
  rootsFile?: string | null;
}

/** The local node.crt's first certificate, the local ca.crt's certificates, and the spec's hosts. */
export function expectedFrom(nodeCrtPem: Buffer | string, caCrtPem: Buffer | string, hosts: string[]): Expected {
  const leaf = decodePem(Buffer.from(nodeCrtPem)).find((b) => b.type === 'CERTIFICATE');
  if (leaf === undefined) throw new Error('node.crt holds no certificate');
  const roots = decodePem(Buffer.from(caCrtPem))
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => Buffer.from(b.der));
  return { sha256: leafOf(Buffer.from(leaf.der)).sha256, roots, hosts };
}

export interface HostCheck {
  host: string;
  ok: boolean;
}

export interface Judgement {
  /** Everything below holds. */
  ok: boolean;
  /** The local file judged against (`node.crt`, or `ui.crt` on a UI endpoint). */
  cert: string;
  /** The presented leaf is the local node.crt (or ui.crt). */
  leafMatches: boolean;
  /** The chain verifies against the local ca.crt (null when nothing was presented, or the chain is not checked). */
  chainVerifies: boolean | null;
  chainError: string | null;
  hosts: HostCheck[];
  /** One line per problem, each naming what was presented and what was expected. */
  problems: string[];
}

function parse(der: Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

function validAt(c: X509Certificate, now: Date): string | undefined {
  if (now.getTime() < new Date(c.validFrom).getTime()) return `not valid before ${new Date(c.validFrom).toISOString()}`;
  if (now.getTime() > new Date(c.validTo).getTime()) return `expired at ${new Date(c.validTo).toISOString()}`;
  return undefined;
}

function signedBy(c: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return c.checkIssued(issuer) && c.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Whether `chain` (leaf first, as presented) leads to one of `roots`: each link signed by the
 * next, issuers CAs, everything valid at `now`, the leaf usable for serverAuth. Returns the
 * reason when it does not.
 */
export function verifyChain(chain: Buffer[], roots: Buffer[], now: Date): string | undefined {
  const [leafDer, ...rest] = chain;
  if (leafDer === undefined) return 'no certificate presented';
  const leaf = parse(leafDer);
  if (leaf === undefined) return 'the presented certificate cannot be parsed';
  const eku = leaf.keyUsage;
  if (Array.isArray(eku) && !eku.includes(SERVER_AUTH)) return 'the presented certificate is not for serverAuth (extended key usage)';
  const anchors = roots.map(parse).filter((c): c is X509Certificate => c !== undefined);
  const intermediates = rest.map(parse).filter((c): c is X509Certificate => c !== undefined && c.ca);
  let cur = leaf;
  for (let depth = 0; depth < 8; depth++) {
    const invalid = validAt(cur, now);
    if (invalid !== undefined) return `${depth === 0 ? 'the presented certificate' : `chain certificate ${cur.subject.replace(/\n/g, ', ')}`} is ${invalid}`;
    const anchor = anchors.find((a) => a.ca && signedBy(cur, a));
    if (anchor !== undefined) {
      const bad = validAt(anchor, now);
      return bad === undefined ? undefined : `the local CA certificate ${anchor.subject.replace(/\n/g, ', ')} is ${bad}`;
    }
    const next = intermediates.find((i) => i !== cur && signedBy(cur, i));
    if (next === undefined) break;
    cur = next;
  }
  return `not signed by the local ca.crt (presented issuer: ${leaf.issuer.replace(/\n/g, ', ')})`;
}

/** Go's VerifyHostname for one spec host: IPs against IP SANs, names (a `*.` wildcard by a sample label) against DNS SANs. */
export function hostPasses(cert: X509Certificate, host: string): boolean {
  const ip = parseIP(host);
  if (ip !== undefined) return cert.checkIP(formatIP(ip)) !== undefined;
  const name = host.startsWith('*.') ? `certgen-probe.${host.slice(2)}` : host;
  return cert.checkHost(name, { subject: 'never', wildcards: true }) !== undefined;
}

/** Judges one presentation against what the node should present, at `now`. */
export function judge(p: Presentation, expected: Expected, now: Date): Judgement {
  const problems: string[] = [];
  const cert = expected.cert ?? 'node.crt';
  const where = `${p.kind} ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
  if (!p.reached || p.leaf === null) {
    return { ok: false, cert, leafMatches: false, chainVerifies: null, chainError: null, hosts: [], problems: [`${where}: ${p.error ?? 'no certificate presented'}`] };
  }
  const leafMatches = p.leaf.sha256 === expected.sha256;
  if (!leafMatches) {
    problems.push(`${where} presents SHA-256 ${p.leaf.fingerprint} (serial ${p.leaf.serial}, valid until ${p.leaf.notAfter}), not the local ${cert}'s ${colonHex(expected.sha256)}`);
  }
  const rootsFile = expected.rootsFile === undefined ? 'ca.crt' : expected.rootsFile;
  const chainError = rootsFile === null ? null : (verifyChain(p.chain, expected.roots, now) ?? null);
  if (chainError !== null) problems.push(`${where}: chain does not verify against the local ${rootsFile}: ${chainError}`);
  const leaf = p.chain[0] === undefined ? undefined : parse(p.chain[0]);
  const hosts = expected.hosts.map((host) => ({ host, ok: leaf !== undefined && hostPasses(leaf, host) }));
  const failing = hosts.filter((h) => !h.ok).map((h) => h.host);
  if (failing.length > 0) problems.push(`${where}: the presented certificate is not valid for ${failing.join(', ')}`);
  if (p.client !== null && p.client.accepted !== true) {
    problems.push(`${where}: ${p.client.offered} ${p.client.accepted === false ? 'refused' : 'got no answer'}: ${p.client.detail}`);
  }
  return { ok: problems.length === 0, cert, leafMatches, chainVerifies: rootsFile === null ? null : chainError === null, chainError, hosts, problems };
}
