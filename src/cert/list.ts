// `cert list`: the rows cockroach's runListCerts shows for a certs directory.
import { checkCertificateManager, scanCertsDir, type CertInfo } from './certs-dir.js';
import { skipKeyPermissionCheckFrom } from '../core/go-bool.js';
import type { PublicKeyFacts } from '../pki/read/types.js';
import { keyFactsText } from '../core/key-type.js';
import type { PemUsage } from '../core/cert-names.js';
import { wrapError } from '../errors.js';

export const LIST_COLUMNS = ['Usage', 'Certificate File', 'Key File', 'Expires', 'Notes', 'Error'] as const;

export interface CertListRow {
  usage: PemUsage;
  certificateFile: string;
  keyFile: string;
  /** `YYYY/MM/DD` in UTC; `0001/01/01` (Go's zero time) on rows with an error. */
  expires: string;
  notes: string;
  error: string;
  /** The parsed certificate file behind the row (for reports that need more than the columns). */
  info: CertInfo;
}

export interface CertListing {
  certsDir: string;
  rows: CertListRow[];
  /** Files skipped because their names are not CockroachDB certificate names. */
  warnings: string[];
}

/**
 * cockroach's row order, with the tenant files it loads but never lists (certgen lists them): the
 * tenant client CA after the client CA, tenant client and signing certificates after the clients.
 */
const ROW_ORDER: PemUsage[] = ['CA', 'Client CA', 'Tenant Client CA', 'UI CA', 'Node', 'UI', 'Client', 'Tenant Client', 'Tenant Signing'];

function formatDate(d: Date | undefined): string {
  if (d === undefined) return '0001/01/01';
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}`;
}


/** What the Notes column says about a certificate: its SANs and CN. */
export interface NotesFacts {
  dns: string[];
  ips: string[];
  cn: string | undefined;
}

/**
 * The Notes column cockroach's `cert list` shows for a file of `usage` holding `numCerts`
 * certificates; `first` reads the first certificate's facts, only when the note needs them.
 */
export function formatNotes(usage: PemUsage, ok: boolean, numCerts: number, first: () => NotesFacts | undefined): string {
  switch (usage) {
    case 'CA':
    case 'Client CA':
    case 'Tenant Client CA':
    case 'UI CA':
      return ok ? `num certs: ${numCerts}` : '';
    case 'Node':
    case 'UI': {
      const f = ok ? first() : undefined;
      return ok ? `addresses: ${f ? [...f.dns, ...f.ips].join(',') : ''}` : 'addresses: <unknown>';
    }
    case 'Client':
      return ok ? `user: ${first()?.cn ?? ''}` : 'user: <unknown>';
    // certgen's rows (cockroach lists no tenant files), in the same style: the tenant id from the
    // CN (`10`, `Tenant 10 Token Signing Certificate`), and a tenant client's addresses.
    case 'Tenant Client': {
      const f = ok ? first() : undefined;
      return ok ? `tenant: ${f?.cn ?? ''}; addresses: ${f ? [...f.dns, ...f.ips].join(',') : ''}` : 'tenant: <unknown>; addresses: <unknown>';
    }
    case 'Tenant Signing': {
      const cn = ok ? (first()?.cn ?? '') : undefined;
      return cn === undefined ? 'tenant: <unknown>' : `tenant: ${/^Tenant (\d+) Token Signing Certificate$/.exec(cn)?.[1] ?? cn}`;
    }
    default:
      return '';
  }
}

/**
 * certgen's addition to a row's Notes: `; key: ECDSA P-256` or `; key: Ed25519` for any key but
 * RSA. RSA rows get none, so a tree `cockroach cert` made lists exactly as cockroach lists it (its
 * only other key, the Ed25519 tenant signing key, is on a row cockroach does not list);
 * `report` names every key in its Key column.
 */
export function keyNote(key: PublicKeyFacts): string {
  return key.type === 'rsa' ? '' : `; key: ${keyFactsText(key)}`;
}

/** The Notes column cockroach's `cert list` shows for a certificate file, and keyNote for the first certificate. */
export function certNotes(info: CertInfo): string {
  const cert = info.certs[0];
  const notes = formatNotes(info.usage, info.error === undefined, info.certs.length, () => {
    if (!cert) return undefined;
    return { dns: cert.san.dns, ips: cert.san.ips, cn: cert.subject.cn };
  });
  return info.error !== undefined || !cert ? notes : notes + keyNote(cert.publicKey);
}

export interface ListOptions {
  certsDir: string;
  /** COCKROACH_SKIP_KEY_PERMISSION_CHECK; defaults to the environment variable. */
  skipKeyPermissionCheck?: boolean;
}

/**
 * `cert list`: one row per certificate, CA first, then client CA, tenant client CA, UI CA, node, UI,
 * and the client, tenant client and tenant signing certs, each kind sorted by file name (upstream's
 * client order is random, and it lists no tenant files).
 */
export async function listCerts(opts: ListOptions): Promise<CertListing> {
  try {
    const scan = await scanCertsDir(opts.certsDir, {
      skipKeyPermissionCheck: opts.skipKeyPermissionCheck ?? skipKeyPermissionCheckFrom(process.env),
    });
    checkCertificateManager(scan);
    const rows = scan.certs
      .filter((c) => ROW_ORDER.includes(c.usage))
      .sort((a, b) => ROW_ORDER.indexOf(a.usage) - ROW_ORDER.indexOf(b.usage) || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0))
      .map((info) => ({
        usage: info.usage,
        certificateFile: info.filename,
        keyFile: info.error === undefined ? info.keyFilename : '',
        expires: formatDate(info.error === undefined ? info.expires : undefined),
        notes: certNotes(info),
        error: info.error ?? '',
        info,
      }));
    return { certsDir: opts.certsDir, rows, warnings: scan.warnings };
  } catch (err) {
    throw wrapError('cannot load certificates', err);
  }
}

/** The six columns as strings, in cockroach's order. */
export function listingCells(row: CertListRow): string[] {
  return [row.usage, row.certificateFile, row.keyFile, row.expires, row.notes, row.error];
}
