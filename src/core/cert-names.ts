// File names in a CockroachDB certs directory (pkg/security/certnames, CertInfoFromFilename).

export type PemUsage = 'CA' | 'Client CA' | 'Tenant Client CA' | 'UI CA' | 'Node' | 'UI' | 'Client' | 'Tenant Client' | 'Tenant Signing';

export const CA_CERT = 'ca.crt';
export const CLIENT_CA_CERT = 'ca-client.crt';
export const TENANT_CA_CERT = 'ca-client-tenant.crt';
export const UI_CA_CERT = 'ca-ui.crt';
export const UI_CERT = 'ui.crt';
export const UI_KEY = 'ui.key';
export const NODE_CERT = 'node.crt';
export const NODE_KEY = 'node.key';
export const clientCertName = (user: string): string => `client.${user}.crt`;
export const clientKeyName = (user: string): string => `client.${user}.key`;
export const clientPkcs8Name = (user: string): string => `client.${user}.key.pk8`;
export const tenantCertName = (id: string): string => `client-tenant.${id}.crt`;
export const tenantKeyName = (id: string): string => `client-tenant.${id}.key`;
export const tenantSigningCertName = (id: string): string => `tenant-signing.${id}.crt`;
export const tenantSigningKeyName = (id: string): string => `tenant-signing.${id}.key`;

export const CERT_EXTENSION = '.crt';
export const KEY_EXTENSION = '.key';

export function isCAUsage(u: PemUsage): boolean {
  return u === 'CA' || u === 'Client CA' || u === 'Tenant Client CA' || u === 'UI CA';
}

export interface CertFileName {
  usage: PemUsage;
  /** The user of a client cert, or the tenant id of tenant files. */
  name: string;
}

/**
 * Parses a `.crt` file name the way cockroach's certificate loader does. Returns the reason a
 * name is not a CockroachDB certificate name instead of throwing.
 */
export function parseCertFileName(filename: string): CertFileName | { error: string } {
  const parts = filename.split('.');
  if (parts.length < 2) return { error: 'not enough parts found' };
  const prefix = parts[0] ?? '';
  const middle = parts.slice(1, -1).join('.');
  const exact = (usage: PemUsage, what: string): CertFileName | { error: string } =>
    parts.length === 2 ? { usage, name: '' } : { error: `${what} filename should match ${prefix}${CERT_EXTENSION}` };
  const named = (usage: PemUsage, what: string, placeholder: string): CertFileName | { error: string } =>
    middle.length > 0 ? { usage, name: middle } : { error: `${what} filename should match ${prefix}.<${placeholder}>${CERT_EXTENSION}` };
  switch (prefix) {
    case 'ca':
      return exact('CA', 'CA certificate');
    case 'ca-client':
      return exact('Client CA', 'client CA certificate');
    case 'ca-client-tenant':
      return exact('Tenant Client CA', 'tenant CA certificate');
    case 'ca-ui':
      return exact('UI CA', 'UI CA certificate');
    case 'node':
      return exact('Node', 'node certificate');
    case 'ui':
      return exact('UI', 'UI certificate');
    case 'client':
      return named('Client', 'client certificate', 'user');
    case 'client-tenant':
      return named('Tenant Client', 'tenant certificate', 'tenantid');
    case 'tenant-signing':
      return named('Tenant Signing', 'tenant signing certificate', 'tenantid');
    default:
      return { error: `unknown prefix ${JSON.stringify(prefix)}` };
  }
}

/** The key that belongs to a certificate file: `node.crt` → `node.key`. */
export function keyFileFor(certFile: string): string {
  return certFile.slice(0, -CERT_EXTENSION.length) + KEY_EXTENSION;
}

/** The CA certificate's common name, as `cockroach cert create-ca` writes it. */
export const CA_COMMON_NAME = 'Cockroach CA';

/** The O of every certificate cockroach makes (not of tenant signing certificates). */
export const ORGANIZATION = 'Cockroach';
/** `OU=Tenants`: marks a tenant client certificate, so it cannot be used as a user's (TenantsOU). */
export const TENANTS_OU = 'Tenants';

/** `CN=Tenant <id> Token Signing Certificate`, the whole subject (and issuer) of a tenant signing certificate. */
export function tenantSigningCommonName(tenantId: string): string {
  return `Tenant ${tenantId} Token Signing Certificate`;
}
