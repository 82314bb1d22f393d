// `certgen rotate start|status|continue|abort [FILE]`: the phased CA rotation (src/rotate/), of
// the CA of ca.crt or (--client-ca) of the split client CA of ca-client.crt.
import { identitiesFor } from './identity.js';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { subcommand } from './command.js';
import { collect, flagParser, parseDurationFlag } from './flags.js';
import { SPEC_FILE_ARGUMENT, specAction } from './spec-file.js';
import type { Io, Run } from './io.js';

const ROTATE_IDENTITY_HELP = 'age identity file (age-keygen), needed when caKey ends in .age: the CA keys are decrypted in memory only (or CERTGEN_AGE_IDENTITY holding the identity)';

const EXIT_CODES = `
Exit codes:
  0  done (status: the tree agrees with the rotation state)
  1  refused or stopped: a precondition or gate does not hold, a node failed its check, or the tree
     and the rotation state disagree; the line says why, starting with its reason code
  4  bad flags
`;

const PHASE_NAMES = ['staged', 'trusted', 'reissued', 'pruned', 'done'] as const;

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

export function addRotateCommands(program: Command, io: Io, run: Run): void {
  const rotate = subcommand(program, 'rotate', io)
    .description('rotate the CA in phases, verified on the live nodes: start, then continue until done; status shows where it is')
    .addHelpText(
      'after',
      `
Phases: staged (new CA made, the old one signs) → trusted (every ca.crt is [new, old], every node
accepts a probe signed by the new CA) → reissued (the new CA signs; every leaf reissued and rolled
out one node at a time, each serving its new certificate chained to the new CA alone) → pruned
(ca.crt is [new]; every node refuses a probe signed by the old CA) → done (old key archived 0400,
or removed). The state is kept in <spec>.rotation.json beside the spec (commit it); plan, apply,
check and report know a rotation is under way. See the README, "Rotating the CA".

With a split client CA (clientCa:), --client-ca rotates it instead, through the same phases:
only ca-client.crt (the nodes' copies), the client certificates and each node's client.node.crt
change, never ca.crt or node.crt; its state is <spec>.client-ca.rotation.json. One rotation at a
time: either kind refuses to start while the other is under way (other-rotation-in-progress).
continue and abort act on the rotation under way when --client-ca is not given; status shows both.
${EXIT_CODES}`,
    );

  subcommand(rotate, 'start', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description('check the preconditions, make the new CA key (0600, beside the old key) and certificate, and record the rotation; the old CA still signs')
    .option('--client-ca', 'rotate the split client CA (ca-client.crt) instead')
    .option('--compromised', 'the old key may have leaked: rotate even past the deadline, and prune the old CA as soon as every leaf is reissued')
    .option('--json', 'the rotation state as JSON')
    .option('--identity <file>', ROTATE_IDENTITY_HELP)
    .addHelpText('after', EXIT_CODES)
    .action(
      specAction(io, run, 'rotate start', async (spec, _file, flags: { clientCa?: boolean; compromised?: boolean; json?: boolean; identity?: string }) => {
        const { rotateStart } = await import('../rotate/start.js');
        const r = await rotateStart(spec, { clientCa: flags.clientCa === true, compromised: flags.compromised === true, ...(await identitiesFor(io, flags)) });
        if (flags.json) {
          io.stdout(json({ phase: r.state.phase, kind: r.state.kind, id: r.state.id, stateFile: r.stateFile, newKey: r.newKey, deadline: r.state.deadline, new: { sha256: r.state.new.sha256, notAfter: r.state.new.notAfter } }));
          return;
        }
        if (r.replacedInterrupted) io.stderr(`note: replaced the unused key an interrupted rotate start had left at ${r.newKey}\n`);
        const [L, flag] = r.state.kind === 'client-ca' ? ['client CA', ' --client-ca'] : ['CA', ''];
        io.stdout(`Rotation ${r.state.id} staged: new ${L} ${r.state.new.sha256.slice(0, 16)}… (until ${r.state.new.notAfter}), key ${r.newKey}.\nThe old ${L} still signs. Trust and reissue must be done by ${r.state.deadline}.\nState: ${r.stateFile} (commit it). Next: certgen rotate continue${flag}\n`);
      }),
    );

  subcommand(rotate, 'status', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description('the phase, what the next step needs, per node and client what was observed, the deadline; never writes. With a split client CA, its rotation too (or only it, with --client-ca)')
    .option('--client-ca', "only the split client CA's rotation")
    .option('--json', "as JSON, with a top-level phase: none, staged, trusted, reissued, pruned or done (with a split client CA and no --client-ca: the CA's, its own under clientCa)")
    .option('--identity <file>', ROTATE_IDENTITY_HELP)
    .addHelpText('after', EXIT_CODES)
    .action(
      specAction(io, run, 'rotate status', async (spec, _file, flags: { clientCa?: boolean; json?: boolean; identity?: string }) => {
        const { rotateStatus } = await import('../rotate/status.js');
        const { renderRotateStatus } = await import('../rotate/render.js');
        const { selectKind } = await import('../rotate/target.js');
        const ids = await identitiesFor(io, flags);
        if (flags.clientCa === true) {
          await selectKind(spec, true);
          const c = await rotateStatus(spec, { ...ids, kind: 'client-ca' });
          io.stdout(flags.json ? json(c) : renderRotateStatus(c, 'client-ca'));
          if (!c.consistent) run.exitCode = 1;
          return;
        }
        const s = await rotateStatus(spec, ids);
        const c = spec.clientCa ? await rotateStatus(spec, { ...ids, kind: 'client-ca' }) : undefined;
        io.stdout(flags.json ? json(c ? { ...s, clientCa: c } : s) : renderRotateStatus(s, 'ca') + (c ? `\n${renderRotateStatus(c, 'client-ca')}` : ''));
        if (!s.consistent || c?.consistent === false) run.exitCode = 1;
      }),
    );

  subcommand(rotate, 'continue', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description('carry out the next phase when its gate holds; stop with the reason when it does not. A rerun after an interruption resumes')
    .addOption(new Option('--until <phase>', 'carry on through the phases up to this one').choices([...PHASE_NAMES]))
    .option('--client-ca', "the split client CA's rotation (default: the rotation under way)")
    .option('--ack-clients', 'in trusted: every client has the new ca.crt (do not wait ca.clientPropagation); in reissued: every client uses its new certificate')
    .option('--shipped <node>', 'a node without ssh whose current local folder you shipped and reloaded yourself (repeatable, or comma separated)', collect)
    .addOption(new Option('--verify-timeout <duration>', 'how long each node may take to pass its check (a Go duration)').default(30_000_000_000n, '30s').argParser(flagParser(parseDurationFlag('--verify-timeout'))))
    .option('--json', 'the result as JSON (the phase reached)')
    .option('--identity <file>', ROTATE_IDENTITY_HELP)
    .addHelpText(
      'after',
      `
Gates (each failure stops with its reason code; the phase does not advance):
  → trusted    each node got ca.crt [new, old], reloaded, still presents its certificate, and
               accepts a probe client certificate signed by the new CA (trust-unverified)
  → reissued   ca.clientPropagation has passed since trusted, or --ack-clients (clients-unacked);
               then each node in turn presents its new certificate, chained to the new CA alone,
               and accepts the new-CA probe, before the next node is shipped (leaf-unverified)
  → pruned     ca.pruneOld allows it (at-expiry: the old CA has expired; after-reissue or
               --compromised: at once) and every client is acknowledged (prune-blocked); then
               each node refuses a probe signed by the old CA (prune-unverified)
  → done       the old key is archived (0400) or removed (ca.retireOldKey)
The client CA's rotation (--client-ca) has the same gates on ca-client.crt with probes of the
client CA; trusted → reissued needs no wait (clients never hold ca-client.crt), and there each node
in turn gets its new client.node.crt and must still present its node.crt and accept the probe.
Nodes without ssh are shipped by you: --shipped NODE (operator-shipped until then); a verify:
block still checks them over TLS.
${EXIT_CODES}`,
    )
    .action(
      specAction(io, run, 'rotate continue', async (spec, _file, flags: { clientCa?: boolean; until?: (typeof PHASE_NAMES)[number]; ackClients?: boolean; shipped?: string[]; verifyTimeout: bigint; json?: boolean; identity?: string }) => {
        if (flags.verifyTimeout <= 0n) throw new UsageError('--verify-timeout must be positive');
        const { rotateContinue } = await import('../rotate/continue.js');
        const r = await rotateContinue(spec, {
          ...(flags.clientCa === true ? { clientCa: true } : {}),
          ...(flags.until ? { until: flags.until } : {}),
          ackClients: flags.ackClients === true,
          ...(flags.shipped ? { shipped: flags.shipped } : {}),
          verifyTimeoutMs: Number(flags.verifyTimeout / 1_000_000n),
          ...(await identitiesFor(io, flags)),
          onEvent: (m) => {
            if (!flags.json) io.stderr(`${m}\n`);
          },
        });
        const of = r.kind === 'client-ca' ? 'client CA rotation' : 'rotation';
        io.stdout(flags.json ? json(r) : r.reached.length === 0 ? `Nothing to do: the ${of} is ${r.phase}.\n` : `${of === 'rotation' ? 'Rotation' : 'Client CA rotation'} now ${r.phase} (was ${r.from}).\n`);
      }),
    );

  subcommand(rotate, 'abort', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description('give up the rotation: every bundle back to [old], the new CA removed; only until a leaf signed by the new CA has been shipped')
    .option('--client-ca', "the split client CA's rotation (default: the rotation under way)")
    .option('--json', 'the result as JSON')
    .option('--identity <file>', ROTATE_IDENTITY_HELP)
    .addHelpText('after', EXIT_CODES)
    .action(
      specAction(io, run, 'rotate abort', async (spec, _file, flags: { clientCa?: boolean; json?: boolean; identity?: string }) => {
        const { rotateAbort } = await import('../rotate/abort.js');
        const r = await rotateAbort(spec, {
          ...(flags.clientCa === true ? { clientCa: true } : {}),
          ...(await identitiesFor(io, flags)),
          onEvent: (m) => {
            if (!flags.json) io.stderr(`${m}\n`);
          },
        });
        const L = r.kind === 'client-ca' ? 'client CA' : 'CA';
        io.stdout(flags.json ? json({ phase: 'none', ...r }) : `Rotation ${r.id} aborted (it was ${r.from}); the old ${L} alone is trusted again${r.reshipped.length > 0 ? ` on ${r.reshipped.join(', ')}` : ''}.\n`);
      }),
    );
}
