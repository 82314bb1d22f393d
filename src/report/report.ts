// `certgen report`: every certificate of a cluster (with its spec) or of any CockroachDB certs
// folder (without one), one row per certificate, as `cert list` sees it and more: status against
// the renewal window, fingerprints, key, issuer, what `apply` would do to it, and a forecast of
// renewals and of the CA rotation deadline. Reads only: nothing here writes, creates or locks.
//
// Bad input never stops a report: a corrupt PEM, a key that does not match, a missing key, a
// folder that cannot be read or a junk file each becomes a row with `status: error` and a reason,
// and every other row is still there.
//
// The parts: types.ts (the output's shape), scan.ts (folders and files into rows), cert-read.ts
// (each certificate read once), status.ts (issuers and statuses), forecast.ts (renewals and CA
// rotations), time.ts; this file puts them together for each of the two modes. Folders are
// scanned all at once (file-system operations bounded by the scan context), and the rows are put
// together in the same order as if they had been read one at a time.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { keyMatchesCert } from '../pki/read/key.js';
import { CA_CERT, isCAUsage, type PemUsage } from '../core/cert-names.js';
import { durationToMs, formatDuration, formatMs } from '../core/duration.js';
import { CLIENTS_DIR, NODES_DIR, desiredArtifacts } from '../tree/layout.js';
import { diff } from '../plan/diff.js';
import { keyOf, readTree, type ActualTree, type FileFact } from '../tree/read-tree.js';
import type { CertFacts } from '../pki/read/cert.js';
import { treeSource } from '../tree/tree-source.js';
import type { Change, Plan } from '../plan/types.js';
import { DEFAULT_RENEW_BEFORE_NS, type ClusterSpec } from '../cluster-spec/spec.js';
import { errnoText } from '../io/files.js';
import { bareOwner, emptyRow, join, listFolder, scanContext, scanFolder, type FolderScan, type Work } from './scan.js';
import { matchIssuers, setStatus, summarize } from './status.js';
import { byRenewal, certLifetimeMs, renewalEntry, rotationFor } from './forecast.js';
import { iso, resolveNow } from './time.js';
import { REPORT_VERSION, type CaRotation, type Report, type ReportOptions, type ReportProblem, type ReportRow, type ReportSource } from './types.js';

export { REPORT_STATUSES, REPORT_VERSION } from './types.js';
export type { CaRotation, RenewalForecast, Report, ReportOptions, ReportProblem, ReportRow, ReportSource, ReportStatus, ReportSummary } from './types.js';
export { rotationDeadline, type LeafRenewal } from './forecast.js';

/** A report for a spec (`certgen report FILE`) or for a certs folder (`certgen report --certs-dir DIR`). */
export async function buildReport(source: ReportSource, opts: ReportOptions = {}): Promise<Report> {
  return 'spec' in source ? reportForSpec(source.spec, opts) : reportForCertsDir(source.certsDir, opts);
}

// ---------------------------------------------------------------------------------------------
// A bare certs dir

/**
 * `certgen report --certs-dir DIR`: `cert list` for DIR (and, recursively, every sub-folder), one
 * row per certificate. Leaves renew `renewBefore` (default 720h) before expiry; each CA file's first
 * certificate gets a rotation deadline computed from the leaves it signed.
 */
export async function reportForCertsDir(certsDir: string, opts: ReportOptions = {}): Promise<Report> {
  const now = resolveNow(opts.now);
  const nowMs = now.getTime();
  const root = path.resolve(certsDir);
  const ctx = scanContext(root, opts.skipKeyPermissionCheck ?? false);
  const renewBeforeNs = opts.renewBefore ?? DEFAULT_RENEW_BEFORE_NS;
  const works: Work[] = [];
  const warnings: string[] = [];
  const caByFolder = new Map<string, Work[]>();

  let rootExists = true;
  try {
    const st = await fs.stat(root);
    if (!st.isDirectory()) {
      works.push({ row: emptyRow({ file: '.', problem: 'unreadable', error: `${certsDir} is not a folder` }), folder: '', leaf: false, activeCA: false });
      rootExists = false;
    }
  } catch (err) {
    works.push({ row: emptyRow({ file: '.', problem: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable', error: `cannot read certs dir ${certsDir}: ${errnoText(err)}` }), folder: '', leaf: false, activeCA: false });
    rootExists = false;
  }
  // Every folder is scanned at once (the I/O is bounded by ctx.limit); rows and warnings are then
  // taken depth first, each folder before its sub-folders, in name order.
  interface Visited {
    folder: string;
    scan: FolderScan;
    /** Per sub-folder: its scan, or the warning that stands for it. */
    subs: (Visited | string)[];
  }
  const visit = async (folder: string): Promise<Visited> => {
    const scan = await scanFolder(ctx, folder);
    const settled = scan.error
      ? []
      : await Promise.allSettled(
          scan.subdirs.map((sub): Promise<Visited | string> | string => {
            const rel = join(folder, sub);
            if (!opts.recursive) return `sub-folder ${rel}/ not reported (use --recursive)`;
            if (sub.startsWith('.')) return `hidden folder ${rel}/ skipped`;
            return visit(rel);
          }),
        );
    // A failure surfaces as it would have one folder at a time: the first in depth-first order.
    const subs = settled.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
    return { folder, scan, subs };
  };
  const collect = (v: Visited): void => {
    const { folder, scan } = v;
    if (scan.error) {
      works.push({ row: emptyRow({ file: folder === '' ? './' : `${folder}/`, problem: 'unreadable', error: scan.error }), folder, leaf: false, activeCA: false });
      return;
    }
    for (const w of scan.works) works.push(w);
    caByFolder.set(folder, scan.works.filter((w) => w.row.usage !== '' && isCAUsage(w.row.usage)));
    for (const sub of v.subs) {
      if (typeof sub === 'string') warnings.push(sub);
      else collect(sub);
    }
  };
  if (rootExists) collect(await visit(''));

  for (const w of works) bareOwner(w);
  matchIssuers(works, (folder) => [...(caByFolder.get(folder) ?? []), ...(folder === '' ? [] : (caByFolder.get('') ?? []))]);
  for (const w of works) {
    if (w.leaf && w.cert) {
      w.renewBeforeNs = renewBeforeNs;
      w.lifetimeMs = certLifetimeMs(w.row);
      w.row.renewBefore = formatDuration(renewBeforeNs);
      if (w.row.expires) w.row.renewalStarts = iso(new Date(Date.parse(w.row.expires) - durationToMs(renewBeforeNs)));
    }
  }
  // Status first without the CA windows (leaves decide the rotation), then the CA rows.
  for (const w of works) setStatus(w.row, nowMs);
  const rotations: CaRotation[] = [];
  const seen = new Map<string, CaRotation>();
  // Indexes (positions in works) for the rotations: CA heads by fingerprint, rows by file, leaves by issuer.
  const headsByFingerprint = new Map<string, number[]>();
  const byFile = new Map<string, number[]>();
  const leavesByIssuer = new Map<string, number[]>();
  works.forEach((w, i) => {
    if (w.activeCA) push(headsByFingerprint, w.row.fingerprint, i);
    push(byFile, w.row.file, i);
    if (w.leaf && w.cert) push(leavesByIssuer, w.row.issuerFingerprint, i);
  });
  for (const ca of works.filter((w) => w.activeCA && w.cert && !w.row.error)) {
    let rot = seen.get(ca.row.fingerprint);
    if (!rot) {
      // Leaves it renews: those signed by any certificate of a bundle this CA heads.
      const headed = new Set((headsByFingerprint.get(ca.row.fingerprint) ?? []).map((i) => works[i]?.row.file ?? ''));
      const family = new Set([...headed].flatMap((f) => byFile.get(f) ?? []).map((i) => works[i]?.row.fingerprint ?? ''));
      const leafAt = [...new Set([...family].flatMap((fp) => leavesByIssuer.get(fp) ?? []))].sort((a, b) => a - b);
      const leaves = leafAt.map((i) => works[i]).filter((w): w is Work => w !== undefined);
      rot = rotationFor(ca, leaves, nowMs, renewBeforeNs);
      seen.set(ca.row.fingerprint, rot);
      rotations.push(rot);
    }
    ca.row.renewalStarts = rot.windowOpens;
    ca.row.renewBefore = formatMs(Date.parse(ca.row.expires ?? '') - Date.parse(rot.windowOpens));
    setStatus(ca.row, nowMs);
  }
  const due = works.filter((w) => w.cert && (w.leaf || (w.activeCA && seen.has(w.row.fingerprint))));
  const firstWithFingerprint = new Map<string, number>();
  due.forEach((w, i) => {
    if (!firstWithFingerprint.has(w.row.fingerprint)) firstWithFingerprint.set(w.row.fingerprint, i);
  });
  const renewals = due
    .filter((w, i) => w.leaf || firstWithFingerprint.get(w.row.fingerprint) === i)
    .map((w) => renewalEntry(w, nowMs))
    .sort(byRenewal);
  const rows = works.map((w) => w.row);
  return {
    version: REPORT_VERSION,
    now: iso(now),
    source: { kind: 'certs-dir', certsDir: opts.certsDirLabel ?? certsDir, recursive: opts.recursive ?? false },
    summary: summarize(rows),
    rows,
    forecast: { renewals, caRotations: rotations },
    plan: null,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// A spec's tree

/** A promise started now and awaited later: marked as handled, so that failing before its await is not an unhandled rejection (the await still throws). */
function background<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * Paths (relative, with `/`) and the rows at them: `at(f)` the rows whose path is f, `under(f)`
 * those whose path is f or starts with `f/`, `covers(f)` whether there is any such row.
 */
class PathIndex {
  private readonly exact = new Map<string, number[]>();
  private readonly below = new Map<string, number[]>();
  add(file: string, i = -1): void {
    push(this.exact, file, i);
    for (let k = file.indexOf('/'); k !== -1; k = file.indexOf('/', k + 1)) push(this.below, file.slice(0, k), i);
  }
  at(f: string): number[] {
    return this.exact.get(f) ?? [];
  }
  under(f: string): number[] {
    return [...this.at(f), ...(this.below.get(f) ?? [])];
  }
  covers(f: string): boolean {
    return this.exact.has(f) || this.below.has(f);
  }
}

function push(m: Map<string, number[]>, k: string, i: number): void {
  const list = m.get(k);
  if (list) list.push(i);
  else m.set(k, [i]);
}

function describeChange(c: Change, prune: boolean): string {
  if (c.action === 'orphan') return prune ? 'prune: not in the spec' : 'orphan: not in the spec (apply --prune removes it)';
  const codes = [...new Set(c.reasons.map((r) => r.code))];
  return `${c.action}: ${codes.join(', ')}`;
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
  const nowMs = now.getTime();
  const root = spec.certsDir;
  // One read of the tree: the plan is the diff of these facts, and every row is made from them.
  const tree = await readTree(spec, { everything: true });
  const ctx = scanContext(root, opts.skipKeyPermissionCheck ?? false, treeSource(tree, root));
  const orphanRenewBefore = opts.renewBefore ?? DEFAULT_RENEW_BEFORE_NS;
  const thePlan: Plan = diff({ spec, tree, now, specFile: opts.specFileLabel, certsDirLabel: opts.certsDirLabel });
  const artifacts = desiredArtifacts(spec);
  const caKeyRel = path.relative(root, spec.caKey).split(path.sep).join('/');

  const works: Work[] = [];
  /** Files and folders the spec does not name: listed after the spec's artifacts, by path. */
  const orphans: Work[] = [];
  const warnings: string[] = [];
  const orphanWork = (w: Work, owner: string, kind: ReportRow['ownerKind'], artifact: string): Work => {
    Object.assign(w.row, { owner, ownerKind: kind, artifact, orphan: true });
    if (w.leaf && w.cert) {
      w.renewBeforeNs = orphanRenewBefore;
      w.lifetimeMs = certLifetimeMs(w.row);
    }
    return w;
  };
  /** Every folder is scanned at once (prefetch); the rows are then put together in the order below (take). */
  const scans = new Map<string, Promise<FolderScan>>();
  const prefetch = (folder: string): void => {
    if (!scans.has(folder)) scans.set(folder, background(scanFolder(ctx, folder)));
  };
  const take = (folder: string): Promise<FolderScan> => {
    const p = scans.get(folder);
    scans.delete(folder);
    return p ?? scanFolder(ctx, folder);
  };
  /** A folder nobody in the spec owns: its files as rows, or one row for the folder. */
  const addOrphanFolder = (scan: FolderScan, folder: string, owner: string, kind: ReportRow['ownerKind'], artifact: string): void => {
    if (scan.error) {
      orphans.push(orphanWork({ row: emptyRow({ file: `${folder}/`, problem: 'unreadable', error: scan.error }), folder, leaf: false, activeCA: false }, owner, kind, artifact));
      return;
    }
    for (const w of scan.works) orphans.push(orphanWork(w, owner, kind, artifact));
    for (const sub of scan.subdirs) {
      orphans.push(orphanWork({ row: emptyRow({ file: `${folder}/${sub}/`, problem: 'stray-folder', error: `${folder}/${sub}/ is a folder the spec does not name` }), folder, leaf: false, activeCA: false }, owner, kind, artifact));
    }
    if (scan.works.length === 0 && scan.subdirs.length === 0) {
      orphans.push(orphanWork({ row: emptyRow({ file: `${folder}/`, problem: 'stray-folder', error: `${folder}/ is an empty folder the spec does not name` }), folder, leaf: false, activeCA: false }, owner, kind, artifact));
    }
  };

  // --- the top folder: the CA bundle, plus anything else lying there --------------------------
  const listings = background(Promise.all([listFolder(root, NODES_DIR, ctx.source), listFolder(root, CLIENTS_DIR, ctx.source)]));
  const { state: rootState, error: rootError } = rootStateOf(tree, opts.certsDirLabel ?? root);
  if (rootState === 'ok') prefetch('');
  const topScan = rootState === 'ok' ? take('') : undefined;
  topScan?.then(
    (t) => {
      for (const sub of t.subdirs) if (sub !== NODES_DIR && sub !== CLIENTS_DIR) prefetch(sub);
    },
    () => undefined,
  );
  // nodes/ and clients/: each folder of the spec, and each the spec does not name, scanned now.
  const [nodesListing, clientsListing] = await listings;
  const parents = { [NODES_DIR]: nodesListing, [CLIENTS_DIR]: clientsListing };
  const present = { [NODES_DIR]: new Set(nodesListing.names), [CLIENTS_DIR]: new Set(clientsListing.names) };
  const presentFiles = { [NODES_DIR]: new Set(nodesListing.files), [CLIENTS_DIR]: new Set(clientsListing.files) };
  const wantedDirs = new Set(artifacts.filter((a) => a.kind !== 'ca').map((a) => a.dir));
  for (const a of artifacts) {
    if (a.kind === 'ca') continue;
    const [parent, dirName] = a.dir.split('/') as [string, string];
    const listing = parents[parent as typeof NODES_DIR];
    if (listing && !listing.error && present[parent as typeof NODES_DIR].has(dirName)) prefetch(a.dir);
  }
  for (const [parent, listing] of Object.entries(parents)) {
    for (const d of listing.names) if (!wantedDirs.has(`${parent}/${d}`)) prefetch(`${parent}/${d}`);
  }
  const top: FolderScan = topScan ? await topScan : { works: [], subdirs: [] };
  if (rootState === 'error' || top.error) {
    works.push({ row: emptyRow({ file: './', owner: 'CA', ownerKind: 'ca', artifact: 'ca', problem: 'unreadable', error: top.error ?? rootError }), folder: '', leaf: false, activeCA: false });
  }
  const bundle = top.works.filter((w) => w.row.file === CA_CERT);
  const bundleBytes = top.contents?.get(CA_CERT) ?? (await ctx.source.readFile(path.join(root, CA_CERT)).catch(() => undefined));
  if (bundle.length === 0 && rootState !== 'error' && !top.error) {
    const why = rootState === 'missing' ? `the certs dir does not exist yet, so neither does ${CA_CERT}` : `${CA_CERT} does not exist`;
    works.push({ row: emptyRow({ file: CA_CERT, usage: 'CA', keyFile: caKeyRel, problem: 'missing', error: why }), folder: '', leaf: false, activeCA: false, replaceNow: true });
  }
  for (const w of bundle) {
    w.row.keyFile = w.row.position === 1 ? caKeyRel : '';
    works.push(w);
  }
  for (const w of works) Object.assign(w.row, { owner: 'CA', ownerKind: 'ca', artifact: 'ca' });
  const activeCA = bundle.find((w) => w.activeCA && w.cert);
  if (activeCA && !activeCA.row.error && activeCA.cert) {
    const bad = caKeyProblem(tree.caKey, activeCA.cert, caKeyRel);
    Object.assign(activeCA.row, bad ?? { problem: null, error: '' });
  }
  const topOthers = top.works.filter((w) => w.row.file !== CA_CERT);
  for (const w of topOthers) orphans.push(orphanWork(w, '(none)', 'none', w.row.file));
  for (const sub of top.subdirs) {
    if (sub === NODES_DIR || sub === CLIENTS_DIR) continue;
    addOrphanFolder(await take(sub), sub, '(none)', 'none', sub);
  }

  // --- nodes and clients ------------------------------------------------------------------------
  for (const [parent, listing] of Object.entries(parents)) {
    if (listing.error) works.push({ row: emptyRow({ file: `${parent}/`, problem: 'unreadable', error: listing.error }), folder: parent, leaf: false, activeCA: false });
  }
  const wanted = new Set<string>();
  const nodeSpecs = new Map<string, ClusterSpec['nodes'][number]>();
  for (const n of spec.nodes) if (!nodeSpecs.has(n.name)) nodeSpecs.set(n.name, n);
  const clientSpecs = new Map<string, ClusterSpec['clients'][number]>();
  for (const c of spec.clients) if (!clientSpecs.has(c.user)) clientSpecs.set(c.user, c);
  for (const a of artifacts) {
    if (a.kind === 'ca') continue;
    wanted.add(a.dir);
    const name = a.id.slice(a.id.indexOf('/') + 1);
    const leafSpec = a.kind === 'node' ? nodeSpecs.get(name) : clientSpecs.get(name);
    const certRel = a.files.find((f) => f.role === 'cert')?.rel ?? '';
    const keyRel = a.files.find((f) => f.role === 'key')?.rel ?? '';
    const bundleRel = a.files.find((f) => f.role === 'ca-bundle')?.rel ?? '';
    const usage: PemUsage = a.kind === 'node' ? 'Node' : 'Client';
    const who = { owner: name, ownerKind: a.kind, artifact: a.id } as const;
    const lifetimeMs = durationToMs(leafSpec?.lifetime ?? 0n);
    const leafOf = (w: Work): Work => Object.assign(w, { lifetimeMs, renewBeforeNs: leafSpec?.renewBefore ?? orphanRenewBefore });
    const [parent, dirName] = a.dir.split('/') as [string, string];
    const parentListing = parents[parent as typeof NODES_DIR];
    if (parentListing?.error) continue; // already a row: the parent cannot be read
    if (!parentListing || !present[parent as typeof NODES_DIR].has(dirName)) {
      const notDir = parentListing ? presentFiles[parent as typeof NODES_DIR].has(dirName) : undefined;
      works.push(
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
    const scan = await take(a.dir);
    if (scan.error) {
      works.push(leafOf({ row: emptyRow({ ...who, file: `${a.dir}/`, usage, keyFile: keyRel, problem: 'unreadable', error: scan.error }), folder: a.dir, leaf: true, activeCA: false, replaceNow: true }));
      continue;
    }
    const mine = new Set(a.files.map((f) => f.rel));
    const leafWork = scan.works.find((w) => w.row.file === certRel);
    if (leafWork) works.push(leafOf(Object.assign(leafWork, { row: Object.assign(leafWork.row, who) })));
    else works.push(leafOf({ row: emptyRow({ ...who, file: certRel, usage, keyFile: keyRel, problem: 'missing', error: `${certRel} does not exist` }), folder: a.dir, leaf: true, activeCA: false, replaceNow: true }));
    // The folder's copy of the bundle: shown only when it is not the bundle itself.
    const copy = scan.works.filter((w) => w.row.file === bundleRel);
    // The copy's bytes as the scan read them (read again only when the scan could not).
    const copyBytes =
      copy.length === 0
        ? undefined
        : ((bundleRel.startsWith(`${a.dir}/`) ? scan.contents?.get(bundleRel.slice(a.dir.length + 1)) : undefined) ??
          (await ctx.source.readFile(path.join(root, ...bundleRel.split('/'))).catch(() => undefined)));
    if (copy.length === 0) {
      works.push({ row: emptyRow({ ...who, file: bundleRel, usage: 'CA', problem: 'missing', error: `${bundleRel} does not exist: ${a.kind === 'node' ? 'the node' : 'the client'} cannot verify its peers` }), folder: a.dir, leaf: false, activeCA: false });
    } else if (!(copyBytes && bundleBytes && copyBytes.equals(bundleBytes))) {
      for (const w of copy) {
        w.activeCA = false;
        Object.assign(w.row, who);
        if (!w.row.error) w.row.notes = `${w.row.notes}; differs from ${CA_CERT}`;
        works.push(w);
      }
    }
    for (const w of scan.works) {
      if (w === leafWork || copy.includes(w)) continue;
      if (mine.has(w.row.file)) continue;
      orphans.push(orphanWork(w, name, a.kind, w.row.file));
    }
    for (const sub of scan.subdirs) {
      orphans.push(orphanWork({ row: emptyRow({ file: `${a.dir}/${sub}/`, problem: 'stray-folder', error: `${a.dir}/${sub}/ is a folder the spec does not name` }), folder: a.dir, leaf: false, activeCA: false }, name, a.kind, `${a.dir}/${sub}`));
    }
  }
  for (const [parent, listing] of Object.entries(parents)) {
    for (const f of listing.files) {
      const rel = `${parent}/${f}`;
      orphans.push(orphanWork({ row: emptyRow({ file: rel, problem: 'junk', error: `${rel} is not a folder of the spec` }), folder: parent, leaf: false, activeCA: false }, '(none)', 'none', rel));
    }
    for (const d of listing.names) {
      const rel = `${parent}/${d}`;
      if (wanted.has(rel)) continue;
      addOrphanFolder(await take(rel), rel, d, parent === NODES_DIR ? 'node' : 'client', `${parent === NODES_DIR ? 'node' : 'client'}/${d}`);
    }
  }

  // Orphans the plan sees that no row shows yet (e.g. a .pk8 the spec no longer asks for).
  const orphanShown = new PathIndex();
  for (const w of orphans) orphanShown.add(w.row.file);
  for (const c of thePlan.changes) {
    if (c.action !== 'orphan') continue;
    for (const f of c.files) {
      if (orphanShown.covers(f)) continue;
      const [parent, dir] = f.split('/');
      const owned = f.split('/').length > 2 && (parent === NODES_DIR || parent === CLIENTS_DIR);
      const kind = owned ? (parent === NODES_DIR ? 'node' : 'client') : 'none';
      orphans.push(orphanWork({ row: emptyRow({ file: f, problem: 'junk', error: `${f} is not in the spec` }), folder: f.split('/').slice(0, -1).join('/'), leaf: false, activeCA: false }, owned ? (dir ?? '') : '(none)', kind, f));
      orphanShown.add(f);
    }
  }
  orphans.sort((a, b) => (a.row.file < b.row.file ? -1 : a.row.file > b.row.file ? 1 : 0));
  works.push(...orphans);

  // --- issuers, the plan's verdicts, statuses, the forecast ----------------------------------------
  const trusted = bundle.filter((w) => w.cert);
  /** Each folder's own CA certificates, in row order. */
  const folderCAs = new Map<string, Work[]>();
  for (const w of works) {
    if (!(w.cert && w.row.usage !== '' && isCAUsage(w.row.usage))) continue;
    const list = folderCAs.get(w.folder);
    if (list) list.push(w);
    else folderCAs.set(w.folder, [w]);
  }
  matchIssuers(works, (folder) => (folder === '' ? trusted : [...(folderCAs.get(folder) ?? []), ...trusted]));
  // Which rows each change concerns: by file (and every folder above a file), by artifact.
  const rowsByPath = new PathIndex();
  const leavesByArtifact = new Map<string, Work[]>();
  works.forEach((w, i) => {
    rowsByPath.add(w.row.file, i);
    if (w.leaf && !w.row.orphan) {
      const list = leavesByArtifact.get(w.row.artifact);
      if (list) list.push(w);
      else leavesByArtifact.set(w.row.artifact, [w]);
    }
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
    else targets = leavesByArtifact.get(c.artifact) ?? [];
    for (const w of targets) {
      w.row.pending = w.row.pending ? `${w.row.pending}; ${text}` : text;
      if (c.action === 'create' || c.action === 'reissue') w.replaceNow = true;
    }
  }
  for (const w of works) {
    if (w.leaf && w.renewBeforeNs !== undefined) {
      w.row.renewBefore = formatDuration(w.renewBeforeNs);
      if (w.row.expires) w.row.renewalStarts = iso(new Date(Date.parse(w.row.expires) - durationToMs(w.renewBeforeNs)));
    }
    setStatus(w.row, nowMs);
  }
  const rotations: CaRotation[] = [];
  if (activeCA && activeCA.cert && activeCA.row.expires) {
    const leaves = works.filter((w) => w.leaf && !w.row.orphan);
    const maxRenewBefore = [...spec.nodes, ...spec.clients].reduce((m, l) => (l.renewBefore > m ? l.renewBefore : m), 0n) || DEFAULT_RENEW_BEFORE_NS;
    const rot = rotationFor(activeCA, leaves, nowMs, maxRenewBefore);
    rotations.push(rot);
    activeCA.row.renewalStarts = rot.windowOpens;
    activeCA.row.renewBefore = formatMs(Date.parse(activeCA.row.expires) - Date.parse(rot.windowOpens));
    setStatus(activeCA.row, nowMs);
  }
  const forecastWorks = works.filter((w) => !w.row.orphan && ((w.leaf && w.row.artifact !== '') || w === activeCA || (w.row.artifact === 'ca' && w.row.problem === 'missing')));
  const renewals = forecastWorks.map((w) => renewalEntry(w, nowMs)).sort(byRenewal);
  const rows = works.map((w) => w.row);
  warnings.push(...thePlan.warnings);
  return {
    version: REPORT_VERSION,
    now: iso(now),
    source: { kind: 'spec', specFile: opts.specFileLabel ?? spec.file, certsDir: opts.certsDirLabel ?? spec.certsDir },
    summary: summarize(rows),
    rows,
    forecast: { renewals, caRotations: rotations },
    plan: {
      pendingChanges: thePlan.changes.filter((c) => c.action !== 'keep' && (c.action !== 'orphan' || thePlan.prune)).length,
      changes: thePlan.changes.filter((c) => c.action !== 'keep'),
      errors: thePlan.errors,
      warnings: thePlan.warnings,
    },
    warnings,
  };
}

/** Whether the certs dir can be read, and the row's words when it cannot. */
function rootStateOf(tree: ActualTree, label: string): { state: 'ok' | 'missing' | 'error'; error: string } {
  const root = tree.root;
  if (!root || root.type === 'dir') return { state: 'ok', error: '' };
  if (root.type === 'missing') return { state: 'missing', error: `cannot read the certs dir ${label}: no such file or directory` };
  if (root.type === 'error') return { state: 'error', error: `cannot read the certs dir ${label}: ${root.error ?? 'cannot be read'}` };
  return { state: 'error', error: `the certs dir ${label} is not a folder` };
}

/** Why the CA key cannot sign with the bundle's first certificate, if it cannot. */
function caKeyProblem(caKey: FileFact, cert: CertFacts, caKeyRel: string): { problem: ReportProblem; error: string } | undefined {
  if (caKey.type === 'missing' || (caKey.type === 'symlink' && caKey.code === undefined) || caKey.code === 'ENOENT') {
    return { problem: 'key-missing', error: `the CA key ${caKeyRel} does not exist: certgen cannot sign anything until it is restored` };
  }
  try {
    if (keyMatchesCert(keyOf(caKey), cert)) return undefined;
  } catch (err) {
    return { problem: 'key-unreadable', error: `the CA key ${caKeyRel} cannot be used: ${(err as Error).message}` };
  }
  return { problem: 'key-mismatch', error: `the CA key ${caKeyRel} does not match the first certificate in ${CA_CERT}` };
}
