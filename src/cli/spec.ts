// `certgen validate`, `plan` and `apply`: the declarative side, driven by a cluster spec file.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { EXIT, UsageError } from '../errors.js';
import { hasChanges, type Plan } from '../plan/types.js';
import type { SavedPlan } from '../plan/saved.js';
import { renderPlanText } from '../plan/render-text.js';
import { renderPlanMarkdown } from '../plan/render-markdown.js';
import { DEFAULT_SPEC_FILE, type ClusterSpec } from '../cluster-spec/spec.js';
import type { ApplyResult } from '../apply.js';
import type { K8sPlannedFile } from '../kubernetes/outputs.js';
import { subcommand } from './command.js';
import { SPEC_FILE_ARGUMENT, labels, loadSpecFor, specAction } from './spec-file.js';
import type { Io, Run } from './io.js';
import { IDENTITY_FLAG_HELP, identitiesFor } from './identity.js';
import type { ApplyEvent } from '../apply.js';
import { keysGenerated, progress, styleFor, type Progress } from './tty.js';

// Loaded only when plan or apply runs (see spec-file.ts for why).
const applyModule = () => import('../apply.js');
const planModule = () => import('../plan/plan.js');
const savedModule = () => import('../plan/saved.js');

const SPEC_EXIT_CODES = `
Exit codes:
  0  success (plan --detailed-exitcode: no changes)
  1  error: the spec is invalid, the certs dir cannot be used, or a write failed
  2  plan --detailed-exitcode: changes are pending
  4  a flag or flag value was not accepted`;

interface SpecFlags {
  json?: boolean;
  format?: PlanFormat;
  dryRun?: boolean;
  detailedExitcode?: boolean;
  prune?: boolean;
  verbose?: boolean;
  out?: string;
  identity?: string;
}

/**
 * The plan's warnings (a CA key git would take, git unusable, a key type that hurts) go to stderr
 * on apply too, where `plan` shows them; and the changes are made either way, so a journal that
 * could not take their line must not go unnoticed.
 */
function applyWarnings(io: Io, r: ApplyResult): void {
  for (const w of r.plan.warnings) io.stderr(`warning: ${w}\n`);
  if (r.journal && 'error' in r.journal) io.stderr(`warning: the changes are made, but the journal was not updated: ${r.journal.error}\n`);
}

function applyJson(r: ApplyResult, spec: ClusterSpec): unknown {
  const rel = (p: string): string => (p.startsWith(spec.certsDir + path.sep) ? path.relative(spec.certsDir, p).split(path.sep).join('/') : p);
  return { version: 1, plan: r.plan, applied: r.applied, written: r.written.map(rel), chmodded: r.chmodded.map(rel), removed: r.removed.map(rel), cleanedUp: r.cleanedUp.map(rel), ...(r.journal ? { journal: r.journal } : {}), ...(r.kubernetes ? { kubernetes: r.kubernetes.map((k) => ({ ...k, file: path.relative(spec.baseDir, k.file).split(path.sep).join('/') })) } : {}) };
}

/** What `plan` prints; `apply --dry-run` prints the same and writes nothing. `--out` also saves it. */
async function showPlan(io: Io, run: Run, spec: ClusterSpec, f: string, flags: SpecFlags): Promise<void> {
  let p: Plan;
  let saved: SavedPlan | undefined;
  if (flags.out !== undefined) {
    const { savedPlanFor } = await savedModule();
    saved = await savedPlanFor(spec, flags.out, { prune: flags.prune ?? false, ...labels(spec, f), ...(await identitiesFor(io, flags)) });
    p = saved.plan;
  } else {
    const { plan } = await planModule();
    p = await plan(spec, { prune: flags.prune ?? false, ...labels(spec, f), ...(await identitiesFor(io, flags)) });
  }
  await printPlan(io, run, p, flags, spec);
  if (saved && flags.out !== undefined && p.errors.length === 0) {
    const { writeSavedPlan } = await savedModule();
    await writeSavedPlan(flags.out, saved);
    // stdout may be the JSON plan: the note goes to stderr.
    io.stderr(`Saved the plan to ${flags.out}. To carry out exactly this plan: certgen apply ${flags.out}\n`);
  } else if (saved && p.errors.length > 0) io.stderr(`The plan was not saved: apply could not carry it out.\n`);
}

/** A saved plan carried out: the spec it was made from is loaded from beside it. */
async function applySavedPlan(io: Io, run: Run, planFile: string, saved: SavedPlan, flags: SpecFlags): Promise<void> {
  if (flags.prune) throw new UsageError('--prune cannot be given with a saved plan: whether it prunes was decided when the plan was made');
  const specPath = path.join(path.dirname(planFile), ...saved.specFile.split('/'));
  const spec = await loadSpecFor(io, specPath);
  if (flags.dryRun) {
    await printPlan(io, run, saved.plan, flags);
    return;
  }
  const { applySaved, renderApplyText } = await applyModule();
  const r = await applySaved(saved, spec, { ...labels(spec, saved.plan.specFile), planFile, journal: { command: `apply ${planFile}` }, ...(await identitiesFor(io, flags)) });
  io.stdout(flags.json ? `${JSON.stringify(applyJson(r, spec), null, 2)}\n` : renderApplyText(r));
  applyWarnings(io, r);
}

const PLAN_FORMATS = ['text', 'json', 'markdown'] as const;
type PlanFormat = (typeof PLAN_FORMATS)[number];

/** --format, with --json as its older spelling; the two disagreeing is a flag error. */
function planFormat(flags: SpecFlags): PlanFormat {
  if (flags.json && flags.format !== undefined && flags.format !== 'json') throw new UsageError(`--json and --format ${flags.format} ask for two formats: give one`);
  return flags.json ? 'json' : (flags.format ?? 'text');
}

/**
 * The plan's Kubernetes section: which manifest files apply would write or remove, and why (or
 * undefined: the spec has no output with a dir and certgen recorded none). Not part of the plan
 * itself (nor of a saved plan): the files are outputs, made from the tree the changes leave.
 */
async function kubernetesPlan(spec: ClusterSpec, p: Plan): Promise<K8sPlannedFile[] | undefined> {
  if (p.errors.length > 0) return undefined;
  // The index lists what certgen wrote before: with no output left, its files are still pruned.
  if (!spec.outputs?.kubernetes.some((o) => o.dir !== undefined) && !existsSync((await import('../kubernetes/manifest-index.js')).manifestIndexFile(spec.file))) return undefined;
  const { planKubernetesOutputs } = await import('../kubernetes/outputs.js');
  return planKubernetesOutputs(spec, p);
}

/** The section for `plan --json`: files relative to the spec's folder. */
function kubernetesJson(spec: ClusterSpec, files: readonly K8sPlannedFile[]): object[] {
  return files.map((f) => ({ ...f, file: path.relative(spec.baseDir, f.file).split(path.sep).join('/') }));
}

/**
 * Prints the plan in its format, with the Kubernetes section when there is one (text: after the
 * plan; json: its `kubernetes` member; markdown: a table after the changes). Pending manifest
 * writes and removals count as changes for --detailed-exitcode.
 */
async function printPlan(io: Io, run: Run, p: Plan, flags: SpecFlags, spec?: ClusterSpec): Promise<void> {
  const format = planFormat(flags);
  const verbose = flags.verbose ?? false;
  const k8s = spec ? await kubernetesPlan(spec, p) : undefined;
  if (format === 'json') io.stdout(`${JSON.stringify(k8s && spec ? { ...p, kubernetes: kubernetesJson(spec, k8s) } : p, null, 2)}\n`);
  else if (format === 'markdown') io.stdout(renderPlanMarkdown(p, { verbose }) + (k8s ? (await import('../kubernetes/render.js')).renderK8sPlanMarkdown(k8s, spec?.baseDir ?? '', { verbose }) : ''));
  else io.stdout(renderPlanText(p, { verbose, style: styleFor(io) }) + (k8s ? (await import('../kubernetes/render.js')).renderK8sPlan(k8s) : ''));
  if (p.errors.length > 0) {
    // stdout may be a file or a pipe (`plan --json > plan.json`): why it exits 1 must reach stderr.
    // On a terminal the text plan already ends with the errors; saying them twice is noise.
    if (format !== 'text' || !io.stdoutIsTTY) io.stderr(p.errors.map((e) => `ERROR: ${e.artifact}: ${e.message}\n`).join(''));
    run.exitCode = EXIT.error;
  } else if (flags.detailedExitcode && (hasChanges(p) || (k8s ?? []).some((f) => f.state !== 'unchanged' && f.state !== 'kept'))) run.exitCode = EXIT.changes;
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
    .option('--json', 'print the plan as JSON (schemas/plan.schema.json); the same as --format json')
    .addOption(new Option('--format <format>', 'text (default), json, or markdown (a table for a pull request comment or $GITHUB_STEP_SUMMARY)').choices([...PLAN_FORMATS]))
    .option('--detailed-exitcode', 'exit 0 when there is nothing to do, 2 when changes are pending, 1 on error')
    .option('--prune', 'plan to remove files and folders the spec does not name')
    .option('--identity <file>', IDENTITY_FLAG_HELP)
    .option('-v, --verbose', 'also list what is unchanged')
    .option('--out <file>', 'also save the plan to FILE (terraform\'s -out), for `certgen apply FILE`; it holds no key material')
    .addHelpText(
      'after',
      `
Actions: create, reissue, fix-mode, update-ca-bundle, update (.gitignore lines added), orphan (removed only with --prune), keep.
Each comes with reason codes such as missing, hosts-changed, expiring, not-signed-by-ca.

Examples:
  certgen plan                              # ./cluster-certs.yaml
  certgen plan deploy/cluster-certs.yaml --detailed-exitcode
  certgen plan --json | jq '.changes[] | select(.action != "keep")'
  certgen plan --format markdown >> "$GITHUB_STEP_SUMMARY"
  certgen plan --out certs.plan && certgen apply certs.plan   # review, then carry out exactly that

Each change lists its ops: the files apply writes (with their numeric modes), chmods and removes,
the key it generates and the certificate it signs (and which CA signs it).
${SPEC_EXIT_CODES}
`,
    )
    .action(
      specAction(io, run, 'plan', async (spec, f, flags: SpecFlags) => showPlan(io, run, spec, f, flags)),
    );

  subcommand(program, 'apply', io)
    .argument('[file]', `${SPEC_FILE_ARGUMENT}, or a plan saved by \`certgen plan --out\``)
    .description('create or overwrite only what changed, so the certs dir matches the spec')
    .option('--json', 'print what was done as JSON')
    .option('--prune', 'also remove files and folders the spec does not name')
    .option('--identity <file>', IDENTITY_FLAG_HELP)
    .option('--dry-run', 'print the plan (as `certgen plan` does) and change nothing')
    .addHelpText(
      'after',
      `
Computes the same plan as \`certgen plan\` and carries out exactly it. Keys are generated in
parallel and written 0600 from the first byte; every file is written under a temporary name and
renamed into place, all at once, so a failed apply leaves the certs dir as it was. A lock file
(.certgen.lock) keeps a second apply on the same certs dir from running at the same time.

Given a saved plan (certgen plan --out FILE), apply carries out exactly that plan, and refuses,
changing nothing, when the spec or the certs dir changed since it was made, or when the plan
made now would differ (time moves certificates into their renewal window): plan again.

Examples:
  npx certgen apply cluster-certs.yaml
  certgen apply --prune
  certgen apply certs.plan
${SPEC_EXIT_CODES}
`,
    )
    .action((file: string | undefined, flags: SpecFlags) => {
      run.path = 'apply';
      run.action = async () => {
        const f = file ?? DEFAULT_SPEC_FILE;
        const saved = await (await savedModule()).readSavedPlan(f);
        if (saved) return applySavedPlan(io, run, f, saved, flags);
        const spec = await loadSpecFor(io, f);
        if (flags.dryRun) return showPlan(io, run, spec, f, flags);
        const { apply, renderApplyText } = await applyModule();
        // On a terminal: keys generated n/N while they are (a big cluster takes a while).
        let bar: Progress | undefined;
        const onEvent = (e: ApplyEvent): void => {
          if (e.type === 'key') (bar ??= progress(io, keysGenerated, e.total)).set(e.done);
        };
        let r;
        try {
          r = await apply(spec, { prune: flags.prune ?? false, ...labels(spec, f), ...(io.stdoutIsTTY ? { onEvent } : {}), ...(await identitiesFor(io, flags)) });
        } finally {
          bar?.end();
        }
        io.stdout(flags.json ? `${JSON.stringify(applyJson(r, spec), null, 2)}\n` : renderApplyText(r));
        applyWarnings(io, r);
      };
    });

  subcommand(program, 'decrypt', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description('write the keys that exist only as <key>.age (a fresh checkout), and nothing else')
    .option('--json', 'print what was done as JSON')
    .option('--identity <file>', 'age identity file (age-keygen); or CERTGEN_AGE_IDENTITY holding the identity')
    .addHelpText(
      'after',
      `
For a spec with encrypt: { age: [...] }: decrypts every <key>.age whose key is missing and writes
the key (0600), and a client's .pk8 again from it. Certificates, .age files and everything else
are left as they are (certgen apply --identity does the same and the rest of the plan). A key
that cannot be restored (another identity's, a damaged .age file, one of another key) stops it,
changing nothing.

Examples:
  certgen decrypt --identity ~/.config/certgen/age.txt
  CERTGEN_AGE_IDENTITY="$AGE_KEY" certgen decrypt
${SPEC_EXIT_CODES}
`,
    )
    .action((file: string | undefined, flags: SpecFlags) => {
      run.path = 'decrypt';
      run.action = async () => {
        const f = file ?? DEFAULT_SPEC_FILE;
        const spec = await loadSpecFor(io, f);
        const ids = await identitiesFor(io, flags);
        if (!ids.identities) throw new UsageError('decrypt needs an age identity: --identity FILE, or CERTGEN_AGE_IDENTITY holding it');
        const { decrypt, renderApplyText } = await applyModule();
        const r = await decrypt(spec, { ...labels(spec, f), identities: ids.identities, journal: { command: 'decrypt' } });
        io.stdout(flags.json ? `${JSON.stringify(applyJson(r, spec), null, 2)}\n` : renderApplyText(r));
        applyWarnings(io, r);
      };
    });
}
