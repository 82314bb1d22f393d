// check's exit codes, in a module light enough for the CLI's help text (check.ts itself pulls in
// the spec parser and the planner).

export const CHECK_EXIT = { ok: 0, error: 1, drift: 2, expiring: 3 } as const;
export type CheckExitCode = (typeof CHECK_EXIT)[keyof typeof CHECK_EXIT];

/** Help text for `certgen check --help` and the README. */
export const CHECK_EXIT_CODES_HELP = `Exit codes:
  0  ok: the certs dir matches the spec and nothing expires within the window
  1  error: the spec is invalid or unreadable, the certs dir cannot be read, or the plan has
     errors that would stop apply (missing or mismatched CA key, expired CA, ...), or git
     tracks or stages a private key (key-tracked) or would take one (key-not-ignored)
  2  drift: the certs dir differs from the spec (what \`certgen plan\` would change; orphans
     only with --prune)
  3  expiring: a certificate expires within --within (default: within its own renewBefore;
     for the CA, inside its rotation window)
  4  a flag or flag value was not accepted
When several apply, the most severe wins: 1, then 3, then 2, then 0.`;
