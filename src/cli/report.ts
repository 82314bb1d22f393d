// `certgen report` (every certificate with expiry, status and forecast, in six formats) and
// `certgen check` (the CI gate). src/report/{report,render,check}.js load only when these run.
import { REPORT_FORMATS } from '../report/render.js';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_SPEC_FILE } from '../cluster-spec/spec.js';
import { CHECK_EXIT_CODES_HELP } from '../report/check-exit.js';
import { skipKeyPermissionCheck, subcommand } from './command.js';
import { flagParser, parseDurationFlag } from './flags.js';
import { SPEC_FILE_ARGUMENT, certsDirLabel, labels, loadSpecFor } from './spec-file.js';
import type { Io, Run } from './io.js';
import { styleFor } from './tty.js';
import { identitiesFor } from './identity.js';

interface ReportFlags {
  certsDir?: string;
  recursive?: boolean;
  format?: string;
  renewBefore?: bigint;
  within?: bigint;
  json?: boolean;
  prune?: boolean;
  staged?: boolean;
  identity?: string;
}

export function addReportCommands(program: Command, io: Io, run: Run): void {
  subcommand(program, 'report', io)
    .argument('[file]', `${SPEC_FILE_ARGUMENT}; not with --certs-dir`)
    .description('every certificate of the cluster (or of a certs folder): expiry, status, fingerprints, forecast')
    .option('--certs-dir <path>', 'report on any CockroachDB certs folder instead of a spec')
    .option('--recursive', 'with --certs-dir: also every sub-folder (dot-folders and symlinked folders skipped)')
    .addOption(new Option('--format <format>', 'output format (table on a terminal, tsv otherwise)').choices([...REPORT_FORMATS]))
    .addOption(new Option('--renew-before <duration>', 'renewal window for --certs-dir leaves (default 720h)').argParser(flagParser(parseDurationFlag('--renew-before'))))
    .option('--identity <file>', 'age identity file (age-keygen): check that a caKey ending in .age decrypts to the CA key (or CERTGEN_AGE_IDENTITY)')
    .addHelpText(
      'after',
      `
Rows: each CA certificate in the bundle, each node, each client (and, with a spec, files the spec
does not name), with status ok / renew-soon / expired / error. Broken files (corrupt PEM, a key
that does not match, a missing key, an unreadable folder) are rows with an error, never a crash.
The forecast gives the date each certificate enters its renewal window and the latest date a CA
rotation must start so the new CA overlaps every leaf it must replace.
markdown suits a pull-request comment or a CI step summary; html is one self-contained page with
a timeline of every certificate's validity and renewal window.

Examples:
  certgen report --format markdown >> "$GITHUB_STEP_SUMMARY"
  certgen report --certs-dir /var/lib/cockroach/certs --recursive
  certgen report --format html > cert-report.html

Exit codes:
  0  the report was produced (problems are rows in it)
  1  the spec or the folder could not be used
  4  a flag or flag value was not accepted
`,
    )
    .action((file: string | undefined, flags: ReportFlags) => {
      run.path = 'report';
      run.action = async () => {
        if (file !== undefined && flags.certsDir !== undefined) throw new UsageError('give either a spec file or --certs-dir, not both');
        if (flags.recursive && flags.certsDir === undefined) throw new UsageError('--recursive needs --certs-dir');
        const { buildReport } = await import('../report/report.js');
        const { renderReport } = await import('../report/render.js');
        const format = (flags.format ?? (io.stdoutIsTTY ? 'table' : 'tsv')) as Parameters<typeof renderReport>[1];
        const common = { skipKeyPermissionCheck: skipKeyPermissionCheck(io.env), ...(flags.renewBefore !== undefined ? { renewBefore: flags.renewBefore } : {}) };
        let report;
        if (flags.certsDir !== undefined) {
          report = await buildReport({ certsDir: flags.certsDir }, { ...common, recursive: flags.recursive ?? false, certsDirLabel: flags.certsDir });
        } else {
          const f = file ?? DEFAULT_SPEC_FILE;
          const spec = await loadSpecFor(io, f);
          report = await buildReport({ spec }, { ...common, ...labels(spec, f), ...(await identitiesFor(io, flags)) });
        }
        io.stdout(renderReport(report, format));
      };
    });

  subcommand(program, 'check', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description('CI gate: fails when the certs dir differs from the spec or something expires soon; never writes')
    .addOption(
      new Option('--within <duration>', "expiry window for every certificate (default: each one's renewBefore; the CA: its rotation window)").argParser(flagParser(parseDurationFlag('--within'))),
    )
    .option('--json', 'print the result as JSON on stdout')
    .option('--prune', 'count files the spec does not name as drift')
    .option('--staged', "only git's index: a private key staged to be committed (for a pre-commit hook); the spec is optional")
    .option('--identity <file>', 'age identity file (age-keygen): check that a caKey ending in .age decrypts to the CA key (or CERTGEN_AGE_IDENTITY)')
    .addHelpText(
      'after',
      `
One line per finding on stderr (kind: artifact: message), or --json on stdout. Reads only.
In a git work tree it also fails (key-tracked, exit 1) when git tracks or stages a private key,
found by name or by content (PEM, DER, base64 in a Secret's data:), and (key-not-ignored) when a
key of the certs dir or the CA key is not ignored. --staged looks only at the index. A caKey
ending in .age is ciphertext (no finding); with an identity it must decrypt to the CA's key.

Examples:
  certgen check                         # in a pre-deploy CI step
  certgen check --within 2160h --json   # fail if anything expires within 90 days
  certgen check --staged                # in .git/hooks/pre-commit

${CHECK_EXIT_CODES_HELP}
`,
    )
    .action((file: string | undefined, flags: ReportFlags) => {
      run.path = 'check';
      run.action = async () => {
        const f = file ?? DEFAULT_SPEC_FILE;
        const { checkSpecFile, renderCheckText } = await import('../report/check.js');
        if (flags.staged && (flags.within !== undefined || flags.prune)) throw new UsageError('--staged looks only at the index: not with --within or --prune');
        const r = flags.staged ? await (await import('../report/check-staged.js')).checkStaged(f, { explicit: file !== undefined, specFileLabel: f, certsDirLabel }) : await checkSpecFile(f, {
          ...(flags.within !== undefined ? { within: flags.within } : {}),
          prune: flags.prune ?? false,
          specFileLabel: f,
          certsDirLabel,
          skipKeyPermissionCheck: skipKeyPermissionCheck(io.env),
          ...(await identitiesFor(io, flags)),
        });
        if (flags.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
        else io.stderr(renderCheckText(r, styleFor({ env: io.env, stdoutIsTTY: io.stderrIsTTY ?? false })));
        run.exitCode = r.exitCode;
      };
    });
}
