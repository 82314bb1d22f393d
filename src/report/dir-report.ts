// `certgen report --certs-dir DIR`: a CockroachDB certs folder without a spec, as `cert list` sees
// it, folder by folder (recursively with --recursive), with issuers, statuses and the forecast.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isCAUsage } from '../core/cert-names.js';
import { durationToMs, formatDuration, formatMs } from '../core/duration.js';
import { DEFAULT_RENEW_BEFORE_NS } from '../cluster-spec/spec.js';
import { errnoText } from '../io/files.js';
import { bareOwner, emptyRow, join, scanContext, scanFolder, type FolderScan, type Work } from './scan.js';
import { matchIssuers, setStatus, summarize } from './status.js';
import { byRenewal, certLifetimeMs, renewalEntry, rotationFor } from './forecast.js';
import { push } from './path-index.js';
import { iso, resolveNow } from './time.js';
import { REPORT_VERSION, type CaRotation, type Report, type ReportOptions } from './types.js';

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
