// Benchmark of `certgen distribute` (issue 12): T targets (distinct remote folders) on one
// loopback ssh server started for the run (test/helpers/sshd.ts: OpenSSH's sshd, or Dropbear),
// at the same concurrency:
//   - floor: one `ssh host true` session per target, with the options certgen passes;
//   - full push: every target's folder removed remotely first, then distribute;
//   - no change: distribute again, nothing to copy.
//   - Ansible (when ansible-playbook is installed; Debian ansible-core): a playbook copying the same
//     three files with their modes (the copy module, gather_facts off), forks = the concurrency,
//     ControlMaster/ControlPersist on in a private folder, pipelining on; full push and no change.
// Runs are interleaved (round k runs each task once) and the table shows the median of K, with
// the ratio to the floor and the ssh connections and sessions the server saw per run (from its
// log and the session wrapper). Every full push is checked (every file arrived, byte for byte).
// The targets (issue 12): full push ≤ ×1.5 the floor, no change ≤ ×1.2. `npm run bench` runs this
// at 24 and 100 targets (runDistributeBench); alone:
//
//   npx tsx scripts/bench-distribute.ts                       # 24 targets, concurrency 8, K=3
//   npx tsx scripts/bench-distribute.ts --targets 100 --runs 5 --server dropbear
//   npx tsx scripts/bench-distribute.ts --no-sftp             # sshd without an SFTP subsystem
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { createCA, createNode } from '../src/cert/commands.js';
import { distribute } from '../src/distribute/distribute.js';
import { DEFAULT_CA_LIFETIME_NS, DEFAULT_LIFETIME_NS, DEFAULT_RENEW_BEFORE_NS, type ClusterSpec, type SshTarget } from '../src/cluster-spec/spec.js';
import { startServer, type SshServer } from '../test/helpers/sshd.js';

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

export interface DistributeBenchOptions {
  targets: number;
  concurrency: number;
  runs: number;
  server?: 'openssh' | 'dropbear';
  sftp?: boolean;
  keySize?: number;
  /** Also time the Ansible playbook (when ansible-playbook is on PATH); default true. */
  ansible?: boolean;
  /** Runs of the Ansible rows (they are slow); default `runs`. */
  ansibleRuns?: number;
  log?: (line: string) => void;
}

export interface DistributeBenchResult {
  /** The markdown table, ready to print. */
  table: string;
  floorMs: number;
  fullMs: number;
  noChangeMs: number;
  ansibleFullMs: number | undefined;
  ansibleNoChangeMs: number | undefined;
  /** Why there is no Ansible row, when there is none. */
  ansibleNote: string | undefined;
  fullMet: boolean;
  noChangeMet: boolean;
  ok: boolean;
}

export const FULL_TARGET = 1.5;
export const NO_CHANGE_TARGET = 1.2;

async function onPath(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}

/** The floor, distribute (full push, no change) and Ansible at T targets on one loopback server. */
export async function runDistributeBench(o: DistributeBenchOptions): Promise<DistributeBenchResult> {
  const T = o.targets;
  const C = o.concurrency;
  const K = o.runs;
  const KIND = o.server ?? 'openssh';
  const sftp = o.sftp ?? true;
  const keySize = o.keySize ?? 2048;
  const log = o.log ?? ((l: string) => console.log(l));
  const root = mkdtempSync(path.join(os.tmpdir(), 'certgen-bench-dist-'));
  const certsDir = path.join(root, 'certs');
  const caKey = path.join(root, 'safe', 'ca.key');
  const remote = path.join(root, 'remote');
  mkdirSync(path.dirname(caKey));
  mkdirSync(remote);
  log(`bench-distribute: ${T} targets, concurrency ${C}, ${K} runs, ${KIND}${sftp ? '' : ' without SFTP'}; making ${T} node certificates…`);
  await createCA({ certsDir, caKey, keySize });
  const names = Array.from({ length: T }, (_, i) => `n${i + 1}`);
  await pool(names, os.cpus().length, async (n) => {
    const dir = path.join(certsDir, 'nodes', n);
    mkdirSync(dir, { recursive: true });
    await execa('cp', [path.join(certsDir, 'ca.crt'), path.join(dir, 'ca.crt')]);
    await createNode({ certsDir: dir, caKey, keySize }, [`${n}.example.com`, 'localhost']);
  });

  const server: SshServer = await startServer(KIND, { sftp });
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
    // Ansible: an inventory of T hosts (all 127.0.0.1:port, each its own folder), one copy task.
    const ansibleWanted = o.ansible ?? true;
    const haveAnsible = ansibleWanted && (await onPath('ansible-playbook'));
    const ansibleNote = !ansibleWanted ? 'Ansible not run (--skip-ansible)' : haveAnsible ? undefined : 'ansible-playbook is not installed (Debian: apt-get install ansible-core): no Ansible rows';
    const aDir = path.join(root, 'ansible');
    let ansibleEnv: Record<string, string> = {};
    if (haveAnsible) {
      mkdirSync(path.join(aDir, 'cp'), { recursive: true, mode: 0o700 });
      mkdirSync(path.join(aDir, 'tmp'), { recursive: true, mode: 0o700 });
      const sshArgs = `-o ControlMaster=auto -o ControlPersist=60s -o ControlPath=${path.join(aDir, 'cp')}/%C -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile=${server.knownHosts} -o StrictHostKeyChecking=yes`;
      writeFileSync(
        path.join(aDir, 'ansible.cfg'),
        [
          '[defaults]',
          `forks = ${C}`,
          'host_key_checking = True',
          'gathering = explicit',
          'interpreter_python = /usr/bin/python3',
          `remote_tmp = ${path.join(aDir, 'tmp')}/remote`,
          `local_tmp = ${path.join(aDir, 'tmp')}/local`,
          'retry_files_enabled = False',
          '[ssh_connection]',
          `ssh_args = ${sshArgs}`,
          'pipelining = True',
          '',
        ].join('\n'),
      );
      writeFileSync(
        path.join(aDir, 'inventory.ini'),
        `[nodes]\n${names.map((n) => `${n} ansible_host=${server.host} ansible_port=${server.port} ansible_user=${server.user} ansible_ssh_private_key_file=${server.identityFile}`).join('\n')}\n`,
      );
      writeFileSync(
        path.join(aDir, 'playbook.yml'),
        [
          '- hosts: nodes',
          '  gather_facts: false',
          '  tasks:',
          `    - file: { path: "${remote}/{{ inventory_hostname }}", state: directory, mode: "0700" }`,
          `    - copy: { src: "${certsDir}/nodes/{{ inventory_hostname }}/{{ item.f }}", dest: "${remote}/{{ inventory_hostname }}/{{ item.f }}", mode: "{{ item.m }}" }`,
          '      loop: [{ f: ca.crt, m: "0644" }, { f: node.crt, m: "0644" }, { f: node.key, m: "0600" }]',
          '',
        ].join('\n'),
      );
      ansibleEnv = { ANSIBLE_CONFIG: path.join(aDir, 'ansible.cfg'), ANSIBLE_HOME: path.join(aDir, 'home'), ANSIBLE_NOCOLOR: '1' };
    }
    const playbook = async (): Promise<{ ok: boolean; changed: number }> => {
      const r = await execa('ansible-playbook', ['-i', path.join(aDir, 'inventory.ini'), path.join(aDir, 'playbook.yml')], { reject: false, env: ansibleEnv, all: true });
      // The recap: `n1 : ok=2 changed=1 unreachable=0 failed=0 …`, one line per host.
      const recap = [...(r.all ?? '').matchAll(/^\S+\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)];
      const ok = r.exitCode === 0 && recap.length === T && recap.every((m) => m[2] === '0' && m[3] === '0');
      if (!ok) log(`ansible-playbook failed (exit ${r.exitCode}): ${(r.all ?? '').split('\n').slice(-8).join('\n')}`);
      return { ok, changed: recap.reduce((n, m) => n + Number(m[1]), 0) };
    };
    // ssh's ControlPersist masters live on after a run: close them, so each run starts cold.
    const closeMasters = async (): Promise<void> => {
      if (!haveAnsible) return;
      await execa('sh', ['-c', `for s in '${path.join(aDir, 'cp')}'/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x 2>/dev/null; done; true`], { reject: false });
    };
    type Row = { ms: number[]; conns: number[]; sessions: number[]; ok: boolean };
    const row = (): Row => ({ ms: [], conns: [], sessions: [], ok: true });
    const rows = { floor: row(), full: row(), nochange: row(), aFull: row(), aNone: row() };
    const timed = async (r: Row, fn: () => Promise<boolean>): Promise<void> => {
      const c0 = server.connections();
      const s0 = server.sessions().length;
      const t0 = performance.now();
      const ok = await fn();
      r.ms.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, 200)); // let the server's log catch up
      r.conns.push(server.connections() - c0);
      r.sessions.push(server.sessions().length - s0);
      r.ok &&= ok;
    };
    const checkArrived = (): void => {
      for (const n of names) {
        for (const f of ['ca.crt', 'node.crt', 'node.key']) {
          if (!readFileSync(path.join(remote, n, f)).equals(readFileSync(path.join(certsDir, 'nodes', n, f)))) throw new Error(`${n}/${f} did not arrive intact`);
        }
      }
    };
    const aRuns = o.ansibleRuns ?? K;
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
        if (!r.ok) log(r.targets.filter((t) => t.status === 'failed').map((t) => `${t.label}: ${t.error}`).slice(0, 3).join('\n'));
        return r.ok && r.targets.every((t) => t.status === 'updated');
      });
      checkArrived();
      await timed(rows.nochange, async () => {
        const r = await distribute(spec, { concurrency: C });
        return r.ok && r.targets.every((t) => t.status === 'unchanged');
      });
      if (haveAnsible && k < aRuns) {
        rmSync(remote, { recursive: true, force: true });
        mkdirSync(remote);
        await closeMasters();
        await timed(rows.aFull, async () => {
          const r = await playbook();
          return r.ok && r.changed === 2 * T; // the folder and the copy loop, per host
        });
        checkArrived();
        await closeMasters();
        await timed(rows.aNone, async () => {
          const r = await playbook();
          return r.ok && r.changed === 0;
        });
        await closeMasters();
      }
    }
    const floor = median(rows.floor.ms);
    const line = (label: string, r: Row, runs: number): string =>
      `| ${label} | ${(median(r.ms) / 1000).toFixed(2)} s | ×${(median(r.ms) / floor).toFixed(2)} | ${median(r.conns)} | ${median(r.sessions)} | ${runs} | ${r.ok ? 'ok' : 'FAILED'} |`;
    const lines = [
      `${T} targets on one loopback ${KIND}${sftp ? '' : ' (no SFTP)'}, concurrency ${C}:`,
      '',
      '| task | wall (median) | × floor | conns | sessions | runs | result |',
      '|---|---:|---:|---:|---:|---:|---|',
      line(`floor: ${T} × \`ssh host true\``, rows.floor, K),
      line('certgen distribute, full push', rows.full, K),
      line('certgen distribute, no change', rows.nochange, K),
    ];
    if (haveAnsible) {
      lines.push(line(`Ansible playbook (copy, forks ${C}, ControlPersist), full push`, rows.aFull, Math.min(aRuns, K)));
      lines.push(line('Ansible playbook, no change', rows.aNone, Math.min(aRuns, K)));
    }
    if (ansibleNote !== undefined) lines.push('', `(${ansibleNote})`);
    const fullMs = median(rows.full.ms);
    const noChangeMs = median(rows.nochange.ms);
    return {
      table: lines.join('\n'),
      floorMs: floor,
      fullMs,
      noChangeMs,
      ansibleFullMs: haveAnsible ? median(rows.aFull.ms) : undefined,
      ansibleNoChangeMs: haveAnsible ? median(rows.aNone.ms) : undefined,
      ansibleNote,
      fullMet: fullMs <= FULL_TARGET * floor,
      noChangeMet: noChangeMs <= NO_CHANGE_TARGET * floor,
      ok: rows.floor.ok && rows.full.ok && rows.nochange.ok && (!haveAnsible || (rows.aFull.ok && rows.aNone.ok)),
    };
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

// Run directly: the flags below; `npm run bench` imports runDistributeBench instead.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string', default: '24' },
      concurrency: { type: 'string', default: '8' },
      runs: { type: 'string', default: '3' },
      server: { type: 'string', default: 'openssh' },
      'no-sftp': { type: 'boolean', default: false },
      'key-size': { type: 'string', default: '2048' },
      'skip-ansible': { type: 'boolean', default: false },
      'ansible-runs': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`Usage: npx tsx scripts/bench-distribute.ts [--targets T] [--concurrency C] [--runs K]
                                               [--server openssh|dropbear] [--no-sftp] [--key-size B]
                                               [--skip-ansible] [--ansible-runs A]
    --targets T       targets, each its own remote folder on the one server (default 24)
    --concurrency C   distribute --concurrency and the floor's (default 8)
    --runs K          runs per task; the table shows the median (default 3)
    --server S        openssh (default) or dropbear
    --no-sftp         OpenSSH without a Subsystem sftp line
    --key-size B      RSA key size of the node keys (default 2048)
    --skip-ansible    no Ansible rows
    --ansible-runs A  runs of the Ansible rows (default K)`);
    process.exit(0);
  }
  runDistributeBench({
    targets: Number(values.targets),
    concurrency: Number(values.concurrency),
    runs: Number(values.runs),
    server: values.server === 'dropbear' ? 'dropbear' : 'openssh',
    sftp: !values['no-sftp'],
    keySize: Number(values['key-size']),
    ansible: !values['skip-ansible'],
    ...(values['ansible-runs'] !== undefined ? { ansibleRuns: Number(values['ansible-runs']) } : {}),
  }).then(
    (r) => {
      console.log(`\n${r.table}\n`);
      console.log(`full push ÷ floor ≤ ×${FULL_TARGET}: ${r.fullMet ? 'MET' : 'NOT MET'}; no change ÷ floor ≤ ×${NO_CHANGE_TARGET}: ${r.noChangeMet ? 'MET' : 'NOT MET'}`);
      if (!r.ok) process.exitCode = 1;
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
