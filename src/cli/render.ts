// `certgen render k8s [FILE]`: the spec's outputs.kubernetes written from the certs dir as it is
// (apply does the same after its changes), or printed in plaintext for `kubectl apply -f -`.
import type { Command } from 'commander';
import { CertgenError, UsageError } from '../errors.js';
import { subcommand } from './command.js';
import { SPEC_FILE_ARGUMENT, certsDirLabel, specAction } from './spec-file.js';
import type { Io, Run } from './io.js';

interface RenderFlags {
  stdout?: boolean;
  output?: string;
  reencrypt?: boolean;
}

export function addRenderCommands(program: Command, io: Io, run: Run): void {
  const render = subcommand(program, 'render', io).description('write the certificates in other forms (outputs: in the spec)');
  subcommand(render, 'k8s', io)
    .argument('[file]', SPEC_FILE_ARGUMENT)
    .description('write the Kubernetes manifests of outputs.kubernetes from the certs dir, or print them')
    .option('--stdout', 'print the manifests in plaintext (private keys included) for `kubectl apply -f -`, and write nothing')
    .option('--output <index>', 'only this entry of outputs.kubernetes (0, 1, …)')
    .option('--reencrypt', 'encrypt SOPS files again even where their content is unchanged (new data key)')
    .addHelpText(
      'after',
      `
Without --stdout, each output that has a dir gets one file per object; a file whose content is
unchanged is left as it is (for SOPS files: same names, annotations and recipients), so git shows
no diff. A plaintext Secret is written only where git ignores it. apply does this too, after its
changes. --stdout refuses to print to a terminal: pipe it.

Examples:
  certgen render k8s
  certgen render k8s --stdout | kubectl apply -f -
  certgen render k8s deploy/cluster-certs.yaml --output 1 --stdout > /dev/shm/crdb.yaml

Exit codes:
  0  written (or printed)
  1  the spec is invalid, a file the manifests need is missing, or a write was refused or failed
  4  a flag or flag value was not accepted
`,
    )
    .action(
      specAction(io, run, 'render k8s', async (spec, _file, flags: RenderFlags) => {
        const all = spec.outputs?.kubernetes ?? [];
        let outputs = all;
        if (flags.output !== undefined) {
          const i = Number(flags.output);
          if (!/^\d+$/.test(flags.output) || all[i] === undefined) throw new UsageError(`--output ${flags.output}: the spec has ${all.length === 0 ? 'no outputs.kubernetes' : `outputs.kubernetes[0] to [${all.length - 1}]`}`);
          outputs = [all[i]!];
        }
        if (outputs.length === 0) throw new CertgenError('the spec has no outputs.kubernetes: nothing to render', { hint: 'add one (outputs: kubernetes: - nodeSet: NAME, layout: helm); see the README, Kubernetes' });
        const mod = await import('../kubernetes/outputs.js');
        if (flags.stdout) {
          if (flags.reencrypt) throw new UsageError('--reencrypt is for the files written, not for --stdout');
          // Private keys on a screen end up in scrollback and screen shares.
          if (io.stdoutIsTTY) throw new CertgenError('refusing to print private keys to a terminal', { hint: 'pipe it: certgen render k8s --stdout | kubectl apply -f -' });
          io.stdout(await mod.kubernetesManifestStream(spec, outputs));
          return;
        }
        const withDir = outputs.filter((o) => o.dir !== undefined);
        if (withDir.length === 0) throw new CertgenError(`no ${flags.output === undefined ? 'output' : `outputs.kubernetes[${flags.output}]`} has a dir to write to`, { hint: 'give it dir:, or print it with --stdout' });
        const { acquireLock } = await import('../io/lock.js');
        const { LOCK_FILE } = await import('../tree/layout.js');
        const { journalManifests } = await import('../apply.js');
        const { renderK8sLines } = await import('../kubernetes/render.js');
        const { existsSync } = await import('node:fs');
        if (!existsSync(spec.certsDir)) throw new CertgenError(`the certs dir ${certsDirLabel(spec)} does not exist: the manifests are made from it`, { hint: 'run certgen apply first' });
        const lock = await acquireLock(spec.certsDir, LOCK_FILE);
        try {
          const now = new Date();
          // Without --output every output is written and the stale files are pruned, as apply does.
          const files = await mod.writeKubernetesOutputs(spec, { reencrypt: flags.reencrypt ?? false, now, ...(flags.output !== undefined ? { only: withDir.map((o) => o.index) } : {}) });
          io.stdout(renderK8sLines(files));
          const line = await journalManifests(spec, files, 'render k8s', now);
          if (line && 'error' in line) io.stderr(`warning: the manifests are written, but the journal was not updated: ${line.error}\n`);
        } finally {
          await lock.release();
        }
      }),
    );
}
