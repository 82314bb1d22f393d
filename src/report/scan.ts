// Turning certs folders into report rows: each `.crt` file as `cert list` (scanCertsDir) reads it,
// one row per certificate (every certificate of a CA bundle), checked against its key; then the
// `.crt` files cockroach skips for their names and every file nobody claims, each an error row.
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { X509Certificate as NodeX509, createPrivateKey, type KeyObject } from 'node:crypto';
import { x509 } from '../pki/x509.js';
import { describeKey, findPrivateKeyInPem, publicKeyDer } from '../pki/keys.js';
import { scanCertsDir } from '../cert/certs-dir.js';
import { CERT_EXTENSION, KEY_EXTENSION, isCAUsage, keyFileFor, parseCertFileName, type PemUsage } from '../core/cert-names.js';
import { certNotes } from '../cert/list.js';
import { LOCK_FILE } from '../tree/layout.js';
import { errnoText } from '../io/files.js';
import { iso } from './time.js';
import type { ReportProblem, ReportRow } from './types.js';

/** A row under construction, with the parsed certificate kept for issuer matching. */
export interface Work {
  row: ReportRow;
  folder: string;
  cert?: NodeX509;
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

function describeCertKey(cert: NodeX509): { keyAlgorithm: string; keySize: number | null; key: string } {
  const d = describeKey(cert.publicKey);
  const size = d.bits ?? (d.curve ? Number(/\d+/.exec(d.curve)?.[0] ?? Number.NaN) : Number.NaN);
  const key = [d.algorithm, d.bits !== undefined ? String(d.bits) : d.curve].filter((s) => s).join(' ');
  return { keyAlgorithm: d.algorithm, keySize: Number.isFinite(size) ? size : null, key };
}

/** Fills the certificate columns of a row. */
function certColumns(row: ReportRow, cert: x509.X509Certificate): NodeX509 | undefined {
  let node: NodeX509;
  try {
    node = new NodeX509(Buffer.from(cert.rawData));
  } catch {
    return undefined;
  }
  row.subject = cert.subject;
  row.notBefore = iso(cert.notBefore);
  row.expires = iso(cert.notAfter);
  row.serial = node.serialNumber.toUpperCase();
  row.fingerprint = node.fingerprint256;
  Object.assign(row, describeCertKey(node));
  return node;
}

function problemOf(message: string): ReportProblem {
  if (/^could not stat key file .*no such file or directory$/.test(message)) return 'key-missing';
  if (/^key file .* has permissions /.test(message)) return 'key-permissions';
  if (/^could not (stat|read) key file /.test(message) || /^key file .* is not a regular file$/.test(message)) return 'key-unreadable';
  return 'corrupt';
}

export interface ScanContext {
  root: string;
  skipKeyPermissionCheck: boolean;
  /** Turns an absolute path inside the root into its relative form in messages. */
  rel: (msg: string) => string;
}

export function makeRel(root: string): (msg: string) => string {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return (msg) => msg.split(prefix).join('');
}

async function keyMatches(abs: string, cert: NodeX509): Promise<string | undefined> {
  let key: KeyObject;
  try {
    key = findPrivateKeyInPem(await fs.readFile(abs, 'latin1'));
  } catch (err) {
    return `cannot be used as a private key (${errnoText(err)})`;
  }
  return publicKeyDer(key).equals(publicKeyDer(cert.publicKey)) ? undefined : 'does not match the certificate';
}

async function pkcs8Matches(abs: string, cert: NodeX509): Promise<string | undefined> {
  try {
    const key = createPrivateKey({ key: await fs.readFile(abs), format: 'der', type: 'pkcs8' });
    return publicKeyDer(key).equals(publicKeyDer(cert.publicKey)) ? undefined : 'does not hold the key of the certificate';
  } catch (err) {
    return `is not a DER PKCS#8 private key (${errnoText(err)})`;
  }
}

/**
 * One folder as a CockroachDB certs dir: a row per certificate in every `.crt` file (CA files: one
 * per certificate in the bundle), a row per `.crt` with a name cockroach rejects, and a row per
 * file that is neither a certificate nor the key of one. Sub-folders are returned, not entered.
 */
export async function scanFolder(ctx: ScanContext, folder: string): Promise<FolderScan> {
  const abs = folder === '' ? ctx.root : path.join(ctx.root, ...folder.split('/'));
  let entries: Dirent[];
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch (err) {
    return { works: [], subdirs: [], error: `cannot read folder ${folder === '' ? '.' : folder}: ${errnoText(err)}` };
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  const subdirs: string[] = [];
  for (const e of entries) {
    // Kubernetes secret volumes keep their real files in `..<timestamp>/` behind a `..data` link
    // and link each file to it: the links are the certs dir, the `..` entries are plumbing.
    if (e.name.startsWith('..')) continue;
    if (e.isDirectory()) subdirs.push(e.name);
    else if (e.isSymbolicLink() && (await fs.stat(path.join(abs, e.name)).then((st) => st.isDirectory(), () => false))) continue; // not followed
    else files.push(e.name);
  }

  let scan;
  try {
    scan = await scanCertsDir(abs, { skipKeyPermissionCheck: ctx.skipKeyPermissionCheck });
  } catch (err) {
    return { works: [], subdirs, error: ctx.rel(`cannot read folder ${folder === '' ? '.' : folder}: ${(err as Error).message}`) };
  }
  const unreadable = new Map<string, string>();
  for (const w of scan.warnings) {
    const m = /^could not read certificate file (.*?): (.*)$/.exec(w);
    if (m) unreadable.set(path.basename(m[1] ?? ''), m[2] ?? '');
  }

  const claimed = new Set<string>([LOCK_FILE]);
  const works: Work[] = [];
  const infos = [...scan.certs].sort((a, b) => USAGE_ORDER.indexOf(a.usage) - USAGE_ORDER.indexOf(b.usage) || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  for (const info of infos) {
    claimed.add(info.filename);
    const ca = isCAUsage(info.usage);
    const keyName = ca ? '' : keyFileFor(info.filename);
    if (!ca) {
      claimed.add(keyName);
      if (info.usage === 'Client') claimed.add(`${keyName}.pk8`);
    }
    const base = {
      file: join(folder, info.filename),
      usage: info.usage,
      keyFile: ca || info.error !== undefined ? '' : join(folder, keyName),
      certsInFile: info.certs.length,
      notes: certNotes(info),
    };
    let error = info.error === undefined ? '' : ctx.rel(info.error);
    let problem: ReportProblem | null = info.error === undefined ? null : problemOf(info.error);
    const readFailure = unreadable.get(info.filename);
    if (readFailure !== undefined) {
      error = `could not read certificate file ${base.file}: ${readFailure}`;
      problem = 'unreadable';
    }
    if (info.certs.length === 0) {
      works.push({ row: emptyRow({ ...base, problem, error }), folder, leaf: !ca, activeCA: false });
      continue;
    }
    const certs = ca ? info.certs : info.certs.slice(0, 1);
    for (const [i, cert] of certs.entries()) {
      const row = emptyRow({ ...base, position: i + 1, problem, error });
      if (i > 0) row.notes = `cert ${i + 1} of ${info.certs.length} in the bundle`;
      const node = certColumns(row, cert);
      if (!node && !row.error) {
        row.problem = 'corrupt';
        row.error = `certificate ${i} in ${base.file} cannot be parsed`;
      }
      // The key cockroach found must also be the certificate's own.
      if (node && !ca && info.error === undefined && info.keyFilename) {
        const bad = await keyMatches(path.join(abs, info.keyFilename), node);
        if (bad) {
          row.problem = bad.startsWith('does not') ? 'key-mismatch' : 'key-unreadable';
          row.error = `key file ${join(folder, info.keyFilename)} ${bad}`;
        } else if (info.usage === 'Client' && files.includes(`${info.keyFilename}.pk8`)) {
          const badPk8 = await pkcs8Matches(path.join(abs, `${info.keyFilename}.pk8`), node);
          if (badPk8) {
            row.problem = badPk8.startsWith('does not') ? 'key-mismatch' : 'key-unreadable';
            row.error = `${join(folder, `${info.keyFilename}.pk8`)} ${badPk8}`;
          }
        }
      }
      works.push({ row, folder, cert: node, leaf: !ca, activeCA: ca && i === 0 });
    }
  }
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
  return { works, subdirs };
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
export async function listFolder(root: string, rel: string): Promise<{ names: string[]; files: string[]; error?: string }> {
  try {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    const files = entries.filter((e) => !e.isDirectory()).map((e) => e.name).sort();
    return { names, files };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { names: [], files: [] };
    return { names: [], files: [], error: `cannot read folder ${rel}: ${errnoText(err)}` };
  }
}
