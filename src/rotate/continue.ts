// `certgen rotate continue`: carries out the next phase when its gate holds (with --until, the
// phases up to that one), and stops with a reason code when it does not. The same steps rotate
// the CA (ca.crt, every leaf, node.crt rolled out) or the split client CA (ca-client.crt, the
// client certificates, client.node.crt rolled out; ca.crt and node.crt untouched): target.ts.
//
// Every step first records the phase it is entering (`pending`), then changes the tree under the
// apply lock, has apply bring the folders in line, ships node by node with distribute and checks
// each node live before the next, recording each observation as it is made. A step killed at any
// point is resumed by running the same command: the tree shows how far the local part got (the
// derived state allows exactly the shapes a step passes through), and nodes already observed in
// the current shape are not shipped again.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { apply } from '../apply.js';
import type { ClusterSpec, NodeSpec } from '../cluster-spec/spec.js';
import { CA_CERT } from '../core/cert-names.js';
import { distribute } from '../distribute/distribute.js';
import { reloadNode } from '../distribute/rollout.js';
import { writeFilesAtomic } from '../io/files.js';
import { sha256 } from '../journal/journal.js';
import { readCertificateFile } from '../pki/read/file.js';
import { CERT_MODE, absolute, clientDir, nodeDir } from '../tree/layout.js';
import { readTree } from '../tree/read-tree.js';
import { probeCredentialsFrom } from '../verify/probe-cert.js';
import { DEFAULT_VERIFY_TIMEOUT_MS } from '../verify/verify.js';
import type { ClientCredentials } from '../verify/probe.js';
import { clientCertName } from '../core/cert-names.js';
import { journalRotation, withApplyLock, withRotationLock } from './common.js';
import { problemsOf, rotationFacts, sha256Hex } from './derive.js';
import { clientsWait, pruneWait } from './gates.js';
import { PHASES, RotationError, inProgress, nextPhase, readRotationState, resolveRecorded, rotationFileFor, writeRotationState, type NodeObservation, type Phase, type RotationKind, type RotationReason, type RotationState } from './state.js';
import { selectKind, targetOf, type RotationTarget } from './target.js';
import { checkNode, checkable } from './verify.js';
import { readCAKeyFile, requireCAKeyIdentity } from './keys.js';

export interface ContinueOptions {
  /** The split client CA's rotation (default: the one under way, else the CA's). */
  clientCa?: boolean;
  /** Carry on through the phases until this one is reached (default: the next one only). */
  until?: Phase;
  /** trusted → reissued: every client has the new ca.crt; reissued → pruned: every client's new certificate is deployed. */
  ackClients?: boolean;
  /** Nodes without ssh whose current local folder the operator shipped and reloaded. */
  shipped?: string[];
  /** How long each node may take to pass its check (ms); default 30 s. */
  verifyTimeoutMs?: number;
  now?: () => Date;
  /** Progress, one line per thing done. */
  onEvent?: (message: string) => void;
  /** age identities: needed when caKey is an .age file (the keys are decrypted in memory only). */
  identities?: readonly string[];
}

export interface ContinueResult {
  kind: RotationKind;
  from: Phase;
  phase: Phase;
  /** The phases reached by this run, in order. */
  reached: Phase[];
}

export async function rotateContinue(spec: ClusterSpec, opts: ContinueOptions = {}): Promise<ContinueResult> {
  const clock = opts.now ?? (() => new Date());
  const say = opts.onEvent ?? (() => {});
  for (const n of opts.shipped ?? []) {
    if (!spec.nodes.some((x) => x.name === n)) throw new RotationError('operator-shipped', `--shipped ${n}: no such node in the spec`);
  }
  const kind = await selectKind(spec, opts.clientCa);
  const target = targetOf(spec, kind);
  // Only caKey can be an .age file: the client CA's rotation needs no identity of its own.
  if (kind === 'ca') requireCAKeyIdentity(spec, opts.identities);
  return withRotationLock(spec, async () => {
    const state = await readRotationState(spec, kind);
    // A rerun after done (a kill just after done was recorded) converges: nothing to do, exit 0.
    if (state?.phase === 'done') return { kind, from: 'done', phase: 'done', reached: [] };
    if (!inProgress(state)) throw new RotationError('no-rotation', `no ${target.label} rotation has been started`, `certgen rotate start${target.flag} begins one`);
    if (state.aborting !== undefined) throw new RotationError('abort-refused', `an abort of rotation ${state.id} is under way`, `rerun certgen rotate abort${target.flag} to finish it`);
    const from = state.phase;
    const reached: Phase[] = [];
    const untilIdx = opts.until === undefined ? PHASES.indexOf(from) + 1 : PHASES.indexOf(opts.until);
    for (;;) {
      await checkConsistent(spec, state, opts.identities, target);
      const to: Phase | undefined = state.pending ?? nextPhase(state.phase);
      if (to === undefined || PHASES.indexOf(state.phase) >= untilIdx) break;
      const step = new Step(spec, target, state, opts, clock, say);
      if (to === 'trusted') await step.trust();
      else if (to === 'reissued') await step.reissue();
      else if (to === 'pruned') await step.prune();
      else await step.finish();
      state.phase = to;
      state.reached[to] = clock().toISOString();
      delete state.pending;
      await writeRotationState(spec, state);
      await journalRotation(spec, commandOf(target), clock(), [{ file: rotationFileFor(spec.file, kind), op: 'write', old: null, mode: 0o644, reason: `rotation-${to}`, artifact: 'rotation' }]);
      say(`rotation ${state.id}: ${to}`);
      reached.push(to);
    }
    return { kind, from, phase: state.phase, reached };
  });
}

/** The journal's command of a step: `rotate continue`, `rotate continue --client-ca`. */
const commandOf = (t: RotationTarget): string => `rotate continue${t.flag}`;

/** The tree must agree with the state before anything is done. */
async function checkConsistent(spec: ClusterSpec, state: RotationState, identities: readonly string[] | undefined, target: RotationTarget): Promise<void> {
  const tree = await readTree(spec, identities ? { identities } : {});
  if (target.kind === 'ca') requireCAKeyIdentity(spec, identities, tree);
  const problems = problemsOf(state, await rotationFacts(spec, tree, state, identities));
  const first = problems[0];
  if (first !== undefined) throw new RotationError(first.code, problems.map((p) => p.message).join('; '), `certgen never repairs a rotation: put back what changed (the state file is in git), then rerun; see certgen rotate status${target.flag}`);
}

class Step {
  private readonly spec: ClusterSpec;
  private readonly target: RotationTarget;
  private readonly state: RotationState;
  private readonly opts: ContinueOptions;
  private readonly clock: () => Date;
  private readonly say: (m: string) => void;
  constructor(spec: ClusterSpec, target: RotationTarget, state: RotationState, opts: ContinueOptions, clock: () => Date, say: (m: string) => void) {
    this.spec = spec;
    this.target = target;
    this.state = state;
    this.opts = opts;
    this.clock = clock;
    this.say = say;
  }

  /** The identities as readTree and apply take them. */
  private get identities(): { identities?: readonly string[] } {
    return this.opts.identities ? { identities: this.opts.identities } : {};
  }

  private get timeoutMs(): number {
    return this.opts.verifyTimeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  }

  private async save(): Promise<void> {
    await writeRotationState(this.spec, this.state);
  }

  private async enter(to: Phase): Promise<void> {
    if (this.state.pending === to) return;
    this.state.pending = to;
    await this.save();
  }

  private get command(): string {
    return commandOf(this.target);
  }

  /** Writes the root bundle (the source apply copies into every folder) unless it already holds exactly `pems`. */
  private async setBundle(pems: string[], reason: string): Promise<void> {
    const data = pems.join('');
    const file = absolute(this.spec, this.target.bundle);
    await withApplyLock(this.spec, async () => {
      const before = await fs.readFile(file).catch(() => undefined);
      if (before?.equals(Buffer.from(data))) return;
      await writeFilesAtomic([{ path: file, data, mode: CERT_MODE, exclusive: false }]);
      await journalRotation(this.spec, this.command, this.clock(), [{ file, op: 'write', old: before ? sha256(before) : null, mode: CERT_MODE, reason, artifact: this.target.artifact }]);
      this.say(`${this.target.bundle} now holds [${pems.length === 1 ? 'new' : 'new, old'}]`);
    });
  }

  /**
   * The CAs a node's server certificate must chain to in a phase: the CA rotation's own (`pems`);
   * a client CA rotation never touches node.crt, so there it is ca.crt as it stands.
   */
  private async serverRoots(pems: string): Promise<string> {
    return this.target.kind === 'ca' ? pems : (await fs.readFile(absolute(this.spec, CA_CERT))).toString('latin1');
  }

  /** apply, rotation-aware: copies the bundle into every folder, reissues what the signer must sign. */
  private async applyTree(): Promise<void> {
    const r = await apply(this.spec, { journal: { command: this.command }, ...this.identities });
    if (r.applied.length > 0) this.say(`apply: ${r.applied.length} change${r.applied.length === 1 ? '' : 's'}`);
  }

  /**
   * Whether a node's acceptance of client certificates shows its trust of this rotation's CA. Not
   * for the CA's rotation under a split client CA: every client, inter-node ones too, is verified
   * against ca-client.crt there, and ca.crt only verifies the servers' node.crt, which no probe
   * from outside can watch a node do. Its gates then check what can be seen: the bundle shipped
   * and reloaded, the node up and accepting clients of the client CA, its node.crt's chain.
   */
  private get probesShowTrust(): boolean {
    return !(this.target.kind === 'ca' && this.spec.clientCa !== undefined);
  }

  /** The probe a node must accept in a phase: one of the new CA, or where that shows nothing ({@link probesShowTrust}), one of the client CA. */
  private async acceptProbe(): Promise<ClientCredentials> {
    if (this.probesShowTrust) return this.probeAs('new');
    const client = targetOf(this.spec, 'client-ca');
    const bundle = absolute(this.spec, client.bundle);
    const [cert, key] = await Promise.all([fs.readFile(bundle), readCAKeyFile(client.key, this.opts.identities)]);
    const creds = await probeCredentialsFrom(cert, key.toString('latin1'), this.clock(), { cert: bundle, key: client.key });
    return { ...creds, label: 'a probe certificate signed by the client CA' };
  }

  private async probeAs(which: 'old' | 'new'): Promise<ClientCredentials> {
    const s = this.state;
    // The new key lies beside the old one until the switch, at caKey after it; the old one the reverse.
    const at = this.target.key;
    const keyFile = which === 'new' ? (s.signing === 'new' ? at : resolveRecorded(this.spec, s.newKey)) : s.signing === 'new' ? resolveRecorded(this.spec, s.oldKeyArchive) : at;
    const key = (await readCAKeyFile(keyFile, this.opts.identities)).toString('latin1');
    const L = `the ${which} ${this.target.label}`;
    const creds = await probeCredentialsFrom(which === 'new' ? s.new.pem : s.old.pem, key, this.clock(), { cert: L, key: keyFile });
    return { ...creds, label: `a probe certificate signed by ${L}` };
  }

  private async localSha(rel: string): Promise<string> {
    return sha256(await fs.readFile(absolute(this.spec, rel)));
  }

  /** Ships one node's folder (distribute: staged, checked, renamed, reloaded); a node already up to date is reloaded anyway, in case a killed run copied without reloading. */
  private async ship(node: NodeSpec, failure: RotationReason): Promise<void> {
    const r = await distribute(this.spec, { nodes: [node.name], journal: { command: this.command } });
    const t = r.targets[0];
    if (t === undefined || t.status === 'failed') throw new RotationError(failure, `node ${node.name}: ${t?.error ?? 'not distributed'}`, `fix it and rerun certgen rotate continue${this.target.flag}; the nodes done so far stay done`);
    if (t.status === 'unchanged' && node.reload !== undefined) {
      const rr = await reloadNode(this.spec, node.name);
      if (!rr.ok) throw new RotationError(failure, `node ${node.name}: ${rr.error ?? 'reload failed'}`);
    }
    this.say(`node ${node.name}: ${t.status === 'unchanged' ? 'already in place, reloaded' : 'shipped and reloaded'}`);
  }

  /**
   * Every node in spec order: skipped when `done` says it was observed in its current shape; else
   * shipped (ssh) or taken as shipped (--shipped), then checked live. Nodes the operator has not
   * shipped yet stop the step after the others are done.
   */
  private async rollNodes(failure: RotationReason, done: (o: NodeObservation, sha: string) => boolean, shaOf: (n: NodeSpec) => Promise<string>, record: (o: NodeObservation, sha: string, at: string, shipped: boolean) => void, check: (n: NodeSpec) => Promise<string | null>): Promise<void> {
    const waiting: string[] = [];
    for (const node of this.spec.nodes) {
      const o = (this.state.nodes[node.name] ??= {});
      const sha = await shaOf(node);
      if (done(o, sha)) continue;
      if (node.ssh !== undefined) {
        record(o, sha, this.clock().toISOString(), true);
        await this.save();
        await this.ship(node, failure);
      } else if (this.opts.shipped?.includes(node.name)) {
        o.operatorShippedAt = this.clock().toISOString();
        record(o, sha, o.operatorShippedAt, true);
        await this.save();
      } else {
        waiting.push(node.name);
        continue;
      }
      if (checkable(node)) {
        const err = await check(node);
        if (err !== null) throw new RotationError(failure, `node ${node.name}: ${err}`, `the phase does not advance; fix the node (did its reload run?) and rerun certgen rotate continue${this.target.flag}`);
        this.say(`node ${node.name}: verified`);
      } else this.say(`node ${node.name}: no ssh and no verify: block, taken on the operator's word (--shipped)`);
      record(o, sha, this.clock().toISOString(), false);
      await this.save();
    }
    if (waiting.length > 0) {
      throw new RotationError('operator-shipped', `nodes without ssh wait for their files: ${waiting.join(', ')}`, `ship each one's folder under ${path.join(this.spec.certsDir, 'nodes')}, reload it, then rerun with${this.target.flag} --shipped ${waiting.join(',')}`);
    }
  }

  /** staged → trusted (P2, V2). */
  async trust(): Promise<void> {
    await this.enter('trusted');
    await this.setBundle([this.state.new.pem, this.state.old.pem], 'rotation-trusted');
    await this.applyTree();
    const probe = await this.acceptProbe();
    const roots = await this.serverRoots(this.state.new.pem + this.state.old.pem);
    await this.rollNodes(
      'trust-unverified',
      (o, sha) => o.trustVerifiedAt !== undefined && o.bundleSha256 === sha,
      (n) => this.localSha(`${nodeDir(n.name)}/${this.target.bundle}`),
      (o, sha, at, shipping) => {
        o.bundleSha256 = sha;
        if (shipping) o.bundleShippedAt = at;
        else o.trustVerifiedAt = at;
      },
      (n) => checkNode(this.spec, n, { roots, accept: probe, timeoutMs: this.timeoutMs }),
    );
  }

  /** trusted → reissued (P3, V3). */
  async reissue(): Promise<void> {
    const s = this.state;
    const wait = clientsWait(this.spec, s, this.clock(), this.opts.ackClients === true);
    if (wait) throw new RotationError(wait.reason, wait.message, 'wait, or acknowledge with --ack-clients that every client has the new ca.crt');
    if (this.opts.ackClients === true && s.bundleAckedAt === undefined) s.bundleAckedAt = this.clock().toISOString();
    await this.enter('reissued');
    await this.switchKeys();
    await this.applyTree();
    for (const c of this.spec.clients) {
      const o = (s.clients[c.user] ??= {});
      const sha = await this.leafSha(`${clientDir(c.user)}/${clientCertName(c.user)}`);
      if (o.leafSha256 !== sha) Object.assign(o, { leafSha256: sha, issuedAt: this.clock().toISOString() });
    }
    await this.save();
    const probe = await this.acceptProbe();
    const roots = await this.serverRoots(s.new.pem);
    // A client CA rotation rolls out client.node.crt: no server presents it, so each node is held
    // to what it must still do (its node.crt, the new client CA's probe) once it has reloaded it.
    await this.rollNodes(
      'leaf-unverified',
      (o, sha) => o.leafServedAt !== undefined && o.leafSha256 === sha,
      (n) => this.leafSha(`${nodeDir(n.name)}/${this.target.nodeLeaf}`),
      (o, sha, at, shipping) => {
        o.leafSha256 = sha;
        if (shipping) o.leafShippedAt = at;
        else o.leafServedAt = at;
      },
      (n) => checkNode(this.spec, n, { roots, accept: probe, timeoutMs: this.timeoutMs }),
    );
  }

  /** SHA-256 of a leaf's DER, as the probe reports what a node presents. */
  private async leafSha(rel: string): Promise<string> {
    const c = readCertificateFile(await fs.readFile(absolute(this.spec, rel)))[0];
    return c ? sha256Hex(c.der) : '';
  }

  /** The new key takes caKey's place, the old one goes to its archive name: two renames, resumable between them. */
  private async switchKeys(): Promise<void> {
    const s = this.state;
    const next = resolveRecorded(this.spec, s.newKey);
    const archive = resolveRecorded(this.spec, s.oldKeyArchive);
    await withApplyLock(this.spec, async () => {
      const facts = await rotationFacts(this.spec, await readTree(this.spec, this.identities), s, this.opts.identities);
      const key = this.target.key;
      if (facts.signingKey === 'old' && facts.nextKey === 'new' && facts.archiveKey === 'missing') await fs.rename(key, archive);
      const again = await rotationFacts(this.spec, await readTree(this.spec, this.identities), s, this.opts.identities);
      if (again.signingKey === 'missing' && again.nextKey === 'new') await fs.rename(next, key);
      if (s.signing !== 'new') {
        s.signing = 'new';
        await this.save();
        const keySha = sha256(await fs.readFile(key));
        const artifact = this.target.artifact;
        await journalRotation(this.spec, this.command, this.clock(), [
          { file: key, op: 'write', old: null, new: keySha, mode: 0o600, reason: 'rotation-signer-new', artifact },
          { file: archive, op: 'write', old: null, mode: 0o600, reason: 'rotation-signer-new', artifact },
          { file: next, op: 'remove', old: keySha, new: null, reason: 'rotation-signer-new', artifact },
        ]);
      }
    });
    this.say(`the new ${this.target.label} signs from now on`);
  }

  /** reissued → pruned (P4, V4). */
  async prune(): Promise<void> {
    const s = this.state;
    const wait = pruneWait(this.spec, s, this.clock(), this.opts.ackClients === true);
    if (wait) throw new RotationError(wait.reason, wait.message, wait.until ? `rerun after ${wait.until}` : 'acknowledge with --ack-clients once every client uses its new certificate');
    if (this.opts.ackClients === true) for (const c of this.spec.clients) (s.clients[c.user] ??= {}).ackedAt ??= this.clock().toISOString();
    await this.enter('pruned');
    await this.setBundle([s.new.pem], 'rotation-pruned');
    await this.applyTree();
    const accept = await this.acceptProbe();
    // A probe of the old CA would be refused under a split client CA whatever the bundle holds.
    const refuse = this.probesShowTrust ? await this.probeAs('old') : undefined;
    const roots = await this.serverRoots(s.new.pem);
    await this.rollNodes(
      'prune-unverified',
      (o, sha) => o.pruneVerifiedAt !== undefined && o.bundleSha256 === sha,
      (n) => this.localSha(`${nodeDir(n.name)}/${this.target.bundle}`),
      (o, sha, at, shipping) => {
        o.bundleSha256 = sha;
        if (shipping) o.bundleShippedAt = at;
        else o.pruneVerifiedAt = at;
      },
      (n) => checkNode(this.spec, n, { roots, accept, ...(refuse ? { refuse } : {}), timeoutMs: this.timeoutMs }),
    );
  }

  /** pruned → done (P5): the old key is archived read-only, or removed. */
  async finish(): Promise<void> {
    await this.enter('done');
    const archive = resolveRecorded(this.spec, this.state.oldKeyArchive);
    await withApplyLock(this.spec, async () => {
      const before = await fs.readFile(archive).catch(() => undefined);
      if (before === undefined) return;
      if (this.spec.ca.retireOldKey === 'remove') await fs.rm(archive, { force: true });
      else await fs.chmod(archive, 0o400);
      const artifact = this.target.artifact;
      await journalRotation(this.spec, this.command, this.clock(), [
        this.spec.ca.retireOldKey === 'remove'
          ? { file: archive, op: 'remove', old: sha256(before), new: null, reason: 'rotation-done', artifact }
          : { file: archive, op: 'chmod', old: sha256(before), new: sha256(before), mode: 0o400, reason: 'rotation-done', artifact },
      ]);
    });
    const L = this.target.label;
    this.say(this.spec.ca.retireOldKey === 'remove' ? `the old ${L} key is removed` : `the old ${L} key is archived read-only at ${archive}`);
  }
}
