// The local side of a target, checked before anything remote happens: its folder is really its
// own, nothing in it leads to the CA key, and the files to send are regular files that do not
// hold the CA's private key. Keys are read with the one key reader (src/pki/read).
import { createHash, X509Certificate } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { CertgenError } from '../errors.js';
import { CERT_MODE, KEY_MODE, isErrno } from '../io/files.js';
import { parseCertificate } from '../pki/read/cert.js';
import { keyMatchesPublicKey, readPkcs8Der, readPrivateKeyPem, type KeyFacts } from '../pki/read/key.js';
import { decodePem } from '../pki/read/pem.js';
import type { PublicKeyFacts } from '../pki/read/types.js';
import type { Selected } from './select.js';
import type { LocalFile } from './types.js';

/** Whether `child` is `parent` or lies under it (both absolute). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  // `..ca.key` is a name inside the folder, not a way out of it.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** The CA key as the local checks compare against it; stat and bytes are undefined when it cannot be read. */
export interface CaKeyFacts {
  path: string;
  real: string;
  stat: Stats | undefined;
  bytes: Buffer | undefined;
}

export async function caKeyFacts(caKey: string): Promise<CaKeyFacts> {
  const abs = path.resolve(caKey);
  let real = abs;
  let stat: Stats | undefined;
  let bytes: Buffer | undefined;
  try {
    real = await fs.realpath(abs);
    stat = await fs.stat(real);
    bytes = await fs.readFile(real);
  } catch {
    // The CA key may well be offline; the path checks below still apply.
    try {
      real = path.join(await fs.realpath(path.dirname(abs)), path.basename(abs));
    } catch {
      /* keep the lexical path */
    }
  }
  return { path: abs, real, stat, bytes };
}

/**
 * The public key of a certificate the strict reader refuses, as OpenSSL reads it. Such a CA
 * certificate is useless to a node, but its private key must not reach one either.
 */
function lenientPublicKey(der: Buffer): PublicKeyFacts | undefined {
  try {
    const pub = new X509Certificate(der).publicKey;
    const spki = pub.export({ type: 'spki', format: 'der' });
    if (pub.asymmetricKeyType !== 'rsa') return { type: String(pub.asymmetricKeyType), spki };
    const { n, e } = pub.export({ format: 'jwk' });
    if (n === undefined || e === undefined) return { type: 'rsa', spki };
    return { type: 'rsa', spki, rsaModulus: Buffer.from(n, 'base64url'), rsaExponent: Buffer.from(e, 'base64url') };
  } catch {
    return undefined;
  }
}

/**
 * Adds the public key of every certificate in a PEM file (a CA bundle) to `into`, keyed by SPKI.
 * A missing file or an unreadable block adds nothing: other checks decide about those.
 */
export async function addCertPublicKeys(file: string, into: Map<string, PublicKeyFacts>): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch {
    return;
  }
  for (const block of decodePem(bytes)) {
    if (block.type !== 'CERTIFICATE') continue;
    let pub: PublicKeyFacts | undefined;
    try {
      pub = parseCertificate(block.der).publicKey;
    } catch {
      pub = lenientPublicKey(block.der);
    }
    if (pub !== undefined) into.set(Buffer.from(pub.spki).toString('base64'), pub);
  }
}

/** A key file's key, PEM or DER PKCS#8 whatever its name says; undefined when it holds neither. */
function readAnyKey(bytes: Buffer): KeyFacts | undefined {
  for (const read of [readPrivateKeyPem, readPkcs8Der]) {
    try {
      return read(bytes);
    } catch {
      /* try the next encoding */
    }
  }
  return undefined;
}

/** Whether a key file holds the private key of one of these (CA) public keys. */
export function holdsKeyOf(bytes: Buffer, publicKeys: Iterable<PublicKeyFacts>): boolean {
  const key = readAnyKey(bytes);
  if (key === undefined) return false;
  for (const pub of publicKeys) if (keyMatchesPublicKey(key, pub)) return true;
  return false;
}

type Refuse = (why: string) => never;

function refuser(label: string): Refuse {
  return (why) => {
    throw new CertgenError(`refusing to distribute ${label}: ${why}`, {
      hint: 'distribute only ever sends a target\'s own folder; the CA key must stay off every node',
    });
  };
}

/**
 * The target's folder, resolved: it must exist, be `<certsDir>/<nodes|clients>/<name>` with no
 * symlinked detour, be a directory, and not hold the CA key's path.
 */
async function resolveFolder(sel: Selected, certsDir: string, ca: CaKeyFacts, refuse: Refuse): Promise<string> {
  const label = `${sel.kind} ${sel.name}`;
  let folderReal: string;
  try {
    folderReal = await fs.realpath(sel.folder);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new CertgenError(`${label}: ${sel.folder} does not exist`, { hint: 'run `certgen apply` first' });
    }
    throw new CertgenError(`${label}: cannot read ${sel.folder}: ${(err as Error).message}`);
  }
  let certsReal = path.resolve(certsDir);
  try {
    certsReal = await fs.realpath(certsDir);
  } catch {
    /* folderReal existing means certsDir exists; keep the lexical path otherwise */
  }
  const expectedReal = path.join(certsReal, sel.kind === 'node' ? 'nodes' : 'clients', sel.name);
  if (folderReal !== expectedReal) refuse(`${sel.folder} resolves to ${folderReal}, outside ${expectedReal}`);
  if (isInside(ca.real, folderReal) || isInside(ca.path, sel.folder)) refuse(`the CA key ${ca.path} is inside ${sel.folder}`);
  if (!(await fs.stat(folderReal)).isDirectory()) refuse(`${sel.folder} is not a directory`);
  return folderReal;
}

/**
 * Walks the whole folder, not just the files to send: no entry may be, link to or copy the CA key,
 * and no symlink may lead out of the folder.
 */
async function guardFolder(sel: Selected, folderReal: string, ca: CaKeyFacts, refuse: Refuse): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      const shown = path.join(sel.folder, path.relative(folderReal, p));
      const st = await fs.lstat(p);
      if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = await fs.realpath(p);
        } catch {
          target = path.resolve(path.dirname(p), await fs.readlink(p));
        }
        if (target === ca.real || target === ca.path) refuse(`${shown} is a symbolic link to the CA key`);
        if (!isInside(target, folderReal)) refuse(`${shown} is a symbolic link to ${target}, outside ${sel.folder}`);
      } else if (st.isDirectory()) {
        await walk(p);
      } else if (st.isFile()) {
        if (ca.stat !== undefined && st.dev === ca.stat.dev && st.ino === ca.stat.ino) refuse(`${shown} is the CA key (a hard link to ${ca.path})`);
        if (ca.bytes !== undefined && st.size === ca.bytes.length && (await fs.readFile(p)).equals(ca.bytes)) refuse(`${shown} is a copy of the CA key`);
      }
    }
  };
  await walk(folderReal);
}

/** The files to send with their modes and sums; each must be a regular file, no key the CA's. */
async function readTargetFiles(sel: Selected, caPublicKeys: CaPublicKeys, refuse: Refuse): Promise<LocalFile[]> {
  const label = `${sel.kind} ${sel.name}`;
  const files: LocalFile[] = [];
  for (const name of sel.expected) {
    const p = path.join(sel.folder, name);
    let st: Stats;
    try {
      st = await fs.lstat(p);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new CertgenError(`${label}: ${p} is missing`, { hint: 'run `certgen apply` first' });
      throw new CertgenError(`${label}: cannot read ${p}: ${(err as Error).message}`);
    }
    if (!st.isFile()) refuse(`${p} is not a regular file`);
    const bytes = await fs.readFile(p);
    const isKey = name.endsWith('.key') || name.endsWith('.key.pk8');
    if (isKey && holdsKeyOf(bytes, caPublicKeys.ca.values())) refuse(`${p} holds the CA's private key`);
    if (isKey && holdsKeyOf(bytes, caPublicKeys.clientCa.values())) refuse(`${p} holds the client CA's private key`);
    files.push({ name, path: p, mode: isKey ? KEY_MODE : CERT_MODE, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return files;
}

/**
 * Everything under the target's own folder, checked (see resolveFolder, guardFolder,
 * readTargetFiles). Returns the files to send with their sums; throws CertgenError otherwise.
 */
/** The public keys of the CAs (ca.crt's, and a split client CA's of ca-client.crt), by SPKI: a key file that is the private half of one is a CA key. */
export interface CaPublicKeys {
  ca: Map<string, PublicKeyFacts>;
  clientCa: Map<string, PublicKeyFacts>;
}

export async function inspectLocal(sel: Selected, certsDir: string, ca: CaKeyFacts, caPublicKeys: CaPublicKeys): Promise<LocalFile[]> {
  const refuse = refuser(`${sel.kind} ${sel.name}`);
  const folderReal = await resolveFolder(sel, certsDir, ca, refuse);
  await guardFolder(sel, folderReal, ca, refuse);
  return readTargetFiles(sel, caPublicKeys, refuse);
}
