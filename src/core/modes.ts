// File modes certgen gives what it writes: keys 0600 (cockroach refuses more than 0700, or 0740
// for root-owned keys), certificates 0644, folders 0700.
export const KEY_MODE = 0o600;
export const CERT_MODE = 0o644;
export const DIR_MODE = 0o700;
