// The I/O edge of the spec: reads cluster-certs.yaml and hands its text to the pure parseSpec.
// Turns every way of failing (missing, a directory, unreadable, invalid) into a CertgenError
// with a one-line message per problem, never a stack trace.

import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { CertgenError } from '../errors.js';
import { formatDiagnostic, parseSpec } from './parse-spec.js';
import type { ClusterSpec, Diagnostic } from './spec.js';

/** The spec file `certgen plan` and `certgen apply` read when none is given. */
export { DEFAULT_SPEC_FILE } from './spec.js';
import { DEFAULT_SPEC_FILE } from './spec.js';

/** A spec that failed validation: every diagnostic, in file order. The message is all of them, one per line. */
export class SpecError extends CertgenError {
  readonly diagnostics: Diagnostic[];
  /** Warnings found alongside the errors. */
  readonly warnings: Diagnostic[];
  constructor(diagnostics: Diagnostic[], warnings: Diagnostic[] = []) {
    super(diagnostics.map(formatDiagnostic).join('\n'), { code: 'spec-invalid' });
    this.name = 'SpecError';
    this.diagnostics = diagnostics;
    this.warnings = warnings;
  }
}

export interface LoadSpecOptions {
  /** Called with each warning of a valid spec (e.g. a host listed twice), in file order. */
  onWarning?: (warning: Diagnostic) => void;
}

/**
 * Reads and validates a cluster spec. Relative paths inside it are resolved against its folder,
 * `~/` against the user's home.
 *
 * @param file - the spec's path as the user gave it (echoed in messages).
 * @throws {@link SpecError} listing every problem when the spec is invalid;
 *   {@link CertgenError} when the file is missing, a directory, unreadable or not UTF-8 text.
 */
export async function loadSpec(file: string, options: LoadSpecOptions = {}): Promise<ClusterSpec> {
  const text = await readSpecText(file);
  const result = parseSpec(text, file, { cwd: process.cwd(), homeDir: homedir() });
  if (!result.ok) throw new SpecError(result.diagnostics, result.warnings);
  for (const w of result.warnings) options.onWarning?.(w);
  return result.spec;
}

async function readSpecText(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw await describeReadError(file, err);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new CertgenError(`spec file ${file} is not UTF-8 text`, { cause: err });
  }
}

async function describeReadError(file: string, err: unknown): Promise<CertgenError> {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new CertgenError(`spec file ${file} not found`, {
        cause: err,
        hint: `Pass the spec's path, as in: certgen plan FILE (FILE defaults to ./${DEFAULT_SPEC_FILE}); examples/${DEFAULT_SPEC_FILE} shows the format.`,
      });
    case 'EISDIR': {
      const inside = path.join(file, DEFAULT_SPEC_FILE);
      const exists = await access(inside).then(
        () => true,
        () => false,
      );
      return new CertgenError(`${file} is a directory, not a spec file`, {
        cause: err,
        hint: exists ? `Did you mean ${inside}?` : `Pass the spec file itself, as in: certgen plan FILE.`,
      });
    }
    case 'EACCES':
    case 'EPERM':
      return new CertgenError(`cannot read spec file ${file}: permission denied`, { cause: err });
    case 'ENOTDIR':
      return new CertgenError(`spec file ${file} not found: a folder in its path is a file`, { cause: err });
    default: {
      const reason = err instanceof Error ? err.message : String(err);
      return new CertgenError(`cannot read spec file ${file}: ${reason}`, { cause: err });
    }
  }
}
