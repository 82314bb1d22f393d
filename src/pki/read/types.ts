// What certgen knows about a certificate or a private key once it has been read: one shape for
// every command (plan, apply, report, check, `cert list`, `cert create-*`, distribute).

/** Why a certificate was refused, in Go's words (what a CockroachDB node would log). */
export type CertReadCode =
  | 'truncated' // asn1/cryptobyte ran out of input
  | 'trailing-data' // bytes after the certificate's DER
  | 'malformed' // a structure Go's parser refuses (bad tag, length, encoding)
  | 'bad-version'
  | 'bad-serial'
  | 'signature-algorithm-mismatch'
  | 'bad-name'
  | 'bad-time'
  | 'bad-public-key'
  | 'bad-extension'
  | 'duplicate-extension'
  | 'bad-san';

/** A certificate Go's x509.ParseCertificate would refuse; `message` is Go's own text (`x509: …`). */
export class CertReadError extends Error {
  readonly code: CertReadCode;
  constructor(code: CertReadCode, message: string) {
    super(message);
    this.name = 'CertReadError';
    this.code = code;
  }
}

export interface NameFacts {
  /** The Name's DER (for issuer↔subject comparison and for signing as issuer). */
  der: Uint8Array;
  /** As @peculiar/x509's `subject`/`issuer` strings print it (e.g. `O=Cockroach, CN=node`). */
  text: string;
  /** OpenSSL's canonical form of each RDN (X509_NAME_cmp), for issuer matching. */
  canon: string[];
  /** The first CN and O, when present. */
  cn: string | undefined;
  o: string | undefined;
}

export interface PublicKeyFacts {
  /** 'rsa' | 'ec' | 'ed25519' as node:crypto's asymmetricKeyType; otherwise the algorithm OID. */
  type: string;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** RSA: modulus (no sign padding) and exponent, and the modulus size in bits. */
  rsaModulus?: Uint8Array;
  rsaExponent?: Uint8Array;
  bits?: number;
  /** ECDSA: 'P-256' | 'P-384' | 'P-521'. */
  curve?: string;
}

export interface SanFacts {
  /** DNS names in certificate order. */
  dns: string[];
  /** IP addresses in certificate order, as Go's net.IP.String prints them. */
  ips: string[];
  emails: string[];
  uris: string[];
  /** Any other GeneralName, as `tag<n>`. */
  other: string[];
}

export interface CertFacts {
  /** The certificate's whole DER. */
  der: Uint8Array;
  /** 1, 2 or 3. */
  version: number;
  /** Serial as node:crypto's X509Certificate.serialNumber prints it (uppercase hex of the magnitude). */
  serial: string;
  subject: NameFacts;
  issuer: NameFacts;
  notBefore: Date;
  notAfter: Date;
  publicKey: PublicKeyFacts;
  san: SanFacts;
  /** Key usage bits as Go numbers them (x509.KeyUsage: digitalSignature = 1, … keyCertSign = 32); undefined when absent. */
  keyUsage: number | undefined;
  /** Extended key usage OIDs, when present. */
  extKeyUsage: string[] | undefined;
  /** Basic constraints, when present. */
  basicConstraints: { ca: boolean; pathLen: number | undefined } | undefined;
  subjectKeyId: Uint8Array | undefined;
  authorityKeyId: Uint8Array | undefined;
  /** Critical extensions Go does not handle: a chain through this certificate fails Verify. */
  unhandledCritical: string[];
  /** Signature algorithm OID, the hash it uses (null for Ed25519, undefined when unknown), the key type it needs. */
  signatureAlgorithm: string;
  signatureHash: string | null | undefined;
  signatureKeyType: string | undefined;
  /** The TBSCertificate DER (what is signed) and the signature bytes. */
  tbs: Uint8Array;
  signature: Uint8Array;
  /** SHA-256 of the DER, `AA:BB:…` as node:crypto's fingerprint256 (computed on first use). */
  readonly fingerprint: string;
}
