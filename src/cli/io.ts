// What every command's module gets from main(): the streams and environment, and the chosen run.
// A leaf of its own, so the command modules never import main.ts (which imports them).

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stdoutIsTTY: boolean;
  /** Whether stderr is a terminal (check's findings go there); false when not given. */
  stderrIsTTY?: boolean;
  env: NodeJS.ProcessEnv;
}

/** What the parse chose: a command's action records it here and main() runs it. */
export interface Run {
  action?: () => Promise<void>;
  /** The command path in error messages, e.g. `cert create-ca`. */
  path: string;
  exitCode?: number;
}
