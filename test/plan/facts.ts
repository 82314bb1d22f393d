// In-memory facts for the pure planner: a cluster's certificates issued once, in memory, with the
// project's own src/pki functions (the same calls apply makes), laid out as the ActualTree value
// readTree would return for the tree apply writes; plus edits that change a copy of that value
// (bytes, modes, missing entries, symlinks, folders, read errors, orphans, the root, the CA key).
// Nothing here touches the disk: the spec is parsed from text under a made-up path.
//
// Facts are built from FileFact's own fields only (rel, type, mode, uid, gid, bytes, error,
// target), and an edit builds the facts it changes afresh, so optional fields added to FileFact
// later (cached parses, say) never survive an edit that would make them stale.
import type { KeyType } from '../../src/core/key-type.js';
import { createHash, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { stringify } from 'yaml';
import { parseSpec } from '../../src/cluster-spec/parse-spec.js';
import type { ClusterSpec } from '../../src/cluster-spec/spec.js';
import { issueCertificate, type CertKind } from '../../src/pki/issue.js';
import { generateRsaKey, privateKeyToPem, privateKeyToPkcs8Der, toSigner } from '../../src/pki/keys.js';
import { encodePem } from '../../src/pki/read/pem.js';
import { x509 } from '../../src/pki/x509.js';
import { CLIENTS_DIR, DIR_MODE, NODES_DIR, desiredArtifacts } from '../../src/tree/layout.js';
import type { ActualTree, FileFact } from '../../src/tree/read-tree.js';
import type { TreeGit } from '../../src/tree/git-facts.js';

/** The instant every certificate of the fixture is issued at (NotBefore = T0 − 24h). */
export const T0 = new Date('2026-01-15T10:00:00Z');
export const HOUR = 3600e3;
/** Where the spec "is": nothing is read from or written under it. */
export const SPEC_FILE = '/virtual/cluster/cluster-certs.yaml';
/** Key size of every key of the fixture (fast to generate). */
export const BITS = 1024;

/** The spec document, as written in cluster-certs.yaml. */
export interface Doc {
  certsDir: string;
  caKey: string;
  ca: { keyType?: KeyType; keySize?: number; lifetime?: string; encrypt?: { age: string[] } };
  defaults: { keyType?: KeyType; keySize?: number };
  nodes: { name: string; hosts: string[]; keyType?: KeyType; keySize?: number; lifetime?: string; renewBefore?: string; encrypt?: { age: string[] } }[];
  clients: { user: string; pkcs8?: boolean; keyType?: KeyType; keySize?: number; lifetime?: string; renewBefore?: string }[];
}

/** Two nodes and two clients (maxroach with its `.pk8`), 1024-bit keys, default lifetimes. */
export function baseDoc(): Doc {
  return {
    certsDir: 'certs',
    caKey: 'secrets/ca.key',
    ca: { keySize: BITS },
    defaults: { keySize: BITS },
    nodes: [
      { name: 'node1', hosts: ['node1.example.com', '10.0.0.1'] },
      { name: 'node2', hosts: ['node2.example.com', '10.0.0.2'] },
    ],
    clients: [{ user: 'root' }, { user: 'maxroach', pkcs8: true }],
  };
}

/** The ClusterSpec of a document, through the project's own parser (validated, normalised). */
export function specOf(doc: Doc): ClusterSpec {
  const r = parseSpec(stringify(doc), SPEC_FILE);
  if (!r.ok) throw new Error(`the test spec is invalid: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.spec;
}

/** A certificate and its key, as the files hold them. */
export interface Pair {
  cert: Buffer;
  key: Buffer;
  keyObject: KeyObject;
}

export interface CA {
  cert: x509.X509Certificate;
  key: KeyObject;
  /** ca.crt's bytes: one PEM block, as apply writes it. */
  pem: Buffer;
  keyPem: Buffer;
  /** SHA-256 of the certificate's DER, `AA:BB:…` (what a plan's `signer` names). */
  fingerprint: string;
}

export interface LeafOptions {
  kind: Exclude<CertKind, 'ca'>;
  commonName: string;
  hosts?: string[];
  /** Default: the spec's default 43920h. */
  lifetimeMs?: number;
  /** Default T0. */
  now?: Date;
  /** Reuse a key (default: a fresh BITS-bit one). */
  key?: KeyObject;
}

export async function makeCA(now: Date = T0, lifetimeMs = 87840 * HOUR): Promise<CA> {
  const { privateKey: key } = await generateRsaKey(BITS);
  const cert = await issueCertificate({ kind: 'ca', subjectKey: key, signer: await toSigner(key), commonName: 'Cockroach CA', now, lifetimeMs, serial: randomBytes(16) });
  const der = Buffer.from(cert.rawData);
  return {
    cert,
    key,
    pem: Buffer.from(encodePem('CERTIFICATE', der)),
    keyPem: Buffer.from(privateKeyToPem(key)),
    fingerprint: createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:'),
  };
}

/** A leaf certificate signed by `ca`, with the fields apply gives it. */
export async function issueLeaf(ca: CA, o: LeafOptions): Promise<Pair> {
  const keyObject = o.key ?? (await generateRsaKey(BITS)).privateKey;
  const cert = await issueCertificate({
    kind: o.kind,
    subjectKey: keyObject,
    signer: await toSigner(ca.key),
    issuer: ca.cert,
    commonName: o.commonName,
    ...(o.hosts ? { hosts: o.hosts } : {}),
    now: o.now ?? T0,
    lifetimeMs: o.lifetimeMs ?? 43920 * HOUR,
    serial: randomBytes(16),
  });
  return { cert: Buffer.from(encodePem('CERTIFICATE', Buffer.from(cert.rawData))), key: Buffer.from(privateKeyToPem(keyObject)), keyObject };
}

/**
 * A node certificate like {@link issueLeaf}'s but with another organization than Cockroach (which
 * issueCertificate always writes): the subject built here, the rest as a minimal valid leaf.
 */
export async function issueWithOrganization(ca: CA, organization: string, o: { hosts: string[]; key: KeyObject }): Promise<Buffer> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'),
    subject: new x509.Name([{ O: [organization] }, { CN: ['node'] }]),
    issuer: new x509.Name(ca.cert.subjectName.toArrayBuffer()),
    notBefore: new Date(T0.getTime() - 24 * HOUR),
    notAfter: new Date(T0.getTime() + 43920 * HOUR),
    publicKey: new x509.PublicKey(createPublicKey(o.key).export({ type: 'spki', format: 'der' })),
    signingKey: await webcrypto.subtle.importKey('pkcs8', ca.key.export({ type: 'pkcs8', format: 'der' }), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']),
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension(o.hosts.map((h) => (/^[0-9.]+$/.test(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })))],
  });
  return Buffer.from(encodePem('CERTIFICATE', Buffer.from(cert.rawData)));
}

export interface Fixture {
  doc: Doc;
  spec: ClusterSpec;
  ca: CA;
  /** Each leaf's pair, by artifact id (`node/node1`, `client/root`, …). */
  pairs: Record<string, Pair>;
  /** The tree apply would have written at T0 for `spec`, as readTree reads it. Never edit it: see {@link edit}. */
  tree: ActualTree;
}

function fact(rel: string, type: FileFact['type'], mode: number, extra: { bytes?: Buffer; error?: string; target?: string } = {}): FileFact {
  return {
    rel,
    type,
    mode,
    uid: 0,
    gid: 0,
    ...(extra.bytes !== undefined ? { bytes: extra.bytes } : {}),
    ...(extra.error !== undefined ? { error: extra.error } : {}),
    ...(extra.target !== undefined ? { target: extra.target } : {}),
  };
}

/** The CA, every leaf's pair and the tree, issued in memory at T0 (6 RSA-1024 keys, in parallel). */
export async function buildFixture(doc: Doc = baseDoc()): Promise<Fixture> {
  const spec = specOf(doc);
  const ca = await makeCA();
  const leaves = desiredArtifacts(spec).filter((a) => a.kind !== 'ca');
  const pairs: Record<string, Pair> = {};
  await Promise.all(
    leaves.map(async (a) => {
      const node = spec.nodes.find((n) => `node/${n.name}` === a.id);
      const client = spec.clients.find((c) => `client/${c.user}` === a.id);
      const lifetimeMs = Number((node ?? client)!.lifetime / 1_000_000n);
      pairs[a.id] = await issueLeaf(ca, node ? { kind: 'node', commonName: 'node', hosts: node.hosts, lifetimeMs } : { kind: 'client', commonName: client!.user, lifetimeMs });
    }),
  );
  const entries: Record<string, FileFact> = {};
  const add = (f: FileFact): void => {
    entries[f.rel] = f;
  };
  add(fact('ca.crt', 'file', 0o644, { bytes: ca.pem }));
  if (spec.nodes.length > 0) add(fact(NODES_DIR, 'dir', DIR_MODE));
  if (spec.clients.length > 0) add(fact(CLIENTS_DIR, 'dir', DIR_MODE));
  for (const a of leaves) {
    const pair = pairs[a.id]!;
    add(fact(a.dir, 'dir', DIR_MODE));
    for (const f of a.files) {
      const bytes = f.role === 'ca-bundle' ? ca.pem : f.role === 'cert' ? pair.cert : f.role === 'key' ? pair.key : privateKeyToPkcs8Der(pair.keyObject);
      add(fact(f.rel, 'file', f.mode, { bytes }));
    }
  }
  const tree: ActualTree = { entries, caKey: fact(spec.caKey, 'file', 0o600, { bytes: ca.keyPem }) };
  return { doc, spec, ca, pairs, tree };
}

// --- edits ----------------------------------------------------------------------------------

/** A change to a tree value: takes a copy it may change, returns it (or another value). */
export type Edit = (t: ActualTree) => ActualTree;

/** Names the CA key in the edits below (its fact is `tree.caKey`, not an entry). */
export const CA_KEY = ':ca-key';

/** A copy of the tree: new records and facts (bytes shared; nothing here ever writes into a Buffer). */
export function cloneTree(t: ActualTree): ActualTree {
  const entries: Record<string, FileFact> = {};
  for (const [rel, f] of Object.entries(t.entries)) entries[rel] = { ...f };
  return { ...t, entries, caKey: { ...t.caKey } };
}

/** `tree` with the edits applied, in order, to a copy; `tree` itself is left as it is. */
export function edit(tree: ActualTree, edits: Edit[]): ActualTree {
  return edits.reduce((t, e) => e(t), cloneTree(tree));
}

function get(t: ActualTree, rel: string): FileFact {
  const f = rel === CA_KEY ? t.caKey : t.entries[rel];
  if (!f) throw new Error(`edit: no entry ${rel} in the tree`);
  return f;
}

function put(t: ActualTree, rel: string, f: FileFact): ActualTree {
  if (rel === CA_KEY) t.caKey = f;
  else t.entries[rel] = f;
  return t;
}

/** What readTree never lists: what lies below an entry that is not a folder. */
function dropBelow(t: ActualTree, rel: string): void {
  for (const k of Object.keys(t.entries)) if (k.startsWith(`${rel}/`)) delete t.entries[k];
}

/** New contents for a regular file (its mode kept). */
export const bytes =
  (rel: string, b: Buffer | string): Edit =>
  (t) => {
    const f = get(t, rel);
    return put(t, rel, fact(f.rel, 'file', f.type === 'file' ? f.mode : 0o644, { bytes: Buffer.from(b) }));
  };

/** A new mode (permission bits) for a file or folder; contents kept. */
export const mode =
  (rel: string, m: number): Edit =>
  (t) => {
    const f = get(t, rel);
    return put(t, rel, fact(f.rel, f.type, m, { ...(f.bytes ? { bytes: f.bytes } : {}), ...(f.error !== undefined ? { error: f.error } : {}), ...(f.target !== undefined ? { target: f.target } : {}) }));
  };

/** The entry gone, with everything below it (`rm -r`); the CA key: missing. */
export const drop =
  (rel: string): Edit =>
  (t) => {
    if (rel === CA_KEY) return put(t, rel, fact(t.caKey.rel, 'missing', 0));
    get(t, rel);
    delete t.entries[rel];
    dropBelow(t, rel);
    return t;
  };

/** A symlink in the entry's place (lstat's view: mode 0777, nothing below it). The CA key: a dangling link. */
export const symlink =
  (rel: string, target: string): Edit =>
  (t) => {
    const f = rel === CA_KEY ? t.caKey : t.entries[rel];
    const r = f?.rel ?? rel;
    dropBelow(t, rel);
    return put(t, rel, fact(r, 'symlink', rel === CA_KEY ? 0 : 0o777, { target }));
  };

/** An (empty) folder in the entry's place, 0700 unless told. */
export const dir =
  (rel: string, m = DIR_MODE): Edit =>
  (t) =>
    put(t, rel, fact(rel === CA_KEY ? t.caKey.rel : rel, 'dir', m));

/** Something else (a FIFO, a socket, a device) in the entry's place. */
export const other =
  (rel: string, m = 0o644): Edit =>
  (t) => {
    dropBelow(t, rel);
    return put(t, rel, fact(rel === CA_KEY ? t.caKey.rel : rel, 'other', m));
  };

/** lstat failed (or, for a folder, it cannot be listed): type `error`, nothing below it. */
export const statError =
  (rel: string, error = 'permission denied'): Edit =>
  (t) => {
    const f = rel === CA_KEY ? t.caKey : t.entries[rel];
    dropBelow(t, rel);
    return put(t, rel, fact(f?.rel ?? rel, 'error', f?.mode ?? 0, { error }));
  };

/** A regular file whose contents could not be read (no bytes, `error` set), as readTree reports it. */
export const readError =
  (rel: string, error = 'permission denied'): Edit =>
  (t) => {
    const f = get(t, rel);
    return put(t, rel, fact(f.rel, 'file', f.mode, { error }));
  };

/**
 * An entry the spec does not ask for. readTree reads bytes of managed files only, so an orphan
 * file has none; a folder is empty unless other orphans are added below it.
 */
export const orphan =
  (rel: string, type: 'file' | 'dir' | 'other' = 'file', m = type === 'dir' ? DIR_MODE : 0o644): Edit =>
  (t) =>
    put(t, rel, fact(rel, type, m));

/** The certs dir itself cannot be used (readTree then lists nothing). */
export const rootError =
  (message: string): Edit =>
  (t) => ({ rootError: message, entries: {}, caKey: t.caKey });

/** The CA key really lies at `rel` inside the tree (through a symlink). */
export const caKeyInTree =
  (rel: string): Edit =>
  (t) => ({ ...t, caKeyInTree: rel });

/** Where the certs dir stands with git (readTreeGit's facts); default: inside a work tree at /virtual. */
export const inGit =
  (git: TreeGit = { repo: { state: 'repo', top: '/virtual' } }): Edit =>
  (t) => ({ ...t, git });

/**
 * node1's key encrypted: its `.age` file (stand-in bytes) and an index entry saying it holds the
 * key for `recipients`; `restored`: the key is not on disk but was decrypted from it.
 */
export const ageIndexed =
  (recipients: string[], opts: { restored?: boolean; extra?: Record<string, unknown> } = {}): Edit =>
  (t) => {
    const key = get(t, 'nodes/node1/node.key');
    const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
    const entry = { key: key.rel, plaintextSha256: sha(key.bytes ?? ''), recipients, ageSha256: sha('ciphertext') };
    put(t, 'nodes/node1/node.key.age', fact('nodes/node1/node.key.age', 'file', 0o644, { bytes: Buffer.from('ciphertext') }));
    put(t, 'age-index.json', fact('age-index.json', 'file', 0o644, { bytes: Buffer.from(JSON.stringify({ format: 'certgen-age-index', version: 1, files: { 'nodes/node1/node.key.age': entry, ...opts.extra } })) }));
    if (opts.restored) put(t, key.rel, { ...key, restoredFrom: 'nodes/node1/node.key.age' });
    return t;
  };

/** node1's key exists only as its `.age` file, which the read could not decrypt (`code`). */
export const lockedKey =
  (code: 'age-identity-needed' | 'age-unreadable'): Edit =>
  (t) => {
    delete t.entries['nodes/node1/node.key'];
    return { ...t, lockedKeys: [{ artifact: 'node/node1', key: 'nodes/node1/node.key', age: 'nodes/node1/node.key.age', code, message: `${code} (from the read)` }] };
  };

/**
 * The CA key as an `.age` file (caKey ending in .age) the read could not open (`kind`, as
 * tree/age-facts.ts says it): the file's bytes, no plaintext.
 */
export const sealedCAKey =
  (kind: 'identity-needed' | 'no-match' | 'corrupt', m = 0o644): Edit =>
  (t) => ({
    ...t,
    caKey: { ...fact(t.caKey.rel, 'file', m), armored: Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\n'), sealed: { code: kind === 'identity-needed' ? 'age-identity-needed' : 'age-unreadable', kind, message: `${kind} (from the read)` } },
  });

/** No certs dir at all (a first apply): no entries. */
export const empty = (): Edit => (t) => ({ entries: {}, caKey: t.caKey });

// --- purity ---------------------------------------------------------------------------------

/** A deep copy of plain data (objects, arrays, Buffers, Dates, primitives), to compare against later. */
export function snapshot<T>(v: T): T {
  if (Buffer.isBuffer(v)) return Buffer.from(v) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (Array.isArray(v)) return v.map(snapshot) as T;
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = snapshot(x);
    return out as T;
  }
  return v;
}

/** Freezes every object and array reachable from `v` (Buffers cannot be frozen; they are compared instead). */
export function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || v instanceof Date || Object.isFrozen(v)) return v;
  for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
}
