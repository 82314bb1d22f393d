// `certgen distribute`: copies each node's (and optionally client's) certificate files to its ssh
// target, only where they changed, in one ssh session per target (io/remote.ts).
import { Option, type Command } from 'commander';
import { EXIT } from '../errors.js';
import { DEFAULT_CONCURRENCY, distribute } from '../distribute/distribute.js';
import { distributeResultJson, formatDistributeEvent, renderDistributeTable } from '../distribute/render.js';
import { subcommand } from './command.js';
import { collect, flagParser, parseConcurrency } from './flags.js';
import { SPEC_FILE_ARGUMENT, specAction } from './spec-file.js';
import type { Io, Run } from './io.js';
import { selectTargets } from '../distribute/select.js';
import { hostsDone, progress, styleFor } from './tty.js';

interface DistributeFlags {
  dryRun?: boolean;
  node?: string[];
  client?: string[];
  clients?: boolean;
  concurrency: number;
  json?: boolean;
  quiet?: boolean;
}

export function addDistributeCommand(program: Command, io: Io, run: Run): void {
  subcommand(program, 'distribute', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description("copy each node's ca.crt, node.crt and node.key to its ssh target, only where they changed")
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
options), in one ssh session that needs only a POSIX shell and coreutils remotely (no SFTP, no
scp): compare SHA-256 sums and modes; when something differs, stream only those files through the
same session into a private staging folder (umask 077), check their SHA-256, set modes (keys 0600,
certs 0644) and rename them into place (a folder certgen creates is 0700), then run the target's
\`reload:\` command. Only the files of that node's own folder are
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
    .action(
      specAction(io, run, 'distribute', async (spec, _file, flags: DistributeFlags) => {
        const selection = {
          ...(flags.node ? { nodes: flags.node } : {}),
          ...(flags.client ? { clients: flags.client } : {}),
          includeClients: flags.clients ?? false,
        };
        // On a terminal, hosts done n/N and the slowest still running (progress lines above it).
        const bar = flags.quiet ? undefined : progress(io, hostsDone, selectTargets(spec, selection).length);
        const finished = new Set<string>();
        const style = styleFor(io);
        let result;
        try {
          result = await distribute(spec, {
            dryRun: flags.dryRun ?? false,
            ...selection,
            concurrency: flags.concurrency,
            onEvent: bar === undefined ? undefined : (e) => {
              if (e.phase === 'check' && !finished.has(e.target)) bar.start(e.target);
              if (!flags.json) bar.log(e.failed ? style('error', formatDistributeEvent(e)) : formatDistributeEvent(e));
              if ((e.phase === 'done' || e.failed) && !finished.has(e.target)) (finished.add(e.target), bar.finish(e.target));
            },
          });
        } finally {
          bar?.end();
        }
        io.stdout(flags.json ? `${JSON.stringify(distributeResultJson(result), null, 2)}\n` : renderDistributeTable(result, style));
        if (!result.ok) run.exitCode = EXIT.error;
      }),
    );
}
