// Key types certgen generates, and how they are named: one list for the spec, the plan, the
// `--key-type` flag and the reports. cockroach itself only writes RSA; the others are a certgen
// extension (CockroachDB loads any key Go's tls.X509KeyPair parses).
import { DEFAULT_KEY_SIZE } from './defaults.js';

export const KEY_TYPES = ['rsa', 'ecdsa-p256', 'ecdsa-p384', 'ed25519'] as const;

export type KeyType = (typeof KEY_TYPES)[number];

export const DEFAULT_KEY_TYPE: KeyType = 'rsa';

/** A key to generate: RSA has a size, the others are fixed by their curve. */
export type KeyParams = { type: 'rsa'; bits: number } | { type: 'ecdsa-p256' } | { type: 'ecdsa-p384' } | { type: 'ed25519' };

/** The key of a tenant signing certificate: always Ed25519 (GenerateTenantSigningCert), whatever keyType says. */
export const TENANT_SIGNING_KEY = { type: 'ed25519' } as const satisfies KeyParams;

export function isKeyType(s: string): s is KeyType {
  return (KEY_TYPES as readonly string[]).includes(s);
}

/** The parameters for a type; `bits` is used by RSA only. */
export function keyParams(type: KeyType, bits: number = DEFAULT_KEY_SIZE): KeyParams {
  return type === 'rsa' ? { type, bits } : { type };
}

/** The curve of an ECDSA type, in node:crypto's and WebCrypto's name. */
export function curveOf(type: KeyType): 'P-256' | 'P-384' | undefined {
  return type === 'ecdsa-p256' ? 'P-256' : type === 'ecdsa-p384' ? 'P-384' : undefined;
}

/** What a person reads: `RSA 2048`, `ECDSA P-256`, `Ed25519`. */
export function keyParamsText(p: KeyParams): string {
  if (p.type === 'rsa') return `RSA ${p.bits}`;
  if (p.type === 'ed25519') return 'Ed25519';
  return `ECDSA ${curveOf(p.type)}`;
}

/** The same text from what a reader found in a file (node:crypto's type, RSA bits, EC curve). */
export function keyFactsText(k: { type: string; bits?: number; curve?: string }): string {
  if (k.type === 'rsa') return `RSA ${k.bits ?? 0}`;
  if (k.type === 'ec') return `ECDSA ${k.curve ?? '?'}`;
  if (k.type === 'ed25519') return 'Ed25519';
  return k.type;
}

/** The certgen type of a key found in a file, when it is one certgen generates. */
export function keyTypeOf(k: { type: string; curve?: string }): KeyType | undefined {
  if (k.type === 'rsa') return 'rsa';
  if (k.type === 'ed25519') return 'ed25519';
  if (k.type === 'ec' && k.curve === 'P-256') return 'ecdsa-p256';
  if (k.type === 'ec' && k.curve === 'P-384') return 'ecdsa-p384';
  return undefined;
}
