// What the tree says about a rotation, and whether it agrees with the state file. Read from the
// tree on every run: which CAs the root bundle (ca.crt, or ca-client.crt for the client CA) and
// each folder's copy hold, which CA the key at `caKey` (clientCa.key) belongs to, where the other
// key lies, and which CA signed each leaf. A disagreement is a problem with a reason code;
// nothing here (or anywhere) repairs it.
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { CA_CERT as MAIN_BUNDLE, CLIENT_CA_CERT } from '../core/cert-names.js';
import type { CertFacts } from '../pki/read/cert.js';
import { readCertificateFile, readKeyFile } from '../pki/read/file.js';
import { keyMatchesCert, type KeyFacts } from '../pki/read/key.js';
import { isSignedBy } from '../pki/read/verify.js';
import { desiredArtifacts, type Artifact } from '../tree/layout.js';
import { certsOf, keyOf, type ActualTree } from '../tree/read-tree.js';
import { openCAKeyBytes } from './keys.js';
import { resolveRecorded, type Phase, type RotationReason, type RotationState } from './state.js';
import { keyFactOf, targetOf } from './target.js';

export type Which = 'old' | 'new' | 'other' | 'missing';

export interface LeafFacts {
  artifact: string;
  kind: Exclude<Artifact['kind'], 'ca'>;
  name: string;
  /** Which CA signed its certificate. */
  signer: Which;
  /** SHA-256 (hex) of its certificate, when there is one. */
  sha256?: string;
  /** The CAs its folder's copy of the bundle holds, in order (none: the folder has no copy). */
  bundle: Which[];
}

export interface RotationFacts {
  /** The CAs of the root bundle, in order. */
  bundle: Which[];
  /** The key at the spec's caKey (clientCa.key). */
  signingKey: Which;
  /** The key beside it while the old CA signs. */
  nextKey: Which;
  /** The old key once the new one took its place (and its mode). */
  archiveKey: Which;
  archiveMode?: number;
  leaves: LeafFacts[];
}

export interface RotationProblem {
  code: RotationReason;
  message: string;
}

export const sha256Hex = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');

/** `AA:BB:…` (the plan's signer form) of a hex SHA-256. */
export function colonFingerprint(hex: string): string {
  return hex.toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

export interface RotationCas {
  old: CertFacts;
  new: CertFacts;
}

export function casOf(state: RotationState): RotationCas {
  const one = (pem: string): CertFacts => {
    const c = readCertificateFile(Buffer.from(pem))[0];
    if (c === undefined) throw new Error('no certificate');
    return c;
  };
  return { old: one(state.old.pem), new: one(state.new.pem) };
}

function whichCert(c: CertFacts, cas: RotationCas): Which {
  const h = sha256Hex(c.der);
  return h === sha256Hex(cas.old.der) ? 'old' : h === sha256Hex(cas.new.der) ? 'new' : 'other';
}

function whichKey(k: KeyFacts | undefined, cas: RotationCas): Which {
  if (k === undefined) return 'missing';
  return keyMatchesCert(k, cas.old) ? 'old' : keyMatchesCert(k, cas.new) ? 'new' : 'other';
}

function bundleOf(bytes: Buffer | undefined, cas: RotationCas): Which[] {
  if (bytes === undefined) return [];
  try {
    return readCertificateFile(bytes).map((c) => whichCert(c, cas));
  } catch {
    return ['other'];
  }
}

async function keyAt(file: string, identities: readonly string[] | undefined): Promise<{ key?: KeyFacts; mode?: number }> {
  try {
    const [bytes, st] = await Promise.all([fs.readFile(file), fs.stat(file)]);
    try {
      return { key: readKeyFile(await openCAKeyBytes(file, bytes, identities)), mode: st.mode & 0o777 };
    } catch {
      return { mode: st.mode & 0o777 };
    }
  } catch {
    return {};
  }
}

/** Reads what the tree says, given the two CAs the state names. */
export async function rotationFacts(spec: ClusterSpec, tree: ActualTree, state: RotationState, identities?: readonly string[]): Promise<RotationFacts> {
  const cas = casOf(state);
  const target = targetOf(spec, state.kind);
  const keyFact = keyFactOf(tree, state.kind);
  let signing: KeyFacts | undefined;
  try {
    if (keyFact.type === 'file') signing = keyOf(keyFact);
  } catch {
    signing = undefined;
  }
  const next = await keyAt(resolveRecorded(spec, state.newKey), identities);
  const archive = await keyAt(resolveRecorded(spec, state.oldKeyArchive), identities);
  const leaves: LeafFacts[] = [];
  for (const a of desiredArtifacts(spec)) {
    if (a.kind === 'ca') continue;
    const role = target.leafRole(a.kind);
    if (role === undefined) continue;
    const cert = a.files.find((f) => f.role === role);
    const bundle = a.files.find((f) => f.role === target.bundleRole);
    const certFact = cert ? tree.entries[cert.rel] : undefined;
    let signer: Which = 'missing';
    let sha: string | undefined;
    if (certFact?.type === 'file') {
      try {
        const c = certsOf(certFact)[0];
        if (c) {
          sha = sha256Hex(c.der);
          signer = isSignedBy(c, cas.new) ? 'new' : isSignedBy(c, cas.old) ? 'old' : 'other';
        }
      } catch {
        signer = 'other';
      }
    }
    leaves.push({ artifact: a.id, kind: a.kind, name: a.id.slice(a.id.indexOf('/') + 1), signer, ...(sha ? { sha256: sha } : {}), bundle: bundleOf(bundle ? tree.entries[bundle.rel]?.bytes : undefined, cas) });
  }
  return {
    bundle: bundleOf(tree.entries[target.bundle]?.bytes, cas),
    signingKey: keyFact.type === 'missing' ? 'missing' : whichKey(signing, cas),
    nextKey: next.mode === undefined ? 'missing' : whichKey(next.key, cas),
    archiveKey: archive.mode === undefined ? 'missing' : whichKey(archive.key, cas),
    ...(archive.mode !== undefined ? { archiveMode: archive.mode } : {}),
    leaves,
  };
}

const same = (a: Which[], b: Which[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const text = (b: Which[]): string => (b.length === 0 ? 'nothing' : `[${b.join(', ')}]`);

/** Whether the key switch (the new key at caKey, the old one archived) has happened, by the tree. */
export function switched(f: RotationFacts): boolean {
  return f.signingKey === 'new';
}

/** The bundles a phase (and the step under way into the next) may show. */
function bundlesAllowed(state: RotationState): Which[][] {
  const p = state.phase;
  const out: Which[][] = [];
  if (p === 'staged') out.push(['old']);
  if (p === 'trusted' || p === 'reissued' || (p === 'staged' && state.pending === 'trusted')) out.push(['new', 'old']);
  if (p === 'pruned' || p === 'done' || (p === 'reissued' && state.pending === 'pruned')) out.push(['new']);
  return out;
}

/** Every way the tree disagrees with the state file (empty: they agree). */
export function problemsOf(state: RotationState, f: RotationFacts, opts: { aborting?: boolean } = {}): RotationProblem[] {
  const out: RotationProblem[] = [];
  const client = state.kind === 'client-ca';
  const CA_CERT = client ? CLIENT_CA_CERT : MAIN_BUNDLE;
  const L = client ? 'client CA' : 'CA';
  const keyName = client ? 'clientCa.key' : 'caKey';
  const p: Phase = state.phase;
  // An abort under way may have put back any of the earlier shapes.
  const allowed: Which[][] = opts.aborting ? [['old'], ['new', 'old']] : bundlesAllowed(state);
  if (f.bundle.includes('other')) {
    out.push({ code: 'bundle-unexpected', message: `${CA_CERT} holds a certificate that is neither the old nor the new ${L} of rotation ${state.id}` });
  } else if (!allowed.some((b) => same(b, f.bundle))) {
    const want = allowed.map(text).join(' or ');
    const code: RotationReason = !f.bundle.includes('new') && allowed.some((b) => b.includes('new')) ? 'bundle-lacks-new-ca' : !f.bundle.includes('old') && allowed.every((b) => b.includes('old')) ? 'bundle-lacks-old-ca' : 'bundle-has-old-ca';
    out.push({ code, message: `${CA_CERT} holds ${text(f.bundle)}, but rotation ${state.id} is ${p}${state.pending ? ` (entering ${state.pending})` : ''}, where it holds ${want}` });
  }
  const beforeSwitch = p === 'staged' || p === 'trusted';
  const switching = p === 'trusted' && state.pending === 'reissued';
  // The key switch is two renames: caKey → archive, then next → caKey; between them caKey is missing.
  const keysBefore = f.signingKey === 'old' && f.nextKey === 'new' && f.archiveKey === 'missing';
  const keysBetween = f.signingKey === 'missing' && f.nextKey === 'new' && f.archiveKey === 'old';
  const keysAfter = f.signingKey === 'new' && f.nextKey === 'missing' && (f.archiveKey === 'old' || ((p === 'done' || (p === 'pruned' && state.pending === 'done')) && f.archiveKey === 'missing'));
  const keysOk = beforeSwitch && !switching ? keysBefore || (opts.aborting === true && (keysBetween || keysAfter)) : switching ? keysBefore || keysBetween || keysAfter : keysAfter;
  if (!keysOk) {
    const code: RotationReason =
      beforeSwitch && f.nextKey === 'missing' ? 'new-key-missing' : beforeSwitch && f.nextKey !== 'new' ? 'new-key-mismatch' : !beforeSwitch && f.archiveKey === 'missing' && p !== 'done' ? 'old-key-missing' : 'signing-key-unexpected';
    out.push({
      code,
      message: `the ${L} keys are not where rotation ${state.id} (${p}) keeps them: the key at ${keyName} is ${f.signingKey === 'missing' ? 'missing' : `the ${f.signingKey} CA's`}, the next key ${f.nextKey === 'missing' ? 'is missing' : `is the ${f.nextKey} CA's`}, the archived old key ${f.archiveKey === 'missing' ? 'is missing' : `is the ${f.archiveKey} CA's`}`,
    });
  }
  if (f.signingKey !== 'new') {
    const early = f.leaves.filter((l) => l.signer === 'new');
    if (early.length > 0) out.push({ code: 'signed-by-new-ca', message: `${list(early.map((l) => l.artifact))} signed by the new ${L} before every node trusts it (rotation ${state.id} is ${p})` });
  }
  if (p === 'reissued' || p === 'pruned' || p === 'done') {
    const late = f.leaves.filter((l) => l.signer === 'old');
    if (late.length > 0) out.push({ code: 'signed-by-old-ca', message: `${list(late.map((l) => l.artifact))} still signed by the old ${L}, but rotation ${state.id} is ${p}` });
  }
  if (state.signing === 'new' && f.signingKey === 'old') out.push({ code: 'signing-key-unexpected', message: `the state says the new ${L} signs, but the key at ${keyName} is the old ${L}'s` });
  return out;
}

function list(xs: string[]): string {
  return xs.length > 3 ? `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more are` : `${xs.join(', ')} ${xs.length === 1 ? 'is' : 'are'}`;
}
