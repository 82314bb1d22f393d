// The client certificates a probe can present: a client's own files from the tree
// (`--verify-client USER`), or a probe certificate made in memory for this run, signed in-process
// by the local CA key (which is read where it lies and goes nowhere). The probe certificate's key
// and PEM never touch the disk; the caller zeroes the key buffer when done.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { clientCertName, clientKeyName } from '../core/cert-names.js';
import { CertgenError } from '../errors.js';
import { issueCertificate } from '../pki/issue.js';
import { toSigner } from '../pki/keys.js';
import { findPrivateKeyBlock, loadPrivateKeyBlock } from '../pki/read/key.js';
import { decodePem } from '../pki/read/pem.js';
import { x509 } from '../pki/x509.js';
import type { ClientCredentials } from './probe.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The probe certificate's CN: a SQL user no cluster has, so the certificate logs nobody in. */
export const PROBE_COMMON_NAME = 'certgen-probe';
/** How long the probe certificate is valid: one run. */
export const PROBE_LIFETIME_MS = 15 * 60_000;

/** A client's certificate and key from `<certsDir>/clients/<user>/`. */
export async function clientCredentials(certsDir: string, user: string): Promise<ClientCredentials> {
  const folder = path.join(certsDir, 'clients', user);
  const certPath = path.join(folder, clientCertName(user));
  const keyPath = path.join(folder, clientKeyName(user));
  let cert: string;
  let key: Buffer;
  try {
    cert = await fs.readFile(certPath, 'latin1');
    key = await fs.readFile(keyPath);
  } catch (err) {
    throw new CertgenError(`--verify-client ${user}: cannot read ${(err as NodeJS.ErrnoException).path ?? folder}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: `the user needs a client certificate in the spec (clients: - user: ${user}) and \`certgen apply\``,
    });
  }
  return { label: `client ${user}`, cert, key, user };
}

/**
 * A client certificate for CN {@link PROBE_COMMON_NAME}, valid {@link PROBE_LIFETIME_MS}, with a
 * fresh ECDSA P-256 key, signed by the CA key at `caKeyPath` as issuer `caCertPath`.
 */
export async function probeCredentials(caCertPath: string, caKeyPath: string, now: Date): Promise<ClientCredentials> {
  let caCertText: Buffer;
  let caKeyText: string;
  try {
    caCertText = await fs.readFile(caCertPath);
    caKeyText = await fs.readFile(caKeyPath, 'latin1');
  } catch (err) {
    throw new CertgenError(`cannot make the probe certificate: ${(err as Error).message}`, { hint: 'the probe certificate is signed by the CA key; without it, use --verify-client USER' });
  }
  return probeCredentialsFrom(caCertText, caKeyText, now, { cert: caCertPath, key: caKeyPath });
}

/**
 * {@link probeCredentials} from a CA certificate and key in memory (the first certificate of
 * `caCertPem` is the issuer): a CA rotation signs probes as a CA that is in no file of the tree.
 */
export async function probeCredentialsFrom(caCertPem: Buffer | string, caKeyPem: string, now: Date, names: { cert: string; key: string } = { cert: 'the CA certificate', key: 'the CA key' }): Promise<ClientCredentials> {
  const first = decodePem(Buffer.from(caCertPem)).find((b) => b.type === 'CERTIFICATE');
  if (first === undefined) throw new CertgenError(`cannot make the probe certificate: ${names.cert} holds no certificate`);
  let caKey;
  try {
    caKey = loadPrivateKeyBlock(findPrivateKeyBlock(caKeyPem)).key;
  } catch (err) {
    throw new CertgenError(`cannot make the probe certificate: ${names.key}: ${(err as Error).message}`);
  }
  const issuer = new x509.X509Certificate(new Uint8Array(first.der));
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
  const cert = await issueCertificate({
    kind: 'client',
    subjectKey: privateKey,
    signer: await toSigner(caKey),
    issuer,
    commonName: PROBE_COMMON_NAME,
    now,
    lifetimeMs: PROBE_LIFETIME_MS,
    serial: randomBytes(16),
  });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { label: 'probe certificate', cert: cert.toString('pem'), key: Buffer.from(key, 'latin1'), user: PROBE_COMMON_NAME };
}
