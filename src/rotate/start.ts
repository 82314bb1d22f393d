// `certgen rotate start [--client-ca]`: checks the preconditions (P0), then makes the new CA key
// and certificate and records the rotation (P1, `staged`). Nothing in the certs dir changes and
// the old CA still signs; the new key lies beside the old one (0600 from the first byte), never
// in the certs dir. With --client-ca the split client CA (ca-client.crt, clientCa.key) is the one
// rotated, in a state file of its own; one rotation of either kind at a time.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { CA_CERT, CA_COMMON_NAME } from '../core/cert-names.js';
import { formatMs } from '../core/duration.js';
import { DEFAULT_KEY_TYPE, keyParams } from '../core/key-type.js';
import { writeFilesAtomic } from '../io/files.js';
import { issueCertificate } from '../pki/issue.js';
import { generateKey, privateKeyToPem, toSigner } from '../pki/keys.js';
import { encodePem } from '../pki/read/pem.js';
import { diff } from '../plan/diff.js';
import { certsOf, readTree } from '../tree/read-tree.js';
import { KEY_MODE } from '../tree/layout.js';
import { encryptArmored } from '../pki/age.js';
import { requireCAKeyIdentity } from './keys.js';
import { journalRotation, underRotationLocks } from './common.js';
import { sha256Hex } from './derive.js';
import { RotationError, archiveKeyPath, inProgress, nextKeyPath, readRotationState, recordedPath, rotationFileFor, writeRotationState, ROTATION_VERSION, type RotationKind, type RotationState } from './state.js';
import { encryptedKey, refuseWhileOther, targetOf } from './target.js';
import { marginMs, newCaLifetimeNeededMs, rotationTiming } from './timing.js';

export interface StartOptions {
  /** Rotate the split client CA (ca-client.crt) instead. */
  clientCa?: boolean;
  /** The old key may have leaked: no deadline check, and the old CA leaves the bundles as soon as every leaf is reissued. */
  compromised?: boolean;
  now?: () => Date;
  /** age identities: needed when caKey is an .age file (the tree is read and planned with them). */
  identities?: readonly string[];
}

export interface StartResult {
  state: RotationState;
  stateFile: string;
  /** Absolute path of the new CA key. */
  newKey: string;
  /** A key an interrupted start had left (never used) was replaced. */
  replacedInterrupted: boolean;
}

/** Plan errors a rotation is the cure for; any other stops the start. */
const CURED_BY_ROTATION = new Set(['ca-expiring', 'ca-lifetime-too-short']);

function rotationId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

export async function rotateStart(spec: ClusterSpec, opts: StartOptions = {}): Promise<StartResult> {
  const kind: RotationKind = opts.clientCa === true ? 'client-ca' : 'ca';
  if (kind === 'client-ca' && spec.clientCa === undefined) {
    throw new RotationError('client-ca-not-split', `${path.basename(spec.file)} has no split client CA (ca-client.crt): client certificates are signed by the CA in ${CA_CERT}, which a plain rotate start rotates`, 'run certgen rotate start without --client-ca');
  }
  const target = targetOf(spec, kind);
  const L = target.label;
  if (!(await fs.stat(path.join(spec.certsDir, target.bundle)).then(() => true, () => false))) {
    throw new RotationError('precondition', `there is no ${L} to rotate: ${path.join(spec.certsDir, target.bundle)} does not exist yet`, `run certgen apply to create the ${L}`);
  }
  return underRotationLocks(spec, async () => {
    const now = (opts.now ?? (() => new Date()))();
    const existing = await readRotationState(spec, kind);
    if (inProgress(existing)) {
      throw new RotationError('rotation-in-progress', `rotation ${existing.id} of the ${L} is ${existing.phase}`, `see certgen rotate status${target.flag}; finish it with certgen rotate continue${target.flag}, or certgen rotate abort${target.flag}`);
    }
    await refuseWhileOther(spec, kind);
    const encrypted = encryptedKey(spec, kind);
    if (kind === 'ca') requireCAKeyIdentity(spec, opts.identities);
    if (encrypted && !spec.ca.ageRecipients?.length) {
      throw new RotationError('precondition', `caKey ${spec.caKey} is an .age file but the spec lists no age recipient to encrypt the new CA key for`, 'add encrypt: { age: [age1…] } (or ca.encrypt) to the spec');
    }
    const tree = await readTree(spec, opts.identities ? { identities: opts.identities } : {});
    if (kind === 'ca') requireCAKeyIdentity(spec, opts.identities, tree);
    const plan = diff({ spec, tree, now });
    const blocking = plan.errors.filter((e) => !CURED_BY_ROTATION.has(e.code));
    if (blocking.length > 0) {
      throw new RotationError('precondition', `the tree is not sound enough to rotate from: ${blocking.map((e) => `${e.artifact}: ${e.message}`).join('; ')}`, 'fix what certgen plan reports first');
    }
    const caFile = tree.entries[target.bundle];
    const bundle = caFile?.type === 'file' ? certsOf(caFile) : [];
    const old = bundle[0];
    if (old === undefined) throw new RotationError('precondition', `there is no ${L} to rotate: ${target.bundle} does not exist yet`, `run certgen apply to create the ${L}`);
    if (bundle.length > 1) {
      throw new RotationError('precondition', `${target.bundle} holds ${bundle.length} CAs: a rotation starts from a bundle of one CA`, 'remove the CAs that no longer sign (an earlier rotation left them?) and run certgen apply');
    }
    if (old.notAfter.getTime() <= now.getTime()) throw new RotationError('precondition', `the ${L} expired on ${old.notAfter.toISOString()}: no rotation can keep the cluster up now`, `create a new ${L} by hand and reissue everything it signs (see the README)`);
    const timing = rotationTiming(spec, old.notAfter);
    if (timing.deadline.getTime() <= now.getTime() && opts.compromised !== true) {
      throw new RotationError(
        'rotation-deadline',
        `the ${L} expires on ${old.notAfter.toISOString()}; trust and reissue had to be finished by ${timing.deadline.toISOString()} (its expiry minus the rotation margin, ${formatMs(marginMs(spec))})`,
        `leaves signed meanwhile will be capped at the old ${L}; pass --compromised to rotate as fast as possible anyway`,
      );
    }
    const needMs = newCaLifetimeNeededMs(spec);
    const params = kind === 'ca' ? spec.ca : (spec.clientCa as NonNullable<ClusterSpec['clientCa']>);
    const caLifetimeMs = Number(params.lifetime / 1_000_000n);
    if (caLifetimeMs < needMs) {
      const field = kind === 'ca' ? 'ca.lifetime' : 'clientCa.lifetime';
      throw new RotationError('precondition', `the new ${L} would live ${formatMs(caLifetimeMs)} (${field}), less than the longest leaf lifetime plus its renewal window and the next rotation's lead time (${formatMs(needMs)})`, `raise ${field} in the spec (twice the longest leaf lifetime leaves room for the next rotation)`);
    }

    const next = nextKeyPath(spec, kind);
    let replacedInterrupted = false;
    // A key there without a rotation state is what a start killed between its two writes leaves:
    // it was never used for anything, so it is made again.
    if (await fs.lstat(next).then(() => true, () => false)) replacedInterrupted = true;
    const { privateKey } = await generateKey(keyParams(params.keyType ?? DEFAULT_KEY_TYPE, params.keySize));
    const cert = await issueCertificate({ kind: 'ca', subjectKey: privateKey, signer: await toSigner(privateKey), commonName: CA_COMMON_NAME, now, lifetimeMs: caLifetimeMs, serial: randomBytes(16) });
    const der = Buffer.from(cert.rawData);
    const id = rotationId(now);
    const state: RotationState = {
      version: ROTATION_VERSION,
      id,
      kind,
      compromised: opts.compromised === true,
      phase: 'staged',
      startedAt: now.toISOString(),
      reached: { staged: now.toISOString() },
      deadline: timing.deadline.toISOString(),
      old: { sha256: sha256Hex(old.der), notAfter: old.notAfter.toISOString(), pem: encodePem('CERTIFICATE', Buffer.from(old.der)) },
      new: { sha256: sha256Hex(der), notAfter: cert.notAfter.toISOString(), pem: encodePem('CERTIFICATE', der) },
      newKey: recordedPath(spec, next),
      oldKeyArchive: recordedPath(spec, archiveKeyPath(spec, id, kind)),
      signing: 'old',
      nodes: Object.fromEntries(spec.nodes.map((n) => [n.name, {}])),
      clients: Object.fromEntries(spec.clients.map((c) => [c.user, {}])),
    };
    // An encrypted CA key's successor is written only encrypted: its plaintext stays in memory.
    const keyPem = encrypted ? await encryptArmored(privateKeyToPem(privateKey), spec.ca.ageRecipients ?? []) : privateKeyToPem(privateKey);
    await writeFilesAtomic([{ path: next, data: keyPem, mode: KEY_MODE, exclusive: false, describe: `could not write the new CA key to ${next}` }]);
    await writeRotationState(spec, state);
    await journalRotation(spec, `rotate start${target.flag}`, now, [
      { file: next, op: 'write', old: null, new: sha256Hex(Buffer.from(keyPem)), mode: KEY_MODE, reason: 'rotation-staged', artifact: target.artifact },
      { file: rotationFileFor(spec.file, kind), op: 'write', old: null, mode: 0o644, reason: 'rotation-staged', artifact: 'rotation' },
    ]);
    return { state, stateFile: rotationFileFor(spec.file, kind), newKey: next, replacedInterrupted };
  });
}
