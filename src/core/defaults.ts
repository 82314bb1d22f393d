// cockroach's defaults, shared by `certgen cert` and the declarative spec.
import { NS_PER_HOUR } from './duration.js';

/** RSA modulus size for every new key (`defaultKeySize`). */
export const DEFAULT_KEY_SIZE = 2048;
/** 10 × 366 days: `defaultCALifetime`, printed `87840h0m0s`. */
export const DEFAULT_CA_LIFETIME = 87840n * NS_PER_HOUR;
/** 5 × 366 days: `defaultCertLifetime`; shorter than the CA's so leaves fit inside it. */
export const DEFAULT_CERT_LIFETIME = 43920n * NS_PER_HOUR;
/** The hosts of a tenant client certificate when none are given (`create-tenant-client`; cockroach#71387's CI needed them). */
export const DEFAULT_TENANT_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost', '*.local'];
