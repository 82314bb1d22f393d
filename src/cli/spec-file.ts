// The cluster spec file that validate, plan, apply, distribute, report and check read: the
// optional [file] argument, the action that loads it, and the labels its paths are shown with.
import path from 'node:path';
import { DEFAULT_SPEC_FILE, type ClusterSpec } from '../cluster-spec/spec.js';
import type { Io, Run } from './io.js';

export const SPEC_FILE_ARGUMENT = `the cluster spec (default ./${DEFAULT_SPEC_FILE})`;

/** Loads the spec, printing its warnings on stderr. */
export async function loadSpecFor(io: Io, file: string): Promise<ClusterSpec> {
  // The spec parser (yaml + ajv) loads only for the commands that read a spec, which keeps
  // `certgen cert …`, run once per certificate in scripts, quick to start.
  const { loadSpec } = await import('../cluster-spec/load-spec.js');
  const { formatDiagnostic } = await import('../cluster-spec/parse-spec.js');
  return loadSpec(file, { onWarning: (w) => io.stderr(`${formatDiagnostic(w)}\n`) });
}

/** The certs dir as shown in output: relative to the working directory. */
export function certsDirLabel(spec: ClusterSpec): string {
  return path.relative(process.cwd(), spec.certsDir) || '.';
}

export function labels(spec: ClusterSpec, file: string): { specFileLabel: string; certsDirLabel: string } {
  return { specFileLabel: file, certsDirLabel: certsDirLabel(spec) };
}

/**
 * The action of a command that reads the [file] spec (default ./cluster-certs.yaml): records in
 * `run` that `action` is to run with the loaded spec, the file name as given, and the flags.
 */
export function specAction<F>(io: Io, run: Run, commandPath: string, action: (spec: ClusterSpec, file: string, flags: F) => Promise<void>): (file: string | undefined, flags: F) => void {
  return (file, flags) => {
    run.path = commandPath;
    run.action = async () => {
      const f = file ?? DEFAULT_SPEC_FILE;
      await action(await loadSpecFor(io, f), f, flags);
    };
  };
}
