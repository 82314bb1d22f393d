// Benchmark of `certgen distribute` (issue 12): T targets (distinct remote folders) on one
// loopback ssh server started for the run (test/helpers/sshd.ts: OpenSSH's sshd, or Dropbear),
// at the same concurrency:
//   - floor: one `ssh host true` session per target, with the options certgen passes;
//   - full push: every target's folder removed remotely first, then distribute;
//   - no change: distribute again, nothing to copy.
// Runs are interleaved (round k runs each task once) and the table shows the median of K, with
// the ratio to the floor and the ssh connections and sessions the server saw per run (from its
// log and the session wrapper). Every full push is checked (every file arrived, byte for byte).
//
//   npx tsx scripts/bench-distribute.ts                       # 24 targets, concurrency 8, K=3
//   npx tsx scripts/bench-distribute.ts --targets 100 --runs 5 --server dropbear
//   npx tsx scripts/bench-distribute.ts --no-sftp             # sshd without an SFTP subsystem
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { createCA, createNode } from '../src/cert/commands.js';
import { distribute } from '../src/distribute/distribute.js';
import { DEFAULT_CA_LIFETIME_NS, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, type ClusterSpec, type SshTarget } from '../src/cluster-spec/spec.js';
import { startServer, type SshServer } from '../test/helpers/sshd.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '24' },
    concurrency: { type: 'string', default: '8' },
    runs: { type: 'string', default: '3' },
    server: { type: 'string', default: 'openssh' },
    'no-sftp': { type: 'boolean', default: false },
    'key-size': { type: 'string', default: '2048' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`Usage: npx tsx scripts/bench-distribute.ts [--targets T] [--concurrency C] [--runs K]
                                             [--server openssh|dropbear] [--no-sftp] [--key-size B]
  --targets T       targets, each its own remote folder on the one server (default 24)
  --concurrency C   distribute --concurrency and the floor's (default 8)
  --runs K          runs per task; the table shows the median (default 3)
  --server S        openssh (default) or dropbear
  --no-sftp         OpenSSH without a Subsystem sftp line
  --key-size B      RSA key size of the node keys (default 2048)`);
  process.exit(0);
}
const T = Number(values.targets);
const C = Number(values.concurrency);
const K = Number(values.runs);
const KIND = values.server === 'dropbear' ? 'dropbear' : 'openssh';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'certgen-bench-dist-'));
  const certsDir = path.join(root, 'certs');
  const caKey = path.join(root, 'safe', 'ca.key');
  const remote = path.join(root, 'remote');
  mkdirSync(path.dirname(caKey));
  mkdirSync(remote);
  const keySize = Number(values['key-size']);
  console.log(`bench-distribute: ${T} targets, concurrency ${C}, ${K} runs, ${KIND}${values['no-sftp'] ? ' without SFTP' : ''}; making ${T} node certificates…`);
  await createCA({ certsDir, caKey, keySize });
  const names = Array.from({ length: T }, (_, i) => `n${i + 1}`);
  await pool(names, os.cpus().length, async (n) => {
    const dir = path.join(certsDir, 'nodes', n);
    mkdirSync(dir, { recursive: true });
    await execa('cp', [path.join(certsDir, 'ca.crt'), path.join(dir, 'ca.crt')]);
    await createNode({ certsDir: dir, caKey, keySize }, [`${n}.example.com`, 'localhost']);
  });

  const server: SshServer = await startServer(KIND, { sftp: !values['no-sftp'] });
  try {
    const ssh = (n: string): SshTarget => ({ host: server.host, port: server.port, user: server.user, dir: path.join(remote, n), identityFile: server.identityFile, knownHosts: server.knownHosts, options: [] });
    const spec: ClusterSpec = {
      file: path.join(root, 'cluster-certs.yaml'),
      baseDir: root,
      certsDir,
      caKey,
      ca: { keySize, lifetime: DEFAULT_CA_LIFETIME_NS },
      nodes: names.map((name) => ({ name, hosts: [`${name}.example.com`, 'localhost'], keySize, lifetime: DEFAULT_LIFETIME_NS, renewBefore: DEFAULT_RENEW_BEFORE_NS, ssh: ssh(name) })),
      clients: [],
    };
    const floorArgv = (n: string): string[] => {
      const t = ssh(n);
      return ['-n', '-p', String(t.port), '-o', 'BatchMode=yes', '-o', `User=${t.user}`, '-i', server.identityFile, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${server.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '--', t.host, 'true'];
    };
    type Row = { ms: number[]; conns: number[]; sessions: number[]; ok: boolean };
    const rows: Record<'floor' | 'full' | 'nochange', Row> = {
      floor: { ms: [], conns: [], sessions: [], ok: true },
      full: { ms: [], conns: [], sessions: [], ok: true },
      nochange: { ms: [], conns: [], sessions: [], ok: true },
    };
    const timed = async (row: Row, fn: () => Promise<boolean>): Promise<void> => {
      const c0 = server.connections();
      const s0 = server.sessions().length;
      const t0 = performance.now();
      const ok = await fn();
      row.ms.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 200)); // let the server's log catch up
      row.conns.push(server.connections() - c0);
      row.sessions.push(server.sessions().length - s0);
      row.ok &&= ok;
    };
    for (let k = 0; k < K; k++) {
      await timed(rows.floor, async () => {
        let ok = true;
        await pool(names, C, async (n) => {
          const r = await execa('ssh', floorArgv(n), { reject: false });
          ok &&= r.exitCode === 0;
        });
        return ok;
      });
      rmSync(remote, { recursive: true, force: true });
      mkdirSync(remote);
      await timed(rows.full, async () => {
        const r = await distribute(spec, { concurrency: C });
        if (!r.ok) console.error(r.targets.filter((t) => t.status === 'failed').map((t) => `${t.label}: ${t.error}`).slice(0, 3).join('\n'));
        return r.ok && r.targets.every((t) => t.status === 'updated');
      });
      for (const n of names) {
        for (const f of ['ca.crt', 'node.crt', 'node.key']) {
          if (!readFileSync(path.join(remote, n, f)).equals(readFileSync(path.join(certsDir, 'nodes', n, f)))) throw new Error(`${n}/${f} did not arrive intact`);
        }
      }
      await timed(rows.nochange, async () => {
        const r = await distribute(spec, { concurrency: C });
        return r.ok && r.targets.every((t) => t.status === 'unchanged');
      });
    }
    const floor = median(rows.floor.ms);
    const line = (label: string, r: Row): string =>
      `| ${label.padEnd(34)} | ${(median(r.ms) / 1000).toFixed(2).padStart(6)} s | ${(median(r.ms) / floor).toFixed(2).padStart(5)} | ${String(median(r.conns)).padStart(5)} | ${String(median(r.sessions)).padStart(8)} | ${r.ok ? 'ok' : 'FAILED'} |`;
    console.log(`\n${T} targets on one loopback ${KIND}${values['no-sftp'] ? ' (no SFTP)' : ''}, concurrency ${C}, median of ${K}:`);
    console.log('| task                               |   wall   | × floor | conns | sessions | result |');
    console.log('|---|---:|---:|---:|---:|---|');
    console.log(line(`floor: ${T} × \`ssh host true\``, rows.floor));
    console.log(line('distribute, full push', rows.full));
    console.log(line('distribute, no change', rows.nochange));
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
