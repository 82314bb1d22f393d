// The names file writes are staged under before they are renamed into place. Kept here, not in
// io/files.ts, because plan must recognise what a killed apply left behind too.

/** `.<name>.<12 hex>.tmp`, and `.old` after it for a backup link: the only names staging makes. */
const STAGING_NAME = /^\.(.+)\.[0-9a-f]{12}\.tmp(?:\.old)?$/;

/** gitignore(5) patterns matching every staged name (and the lock's, `.certgen.lock.<pid>.<hex>.tmp`). */
export const STAGING_GLOBS = ['.*.tmp', '.*.tmp.old'] as const;

/** The staged name for `target` (a base name) with 12 hex digits of randomness. */
export function stagingName(target: string, hex12: string): string {
  return `.${target}.${hex12}.tmp`;
}

/** The base name a staged file (or its backup link) stands in for, or undefined for other names. */
export function stagedTarget(name: string): string | undefined {
  return STAGING_NAME.exec(name)?.[1];
}
