// Reads a CockroachDB certs directory the way cockroach's CertificateLoader and
// CertificateManager do, so `cert list` and every `create-*` see and reject the same things.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { bytes, x509 } from '../pki/x509.js';
import { pemToCertificateBlocks } from '../pki/pem.js';
import { CERT_EXTENSION, isCAUsage, keyFileFor, parseCertFileName, type PemUsage } from '../core/cert-names.js';
import { formatFileMode, MAX_GROUP_KEY_PERMISSIONS, MAX_KEY_PERMISSIONS } from '../core/filemode.js';
import { CertgenError } from '../errors.js';
import { errnoText, isErrno, pathErrorText } from '../io/files.js';

export interface CertInfo {
  usage: PemUsage;
  /** Bare file name, e.g. `client.root.crt`. */
  filename: string;
  /** User (client certs) or tenant id (tenant certs); empty otherwise. */
  name: string;
  /** Bare key file name, set only when the key was found and passed the checks. */
  keyFilename: string;
  certs: x509.X509Certificate[];
  /** NotAfter of the first certificate in the file; undefined when the row has an error. */
  expires: Date | undefined;
  error: string | undefined;
  /** Raw bytes of the .crt file (for reports and comparisons). */
  contents: Buffer;
}

export interface CertsDirScan {
  dir: string;
  certs: CertInfo[];
  /** Files skipped with a warning, as cockroach logs them. */
  warnings: string[];
}

export interface ScanOptions {
  /** COCKROACH_SKIP_KEY_PERMISSION_CHECK */
  skipKeyPermissionCheck?: boolean;
  /** The process's group id, for the 0740 root-owned rule (defaults to process.getgid()). */
  gid?: number;
}


/**
 * The key-file permission rule (checkFilePermissions): at most 0700, or 0740 when the file is owned
 * by root and its group is the process's group (Kubernetes secrets mounted with fsGroup).
 */
export function checkKeyPermissions(keyPath: string, st: { mode: number; uid: number; gid: number }, processGid: number): string | undefined {
  const max = st.uid === 0 && st.gid === processGid ? MAX_GROUP_KEY_PERMISSIONS : MAX_KEY_PERMISSIONS;
  if ((st.mode & 0o777 & ~max) !== 0) {
    return `key file ${keyPath} has permissions ${formatFileMode(st.mode)}, exceeds ${formatFileMode(0o100000 | max)}`;
  }
  return undefined;
}

function parseCertificates(filename: string, contents: Buffer): x509.X509Certificate[] {
  if (contents.length === 0) throw new Error(`empty certificate file: ${filename}`);
  let blocks: Buffer[];
  try {
    blocks = pemToCertificateBlocks(contents);
  } catch (err) {
    throw new Error(`failed to parse certificate file ${filename} as PEM: ${(err as Error).message}`);
  }
  if (blocks.length === 0) throw new Error(`no certificates found in ${filename}`);
  return blocks.map((der, i) => {
    try {
      return new x509.X509Certificate(bytes(der));
    } catch {
      throw new Error(`failed to parse certificate ${i} in file ${filename}: x509: malformed certificate`);
    }
  });
}

async function findKey(dir: string, certFile: string, opts: Required<ScanOptions>): Promise<string> {
  const keyFilename = keyFileFor(certFile);
  const fullKeyPath = path.join(dir, keyFilename);
  let st;
  try {
    st = await fs.stat(fullKeyPath);
  } catch (err) {
    throw new Error(`could not stat key file ${fullKeyPath}: ${pathErrorText('stat', fullKeyPath, err)}`);
  }
  if (!st.isFile()) throw new Error(`key file ${fullKeyPath} is not a regular file`);
  if (!opts.skipKeyPermissionCheck) {
    const problem = checkKeyPermissions(fullKeyPath, st, opts.gid);
    if (problem) throw new Error(problem);
  }
  try {
    await fs.access(fullKeyPath, fs.constants.R_OK);
  } catch (err) {
    throw new Error(`could not read key file ${fullKeyPath}: ${pathErrorText('open', fullKeyPath, err)}`);
  }
  return keyFilename;
}

/** Scans `dir`: a missing directory is empty; files it cannot use become rows with an error. */
export async function scanCertsDir(dir: string, options: ScanOptions = {}): Promise<CertsDirScan> {
  const opts: Required<ScanOptions> = {
    skipKeyPermissionCheck: options.skipKeyPermissionCheck ?? false,
    gid: options.gid ?? process.getgid?.() ?? 0,
  };
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { dir, certs: [], warnings: [] };
    throw new CertgenError(`problem loading certs directory ${dir}: ${pathErrorText('open', dir, err)}`, { certManagement: true });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const certs: CertInfo[] = [];
  const warnings: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() || !entry.name.endsWith(CERT_EXTENSION)) continue;
    const full = path.join(dir, entry.name);
    const parsed = parseCertFileName(entry.name);
    if ('error' in parsed) {
      warnings.push(`bad filename ${full}: ${parsed.error}`);
      continue;
    }
    const info: CertInfo = { ...parsed, filename: entry.name, keyFilename: '', certs: [], expires: undefined, error: undefined, contents: Buffer.alloc(0) };
    try {
      info.contents = await fs.readFile(full);
    } catch (err) {
      warnings.push(`could not read certificate file ${full}: ${errnoText(err)}`);
    }
    try {
      info.certs = parseCertificates(entry.name, info.contents);
      if (!isCAUsage(info.usage)) info.keyFilename = await findKey(dir, entry.name, opts);
      info.expires = info.certs[0]?.notAfter;
    } catch (err) {
      info.error = (err as Error).message;
      info.keyFilename = '';
    }
    certs.push(info);
  }
  return { dir, certs, warnings };
}

/**
 * The CertificateManager's refusals that make `cert list` and every `create-*` fail outright rather
 * than show a row: a broken node cert with no separate client.node.crt, or a tenant file whose id is
 * not a number.
 */
export function checkCertificateManager(scan: CertsDirScan): void {
  for (const c of scan.certs) {
    if ((c.usage === 'Tenant Client' || c.usage === 'Tenant Signing') && !/^\d+$/.test(c.name)) {
      throw new CertgenError(`invalid tenant id ${c.name}`);
    }
  }
  const node = scan.certs.find((c) => c.usage === 'Node');
  const nodeClient = scan.certs.find((c) => c.usage === 'Client' && c.name === 'node');
  if (node?.error !== undefined && nodeClient === undefined) {
    throw new CertgenError(`validating node cert: ${node.error}`, { certManagement: true });
  }
}
