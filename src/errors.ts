// The error vocabulary shared by the library and the CLI. Only src/cli/main.ts turns these into
// stderr text and exit codes; library callers get typed errors they can inspect.

/** Exit codes, as `cockroach` uses them (pkg/cli/exit/codes.go) plus certgen's own. */
export const EXIT = {
  ok: 0,
  /** Any failure of a command (`exit.UnspecifiedError`). */
  error: 1,
  /** `plan --detailed-exitcode`: changes are pending (terraform's convention). */
  changes: 2,
  /** Bad flags or flag values (`exit.CommandLineFlagError`). */
  usage: 4,
} as const;

/**
 * A user-facing failure: the message is what an operator reads after `ERROR: `, the hint is printed
 * as `HINT: …` below it. Never carries a stack trace to the terminal.
 */
/**
 * What kind of failure a CertgenError is, for callers that must tell them apart without loading
 * the module that defines the subclass (the CLI loads spec and apply code only when it runs them).
 */
export type ErrorCode = 'error' | 'usage' | 'spec-invalid' | 'plan-blocked' | 'plan-stale' | 'journal-broken' | 'rotation';

export class CertgenError extends Error {
  readonly hint: string | undefined;
  /** A stable code; subclasses set their own. */
  readonly code: ErrorCode;
  /**
   * Set on failures to read or create the certs directory (CockroachDB's ErrCertManagement mark):
   * the CLI then prefixes the message with cockroach's "cannot load certificates." advice.
   */
  readonly certManagement: boolean;
  constructor(message: string, options: { hint?: string; cause?: unknown; certManagement?: boolean; code?: ErrorCode } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CertgenError';
    this.code = options.code ?? 'error';
    this.hint = options.hint;
    this.certManagement = options.certManagement ?? false;
  }

  /** `prefix: message`, as Go's errors.Wrap does, keeping the hint and the mark. */
  wrap(prefix: string): CertgenError {
    return new CertgenError(`${prefix}: ${this.message}`, { hint: this.hint, cause: this, certManagement: this.certManagement, code: this.code });
  }
}

/** A flag or argument the CLI could not accept: exit code 4, usage printed first. */
export class UsageError extends CertgenError {
  constructor(message: string) {
    super(message, { code: 'usage' });
    this.name = 'UsageError';
  }
}

/** Wraps any error's message with a Go-style prefix, preserving CertgenError hints. */
export function wrapError(prefix: string, err: unknown): CertgenError {
  if (err instanceof CertgenError) return err.wrap(prefix);
  const message = err instanceof Error ? err.message : String(err);
  return new CertgenError(`${prefix}: ${message}`, { cause: err });
}
