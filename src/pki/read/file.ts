// A certificate or key file's contents, read once: every reader of one command (the plan's diff,
// the report's rows) asks here, and the answer (or the refusal) for a given Buffer is kept as long
// as the Buffer lives. The tree reader hands out one Buffer per distinct content (every folder's
// ca.crt is the same bytes), so identical files are parsed once too.
import { channel } from 'node:diagnostics_channel';
import { parseCertificate } from './cert.js';
import { readPkcs8Der, readPrivateKeyPem, type KeyFacts } from './key.js';
import { pemToCertificateBlocks } from './pem.js';
import { CertReadError, type CertFacts } from './types.js';

/** Why a certificate file holds no usable certificates. */
export type CertFileProblem =
  | { kind: 'empty' }
  /** A PEM block that is not a CERTIFICATE (security.PEMToCertificates' refusal). */
  | { kind: 'pem'; message: string }
  | { kind: 'none' }
  /** Certificate `index` (from 0) is one Go refuses; `message` is Go's text. */
  | { kind: 'cert'; index: number; message: string };

export class CertFileError extends Error {
  readonly problem: CertFileProblem;
  constructor(problem: CertFileProblem) {
    super(problem.kind === 'empty' ? 'empty certificate file' : problem.kind === 'none' ? 'no certificates found' : problem.kind === 'pem' ? problem.message : `certificate ${problem.index}: ${problem.message}`);
    this.name = 'CertFileError';
    this.problem = problem;
  }
}

/**
 * Published once per parse actually done (not per cache hit), with the file's bytes: tests count
 * them to hold "each certificate file is parsed once per command".
 */
export const parseChannel = channel('certgen:parse');

const certMemo = new WeakMap<Uint8Array, CertFacts[] | CertFileError>();
const keyMemo = new WeakMap<Uint8Array, KeyFacts | Error>();
const pk8Memo = new WeakMap<Uint8Array, KeyFacts | Error>();

/** Every certificate of a PEM file, as Go reads them. Throws a CertFileError. */
export function readCertificateFile(bytes: Uint8Array): CertFacts[] {
  let got = certMemo.get(bytes);
  if (got === undefined) {
    got = parseCertFile(bytes);
    certMemo.set(bytes, got);
    if (parseChannel.hasSubscribers) parseChannel.publish({ kind: 'certificate', bytes });
  }
  if (got instanceof CertFileError) throw got;
  return got;
}

function parseCertFile(bytes: Uint8Array): CertFacts[] | CertFileError {
  if (bytes.length === 0) return new CertFileError({ kind: 'empty' });
  let blocks: Buffer[];
  try {
    blocks = pemToCertificateBlocks(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    return new CertFileError({ kind: 'pem', message: (err as Error).message });
  }
  if (blocks.length === 0) return new CertFileError({ kind: 'none' });
  const out: CertFacts[] = [];
  for (const [index, der] of blocks.entries()) {
    try {
      out.push(parseCertificate(der));
    } catch (err) {
      // Go's words (what a CockroachDB node logs for this file); anything else the reader threw
      // is a structure it could not walk, which Go calls malformed.
      return new CertFileError({ kind: 'cert', index, message: err instanceof CertReadError ? err.message : 'x509: malformed certificate' });
    }
  }
  return out;
}

/** The private key of a PEM file (the first `… PRIVATE KEY` block). Throws the reader's error. */
export function readKeyFile(bytes: Uint8Array): KeyFacts {
  return once(keyMemo, bytes, readPrivateKeyPem, 'key');
}

/** The private key of a DER PKCS#8 file (a client's `.key.pk8`). Throws the reader's error. */
export function readPkcs8File(bytes: Uint8Array): KeyFacts {
  return once(pk8Memo, bytes, readPkcs8Der, 'pkcs8');
}

function once(memo: WeakMap<Uint8Array, KeyFacts | Error>, bytes: Uint8Array, read: (b: Uint8Array) => KeyFacts, kind: string): KeyFacts {
  let got = memo.get(bytes);
  if (got === undefined) {
    try {
      got = read(bytes);
    } catch (err) {
      got = err as Error;
    }
    memo.set(bytes, got);
    if (parseChannel.hasSubscribers) parseChannel.publish({ kind, bytes });
  }
  if (got instanceof Error) throw got;
  return got;
}
