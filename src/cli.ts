#!/usr/bin/env node
// The command line: argv → library call → rendered output and exit code. The only module that
// knows about process.argv, stdout/stderr and exit codes; everything it does is in the library.
import os from 'node:os';
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { CertgenError, EXIT, UsageError } from './errors.js';
import { DurationError, formatDuration, parseDuration } from './core/duration.js';
import { FORMATS, renderResultSet, type Format } from './core/table-format.js';
import { createCA, createClient, createClientCA, createNode, DEFAULT_CA_LIFETIME, DEFAULT_CERT_LIFETIME, DEFAULT_KEY_SIZE } from './cert/commands.js';
import { LIST_COLUMNS, listCerts, listingCells } from './cert/list.js';
import { parseGoBool } from './cert/certs-dir.js';
import { hasChanges, renderPlanText, type Plan } from './core/plan.js';
import { DEFAULT_SPEC_FILE, type ClusterSpec, type Diagnostic } from './spec/spec.js';
import { DEFAULT_CONCURRENCY, distribute } from './distribute.js';
import { distributeResultJson, formatDistributeEvent, renderDistributeTable } from './render-distribute.js';
import type { ApplyResult } from './apply.js';
import { CHECK_EXIT_CODES_HELP } from './report/check-exit.js';

// The spec parser (yaml + ajv) and the apply machinery load only for the commands that use them,
// which keeps `certgen cert …`, run once per certificate in scripts, quick to start.
const specModule = () => import('./spec/load-spec.js');
const applyModule = () => import('./apply.js');

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stdoutIsTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** Raised inside commander's parse to carry the exit code of a flag/argument error. */
class ParseFailure extends Error {
  readonly exitCode: number;
  readonly usage: string | undefined;
  constructor(message: string, exitCode: number, usage?: string) {
    super(message);
    this.exitCode = exitCode;
    this.usage = usage;
  }
}

const BOOLEAN_FLAGS = ['--overwrite', '--allow-ca-key-reuse', '--also-generate-pkcs8-key', '--disable-username-validation'];

/** `--tenant-scope 2,3`: uint64 tenant IDs, 0 is not a tenant. */
function parseTenantScope(value: string): string[] {
  return value
    .split(',')
    .filter((v) => v !== '')
    .map((v) => {
      if (!/^\d+$/.test(v) || BigInt(v) > 18446744073709551615n) {
        throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--tenant-scope" flag: invalid tenant ID ${v}, tenant ID should be an unsigned int greater than 0: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
      }
      if (BigInt(v) === 0n) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--tenant-scope" flag: invalid tenant ID 0, tenant ID should be an unsigned int greater than 0`);
      return BigInt(v).toString();
    });
}

function parseTenantNameScope(value: string): string[] {
  return value
    .split(',')
    .filter((v) => v !== '')
    .map((v) => {
      if (!/^[a-z0-9]([a-z0-9-]{0,98}[a-z0-9])?$/.test(v)) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--tenant-name-scope" flag: invalid tenant name: ${JSON.stringify(v)}`);
      return v;
    });
}

/**
 * pflag accepts `--overwrite=true|false` for boolean flags; commander does not, so rewrite them
 * before parsing.
 */
function normalizeBoolFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const m = /^(--[a-z0-9-]+)=(.*)$/.exec(a);
    if (m && BOOLEAN_FLAGS.includes(m[1] ?? '')) {
      const v = m[2] ?? '';
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) out.push(m[1] ?? '');
      else if (!['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) {
        throw new UsageError(`invalid argument ${JSON.stringify(v)} for "${m[1]}" flag: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
      }
      continue;
    }
    out.push(a);
  }
  return out;
}

/** cockroach's SetCertPrincipalMap: every non-empty entry needs a `:` (split on the last one). */
function parsePrincipalMap(value: string): string {
  for (const entry of value.split(',')) {
    if (entry !== '' && !entry.includes(':')) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--cert-principal-map" flag: invalid <cert-principal>:<db-principal> mapping: ${JSON.stringify(entry)}`);
  }
  return value;
}

function parseKeySize(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--key-size" flag: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number.parseInt(value, 10);
}

function parseLifetime(value: string): bigint {
  try {
    return parseDuration(value);
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--lifetime" flag: ${err.message}`);
    throw err;
  }
}

/** commander calls argParser functions inside parse; turn our UsageErrors into its error type. */
function flagParser<T>(fn: (v: string) => T): (v: string) => T {
  return (v: string) => {
    try {
      return fn(v);
    } catch (err) {
      if (err instanceof UsageError) throw new CommanderError(EXIT.usage, 'certgen.invalidFlag', err.message);
      throw err;
    }
  };
}

function defaultCertsDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.HOME || os.homedir(), '.cockroach-certs');
}

interface CertFlags {
  certsDir: string;
  caKey?: string;
  keySize: number;
  lifetime?: bigint;
  overwrite?: boolean;
  allowCaKeyReuse?: boolean;
  alsoGeneratePkcs8Key?: boolean;
  tenantScope?: string[];
  tenantNameScope?: string[];
  disableUsernameValidation?: boolean;
  format?: Format;
}

const CERT_EXIT_CODES = `
Exit codes:
  0  success
  1  the command failed (the reason follows "ERROR:" on stderr)
  4  a flag or flag value was not accepted`;

function certsDirOption(env: NodeJS.ProcessEnv): Option {
  return new Option('--certs-dir <path>', 'Path to the directory containing SSL certificates and keys. (env: COCKROACH_CERTS_DIR)').default(
    env.COCKROACH_CERTS_DIR || defaultCertsDir(env),
    '${HOME}/.cockroach-certs',
  );
}

function createOptions(cmd: Command, isCA: boolean, env: NodeJS.ProcessEnv): Command {
  const lifetimeDefault = isCA ? DEFAULT_CA_LIFETIME : DEFAULT_CERT_LIFETIME;
  cmd
    .addOption(certsDirOption(env))
    .addOption(new Option('--ca-key <path>', 'Path to the CA key. (env: COCKROACH_CA_KEY)').default(env.COCKROACH_CA_KEY, ''))
    .addOption(new Option('--key-size <bits>', 'Key size in bits for CA/Node/Client certificates.').default(DEFAULT_KEY_SIZE).argParser(flagParser(parseKeySize)))
    .addOption(
      new Option('--lifetime <duration>', `Certificate lifetime, Go duration syntax (h, m, s). Default ${formatDuration(lifetimeDefault)}.`).argParser(flagParser(parseLifetime)),
    )
    .addOption(new Option('--overwrite', 'Certificate and key files are overwritten if they exist.'));
  if (isCA) cmd.addOption(new Option('--allow-ca-key-reuse', 'Use the CA key if it exists.'));
  return cmd;
}

function print(io: Io, text: string): void {
  io.stdout(text.endsWith('\n') ? text : `${text}\n`);
}

/** Builds the command tree. Actions record what to run; main() runs it, so errors have one exit. */
function buildProgram(io: Io, run: { action?: () => Promise<void>; path: string; exitCode?: number }): Command {
  const program = new Command('certgen')
    .description('TLS certificates for CockroachDB clusters: a drop-in for `cockroach cert`, and a declarative plan/apply generator.')
    .showHelpAfterError(false)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} })
    .exitOverride();

  const cert = program
    .command('cert')
    .description('create ca, node, and client certs')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} })
    .addHelpText(
      'after',
      `
Drop-in replacement for \`cockroach cert\`: the same flags, defaults, files, certificate
contents, errors and exit codes, with no cockroach binary needed.
${CERT_EXIT_CODES}
`,
    );

  const sub = (name: string, args: string, description: string, isCA: boolean | undefined, action: (flags: CertFlags, positional: string[]) => Promise<void>, help: string): Command => {
    // Positional arguments are checked by the actions with cobra's wording, so commander only
    // shows them in the usage line.
    const c = cert
      .command(name)
      .usage(`${args ? `${args} ` : ''}[options]`)
      .description(description)
      .exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} })
      .allowExcessArguments(true)
      .addHelpText('after', `\n${help}\n${CERT_EXIT_CODES}\n`);
    if (isCA === undefined) c.addOption(certsDirOption(io.env));
    else createOptions(c, isCA, io.env);
    // Registered on every cert command by cockroach; they change no generated file, so certgen
    // checks the principal map's syntax and otherwise accepts them for script compatibility.
    c.addOption(new Option('--cert-principal-map <cert:db,...>', 'A comma separated list of <cert-principal>:<db-principal> mappings (accepted for compatibility; no effect on generated files).').argParser(flagParser(parsePrincipalMap)));
    c.addOption(new Option('--root-cert-distinguished-name <dn>', 'Accepted for compatibility; no effect on cert commands.').hideHelp());
    c.addOption(new Option('--node-cert-distinguished-name <dn>', 'Accepted for compatibility; no effect on cert commands.').hideHelp());
    c.action(async (...received: unknown[]) => {
      const command = received[received.length - 1] as Command;
      run.path = `cert ${name}`;
      run.action = () => action(command.opts<CertFlags>(), command.args);
    });
    return c;
  };

  const noArgs = (name: string, positional: string[]): void => {
    if (positional.length > 0) throw new CertgenError(`unknown command ${JSON.stringify(positional[0])} for "certgen cert ${name}"`);
  };
  // Environment variables are read from io.env (not process.env) so embedding callers and tests
  // control them.
  const skipKeyPermissionCheck = (): boolean => parseGoBool('COCKROACH_SKIP_KEY_PERMISSION_CHECK', io.env.COCKROACH_SKIP_KEY_PERMISSION_CHECK);
  const createOpts = (f: CertFlags) => ({
    certsDir: f.certsDir,
    caKey: f.caKey ?? '',
    keySize: f.keySize,
    lifetime: f.lifetime,
    overwrite: f.overwrite ?? false,
    skipKeyPermissionCheck: skipKeyPermissionCheck(),
  });

  sub('create-ca', '', 'create CA certificate and key', true, async (f, a) => {
    noArgs('create-ca', a);
    await createCA({ ...createOpts(f), allowCAKeyReuse: f.allowCaKeyReuse ?? false });
  }, `Generates a CA certificate "<certs-dir>/ca.crt" and CA key "<ca-key>".
The certs directory is created if it does not exist.

If the CA key exists and --allow-ca-key-reuse is true, the key is used.
If the CA certificate exists and --overwrite is true, the new CA certificate is prepended to it.

Unlike cockroach, a failed create-ca writes nothing: the bundle is checked before the key is
written, so a rerun never stops at "key reuse is disabled".

Examples:
  certgen cert create-ca --certs-dir=certs --ca-key=my-safe-directory/ca.key
  certgen cert create-ca --certs-dir=certs --ca-key=my-safe-directory/ca-new.key --overwrite   # CA rotation`);

  sub('create-client-ca', '', 'create client CA certificate and key', true, async (f, a) => {
    noArgs('create-client-ca', a);
    await createClientCA({ ...createOpts(f), allowCAKeyReuse: f.allowCaKeyReuse ?? false });
  }, `Generates a client CA certificate "<certs-dir>/ca-client.crt" and CA key "<ca-key>".
The certs directory is created if it does not exist.

If the CA key exists and --allow-ca-key-reuse is true, the key is used.
If the CA certificate exists and --overwrite is true, the new CA certificate is prepended to it.

The client CA is optional and should only be used when separate CAs are desired for server
certificates and client certificates. If the client CA exists, a client.node.crt client
certificate must be created using: certgen cert create-client node
Once the client.node.crt exists, all client certificates will be verified using the client CA.`);

  sub('create-node', '<host 1> <host 2> ... <host N>', 'create node certificate and key', false, async (f, hosts) => {
    if (hosts.length === 0) throw new CertgenError('create-node requires at least one host name or address, none was specified');
    await createNode({ ...createOpts(f), nodeUser: io.env.COCKROACH_CERT_NODE_USER }, hosts);
  }, `Generates server certificate and key files for use by a CockroachDB node.
At least one host should be passed in (either IP address or dns name).
Requires a CA cert in "<certs-dir>/ca.crt" and matching key in "--ca-key".
If "ca.crt" contains more than one certificate, the first is used.
Creation fails if the CA expiration time is before the desired certificate expiration.

Examples:
  certgen cert create-node localhost 127.0.0.1 node1.example.com '*.dev.example.com' --certs-dir=certs --ca-key=my-safe-directory/ca.key`);

  const client = sub('create-client', '<username>', 'create client certificate and key', false, async (f, a) => {
    if (a.length !== 1) throw new CertgenError(`accepts 1 arg(s), received ${a.length}`);
    await createClient(
      {
        ...createOpts(f),
        alsoGeneratePkcs8Key: f.alsoGeneratePkcs8Key ?? false,
        tenantScope: f.tenantScope ?? [],
        tenantNameScope: f.tenantNameScope ?? [],
        disableUsernameValidation: f.disableUsernameValidation ?? false,
      },
      a[0] ?? '',
    );
  }, `Generates client certificate and key files for a SQL user.
Requires a CA cert in "<certs-dir>/ca.crt" (or "<certs-dir>/ca-client.crt" when it exists) and
the matching key in "--ca-key". The username is normalised (lower case, Unicode NFC).

Examples:
  certgen cert create-client root --certs-dir=certs --ca-key=my-safe-directory/ca.key
  certgen cert create-client maxroach --also-generate-pkcs8-key --certs-dir=certs --ca-key=my-safe-directory/ca.key`);
  client.addOption(new Option('--also-generate-pkcs8-key', 'Also write the key in pkcs8 format to <certs-dir>/client.<username>.key.pk8.'));
  client.addOption(
    new Option('--tenant-scope <ids>', 'Assign a tenant scope to the client certificate: a comma separated list of tenant IDs (URI SANs crdb://tenant/<id>/user/<user>).').argParser(
      flagParser(parseTenantScope),
    ),
  );
  client.addOption(new Option('--tenant-name-scope <names>', 'Tenant names the client certificate is scoped to (crdb://tenant-name/<name>/user/<user>).').argParser(flagParser(parseTenantNameScope)).hideHelp());
  client.addOption(new Option('--disable-username-validation', 'Skip the username syntax check (the name is still normalised).'));

  const list = sub('list', '', 'list certs in --certs-dir', undefined, async (f, a) => {
    noArgs('list', a);
    const listing = await listCerts({ certsDir: f.certsDir, skipKeyPermissionCheck: skipKeyPermissionCheck() });
    for (const w of listing.warnings) io.stderr(`WARNING: ${w}\n`);
    const format: Format = f.format ?? (io.stdoutIsTTY ? 'table' : 'tsv');
    const rendered = renderResultSet(format, { columns: [...LIST_COLUMNS], rows: listing.rows.map(listingCells) });
    // JSON output stays a single valid document; every other format keeps cockroach's header line.
    const header = format === 'json' || format === 'ndjson' ? '' : `Certificate directory: ${listing.certsDir}\n`;
    io.stdout(header + rendered);
  }, `List certificates and keys found in the certificate directory.
Rows: CA, client CA, UI CA, node, UI, then client certificates sorted by file name.
The format is "table" on a terminal and "tsv" otherwise, as in cockroach; --format picks another.
json is an array of objects keyed by the column names; it omits the "Certificate directory:" line.`);
  list.addOption(new Option('--format <format>', 'Output format.').choices([...FORMATS]));

  addSpecCommands(program, io, run);
  addDistributeCommand(program, io, run);
  addReportCommands(program, io, run);

  cert.action((_opts: unknown, command: Command) => {
    run.path = 'cert';
    run.action = async () => {
      io.stderr(cert.helpInformation() + '\n');
      throw new CertgenError(`unknown sub-command: ${JSON.stringify(command.args.join(' '))}`);
    };
  });
  return program;
}

const SPEC_EXIT_CODES = `
Exit codes:
  0  success (plan --detailed-exitcode: no changes)
  1  error: the spec is invalid, the certs dir cannot be used, or a write failed
  2  plan --detailed-exitcode: changes are pending
  4  a flag or flag value was not accepted`;

interface SpecFlags {
  json?: boolean;
  detailedExitcode?: boolean;
  prune?: boolean;
  verbose?: boolean;
}

/** Loads the spec, printing its warnings on stderr. */
async function loadSpecFor(io: Io, file: string): Promise<ClusterSpec> {
  const { loadSpec } = await specModule();
  const { formatDiagnostic } = await import('./spec/parse-spec.js');
  return loadSpec(file, { onWarning: (w) => io.stderr(`${formatDiagnostic(w)}\n`) });
}

function labels(spec: ClusterSpec, file: string): { specFileLabel: string; certsDirLabel: string } {
  return { specFileLabel: file, certsDirLabel: path.relative(process.cwd(), spec.certsDir) || '.' };
}

function applyJson(r: ApplyResult, spec: ClusterSpec): unknown {
  const rel = (p: string): string => (p.startsWith(spec.certsDir + path.sep) ? path.relative(spec.certsDir, p).split(path.sep).join('/') : p);
  return { version: 1, plan: r.plan, applied: r.applied, written: r.written.map(rel), chmodded: r.chmodded.map(rel), removed: r.removed.map(rel) };
}

function addSpecCommands(program: Command, io: Io, run: { action?: () => Promise<void>; path: string; exitCode?: number }): void {
  const common = (c: Command): Command =>
    c
      .argument('[file]', `the cluster spec (default ./${DEFAULT_SPEC_FILE})`)
      .exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} });

  common(program.command('validate'))
    .description('check a cluster-certs.yaml against its schema and rules; touches nothing')
    .addHelpText('after', `\nEvery problem is reported at once as file:line:column: path: message.\n${SPEC_EXIT_CODES}\n`)
    .action((file: string | undefined) => {
      run.path = 'validate';
      run.action = async () => {
        const f = file ?? DEFAULT_SPEC_FILE;
        const spec = await loadSpecFor(io, f);
        io.stdout(`${f}: valid (${spec.nodes.length} node${spec.nodes.length === 1 ? '' : 's'}, ${spec.clients.length} client${spec.clients.length === 1 ? '' : 's'})\n`);
      };
    });

  common(program.command('plan'))
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
    .action((file: string | undefined, flags: SpecFlags) => {
      run.path = 'plan';
      run.action = async () => {
        const f = file ?? DEFAULT_SPEC_FILE;
        const spec = await loadSpecFor(io, f);
        const { plan } = await applyModule();
        const p = await plan(spec, { prune: flags.prune ?? false, ...labels(spec, f) });
        io.stdout(flags.json ? `${JSON.stringify(p, null, 2)}\n` : renderPlanText(p, { verbose: flags.verbose ?? false }));
        if (p.errors.length > 0) run.exitCode = EXIT.error;
        else if (flags.detailedExitcode && hasChanges(p)) run.exitCode = EXIT.changes;
      };
    });

  common(program.command('apply'))
    .description('create or overwrite only what changed, so the certs dir matches the spec')
    .option('--json', 'print what was done as JSON')
    .option('--prune', 'also remove files and folders the spec does not name')
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
    .action((file: string | undefined, flags: SpecFlags) => {
      run.path = 'apply';
      run.action = async () => {
        const f = file ?? DEFAULT_SPEC_FILE;
        const spec = await loadSpecFor(io, f);
        const { apply, renderApplyText } = await applyModule();
        const r = await apply(spec, { prune: flags.prune ?? false, ...labels(spec, f) });
        io.stdout(flags.json ? `${JSON.stringify(applyJson(r, spec), null, 2)}\n` : renderApplyText(r));
      };
    });
}

function parseConcurrency(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "--concurrency" flag: must be a whole number of at least 1`);
  return Number(value);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').filter((v) => v !== '')];
}

interface DistributeFlags {
  dryRun?: boolean;
  node?: string[];
  client?: string[];
  clients?: boolean;
  concurrency: number;
  json?: boolean;
  quiet?: boolean;
}

function addDistributeCommand(program: Command, io: Io, run: { action?: () => Promise<void>; path: string; exitCode?: number }): void {
  program
    .command('distribute')
    .argument('[file]', `the cluster spec (default ./${DEFAULT_SPEC_FILE})`)
    .description("copy each node's ca.crt, node.crt and node.key to its ssh target, only where they changed")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} })
    .option('--dry-run', 'compare remote SHA-256 sums and print what would be copied and the exact commands; change nothing')
    .option('--node <name>', 'only this node (repeatable, or comma separated)', collect)
    .option('--clients', 'also distribute to clients that have an ssh target')
    .option('--client <user>', 'only this client (repeatable, or comma separated; implies --clients)', collect)
    .addOption(new Option('--concurrency <n>', 'how many hosts to work on at once').default(DEFAULT_CONCURRENCY).argParser(flagParser(parseConcurrency)))
    .option('--json', 'print the result as JSON (version 1) instead of the table')
    .option('-q, --quiet', 'no progress lines on stderr')
    .addHelpText(
      'after',
      `
Per target (a node's or client's \`ssh:\` block: host, user, port, dir, identityFile, knownHosts,
options): create the remote folder 0700, compare SHA-256 sums, copy only the files that differ to
a temporary name, set modes (keys 0600, certs 0644) and move them into place, then run the
target's \`reload:\` command if anything changed. Only the files of that node's own folder are
ever sent, never the CA key. ssh runs with BatchMode=yes (no password prompts) and
StrictHostKeyChecking=yes unless the target's options say otherwise. One host failing does not
stop the others.

Examples:
  certgen distribute --dry-run
  certgen distribute cluster-certs.yaml --node node1 --node node2
  certgen distribute --concurrency 16 --json

Exit codes:
  0  every target is up to date
  1  a target failed (see the table), or the spec or local files are unusable
  4  a flag or flag value was not accepted
`,
    )
    .action((file: string | undefined, flags: DistributeFlags) => {
      run.path = 'distribute';
      run.action = async () => {
        const f = file ?? DEFAULT_SPEC_FILE;
        const spec = await loadSpecFor(io, f);
        const result = await distribute(spec, {
          dryRun: flags.dryRun ?? false,
          ...(flags.node ? { nodes: flags.node } : {}),
          ...(flags.client ? { clients: flags.client } : {}),
          includeClients: flags.clients ?? false,
          concurrency: flags.concurrency,
          onEvent: flags.quiet || flags.json ? undefined : (e) => io.stderr(`${formatDistributeEvent(e)}\n`),
        });
        io.stdout(flags.json ? `${JSON.stringify(distributeResultJson(result), null, 2)}\n` : renderDistributeTable(result));
        if (!result.ok) run.exitCode = EXIT.error;
      };
    });
}

function parseDurationFlag(flag: string): (value: string) => bigint {
  return (value: string) => {
    try {
      return parseDuration(value);
    } catch (err) {
      if (err instanceof DurationError) throw new UsageError(`invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${err.message}`);
      throw err;
    }
  };
}

interface ReportFlags {
  certsDir?: string;
  recursive?: boolean;
  format?: string;
  renewBefore?: bigint;
  within?: bigint;
  json?: boolean;
  prune?: boolean;
}

function addReportCommands(program: Command, io: Io, run: { action?: () => Promise<void>; path: string; exitCode?: number }): void {
  const skip = (): boolean => parseGoBool('COCKROACH_SKIP_KEY_PERMISSION_CHECK', io.env.COCKROACH_SKIP_KEY_PERMISSION_CHECK);
  program
    .command('report')
    .argument('[file]', `the cluster spec (default ./${DEFAULT_SPEC_FILE}); not with --certs-dir`)
    .description('every certificate of the cluster (or of a certs folder): expiry, status, fingerprints, forecast')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} })
    .option('--certs-dir <path>', 'report on any CockroachDB certs folder instead of a spec')
    .option('--recursive', 'with --certs-dir: also every sub-folder (dot-folders and symlinked folders skipped)')
    .addOption(new Option('--format <format>', 'output format (table on a terminal, tsv otherwise)').choices(['table', 'tsv', 'csv', 'json', 'markdown', 'html']))
    .addOption(new Option('--renew-before <duration>', 'renewal window for --certs-dir leaves (default 720h)').argParser(flagParser(parseDurationFlag('--renew-before'))))
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
        const { buildReport } = await import('./report/report.js');
        const { renderReport } = await import('./report/render.js');
        const format = (flags.format ?? (io.stdoutIsTTY ? 'table' : 'tsv')) as Parameters<typeof renderReport>[1];
        const common = { skipKeyPermissionCheck: skip(), ...(flags.renewBefore !== undefined ? { renewBefore: flags.renewBefore } : {}) };
        let report;
        if (flags.certsDir !== undefined) {
          report = await buildReport({ certsDir: flags.certsDir }, { ...common, recursive: flags.recursive ?? false, certsDirLabel: flags.certsDir });
        } else {
          const f = file ?? DEFAULT_SPEC_FILE;
          const spec = await loadSpecFor(io, f);
          report = await buildReport({ spec }, { ...common, ...labels(spec, f) });
        }
        io.stdout(renderReport(report, format));
      };
    });

  program
    .command('check')
    .argument('[file]', `the cluster spec (default ./${DEFAULT_SPEC_FILE})`)
    .description('CI gate: fails when the certs dir differs from the spec or something expires soon; never writes')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} })
    .addOption(
      new Option('--within <duration>', "expiry window for every certificate (default: each one's renewBefore; the CA: its rotation window)").argParser(flagParser(parseDurationFlag('--within'))),
    )
    .option('--json', 'print the result as JSON on stdout')
    .option('--prune', 'count files the spec does not name as drift')
    .addHelpText(
      'after',
      `
One line per finding on stderr (kind: artifact: message), or --json on stdout. Reads only.

Examples:
  certgen check                         # in a pre-deploy CI step
  certgen check --within 2160h --json   # fail if anything expires within 90 days

${CHECK_EXIT_CODES_HELP}
`,
    )
    .action((file: string | undefined, flags: ReportFlags) => {
      run.path = 'check';
      run.action = async () => {
        const f = file ?? DEFAULT_SPEC_FILE;
        const { checkSpecFile, renderCheckText } = await import('./report/check.js');
        const r = await checkSpecFile(f, {
          ...(flags.within !== undefined ? { within: flags.within } : {}),
          prune: flags.prune ?? false,
          specFileLabel: f,
          certsDirLabel: (spec: ClusterSpec) => path.relative(process.cwd(), spec.certsDir) || '.',
          skipKeyPermissionCheck: skip(),
        });
        if (flags.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
        else io.stderr(renderCheckText(r));
        run.exitCode = r.exitCode;
      };
    });
}

function translateCommanderError(err: CommanderError, usage: string): ParseFailure {
  const msg = err.message.replace(/^error: /, '');
  switch (err.code) {
    case 'commander.helpDisplayed':
    case 'commander.help':
    case 'commander.version':
      return new ParseFailure('', EXIT.ok);
    case 'commander.unknownOption': {
      const flag = (/'([^']+)'/.exec(msg)?.[1] ?? msg).split('=')[0] ?? '';
      return new ParseFailure(flag.startsWith('--') ? `unknown flag: ${flag}` : `unknown shorthand flag: '${flag.slice(1, 2)}' in ${flag}`, EXIT.usage, usage);
    }
    case 'commander.optionMissingArgument': {
      const flag = /'(--[a-z0-9-]+)/.exec(msg)?.[1] ?? msg;
      return new ParseFailure(`flag needs an argument: ${flag}`, EXIT.usage, usage);
    }
    case 'commander.invalidArgument': {
      // --format with a value outside the choices.
      const m = /argument '([^']*)' is invalid.*Allowed choices are (.*)\./.exec(msg);
      const text = m ? `invalid argument ${JSON.stringify(m[1])} for "--format" flag: must be one of ${m[2]}` : msg;
      return new ParseFailure(text, EXIT.usage, usage);
    }
    case 'certgen.invalidFlag':
      return new ParseFailure(err.message, EXIT.usage, usage);
    case 'commander.unknownCommand':
      return new ParseFailure(msg, EXIT.error, usage);
    default:
      return new ParseFailure(msg, err.exitCode === 0 ? EXIT.error : err.exitCode, usage);
  }
}

function writeError(io: Io, err: unknown, commandPath: string): void {
  // SpecError and PlanBlockedError live in lazily loaded modules: recognise them by name.
  if (err instanceof CertgenError && err.name === 'SpecError') {
    // Diagnostics are already one located line each: file:line:col: path: message.
    const n = (err as CertgenError & { diagnostics: Diagnostic[] }).diagnostics.length;
    io.stderr(`${err.message}\n`);
    io.stderr(`${n} error${n === 1 ? '' : 's'} in the spec; nothing was changed.\n`);
    return;
  }
  if (err instanceof CertgenError && err.name === 'PlanBlockedError') {
    const plan = (err as CertgenError & { plan: Plan }).plan;
    io.stderr(plan.errors.map((e) => `ERROR: ${e.artifact}: ${e.message}\n`).join(''));
    io.stderr('Nothing was changed.\n');
    return;
  }
  let message: string;
  let hint: string | undefined;
  if (err instanceof CertgenError) {
    message = err.message;
    hint = err.hint;
    if (err.certManagement) {
      message = `cannot load certificates.\nCheck your certificate settings, set --certs-dir, or use --insecure for insecure clusters.\n\n${message}`;
    }
  } else if (err instanceof ParseFailure) {
    message = err.message;
  } else {
    // Not a user mistake: keep the stack so the bug can be reported.
    message = `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\nPlease report this at the certgen issue tracker.`;
  }
  io.stderr(`ERROR: ${message}\n`);
  if (hint) io.stderr(`HINT: ${hint}\n`);
  // cockroach's trailer, kept for the drop-in `cert` family only.
  if (commandPath === 'certgen' || commandPath.startsWith('cert')) io.stderr(`Failed running ${JSON.stringify(commandPath)}\n`);
}

/** Runs certgen with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const run: { action?: () => Promise<void>; path: string; exitCode?: number } = { path: argv[0] ?? '' };
  const program = buildProgram(io, run);
  // The usage shown with a flag error is that of the subcommand being run.
  const findCommand = (): Command => {
    let c: Command = program;
    for (const a of argv) {
      const next = c.commands.find((s) => s.name() === a);
      if (!next) break;
      c = next;
    }
    return c;
  };
  const target = findCommand();
  const cmdPath = (() => {
    const names: string[] = [];
    for (let c: Command | null = target; c && c !== program; c = c.parent) names.unshift(c.name());
    return names.join(' ');
  })();
  try {
    await program.parseAsync(normalizeBoolFlags(argv), { from: 'user' });
  } catch (err) {
    const failure = err instanceof CommanderError ? translateCommanderError(err, target.helpInformation()) : err instanceof UsageError ? new ParseFailure(err.message, EXIT.usage, target.helpInformation()) : undefined;
    if (failure === undefined) {
      writeError(io, err, cmdPath);
      return EXIT.error;
    }
    if (failure.exitCode === EXIT.ok) return EXIT.ok;
    if (failure.usage) io.stderr(`${failure.usage}\n`);
    writeError(io, failure, cmdPath || 'certgen');
    return failure.exitCode;
  }
  if (!run.action) {
    // `certgen` alone: show what it can do.
    io.stdout(program.helpInformation());
    return EXIT.ok;
  }
  try {
    await run.action();
    return run.exitCode ?? EXIT.ok;
  } catch (err) {
    writeError(io, err, run.path);
    return err instanceof UsageError ? EXIT.usage : EXIT.error;
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  // Key generation runs on libuv's thread pool (4 threads by default); size it to the machine so
  // a big apply uses every core. Read when the pool starts, i.e. at the first key or file I/O.
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, os.availableParallelism()));
  const code = await main(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    stdoutIsTTY: process.stdout.isTTY === true,
    env: process.env,
  });
  process.exitCode = code;
}
