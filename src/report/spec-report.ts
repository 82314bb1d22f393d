// `certgen report FILE`: every artifact of the spec's tree, from one read of it (readTree with
// every fact kept): the plan is the diff of those facts, and the rows are scanned from the same
// facts (treeSource), so no file is opened twice. The sections, each a function below: the CA
// bundle and the top folder; each node's and client's folder; folders and files the spec does
// not name; the plan's verdicts; statuses and the forecast.
import path from 'node:path';
import { keyMatchesCert } from '../pki/read/key.js';
import type { CertFacts } from '../pki/read/cert.js';
import { CA_CERT, CLIENT_CA_CERT, isCAUsage, type PemUsage } from '../core/cert-names.js';
import { durationToMs, formatDuration, formatMs } from '../core/duration.js';
import { CLIENT_CA_ARTIFACT, LEAF_PARENTS, desiredArtifacts, type Artifact, type ManagedFile } from '../tree/layout.js';
import { diff } from '../plan/diff.js';
import { rotationContexts, rotationForecast, rotationStateQuietly } from '../plan/rotation.js';
import type { RotationState } from '../rotate/state.js';
import { keyOf, readTree, type ActualTree, type FileFact } from '../tree/read-tree.js';
import { treeSource } from '../tree/tree-source.js';
import type { Change, Plan } from '../plan/types.js';
import { DEFAULT_RENEW_BEFORE_NS, type ClusterSpec } from '../cluster-spec/spec.js';
import { emptyRow, listFolder, scanContext, scanFolder, type FolderScan, type ScanContext, type Work } from './scan.js';
import { matchIssuers, setStatus, summarize } from './status.js';
import { byRenewal, certLifetimeMs, renewalEntry, rotationFor } from './forecast.js';
import { PathIndex, push } from './path-index.js';
import { iso, resolveNow } from './time.js';
import { REPORT_VERSION, type CaRotation, type Report, type ReportOptions, type ReportProblem, type ReportRow } from './types.js';

type LeafParent = (typeof LEAF_PARENTS)[number][0];
type Listing = Awaited<ReturnType<typeof listFolder>>;

/** What the sections share: the tree's facts, the scans made from them, and the rows so far. */
interface SpecScan {
  spec: ClusterSpec;
  root: string;
  tree: ActualTree;
  ctx: ScanContext;
  caKeyRel: string;
  /** The split client CA's key, relative to the certs dir (absent without one). */
  clientCaKeyRel?: string;
  /** During a rotation: the fingerprint of the certificate whose key signs (the old CA until the switch), per CA. */
  signers: { ca?: string; clientCa?: string };
  orphanRenewBefore: bigint;
  /** The rows of the spec's artifacts, in spec order. */
  works: Work[];
  /** Files and folders the spec does not name: listed after the spec's artifacts, by path. */
  orphans: Work[];
  /** Starts scanning a folder now (every folder is scanned at once). */
  prefetch(folder: string): void;
  /** The scan of a folder, started by prefetch or now. */
  take(folder: string): Promise<FolderScan>;
}

/**
 * `certgen report FILE`: every artifact of the spec's tree. Rows: each certificate of the CA
 * bundle (`ca.crt`), then each node's and each client's certificate in spec order (a folder's
 * ca.crt only when it differs from the bundle, as rows of its own), then anything the spec does
 * not name (orphans). Missing artifacts are rows with `problem: missing`. The `pending` column
 * says what `certgen apply` would do, from the same plan.
 */
export async function reportForSpec(spec: ClusterSpec, opts: ReportOptions = {}): Promise<Report> {
  const now = resolveNow(opts.now);
  const tree = await readTree(spec, { everything: true, ...(opts.identities ? { identities: opts.identities } : {}) });
  const rotations = await rotationContexts(spec, tree, opts.identities);
  const rotationState = await rotationStateQuietly(spec);
  const clientRotationState = spec.clientCa ? await rotationStateQuietly(spec, 'client-ca') : undefined;
  const thePlan: Plan = diff({ spec, tree, now, specFile: opts.specFileLabel, certsDirLabel: opts.certsDirLabel, ...rotations });
  const s = specScan(spec, tree, opts, { ...(rotations.rotation?.signer ? { ca: rotations.rotation.signer } : {}), ...(rotations.clientCaRotation?.signer ? { clientCa: rotations.clientCaRotation.signer } : {}) });
  const artifacts = desiredArtifacts(spec);

  const listings = background(Promise.all(LEAF_PARENTS.map(([parent]) => listFolder(s.root, parent, s.ctx.source))));
  const top = caSection(s, opts.certsDirLabel ?? s.root);
  const parents = new Map<LeafParent, Listing>();
  (await listings).forEach((l, i) => parents.set(LEAF_PARENTS[i]![0], l));
  prefetchLeafFolders(s, artifacts, parents);
  const { bundle, bundleBytes, activeCA, clientBundle, clientBundleBytes, clientActiveCA } = await top;
  await leafSection(s, artifacts, parents, bundleBytes, clientBundleBytes);
  await strayLeafFolders(s, artifacts, parents);
  planOrphans(s, thePlan);
  s.orphans.sort((a, b) => (a.row.file < b.row.file ? -1 : a.row.file > b.row.file ? 1 : 0));
  const works = [...s.works, ...s.orphans];

  // A split client CA signs the clients and each node's client.node.crt: it is trusted beside ca.crt.
  const trusted = [...bundle, ...clientBundle].filter((w) => w.cert);
  const folderCAs = new Map<string, Work[]>();
  for (const w of works) if (w.cert && w.row.usage !== '' && isCAUsage(w.row.usage)) push(folderCAs, w.folder, w);
  matchIssuers(works, (folder) => (folder === '' ? trusted : [...(folderCAs.get(folder) ?? []), ...trusted]));
  pendingColumn(works, thePlan);
  const { rotations: caRotations, renewals } = statusesAndForecast(spec, works, activeCA, now.getTime(), rotationState, clientActiveCA, clientRotationState);

  const rows = works.map((w) => w.row);
  return {
    version: REPORT_VERSION,
    now: iso(now),
    source: { kind: 'spec', specFile: opts.specFileLabel ?? spec.file, certsDir: opts.certsDirLabel ?? spec.certsDir },
    summary: summarize(rows),
    rows,
    forecast: { renewals, caRotations },
    plan: {
      pendingChanges: thePlan.changes.filter((c) => c.action !== 'keep' && (c.action !== 'orphan' || thePlan.prune)).length,
      changes: thePlan.changes.filter((c) => c.action !== 'keep'),
      errors: thePlan.errors,
      warnings: thePlan.warnings,
      ...(thePlan.rotation ? { rotation: thePlan.rotation } : {}),
      ...(thePlan.clientCaRotation ? { clientCaRotation: thePlan.clientCaRotation } : {}),
    },
    warnings: [...thePlan.warnings],
  };
}

function specScan(spec: ClusterSpec, tree: ActualTree, opts: ReportOptions, signers: SpecScan['signers'] = {}): SpecScan {
  const root = spec.certsDir;
  const ctx = scanContext(root, opts.skipKeyPermissionCheck ?? false, treeSource(tree, root));
  const scans = new Map<string, Promise<FolderScan>>();
  return {
    spec,
    root,
    tree,
    ctx,
    caKeyRel: path.relative(root, spec.caKey).split(path.sep).join('/'),
    ...(spec.clientCa ? { clientCaKeyRel: path.relative(root, spec.clientCa.key).split(path.sep).join('/') } : {}),
    signers,
    orphanRenewBefore: opts.renewBefore ?? DEFAULT_RENEW_BEFORE_NS,
    works: [],
    orphans: [],
    prefetch(folder) {
      if (!scans.has(folder)) scans.set(folder, background(scanFolder(ctx, folder)));
    },
    take(folder) {
      const p = scans.get(folder);
      scans.delete(folder);
      return p ?? scanFolder(ctx, folder);
    },
  };
}

/** A promise started now and awaited later: marked as handled, so that failing before its await is not an unhandled rejection (the await still throws). */
function background<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Marks a row as an orphan of `owner` (leaves renew with the default window). */
function orphanWork(s: SpecScan, w: Work, owner: string, kind: ReportRow['ownerKind'], artifact: string): Work {
  Object.assign(w.row, { owner, ownerKind: kind, artifact, orphan: true });
  if (w.leaf && w.cert) {
    w.renewBeforeNs = s.orphanRenewBefore;
    w.lifetimeMs = certLifetimeMs(w.row);
  }
  return w;
}

/** A folder nobody in the spec owns: its files as rows, or one row for the folder. */
function addOrphanFolder(s: SpecScan, scan: FolderScan, folder: string, owner: string, kind: ReportRow['ownerKind'], artifact: string): void {
  const add = (w: Work): void => void s.orphans.push(orphanWork(s, w, owner, kind, artifact));
  if (scan.error) {
    add({ row: emptyRow({ file: `${folder}/`, problem: 'unreadable', error: scan.error }), folder, leaf: false, activeCA: false });
    return;
  }
  for (const w of scan.works) add(w);
  for (const sub of scan.subdirs) {
    add({ row: emptyRow({ file: `${folder}/${sub}/`, problem: 'stray-folder', error: `${folder}/${sub}/ is a folder the spec does not name` }), folder, leaf: false, activeCA: false });
  }
  if (scan.works.length === 0 && scan.subdirs.length === 0) {
    add({ row: emptyRow({ file: `${folder}/`, problem: 'stray-folder', error: `${folder}/ is an empty folder the spec does not name` }), folder, leaf: false, activeCA: false });
  }
}

// --- the top folder: the CA bundle, the CA key, and anything else lying there ---------------------

interface CaSection {
  /** The rows of ca.crt, one per certificate. */
  bundle: Work[];
  bundleBytes: Buffer | undefined;
  /** The bundle's first certificate, the one that signs. */
  activeCA: Work | undefined;
  /** The same of a split client CA (ca-client.crt); empty without one. */
  clientBundle: Work[];
  clientBundleBytes: Buffer | undefined;
  clientActiveCA: Work | undefined;
}

async function caSection(s: SpecScan, label: string): Promise<CaSection> {
  const { state: rootState, error: rootError } = rootStateOf(s.tree, label);
  if (rootState === 'ok') s.prefetch('');
  const topScan = rootState === 'ok' ? s.take('') : undefined;
  // Other top-level folders are orphans: scan them while the rest goes on.
  topScan?.then(
    (t) => {
      for (const sub of t.subdirs) if (!isLeafParent(sub)) s.prefetch(sub);
    },
    () => undefined,
  );
  const top: FolderScan = topScan ? await topScan : { works: [], subdirs: [] };
  const rows: Work[] = [];
  if (rootState === 'error' || top.error) {
    rows.push({ row: emptyRow({ file: './', problem: 'unreadable', error: top.error ?? rootError }), folder: '', leaf: false, activeCA: false });
  }
  const bundle = top.works.filter((w) => w.row.file === CA_CERT);
  const bundleBytes = top.contents?.get(CA_CERT) ?? (await s.ctx.source.readFile(path.join(s.root, CA_CERT)).catch(() => undefined));
  if (bundle.length === 0 && rootState !== 'error' && !top.error) {
    const why = rootState === 'missing' ? `the certs dir does not exist yet, so neither does ${CA_CERT}` : `${CA_CERT} does not exist`;
    rows.push({ row: emptyRow({ file: CA_CERT, usage: 'CA', keyFile: s.caKeyRel, problem: 'missing', error: why }), folder: '', leaf: false, activeCA: false, replaceNow: true });
  }
  for (const w of bundle) {
    w.row.keyFile = w.row.position === 1 ? s.caKeyRel : '';
    rows.push(w);
  }
  for (const w of rows) Object.assign(w.row, { owner: 'CA', ownerKind: 'ca', artifact: 'ca' });
  s.works.push(...rows);
  const activeCA = bundle.find((w) => w.activeCA && w.cert);
  // During a rotation's trust phase the new CA comes first but the old one's key signs: the key is checked against the signer.
  const signing = signerRow(bundle, s.signers.ca) ?? activeCA;
  if (signing && !signing.row.error && signing.cert) {
    const bad = caKeyProblem(s.tree.caKey, signing.cert, s.caKeyRel);
    Object.assign(signing.row, bad ?? { problem: null, error: '' });
  }
  // The split client CA: rows of its own, its key checked like the CA's.
  const split = s.spec.clientCa !== undefined && s.clientCaKeyRel !== undefined;
  const clientBundle = split ? top.works.filter((w) => w.row.file === CLIENT_CA_CERT) : [];
  const clientBundleBytes = split ? (top.contents?.get(CLIENT_CA_CERT) ?? (await s.ctx.source.readFile(path.join(s.root, CLIENT_CA_CERT)).catch(() => undefined))) : undefined;
  let clientActiveCA: Work | undefined;
  if (split) {
    const keyRel = s.clientCaKeyRel as string;
    const clientRows: Work[] = [];
    if (clientBundle.length === 0 && rootState !== 'error' && !top.error) {
      clientRows.push({ row: emptyRow({ file: CLIENT_CA_CERT, usage: 'Client CA', keyFile: keyRel, problem: 'missing', error: `${CLIENT_CA_CERT} does not exist` }), folder: '', leaf: false, activeCA: false, replaceNow: true });
    }
    for (const w of clientBundle) {
      w.row.keyFile = w.row.position === 1 ? keyRel : '';
      clientRows.push(w);
    }
    for (const w of clientRows) Object.assign(w.row, { owner: 'client CA', ownerKind: 'ca', artifact: CLIENT_CA_ARTIFACT });
    s.works.push(...clientRows);
    clientActiveCA = clientBundle.find((w) => w.row.position === 1 && w.cert);
    const clientSigning = signerRow(clientBundle, s.signers.clientCa) ?? clientActiveCA;
    if (clientSigning && !clientSigning.row.error && clientSigning.cert) {
      const bad = caKeyProblem(s.tree.clientCaKey ?? { rel: keyRel, type: 'missing', mode: 0, uid: 0, gid: 0 }, clientSigning.cert, keyRel, 'client CA', CLIENT_CA_CERT);
      Object.assign(clientSigning.row, bad ?? { problem: null, error: '' });
    }
  }
  for (const w of top.works) if (w.row.file !== CA_CERT && !clientBundle.includes(w)) s.orphans.push(orphanWork(s, w, '(none)', 'none', w.row.file));
  for (const sub of top.subdirs) {
    if (!isLeafParent(sub)) addOrphanFolder(s, await s.take(sub), sub, '(none)', 'none', sub);
  }
  return { bundle, bundleBytes, activeCA, clientBundle, clientBundleBytes, clientActiveCA };
}

/** The bundle's row of a rotation's signing certificate (by fingerprint), if a rotation names one. */
function signerRow(bundle: Work[], fingerprint: string | undefined): Work | undefined {
  return fingerprint ? bundle.find((w) => w.cert && w.row.fingerprint === fingerprint) : undefined;
}

const isLeafParent = (name: string): boolean => LEAF_PARENTS.some(([parent]) => parent === name);

/** Whether the certs dir can be read, and the row's words when it cannot. */
function rootStateOf(tree: ActualTree, label: string): { state: 'ok' | 'missing' | 'error'; error: string } {
  const root = tree.root;
  if (!root || root.type === 'dir') return { state: 'ok', error: '' };
  if (root.type === 'missing') return { state: 'missing', error: `cannot read the certs dir ${label}: no such file or directory` };
  if (root.type === 'error') return { state: 'error', error: `cannot read the certs dir ${label}: ${root.error ?? 'cannot be read'}` };
  return { state: 'error', error: `the certs dir ${label} is not a folder` };
}

/** Why the CA key cannot sign with the bundle's first certificate, if it cannot. */
function caKeyProblem(caKey: FileFact, cert: CertFacts, caKeyRel: string, label = 'CA', file = CA_CERT): { problem: ReportProblem; error: string } | undefined {
  if (caKey.type === 'missing' || (caKey.type === 'symlink' && caKey.code === undefined) || caKey.code === 'ENOENT') {
    return { problem: 'key-missing', error: `the ${label} key ${caKeyRel} does not exist: certgen cannot sign anything until it is restored` };
  }
  // An encrypted CA key is checked only when an identity opens it; without one it is not a problem.
  if (caKey.sealed?.kind === 'identity-needed') return undefined;
  if (caKey.sealed) return { problem: 'key-unreadable', error: caKey.sealed.message };
  try {
    if (keyMatchesCert(keyOf(caKey), cert)) return undefined;
  } catch (err) {
    return { problem: 'key-unreadable', error: `the ${label} key ${caKeyRel} cannot be used: ${(err as Error).message}` };
  }
  return { problem: 'key-mismatch', error: `the ${label} key ${caKeyRel} does not match the first certificate in ${file}` };
}

// --- nodes and clients ------------------------------------------------------------------------------

/** Starts the scan of every folder under nodes/ and clients/: the spec's and the others. */
function prefetchLeafFolders(s: SpecScan, artifacts: Artifact[], parents: Map<LeafParent, Listing>): void {
  const wanted = new Set(artifacts.filter((a) => a.kind !== 'ca').map((a) => a.dir));
  for (const a of artifacts) {
    if (a.kind === 'ca') continue;
    const [parent, dirName] = a.dir.split('/') as [LeafParent, string];
    const listing = parents.get(parent);
    if (listing && !listing.error && listing.names.includes(dirName)) s.prefetch(a.dir);
  }
  for (const [parent, listing] of parents) {
    for (const d of listing.names) if (!wanted.has(`${parent}/${d}`)) s.prefetch(`${parent}/${d}`);
  }
}

/** The usage of each kind's certificate, and of the companion signing certificate in a tenant's folder. */
const LEAF_USAGE: Record<Artifact['kind'] | 'signing', PemUsage> = { ca: 'CA', node: 'Node', client: 'Client', tenant: 'Tenant Client', signing: 'Tenant Signing' };

/** The spec entry of each leaf artifact, by artifact id (the first, when a name repeats). */
function leafSpecs(spec: ClusterSpec): Map<string, { lifetime: bigint; renewBefore: bigint }> {
  const out = new Map<string, { lifetime: bigint; renewBefore: bigint }>();
  const add = (id: string, l: { lifetime: bigint; renewBefore: bigint }): void => void (out.has(id) || out.set(id, l));
  for (const n of spec.nodes) add(`node/${n.name}`, n);
  for (const c of spec.clients) add(`client/${c.user}`, c);
  for (const t of spec.tenants ?? []) add(`tenant/${t.id}`, t);
  return out;
}

/** Each node's, client's and tenant's rows (its certificates), its folder's copies of the bundle when they differ, and the folder's other files as orphans. */
async function leafSection(s: SpecScan, artifacts: Artifact[], parents: Map<LeafParent, Listing>, bundleBytes: Buffer | undefined, clientBundleBytes: Buffer | undefined): Promise<void> {
  for (const [parent, listing] of parents) {
    if (listing.error) s.works.push({ row: emptyRow({ file: `${parent}/`, problem: 'unreadable', error: listing.error }), folder: parent, leaf: false, activeCA: false });
  }
  const specs = leafSpecs(s.spec);
  for (const a of artifacts) {
    if (a.kind === 'ca') continue;
    const name = a.id.slice(a.id.indexOf('/') + 1);
    const leafSpec = specs.get(a.id);
    const fileOf = (role: ManagedFile['role']): string => a.files.find((f) => f.role === role)?.rel ?? '';
    const certRel = fileOf('cert');
    const keyRel = fileOf('key');
    const usage = LEAF_USAGE[a.kind];
    const who = { owner: name, ownerKind: a.kind, artifact: a.id } as const;
    const lifetimeMs = durationToMs(leafSpec?.lifetime ?? 0n);
    const leafOf = (w: Work): Work => Object.assign(w, { lifetimeMs, renewBeforeNs: leafSpec?.renewBefore ?? s.orphanRenewBefore });
    const [parent, dirName] = a.dir.split('/') as [LeafParent, string];
    const parentListing = parents.get(parent);
    if (parentListing?.error) continue; // already a row: the parent cannot be read
    if (!parentListing || !parentListing.names.includes(dirName)) {
      const notDir = parentListing ? parentListing.files.includes(dirName) : undefined;
      s.works.push(
        leafOf({
          row: emptyRow({ ...who, file: certRel, usage, keyFile: keyRel, problem: notDir ? 'unreadable' : 'missing', error: notDir ? `${a.dir} is a file, not a folder` : `${a.dir}/ does not exist yet` }),
          folder: a.dir,
          leaf: true,
          activeCA: false,
          replaceNow: true,
        }),
      );
      continue;
    }
    const scan = await s.take(a.dir);
    if (scan.error) {
      s.works.push(leafOf({ row: emptyRow({ ...who, file: `${a.dir}/`, usage, keyFile: keyRel, problem: 'unreadable', error: scan.error }), folder: a.dir, leaf: true, activeCA: false, replaceNow: true }));
      continue;
    }
    const mine = new Set(a.files.map((f) => f.rel));
    // The leaf's certificate rows: its own, a tenant's signing certificate, a node's provided UI certificate.
    const leafRows = [
      { rel: certRel, key: keyRel, usage },
      ...(fileOf('signing-cert') ? [{ rel: fileOf('signing-cert'), key: fileOf('signing-key'), usage: LEAF_USAGE.signing }] : []),
      ...(fileOf('ui-cert') ? [{ rel: fileOf('ui-cert'), key: fileOf('ui-key'), usage: 'UI' as const }] : []),
      ...(fileOf('node-client-cert') ? [{ rel: fileOf('node-client-cert'), key: fileOf('node-client-key'), usage: 'Client' as const }] : []),
    ];
    const leafWorks: Work[] = [];
    for (const l of leafRows) {
      const found = scan.works.find((w) => w.row.file === l.rel);
      if (found) leafWorks.push(found);
      if (found) s.works.push(leafOf(Object.assign(found, { row: Object.assign(found.row, who) })));
      else s.works.push(leafOf({ row: emptyRow({ ...who, file: l.rel, usage: l.usage, keyFile: l.key, problem: 'missing', error: `${l.rel} does not exist` }), folder: a.dir, leaf: true, activeCA: false, replaceNow: true }));
    }
    // The folder's copies of the bundle: shown only when they are not the bundle itself.
    const copies: Work[] = [];
    for (const { rel: bundleRel, role } of a.files.filter((f) => f.role === 'ca-bundle' || f.role === 'client-ca-bundle')) {
      const source = role === 'client-ca-bundle' ? { bytes: clientBundleBytes, file: CLIENT_CA_CERT, usage: 'Client CA' as const } : { bytes: bundleBytes, file: CA_CERT, usage: 'CA' as const };
      const copy = scan.works.filter((w) => w.row.file === bundleRel);
      copies.push(...copy);
      // The copy's bytes as the scan read them (read again only when the scan could not).
      const copyBytes =
        copy.length === 0
          ? undefined
          : ((bundleRel.startsWith(`${a.dir}/`) ? scan.contents?.get(bundleRel.slice(a.dir.length + 1)) : undefined) ??
            (await s.ctx.source.readFile(path.join(s.root, ...bundleRel.split('/'))).catch(() => undefined)));
      if (copy.length === 0) {
        s.works.push({ row: emptyRow({ ...who, file: bundleRel, usage: source.usage, problem: 'missing', error: `${bundleRel} does not exist: the ${a.kind} cannot verify its peers` }), folder: a.dir, leaf: false, activeCA: false });
      } else if (!(copyBytes && source.bytes && copyBytes.equals(source.bytes))) {
        for (const w of copy) {
          w.activeCA = false;
          Object.assign(w.row, who);
          if (!w.row.error) w.row.notes = `${w.row.notes}; differs from ${source.file}`;
          s.works.push(w);
        }
      }
    }
    for (const w of scan.works) {
      if (leafWorks.includes(w) || copies.includes(w) || mine.has(w.row.file)) continue;
      s.orphans.push(orphanWork(s, w, name, a.kind, w.row.file));
    }
    for (const sub of scan.subdirs) {
      s.orphans.push(orphanWork(s, { row: emptyRow({ file: `${a.dir}/${sub}/`, problem: 'stray-folder', error: `${a.dir}/${sub}/ is a folder the spec does not name` }), folder: a.dir, leaf: false, activeCA: false }, name, a.kind, `${a.dir}/${sub}`));
    }
  }
}

// --- what the spec does not name ------------------------------------------------------------------

/** Files lying in nodes/ or clients/, and the folders there the spec has no leaf for. */
async function strayLeafFolders(s: SpecScan, artifacts: Artifact[], parents: Map<LeafParent, Listing>): Promise<void> {
  const wanted = new Set(artifacts.filter((a) => a.kind !== 'ca').map((a) => a.dir));
  for (const [parent, kind] of LEAF_PARENTS) {
    const listing = parents.get(parent);
    if (!listing) continue;
    for (const f of listing.files) {
      const rel = `${parent}/${f}`;
      s.orphans.push(orphanWork(s, { row: emptyRow({ file: rel, problem: 'junk', error: `${rel} is not a folder of the spec` }), folder: parent, leaf: false, activeCA: false }, '(none)', 'none', rel));
    }
    for (const d of listing.names) {
      const rel = `${parent}/${d}`;
      if (!wanted.has(rel)) addOrphanFolder(s, await s.take(rel), rel, d, kind, `${kind}/${d}`);
    }
  }
}

/** Orphans the plan sees that no row shows yet (e.g. a .pk8 the spec no longer asks for). */
function planOrphans(s: SpecScan, thePlan: Plan): void {
  const shown = new PathIndex();
  for (const w of s.orphans) shown.add(w.row.file);
  for (const c of thePlan.changes) {
    if (c.action !== 'orphan') continue;
    for (const f of c.files) {
      if (shown.covers(f)) continue;
      const [parent, dir] = f.split('/');
      const owner = f.split('/').length > 2 ? LEAF_PARENTS.find(([p]) => p === parent) : undefined;
      const row = emptyRow({ file: f, problem: 'junk', error: `${f} is not in the spec` });
      s.orphans.push(orphanWork(s, { row, folder: f.split('/').slice(0, -1).join('/'), leaf: false, activeCA: false }, owner ? (dir ?? '') : '(none)', owner ? owner[1] : 'none', f));
      shown.add(f);
    }
  }
}

// --- the plan's verdicts, statuses, the forecast -----------------------------------------------------

function describeChange(c: Change, prune: boolean): string {
  if (c.action === 'orphan') return prune ? 'prune: not in the spec' : 'orphan: not in the spec (apply --prune removes it)';
  const codes = [...new Set(c.reasons.map((r) => r.code))];
  return `${c.action}: ${codes.join(', ')}`;
}

/** The `pending` column: what apply would do to each row, from the plan (by file, every folder above a file, or artifact). */
function pendingColumn(works: Work[], thePlan: Plan): void {
  const rowsByPath = new PathIndex();
  const leavesByArtifact = new Map<string, Work[]>();
  works.forEach((w, i) => {
    rowsByPath.add(w.row.file, i);
    if (w.leaf && !w.row.orphan) push(leavesByArtifact, w.row.artifact, w);
  });
  const inOrder = (at: Iterable<number>): Work[] => [...new Set(at)].sort((a, b) => a - b).map((i) => works[i] as Work);
  const firstCaRow = works.filter((w) => w.row.artifact === 'ca' && w.row.position === 1 && !w.row.orphan).slice(0, 1);
  for (const c of thePlan.changes) {
    if (c.action === 'keep') continue;
    const text = describeChange(c, thePlan.prune);
    let targets: Work[];
    if (c.action === 'orphan') targets = inOrder(c.files.flatMap((f) => rowsByPath.under(f)));
    else if (c.action === 'update-ca-bundle') {
      targets = inOrder(c.files.flatMap((f) => rowsByPath.at(f)));
      if (targets.length === 0) targets = leavesByArtifact.get(c.artifact) ?? [];
    } else if (c.artifact === 'ca') targets = firstCaRow;
    else if (c.artifact === CLIENT_CA_ARTIFACT) targets = works.filter((w) => w.row.artifact === CLIENT_CA_ARTIFACT && (w.row.position === 1 || w.row.problem === 'missing') && !w.row.orphan).slice(0, 1);
    else {
      // A tenant's folder has two certificates: a change of one pair is pending on its row only.
      const leaves = leavesByArtifact.get(c.artifact) ?? [];
      const own = leaves.filter((w) => c.files.includes(w.row.file));
      targets = own.length > 0 && own.length < leaves.length ? own : leaves;
    }
    for (const w of targets) {
      w.row.pending = w.row.pending ? `${w.row.pending}; ${text}` : text;
      if (c.action === 'create' || c.action === 'reissue') w.replaceNow = true;
    }
  }
}

/**
 * One CA's rotation window, from the leaves it signs and the longest renewBefore among the specs
 * that renew them; the CA's own row takes its renewal columns and status from that window.
 */
function forecastCA(spec: ClusterSpec, ca: Work, expires: string, leaves: Work[], renewers: ReadonlyArray<{ renewBefore: bigint }>, nowMs: number, state: RotationState | undefined): CaRotation {
  const maxRenewBefore = renewers.reduce((m, l) => (l.renewBefore > m ? l.renewBefore : m), 0n) || DEFAULT_RENEW_BEFORE_NS;
  const rot = rotationFor(ca, leaves, nowMs, maxRenewBefore);
  Object.assign(rot, rotationForecast(spec, new Date(expires), state));
  ca.row.renewalStarts = rot.windowOpens;
  ca.row.renewBefore = formatMs(Date.parse(expires) - Date.parse(rot.windowOpens));
  setStatus(ca.row, nowMs);
  return rot;
}

/** Each row's status against its renewal window, the CA's rotation window (from the leaves it signs), and the renewals in date order. */
function statusesAndForecast(spec: ClusterSpec, works: Work[], activeCA: Work | undefined, nowMs: number, rotationState: RotationState | undefined, clientActiveCA?: Work, clientRotationState?: RotationState): { rotations: CaRotation[]; renewals: Report['forecast']['renewals'] } {
  for (const w of works) {
    if (w.leaf && w.renewBeforeNs !== undefined) {
      w.row.renewBefore = formatDuration(w.renewBeforeNs);
      if (w.row.expires) w.row.renewalStarts = iso(new Date(Date.parse(w.row.expires) - durationToMs(w.renewBeforeNs)));
    }
    setStatus(w.row, nowMs);
  }
  const rotations: CaRotation[] = [];
  if (activeCA && activeCA.cert && activeCA.row.expires) {
    // UI certificates come from another CA: the cluster CA's rotation does not wait for them.
    // With a split client CA, the leaves it signs are its own forecast's.
    const leaves = works.filter((w) => w.leaf && !w.row.orphan && w.row.usage !== 'UI' && !(clientActiveCA && w.row.issuerFingerprint === clientActiveCA.row.fingerprint));
    rotations.push(forecastCA(spec, activeCA, activeCA.row.expires, leaves, [...spec.nodes, ...spec.clients, ...(spec.tenants ?? [])], nowMs, rotationState));
  }
  if (clientActiveCA && clientActiveCA.cert && clientActiveCA.row.expires) {
    const leaves = works.filter((w) => w.leaf && !w.row.orphan && w.row.issuerFingerprint === clientActiveCA.row.fingerprint);
    const signed = new Set(leaves.map((w) => w.row.artifact));
    rotations.push(forecastCA(spec, clientActiveCA, clientActiveCA.row.expires, leaves, [...spec.nodes.filter((n) => signed.has(`node/${n.name}`)), ...spec.clients], nowMs, clientRotationState));
  }
  const forecastWorks = works.filter((w) => !w.row.orphan && ((w.leaf && w.row.artifact !== '') || w === activeCA || w === clientActiveCA || ((w.row.artifact === 'ca' || w.row.artifact === CLIENT_CA_ARTIFACT) && w.row.problem === 'missing')));
  return { rotations, renewals: forecastWorks.map((w) => renewalEntry(w, nowMs)).sort(byRenewal) };
}
