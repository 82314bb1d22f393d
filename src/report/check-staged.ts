// `certgen check --staged`, for a pre-commit hook: only what git's index holds, read from git (not
// the work tree), so the answer is about exactly what the commit would contain. No drift and no
// expiry (a hook must not block a commit because a certificate is due). The spec is optional:
// without one (none at the default path) keys are found by content alone; with one, the certs
// dir's key names and the CA key's path count too.
import { promises as fs } from 'node:fs';
import { formatDiagnostic } from '../cluster-spec/parse-spec.js';
import { SpecError, loadSpec } from '../cluster-spec/load-spec.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { CertgenError } from '../errors.js';
import { checkResult, type CheckResult, type Finding } from './check.js';
import { keyLeakFindings } from './key-leaks.js';
import { iso, resolveNow } from './time.js';

export interface CheckStagedOptions {
  now?: Date | (() => Date);
  /** Whether the spec file was named (then it must load) or is the default (then it may be absent). */
  explicit?: boolean;
  specFileLabel?: string;
  certsDirLabel?: (spec: ClusterSpec) => string;
  /** Where the repository is looked for without a spec (default the working directory). */
  cwd?: string;
}

export async function checkStaged(file: string, opts: CheckStagedOptions = {}): Promise<CheckResult> {
  const now = resolveNow(opts.now);
  const findings: Finding[] = [];
  let spec: ClusterSpec | undefined;
  const absent = !opts.explicit && (await fs.access(file).then(() => false, () => true));
  if (!absent) {
    try {
      spec = await loadSpec(file);
    } catch (err) {
      if (!(err instanceof CertgenError)) throw err;
      const why = err instanceof SpecError ? err.diagnostics.map(formatDiagnostic).join('; ') : err.message;
      // A named spec must load; the default one only tells where the CA key lies, so a broken one
      // must not block every commit (the commit may be the one that fixes it).
      findings.push({ kind: opts.explicit ? 'error' : 'warning', code: err instanceof SpecError ? 'spec-invalid' : 'spec-unreadable', artifact: '', file, message: `${why}${opts.explicit ? '' : ' (keys are found by content alone)'}` });
    }
  }
  findings.push(...(await keyLeakFindings(spec, { staged: true, ...(opts.cwd ? { cwd: opts.cwd } : {}) })));
  const certsDir = spec ? (opts.certsDirLabel?.(spec) ?? spec.certsDir) : null;
  return checkResult({ now: iso(now), specFile: opts.specFileLabel ?? file, certsDir, within: null }, findings);
}
