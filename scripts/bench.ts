// Benchmark: how long certgen takes to make a cluster's certificates, next to the raw cost of
// RSA-2048 key generation (the floor) and to other tools doing the same job.
//
//   npm run bench                                  # N=12 nodes, M=4 clients, K=3 runs
//   npx tsx scripts/bench.ts --nodes 30 --clients 5 --runs 5
//
// Every job makes a CA plus N node certs (CN=node, SANs, server+client auth) and M client certs
// (CN=<user>), RSA-2048, laid out as certgen's tree: certs/ca.crt, certs/nodes/<name>/{ca.crt,
// node.crt,node.key}, certs/clients/<user>/{ca.crt,client.<user>.crt,client.<user>.key}. That is
// N+M+1 keys per job. Runs are interleaved (round k runs every task once), so load from other
// processes spreads over all tasks instead of hitting one; the table shows the median of K.
//
// Installs nothing: a peer that is not on this machine gets a "not installed" row.
import { generateKeyPair } from 'node:crypto';
import { promises as fs, constants as fsConstants, readFileSync, rmSync, statSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { apply, plan } from '../src/apply.js';
import { loadSpec } from '../src/spec/load-spec.js';

const generateKeyPairAsync = promisify(generateKeyPair);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const NODE = process.execPath;
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// Arguments

function usage(): string {
  return `Usage: npx tsx scripts/bench.ts [--nodes N] [--clients M] [--runs K]
  --nodes N     node certificates per job (default 12)
  --clients M   client certificates per job (default 4; the first user is root)
  --runs K      runs per task; the table shows the median (default 3)`;
}

function positiveInt(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}\n${usage()}`);
    process.exit(4);
  }
  return Number(value);
}

const args = parseArgs({
  options: { nodes: { type: 'string' }, clients: { type: 'string' }, runs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  strict: true,
});
if (args.values.help) {
  console.log(usage());
  process.exit(0);
}
const N = positiveInt('nodes', args.values.nodes, 12, 1);
const M = positiveInt('clients', args.values.clients, 4, 0);
const K = positiveInt('runs', args.values.runs, 3, 1);
const KEYS = N + M + 1;
if (N > 250 * 250) {
  console.error('--nodes: at most 62500');
  process.exit(4);
}

// ---------------------------------------------------------------------------------------------
// The cluster every job builds

interface NodeDef {
  name: string;
  hosts: string[];
}
const nodes: NodeDef[] = Array.from({ length: N }, (_, i) => ({
  name: `node${i + 1}`,
  hosts: [`node${i + 1}.example.com`, `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`],
}));
const users: string[] = Array.from({ length: M }, (_, i) => (i === 0 ? 'root' : `user${i}`));
const isIP = (h: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(h);
const sanList = (hosts: string[]): string => hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');

function specYaml(): string {
  const lines = ['certsDir: certs', 'caKey: secrets/ca.key', 'nodes:'];
  for (const n of nodes) lines.push(`  - name: ${n.name}`, `    hosts: [${n.hosts.join(', ')}]`);
  if (users.length > 0) {
    lines.push('clients:');
    for (const u of users) lines.push(`  - user: ${u}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Helpers

let tmpRoot = '';
let seq = 0;
async function freshDir(label: string): Promise<string> {
  const dir = path.join(tmpRoot, `${label}-${++seq}`);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

async function onPath(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      await fs.access(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function firstLine(cmd: string, argv: string[]): Promise<string> {
  try {
    const r = await execa(cmd, argv, { reject: false, all: true, timeout: 30_000 });
    return (r.all ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '?';
  } catch {
    return '?';
  }
}

/** Runs a bash script in `cwd`; stdout/stderr are captured and shown only if it fails. */
async function bash(script: string, cwd: string, env: Record<string, string> = {}): Promise<void> {
  const file = path.join(cwd, 'job.sh');
  await fs.writeFile(file, `set -euo pipefail\numask 077\n${script}`);
  await execa('bash', [file], { cwd, env, timeout: CHILD_TIMEOUT_MS, all: true });
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/**
 * CPU time used so far, in ms: this process (all threads, so node's keygen pool too) plus every
 * child process already reaped (bash, openssl, node …: Linux rolls descendants' times into
 * cutime/cstime as they are waited for). Undefined where /proc is missing.
 */
let clockTicks = 100;
function cpuNow(): number | undefined {
  const self = process.cpuUsage();
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const children = Number(f[13]) + Number(f[14]); // cutime, cstime (fields 16 and 17)
    if (!Number.isFinite(children)) return undefined;
    return (self.user + self.system) / 1000 + (children * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The tree every job must leave behind; checked (untimed) after each run, plus a chain check. */
async function checkTree(workdir: string, verifyChain: boolean): Promise<void> {
  const want: string[] = [];
  for (const n of nodes) for (const f of ['ca.crt', 'node.crt', 'node.key']) want.push(`certs/nodes/${n.name}/${f}`);
  for (const u of users) for (const f of ['ca.crt', `client.${u}.crt`, `client.${u}.key`]) want.push(`certs/clients/${u}/${f}`);
  const missing: string[] = [];
  for (const rel of want) {
    const st = await fs.stat(path.join(workdir, rel)).catch(() => undefined);
    if (!st?.isFile() || st.size === 0) missing.push(rel);
  }
  if (missing.length > 0) throw new Error(`missing ${missing.length} file(s), e.g. ${missing.slice(0, 3).join(', ')}`);
  if (!verifyChain) return;
  const last = nodes[nodes.length - 1] as NodeDef;
  const toCheck = [`certs/nodes/${last.name}`];
  if (users.length > 0) toCheck.push(`certs/clients/${users[0]}`);
  for (const dir of toCheck) {
    const leaf = dir.includes('/nodes/') ? 'node.crt' : `client.${users[0]}.crt`;
    await execa('openssl', ['verify', '-CAfile', path.join(workdir, dir, 'ca.crt'), path.join(workdir, dir, leaf)], { timeout: 30_000 });
    const keyMod = await execa('openssl', ['rsa', '-noout', '-modulus', '-in', path.join(workdir, dir, leaf.replace(/\.crt$/, '.key'))], { timeout: 30_000 });
    const crtMod = await execa('openssl', ['x509', '-noout', '-modulus', '-in', path.join(workdir, dir, leaf)], { timeout: 30_000 });
    if (keyMod.stdout.trim() !== crtMod.stdout.trim()) throw new Error(`${dir}: key does not match certificate`);
  }
}

// ---------------------------------------------------------------------------------------------
// Tasks

type Group = 'floor' | 'certgen' | 'peer';
interface Task {
  id: string;
  group: Group;
  label: string;
  keys: number;
  /** Why the task cannot run here (shown instead of a time). */
  unavailable?: string;
  /** Untimed setup; returns the timed body. */
  prepare: () => Promise<{ run: () => Promise<void>; check?: (first: boolean) => Promise<void> }>;
}

interface Shared {
  libTree?: string;
  cliTree?: string;
}
const shared: Shared = {};

function floorTasks(parallelism: number): Task[] {
  const gen = () => generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  return [
    {
      id: 'floor-par',
      group: 'floor',
      label: `node:crypto generateKeyPair ×${KEYS}, Promise.all (the floor)`,
      keys: KEYS,
      prepare: async () => ({ run: async () => void (await Promise.all(Array.from({ length: KEYS }, gen))) }),
    },
    {
      id: 'floor-seq',
      group: 'floor',
      label: `node:crypto generateKeyPair ×${KEYS}, one at a time`,
      keys: KEYS,
      prepare: async () => ({
        run: async () => {
          for (let i = 0; i < KEYS; i++) await gen();
        },
      }),
    },
    {
      id: 'floor-shape',
      group: 'floor',
      label: `node:crypto 1 key, then ×${KEYS - 1} Promise.all (apply's order: CA first)`,
      keys: KEYS,
      prepare: async () => ({
        run: async () => {
          await gen();
          await Promise.all(Array.from({ length: KEYS - 1 }, gen));
        },
      }),
    },
    {
      id: 'floor-openssl',
      group: 'floor',
      label: `openssl genrsa 2048 ×${KEYS}, ${parallelism} at a time`,
      keys: KEYS,
      prepare: async () => {
        const dir = await freshDir('genrsa');
        return {
          run: () => pool(Array.from({ length: KEYS }, (_, i) => i), parallelism, async (i) => void (await execa('openssl', ['genrsa', '-out', path.join(dir, `k${i}.key`), '2048'], { timeout: CHILD_TIMEOUT_MS }))),
        };
      },
    },
  ];
}

async function specDir(label: string): Promise<string> {
  const dir = await freshDir(label);
  await fs.writeFile(path.join(dir, 'cluster-certs.yaml'), specYaml());
  return dir;
}

function certgenTasks(): Task[] {
  const cli = (dir: string, ...argv: string[]) => execa(NODE, [CLI, ...argv], { cwd: dir, timeout: CHILD_TIMEOUT_MS, all: true });
  const needTree = (t: string | undefined): string => {
    if (!t) throw new Error('the apply of this round failed, nothing to re-run on');
    return t;
  };
  return [
    {
      id: 'apply-lib',
      group: 'certgen',
      label: 'certgen apply, library (loadSpec + apply)',
      keys: KEYS,
      prepare: async () => {
        const dir = await specDir('apply-lib');
        shared.libTree = undefined;
        return {
          run: async () => {
            await apply(await loadSpec(path.join(dir, 'cluster-certs.yaml')));
          },
          check: async (first) => {
            await checkTree(dir, first);
            shared.libTree = dir;
          },
        };
      },
    },
    {
      id: 'noop-lib',
      group: 'certgen',
      label: 'certgen apply again, no-op (library)',
      keys: 0,
      prepare: async () => {
        const dir = needTree(shared.libTree);
        return {
          run: async () => {
            const r = await apply(await loadSpec(path.join(dir, 'cluster-certs.yaml')));
            if (r.written.length > 0) throw new Error(`no-op apply wrote ${r.written.length} files`);
          },
        };
      },
    },
    {
      id: 'plan-lib',
      group: 'certgen',
      label: 'certgen plan, full tree (library)',
      keys: 0,
      prepare: async () => {
        const dir = needTree(shared.libTree);
        return { run: async () => void (await plan(await loadSpec(path.join(dir, 'cluster-certs.yaml')))) };
      },
    },
    {
      id: 'validate-cli',
      group: 'certgen',
      label: 'certgen validate (CLI: node startup + spec parse)',
      keys: 0,
      prepare: async () => {
        const dir = await specDir('validate');
        return { run: async () => void (await cli(dir, 'validate', 'cluster-certs.yaml')) };
      },
    },
    {
      id: 'apply-cli',
      group: 'certgen',
      label: 'certgen apply (CLI: node dist/cli.js apply)',
      keys: KEYS,
      prepare: async () => {
        const dir = await specDir('apply-cli');
        shared.cliTree = undefined;
        return {
          run: async () => void (await cli(dir, 'apply', 'cluster-certs.yaml')),
          check: async (first) => {
            await checkTree(dir, first);
            shared.cliTree = dir;
          },
        };
      },
    },
    {
      id: 'noop-cli',
      group: 'certgen',
      label: 'certgen apply again, no-op (CLI)',
      keys: 0,
      prepare: async () => {
        const dir = needTree(shared.cliTree);
        return {
          run: async () => {
            const r = await cli(dir, 'apply', 'cluster-certs.yaml');
            if (!r.stdout.startsWith('Nothing to do')) throw new Error(`no-op apply did something: ${r.stdout.split('\n')[0]}`);
          },
        };
      },
    },
    {
      id: 'plan-cli',
      group: 'certgen',
      label: 'certgen plan, full tree (CLI)',
      keys: 0,
      prepare: async () => {
        const dir = needTree(shared.cliTree);
        return { run: async () => void (await cli(dir, 'plan', 'cluster-certs.yaml')) };
      },
    },
    {
      id: 'create-cli',
      group: 'certgen',
      label: `certgen cert create-ca + ${N}× create-node + ${M}× create-client (CLI, 1 process per cert)`,
      keys: KEYS,
      prepare: async () => {
        const dir = await freshDir('create');
        // The CockroachDB docs' loop: one `cert create-*` per certificate, each node/client folder
        // a certs dir holding a copy of ca.crt.
        const c = `${q(NODE)} ${q(CLI)}`;
        const lines = ['mkdir -p secrets certs/nodes certs/clients', `${c} cert create-ca --certs-dir=certs --ca-key=secrets/ca.key`];
        for (const n of nodes) {
          const d = `certs/nodes/${n.name}`;
          lines.push(`mkdir ${d}`, `cp certs/ca.crt ${d}/`, `${c} cert create-node ${n.hosts.join(' ')} --certs-dir=${d} --ca-key=secrets/ca.key`);
        }
        for (const u of users) {
          const d = `certs/clients/${u}`;
          lines.push(`mkdir ${d}`, `cp certs/ca.crt ${d}/`, `${c} cert create-client ${u} --certs-dir=${d} --ca-key=secrets/ca.key`);
        }
        return { run: () => bash(lines.join('\n'), dir), check: (first) => checkTree(dir, first) };
      },
    },
  ];
}

function peerTasks(tools: { cfssl?: string; cfssljson?: string; mkcert?: string; easyrsa?: string }): Task[] {
  const tasks: Task[] = [];

  // openssl, the way CockroachDB's "Create Security Certificates using OpenSSL" page does it:
  // genrsa, req for a CSR, then the CA signs it with the extensions from a config file.
  tasks.push({
    id: 'openssl',
    group: 'peer',
    label: 'openssl script: genrsa + req + x509 -req -extfile per cert (sequential)',
    keys: KEYS,
    prepare: async () => {
      const dir = await freshDir('openssl');
      await fs.writeFile(
        path.join(dir, 'ca.cnf'),
        `[ req ]\nprompt = no\ndistinguished_name = dn\nx509_extensions = v3_ca\n[ dn ]\nO = Cockroach\nCN = Cockroach CA\n[ v3_ca ]\nbasicConstraints = critical, CA:TRUE, pathlen:1\nkeyUsage = critical, keyCertSign, digitalSignature\nsubjectKeyIdentifier = hash\n`,
      );
      const leafExt = (eku: string, hosts?: string[]): string =>
        `keyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = ${eku}\nauthorityKeyIdentifier = keyid\n${hosts ? `subjectAltName = ${sanList(hosts)}\n` : ''}`;
      const lines = ['mkdir -p certs secrets', 'openssl genrsa -out secrets/ca.key 2048 2>/dev/null', 'openssl req -new -x509 -config ca.cnf -key secrets/ca.key -sha256 -days 3660 -out certs/ca.crt'];
      const sign = (csr: string, ext: string, out: string): string => `openssl x509 -req -in ${csr} -CA certs/ca.crt -CAkey secrets/ca.key -CAserial secrets/ca.srl -CAcreateserial -sha256 -days 1830 -extfile ${ext} -out ${out} 2>/dev/null`;
      for (const n of nodes) {
        await fs.writeFile(path.join(dir, `${n.name}.ext`), leafExt('serverAuth, clientAuth', n.hosts));
        const d = `certs/nodes/${n.name}`;
        lines.push(
          `mkdir -p ${d}`,
          `cp certs/ca.crt ${d}/`,
          `openssl genrsa -out ${d}/node.key 2048 2>/dev/null`,
          `openssl req -new -key ${d}/node.key -subj /O=Cockroach/CN=node -out ${n.name}.csr`,
          sign(`${n.name}.csr`, `${n.name}.ext`, `${d}/node.crt`),
        );
      }
      await fs.writeFile(path.join(dir, 'client.ext'), leafExt('clientAuth'));
      for (const u of users) {
        const d = `certs/clients/${u}`;
        lines.push(
          `mkdir -p ${d}`,
          `cp certs/ca.crt ${d}/`,
          `openssl genrsa -out ${d}/client.${u}.key 2048 2>/dev/null`,
          `openssl req -new -key ${d}/client.${u}.key -subj /O=Cockroach/CN=${u} -out client.${u}.csr`,
          sign(`client.${u}.csr`, 'client.ext', `${d}/client.${u}.crt`),
        );
      }
      lines.push('rm -f *.csr');
      return { run: () => bash(lines.join('\n'), dir), check: (first) => checkTree(dir, first) };
    },
  });

  // cfssl: one JSON CSR per certificate, `cfssl gencert | cfssljson -bare`, then renamed.
  tasks.push({
    id: 'cfssl',
    group: 'peer',
    label: 'cfssl gencert + cfssljson, JSON CSR per cert (sequential)',
    keys: KEYS,
    unavailable: tools.cfssl && tools.cfssljson ? undefined : 'not installed (apt-get install golang-cfssl)',
    prepare: async () => {
      const dir = await freshDir('cfssl');
      const csr = (cn: string, hosts?: string[]) => JSON.stringify({ CN: cn, ...(hosts ? { hosts } : {}), key: { algo: 'rsa', size: 2048 }, names: [{ O: 'Cockroach' }] });
      await fs.writeFile(path.join(dir, 'ca-csr.json'), JSON.stringify({ ...JSON.parse(csr('Cockroach CA')), ca: { expiry: '87840h' } }));
      await fs.writeFile(
        path.join(dir, 'config.json'),
        JSON.stringify({
          signing: {
            default: { expiry: '43920h' },
            profiles: {
              node: { usages: ['signing', 'key encipherment', 'server auth', 'client auth'], expiry: '43920h' },
              client: { usages: ['signing', 'key encipherment', 'client auth'], expiry: '43920h' },
            },
          },
        }),
      );
      const lines = ['mkdir -p certs secrets', 'cfssl gencert -initca ca-csr.json 2>/dev/null | cfssljson -bare secrets/ca', 'cp secrets/ca.pem certs/ca.crt'];
      const gencert = (profile: string, json: string, d: string, base: string): string[] => [
        `mkdir -p ${d}`,
        `cp certs/ca.crt ${d}/`,
        `cfssl gencert -ca secrets/ca.pem -ca-key secrets/ca-key.pem -config config.json -profile ${profile} ${json} 2>/dev/null | cfssljson -bare ${d}/${base}`,
        `mv ${d}/${base}.pem ${d}/${base}.crt`,
        `mv ${d}/${base}-key.pem ${d}/${base}.key`,
        `rm ${d}/${base}.csr`,
      ];
      for (const n of nodes) {
        await fs.writeFile(path.join(dir, `${n.name}.json`), csr('node', n.hosts));
        lines.push(...gencert('node', `${n.name}.json`, `certs/nodes/${n.name}`, 'node'));
      }
      for (const u of users) {
        await fs.writeFile(path.join(dir, `client.${u}.json`), csr(u));
        lines.push(...gencert('client', `client.${u}.json`, `certs/clients/${u}`, `client.${u}`));
      }
      return { run: () => bash(lines.join('\n'), dir), check: (first) => checkTree(dir, first) };
    },
  });

  // mkcert: its own CA in $CAROOT (made by the first call; RSA-3072), leaves RSA-2048. The subject
  // is always "O=mkcert development certificate": no CN=node, no CN=<user>.
  tasks.push({
    id: 'mkcert',
    group: 'peer',
    label: 'mkcert -client per cert (sequential; CA is RSA-3072, cannot set CN) ¹',
    keys: KEYS,
    unavailable: tools.mkcert ? undefined : 'not installed (apt-get install mkcert)',
    prepare: async () => {
      const dir = await freshDir('mkcert');
      const lines = ['mkdir -p certs secrets'];
      const one = (d: string, crt: string, key: string, names: string[]): string[] => [`mkdir -p ${d}`, `mkcert -client -cert-file ${d}/${crt} -key-file ${d}/${key} ${names.join(' ')} 2>/dev/null`, `cp secrets/rootCA.pem ${d}/ca.crt`];
      for (const n of nodes) lines.push(...one(`certs/nodes/${n.name}`, 'node.crt', 'node.key', n.hosts));
      for (const u of users) lines.push(...one(`certs/clients/${u}`, `client.${u}.crt`, `client.${u}.key`, [u]));
      lines.push('cp secrets/rootCA.pem certs/ca.crt');
      return { run: () => bash(lines.join('\n'), dir, { CAROOT: path.join(dir, 'secrets'), HOME: dir }), check: (first) => checkTree(dir, first) };
    },
  });

  // easy-rsa 3: build-ca, then gen-req (CN set with --req-cn) and sign-req per cert; copied
  // out of its pki/ folder into the same tree.
  tasks.push({
    id: 'easyrsa',
    group: 'peer',
    label: 'easy-rsa 3: build-ca, gen-req + sign-req per cert (sequential)',
    keys: KEYS,
    unavailable: tools.easyrsa ? undefined : 'not installed (apt-get install easy-rsa)',
    prepare: async () => {
      const dir = await freshDir('easyrsa');
      const e = q(tools.easyrsa ?? 'easyrsa');
      const lines = [`${e} init-pki >/dev/null`, `${e} --req-cn='Cockroach CA' build-ca nopass >/dev/null 2>&1`, 'mkdir -p certs', 'cp pki/ca.crt certs/'];
      const one = (base: string, cn: string, type: string, d: string, crt: string, key: string, san?: string): string[] => [
        `${e} --req-cn=${cn} gen-req ${base} nopass >/dev/null 2>&1`,
        `${e} ${san ? `--subject-alt-name=${san} ` : ''}sign-req ${type} ${base} >/dev/null 2>&1`,
        `mkdir -p ${d}`,
        `cp pki/ca.crt ${d}/`,
        `cp pki/issued/${base}.crt ${d}/${crt}`,
        `cp pki/private/${base}.key ${d}/${key}`,
      ];
      for (const n of nodes) lines.push(...one(n.name, 'node', 'serverClient', `certs/nodes/${n.name}`, 'node.crt', 'node.key', sanList(n.hosts)));
      for (const u of users) lines.push(...one(`client.${u}`, u, 'client', `certs/clients/${u}`, `client.${u}.crt`, `client.${u}.key`));
      const easyrsaHome = path.dirname(await fs.realpath(tools.easyrsa ?? ''));
      const env = { EASYRSA: easyrsaHome, EASYRSA_PKI: path.join(dir, 'pki'), EASYRSA_BATCH: '1', EASYRSA_KEY_SIZE: '2048', EASYRSA_CERT_EXPIRE: '1830', EASYRSA_CA_EXPIRE: '3660' };
      return { run: () => bash(lines.join('\n'), dir, env), check: (first) => checkTree(dir, first) };
    },
  });

  tasks.push({
    id: 'cockroach',
    group: 'peer',
    label: 'cockroach cert create-ca / create-node / create-client',
    keys: KEYS,
    unavailable: 'not available ²',
    prepare: async () => {
      throw new Error('unavailable');
    },
  });
  return tasks;
}

// ---------------------------------------------------------------------------------------------
// Reporting

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const fmtRatio = (r: number): string => (r >= 10 ? `×${r.toFixed(0)}` : `×${r.toFixed(2)}`);

function renderTable(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const started = performance.now();
  const notes: string[] = [];
  try {
    await fs.access(CLI);
  } catch {
    console.log('dist/cli.js is missing: running npm run build …');
    await execa('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: CHILD_TIMEOUT_MS });
  }
  if (newestMtime(path.join(ROOT, 'src')) > statSync(CLI).mtimeMs) notes.push('dist/ is older than src/: the CLI rows ran the last build (npm run build to refresh).');

  const parallelism = os.availableParallelism();
  const tools = {
    cfssl: await onPath('cfssl'),
    cfssljson: await onPath('cfssljson'),
    mkcert: await onPath('mkcert'),
    easyrsa: (await onPath('easyrsa')) ?? (await fs.access('/usr/share/easy-rsa/easyrsa', fsConstants.X_OK).then(() => '/usr/share/easy-rsa/easyrsa', () => undefined)),
  };
  const versions: string[] = [`node ${process.version}`, (await firstLine('openssl', ['version'])).replace(/ \(Library.*\)$/, '')];
  if (tools.cfssl) versions.push(`cfssl ${(await firstLine('cfssl', ['version'])).replace(/^Version:\s*/, '')}`);
  if (tools.mkcert) versions.push(`mkcert ${await firstLine('mkcert', ['-version'])}`);
  if (tools.easyrsa) {
    const r = await execa(tools.easyrsa, ['--version'], { reject: false, all: true, timeout: 30_000 });
    versions.push(`easy-rsa ${/Version:\s*(\S+)/.exec(r.all ?? '')?.[1] ?? '?'}`);
  }

  tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'certgen-bench-'));
  const cleanup = (): void => {
    if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  const cpuModel = os.cpus()[0]?.model ?? '?';
  const load0 = os.loadavg();
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  console.log(`certgen bench: CA + ${plural(N, 'node')} + ${plural(M, 'client')} = ${KEYS} RSA-2048 keys per job; median of ${plural(K, 'run')}, interleaved`);
  console.log(`machine: ${parallelism} CPUs (${cpuModel}), ${versions.join(', ')}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}`);

  const tasks = [...floorTasks(parallelism), ...certgenTasks(), ...peerTasks(tools)];
  const times = new Map<string, number[]>(tasks.map((t) => [t.id, []]));
  const cpu = new Map<string, number[]>(tasks.map((t) => [t.id, []]));
  // Main-thread (event loop) busy time: for in-process tasks, the JavaScript work that is not
  // waiting on libuv's pool, where node:crypto generates the keys.
  const busy = new Map<string, number[]>(tasks.map((t) => [t.id, []]));
  clockTicks = Number((await execa('getconf', ['CLK_TCK'], { reject: false })).stdout) || 100;
  const failures = new Map<string, string>();

  try {
    for (let k = 0; k < K; k++) {
      // Reset the per-round trees: each round's no-op/plan rows run on that round's apply output.
      for (const t of tasks) {
        if (t.unavailable || failures.has(t.id)) continue;
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[Krun ${k + 1}/${K}: ${t.id} …`);
        try {
          const { run, check } = await t.prepare();
          const c0 = cpuNow();
          const e0 = performance.eventLoopUtilization();
          const t0 = performance.now();
          await run();
          const ms = performance.now() - t0;
          const e1 = performance.eventLoopUtilization(e0);
          const c1 = cpuNow();
          busy.get(t.id)?.push(e1.active);
          await check?.(k === 0);
          times.get(t.id)?.push(ms);
          if (c0 !== undefined && c1 !== undefined) cpu.get(t.id)?.push(c1 - c0);
        } catch (err) {
          const e = err as Error & { all?: string; shortMessage?: string };
          const detail = (e.all ?? '').trim().split('\n').slice(-3).join(' / ');
          failures.set(t.id, `${e.shortMessage ?? e.message}${detail ? ` — ${detail}` : ''}`.replace(/\s+/g, ' ').slice(0, 300));
        }
      }
    }
  } finally {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    cleanup();
  }

  const med = (id: string, from: Map<string, number[]> = times): number | undefined => {
    const xs = from.get(id);
    return xs && xs.length > 0 ? median(xs) : undefined;
  };
  const medCpu = (id: string): number | undefined => med(id, cpu);
  const floor = med('floor-par');
  const applyRef = med('apply-cli');
  const groupTitle: Record<Group, string> = { floor: 'key generation floor', certgen: 'certgen', peer: 'peers, same job' };
  const rows: string[][] = [];
  let lastGroup: Group | undefined;
  for (const t of tasks) {
    const title = t.group !== lastGroup ? groupTitle[t.group] : '';
    lastGroup = t.group;
    const m = med(t.id);
    const xs = times.get(t.id) ?? [];
    if (t.unavailable || m === undefined) {
      rows.push([title, t.label, t.keys ? String(t.keys) : '0', t.unavailable ?? `failed: ${failures.get(t.id) ?? '?'}`, '', '', '', '']);
      continue;
    }
    rows.push([
      title,
      t.label,
      String(t.keys),
      fmtMs(m),
      xs.length > 1 ? `${fmtMs(Math.min(...xs))} – ${fmtMs(Math.max(...xs))}` : '',
      ((c) => (c === undefined ? '?' : fmtMs(c)))(medCpu(t.id)),
      t.keys > 0 && floor ? fmtRatio(m / floor) : '—',
      applyRef ? fmtRatio(m / applyRef) : '—',
    ]);
  }
  console.log('');
  console.log(renderTable(['', 'task', 'keys', `wall, median of ${K}`, 'wall min – max', 'CPU user+sys', '× floor', '× certgen apply (CLI)'], rows, new Set([2, 3, 4, 5, 6, 7])));
  console.log('(× columns are wall-time ratios; the floor is the first row; CPU is summed over all threads and child processes)');
  console.log('');

  // Findings that fall out of the numbers.
  const seqMs = med('floor-seq');
  const pct = (a: number, b: number): string => `${a >= b ? '+' : '−'}${Math.abs((a / b - 1) * 100).toFixed(0)}%`;
  if (floor && seqMs) {
    console.log(`parallel speed-up of node:crypto keygen on ${parallelism} CPUs: ×${(seqMs / floor).toFixed(2)} (one at a time ${fmtMs(seqMs)}, Promise.all ${fmtMs(floor)}; ${fmtMs(seqMs / KEYS)} per key alone)`);
  }
  const lib = med('apply-lib');
  const shape = med('floor-shape');
  const [cLib, cFloor] = [medCpu('apply-lib'), medCpu('floor-par')];
  if (floor && lib) {
    const cpuPart = cLib && cFloor ? `; CPU ${fmtMs(cLib)} vs ${fmtMs(cFloor)} (${pct(cLib, cFloor)})` : '';
    const shapePart = shape ? `; generating the CA key alone first (apply's order) costs ${fmtMs(shape)} (${pct(shape, floor)})` : '';
    console.log(`apply vs floor: in-process apply ${fmtMs(lib)} vs the floor ${fmtMs(floor)} (${pct(lib, floor)} wall${cpuPart})${shapePart}`);
    const b = med('apply-lib', busy);
    if (b !== undefined) console.log(`  apply's main thread was busy ${fmtMs(b)} of its ${fmtMs(lib)} (spec, tree scan, ${KEYS - 1} certificates, PEM, writes); the rest is waiting for keys`);
    console.log(`  (one RSA-2048 key takes 40-350 ms, so a ${KEYS}-key job varies ~±${Math.round(50 / Math.sqrt(KEYS))}% run to run: wall differences of a few tens of % between rows are noise at ${plural(K, 'run')})`);
  }
  const v = med('validate-cli');
  if (lib && applyRef) console.log(`CLI: apply through the bin ${fmtMs(applyRef)} vs in-process ${fmtMs(lib)}; one certgen process that makes no key (validate) takes ${v ? fmtMs(v) : '?'}`);
  const create = med('create-cli');
  if (create && applyRef) console.log(`one process per cert (cert create-*): ${fmtMs(create)} = ×${(create / applyRef).toFixed(2)} apply, ${fmtMs(create / KEYS)} per cert`);
  for (const [id, msg] of failures) if (!tasks.find((t) => t.id === id)?.unavailable) console.log(`FAILED ${id}: ${msg}`);
  console.log('¹ mkcert cannot set the subject: its certs carry O=mkcert development certificate and no CN, so cockroach would not accept');
  console.log('  them as node (CN=node) or client (CN=<user>) certs; timed as a keygen-and-sign peer only.');
  console.log('² cockroach: the binary is not available here (not in Debian or npm, and no other network), so `cockroach cert` was not timed.');
  for (const n of notes) console.log(`note: ${n}`);
  const load1 = os.loadavg();
  console.log(`load average at end: ${load1.map((x) => x.toFixed(2)).join(' ')}; total bench time ${fmtMs(performance.now() - started)}`);
  if (failures.size > 0 && [...failures.keys()].some((id) => !tasks.find((t) => t.id === id)?.unavailable)) process.exitCode = 1;
}

await main();
