// Reads a CockroachDB certs directory the way cockroach's CertificateLoader and
// CertificateManager do, so `cert list` and every `create-*` see and reject the same things.
import path from 'node:path';
import { CertReadError, parseCertificate, type CertFacts } from '../pki/read/cert.js';
import { CertFileError, readCertificateFile, type CertFileProblem as FileProblem } from '../pki/read/file.js';
import { pemToCertificateBlocks } from '../pki/read/pem.js';
import { CERT_EXTENSION, isCAUsage, keyFileFor, parseCertFileName, type PemUsage } from '../core/cert-names.js';
import { formatFileMode, MAX_GROUP_KEY_PERMISSIONS, MAX_KEY_PERMISSIONS } from '../core/filemode.js';
import { CertgenError } from '../errors.js';
import { errnoText, isErrno, pathErrorText } from '../io/files.js';
import { diskSource, type DirEntry, type FileSource } from '../io/file-source.js';

export interface CertInfo<C = CertFacts> {
  usage: PemUsage;
  /** Bare file name, e.g. `client.root.crt`. */
  filename: string;
  /** User (client certs) or tenant id (tenant certs); empty otherwise. */
  name: string;
  /** Bare key file name, set only when the key was found and passed the checks. */
  keyFilename: string;
  certs: C[];
  /** NotAfter of the first certificate in the file; undefined when the row has an error. */
  expires: Date | undefined;
  error: string | undefined;
  /** Why the file itself could not be read (its warning says the same), when it could not. */
  readError?: string;
  /** What kind of problem `error` is (set with it). */
  errorCode?: CertFileProblem;
  /** Raw bytes of the .crt file (for reports and comparisons). */
  contents: Buffer;
}

/** Why a certificate file's row has an error. */
export type CertFileProblem = 'corrupt' | 'key-missing' | 'key-permissions' | 'key-unreadable';

/** A key file problem found while pairing a certificate with its key. */
class KeyFileError extends Error {
  readonly code: CertFileProblem;
  constructor(code: CertFileProblem, message: string) {
    super(message);
    this.code = code;
  }
}

export interface CertsDirScan<C = CertFacts> {
  dir: string;
  certs: CertInfo<C>[];
  /** Files skipped with a warning, as cockroach logs them. */
  warnings: string[];
}

/** How a certificate's DER becomes the object in {@link CertInfo.certs}. */
export interface CertReader<C> {
  /** Throws when the DER is not a certificate. */
  read(der: Buffer): C;
  /** A whole file at once (throws a CertFileError), when the reader can do better than block by block. */
  readFile?(contents: Buffer): C[];
  notAfter(cert: C): Date;
}

/** The default reader: the one reader's facts, so a file lists exactly when Go would load it. */
export const FACTS_READER: CertReader<CertFacts> = {
  read: (der) => parseCertificate(der),
  // Whole files through the one memo, so the plan's reading of a file is this one too.
  readFile: (contents) => [...readCertificateFile(contents)],
  notAfter: (cert) => cert.notAfter,
};

export interface ScanOptions<C = CertFacts> {
  /** COCKROACH_SKIP_KEY_PERMISSION_CHECK */
  skipKeyPermissionCheck?: boolean;
  /** The process's group id, for the 0740 root-owned rule (defaults to process.getgid()). */
  gid?: number;
  /** `dir`'s entries when the caller has already listed it (`readdir` with file types): not listed again. */
  entries?: DirEntry[];
  /** Where the files come from (default: the disk). */
  source?: FileSource;
  /** Bounds the file-system operations in flight; share one across calls that run at once (default: 32 per call). */
  limit?: Limit;
  /**
   * Certificates already parsed, by the bytes of their file: calls that share it parse identical
   * files once (every folder of a tree holds the same ca.crt). Only successful parses are kept.
   */
  certCache?: Map<string, C[]>;
  /** Reads each certificate (default {@link FACTS_READER}). */
  reader?: CertReader<C>;
}

/** Runs a task when fewer than its bound are running (see {@link createLimit}). */
export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

/** Reads and stats at once, but at most `n` in flight: a big tree must not run out of file descriptors. */
export function createLimit(n: number): Limit {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    running--;
    waiting.shift()?.();
  };
  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        running++;
        Promise.resolve()
          .then(task)
          .then(resolve, reject)
          .finally(release);
      };
      if (running < n) start();
      else waiting.push(start);
    });
}

/** File-system operations in flight per scan when the caller shares no {@link Limit}. */
export const SCAN_CONCURRENCY = 32;

interface ResolvedOptions {
  skipKeyPermissionCheck: boolean;
  gid: number;
  limit: Limit;
  source: FileSource;
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

function parseCertificates<C>(filename: string, contents: Buffer, reader: CertReader<C>): C[] {
  if (reader.readFile) {
    try {
      return reader.readFile(contents);
    } catch (err) {
      if (err instanceof CertFileError) throw new Error(certFileMessage(filename, err.problem));
      throw err;
    }
  }
  if (contents.length === 0) throw new Error(certFileMessage(filename, { kind: 'empty' }));
  let blocks: Buffer[];
  try {
    blocks = pemToCertificateBlocks(contents);
  } catch (err) {
    throw new Error(certFileMessage(filename, { kind: 'pem', message: (err as Error).message }));
  }
  if (blocks.length === 0) throw new Error(certFileMessage(filename, { kind: 'none' }));
  return blocks.map((der, index) => {
    try {
      return reader.read(der);
    } catch (err) {
      throw new Error(certFileMessage(filename, { kind: 'cert', index, message: err instanceof CertReadError ? err.message : 'x509: malformed certificate' }));
    }
  });
}

/** cockroach's words for a certificate file it cannot load (Go's own for the certificate). */
function certFileMessage(filename: string, p: FileProblem): string {
  switch (p.kind) {
    case 'empty':
      return `empty certificate file: ${filename}`;
    case 'pem':
      return `failed to parse certificate file ${filename} as PEM: ${p.message}`;
    case 'none':
      return `no certificates found in ${filename}`;
    case 'cert':
      return `failed to parse certificate ${p.index} in file ${filename}: ${p.message}`;
  }
}

async function findKey(dir: string, certFile: string, opts: ResolvedOptions): Promise<string> {
  const keyFilename = keyFileFor(certFile);
  const fullKeyPath = path.join(dir, keyFilename);
  let st;
  try {
    st = await opts.limit(() => opts.source.stat(fullKeyPath));
  } catch (err) {
    throw new KeyFileError(isErrno(err, 'ENOENT') ? 'key-missing' : 'key-unreadable', `could not stat key file ${fullKeyPath}: ${pathErrorText('stat', fullKeyPath, err)}`);
  }
  if (!st.isFile()) throw new KeyFileError('key-unreadable', `key file ${fullKeyPath} is not a regular file`);
  if (!opts.skipKeyPermissionCheck) {
    const problem = checkKeyPermissions(fullKeyPath, st, opts.gid);
    if (problem) throw new KeyFileError('key-permissions', problem);
  }
  try {
    await opts.limit(() => opts.source.access(fullKeyPath));
  } catch (err) {
    throw new KeyFileError('key-unreadable', `could not read key file ${fullKeyPath}: ${pathErrorText('open', fullKeyPath, err)}`);
  }
  return keyFilename;
}

/**
 * Scans `dir`: a missing directory is empty; files it cannot use become rows with an error. The
 * files are read at once (bounded by `limit`); rows and warnings come in file-name order.
 */
export function scanCertsDir(dir: string, options?: ScanOptions): Promise<CertsDirScan>;
export function scanCertsDir<C>(dir: string, options: ScanOptions<C> & { reader: CertReader<C> }): Promise<CertsDirScan<C>>;
export async function scanCertsDir<C>(dir: string, options: ScanOptions<C> = {}): Promise<CertsDirScan<C>> {
  const reader = options.reader ?? (FACTS_READER as unknown as CertReader<C>);
  const opts: ResolvedOptions = {
    skipKeyPermissionCheck: options.skipKeyPermissionCheck ?? false,
    gid: options.gid ?? process.getgid?.() ?? 0,
    limit: options.limit ?? createLimit(SCAN_CONCURRENCY),
    source: options.source ?? diskSource,
  };
  let entries: DirEntry[];
  if (options.entries) entries = [...options.entries];
  else {
    try {
      entries = await opts.limit(() => opts.source.readdir(dir));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return { dir, certs: [], warnings: [] };
      throw new CertgenError(`problem loading certs directory ${dir}: ${pathErrorText('open', dir, err)}`, { certManagement: true });
    }
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const cache = options.certCache;
  /** One `.crt` entry: its row (none for a bad name) and its warning, if any. */
  const scanEntry = async (entry: DirEntry): Promise<{ info?: CertInfo<C>; warning?: string }> => {
    const full = path.join(dir, entry.name);
    const parsed = parseCertFileName(entry.name);
    if ('error' in parsed) return { warning: `bad filename ${full}: ${parsed.error}` };
    const info: CertInfo<C> = { ...parsed, filename: entry.name, keyFilename: '', certs: [], expires: undefined, error: undefined, contents: Buffer.alloc(0) };
    let warning: string | undefined;
    try {
      info.contents = await opts.limit(() => opts.source.readFile(full));
    } catch (err) {
      info.readError = errnoText(err);
      warning = `could not read certificate file ${full}: ${info.readError}`;
    }
    try {
      const key = cache ? info.contents.toString('latin1') : '';
      const known = cache?.get(key);
      if (known) info.certs = [...known];
      else {
        info.certs = parseCertificates(entry.name, info.contents, reader);
        cache?.set(key, [...info.certs]);
      }
      if (!isCAUsage(info.usage)) info.keyFilename = await findKey(dir, entry.name, opts);
      const first = info.certs[0];
      info.expires = first === undefined ? undefined : reader.notAfter(first);
    } catch (err) {
      info.error = (err as Error).message;
      info.errorCode = err instanceof KeyFileError ? err.code : 'corrupt';
      info.keyFilename = '';
    }
    return warning === undefined ? { info } : { info, warning };
  };
  const scanned = await Promise.all(entries.filter((e) => !e.isDirectory() && e.name.endsWith(CERT_EXTENSION)).map(scanEntry));
  const certs: CertInfo<C>[] = [];
  const warnings: string[] = [];
  for (const r of scanned) {
    if (r.warning !== undefined) warnings.push(r.warning);
    if (r.info) certs.push(r.info);
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
