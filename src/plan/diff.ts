// Pure: compares the desired cluster (spec) with the facts read from disk and returns the plan.
// No I/O and no clock: `now` is an argument, so every reason is reproducible in tests.
import path from 'node:path';
import type { CertFacts } from '../pki/read/cert.js';
import { keyMatchesCert, sameKey, type KeyFacts } from '../pki/read/key.js';
import { readPkcs8File } from '../pki/read/file.js';
import { isSignedBy } from '../pki/read/verify.js';
import { classifyHosts, formatIP } from '../core/hosts.js';
import { formatDuration, formatMs } from '../core/duration.js';
import { CA_CERT, CA_COMMON_NAME, CLIENT_CA_CERT } from '../core/cert-names.js';
import { formatFileMode } from '../core/filemode.js';
import { stagedTarget } from '../core/staging-name.js';
import { AGE_INDEX, CERT_MODE, CLIENT_CA_ARTIFACT, DIR_MODE, GITIGNORE, KEY_MODE, LEAF_PARENTS, LOCK_FILE, NODE_USER, caKeyRelative, desiredArtifacts, encryptedKeys, isEncryptedCAKey, type Artifact, type ManagedFile } from '../tree/layout.js';
import { certsOf, keyOf, typeText, type ActualTree, type FileFact } from '../tree/read-tree.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { DEFAULT_KEY_TYPE, keyFactsText, keyParams, keyParamsText, keyTypeOf, type KeyType } from '../core/key-type.js';
import { diffGitignore } from './gitignore.js';
import { PLAN_VERSION, noOps, type Change, type ChmodOp, type Plan, type PlanError, type Reason, type RotationContext, type WriteOp } from './types.js';
import { diffAgeKeys } from './age-keys.js';
import type { LeafWant } from './leaf-want.js';
import { tenantWants } from './tenant.js';
import { modeReason, octal, symlinkError } from './file-reasons.js';
import { planUi } from './ui.js';

const DAY_MS = 24 * 3600 * 1000;
/** NotBefore is backdated by a day (cockroach's validFrom), so validity = lifetime + 24h. */
const BACKDATE_MS = DAY_MS;
/** Certificate times have second precision; allow for truncation at both ends. */
const LIFETIME_TOLERANCE_MS = 2000;

export interface DiffInput {
  spec: ClusterSpec;
  tree: ActualTree;
  now: Date;
  /** Remove orphans (`--prune`). */
  prune?: boolean;
  /** How to name the spec file in the plan (defaults to spec.file). */
  specFile?: string;
  /** How to name the certs dir in the plan (defaults to spec.certsDir). */
  certsDirLabel?: string;
  /** A CA rotation under way (src/plan/rotation.ts): who signs, and the caps it asks for. */
  rotation?: RotationContext;
  /** The same of a split client CA's rotation (ca-client.crt and the leaves it signs). */
  clientCaRotation?: RotationContext;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function hours(ns: bigint): number {
  return Number(ns / 1_000_000n) / 3_600_000;
}


/** Something other than a folder (or a folder that cannot be listed) where a folder belongs. */
function notAFolder(artifact: string, rel: string, f: FileFact): PlanError {
  if (f.type === 'error') return { artifact, code: 'unreadable', message: `${rel} cannot be read (${f.error ?? 'unknown error'}): certgen must list it to plan; fix its permissions, or move it away` };
  return { artifact, code: 'unreadable', message: `${rel} is ${typeText(f.type)}, not a folder: move it away` };
}

interface CAState {
  /** What happens to the CA in this plan. */
  action: 'create' | 'keep' | 'error';
  /** Its certificate file (ca.crt, ca-client.crt) and its name in messages (`CA`, `client CA`). */
  file: string;
  label: string;
  first?: CertFacts;
  /** Current bundle bytes when the CA is kept (each folder's ca.crt must equal them). */
  bundle?: Buffer;
  /**
   * The CA is kept but cannot sign: its key is an `.age` file this run cannot decrypt (why, in
   * words). What needs no signature is still planned; each certificate that does is an error.
   */
  sealed?: { code: PlanError['code']; message: string };
}

/** What the parts of the diff add to the plan. */
interface Out {
  changes: Change[];
  errors: PlanError[];
  warnings: string[];
}


/** Hosts in their canonical text: DNS names as written, IPs as Go prints them. */
function canonicalHosts(hosts: string[]): string[] {
  const { dns, ips } = classifyHosts(hosts);
  return [...dns, ...ips.map(formatIP)];
}

function multisetDiff(want: string[], have: string[]): { added: string[]; removed: string[] } {
  const count = (xs: string[]): Map<string, number> => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const w = count(want);
  const h = count(have);
  const added = [...w].flatMap(([k, n]) => Array(Math.max(0, n - (h.get(k) ?? 0))).fill(k) as string[]);
  const removed = [...h].flatMap(([k, n]) => Array(Math.max(0, n - (w.get(k) ?? 0))).fill(k) as string[]);
  return { added, removed };
}

export function diff(input: DiffInput): Plan {
  const { spec, tree, now } = input;
  const out: Out = { changes: [], errors: [], warnings: [] };
  const planOf = (): Plan => ({
    version: PLAN_VERSION,
    now: now.toISOString(),
    specFile: input.specFile ?? spec.file,
    certsDir: input.certsDirLabel ?? spec.certsDir,
    caKey: caKeyRelative(spec),
    ...(spec.clientCa ? { clientCaKey: clientCaKeyRelative(spec) } : {}),
    prune: input.prune ?? false,
    ...out,
    ...(input.rotation ? { rotation: rotationOf(input.rotation) } : {}),
    ...(input.clientCaRotation ? { clientCaRotation: rotationOf(input.clientCaRotation) } : {}),
  });
  if (tree.rootError !== undefined) {
    out.errors.push({ artifact: 'certs-dir', code: 'unreadable', message: `the certs dir ${input.certsDirLabel ?? spec.certsDir} ${tree.rootError}: nothing can be planned until it can be read` });
    return planOf();
  }
  if (tree.caKeyInTree !== undefined) {
    out.errors.push({
      artifact: 'ca',
      code: 'ca-key-in-certs-dir',
      message: `the CA key ${spec.caKey} really lies inside the certs dir (at ${tree.caKeyInTree || '.'}, through a symlink): move it out, the certs dir is what gets distributed`,
    });
  }
  for (const [r, flag] of [[input.rotation, ''], [input.clientCaRotation, ' --client-ca']] as const) {
    for (const p of r?.problems ?? []) {
      out.errors.push({ artifact: 'rotation', code: 'rotation-inconsistent', message: `${p.code}: ${p.message}; certgen never repairs a rotation: put the files back (git has the state file), or see certgen rotate status${flag}` });
    }
  }
  const ca = diffCA(input, out);
  const split = clientCa(input);
  const clientCaState = split ? diffCA(input, out, split) : undefined;
  const blockedTops = diffLeaves(input, ca, out, clientCaState);
  diffAgeKeys(spec, tree, out);
  const ui = planUi(input, blockedTops, out.changes);
  out.errors.push(...ui.errors);
  out.warnings.push(...ui.warnings);
  diffOrphans(input, blockedTops, out);
  const git = diffGitignore(tree, input.certsDirLabel ?? spec.certsDir, caKeyRelative(spec));
  if (git.change) out.changes.push(git.change);
  out.warnings.push(...keyTypeWarnings(spec), ...git.warnings);
  return planOf();
}

/**
 * Where a key type will hurt (../shared/reference/rotation-and-gitops.md §7): browsers offer no
 * Ed25519, so an Ed25519 node certificate (or a CA signing with Ed25519) breaks the DB Console
 * unless a separate UI certificate is served; Java's TLS has EdDSA only from JDK 16, and a `.pk8`
 * is for Java (JDBC).
 */
function keyTypeWarnings(spec: ClusterSpec): string[] {
  const out: string[] = [];
  const list = (xs: string[]): string => (xs.length > 3 ? `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more` : xs.join(', '));
  const edNodes = spec.nodes.filter((n) => n.keyType === 'ed25519' && !n.ui).map((n) => n.name);
  const ui = 'no browser offers Ed25519, so the DB Console will not load in a browser unless a separate RSA or ECDSA UI certificate (ui.crt/ui.key from another CA) is served';
  if (spec.ca.keyType === 'ed25519' && spec.nodes.some((n) => !n.ui)) out.push(`the CA key is Ed25519, so every node certificate carries an Ed25519 signature: ${ui}`);
  else if (edNodes.length > 0) out.push(`Ed25519 node keys (${list(edNodes)}): ${ui}`);
  const edJava = spec.clients.filter((c) => c.keyType === 'ed25519' && c.pkcs8).map((c) => c.user);
  if (edJava.length > 0) out.push(`Ed25519 client keys with a .pk8 for Java (${list(edJava)}): Java before 16 cannot use Ed25519 keys in TLS; use ecdsa-p256 or rsa for JDBC clients on older JDKs`);
  return out;
}

function rotationOf(r: RotationContext): NonNullable<Plan['rotation']> {
  return { id: r.id, phase: r.phase, ...(r.pending ? { pending: r.pending } : {}), signing: r.signing };
}

/** The split client CA's key relative to the certs dir; undefined without one. */
function clientCaKeyRelative(spec: ClusterSpec): string | undefined {
  return spec.clientCa ? path.relative(spec.certsDir, spec.clientCa.key).split(path.sep).join('/') : undefined;
}

function entryOf(tree: ActualTree): (rel: string) => FileFact {
  return (rel) => tree.entries[rel] ?? { rel, type: 'missing', mode: 0, uid: 0, gid: 0 };
}

/** The longest renewal window of any leaf: a CA that ends inside it must be rotated first. */
function maxRenewBefore(spec: ClusterSpec): bigint {
  return [...spec.nodes, ...spec.clients, ...(spec.tenants ?? [])].reduce((m, l) => (l.renewBefore > m ? l.renewBefore : m), 0n);
}

// --- the CA ---------------------------------------------------------------------------------

/** Which CA diffCA plans: the CA of ca.crt, or the split client CA of ca-client.crt (same rules, its own files and key). */
interface CaWhich {
  artifact: 'ca' | typeof CLIENT_CA_ARTIFACT;
  /** Its certificate file at the top of the certs dir. */
  cert: string;
  key: FileFact;
  /** The key's path as the spec resolved it, and as the plan shows it. */
  keyPath: string;
  keyLabel: string;
  /** For messages: `CA`, `client CA`. */
  label: string;
  params: { keyType?: KeyType; keySize: number; lifetime: bigint };
  /** The ops' flag naming the key. */
  keyFlag: { caKey: true } | { caKey: true; clientCaKey: true };
  /** Its key is an age file (only caKey can be), and who a new one is encrypted for. */
  encrypted: boolean;
  ageRecipients?: string[];
  rotation?: RotationContext;
}

function mainCa(input: DiffInput): CaWhich {
  return { artifact: 'ca', cert: CA_CERT, key: input.tree.caKey, keyPath: input.spec.caKey, keyLabel: caKeyRelative(input.spec), label: 'CA', params: input.spec.ca, keyFlag: { caKey: true }, encrypted: isEncryptedCAKey(input.spec.caKey), ...(input.spec.ca.ageRecipients ? { ageRecipients: input.spec.ca.ageRecipients } : {}), ...(input.rotation ? { rotation: input.rotation } : {}) };
}

function clientCa(input: DiffInput): CaWhich | undefined {
  const c = input.spec.clientCa;
  if (c === undefined) return undefined;
  const missing: FileFact = { rel: c.key, type: 'missing', mode: 0, uid: 0, gid: 0 };
  return { artifact: CLIENT_CA_ARTIFACT, cert: CLIENT_CA_CERT, key: input.tree.clientCaKey ?? missing, keyPath: c.key, keyLabel: clientCaKeyRelative(input.spec) ?? c.key, label: 'client CA', params: c, keyFlag: { caKey: true, clientCaKey: true }, encrypted: false, ...(input.clientCaRotation ? { rotation: input.clientCaRotation } : {}) };
}

/** A CA's change (created, kept or its modes fixed) or the errors that stop apply. */
function diffCA(input: DiffInput, out: Out, which: CaWhich = mainCa(input)): CAState {
  const { spec, tree } = input;
  const nowMs = input.now.getTime();
  const { errors, warnings } = out;
  const ca: CAState = { action: 'keep', file: which.cert, label: which.label };
  // The file this CA lives in (ca.crt, ca-client.crt).
  const certFile = which.cert;
  const caFile = entryOf(tree)(certFile);
  const caKey = which.key;
  const caChange: Change = { artifact: which.artifact, kind: 'ca', action: 'keep', files: [], reasons: [], ops: noOps() };
  const L = which.label;
  const artifact = which.artifact;
  // An encrypted CA key (caKey ending in .age) is ciphertext on disk: its mode says nothing about
  // exposure, and it is only ever written encrypted. (The client CA's key is always plaintext.)
  const encrypted = which.encrypted;
  // The CA key's path may be a link the operator made; one that leads nowhere is not "missing".
  const danglingKey = caKey.type === 'symlink';
  if (danglingKey) {
    ca.action = 'error';
    errors.push({
      artifact,
      code: 'symlink',
      message: `the ${L} key ${which.keyPath} is a symlink to ${caKey.target ?? '?'}, which does not exist: restore the key it points to, or remove the link to have a new CA made`,
    });
  }
  // A CA key others could read may already have been copied: narrowing the mode quietly would
  // hide that, so (like ssh with an open private key) certgen stops and says so.
  const exposedKey = !encrypted && caKey.type === 'file' && (caKey.mode & 0o077) !== 0;
  if (exposedKey) {
    ca.action = 'error';
    errors.push({
      artifact,
      code: 'mode-too-open',
      message: `the ${L} key ${which.keyPath} is ${octal(caKey.mode & 0o777)} (${formatFileMode(caKey.mode & 0o777)}), open to group or others: it may have been copied. chmod 600 it, and rotate the ${L} if it may have leaked`,
    });
  }
  const caKeyLabel = which.keyLabel;
  const createCA = (withKey: boolean): void => {
    ca.action = 'create';
    caChange.action = 'create';
    const write: WriteOp[] = [];
    // The CA's files are never replaced: an existing one means someone else made it meanwhile.
    if (withKey && encrypted) write.push({ file: caKeyLabel, caKey: true, content: 'ca-key-age', mode: KEY_MODE, exclusive: true, recipients: [...(which.ageRecipients ?? [])] });
    else if (withKey) write.push({ file: caKeyLabel, ...which.keyFlag, content: 'ca-key', mode: KEY_MODE, exclusive: true });
    write.push({ file: certFile, content: 'ca-cert', mode: CERT_MODE, exclusive: true });
    caChange.ops = {
      ...(withKey ? { newKey: keyParams(which.params.keyType ?? DEFAULT_KEY_TYPE, which.params.keySize) } : {}),
      issue: { kind: 'ca', commonName: CA_COMMON_NAME, lifetime: formatDuration(which.params.lifetime), signer: 'self' },
      write,
      chmod: [],
      remove: [],
    };
    caChange.files = write.map((w) => w.file);
  };
  if (caFile.type === 'symlink') {
    ca.action = 'error';
    errors.push(symlinkError(artifact, caFile, 'file'));
  } else if (caFile.type === 'missing' && (danglingKey || exposedKey)) {
    // reported above: nothing safe to create a CA from
  } else if (caFile.type === 'missing') {
    if (caKey.type === 'missing' && encrypted && !which.ageRecipients?.length) {
      ca.action = 'error';
      errors.push({ artifact, code: 'age-recipients-needed', message: `${certFile} and the CA key do not exist, and caKey ${spec.caKey} is an .age file but the spec lists no age recipient to encrypt a new CA key for: add encrypt: { age: [age1…] } (or ca.encrypt), or point caKey at a plaintext key` });
    } else if (caKey.type === 'missing') {
      createCA(true);
      caChange.reasons.push({ code: 'missing', message: `${certFile} and the ${L} key do not exist: a new ${L} is created${encrypted ? `, its key written only encrypted (age, for ${plural(which.ageRecipients?.length ?? 0, 'recipient')})` : ''}`, file: certFile });
    } else if (caKey.sealed) {
      ca.action = 'error';
      errors.push({ artifact, code: caKey.sealed.code, message: `${certFile} does not exist and ${caKey.sealed.message}: a CA certificate cannot be made for it` });
    } else {
      try {
        keyOf(caKey);
        createCA(false);
        caChange.reasons.push({ code: 'missing', message: `${certFile} does not exist: a ${L} certificate is made for the existing key ${which.keyPath}`, file: certFile });
      } catch (err) {
        ca.action = 'error';
        errors.push({ artifact, code: 'unreadable', message: `${L} key ${which.keyPath} cannot be used (${(err as Error).message}): fix or move it away before creating the ${L}` });
      }
    }
  } else {
    try {
      const bundle = certsOf(caFile);
      // During a rotation the signer is the one the rotation records, wherever it stands in ca.crt.
      const signer = which.rotation?.signer || undefined;
      ca.first = signer === undefined ? bundle[0] : bundle.find((c) => c.fingerprint === signer);
      if (signer !== undefined && ca.first === undefined) throw new Error(`the signing ${L} of rotation ${which.rotation?.id ?? ''} (${signer}) is not in it`);
      ca.bundle = caFile.bytes;
    } catch (err) {
      ca.action = 'error';
      errors.push({ artifact, code: 'unreadable', message: `${certFile} cannot be read as a ${L} bundle (${(err as Error).message}): restore it from a backup, or move it away to create a new ${L}` });
    }
    if (ca.first) {
      const first = ca.first;
      let key: KeyFacts | undefined;
      if (danglingKey) {
        // reported above
      } else if (caKey.sealed?.kind === 'corrupt') {
        ca.action = 'error';
        errors.push({ artifact, code: caKey.sealed.code, message: caKey.sealed.message });
      } else if (caKey.sealed) {
        // No identity, or only others' (CI may hold the leaf keys' identity, not the CA's).
        ca.sealed = { code: caKey.sealed.code, message: caKey.sealed.message };
      } else if (caKey.type === 'missing') {
        ca.action = 'error';
        errors.push({
          artifact,
          code: 'ca-key-missing',
          message: `the ${L} key ${which.keyPath} is missing but ${certFile} exists: restore the key (certgen cannot sign without it), or move ${certFile} away to start a new ${L} (every certificate it signs will be reissued)`,
        });
      } else {
        try {
          key = keyOf(caKey);
        } catch (err) {
          ca.action = 'error';
          errors.push({ artifact, code: 'unreadable', message: `the ${L} key ${which.keyPath} cannot be read (${(err as Error).message})` });
        }
      }
      if (key && !keyMatchesCert(key, first)) {
        ca.action = 'error';
        // "does not match" sends an operator hunting for another RSA key; say when it cannot be one.
        const kind = key.type !== 'rsa' && first.publicKey.type === 'rsa' ? ` (it is not an RSA key; the CA certificate's key is RSA-${first.publicKey.bits ?? 0})` : '';
        errors.push({ artifact, code: 'key-mismatch', message: `the ${L} key ${which.keyPath} does not match the first certificate in ${certFile}${kind}: point ${which.artifact === 'ca' ? 'caKey' : 'clientCa.key'} at the right key, or restore ${certFile}` });
      }
      const notAfter = first.notAfter.getTime();
      const longestWindow = maxRenewBefore(spec);
      if (notAfter <= nowMs) {
        ca.action = 'error';
        errors.push({ artifact, code: 'expired', message: `the ${L} expired on ${first.notAfter.toISOString()}: rotate the ${L} (create a new ${L} key and certificate, prepend it to ${certFile}, then reissue every certificate it signs)` });
      } else if (BigInt(notAfter - nowMs) * 1_000_000n < longestWindow && which.rotation?.capAtSigner) {
        warnings.push(`the signing ${L} expires on ${first.notAfter.toISOString()} (${formatMs(notAfter - nowMs)} left), inside the renewal window of its leaves: rotation ${which.rotation.id} is under way (${which.rotation.phase}); certificates signed meanwhile end with it`);
      } else if (BigInt(notAfter - nowMs) * 1_000_000n < longestWindow) {
        ca.action = 'error';
        errors.push({
          artifact,
          code: 'ca-expiring',
          message: `the ${L} expires on ${first.notAfter.toISOString()} (${formatMs(notAfter - nowMs)} left), inside the renewal window of its leaves (${formatDuration(longestWindow)}): rotate the ${L} now${which.artifact === 'ca' ? '' : ' (certgen rotate start --client-ca)'}`,
        });
      }
      const caBits = first.publicKey.type === 'rsa' ? first.publicKey.bits : undefined;
      const caWants = keyParams(which.params.keyType ?? DEFAULT_KEY_TYPE, which.params.keySize);
      if (keyTypeOf(first.publicKey) !== caWants.type) {
        warnings.push(`the ${L} key is ${keyFactsText(first.publicKey)} but the spec asks for ${keyParamsText(caWants)}: certgen never replaces a ${L} by itself; rotate it deliberately`);
      } else if (caBits !== undefined && caBits !== which.params.keySize) {
        warnings.push(`the ${L} key is ${caBits} bits but the spec asks for ${which.params.keySize}: certgen never replaces a ${L} by itself; rotate it deliberately`);
      }
      const caLifetimeMs = first.notAfter.getTime() - first.notBefore.getTime() - BACKDATE_MS;
      const wantMs = Number(which.params.lifetime / 1_000_000n);
      if (Math.abs(caLifetimeMs - wantMs) > LIFETIME_TOLERANCE_MS) {
        warnings.push(`the ${L} lifetime is ${formatMs(caLifetimeMs)} but the spec asks for ${formatDuration(which.params.lifetime)}: certgen never replaces a ${L} by itself`);
      }
      if (ca.action === 'keep') {
        const chmod: ChmodOp[] = [];
        const reasons: Reason[] = [];
        const certMode = modeReason(certFile, caFile.mode, CERT_MODE);
        if (certMode) {
          reasons.push(certMode);
          chmod.push({ file: certFile, mode: CERT_MODE });
        }
        const keyMode = caKey.type === 'file' && !encrypted ? modeReason(caKeyLabel, caKey.mode, KEY_MODE) : undefined;
        if (keyMode) {
          reasons.push(keyMode);
          chmod.push({ file: caKeyLabel, ...which.keyFlag, mode: KEY_MODE });
        }
        if (reasons.length > 0) {
          caChange.action = 'fix-mode';
          caChange.reasons = reasons;
          caChange.files = reasons.map((r) => r.file ?? certFile);
          caChange.ops = { write: [], chmod, remove: [] };
        } else caChange.files = [certFile];
      }
    }
  }
  if (ca.action !== 'error') out.changes.push(caChange);
  return ca;
}

// --- nodes and clients ----------------------------------------------------------------------

/** What the spec wants of each leaf, in spec order. */
function leafWants(spec: ClusterSpec): LeafWant[] {
  const wants: LeafWant[] = [];
  const nodes = new Map(spec.nodes.map((n) => [`node/${n.name}`, n]));
  const clients = new Map(spec.clients.map((c) => [`client/${c.user}`, c]));
  const tenants = new Map((spec.tenants ?? []).map((t) => [`tenant/${t.id}`, t]));
  for (const a of desiredArtifacts(spec)) {
    if (a.kind === 'node') {
      const n = nodes.get(a.id);
      if (!n) continue;
      const key = keyParams(n.keyType ?? DEFAULT_KEY_TYPE, n.keySize);
      // The node's own pair sees its folder without the client.node pair's files (planned below).
      const own: Artifact = spec.clientCa ? { ...a, files: a.files.filter((f) => f.role !== 'client-ca-bundle' && f.role !== 'node-client-cert' && f.role !== 'node-client-key') } : a;
      wants.push({ artifact: own, cn: 'node', hosts: n.hosts, key, lifetime: n.lifetime, renewBefore: n.renewBefore, serverAuth: true });
      // With a split client CA: client.node.crt/.key and the ca-client.crt copy, under the leaf
      // planner's role names, signed by the client CA (as `cert create-client node` does then).
      if (spec.clientCa) {
        const as = (from: ManagedFile['role'], role: ManagedFile['role']): ManagedFile[] => a.files.filter((f) => f.role === from).map((f) => ({ ...f, role }));
        const view: Artifact = { ...a, files: [...a.files.filter((f) => f.role === 'client-ca-bundle'), ...as('node-client-cert', 'cert'), ...as('node-client-key', 'key')] };
        wants.push({ artifact: view, cn: NODE_USER, key, lifetime: n.lifetime, renewBefore: n.renewBefore, serverAuth: false, issueKind: 'client', companion: true, clientCa: true });
      }
    } else if (a.kind === 'client') {
      const c = clients.get(a.id);
      if (c) wants.push({ artifact: a, cn: c.user, key: keyParams(c.keyType ?? DEFAULT_KEY_TYPE, c.keySize), lifetime: c.lifetime, renewBefore: c.renewBefore, serverAuth: false, ...(spec.clientCa ? { clientCa: true as const } : {}) });
    } else if (a.kind === 'tenant') {
      const t = tenants.get(a.id);
      if (t) wants.push(...tenantWants(a, t));
    }
  }
  return wants;
}

/** Every node's, client's and tenant's changes; returns the top folders (nodes/, clients/, tenants/) that block theirs. */
function diffLeaves(input: DiffInput, ca: CAState, out: Out, clientCaState?: CAState): Set<string> {
  const entry = entryOf(input.tree);
  const wants = leafWants(input.spec);
  // nodes/, clients/ and tenants/ themselves: one error for the folder rather than one per leaf.
  const blockedTops = new Set<string>();
  for (const [top] of LEAF_PARENTS) {
    const f = entry(top);
    if (f.type === 'dir' || f.type === 'missing' || !wants.some((w) => w.artifact.dir.startsWith(`${top}/`))) continue;
    blockedTops.add(top);
    out.errors.push(f.type === 'symlink' ? symlinkError(top, f, 'folder') : notAFolder(top, top, f));
  }
  // Each folder's bundle copies follow their own CA, whichever CA signs the pair beside them
  // (a client's ca.crt is the CA's, though the client CA signs its certificate).
  const sources: BundleSources = { 'ca-bundle': ca, ...(clientCaState ? { 'client-ca-bundle': clientCaState } : {}) };
  for (const w of wants) {
    if (blockedTops.has(w.artifact.dir.slice(0, w.artifact.dir.indexOf('/')))) continue;
    // A pair the client CA signs: planned against it, under its own rotation's caps (not the CA's).
    if (w.clientCa && clientCaState) diffLeaf({ ...input, rotation: input.clientCaRotation }, clientCaState, w, out, sources);
    else diffLeaf(input, ca, w, out, sources);
  }
  return blockedTops;
}

/** The roles the leaf planner writes; the others (a tenant's signing pair) are planned as a companion. */
const PAIR_ROLES: ReadonlySet<ManagedFile['role']> = new Set(['ca-bundle', 'client-ca-bundle', 'cert', 'key', 'pkcs8']);

/** The CA each kind of bundle copy holds. */
type BundleSources = { 'ca-bundle': CAState; 'client-ca-bundle'?: CAState };
type BundleRole = keyof BundleSources;
const isBundle = (role: ManagedFile['role']): role is BundleRole => role === 'ca-bundle' || role === 'client-ca-bundle';

/** The files of a leaf's folder, by role (a tenant's folder has two copies of the bundle). */
function leafFiles(a: Artifact): { cert: ManagedFile; key: ManagedFile; bundles: ManagedFile[]; pk8?: ManagedFile; pair: ManagedFile[] } {
  const file = (role: ManagedFile['role']): ManagedFile | undefined => a.files.find((f) => f.role === role);
  const pk8 = file('pkcs8');
  return { cert: file('cert') as ManagedFile, key: file('key') as ManagedFile, bundles: a.files.filter((f) => isBundle(f.role)), ...(pk8 ? { pk8 } : {}), pair: a.files.filter((f) => PAIR_ROLES.has(f.role)) };
}

/** Why a leaf's certificate must be replaced (empty: the pair is good), and its key if it was read. */
function leafProblems(input: DiffInput, ca: CAState, w: LeafWant): { reasons: Reason[]; create: boolean; key?: KeyFacts } {
  const entry = entryOf(input.tree);
  const nowMs = input.now.getTime();
  const files = leafFiles(w.artifact);
  const certF = files.cert;
  const keyF = files.key;
  const reissue: Reason[] = [];
  let create = false;
  const certFact = entry(certF.rel);
  const keyFact = entry(keyF.rel);
  let cert: CertFacts | undefined;
  if (certFact.type === 'missing') {
    create = keyFact.type === 'missing';
    reissue.push({ code: 'missing', message: `${certF.rel} does not exist`, file: certF.rel });
  } else {
    try {
      cert = certsOf(certFact)[0];
    } catch (err) {
      reissue.push({ code: 'unreadable', message: `${certF.rel} ${(err as Error).message}`, file: certF.rel });
    }
  }
  let key: KeyFacts | undefined;
  if (keyFact.type === 'missing') {
    if (!create) reissue.push({ code: 'key-missing', message: `${keyF.rel} does not exist`, file: keyF.rel });
  } else {
    try {
      key = keyOf(keyFact);
    } catch (err) {
      reissue.push({ code: 'unreadable', message: `${keyF.rel}: ${(err as Error).message}`, file: keyF.rel });
    }
  }
  if (!cert) return { reasons: reissue, create, ...(key ? { key } : {}) };
  const c = cert;
  if (key && !keyMatchesCert(key, c)) {
    reissue.push({ code: 'key-mismatch', message: `${keyF.rel} does not match ${certF.rel}`, file: keyF.rel });
  }
  if (w.selfSigned) {
    if (!isSignedBy(c, c)) reissue.push({ code: 'not-signed-by-ca', message: `${certF.rel} is not self-signed by its key`, file: certF.rel });
  } else if (ca.action === 'create') {
    reissue.push({ code: 'not-signed-by-ca', message: `a new ${ca.label} is being created`, file: certF.rel });
  } else if (ca.first) {
    if (!isSignedBy(c, ca.first)) reissue.push({ code: 'not-signed-by-ca', message: `${certF.rel} is not signed by the ${ca.label} in ${ca.file}`, file: certF.rel });
  }
  const cn = c.subject.cn ?? '';
  const org = c.subject.o ?? '';
  if (w.subject !== undefined ? c.subject.text !== w.subject : cn !== w.cn || org !== 'Cockroach') {
    const subject = w.subject !== undefined ? c.subject.text : `O=${org}, CN=${cn}`;
    const wanted = w.subject ?? `O=Cockroach, CN=${w.cn}`;
    reissue.push({ code: 'subject-changed', message: `subject is "${subject}", wants "${wanted}"`, file: certF.rel, actual: subject, expected: wanted });
  }
  if (w.hosts) {
    const { added, removed } = multisetDiff(canonicalHosts(w.hosts), [...c.san.dns, ...c.san.ips, ...c.san.emails.map((e) => `email:${e}`), ...c.san.uris.map((u) => `uri:${u}`), ...c.san.other]);
    if (added.length > 0 || removed.length > 0) {
      const parts = [...added.map((h) => `+${h}`), ...removed.map((h) => `-${h}`)];
      reissue.push({ code: 'hosts-changed', message: `hosts ${parts.join(' ')}`, file: certF.rel, added, removed });
    }
  }
  if (keyTypeOf(c.publicKey) !== w.key.type) {
    const found = keyFactsText(c.publicKey);
    reissue.push({ code: 'key-type-changed', message: `key is ${found}, wants ${keyParamsText(w.key)}`, file: keyF.rel, actual: found, expected: keyParamsText(w.key) });
  } else if (w.key.type === 'rsa' && c.publicKey.bits !== w.key.bits) {
    const bits = c.publicKey.bits ?? 0;
    reissue.push({ code: 'key-size-changed', message: `key is ${bits} bits, wants ${w.key.bits}`, file: keyF.rel, actual: String(bits), expected: String(w.key.bits) });
  }
  const lifetimeMs = c.notAfter.getTime() - c.notBefore.getTime() - BACKDATE_MS;
  const wantMs = Number(w.lifetime / 1_000_000n);
  // A leaf capped at the old CA's end during a rotation is as it should be, not a lifetime change.
  const capped = input.rotation?.capAtSigner === true && ca.first !== undefined && Math.abs(c.notAfter.getTime() - ca.first.notAfter.getTime()) <= LIFETIME_TOLERANCE_MS && lifetimeMs < wantMs;
  if (Math.abs(lifetimeMs - wantMs) > LIFETIME_TOLERANCE_MS && !capped) {
    reissue.push({ code: 'lifetime-changed', message: `lifetime is ${formatMs(lifetimeMs)}, wants ${formatDuration(w.lifetime)}`, file: certF.rel, actual: formatMs(lifetimeMs), expected: formatDuration(w.lifetime) });
  }
  const left = c.notAfter.getTime() - nowMs;
  if (left <= 0) {
    reissue.push({ code: 'expired', message: `expired on ${c.notAfter.toISOString()}`, file: certF.rel, notAfter: c.notAfter.toISOString() });
  } else if (BigInt(left) * 1_000_000n < w.renewBefore && !capped) {
    // (A capped leaf reissued now would end at the same instant: it waits for the new CA.)
    reissue.push({
      code: 'expiring',
      message: `expires on ${c.notAfter.toISOString()}, ${formatMs(left)} left, less than renewBefore ${formatDuration(w.renewBefore)}`,
      file: certF.rel,
      notAfter: c.notAfter.toISOString(),
      timeLeft: formatMs(left),
      renewBefore: formatDuration(w.renewBefore),
    });
  }
  return { reasons: reissue, create, ...(key ? { key } : {}) };
}

/** One node's or client's changes: a new pair, or what remains to fix around a good one. */
function diffLeaf(input: DiffInput, ca: CAState, w: LeafWant, out: Out, sources: BundleSources): void {
  const entry = entryOf(input.tree);
  const a = w.artifact;
  const kind = a.kind as Change['kind'];
  const dirFact = entry(a.dir);
  // A companion's folder is the want's before it, which says what is wrong with it.
  if (w.companion && dirFact.type !== 'dir' && dirFact.type !== 'missing') return;
  if (dirFact.type === 'symlink') {
    out.errors.push(symlinkError(a.id, dirFact, 'folder'));
    return;
  }
  const linked = a.files.map((f) => entry(f.rel)).filter((f) => f.type === 'symlink');
  if (linked.length > 0) {
    out.errors.push(...linked.map((f) => symlinkError(a.id, f, 'file')));
    return;
  }
  if (dirFact.type !== 'dir' && dirFact.type !== 'missing') {
    out.errors.push(notAFolder(a.id, a.dir, dirFact));
    return;
  }
  // A file is never written over a folder (the rename would fail, or a prune would take the folder's contents).
  const folders = a.files.map((f) => entry(f.rel)).filter((f) => f.type === 'dir');
  if (folders.length > 0) {
    out.errors.push(...folders.map((f) => ({ artifact: a.id, code: 'unreadable' as const, message: `${f.rel} is a folder where certgen keeps a file: move it away` })));
    return;
  }
  const files = leafFiles(a);
  const { reasons, create, key } = leafProblems(input, ca, w);
  const before = out.changes.length;
  // One `keep` per folder, and none beside a change: a companion's change replaces the one just said for its folder.
  const settle = (): void => {
    const prev = out.changes[before - 1];
    if (!w.companion && out.changes.length === before) out.changes.push({ artifact: a.id, kind, action: 'keep', files: [], reasons: [], ops: noOps() });
    else if (w.companion && out.changes.length > before && prev?.artifact === a.id && prev.action === 'keep') out.changes.splice(before - 1, 1);
  };
  if (reasons.length > 0 && ca.sealed && !w.selfSigned) {
    const why = reasons.map((r) => r.code).join(', ');
    out.errors.push({ artifact: a.id, code: ca.sealed.code, message: `must be ${create ? 'created' : 'reissued'} (${why}), which needs the CA's signature: ${ca.sealed.message}` });
    return;
  }
  if (reasons.length > 0) {
    out.changes.push(leafIssue(input, ca, w, create, reasons, sources));
    // A leaf signed now must fit inside the CA (cockroach's checkLifetimeAgainstCA).
    if (ca.action === 'keep' && ca.first && !w.selfSigned) {
      const caLeft = ca.first.notAfter.getTime() - input.now.getTime();
      const wantMs = Number(w.lifetime / 1_000_000n);
      const change = out.changes[out.changes.length - 1];
      if (caLeft < wantMs && caLeft > 0 && input.rotation?.capAtSigner && change?.ops.issue) {
        // R3: the old CA still signs while the new one is being trusted; the leaf ends with it.
        const capMs = Math.floor(caLeft / 1000) * 1000;
        change.ops.issue.lifetime = formatMs(capMs);
        out.warnings.push(`${a.id}: signed by the old CA during rotation ${input.rotation.id} (${input.rotation.phase}), so it ends with it on ${ca.first.notAfter.toISOString()} (${formatMs(capMs)} instead of ${formatDuration(w.lifetime)}); it is reissued by the new CA in the reissue phase`);
      } else if (caLeft < wantMs && caLeft > 0) {
        out.errors.push({
          artifact: a.id,
          code: 'ca-lifetime-too-short',
          message: `CA lifetime is ${(caLeft / 3_600_000).toFixed(6)}h, shorter than the requested ${hours(w.lifetime).toFixed(6)}h. Renew CA certificate, or set lifetime to at most ${Math.trunc(caLeft / 3_600_000)}h for ${a.id}.`,
        });
      }
    }
    settle();
    return;
  }

  // The pair is good: what remains is the bundle copy, a derived PKCS#8 file and modes.
  for (const bundle of files.bundles) {
    const bundleFact = entry(bundle.rel);
    const role = bundle.role as BundleRole;
    const src = sources[role];
    if (!(src?.action === 'keep' && src.bundle)) continue;
    const stale = bundleFact.type !== 'missing' && (bundleFact.type !== 'file' || !bundleFact.bytes || !bundleFact.bytes.equals(src.bundle));
    if (bundleFact.type === 'missing' || stale) {
      const reason: Reason = stale
        ? { code: 'ca-bundle-stale', message: `${bundle.rel} differs from ${src.file}`, file: bundle.rel }
        : { code: 'missing', message: `${bundle.rel} does not exist`, file: bundle.rel };
      out.changes.push({
        artifact: a.id,
        kind,
        action: 'update-ca-bundle',
        files: [bundle.rel],
        reasons: [reason],
        ops: { write: [{ file: bundle.rel, content: role, mode: bundle.mode }], chmod: [], remove: [] },
      });
    }
  }
  const pk8F = files.pk8;
  if (pk8F) {
    const pk8Fact = entry(pk8F.rel);
    let matches = false;
    if (pk8Fact.type === 'file' && pk8Fact.bytes && key) {
      try {
        matches = sameKey(readPkcs8File(pk8Fact.bytes), key);
      } catch {
        matches = false;
      }
    }
    if (!matches) {
      const code = pk8Fact.type === 'missing' ? 'missing' : 'key-mismatch';
      out.changes.push({
        artifact: a.id,
        kind: 'client',
        action: 'create',
        files: [pk8F.rel],
        reasons: [{ code, message: `${pk8F.rel} ${code === 'missing' ? 'does not exist' : `does not hold ${files.key.rel}`}: written from the existing key`, file: pk8F.rel }],
        ops: { write: [{ file: pk8F.rel, content: 'pkcs8', mode: pk8F.mode, from: files.key.rel }], chmod: [], remove: [] },
      });
    }
  }
  const modeReasons: Reason[] = [];
  const chmod: ChmodOp[] = [];
  const wantMode = (rel: string, actual: number, wanted: number): void => {
    const r = modeReason(rel, actual, wanted);
    if (!r) return;
    modeReasons.push(r);
    chmod.push({ file: rel, mode: wanted });
  };
  if (dirFact.type === 'dir' && !w.companion) wantMode(a.dir, dirFact.mode, DIR_MODE);
  for (const f of files.pair) {
    const ff = entry(f.rel);
    if (ff.type === 'file') wantMode(f.rel, ff.mode, f.mode);
  }
  if (modeReasons.length > 0) {
    out.changes.push({ artifact: a.id, kind, action: 'fix-mode', files: chmod.map((c) => c.file), reasons: modeReasons, ops: { write: [], chmod, remove: [] } });
  }
  settle();
}

/** A new key and certificate for a leaf, and the files they are written to. */
function leafIssue(input: DiffInput, ca: CAState, w: LeafWant, create: boolean, reasons: Reason[], sources: BundleSources): Change {
  const a = w.artifact;
  const entry = entryOf(input.tree);
  const write: WriteOp[] = [];
  const chmod: ChmodOp[] = [];
  const modeReasons: Reason[] = [];
  const wantMode = (rel: string, actual: number, wanted: number): void => {
    const r = modeReason(rel, actual, wanted);
    if (!r) return;
    modeReasons.push(r);
    chmod.push({ file: rel, mode: wanted });
  };
  // The folder keeps its entry but not a wrong mode: fixed in the same change, so one apply converges.
  const dirFact = entry(a.dir);
  if (dirFact.type === 'dir' && !w.companion) wantMode(a.dir, dirFact.mode, DIR_MODE);
  for (const f of leafFiles(a).pair) {
    // An up-to-date bundle copy is left alone, so a reissue touches only the pair (and its mode, when wrong).
    const have = entry(f.rel);
    const src = isBundle(f.role) ? sources[f.role] : undefined;
    if (src?.action === 'keep' && src.bundle && have.type === 'file' && have.bytes?.equals(src.bundle)) {
      wantMode(f.rel, have.mode, f.mode);
      continue;
    }
    write.push({ file: f.rel, content: isBundle(f.role) ? f.role : f.role === 'cert' ? 'cert' : f.role === 'key' ? 'key' : 'pkcs8', mode: f.mode });
  }
  reasons = [...reasons, ...modeReasons];
  const signer = w.selfSigned ? 'self' : ca.action === 'create' ? (w.clientCa ? 'new-client-ca' : 'new-ca') : (ca.first?.fingerprint ?? '');
  return {
    artifact: a.id,
    kind: a.kind as Change['kind'],
    action: create ? 'create' : 'reissue',
    files: [...write.map((f) => f.file), ...chmod.map((c) => c.file)],
    reasons,
    ops: {
      newKey: w.key,
      issue: { kind: w.issueKind ?? (a.kind as 'node' | 'client' | 'tenant'), commonName: w.cn, ...(w.hosts ? { hosts: [...w.hosts] } : {}), lifetime: formatDuration(w.lifetime), signer },
      write,
      chmod,
      remove: [],
    },
  };
}

// --- orphans: anything in the tree the spec does not ask for --------------------------------

function diffOrphans(input: DiffInput, blockedTops: Set<string>, out: Out): void {
  const { tree } = input;
  const entry = entryOf(tree);
  const artifacts = desiredArtifacts(input.spec);
  const wantedDirs = new Set(artifacts.map((a) => a.dir).filter((d) => d !== ''));
  const wantedFiles = new Set([...artifacts.flatMap((a) => a.files.map((f) => f.rel)), ...encryptedKeys(input.spec).map((k) => k.age)]);
  for (const rel of Object.keys(tree.entries).sort()) {
    const f = entry(rel);
    const parts = rel.split('/');
    let orphan = false;
    const parent = LEAF_PARENTS.find(([top]) => top === parts[0]);
    if (parts.length === 1) orphan = !(rel === CA_CERT || (rel === CLIENT_CA_CERT && input.spec.clientCa !== undefined) || rel === LOCK_FILE || rel === GITIGNORE || rel === AGE_INDEX || (parent !== undefined && f.type === 'dir'));
    else if (parts.length === 2) orphan = !wantedDirs.has(rel);
    else orphan = wantedDirs.has(parts.slice(0, 2).join('/')) && !wantedFiles.has(rel);
    // The CA key, or a folder holding it, is never an orphan: pruning must not be able to reach it.
    const keyRel = tree.caKeyInTree;
    if (rel === '' || (keyRel !== undefined && (keyRel === rel || keyRel.startsWith(`${rel}/`)))) continue;
    if (blockedTops.has(rel)) continue;
    if (!orphan) continue;
    const kind = f.type === 'dir' ? 'dir' : 'file';
    const artifact = parts.length === 2 && f.type === 'dir' && parent ? `${parent[1]}/${parts[1]}` : rel;
    const ops = { write: [], chmod: [], remove: [rel] };
    // What a killed apply staged (apply removes these under its lock, --prune or not): saying
    // "not in the spec" would send an operator looking for a spec entry.
    const staged = f.type === 'file' ? stagedTarget(parts[parts.length - 1] as string) : undefined;
    if (staged !== undefined && (parts.length === 3 || staged === CA_CERT || staged === CLIENT_CA_CERT)) {
      out.changes.push({ artifact, kind, action: 'orphan', files: [rel], reasons: [{ code: 'interrupted-write', message: `${rel} was left by an interrupted apply (a staged copy of ${staged}); the next apply removes it`, file: rel }], ops });
      continue;
    }
    out.changes.push({ artifact, kind, action: 'orphan', files: [rel], reasons: [{ code: 'not-in-spec', message: `${rel}${f.type === 'dir' ? '/' : ''} is not in the spec`, file: rel }], ops });
  }
}
