// The report's clock and how it writes times and spans.
import type { ReportOptions } from './types.js';

export const DAY_MS = 24 * 3600 * 1000;

/** RFC 3339 UTC to the second, as certificate times are. */
export function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function resolveNow(now: ReportOptions['now']): Date {
  if (now === undefined) return new Date();
  return typeof now === 'function' ? now() : now;
}
