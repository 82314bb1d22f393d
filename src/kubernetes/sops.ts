// SOPS's file format, written natively for age recipients, as `sops --encrypt --encrypted-regex
// '^(data|stringData)$' --age …` writes a Kubernetes manifest (getsops/sops: sops.go Tree.Encrypt,
// aes/cipher.go, stores/stores.go, age/keysource.go), so `sops -d`, Flux's kustomize-controller
// and KSOPS decrypt it:
// - a random 32-byte data key; each value under a key matching encrypted_regex becomes
//   `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]`, AES-256-GCM with a 32-byte IV and, as
//   additional data, the value's path of keys joined by ':' plus a final ':' (list indices are not
//   part of the path);
// - the MAC: SHA-512 over every value (encrypted or not) in document order, as uppercase hex,
//   itself encrypted like a value with `lastmodified` (RFC 3339) as additional data;
// - the data key armored-age-encrypted for each recipient, in `sops.age[]`.
// The sops binary is not packaged by Debian; the tests check the result with the independent
// `sops-age` library, age's CLI and Go's AES-GCM.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { encryptArmored, parseRecipients } from '../pki/age.js';
import { CertgenError } from '../errors.js';

export const SOPS_ENCRYPTED_REGEX = '^(data|stringData)$';
/** The SOPS release whose file format this is (the `version` sops writes). */
export const SOPS_FORMAT_VERSION = '3.9.4';
const ENCRYPTED = new RegExp(SOPS_ENCRYPTED_REGEX);
/** YAML 1.1 quoting (what Go's yaml readers in kubectl and sops apply): a timestamp- or number-like string stays a string. */
export const YAML_OPTIONS = { lineWidth: 0, version: '1.1' } as const;

type Tree = { [key: string]: Value };
type Value = string | Tree | Value[];

/** Visits every leaf in document order with its path of keys (list indices left out, as sops does). */
function walk(v: Value, path: string[], leaf: (s: string, path: string[]) => string): Value {
  if (typeof v === 'string') return leaf(v, path);
  if (Array.isArray(v)) return v.map((x) => walk(x, path, leaf));
  if (typeof v === 'object' && v !== null) {
    const out: Tree = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, [...path, k], leaf);
    return out;
  }
  // Only strings are written (every Kubernetes value certgen emits is one).
  throw new CertgenError(`internal: SOPS value of type ${typeof v} at ${path.join('.')}`);
}

function encryptValue(plain: string, key: Buffer, aad: string): string {
  if (plain === '') return '';
  const iv = randomBytes(32);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:str]`;
}

/** RFC 3339 in UTC as Go's time.RFC3339 prints it. */
function lastModified(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The SOPS-encrypted YAML of `doc` for the age `recipients`. */
export async function sopsEncryptYaml(doc: Tree, recipients: readonly string[], now: Date): Promise<string> {
  const list = parseRecipients(recipients);
  const key = randomBytes(32);
  const mac = createHash('sha512');
  const encrypted = walk(doc, [], (s, path) => {
    mac.update(s, 'utf8');
    return path.some((p) => ENCRYPTED.test(p)) ? encryptValue(s, key, `${path.join(':')}:`) : s;
  }) as Tree;
  const modified = lastModified(now);
  const age = [];
  for (const recipient of list) age.push({ recipient, enc: await encryptArmored(key, [recipient]) });
  const sops = {
    age,
    lastmodified: modified,
    mac: encryptValue(mac.digest('hex').toUpperCase(), key, modified),
    encrypted_regex: SOPS_ENCRYPTED_REGEX,
    version: SOPS_FORMAT_VERSION,
  };
  key.fill(0);
  return stringify({ ...encrypted, sops }, YAML_OPTIONS);
}

/** What a document is without its secrets: every value under an encrypted key replaced. */
function skeleton(doc: Tree): Tree {
  return walk(doc, [], (s, path) => (path.some((p) => ENCRYPTED.test(p)) ? '' : s)) as Tree;
}

/**
 * Whether `existing` (a file's text) is already the SOPS encryption of `doc` for `recipients`,
 * judged without decrypting: the same recipients and rule, every secret value encrypted, and
 * everything else (names, keys and the annotations that hash the certificate, key and bundle)
 * equal. SOPS output is random, so re-encrypting unchanged content would churn git on every apply.
 */
export function sopsUpToDate(existing: string, doc: Tree, recipients: readonly string[]): boolean {
  let parsed: unknown;
  try {
    parsed = parse(existing);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  const { sops, ...rest } = parsed as Tree & { sops?: unknown };
  const meta = sops as { age?: { recipient?: unknown; enc?: unknown }[]; encrypted_regex?: unknown; mac?: unknown; lastmodified?: unknown } | undefined;
  if (typeof meta !== 'object' || meta === null || !Array.isArray(meta.age) || meta.encrypted_regex !== SOPS_ENCRYPTED_REGEX || typeof meta.mac !== 'string' || typeof meta.lastmodified !== 'string') return false;
  const have = meta.age.map((a) => a.recipient).filter((r): r is string => typeof r === 'string');
  const want = [...new Set(recipients)];
  if (have.length !== meta.age.length || have.length !== want.length || want.some((r) => !have.includes(r))) return false;
  let allEncrypted = true;
  try {
    walk(rest as Tree, [], (s, path) => {
      if (path.some((p) => ENCRYPTED.test(p)) && !/^ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:str\]$/.test(s)) allEncrypted = false;
      return s;
    });
  } catch {
    return false;
  }
  return allEncrypted && JSON.stringify(skeleton(rest as Tree)) === JSON.stringify(skeleton(doc));
}
