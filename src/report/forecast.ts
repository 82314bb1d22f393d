// The renewal forecast: when each artifact is next replaced, and by when each CA must be rotated
// so that it can still sign every renewal of its leaves.
import { VALID_FROM_MS } from '../pki/validity.js';
import { durationToMs, formatMs } from '../core/duration.js';
import type { Work } from './scan.js';
import { DAY_MS, iso } from './time.js';
import type { CaRotation, RenewalForecast, ReportRow } from './types.js';

/** A leaf the CA will have to renew: when first, how long each issue lasts, how early it renews. */
export interface LeafRenewal {
  artifact: string;
  file: string;
  /** Next renewal (ms since epoch): max(now, expiry − renewBefore), or now when it must be replaced anyway. */
  firstRenewalMs: number;
  lifetimeMs: number;
  renewBeforeMs: number;
}

/**
 * The CA rotation deadline. The formula:
 *
 *   A CA can sign a certificate only if it outlives it (cockroach's checkLifetimeAgainstCA, and
 *   certgen's plan error ca-lifetime-too-short): a leaf issued at t with lifetime L needs the CA
 *   valid until t + L. Each leaf i is renewed when it enters its renewal window, r_i(0) =
 *   max(now, notAfter_i − renewBefore_i) (now if it must be replaced anyway), and after that every
 *   L_i − renewBefore_i: r_i(k) = r_i(0) + k·(L_i − renewBefore_i). The first renewal the current
 *   CA cannot sign is r_i(k_i) with k_i the smallest k such that r_i(k) + L_i > caNotAfter.
 *
 *   rotateBy = min_i r_i(k_i)        (caNotAfter when the CA has no leaves)
 *
 *   From rotateBy on, renewals must be signed by a new CA, so the new CA must already be in every
 *   ca.crt (prepended, old CA kept) on every node and client by then. Starting the rotation by
 *   rotateBy makes the new CA overlap every leaf it must replace: each old-CA leaf was issued to
 *   end by caNotAfter and is renewed, by the new CA, at latest renewBefore_i before its own end,
 *   so every old leaf is replaced while the old CA is still valid and trusted.
 *
 * The CA's own renewal window opens `lead` (the longest renewBefore among its leaves) before
 * rotateBy, the same warning a leaf gets before its expiry.
 */
export function rotationDeadline(caNotAfterMs: number, leaves: LeafRenewal[]): { rotateByMs: number; binding: LeafRenewal | null; bindingNeedsMs: number } {
  let best = caNotAfterMs;
  let binding: LeafRenewal | null = null;
  let bindingNeeds = caNotAfterMs;
  for (const l of leaves) {
    const step = l.lifetimeMs - l.renewBeforeMs;
    let at: number;
    if (l.firstRenewalMs + l.lifetimeMs > caNotAfterMs || step <= 0) at = l.firstRenewalMs;
    else at = l.firstRenewalMs + (Math.floor((caNotAfterMs - l.lifetimeMs - l.firstRenewalMs) / step) + 1) * step;
    if (at < best || (binding === null && at <= best)) {
      best = at;
      binding = l;
      bindingNeeds = at + l.lifetimeMs;
    }
  }
  return { rotateByMs: best, binding, bindingNeedsMs: bindingNeeds };
}

export function rotationFor(ca: Work, leaves: Work[], nowMs: number, defaultLeadNs: bigint): CaRotation {
  const caNotAfter = Date.parse(ca.row.expires ?? '');
  const renewals: LeafRenewal[] = leaves.map((w) => {
    const lifetimeMs = w.lifetimeMs ?? DAY_MS;
    const renewBeforeMs = durationToMs(w.renewBeforeNs ?? defaultLeadNs);
    const due = w.row.expires === null ? nowMs : Date.parse(w.row.expires) - renewBeforeMs;
    const firstRenewalMs = w.replaceNow || w.row.status === 'error' || w.row.status === 'expired' ? nowMs : Math.max(nowMs, due);
    return { artifact: w.row.artifact || w.row.owner, file: w.row.file, firstRenewalMs, lifetimeMs, renewBeforeMs };
  });
  const { rotateByMs, binding, bindingNeedsMs } = rotationDeadline(caNotAfter, renewals);
  const leadMs = renewals.length > 0 ? Math.max(...renewals.map((r) => r.renewBeforeMs)) : durationToMs(defaultLeadNs);
  const rotateBy = iso(new Date(rotateByMs));
  const overdue = rotateByMs <= nowMs;
  const where = ca.row.file;
  let explanation: string;
  if (binding) {
    explanation =
      `The CA in ${where} expires ${ca.row.expires}. A CA can only sign certificates that end before it does: ` +
      `${binding.artifact} (${binding.file}) renews on ${rotateBy} for ${formatMs(binding.lifetimeMs)} and would need a CA valid until ${iso(new Date(bindingNeedsMs))}` +
      `, the earliest renewal of its ${renewals.length} lea${renewals.length === 1 ? 'f' : 'ves'} the current CA cannot sign. ` +
      `So a new CA must be created and prepended to ca.crt on every node and client by ${rotateBy}` +
      ` (renewal window from ${iso(new Date(rotateByMs - leadMs))}, ${formatMs(leadMs)} ahead, the longest renewBefore). ` +
      `Formula: rotate by min over leaves of the first renewal r = max(now, expiry - renewBefore) + k*(lifetime - renewBefore) with r + lifetime > CA expiry; ` +
      `every leaf of the old CA is then replaced by the new one while the old CA is still valid.`;
  } else {
    explanation = `The CA in ${where} expires ${ca.row.expires} and signs no leaf here: rotate it before it expires (renewal window from ${iso(new Date(rotateByMs - leadMs))}).`;
  }
  if (overdue) explanation = `OVERDUE: ${explanation}`;
  return {
    owner: ca.row.owner,
    file: ca.row.file,
    fingerprint: ca.row.fingerprint,
    expires: ca.row.expires ?? '',
    leaves: renewals.length,
    rotateBy,
    daysUntil: Math.floor((rotateByMs - nowMs) / DAY_MS),
    windowOpens: iso(new Date(rotateByMs - leadMs)),
    lead: formatMs(leadMs),
    overdue,
    binding: binding ? { artifact: binding.artifact, file: binding.file, renewsAt: rotateBy, lifetime: formatMs(binding.lifetimeMs), needsCaUntil: iso(new Date(bindingNeedsMs)) } : null,
    explanation,
  };
}

/** The lifetime a certificate was issued for: cockroach backdates NotBefore by a day (validFrom), so validity = lifetime + 24h. */
export function certLifetimeMs(row: ReportRow): number {
  if (row.expires === null || row.notBefore === null) return DAY_MS;
  const v = Date.parse(row.expires) - Date.parse(row.notBefore);
  return v > VALID_FROM_MS ? v - VALID_FROM_MS : v;
}

export function renewalEntry(w: Work, nowMs: number): RenewalForecast {
  const opens = w.row.renewalStarts !== null ? Date.parse(w.row.renewalStarts) : null;
  const now = w.replaceNow || w.row.status === 'error' || w.row.status === 'expired' || opens === null || opens <= nowMs;
  const when = now ? nowMs : (opens ?? nowMs);
  let why = 'renewal window';
  if (w.row.pending) why = w.row.pending;
  else if (w.row.status === 'error') why = w.row.problem ?? 'error';
  else if (w.row.status === 'expired') why = 'expired';
  else if (opens !== null && opens <= nowMs) why = 'in its renewal window';
  return {
    artifact: w.row.artifact,
    owner: w.row.owner,
    file: w.row.file,
    expires: w.row.expires,
    renewBefore: w.row.renewBefore,
    windowOpens: w.row.renewalStarts,
    renewsAt: iso(new Date(when)),
    daysUntil: Math.floor((when - nowMs) / DAY_MS),
    status: w.row.status,
    why,
  };
}

/** Soonest first; ties keep the report's row order (the sort is stable). */
export function byRenewal(a: RenewalForecast, b: RenewalForecast): number {
  return a.renewsAt < b.renewsAt ? -1 : a.renewsAt > b.renewsAt ? 1 : 0;
}
