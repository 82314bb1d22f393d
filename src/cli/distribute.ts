// `certgen distribute`: copies each node's (and optionally client's) certificate files to its ssh
// target, only where they changed, in one ssh session per target (io/remote.ts).
import { Option, type Command } from 'commander';
import { EXIT } from '../errors.js';
import { DEFAULT_CONCURRENCY, distribute } from '../distribute/distribute.js';
import { distributeResultJson, formatDistributeEvent, reloadAgainHint, renderDistributeTable } from '../distribute/render.js';
import { shellQuote } from '../io/remote.js';
import { subcommand } from './command.js';
import { collect, flagParser, parseConcurrency, parseCount, parseDurationFlag } from './flags.js';
import { UsageError } from '../errors.js';
import { CA_CERT } from '../core/cert-names.js';
import type { ClientCredentials } from '../verify/probe.js';
import path from 'node:path';
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
  verify?: boolean;
  verifyTimeout?: bigint;
  verifyClient?: string;
  verifyProbeCert?: boolean;
  rolling?: boolean;
  maxUnavailable?: number;
  forceReload?: boolean;
}

export function addDistributeCommand(program: Command, io: Io, run: Run): void {
  subcommand(program, 'distribute', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description("copy each node's ca.crt, node.crt and node.key to its ssh target, only where they changed")
    .option('--dry-run', 'compare remote SHA-256 sums and print what would be copied and the exact commands; change nothing')
    .option('--node <name>', 'only this node (repeatable, or comma separated)', collect)
    .option('--clients', 'also distribute to clients that have an ssh target')
    .option('--client <user>', 'only this client (repeatable, or comma separated; implies --clients)', collect)
    .option('--force-reload', "run each target's reload: even when none of its files changed (after a reload that failed once its files were installed, a plain rerun skips it)")
    .addOption(new Option('--concurrency <n>', 'how many hosts to work on at once').default(DEFAULT_CONCURRENCY).argParser(flagParser(parseConcurrency)))
    .option('--verify', "after each node's files are in place and its reload ran, check on fresh TLS handshakes that it presents the local node.crt")
    .addOption(new Option('--verify-timeout <duration>', 'how long each endpoint may take to present the new certificate (a Go duration)').default(30_000_000_000n, '30s').argParser(flagParser(parseDurationFlag('--verify-timeout'))))
    .option('--verify-client <user>', "while verifying, present that client's certificate (from the tree) and require the server to accept it")
    .option('--verify-probe-cert', 'while verifying, present an in-memory client certificate (CN certgen-probe) signed by the local CA key, never written anywhere')
    .option('--rolling', 'one node at a time: install, reload, verify, then the next; stop at the first failure, leaving the rest untouched (implies --verify)')
    .addOption(new Option('--max-unavailable <n>', 'with a rolling rollout, how many nodes may be in flight at once (implies --rolling)').argParser(flagParser(parseCount('--max-unavailable'))))
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
\`reload:\` command (only when a file changed; with --force-reload always, so a reload that failed
after its files were installed can be run again). Only the files of that node's own folder are
ever sent, never the CA key. ssh runs with BatchMode=yes (no password prompts) and
StrictHostKeyChecking=yes unless the target's options say otherwise. One host failing does not
stop the others.

With --verify (or --rolling), each node is then checked live on the endpoints of its \`verify:\`
block (or defaults.verify: { host, sql, rpc, http }; with none, the SQL port 26257 of its ssh host):
the SQL port through the PostgreSQL SSLRequest then TLS, the RPC port as raw TLS offering ALPN h2,
the HTTP port as raw TLS. The presented leaf must be the local node.crt (SHA-256), its chain must
verify against the local ca.crt and every host of the node must pass the name/IP check; certgen
polls with backoff until it does or --verify-timeout passes (a node still presenting another
certificate then fails, both fingerprints named).

Examples:
  certgen distribute --dry-run
  certgen distribute --force-reload --node node1 --verify
  certgen distribute --rolling --verify-probe-cert
  certgen distribute --verify --max-unavailable 2 --json
  certgen distribute cluster-certs.yaml --node node1 --node node2
  certgen distribute --concurrency 16 --json

Exit codes:
  0  every target is up to date (and, with --verify, presents its local node.crt)
  1  a target failed (see the table: copying, reload or verification), a rolling rollout stopped
     (the targets after the failed one are "not started"), or the spec or local files are unusable
  4  a flag or flag value was not accepted
`,
    )
    .action(
      specAction(io, run, 'distribute', async (spec, file, flags: DistributeFlags) => {
        const selection = {
          ...(flags.node ? { nodes: flags.node } : {}),
          ...(flags.client ? { clients: flags.client } : {}),
          includeClients: flags.clients ?? false,
        };
        // On a terminal, hosts done n/N and the slowest still running (progress lines above it).
        const bar = flags.quiet ? undefined : progress(io, hostsDone, selectTargets(spec, selection).length);
        const finished = new Set<string>();
        const style = styleFor(io);
        if (flags.verifyClient !== undefined && flags.verifyProbeCert === true) throw new UsageError('--verify-client and --verify-probe-cert cannot be used together');
        const verify = flags.verify === true || flags.rolling === true || flags.maxUnavailable !== undefined;
        let verifyClient: ClientCredentials | undefined;
        if ((flags.verifyClient !== undefined || flags.verifyProbeCert === true) && !verify) throw new UsageError('--verify-client and --verify-probe-cert need --verify or --rolling');
        // Only then is the signing code loaded (it brings @peculiar/x509).
        if (flags.verifyClient !== undefined) verifyClient = await (await import('../verify/probe-cert.js')).clientCredentials(spec.certsDir, flags.verifyClient);
        if (flags.verifyProbeCert === true) verifyClient = await (await import('../verify/probe-cert.js')).probeCredentials(path.join(spec.certsDir, CA_CERT), spec.caKey, new Date());
        let result;
        try {
          result = await distribute(spec, {
            dryRun: flags.dryRun ?? false,
            ...selection,
            concurrency: flags.concurrency,
            verify,
            verifyTimeoutMs: Number((flags.verifyTimeout ?? 30_000_000_000n) / 1_000_000n),
            ...(verifyClient !== undefined ? { verifyClient } : {}),
            ...(flags.rolling === true ? { rolling: true } : {}),
            ...(flags.maxUnavailable !== undefined ? { maxUnavailable: flags.maxUnavailable } : {}),
            ...(flags.forceReload === true ? { forceReload: true } : {}),
            onEvent: bar === undefined ? undefined : (e) => {
              if (e.phase === 'check' && !finished.has(e.target)) bar.start(e.target);
              if (!flags.json) bar.log(e.failed ? style('error', formatDistributeEvent(e)) : formatDistributeEvent(e));
              if ((e.phase === 'done' || e.failed) && !finished.has(e.target)) (finished.add(e.target), bar.finish(e.target));
            },
          });
        } finally {
          bar?.end();
          verifyClient?.key.fill(0);
        }
        io.stdout(flags.json ? `${JSON.stringify(distributeResultJson(result), null, 2)}\n` : renderDistributeTable(result, style));
        // The 3 a.m. line: a node whose new files are not in use would be skipped by a plain rerun.
        const hint = reloadAgainHint(result, `certgen distribute ${shellQuote(file)}`);
        if (hint !== undefined && flags.json) io.stderr(`hint: ${hint}\n`);
        else if (hint !== undefined) io.stdout(`${style('warn', hint)}\n`);
        if (result.journal && 'error' in result.journal) io.stderr(`warning: the hosts are changed, but the journal was not updated: ${result.journal.error}\n`);
        if (!result.ok) run.exitCode = EXIT.error;
      }),
    );
}
