// Turning certs folders into report rows: each `.crt` file as `cert list` (scanCertsDir) reads it,
// one row per certificate (every certificate of a CA bundle), checked against its key; then the
// `.crt` files cockroach skips for their names and every file nobody claims, each an error row.
import path from 'node:path';
import { keyMatchesCert } from '../pki/read/key.js';
import { readKeyFile, readPkcs8File } from '../pki/read/file.js';
import { createLimit, scanCertsDir, SCAN_CONCURRENCY, type CertInfo, type Limit } from '../cert/certs-dir.js';
import { diskSource, type DirEntry, type FileSource } from '../io/file-source.js';
import { CERT_EXTENSION, KEY_EXTENSION, isCAUsage, keyFileFor, parseCertFileName, type PemUsage } from '../core/cert-names.js';
import { formatNotes } from '../cert/list.js';
import { AGE_INDEX, GITIGNORE, LOCK_FILE } from '../tree/layout.js';
import { errnoText } from '../io/files.js';
import { iso } from './time.js';
import type { ReportProblem, ReportRow } from './types.js';
import { columnsOf, notesFacts, type ReportCert } from './cert-read.js';

/** A row under construction, with the parsed certificate kept for issuer matching. */
export interface Work {
  row: ReportRow;
  folder: string;
  /** Set when the certificate could be read (node:crypto parses it). */
  cert?: ReportCert;
  leaf: boolean;
  /** First certificate of a CA file: the one that signs. */
  activeCA: boolean;
  /** Lifetime in ms of the next issue of this leaf (spec value, else the certificate's own). */
  lifetimeMs?: number;
  renewBeforeNs?: bigint;
  /** When it has to be replaced regardless of expiry (missing, broken, plan says reissue). */
  replaceNow?: boolean;
}

export interface FolderScan {
  works: Work[];
  subdirs: string[];
  /** The bytes of each certificate file read, by file name (as scanCertsDir read them). */
  contents?: Map<string, Buffer>;
  error?: string;
}

const USAGE_ORDER: PemUsage[] = ['CA', 'Client CA', 'Tenant Client CA', 'UI CA', 'Node', 'UI', 'Client', 'Tenant Client', 'Tenant Signing'];

export function emptyRow(partial: Partial<ReportRow> & Pick<ReportRow, 'file'>): ReportRow {
  const row: ReportRow = {
    artifact: '',
    owner: '(none)',
    ownerKind: 'none',
    usage: '',
    file: partial.file,
    position: 1,
    certsInFile: 0,
    keyFile: '',
    subject: '',
    notBefore: null,
    expires: null,
    daysLeft: null,
    renewBefore: null,
    renewalStarts: null,
    status: 'error',
    notes: '',
    serial: '',
    fingerprint: '',
    keyAlgorithm: '',
    keySize: null,
    key: '',
    issuerFingerprint: '',
    pending: '',
    orphan: false,
    problem: null,
    error: '',
  };
  // Assigned, not spread into the literal: keys keep the order above (and in the JSON).
  return Object.assign(row, partial);
}

export const join = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

/** Fills the certificate columns of a row. */
function certColumns(row: ReportRow, cert: ReportCert): boolean {
  const c = columnsOf(cert);
  if (!c) return false;
  row.subject = c.subject;
  row.notBefore = iso(c.notBefore);
  row.expires = iso(c.notAfter);
  row.serial = c.serial;
  row.fingerprint = c.fingerprint;
  Object.assign(row, c.key);
  return true;
}

/**
 * The Notes column, as `cert list` shows it. A plain first certificate gives its SANs and CN
 * straight from the DER read; any other goes through certNotes with @peculiar/x509's reading.
 */
function notesOf(info: CertInfo<ReportCert>): string {
  const first = info.certs[0];
  return formatNotes(info.usage, info.error === undefined, info.certs.length, () => (first === undefined ? undefined : notesFacts(first)));
}

export interface ScanContext {
  root: string;
  skipKeyPermissionCheck: boolean;
  /** Turns an absolute path inside the root into its relative form in messages. */
  rel: (msg: string) => string;
  /** Bounds the file-system operations in flight across every folder scanned at once. */
  limit?: Limit;
  /** Certificate files read so far, by contents (shared by the scanCertsDir calls of one report). */
  certCache?: Map<string, ReportCert[]>;
  /** Where the files come from: the disk, or a tree already read (src/tree/tree-source.ts). */
  source: FileSource;
}

/** A context for one report: one bound on file-system operations and one parse per distinct certificate. */
export function scanContext(root: string, skipKeyPermissionCheck: boolean, source: FileSource = diskSource): ScanContext {
  return { root, skipKeyPermissionCheck, rel: makeRel(root), limit: createLimit(SCAN_CONCURRENCY), certCache: new Map(), source };
}

export function makeRel(root: string): (msg: string) => string {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return (msg) => msg.split(prefix).join('');
}

/** Why a key file cannot serve its certificate, with the row's problem code. */
interface KeyProblem {
  problem: 'key-mismatch' | 'key-unreadable';
  text: string;
}

async function keyMatches(ctx: ScanContext, limit: Limit, abs: string, cert: ReportCert): Promise<KeyProblem | undefined> {
  let matches: boolean;
  try {
    matches = keyMatchesCert(readKeyFile(await limit(() => ctx.source.readFile(abs))), cert);
  } catch (err) {
    return { problem: 'key-unreadable', text: `cannot be used as a private key (${errnoText(err)})` };
  }
  return matches ? undefined : { problem: 'key-mismatch', text: 'does not match the certificate' };
}

async function pkcs8Matches(ctx: ScanContext, limit: Limit, abs: string, cert: ReportCert): Promise<KeyProblem | undefined> {
  try {
    const der = await limit(() => ctx.source.readFile(abs));
    return keyMatchesCert(readPkcs8File(der), cert) ? undefined : { problem: 'key-mismatch', text: 'does not hold the key of the certificate' };
  } catch (err) {
    return { problem: 'key-unreadable', text: `is not a DER PKCS#8 private key (${errnoText(err)})` };
  }
}

/**
 * One folder as a CockroachDB certs dir: a row per certificate in every `.crt` file (CA files: one
 * per certificate in the bundle), a row per `.crt` with a name cockroach rejects, and a row per
 * file that is neither a certificate nor the key of one. Sub-folders are returned, not entered.
 */
export async function scanFolder(ctx: ScanContext, folder: string): Promise<FolderScan> {
  const abs = folder === '' ? ctx.root : path.join(ctx.root, ...folder.split('/'));
  const limit = ctx.limit ?? createLimit(SCAN_CONCURRENCY);
  let entries: DirEntry[];
  try {
    entries = await limit(() => ctx.source.readdir(abs));
  } catch (err) {
    return { works: [], subdirs: [], error: `cannot read folder ${folder === '' ? '.' : folder}: ${errnoText(err)}` };
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Kubernetes secret volumes keep their real files in `..<timestamp>/` behind a `..data` link
  // and link each file to it: the links are the certs dir, the `..` entries are plumbing.
  const shown = entries.filter((e) => !e.name.startsWith('..'));
  // Links to folders are not followed: one stat per link, all at once.
  const linkedDirs = new Set(
    (
      await Promise.all(
        shown
          .filter((e) => !e.isDirectory() && e.isSymbolicLink())
          .map(async (e) => ((await limit(() => ctx.source.stat(path.join(abs, e.name))).then((st) => st.isDirectory(), () => false)) ? e.name : '')),
      )
    ).filter((n) => n !== ''),
  );
  const files: string[] = [];
  const subdirs: string[] = [];
  for (const e of shown) {
    if (e.isDirectory()) subdirs.push(e.name);
    else if (!linkedDirs.has(e.name)) files.push(e.name);
  }
  const fileSet = new Set(files);

  let scan;
  try {
    scan = await scanCertsDir(abs, { skipKeyPermissionCheck: ctx.skipKeyPermissionCheck, entries, limit, source: ctx.source, ...(ctx.certCache ? { certCache: ctx.certCache } : {}) });
  } catch (err) {
    return { works: [], subdirs, error: ctx.rel(`cannot read folder ${folder === '' ? '.' : folder}: ${(err as Error).message}`) };
  }
  const unreadable = new Map<string, string>();
  for (const info of scan.certs) if (info.readError !== undefined) unreadable.set(info.filename, info.readError);
  const contents = new Map<string, Buffer>();
  for (const info of scan.certs) if (!unreadable.has(info.filename)) contents.set(info.filename, info.contents);

  // apply's lock, the .gitignore and age index it keeps, and a key's .age copy are no
  // certificates, and no junk either.
  const claimed = new Set<string>([LOCK_FILE, GITIGNORE, AGE_INDEX]);
  const infos = [...scan.certs].sort((a, b) => USAGE_ORDER.indexOf(a.usage) - USAGE_ORDER.indexOf(b.usage) || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  for (const info of infos) {
    claimed.add(info.filename);
    if (!isCAUsage(info.usage)) {
      const keyName = keyFileFor(info.filename);
      claimed.add(keyName);
      claimed.add(`${keyName}.age`);
      if (info.usage === 'Client') claimed.add(`${keyName}.pk8`);
    }
  }
  /** The rows of one certificate file; its key checks run alongside those of the other files. */
  const rowsOf = async (info: CertInfo<ReportCert>): Promise<Work[]> => {
    const ca = isCAUsage(info.usage);
    const keyName = ca ? '' : keyFileFor(info.filename);
    const base = {
      file: join(folder, info.filename),
      usage: info.usage,
      keyFile: ca || info.error !== undefined ? '' : join(folder, keyName),
      certsInFile: info.certs.length,
      notes: notesOf(info),
    };
    let error = info.error === undefined ? '' : ctx.rel(info.error);
    let problem: ReportProblem | null = info.error === undefined ? null : (info.errorCode ?? 'corrupt');
    const readFailure = unreadable.get(info.filename);
    if (readFailure !== undefined) {
      error = `could not read certificate file ${base.file}: ${readFailure}`;
      problem = 'unreadable';
    }
    if (info.certs.length === 0) return [{ row: emptyRow({ ...base, problem, error }), folder, leaf: !ca, activeCA: false }];
    const out: Work[] = [];
    const certs = ca ? info.certs : info.certs.slice(0, 1);
    for (const [i, cert] of certs.entries()) {
      const row = emptyRow({ ...base, position: i + 1, problem, error });
      if (i > 0) row.notes = `cert ${i + 1} of ${info.certs.length} in the bundle`;
      const node = certColumns(row, cert) ? cert : undefined;
      if (!node && !row.error) {
        row.problem = 'corrupt';
        row.error = `certificate ${i} in ${base.file} cannot be parsed`;
      }
      // The key cockroach found must also be the certificate's own.
      if (node && !ca && info.error === undefined && info.keyFilename) {
        const bad = await keyMatches(ctx, limit, path.join(abs, info.keyFilename), node);
        if (bad) {
          row.problem = bad.problem;
          row.error = `key file ${join(folder, info.keyFilename)} ${bad.text}`;
        } else if (info.usage === 'Client' && fileSet.has(`${info.keyFilename}.pk8`)) {
          const badPk8 = await pkcs8Matches(ctx, limit, path.join(abs, `${info.keyFilename}.pk8`), node);
          if (badPk8) {
            row.problem = badPk8.problem;
            row.error = `${join(folder, `${info.keyFilename}.pk8`)} ${badPk8.text}`;
          }
        }
      }
      out.push({ row, folder, cert: node, leaf: !ca, activeCA: ca && i === 0 });
    }
    return out;
  };
  const works: Work[] = (await Promise.all(infos.map(rowsOf))).flat();
  // Then .crt files cockroach skips for their names, then everything else nobody claimed.
  const unclaimed = files.filter((n) => !claimed.has(n));
  for (const name of unclaimed.filter((n) => n.endsWith(CERT_EXTENSION))) {
    const file = join(folder, name);
    const parsed = parseCertFileName(name);
    const why = 'error' in parsed ? parsed.error : 'not a certificate file';
    works.push({ row: emptyRow({ file, problem: 'bad-filename', error: `bad filename ${file}: ${why} (cockroach ignores this file)` }), folder, leaf: false, activeCA: false });
  }
  for (const name of unclaimed.filter((n) => !n.endsWith(CERT_EXTENSION))) {
    const file = join(folder, name);
    let error: string;
    if (name === 'ca.key' || /^ca-.*\.key$/.test(name)) error = `${file} looks like a CA private key: keep CA keys out of certs folders, which are copied to nodes and clients`;
    else if (name.endsWith(KEY_EXTENSION) || name.endsWith(`${KEY_EXTENSION}.pk8`)) error = `${file} is a key file without its certificate`;
    else error = `${file} is not a certificate or a key CockroachDB uses`;
    works.push({ row: emptyRow({ file, problem: 'junk', error }), folder, leaf: false, activeCA: false });
  }
  return { works, subdirs, contents };
}

/** Certs-dir mode: who a row belongs to, from its usage, its file name and its folder. */
export function bareOwner(w: Work): void {
  const r = w.row;
  const folderName = w.folder === '' ? '' : (w.folder.split('/').pop() ?? '');
  switch (r.usage) {
    case 'CA':
      Object.assign(r, { owner: 'CA', ownerKind: 'ca' });
      break;
    case 'Client CA':
      Object.assign(r, { owner: 'client CA', ownerKind: 'ca' });
      break;
    case 'UI CA':
      Object.assign(r, { owner: 'UI CA', ownerKind: 'ca' });
      break;
    case 'Tenant Client CA':
      Object.assign(r, { owner: 'tenant client CA', ownerKind: 'ca' });
      break;
    case 'Node':
      Object.assign(r, { owner: folderName || 'node', ownerKind: 'node' });
      break;
    case 'UI':
      Object.assign(r, { owner: folderName || 'ui', ownerKind: 'node' });
      break;
    case 'Client': {
      const user = /^client\.(.*)\.crt$/.exec(r.file.split('/').pop() ?? '')?.[1] ?? '';
      Object.assign(r, { owner: user || '(none)', ownerKind: 'client' });
      break;
    }
    case 'Tenant Client':
    case 'Tenant Signing': {
      const id = /^[^.]*\.(.*)\.crt$/.exec(r.file.split('/').pop() ?? '')?.[1] ?? '';
      Object.assign(r, { owner: `tenant ${id}`, ownerKind: 'tenant' });
      break;
    }
    default:
      Object.assign(r, { owner: folderName || '(none)', ownerKind: 'none' });
  }
}


/** The sub-folders and the other entries of a folder of the tree; a missing folder is empty. */
export async function listFolder(root: string, rel: string, source: FileSource = diskSource): Promise<{ names: string[]; files: string[]; error?: string }> {
  try {
    const entries = await source.readdir(path.join(root, rel));
    const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const files = entries.filter((e) => !e.isDirectory()).map((e) => e.name).sort();
    return { names, files };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { names: [], files: [] };
    return { names: [], files: [], error: `cannot read folder ${rel}: ${errnoText(err)}` };
  }
}
