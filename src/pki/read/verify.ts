// The one signature check, and issuer matching for reports.
import { X509Certificate as NodeX509, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { hasCanonicalForm } from './cert.js';
import type { CertFacts } from './types.js';

const keys = new WeakMap<CertFacts, KeyObject | null>();

/** node:crypto's view of the certificate's public key; undefined when it cannot use it. */
export function publicKeyObject(cert: CertFacts): KeyObject | undefined {
  if (!keys.has(cert)) {
    try {
      keys.set(cert, createPublicKey({ key: Buffer.from(cert.publicKey.spki), format: 'der', type: 'spki' }));
    } catch {
      keys.set(cert, null);
    }
  }
  return keys.get(cert) ?? undefined;
}

/** Verdicts so far, per certificate and key: the reader shares one CertFacts per content, so the
 * plan's check of a leaf is report's too (a thousand RSA verifications are not done twice). */
const verdicts = new WeakMap<CertFacts, WeakMap<KeyObject, boolean>>();

/** Whether `cert` carries a valid signature by `issuer`'s key (and the algorithm fits that key). */
export function isSignedBy(cert: CertFacts, issuer: CertFacts | KeyObject): boolean {
  const key = 'publicKey' in issuer && 'der' in issuer ? publicKeyObject(issuer) : (issuer as KeyObject);
  if (!key || cert.signatureHash === undefined || key.asymmetricKeyType !== cert.signatureKeyType) return false;
  let byKey = verdicts.get(cert);
  const known = byKey?.get(key);
  if (known !== undefined) return known;
  let ok: boolean;
  try {
    ok = cryptoVerify(cert.signatureHash, cert.tbs, key, cert.signature);
  } catch {
    ok = false;
  }
  if (!byKey) verdicts.set(cert, (byKey = new WeakMap()));
  byKey.set(key, ok);
  return ok;
}

/**
 * Whether `issuer` issued `cert`, as node:crypto's `checkIssued(issuer) && verify(issuer.publicKey)`
 * (OpenSSL 3's X509_check_issued): the names in their canonical forms, the authority key id
 * against the subject key id, the issuer's keyCertSign usage, then the signature. Names the fast
 * reading has no canonical form for are compared by node:crypto.
 */
export function issuedBy(cert: CertFacts, issuer: CertFacts): boolean {
  const a = cert.issuer.canon;
  const b = issuer.subject.canon;
  if (!hasCanonicalForm(cert.issuer) || !hasCanonicalForm(issuer.subject)) {
    try {
      return new NodeX509(cert.der).checkIssued(new NodeX509(issuer.der)) && isSignedBy(cert, issuer);
    } catch {
      return false;
    }
  }
  if (a.length !== b.length || a.some((c, k) => c !== b[k])) return false;
  if (cert.authorityKeyId && issuer.subjectKeyId && !Buffer.from(cert.authorityKeyId).equals(Buffer.from(issuer.subjectKeyId))) return false;
  // Go numbers keyCertSign 1 << 5.
  if (issuer.keyUsage !== undefined && !(issuer.keyUsage & (1 << 5))) return false;
  return isSignedBy(cert, issuer);
}
