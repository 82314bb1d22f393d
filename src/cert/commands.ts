// The `cert` command family as library functions: what `cockroach cert create-*` and `list` do,
// with the same files, contents and error texts. Nothing here prints or exits.
import { randomBytes, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { bytes, x509 } from '../pki/x509.js';
import { generateKey, parsePrivateKeyPem, privateKeyToPem, privateKeyToPkcs8Der, toSigner } from '../pki/keys.js';
import { CA_COMMON_NAME, issueCertificate, issueTenantSigningCert } from '../pki/issue.js';
import { decodePem, encodePem } from '../pki/read/pem.js';
import { CertReadError, parseCertificate, type CertFacts } from '../pki/read/cert.js';
import { findPrivateKeyBlock, keyMatchesCert, loadPrivateKeyBlock, type KeyFacts } from '../pki/read/key.js';
import {
  CA_CERT,
  CLIENT_CA_CERT,
  NODE_CERT,
  NODE_KEY,
  TENANT_CA_CERT,
  clientCertName,
  clientKeyName,
  clientPkcs8Name,
  tenantCertName,
  tenantKeyName,
  tenantSigningCertName,
  tenantSigningKeyName,
  type PemUsage,
} from '../core/cert-names.js';
import { parseGoUint } from '../core/go-strconv.js';
import { durationToMs } from '../core/duration.js';
import { checkUsername, normalizeUsername } from '../core/username.js';
import { CertgenError, wrapError } from '../errors.js';
import { isEncryptedCAKey } from '../tree/layout.js';
import { CERT_MODE, DIR_MODE, KEY_MODE, isErrno, pathErrorText, writeFilesAtomic, type FileWrite } from '../io/files.js';
import { checkCertificateManager, scanCertsDir, type CertsDirScan } from './certs-dir.js';
import { skipKeyPermissionCheckFrom } from '../core/go-bool.js';
import { DEFAULT_KEY_TYPE, TENANT_SIGNING_KEY, keyParams, type KeyType } from '../core/key-type.js';

export { DEFAULT_CA_LIFETIME, DEFAULT_CERT_LIFETIME, DEFAULT_KEY_SIZE } from '../core/defaults.js';
import { DEFAULT_CA_LIFETIME, DEFAULT_CERT_LIFETIME, DEFAULT_KEY_SIZE, DEFAULT_TENANT_HOSTS } from '../core/defaults.js';

export interface CommonOptions {
  /** `--certs-dir`. */
  certsDir: string;
  /** COCKROACH_SKIP_KEY_PERMISSION_CHECK; defaults to the environment variable. */
  skipKeyPermissionCheck?: boolean;
  /**
   * Told each file the certs-dir scan skips (`bad filename …`), as cockroach's loader logs them at
   * WARNING before any create-* goes on; called even when the command then fails.
   */
  onWarning?: (message: string) => void;
  /**
   * The age identities an armored-age CA key (`--ca-key x.age`) is decrypted with, in memory
   * (--identity FILE, CERTGEN_AGE_IDENTITY; a certgen extension). Asked for only when the key is
   * one, so a bad CERTGEN_AGE_IDENTITY does not stop a plaintext key's command.
   */
  identities?: () => Promise<readonly string[] | undefined>;
}

export interface CreateOptions extends CommonOptions {
  /** `--ca-key`: path of the CA private key. */
  caKey: string;
  /** `--key-type` (a certgen extension), default `rsa`. */
  keyType?: KeyType;
  /** `--key-size`, default 2048; RSA only (an error with another key type). */
  keySize?: number;
  /** `--lifetime` in nanoseconds; default 87840h for CAs, 43920h for node and client certs. */
  lifetime?: bigint;
  /** `--overwrite`. */
  overwrite?: boolean;
  /** The clock; injectable so tests can pin it. */
  now?: () => Date;
}

export interface CreateCAOptions extends CreateOptions {
  /** `--allow-ca-key-reuse`. */
  allowCAKeyReuse?: boolean;
}

export interface CreateNodeOptions extends CreateOptions {
  /**
   * The node certificate's CN; cockroach's COCKROACH_CERT_NODE_USER, for testing only. Default
   * `node`; an empty string (the variable set but empty) leaves the CN out, as cockroach does.
   */
  nodeUser?: string;
}

export interface CreateClientOptions extends CreateOptions {
  /** `--also-generate-pkcs8-key`. */
  alsoGeneratePkcs8Key?: boolean;
  /**
   * `--tenant-scope`: tenant IDs, each becoming a `crdb://tenant/<id>/user/<user>` URI SAN (built with
   * Go's url.Parse and URL.String, so the user name is percent-encoded as cockroach writes it).
   */
  tenantScope?: string[];
  /** `--tenant-name-scope`: tenant names, each a `crdb://tenant-name/<name>/user/<user>` URI SAN. */
  tenantNameScope?: string[];
  /** `--disable-username-validation`: normalise the name but skip the syntax check. */
  disableUsernameValidation?: boolean;
}

/** What a create-* call wrote. */
export interface CreateResult {
  files: string[];
  certificate: x509.X509Certificate;
}

/** The key a create-* call generates; a size is for RSA only. */
function newKeyParams(opts: CreateOptions) {
  const type = opts.keyType ?? DEFAULT_KEY_TYPE;
  if (type !== 'rsa' && opts.keySize !== undefined) throw new CertgenError(`a key size applies to RSA keys only, not ${type}`);
  return keyParams(type, opts.keySize ?? DEFAULT_KEY_SIZE);
}

/**
 * The mode a `cert create-*` file gets: cockroach opens it with os.OpenFile(path, …, 0644 or 0600),
 * so the process umask takes its bits away (a umask of 077 makes certificates 0600). apply, which
 * owns its tree, writes exact modes instead.
 */
function createMode(mode: number): number {
  return mode & ~process.umask();
}

function skipPermissionCheck(opts: CommonOptions): boolean {
  return opts.skipKeyPermissionCheck ?? skipKeyPermissionCheckFrom(process.env);
}

function requirePaths(opts: CreateOptions): void {
  if (!opts.caKey) throw new CertgenError('the path to the CA key is required');
  if (!opts.certsDir) throw new CertgenError('the path to the certs directory is required');
}

/** MaybeCreateCertsDir: one level, 0700; the parent must exist. */
async function ensureCertsDir(dir: string): Promise<void> {
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new CertgenError(`certs directory ${dir} exists but is not a directory`);
    return;
  } catch (err) {
    if (err instanceof CertgenError) throw err;
    if (!isErrno(err, 'ENOENT')) throw new CertgenError(`could not stat certs directory ${dir}: ${pathErrorText('stat', dir, err)}`, { certManagement: true });
  }
  try {
    await fs.mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    throw new CertgenError(`could not create certs directory ${dir}: ${pathErrorText('mkdir', dir, err)}`, { certManagement: true });
  }
}

/**
 * Runs a create-* command; a certs dir that did not exist before is removed again (if still
 * empty) when the command fails, so a failed command leaves nothing behind.
 */
async function leavingNoNewDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const existed = dir === '' || (await fs.lstat(dir).then(() => true, () => false));
  try {
    return await fn();
  } catch (err) {
    if (!existed) await fs.rmdir(dir).catch(() => {});
    throw err;
  }
}

/** What NewCertificateManagerFirstRun does before any create-*: the dir must load cleanly. */
async function openCertsDir(opts: CommonOptions): Promise<CertsDirScan> {
  await ensureCertsDir(opts.certsDir);
  const scan = await scanCertsDir(opts.certsDir, { skipKeyPermissionCheck: skipPermissionCheck(opts) });
  for (const w of scan.warnings) opts.onWarning?.(w);
  checkCertificateManager(scan);
  return scan;
}

function lifetimeMs(opts: CreateOptions, fallback: bigint): number {
  return durationToMs(opts.lifetime ?? fallback);
}

function serial(): Uint8Array {
  return randomBytes(16);
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** createCACertAndKey, for ca.crt, ca-client.crt and ca-client-tenant.crt. */
async function createCAFile(opts: CreateCAOptions, certName: string): Promise<CreateResult> {
  requirePaths(opts);
  await openCertsDir(opts);
  const now = (opts.now ?? (() => new Date()))();
  const certPath = path.join(opts.certsDir, certName);

  let key: KeyObject;
  let newKeyPem: string | undefined;
  let keyExists = true;
  try {
    await fs.stat(opts.caKey);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw new CertgenError(`could not stat CA key file ${opts.caKey}: ${pathErrorText('stat', opts.caKey, err)}`);
    keyExists = false;
  }
  if (keyExists) {
    if (!opts.allowCAKeyReuse) throw new CertgenError(`CA key ${opts.caKey} exists, but key reuse is disabled`);
    let text: string;
    try {
      text = await fs.readFile(opts.caKey, 'latin1');
    } catch (err) {
      throw new CertgenError(`could not read CA key file ${opts.caKey}: ${pathErrorText('open', opts.caKey, err)}`);
    }
    // An armored-age key (a certgen extension) is decrypted in memory; it is only read, never written.
    if (isAgeKey(opts.caKey, text)) text = await decryptCAKey(opts.caKey, text, opts.identities);
    try {
      key = parsePrivateKeyPem(text);
    } catch (err) {
      throw new CertgenError(`could not parse CA key file ${opts.caKey}: ${(err as Error).message}`);
    }
  } else if (isEncryptedCAKey(opts.caKey)) {
    // cockroach's interface has no recipients to encrypt a new key for, and a plaintext key under
    // an .age name would be committed as "encrypted".
    throw new CertgenError(`the CA key ${opts.caKey} does not exist and its name ends in .age: cert create-* writes a new CA key only in plaintext (there is no recipients flag); use certgen apply with caKey: ${path.basename(opts.caKey)} and encrypt: { age: [...] } to make an encrypted CA key, or give a plaintext --ca-key`);
  } else {
    try {
      key = (await generateKey(newKeyParams(opts))).privateKey;
    } catch (err) {
      throw wrapError('could not generate new CA key', err);
    }
    newKeyPem = privateKeyToPem(key);
  }

  // The existing bundle is read and checked before anything is written: upstream writes the key
  // first and then fails on ca.crt, leaving a key that blocks every rerun.
  const existing = await readOptional(certPath).catch((err) => {
    throw new CertgenError(`could not read existing CA cert file ${certPath}: ${pathErrorText('open', certPath, err)}`);
  });
  let bundleTail = '';
  if (existing !== undefined) {
    const blocks = decodePem(existing);
    blocks.forEach((b, i) => {
      if (b.type !== 'CERTIFICATE') throw new CertgenError(`could not parse existing CA cert file ${certPath}: block #${i} is of type ${b.type}, not CERTIFICATE`);
    });
    // Kept verbatim and in order, expired ones too: the bundle is how nodes trust old and new CAs.
    bundleTail = blocks.map((b) => encodePem('CERTIFICATE', b.der)).join('');
  }

  let cert: x509.X509Certificate;
  try {
    cert = await issueCertificate({
      kind: 'ca',
      subjectKey: key,
      signer: await toSigner(key),
      commonName: CA_COMMON_NAME,
      now,
      lifetimeMs: lifetimeMs(opts, DEFAULT_CA_LIFETIME),
      serial: serial(),
    });
  } catch (err) {
    throw wrapError('could not generate CA certificate', err);
  }

  const writes: FileWrite[] = [];
  if (newKeyPem !== undefined) {
    writes.push({ path: opts.caKey, data: newKeyPem, mode: createMode(KEY_MODE), exclusive: !opts.overwrite, describe: `could not write CA key to file ${opts.caKey}` });
  }
  writes.push({
    path: certPath,
    data: encodePem('CERTIFICATE', Buffer.from(cert.rawData)) + bundleTail,
    mode: createMode(CERT_MODE),
    exclusive: !opts.overwrite,
    describe: `could not write CA certificate file ${certPath}`,
  });
  await writeFiles(writes);
  return { files: writes.map((w) => w.path), certificate: cert };
}

async function writeFiles(writes: FileWrite[]): Promise<void> {
  try {
    await writeFilesAtomic(writes);
  } catch (err) {
    throw new CertgenError((err as Error).message, { cause: err });
  }
}

/**
 * `cert create-ca`: a new CA certificate in `<certs-dir>/ca.crt` (prepended to any existing bundle
 * when `overwrite` is set) and its key at `caKey` unless it exists and `allowCAKeyReuse` is set.
 */
export async function createCA(opts: CreateCAOptions): Promise<CreateResult> {
  return leavingNoNewDir(opts.certsDir, () => createCAFile(opts, CA_CERT)).catch((err) => {
    throw wrapError('failed to generate CA cert and key', err);
  });
}

/** `cert create-client-ca`: like createCA, for `<certs-dir>/ca-client.crt`. */
export async function createClientCA(opts: CreateCAOptions): Promise<CreateResult> {
  return leavingNoNewDir(opts.certsDir, () => createCAFile(opts, CLIENT_CA_CERT)).catch((err) => {
    throw wrapError('failed to generate client CA cert and key', err);
  });
}

/** `cert create-tenant-client-ca`: like createCA, for `<certs-dir>/ca-client-tenant.crt`. */
export async function createTenantClientCA(opts: CreateCAOptions): Promise<CreateResult> {
  return leavingNoNewDir(opts.certsDir, () => createCAFile(opts, TENANT_CA_CERT)).catch((err) => {
    throw wrapError('failed to generate tenant client CA cert and key', err);
  });
}

interface LoadedCA {
  cert: x509.X509Certificate;
  key: KeyObject;
}

const AGE_ARMOR = '-----BEGIN AGE ENCRYPTED FILE-----';

/** Whether a CA key file is armored age: by its name (`.age`) or its first line. */
function isAgeKey(file: string, text: string): boolean {
  return isEncryptedCAKey(file) || text.trimStart().startsWith(AGE_ARMOR);
}

/**
 * An armored-age CA key's PEM, decrypted in memory only (never written). One line without an
 * identity, with one that is not a recipient, or for a damaged file.
 */
async function decryptCAKey(file: string, text: string, identities: CommonOptions['identities']): Promise<string> {
  const ids = await identities?.();
  if (!ids || ids.length === 0) throw new CertgenError(`the CA key ${file} is age-encrypted: give the age identity it is encrypted for (--identity FILE, or CERTGEN_AGE_IDENTITY) to decrypt it in memory`);
  const { decryptArmored } = await import('../pki/age.js');
  return Buffer.from(await decryptArmored(text, ids, `the CA key ${file}`)).toString('latin1');
}

/** tls.LoadX509KeyPair over the CA bundle and key: the first certificate must match the key. */
export async function loadCA(certPath: string, keyPath: string, identities?: CommonOptions['identities']): Promise<LoadedCA> {
  const fail = (msg: string): CertgenError => new CertgenError(`error loading CA certificate ${certPath} and key ${keyPath}: ${msg}`);
  let certText: Buffer;
  let keyText: string;
  try {
    certText = await fs.readFile(certPath);
  } catch (err) {
    throw fail(pathErrorText('open', certPath, err));
  }
  try {
    keyText = await fs.readFile(keyPath, 'latin1');
  } catch (err) {
    throw fail(pathErrorText('open', keyPath, err));
  }
  if (isAgeKey(keyPath, keyText)) {
    try {
      keyText = await decryptCAKey(keyPath, keyText, identities);
    } catch (err) {
      throw fail((err as Error).message);
    }
  }
  const certBlocks = decodePem(certText).filter((b) => b.type === 'CERTIFICATE');
  const first = certBlocks[0];
  if (first === undefined) throw fail('tls: failed to find any PEM data in certificate input');
  let key: { facts: KeyFacts; key: KeyObject };
  try {
    key = loadPrivateKeyBlock(findPrivateKeyBlock(keyText));
  } catch (err) {
    throw fail((err as Error).message);
  }
  // Go's verdict (the one reader) first, then @peculiar/x509's object, which signing uses.
  let facts: CertFacts;
  let cert: x509.X509Certificate;
  try {
    facts = parseCertificate(first.der);
    cert = new x509.X509Certificate(bytes(first.der));
  } catch (err) {
    throw fail(err instanceof CertReadError ? err.message : 'x509: malformed certificate');
  }
  if (!keyMatchesCert(key.facts, facts)) throw fail('tls: private key does not match public key');
  return { cert, key: key.key };
}

/** Go's %f: six decimals. */
function goFloat(n: number): string {
  return n.toFixed(6);
}

/** checkLifetimeAgainstCA: a leaf may not outlive the CA that signs it. */
export function checkLifetimeAgainstCA(caNotAfter: Date, now: Date, lifetimeMsValue: number): void {
  const certNotAfter = now.getTime() + lifetimeMsValue;
  if (caNotAfter.getTime() >= certNotAfter) return;
  const caHours = (caNotAfter.getTime() - now.getTime()) / 3_600_000;
  const certHours = lifetimeMsValue / 3_600_000;
  throw new CertgenError(
    `CA lifetime is ${goFloat(caHours)}h, shorter than the requested ${goFloat(certHours)}h. Renew CA certificate, or rerun with --lifetime=${Math.trunc(caHours)}h for a shorter duration.`,
  );
}

interface LeafFile {
  path: string;
  what: string;
}

/** The CA file a leaf is signed with, chosen from what the certs-dir scan found. */
type PickCA = (scan: CertsDirScan) => string;

const fixedCA = (name: string): PickCA => () => name;

/** A leaf's certificate and the files to write, made but not yet written. */
interface PreparedLeaf {
  certificate: x509.X509Certificate;
  writes: FileWrite[];
}

async function prepareLeaf(
  opts: CreateOptions,
  kind: 'node' | 'client' | 'tenant',
  pickCA: PickCA,
  commonName: string,
  /** Host SANs for a node or tenant, URI SANs for a client. */
  sans: string[],
  files: { cert: LeafFile; key: LeafFile; pkcs8?: LeafFile },
  creatingWhat: string,
): Promise<PreparedLeaf> {
  requirePaths(opts);
  const scan = await openCertsDir(opts);
  const ca = await loadCA(path.join(opts.certsDir, pickCA(scan)), opts.caKey, opts.identities);
  const now = (opts.now ?? (() => new Date()))();
  let key: KeyObject;
  try {
    key = (await generateKey(newKeyParams(opts))).privateKey;
  } catch (err) {
    throw wrapError(`could not generate new ${kind} key`, err);
  }
  let cert: x509.X509Certificate;
  try {
    const lifetime = lifetimeMs(opts, DEFAULT_CERT_LIFETIME);
    // GenerateClientCert's first check: reached with --disable-username-validation and "".
    if (kind === 'client' && commonName === '') throw new CertgenError('user cannot be empty');
    // GenerateTenantCert's first check.
    if (kind === 'tenant' && commonName === '0') throw new CertgenError('tenantId 0 is invalid (requires != 0)');
    checkLifetimeAgainstCA(ca.cert.notAfter, now, lifetime);
    const sanField = kind === 'client' ? { uris: sans } : { hosts: sans };
    cert = await issueCertificate({ kind, subjectKey: key, signer: await toSigner(ca.key), issuer: ca.cert, commonName, ...sanField, now, lifetimeMs: lifetime, serial: serial() });
  } catch (err) {
    throw wrapError(creatingWhat, err);
  }
  const exclusive = !opts.overwrite;
  const writes: FileWrite[] = [
    { path: files.cert.path, data: encodePem('CERTIFICATE', Buffer.from(cert.rawData)), mode: createMode(CERT_MODE), exclusive, describe: `error writing ${files.cert.what} to ${files.cert.path}` },
    { path: files.key.path, data: privateKeyToPem(key), mode: createMode(KEY_MODE), exclusive, describe: `error writing ${files.key.what} to ${files.key.path}` },
  ];
  if (files.pkcs8) writes.push({ path: files.pkcs8.path, data: privateKeyToPkcs8Der(key), mode: createMode(KEY_MODE), exclusive, describe: `error writing ${files.pkcs8.what} to ${files.pkcs8.path}` });
  return { certificate: cert, writes };
}

async function writeLeaf(leaf: PreparedLeaf): Promise<CreateResult> {
  await writeFiles(leaf.writes);
  return { files: leaf.writes.map((w) => w.path), certificate: leaf.certificate };
}

/**
 * `cert create-node <host>...`: node.crt and node.key signed by the first certificate in ca.crt,
 * with each host as an IP or DNS subject alternative name.
 */
export async function createNode(opts: CreateNodeOptions, hosts: string[]): Promise<CreateResult> {
  // An argument check in cockroach (cobra's Args), so not wrapped like the failures below.
  if (hosts.length === 0) throw new CertgenError('create-node requires at least one host name or address, none was specified');
  try {
    const dir = opts.certsDir;
    return await leavingNoNewDir(dir, async () =>
      writeLeaf(
        await prepareLeaf(
          opts,
          'node',
          fixedCA(CA_CERT),
          opts.nodeUser ?? 'node',
          hosts,
          { cert: { path: path.join(dir, NODE_CERT), what: 'node server certificate' }, key: { path: path.join(dir, NODE_KEY), what: 'node server key' } },
          'error creating node server certificate and key',
        ),
      ),
    );
  } catch (err) {
    throw wrapError('failed to generate node certificate and key', err);
  }
}

/**
 * `cert create-client <user>`: client.<user>.crt and .key (and .key.pk8) for the normalised user,
 * signed by ca-client.crt when that file exists, else ca.crt.
 */
export async function createClient(opts: CreateClientOptions, username: string): Promise<CreateResult> {
  try {
    const user = normalizeUsername(username);
    const problem = checkUsername(user);
    // With the check disabled even "" goes on, to end in GenerateClientCert's `user cannot be empty`.
    if (problem && !opts.disableUsernameValidation) throw new CertgenError(problem.message, { hint: problem.hint });
    const uris = [...(opts.tenantScope ?? []).map((id) => `crdb://tenant/${id}/user/${user}`), ...(opts.tenantNameScope ?? []).map((n) => `crdb://tenant-name/${n}/user/${user}`)];
    const dir = opts.certsDir;
    return await leavingNoNewDir(dir, async () =>
      writeLeaf(
        await prepareLeaf(
          opts,
          'client',
          clientCA,
          user,
          uris,
          {
            cert: { path: path.join(dir, clientCertName(user)), what: 'client certificate' },
            key: { path: path.join(dir, clientKeyName(user)), what: 'client key' },
            ...(opts.alsoGeneratePkcs8Key ? { pkcs8: { path: path.join(dir, clientPkcs8Name(user)), what: 'client PKCS8 key' } } : {}),
          },
          'error creating client certificate and key',
        ),
      ),
    );
  } catch (err) {
    throw wrapError('failed to generate client certificate and key', err);
  }
}

/**
 * CreateClientPair's choice: ca-client.crt when the loader found one (even a broken one, which then
 * fails to load), else ca.crt. A folder named ca-client.crt is skipped by the loader, so ca.crt signs.
 */
function clientCA(scan: CertsDirScan): string {
  return scan.certs.some((c) => c.usage === 'Client CA') ? CLIENT_CA_CERT : CA_CERT;
}

/**
 * getTenantCACertLocked: ca-client-tenant.crt if present, else ca-client.crt, else ca.crt; the one
 * chosen must have loaded cleanly (a certificate-manager error, like the certs dir's).
 */
function tenantCA(scan: CertsDirScan): string {
  const chain: [PemUsage, string][] = [
    ['Tenant Client CA', 'tenant client CA certificate'],
    ['Client CA', 'client CA certificate'],
    ['CA', 'CA certificate'],
  ];
  for (const [usage, what] of chain) {
    const found = scan.certs.find((c) => c.usage === usage);
    if (found === undefined && usage !== 'CA') continue;
    const problem = found === undefined ? 'not found' : found.error;
    if (problem !== undefined) throw new CertgenError(`problem with ${what}: ${problem}`, { certManagement: true });
    return found?.filename ?? CA_CERT;
  }
  throw new Error('unreachable');
}

export { DEFAULT_TENANT_HOSTS } from '../core/defaults.js';

/** strconv.ParseUint(id, 10, 64) as the tenant commands read their argument, in decimal as %d prints it. */
export function parseTenantId(id: string): string {
  const r = parseGoUint(id, 10, 64);
  if ('error' in r) throw new CertgenError(`${id} is invalid uint64: ${r.error}`);
  return r.value.toString();
}

/**
 * `cert create-tenant-client <tenant-id> [<host>...]`: client-tenant.<id>.crt and .key
 * (`O=Cockroach, OU=Tenants, CN=<id>`, EKU clientAuth+serverAuth, the hosts as SANs; with no hosts
 * {@link DEFAULT_TENANT_HOSTS}), signed by ca-client-tenant.crt, else ca-client.crt, else ca.crt.
 */
export async function createTenantClient(opts: CreateOptions, tenantId: string, hosts: readonly string[] = []): Promise<CreateResult> {
  // Parsed before anything else, and not wrapped (cockroach's RunE returns this error as is).
  const id = parseTenantId(tenantId);
  const dir = opts.certsDir;
  const sans = hosts.length > 0 ? [...hosts] : [...DEFAULT_TENANT_HOSTS];
  return leavingNoNewDir(dir, async () => {
    let leaf: PreparedLeaf;
    try {
      leaf = await prepareLeaf(
        opts,
        'tenant',
        tenantCA,
        id,
        sans,
        { cert: { path: path.join(dir, tenantCertName(id)), what: 'tenant certificate' }, key: { path: path.join(dir, tenantKeyName(id)), what: 'tenant key' } },
        'error creating tenant certificate and key',
      );
    } catch (err) {
      throw wrapError('failed to generate tenant client certificate and key', err);
    }
    // cockroach makes the pair (CreateTenantPair) and writes it (WriteTenantPair) in two steps, each
    // with its own words.
    return writeLeaf(leaf).catch((err) => {
      throw wrapError('failed to write tenant client certificate and key', err);
    });
  });
}

/** `create-tenant-signing`'s options: no CA is involved, so no CA key or key size. */
export type CreateTenantSigningOptions = Omit<CreateOptions, 'caKey' | 'keySize' | 'keyType'> & { caKey?: string; keySize?: number; keyType?: KeyType };

/**
 * `cert create-tenant-signing <tenant-id>`: tenant-signing.<id>.key (a new Ed25519 key, PKCS#8
 * `PRIVATE KEY`) and tenant-signing.<id>.crt, self-signed, `CN=Tenant <id> Token Signing
 * Certificate`, serial 1, digitalSignature only, CA:FALSE. `caKey` and `keySize` are not used.
 */
export async function createTenantSigning(opts: CreateTenantSigningOptions, tenantId: string): Promise<CreateResult> {
  const id = parseTenantId(tenantId);
  const dir = opts.certsDir;
  return leavingNoNewDir(dir, async () => {
    if (!dir) throw new CertgenError('the path to the certs directory is required');
    if (id === '0') throw new CertgenError('tenantId 0 is invalid (requires != 0)');
    await openCertsDir(opts);
    const now = (opts.now ?? (() => new Date()))();
    const keyPath = path.join(dir, tenantSigningKeyName(id));
    const certPath = path.join(dir, tenantSigningCertName(id));
    let key: KeyObject;
    try {
      key = (await generateKey(TENANT_SIGNING_KEY)).privateKey;
    } catch (err) {
      throw wrapError('could not generate new tenant signing key', err);
    }
    let cert: x509.X509Certificate;
    try {
      cert = await issueTenantSigningCert(key, id, now, lifetimeMs(opts as CreateOptions, DEFAULT_CERT_LIFETIME));
    } catch (err) {
      throw wrapError('could not generate tenant signing certificate', err);
    }
    const exclusive = !opts.overwrite;
    // The key first, as cockroach orders them (all or nothing here, as every create-*).
    const writes: FileWrite[] = [
      { path: keyPath, data: privateKeyToPem(key), mode: createMode(KEY_MODE), exclusive, describe: `could not write tenant signing key to file ${keyPath}` },
      { path: certPath, data: encodePem('CERTIFICATE', Buffer.from(cert.rawData)), mode: createMode(CERT_MODE), exclusive, describe: `could not write tenant signing certificate file ${certPath}` },
    ];
    await writeFiles(writes);
    return { files: writes.map((w) => w.path), certificate: cert };
  }).catch((err) => {
    throw wrapError('failed to generate tenant signing cert and key', err);
  });
}
