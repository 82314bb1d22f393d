// `certgen validate`, `plan` and `apply`: the declarative side, driven by a cluster spec file.
import path from 'node:path';
import type { Command } from 'commander';
import { EXIT } from '../errors.js';
import { hasChanges } from '../plan/types.js';
import { renderPlanText } from '../plan/render-text.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import type { ApplyResult } from '../apply.js';
import { subcommand } from './command.js';
import { SPEC_FILE_ARGUMENT, labels, specAction } from './spec-file.js';
import type { Io, Run } from './io.js';

// Loaded only when plan or apply runs (see spec-file.ts for why).
const applyModule = () => import('../apply.js');
const planModule = () => import('../plan/plan.js');

const SPEC_EXIT_CODES = `
Exit codes:
  0  success (plan --detailed-exitcode: no changes)
  1  error: the spec is invalid, the certs dir cannot be used, or a write failed
  2  plan --detailed-exitcode: changes are pending
  4  a flag or flag value was not accepted`;

interface SpecFlags {
  json?: boolean;
  dryRun?: boolean;
  detailedExitcode?: boolean;
  prune?: boolean;
  verbose?: boolean;
}

function applyJson(r: ApplyResult, spec: ClusterSpec): unknown {
  const rel = (p: string): string => (p.startsWith(spec.certsDir + path.sep) ? path.relative(spec.certsDir, p).split(path.sep).join('/') : p);
  return { version: 1, plan: r.plan, applied: r.applied, written: r.written.map(rel), chmodded: r.chmodded.map(rel), removed: r.removed.map(rel), cleanedUp: r.cleanedUp.map(rel) };
}

/** What `plan` prints; `apply --dry-run` prints the same and writes nothing. */
async function showPlan(io: Io, run: Run, spec: ClusterSpec, f: string, flags: SpecFlags): Promise<void> {
  const { plan } = await planModule();
  const p = await plan(spec, { prune: flags.prune ?? false, ...labels(spec, f) });
  io.stdout(flags.json ? `${JSON.stringify(p, null, 2)}\n` : renderPlanText(p, { verbose: flags.verbose ?? false }));
  if (p.errors.length > 0) {
    // stdout may be a file or a pipe (`plan --json > plan.json`): why it exits 1 must reach stderr.
    // On a terminal the text plan already ends with the errors; saying them twice is noise.
    if (flags.json || !io.stdoutIsTTY) io.stderr(p.errors.map((e) => `ERROR: ${e.artifact}: ${e.message}\n`).join(''));
    run.exitCode = EXIT.error;
  } else if (flags.detailedExitcode && hasChanges(p)) run.exitCode = EXIT.changes;
}

export function addSpecCommands(program: Command, io: Io, run: Run): void {
  const specCommand = (name: string): Command => subcommand(program, name, io).argument('[file]', SPEC_FILE_ARGUMENT);

  specCommand('validate')
    .description('check a cluster-certs.yaml against its schema and rules; touches nothing')
    .addHelpText('after', `\nEvery problem is reported at once as file:line:column: path: message.\n${SPEC_EXIT_CODES}\n`)
    .action(
      specAction(io, run, 'validate', async (spec, f) => {
        io.stdout(`${f}: valid (${spec.nodes.length} node${spec.nodes.length === 1 ? '' : 's'}, ${spec.clients.length} client${spec.clients.length === 1 ? '' : 's'})\n`);
      }),
    );

  specCommand('plan')
    .description('show what apply would create, reissue, fix or prune in the certs dir, and why')
    .option('--json', 'print the plan as JSON (schemas/plan.schema.json)')
    .option('--detailed-exitcode', 'exit 0 when there is nothing to do, 2 when changes are pending, 1 on error')
    .option('--prune', 'plan to remove files and folders the spec does not name')
    .option('-v, --verbose', 'also list what is unchanged')
    .addHelpText(
      'after',
      `
Actions: create, reissue, fix-mode, update-ca-bundle, orphan (removed only with --prune), keep.
Each comes with reason codes such as missing, hosts-changed, expiring, not-signed-by-ca.

Examples:
  certgen plan                              # ./cluster-certs.yaml
  certgen plan deploy/cluster-certs.yaml --detailed-exitcode
  certgen plan --json | jq '.changes[] | select(.action != "keep")'
${SPEC_EXIT_CODES}
`,
    )
    .action(
      specAction(io, run, 'plan', async (spec, f, flags: SpecFlags) => showPlan(io, run, spec, f, flags)),
    );

  specCommand('apply')
    .description('create or overwrite only what changed, so the certs dir matches the spec')
    .option('--json', 'print what was done as JSON')
    .option('--prune', 'also remove files and folders the spec does not name')
    .option('--dry-run', 'print the plan (as `certgen plan` does) and change nothing')
    .addHelpText(
      'after',
      `
Computes the same plan as \`certgen plan\` and carries out exactly it. Keys are generated in
parallel and written 0600 from the first byte; every file is written under a temporary name and
renamed into place, all at once, so a failed apply leaves the certs dir as it was. A lock file
(.certgen.lock) keeps a second apply on the same certs dir from running at the same time.

Examples:
  npx certgen apply cluster-certs.yaml
  certgen apply --prune
${SPEC_EXIT_CODES}
`,
    )
    .action(
      specAction(io, run, 'apply', async (spec, f, flags: SpecFlags) => {
        if (flags.dryRun) return showPlan(io, run, spec, f, flags);
        const { apply, renderApplyText } = await applyModule();
        const r = await apply(spec, { prune: flags.prune ?? false, ...labels(spec, f) });
        io.stdout(flags.json ? `${JSON.stringify(applyJson(r, spec), null, 2)}\n` : renderApplyText(r));
      }),
    );
}
