// `certgen status`: every ssh target's remote files against the local tree, read-only, in one ssh
// session per target, and what each node with a `verify:` block serves (src/distribute/status.ts).
import { Option, type Command } from 'commander';
import { DEFAULT_CONCURRENCY } from '../distribute/types.js';
import { STATUS_EXIT_CODES_HELP, fleetStatus } from '../distribute/status.js';
import { STATUS_FORMATS, notReloadedHint, renderStatus, type StatusFormat } from '../distribute/status-render.js';
import { shellQuote } from '../io/remote.js';
import { subcommand } from './command.js';
import { collect, flagParser, parseConcurrency } from './flags.js';
import { SPEC_FILE_ARGUMENT, specAction } from './spec-file.js';
import type { Io, Run } from './io.js';
import { selectTargets } from '../distribute/select.js';
import { hostsDone, progress, styleFor } from './tty.js';

interface StatusFlags {
  node?: string[];
  client?: string[];
  clients?: boolean;
  concurrency: number;
  format?: StatusFormat;
  json?: boolean;
}

export function addStatusCommand(program: Command, io: Io, run: Run): void {
  subcommand(program, 'status', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description('fleet drift at a glance: is each ssh target reachable, and are its files the local ones, and does it serve them? Read-only')
    .option('--node <name>', 'only this node (repeatable, or comma separated)', collect)
    .option('--clients', 'also clients that have an ssh target')
    .option('--client <user>', 'only this client (repeatable, or comma separated; implies --clients)', collect)
    .addOption(new Option('--concurrency <n>', 'how many hosts to look at at once').default(DEFAULT_CONCURRENCY).argParser(flagParser(parseConcurrency)))
    .addOption(new Option('--format <format>', 'output format').choices([...STATUS_FORMATS]).default('table'))
    .option('--json', 'the same as --format json')
    .addHelpText(
      'after',
      `
Per target, one ssh session runs the look distribute starts with (each file's type, mode and
SHA-256; needs only a POSIX shell remotely) and compares it with the target's folder in the local
tree: each file is in sync, missing, different (SHA-256) or has another mode. A node with a
verify: block (its own or defaults.verify) is also looked at live, once per endpoint (sql, rpc,
http, as distribute --verify connects; no polling): the Served column shows what each endpoint
presents (SHA-256, expiry), whether it is the local node.crt, and whether its chain verifies
against the local ca.crt and every host of the node passes the name check. Another certificate is
drift; an endpoint that does not answer with TLS is an error. Nothing is written anywhere and no
lock is taken. ssh runs as distribute runs it (BatchMode=yes,
StrictHostKeyChecking=yes unless the target's options say otherwise).

Examples:
  certgen status
  certgen status --format markdown >> "$GITHUB_STEP_SUMMARY"
  certgen status --node node1 --json

${STATUS_EXIT_CODES_HELP}
`,
    )
    .action(
      specAction(io, run, 'status', async (spec, file, flags: StatusFlags) => {
        const selection = {
          ...(flags.node ? { nodes: flags.node } : {}),
          ...(flags.client ? { clients: flags.client } : {}),
          includeClients: flags.clients ?? false,
        };
        // On a terminal, hosts done n/N and the slowest still running.
        const bar = progress(io, hostsDone, selectTargets(spec, selection).length);
        let result;
        try {
          result = await fleetStatus(spec, { ...selection, concurrency: flags.concurrency, onEvent: (e) => (e.phase === 'start' ? bar.start(e.target) : bar.finish(e.target)) });
        } finally {
          bar.end();
        }
        const format = flags.json ? 'json' : (flags.format ?? 'table');
        const style = styleFor(io);
        io.stdout(renderStatus(result, format, style));
        // A node that did not reload its (current) files: a plain distribute would skip it.
        const reloads = new Set(spec.nodes.filter((n) => n.reload !== undefined).map((n) => n.name));
        const hint = notReloadedHint(result, (n) => reloads.has(n), `certgen distribute ${shellQuote(file)}`);
        if (hint !== undefined && format === 'table') io.stdout(`${style('warn', hint)}\n`);
        else if (hint !== undefined) io.stderr(`hint: ${hint}\n`);
        run.exitCode = result.exitCode;
      }),
    );
}
