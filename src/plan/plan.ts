// `plan`: read the tree once, then the pure diff. Never writes.
import { diff } from './diff.js';
import type { Plan } from './types.js';
import { readTree } from '../tree/read-tree.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { rotationContexts } from './rotation.js';

export interface PlanOptions {
  /** Remove orphans (files and folders the spec does not name). Default false. */
  prune?: boolean;
  /** The clock, for tests. */
  now?: () => Date;
  /** Labels for the plan's `specFile` / `certsDir` (the CLI passes paths as the user typed them). */
  specFileLabel?: string;
  certsDirLabel?: string;
  /** age identities (`AGE-SECRET-KEY-1…`): keys that exist only as `<key>.age` are restored, not reissued. */
  identities?: readonly string[];
}

/** Reads the tree and returns what apply would do. Never writes. */
export async function plan(spec: ClusterSpec, opts: PlanOptions = {}): Promise<Plan> {
  const tree = await readTree(spec, { ...(opts.identities ? { identities: opts.identities } : {}) });
  const rotations = await rotationContexts(spec, tree, opts.identities);
  return diff({ spec, tree, now: (opts.now ?? (() => new Date()))(), prune: opts.prune, specFile: opts.specFileLabel, certsDirLabel: opts.certsDirLabel, ...rotations });
}

