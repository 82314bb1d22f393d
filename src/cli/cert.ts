// `certgen cert …`: the drop-in for `cockroach cert` (create-ca, create-client-ca,
// create-tenant-client-ca, create-node, create-client, create-tenant-client, create-tenant-signing,
// list), with cockroach's flags, defaults, help, errors and exit codes.
import { Command, CommanderError, Option } from 'commander';
import { CertgenError, UsageError } from '../errors.js';
import { formatDuration } from '../core/duration.js';
import { FORMATS, renderResultSet, type Format } from '../core/table-format.js';
import { DEFAULT_CA_LIFETIME, DEFAULT_CERT_LIFETIME, DEFAULT_KEY_SIZE } from '../core/defaults.js';
import { DEFAULT_KEY_TYPE, KEY_TYPES, type KeyType } from '../core/key-type.js';

// The certificate machinery (@peculiar/x509 and its polyfill) loads when a cert command runs, not
// for every certgen command.
const commands = () => import('../cert/commands.js');
const listModule = () => import('../cert/list.js');
import { checkUsername, normalizeUsername } from '../core/username.js';
import { goQuote } from '../core/go-quote.js';
import { skipKeyPermissionCheck, subcommand } from './command.js';
import { checkPrincipalMap, flagParser, parseKeySize, parseKeyType, parseLifetime, parsePrincipalMap, parseTenantNameScope, parseTenantScope } from './flags.js';
import { LOG_HELP_TERMS, LOG_PFLAGS, LOG_REWRITTEN, SEVERITY, addLogFlags, deprecationNotices, resolveLogging, shown, type Logging } from './log-flags.js';
import { findCommandCobra, firstOperandIndex, pflagFlagsOf, toCommanderArgs, type PflagFlag } from './pflag-args.js';
import type { Io, Run } from './io.js';

/**
 * base.DefaultCertsDirectory, `${HOME}/.cockroach-certs` put through os.ExpandEnv once: plain
 * substitution, HOME unset or empty giving `/.cockroach-certs`.
 */
function defaultCertsDir(env: NodeJS.ProcessEnv): string {
  return `${env.HOME ?? ''}/.cockroach-certs`;
}

/**
 * COCKROACH_SKIP_KEY_PERMISSION_CHECK as cockroach reads it (os.LookupEnv and strconv.ParseBool):
 * set but empty is not a boolean. cockroach panics at start on it; certgen says so.
 */
const skipCheck = skipKeyPermissionCheck;

/** The flags of the `cert` level as cobra sees them: the root's persistent (logging) flags. */
const CERT_LEVEL_FLAGS = new Map<string, PflagFlag>([...LOG_PFLAGS.map((f) => [f.long, f] as const), ['help', { long: 'help', short: 'h', noOptDefVal: 'true' }]]);

/**
 * cobra finds `cert` past flags at the root too (`certgen --certs-dir=x cert list`): every flag is
 * parsed by the command finally found, whichever level it was written at, so moving `cert` to the
 * front changes nothing else. Other certgen commands keep their own syntax.
 */
export function hoistCertCommand(argv: string[]): string[] {
  if (argv[0] === 'cert') return argv;
  const i = firstOperandIndex(argv, CERT_LEVEL_FLAGS);
  return i > 0 && argv[i] === 'cert' ? ['cert', ...argv.slice(0, i), ...argv.slice(i + 1)] : argv;
}

/**
 * The command `argv` names, found as cobra finds it: flags may stand before a `cert` subcommand.
 * main() uses it to show the right usage and `Failed running "cert list"` on a flag error.
 */
export function findCertCommand(program: Command, argv: string[]): Command {
  return findCommandCobra(program, argv, (cmd) => (cmd.name() === 'cert' ? CERT_LEVEL_FLAGS : pflagFlagsOf(cmd, LOG_PFLAGS)));
}

interface CertFlags {
  certsDir: string;
  certPrincipalMap?: string[];
  caKey?: string;
  keySize: number;
  keyType: KeyType;
  /** Whether --key-size was on the command line (not the default). */
  keySizeGiven?: boolean;
  lifetime?: bigint;
  overwrite?: boolean;
  allowCaKeyReuse?: boolean;
  alsoGeneratePkcs8Key?: boolean;
  tenantScope?: string[];
  tenantNameScope?: string[];
  disableUsernameValidation?: boolean;
  format?: Format;
  identity?: string;
}

const CERT_EXIT_CODES = `
Exit codes:
  0  success
  1  the command failed (the reason follows "ERROR:" on stderr)
  4  a flag or flag value was not accepted`;

const LOGGING_HELP = `
Logging flags (accepted by every cockroach command): --logtostderr[=<severity>] and the
sinks.stderr.filter of --log / --log-config-file set the threshold for what certgen prints at a
log severity (the warnings for files the cert commands skip, shown from WARNING up by default). --log-dir,
--redactable-logs and the rest of a --log configuration have no effect: certgen writes no log
files.`;

function certsDirOption(env: NodeJS.ProcessEnv): Option {
  // os.LookupEnv: a variable set to "" is set (the certs dir "").
  return new Option('--certs-dir <path>', 'Path to the directory containing SSL certificates and keys. (env: COCKROACH_CERTS_DIR)').default(
    env.COCKROACH_CERTS_DIR ?? defaultCertsDir(env),
    '${HOME}/.cockroach-certs',
  );
}

function createOptions(cmd: Command, isCA: boolean, env: NodeJS.ProcessEnv): Command {
  const lifetimeDefault = isCA ? DEFAULT_CA_LIFETIME : DEFAULT_CERT_LIFETIME;
  cmd
    .addOption(certsDirOption(env))
    .addOption(new Option('--ca-key <path>', 'Path to the CA key. (env: COCKROACH_CA_KEY)').default(env.COCKROACH_CA_KEY, ''))
    .addOption(new Option('--key-size <bits>', 'Key size in bits for CA/Node/Client certificates (RSA keys only).').default(DEFAULT_KEY_SIZE).argParser(flagParser(parseKeySize)))
    .addOption(
      new Option('--key-type <type>', `Key type: ${KEY_TYPES.join(', ')}. A certgen extension (cockroach writes RSA keys only).`).default(DEFAULT_KEY_TYPE).argParser(flagParser(parseKeyType)),
    )
    .addOption(
      new Option('--lifetime <duration>', `Certificate lifetime, Go duration syntax (h, m, s). Default ${formatDuration(lifetimeDefault)}.`).argParser(flagParser(parseLifetime)),
    )
    .addOption(new Option('--overwrite', 'Certificate and key files are overwritten if they exist.'))
    .addOption(new Option('--identity <file>', 'age identity file (age-keygen) to decrypt an armored-age --ca-key in memory (or CERTGEN_AGE_IDENTITY holding the identity). A certgen extension.'));
  if (isCA) cmd.addOption(new Option('--allow-ca-key-reuse', 'Use the CA key if it exists.'));
  return cmd;
}

export function addCertCommands(program: Command, io: Io, run: Run): void {
  const cert = subcommand(program, 'cert', io)
    .description('create ca, node, and client certs')
    // `cert foo` reaches the action below, which answers like cockroach.
    .allowExcessArguments(true)
    .addHelpText(
      'after',
      `
Drop-in replacement for \`cockroach cert\`: the same flags, defaults, files, certificate
contents, errors and exit codes, with no cockroach binary needed.
${CERT_EXIT_CODES}
`,
    );

  /**
   * One `cert` subcommand. As cobra runs it: the positional arguments are checked first (`validate`,
   * cobra's Args), then the pre-run steps (the principal map, then the logging flags), then `action`.
   */
  const sub = (
    name: string,
    args: string,
    description: string,
    isCA: boolean | undefined,
    validate: (positional: string[]) => void,
    action: (flags: CertFlags, positional: string[], logging: Logging) => Promise<void>,
    help: string,
  ): Command => {
    // Positional arguments are checked with cobra's wording, so commander only shows them in the
    // usage line.
    const c = subcommand(cert, name, io)
      .usage(`${args ? `${args} ` : ''}[options]`)
      .description(description)
      .allowExcessArguments(true)
      .addHelpText('after', `\n${help}\n${LOGGING_HELP}\n${CERT_EXIT_CODES}\n`)
      .configureHelp({ optionTerm: (o: Option) => LOG_HELP_TERMS[o.long ?? ''] ?? o.flags });
    if (isCA === undefined) c.addOption(certsDirOption(io.env));
    else createOptions(c, isCA, io.env);
    // Registered on every cert command by cockroach; they change no generated file, so certgen
    // checks the principal map's syntax and otherwise accepts them for script compatibility.
    c.addOption(
      new Option('--cert-principal-map <cert:db,...>', 'A comma separated list of <cert-principal>:<db-principal> mappings (accepted for compatibility; no effect on generated files).').argParser(
        flagParser(parsePrincipalMap),
      ),
    );
    c.addOption(new Option('--root-cert-distinguished-name <dn>', 'Accepted for compatibility; no effect on cert commands.').hideHelp());
    c.addOption(new Option('--node-cert-distinguished-name <dn>', 'Accepted for compatibility; no effect on cert commands.').hideHelp());
    addLogFlags(c);
    withPflagSyntax(c);
    c.action(async (...received: unknown[]) => {
      const command = received[received.length - 1] as Command;
      run.path = `cert ${name}`;
      run.action = async () => {
        const flags = command.opts<CertFlags>();
        // pflag's notes on deprecated flags come right after a successful parse, before cobra checks the arguments.
        io.stderr(deprecationNotices(command));
        flags.keySizeGiven = command.getOptionValueSource('keySize') === 'cli';
        if (flags.keySizeGiven && flags.keyType !== undefined && flags.keyType !== 'rsa') {
          throw new UsageError(`--key-size applies to --key-type=rsa only, not ${flags.keyType}`);
        }
        validate(command.args);
        checkPrincipalMap(flags.certPrincipalMap ?? []);
        const logging = resolveLogging(command, io.env);
        await action(flags, command.args, logging);
      };
    });
    return c;
  };

  const noArgs = (name: string, positional: string[]): void => {
    if (positional.length > 0) throw new CertgenError(`unknown command ${JSON.stringify(positional[0])} for "certgen cert ${name}"`);
  };
  /** The loader's warnings (files it skips), shown from the stderr threshold up, as for list. */
  const warn = (logging: Logging) => (message: string): void => {
    if (shown(logging, SEVERITY.WARNING)) io.stderr(`WARNING: ${message}\n`);
  };
  const createOpts = (f: CertFlags, logging: Logging) => ({
    certsDir: f.certsDir,
    caKey: f.caKey ?? '',
    keyType: f.keyType,
    // The default size goes with the default type; a size given for another type is refused.
    ...(f.keyType === 'rsa' || f.keySizeGiven ? { keySize: f.keySize } : {}),
    lifetime: f.lifetime,
    overwrite: f.overwrite ?? false,
    skipKeyPermissionCheck: skipCheck(io.env),
    onWarning: warn(logging),
    identities: async () => (await (await import('./identity.js')).identitiesFor(io, f)).identities,
  });

  sub('create-ca', '', 'create CA certificate and key', true, (a) => noArgs('create-ca', a), async (f, _a, logging) => {
    const { createCA } = await commands();
    await createCA({ ...createOpts(f, logging), allowCAKeyReuse: f.allowCaKeyReuse ?? false });
  }, `Generates a CA certificate "<certs-dir>/ca.crt" and CA key "<ca-key>".
The certs directory is created if it does not exist.

If the CA key exists and --allow-ca-key-reuse is true, the key is used.
If the CA certificate exists and --overwrite is true, the new CA certificate is prepended to it.

Unlike cockroach, a failed create-ca writes nothing: the bundle is checked before the key is
written, so a rerun never stops at "key reuse is disabled".

Examples:
  certgen cert create-ca --certs-dir=certs --ca-key=my-safe-directory/ca.key
  certgen cert create-ca --certs-dir=certs --ca-key=my-safe-directory/ca-new.key --overwrite   # CA rotation`);

  sub('create-client-ca', '', 'create client CA certificate and key', true, (a) => noArgs('create-client-ca', a), async (f, _a, logging) => {
    const { createClientCA } = await commands();
    await createClientCA({ ...createOpts(f, logging), allowCAKeyReuse: f.allowCaKeyReuse ?? false });
  }, `Generates a client CA certificate "<certs-dir>/ca-client.crt" and CA key "<ca-key>".
The certs directory is created if it does not exist.

If the CA key exists and --allow-ca-key-reuse is true, the key is used.
If the CA certificate exists and --overwrite is true, the new CA certificate is prepended to it.

The client CA is optional and should only be used when separate CAs are desired for server
certificates and client certificates. If the client CA exists, a client.node.crt client
certificate must be created using: certgen cert create-client node
Once the client.node.crt exists, all client certificates will be verified using the client CA.`);

  sub('create-tenant-client-ca', '', 'create tenant client CA certificate and key', true, (a) => noArgs('create-tenant-client-ca', a), async (f, _a, logging) => {
    const { createTenantClientCA } = await commands();
    await createTenantClientCA({ ...createOpts(f, logging), allowCAKeyReuse: f.allowCaKeyReuse ?? false });
  }, `Generates a tenant client CA certificate "<certs-dir>/ca-client-tenant.crt" and CA key "<ca-key>".
The certs directory is created if it does not exist.

If the CA key exists and --allow-ca-key-reuse is true, the key is used.
If the CA certificate exists and --overwrite is true, the new CA certificate is prepended to it.
create-tenant-client signs with this CA when it exists.`);

  const needsHost = (hosts: string[]): void => {
    if (hosts.length === 0) throw new CertgenError('create-node requires at least one host name or address, none was specified');
  };
  sub('create-node', '<host 1> <host 2> ... <host N>', 'create node certificate and key', false, needsHost, async (f, hosts, logging) => {
    const { createNode } = await commands();
    await createNode({ ...createOpts(f, logging), nodeUser: io.env.COCKROACH_CERT_NODE_USER }, hosts);
  }, `Generates server certificate and key files for use by a CockroachDB node.
At least one host should be passed in (either IP address or dns name).
Requires a CA cert in "<certs-dir>/ca.crt" and matching key in "--ca-key".
If "ca.crt" contains more than one certificate, the first is used.
Creation fails if the CA expiration time is before the desired certificate expiration.

Examples:
  certgen cert create-node localhost 127.0.0.1 node1.example.com '*.dev.example.com' --certs-dir=certs --ca-key=my-safe-directory/ca.key`);

  const exactlyOne = (a: string[]): void => {
    if (a.length !== 1) throw new CertgenError(`accepts 1 arg(s), received ${a.length}`);
  };
  const client = sub('create-client', '<username>', 'create client certificate and key', false, exactlyOne, async (f, a, logging) => {
    const user = a[0] ?? '';
    if (f.disableUsernameValidation && checkUsername(normalizeUsername(user)) !== undefined) {
      // cockroach's words; cockroach ends them without a newline, which glues them to whatever
      // stderr line comes next (an ERROR line), so certgen ends the line.
      io.stderr(`warning: the specified identity ${goQuote(user)} is not a valid SQL username.\nBefore it can be used to log in, an identity map rule will need to be set on the server.\n`);
    }
    const { createClient } = await commands();
    await createClient(
      {
        ...createOpts(f, logging),
        alsoGeneratePkcs8Key: f.alsoGeneratePkcs8Key ?? false,
        tenantScope: f.tenantScope ?? [],
        tenantNameScope: f.tenantNameScope ?? [],
        disableUsernameValidation: f.disableUsernameValidation ?? false,
      },
      user,
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

  const atLeastOne = (a: string[]): void => {
    if (a.length < 1) throw new CertgenError(`requires at least 1 arg(s), only received ${a.length}`);
  };
  sub('create-tenant-client', '<tenant-id> [<host 1> ... <host N>]', 'create tenant client certificate and key', false, atLeastOne, async (f, a, logging) => {
    const { createTenantClient, DEFAULT_TENANT_HOSTS } = await commands();
    let hosts = a.slice(1);
    if (hosts.length === 0) {
      hosts = [...DEFAULT_TENANT_HOSTS];
      // Printed before the tenant id is read, as cockroach does (Go's %+v of the list).
      io.stderr(`Warning: no server address specified. Using [${hosts.join(' ')}].\n`);
    }
    await createTenantClient(createOpts(f, logging), a[0] ?? '', hosts);
  }, `Generates a tenant client certificate "<certs-dir>/client-tenant.<tenant-id>.crt" and key
"<certs-dir>/client-tenant.<tenant-id>.key" (O=Cockroach, OU=Tenants, CN=<tenant-id>, for both
client and server authentication), with the hosts as subject alternative names.
With no hosts, 127.0.0.1, ::1, localhost and *.local are used (and a warning says so).

Signed by the first certificate of "<certs-dir>/ca-client-tenant.crt", or of "ca-client.crt" when
there is no tenant client CA, or of "ca.crt" when there is neither; "--ca-key" is that CA's key.
Creation fails if the CA expires before the certificate would.

Examples:
  certgen cert create-tenant-client 10 tenant10.example.com 127.0.0.1 --certs-dir=certs --ca-key=my-safe-directory/ca-client-tenant.key`);

  sub('create-tenant-signing', '<tenant-id>', 'create tenant signing certificate and key', false, exactlyOne, async (f, a, logging) => {
    const { createTenantSigning } = await commands();
    await createTenantSigning(createOpts(f, logging), a[0] ?? '');
  }, `Generates a tenant signing certificate "<certs-dir>/tenant-signing.<tenant-id>.crt" and its
key "<certs-dir>/tenant-signing.<tenant-id>.key": a new Ed25519 key (PKCS#8 "PRIVATE KEY") and a
self-signed certificate that can only make signatures. No CA is needed: --ca-key and --key-size
are accepted and not used.`);

  const list = sub('list', '', 'list certs in --certs-dir', undefined, (a) => noArgs('list', a), async (f, _a, logging) => {
    const { listCerts, listingCells, LIST_COLUMNS } = await listModule();
    const listing = await listCerts({ certsDir: f.certsDir, skipKeyPermissionCheck: skipCheck(io.env) });
    // The loader's log warnings, shown from the stderr threshold up (WARNING by default).
    if (shown(logging, SEVERITY.WARNING)) for (const w of listing.warnings) io.stderr(`WARNING: ${w}\n`);
    const format: Format = f.format ?? (io.stdoutIsTTY ? 'table' : 'tsv');
    const rendered = renderResultSet(format, { columns: [...LIST_COLUMNS], rows: listing.rows.map(listingCells) });
    // JSON output stays a single valid document; every other format keeps cockroach's header line.
    const header = format === 'json' || format === 'ndjson' ? '' : `Certificate directory: ${listing.certsDir}\n`;
    io.stdout(header + rendered);
  }, `List certificates and keys found in the certificate directory.
Rows: CA, client CA, tenant client CA, UI CA, node, UI, then client, tenant client and tenant
signing certificates, each kind sorted by file name (cockroach lists no tenant rows).
The format is "table" on a terminal and "tsv" otherwise, as in cockroach; --format picks another.
json is an array of objects keyed by the column names; it omits the "Certificate directory:" line.`);
  list.addOption(new Option('--format <format>', 'Output format.').choices([...FORMATS]));

  // cobra finds the subcommand past any flags (`cert --certs-dir=certs list`): put it first, so
  // commander hands every flag to it.
  const parseCert = cert.parseOptions.bind(cert);
  cert.parseOptions = (argv: string[]) => {
    const i = firstOperandIndex(argv, CERT_LEVEL_FLAGS);
    const named = i < 0 ? undefined : cert.commands.find((c) => c.name() === argv[i]);
    // cobra looks for the subcommand no further than `--`: `cert -- list` runs `cert` itself, with
    // the argument `list` (so: unknown sub-command "list"). commander would run list.
    if (named === undefined && argv.includes('--')) return { operands: [], unknown: [...argv] };
    return parseCert(named === undefined ? argv : [argv[i] as string, ...argv.slice(0, i), ...argv.slice(i + 1)]);
  };
  // The root hands `cert` everything after it untouched: commander's own parse would drop a `--`.
  const parseRoot = program.parseOptions.bind(program);
  program.parseOptions = (argv: string[]) => (argv[0] === 'cert' ? { operands: ['cert'], unknown: argv.slice(1) } : parseRoot(argv));
  // `cert` alone takes the logging flags (persistent flags of cockroach's root) and then says it
  // needs a subcommand; its flags are read below, as the subcommands read theirs.
  cert.allowUnknownOption(true);
  cert.action((_opts: unknown, command: Command) => {
    run.path = 'cert';
    run.action = async () => {
      const flags = addLogFlags(new Command('cert').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} }));
      let parsed: { operands: string[]; unknown: string[] };
      try {
        parsed = flags.parseOptions(toCommanderArgs(command.args, pflagFlagsOf(flags, LOG_PFLAGS), LOG_REWRITTEN));
      } catch (err) {
        if (err instanceof CommanderError) throw new UsageError(err.message.replace(/^error: /, ''));
        throw err;
      }
      const unknown = parsed.unknown.find((a) => a.startsWith('-'));
      if (unknown !== undefined) throw new UsageError(unknown.startsWith('--') ? `unknown flag: ${unknown.split('=')[0] ?? ''}` : `unknown shorthand flag: '${unknown.slice(1, 2)}' in ${unknown}`);
      io.stderr(deprecationNotices(flags));
      resolveLogging(flags, io.env);
      io.stderr(cert.helpInformation() + '\n');
      throw new CertgenError(`unknown sub-command: ${goQuote([...parsed.operands, ...parsed.unknown].join(' '))}`);
    };
  });
}

/**
 * pflag's syntax for a leaf command's flags: the bare spelling of a flag commander sees with a
 * value gets pflag's implicit value, and shorthand groups are split (see pflag-args.ts).
 */
function withPflagSyntax(cmd: Command): void {
  const parse = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (argv: string[]) => parse(toCommanderArgs(argv, pflagFlagsOf(cmd, LOG_PFLAGS), LOG_REWRITTEN));
}
