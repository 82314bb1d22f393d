// Benchmark for issue 3 ("Also"): in one run,
//   A. a fresh apply of a 100-node, 20-client spec (CA + 120 leaves = 121 RSA-2048 keys), timed
//      against the raw floor (the same number of keys from node:crypto in one Promise.all, in a
//      fresh node process like the CLI) and against the same job done with the openssl commands
//      of CockroachDB's "Use OpenSSL" docs page, run sequentially as its steps are and 2 at a time;
//   B. issue 10: on a realistic 1,000-node tree (distinct RSA-2048 keys, written by certgen's own
//      `apply` and cached between runs, see planTree), a no-change `plan` (library and CLI), and
//      the CLI's `report --format json` and `check`, against a floor (a fresh node reading every
//      file of the tree) and the issue's targets: plan ≤ 0.75 s, report and check ≤ ×1.2 plan;
//   D. issue 12: `certgen distribute` at 24 and 100 targets on one loopback sshd (distinct folders),
//      full push and no change, against the floor (one `ssh host true` session per host at the same
//      concurrency, same run) and an Ansible playbook copying the same files (when ansible-playbook
//      is installed; forks = the concurrency, ControlPersist on): scripts/bench-distribute.ts;
//      targets full push ≤ ×1.5 the floor, no change ≤ ×1.2;
//   C. other tools doing job A at the same size (cfssl, mkcert, easy-rsa, one `cert create-*` process
//      per cert), one run each by default so that the whole run stays under ~8 minutes on a 2-core
//      machine (with C at K=3 too, the whole run takes ~8 minutes there, more under load);
//   E. issue 11: a fresh apply of 1,000 nodes + 100 clients with keyType ecdsa-p256, against the
//      floor of the same number of P-256 keys generated and certificates signed with node:crypto
//      in-process (see ecFloorTask), certgen's in-process issuing path, and the openssl EC recipe.
// It prints ratios and checks the issues' targets: fresh apply within ×1.15 of the floor (issue 3);
// no-change plan of 1,000 nodes ≤ 0.75 s, report and check ≤ ×1.2 of it (issue 10); distribute
// within ×1.5 (full push) and ×1.2 (no change) of its floor (issue 12); the ecdsa-p256 apply
// within ×3 of its floor (issue 11).
//
//   npm run bench                                    # the issue's sizes, K=3 runs
//   npx tsx scripts/bench.ts --runs 5 --nodes 30 --clients 5 --plan-nodes 200
//   npx tsx scripts/bench.ts --peer-runs 3           # peers at K=3 too (~3½ more minutes on 2 CPUs)
//   npx tsx scripts/bench.ts --skip-peers            # A and B only (~3 minutes on 2 CPUs)
//   npm run bench -- --only plan-tree                # B only (~15 s once the tree is cached; ~1 min
//                                                    # more the first time, to generate 1,001 keys)
//   npm run bench -- --only plan-tree --cli-root /tmp/benchwt   # CLI rows from another checkout's build
//
// Every job makes a CA plus N node certs (CN=node, SANs, server+client auth) and M client certs
// (CN=<user>, client auth), RSA-2048, laid out as certgen's tree: certs/ca.crt,
// certs/nodes/<name>/{ca.crt,node.crt,node.key}, certs/clients/<user>/{ca.crt,client.<user>.crt,
// client.<user>.key}. Each job's tree is checked after every run, outside the timing (files present,
// `openssl verify -purpose` of one node and one client cert, key matches cert, subject CN). Runs are
// interleaved (round k runs every task of a section once), so load from other processes spreads
// over all tasks instead of hitting one; tables show the median of K.
//
// Installs nothing: a peer that is not on this machine gets a "not installed" row.
import { promises as fs, constants as fsConstants, readFileSync, rmSync, statSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { apply } from '../src/apply.js';
import { plan } from '../src/plan/plan.js';
import { loadSpec } from '../src/cluster-spec/load-spec.js';
import { hasChanges } from '../src/plan/types.js';
import { generateKey, privateKeyToPem, toSigner } from '../src/pki/keys.js';
import { issueCertificate, issueCertificateDer } from '../src/pki/issue.js';
import { X509Certificate, createPublicKey, generateKeyPair, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readTlv } from '../src/pki/read/der.js';
import { FULL_TARGET, NO_CHANGE_TARGET, runDistributeBench } from './bench-distribute.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE = process.execPath;
const CHILD_TIMEOUT_MS = 15 * 60 * 1000;
const APPLY_TARGET = 1.15;
const PLAN_TARGET_MS = 750; // issue 10: a no-change plan of 1,000 nodes (it was < 1 s in issue 3)
const REPORT_TARGET = 1.2; // issue 10: report --format json and check, each ≤ ×1.2 the CLI plan
/**
 * The plan tree's cache key: bump it whenever what planTree writes, or what certgen's apply writes
 * for the same spec, changes, so that no rerun times a stale tree.
 */
const PLAN_TREE_VERSION = 'v1';
const PARTS = ['apply', 'plan-tree', 'peers', 'distribute', 'ecdsa'] as const;
const ECDSA_TARGET = 3; // issue 11: a fresh ecdsa-p256 apply within ×3 of its floor

// ---------------------------------------------------------------------------------------------
// Arguments

function usage(): string {
  return `Usage: npx tsx scripts/bench.ts [--only PARTS] [--runs K] [--nodes N] [--clients M]
                                 [--plan-nodes P] [--plan-runs R] [--rebuild-tree] [--cli-root DIR]
                                 [--peer-runs k] [--peer-nodes n] [--peer-clients m] [--skip-peers]
                                 [--dist-targets L] [--dist-runs R] [--ansible-runs A] [--skip-ansible]
  --only PARTS      comma-separated parts to run: apply (A), plan-tree (B), peers (C), distribute (D),
                    ecdsa (E);
                    default all
  --runs K          runs per task in A; tables show the median (default 3)
  --nodes N         A: node certificates in the fresh apply (default 100)
  --clients M       A: client certificates in the fresh apply (default 20; the first user is root)
  --plan-nodes P    B: nodes in the plan tree (default 1000; 0 skips B)
  --plan-runs R     B: runs per task (default 5)
  --rebuild-tree    B: build the tree again even if a cached one exists
  --cli-root DIR    the checkout whose bin/certgen.cjs and dist/ the CLI rows run (default: this one),
                    e.g. a \`git worktree add /tmp/benchwt HEAD\` copy when src/ does not build
  --peer-runs k     C: runs per peer tool (default 1)
  --peer-nodes n    C: nodes for the peer tools (default: N; 0 skips C)
  --peer-clients m  C: clients for the peer tools (default: M)
  --skip-peers      skip C (same as --peer-nodes 0)
  --dist-targets L  D: comma-separated target counts (default 24,100; empty skips D)
  --dist-runs R     D: runs per certgen/floor task (default 3)
  --ansible-runs A  D: runs of the Ansible rows (default 1: they take minutes at 100 targets)
  --skip-ansible    D: no Ansible rows
  --ec-nodes N      E: nodes in the ecdsa-p256 fresh apply (default 1000; 0 skips E)
  --ec-clients M    E: clients in it (default 100)
  --ec-openssl C    E: certificates the openssl EC recipe makes (default 100; its time is also
                    given per certificate and scaled to E's count)`;
}

function intArg(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > 62_500) {
    console.error(`--${name} must be an integer from ${min} to 62500, got ${JSON.stringify(value)}\n${usage()}`);
    process.exit(4);
  }
  return Number(value);
}

const args = parseArgs({
  options: {
    runs: { type: 'string' },
    nodes: { type: 'string' },
    clients: { type: 'string' },
    'plan-nodes': { type: 'string' },
    'plan-runs': { type: 'string' },
    'rebuild-tree': { type: 'boolean' },
    'cli-root': { type: 'string' },
    only: { type: 'string' },
    'peer-runs': { type: 'string' },
    'peer-nodes': { type: 'string' },
    'peer-clients': { type: 'string' },
    'skip-peers': { type: 'boolean' },
    'dist-targets': { type: 'string' },
    'dist-runs': { type: 'string' },
    'ansible-runs': { type: 'string' },
    'skip-ansible': { type: 'boolean' },
    'ec-nodes': { type: 'string' },
    'ec-clients': { type: 'string' },
    'ec-openssl': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (args.values.help) {
  console.log(usage());
  process.exit(0);
}
const only = new Set((args.values.only ?? PARTS.join(',')).split(',').map((x) => x.trim()).filter((x) => x !== ''));
for (const part of only) {
  if (!(PARTS as readonly string[]).includes(part)) {
    console.error(`--only: unknown part ${JSON.stringify(part)}; the parts are ${PARTS.join(', ')}\n${usage()}`);
    process.exit(4);
  }
}
const K = intArg('runs', args.values.runs, 3, 1);
const N = only.has('apply') ? intArg('nodes', args.values.nodes, 100, 1) : 0;
const M = intArg('clients', args.values.clients, 20, 0);
const P = only.has('plan-tree') ? intArg('plan-nodes', args.values['plan-nodes'], 1000, 0) : 0;
const PR = intArg('plan-runs', args.values['plan-runs'], 5, 1);
const PK = intArg('peer-runs', args.values['peer-runs'], 1, 1);
const PN = args.values['skip-peers'] || !only.has('peers') ? 0 : intArg('peer-nodes', args.values['peer-nodes'], only.has('apply') ? N : 100, 0);
const CLI_ROOT = path.resolve(args.values['cli-root'] ?? ROOT);
const CLI = path.join(CLI_ROOT, 'dist', 'cli.js');
/** The CLI rows of B run the bin, as a user does: it sizes libuv's thread pool before dist/ loads. */
const BIN = path.join(CLI_ROOT, 'bin', 'certgen.cjs');
const PM = intArg('peer-clients', args.values['peer-clients'], M, 0);
const DT = only.has('distribute') ? (args.values['dist-targets'] ?? '24,100').split(',').filter((x) => x.trim() !== '').map((x) => intArg('dist-targets', x.trim(), 24, 1)) : [];
const DR = intArg('dist-runs', args.values['dist-runs'], 3, 1);
const DA = intArg('ansible-runs', args.values['ansible-runs'], 1, 1);
const EN = only.has('ecdsa') ? intArg('ec-nodes', args.values['ec-nodes'], 1000, 0) : 0;
const EM = intArg('ec-clients', args.values['ec-clients'], 100, 0);
const EO = intArg('ec-openssl', args.values['ec-openssl'], 100, 1);
/** distribute's --concurrency in D (issue 12 measured at 8). */
const DC = 8;

// ---------------------------------------------------------------------------------------------
// The clusters

interface NodeDef {
  name: string;
  hosts: string[];
}
interface Cluster {
  nodes: NodeDef[];
  users: string[];
  /** RSA keys a fresh job makes: CA + nodes + clients. */
  keys: number;
}

function makeNodes(n: number): NodeDef[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `node${i + 1}`,
    hosts: [`node${i + 1}.example.com`, `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`],
  }));
}

function makeCluster(n: number, m: number): Cluster {
  const users = Array.from({ length: m }, (_, i) => (i === 0 ? 'root' : `user${i}`));
  return { nodes: makeNodes(n), users, keys: n + m + 1 };
}

const isIP = (h: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(h);
const sanList = (hosts: string[]): string => hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');

function specYaml(c: Cluster, keyType?: string): string {
  const lines = ['certsDir: certs', 'caKey: secrets/ca.key', ...(keyType ? [`ca: { keyType: ${keyType} }`, `defaults: { keyType: ${keyType} }`] : []), 'nodes:'];
  for (const n of c.nodes) lines.push(`  - name: ${n.name}`, `    hosts: [${n.hosts.join(', ')}]`);
  if (c.users.length > 0) {
    lines.push('clients:');
    for (const u of c.users) lines.push(`  - user: ${u}`);
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

async function specDir(label: string, c: Cluster, keyType?: string): Promise<string> {
  const dir = await freshDir(label);
  await fs.writeFile(path.join(dir, 'cluster-certs.yaml'), specYaml(c, keyType));
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

/** Runs a bash script in `cwd`; its output is captured and shown only if it fails. */
async function bash(script: string, cwd: string, env: Record<string, string> = {}): Promise<void> {
  const file = path.join(cwd, 'job.sh');
  await fs.writeFile(file, `set -euo pipefail\n${script}\n`);
  await execa('bash', [file], { cwd, env, timeout: CHILD_TIMEOUT_MS, all: true });
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

async function openssl(argv: string[]): Promise<string> {
  return (await execa('openssl', argv, { timeout: 60_000, all: true })).stdout.trim();
}

/**
 * The tree every fresh job must leave behind, checked (untimed) after each run: every file
 * present and non-empty; one node cert (the last) and one client cert (the first user) verify
 * against their folder's ca.crt for their TLS purposes, match their keys and carry CN=node /
 * CN=<user> (skipped for mkcert, which cannot set the subject).
 */
async function checkTree(c: Cluster, workdir: string, opts: { cn: boolean }): Promise<void> {
  const want = ['certs/ca.crt'];
  for (const n of c.nodes) for (const f of ['ca.crt', 'node.crt', 'node.key']) want.push(`certs/nodes/${n.name}/${f}`);
  for (const u of c.users) for (const f of ['ca.crt', `client.${u}.crt`, `client.${u}.key`]) want.push(`certs/clients/${u}/${f}`);
  const missing: string[] = [];
  for (const rel of want) {
    const st = await fs.stat(path.join(workdir, rel)).catch(() => undefined);
    if (!st?.isFile() || st.size === 0) missing.push(rel);
  }
  if (missing.length > 0) throw new Error(`missing ${missing.length} file(s), e.g. ${missing.slice(0, 3).join(', ')}`);
  const last = c.nodes[c.nodes.length - 1] as NodeDef;
  const leaves = [{ dir: `certs/nodes/${last.name}`, crt: 'node.crt', key: 'node.key', cn: 'node', purposes: ['sslserver', 'sslclient'] }];
  const user = c.users[0];
  if (user) leaves.push({ dir: `certs/clients/${user}`, crt: `client.${user}.crt`, key: `client.${user}.key`, cn: user, purposes: ['sslclient'] });
  for (const l of leaves) {
    const crt = path.join(workdir, l.dir, l.crt);
    for (const purpose of l.purposes) {
      const out = await openssl(['verify', '-purpose', purpose, '-CAfile', path.join(workdir, l.dir, 'ca.crt'), crt]);
      if (!out.endsWith(': OK')) throw new Error(`${l.dir}/${l.crt}: openssl verify -purpose ${purpose}: ${out}`);
    }
    const [keyPub, crtPub] = await Promise.all([openssl(['pkey', '-pubout', '-in', path.join(workdir, l.dir, l.key)]), openssl(['x509', '-noout', '-pubkey', '-in', crt])]);
    if (keyPub !== crtPub) throw new Error(`${l.dir}: ${l.key} does not match ${l.crt}`);
    if (opts.cn) {
      const subject = await openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', crt]);
      if (!subject.replace(/^subject=\s*/, '').split(',').includes(`CN=${l.cn}`)) throw new Error(`${l.dir}/${l.crt}: subject is ${subject}, want CN=${l.cn}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tasks

interface Prepared {
  /** The timed body; may return extra measurements (ms) to report. */
  run: () => Promise<Record<string, number> | void>;
  /** Untimed check of what the run produced. */
  check?: () => Promise<void>;
}
interface Task {
  id: string;
  label: string;
  /** RSA keys the task generates (0: none). */
  keys: number;
  /** Why the task cannot run here (shown instead of a time). */
  unavailable?: string;
  /** Untimed setup; returns the timed body. */
  prepare: () => Promise<Prepared>;
}

/** The floor as a file a fresh node runs: n × generateKeyPair in one Promise.all, nothing else. */
const FLOOR_SCRIPT = `import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
const gen = promisify(generateKeyPair);
const n = Number(process.argv[2]);
const t0 = performance.now();
await Promise.all(Array.from({ length: n }, () => gen('rsa', { modulusLength: 2048, publicExponent: 65537 })));
process.stdout.write(String(performance.now() - t0));
`;

function floorTask(c: Cluster, id: string): Task {
  return {
    id,
    label: `floor: node floor.mjs, ${c.keys}× generateKeyPair in one Promise.all (fresh process)`,
    keys: c.keys,
    prepare: async () => ({
      run: async () => {
        const r = await execa(NODE, [path.join(tmpRoot, 'floor.mjs'), String(c.keys)], { timeout: CHILD_TIMEOUT_MS });
        return { inside: Number(r.stdout) };
      },
    }),
  };
}

const cli = (dir: string, ...argv: string[]) => execa(NODE, [CLI, ...argv], { cwd: dir, timeout: CHILD_TIMEOUT_MS, all: true });

function applyLibTask(c: Cluster, id: string): Task {
  return {
    id,
    label: 'certgen apply, library: loadSpec + apply (in this process)',
    keys: c.keys,
    prepare: async () => {
      const dir = await specDir(id, c);
      return {
        run: async () => {
          const r = await apply(await loadSpec(path.join(dir, 'cluster-certs.yaml')));
          if (r.plan.errors.length > 0) throw new Error(`plan errors: ${r.plan.errors.map((e) => e.message).join('; ')}`);
        },
        check: () => checkTree(c, dir, { cn: true }),
      };
    },
  };
}

function applyCliTask(c: Cluster, id: string): Task {
  return {
    id,
    label: 'certgen apply, CLI: node dist/cli.js apply cluster-certs.yaml',
    keys: c.keys,
    prepare: async () => {
      const dir = await specDir(id, c);
      return { run: async () => void (await cli(dir, 'apply', 'cluster-certs.yaml')), check: () => checkTree(c, dir, { cn: true }) };
    },
  };
}

// openssl, as CockroachDB's "Create Security Certificates using OpenSSL" page does it: a ca.cnf
// (the CA's and the signing extensions, a signing policy, an index.txt/serial.txt database), a
// node.cnf per node (CN=node, its SANs) and a client.cnf per user (CN=<user>); then genrsa, chmod
// 400, req for a CSR and `openssl ca -policy signing_policy -extensions signing_{node,client}_req`
// per certificate; finally the .pem copies `openssl ca` leaves in -outdir are removed. Config
// files are written beforehand (untimed), as the spec YAML is for certgen.
const OPENSSL_CA_CNF = `[ ca ]
default_ca = CA_default

[ CA_default ]
default_days = 3660
database = index.txt
serial = serial.txt
default_md = sha256
copy_extensions = copy
unique_subject = no

[ req ]
prompt = no
distinguished_name = distinguished_name
x509_extensions = extensions

[ distinguished_name ]
organizationName = Cockroach
commonName = Cockroach CA

[ extensions ]
keyUsage = critical,digitalSignature,nonRepudiation,keyEncipherment,keyCertSign
basicConstraints = critical,CA:true,pathlen:1

[ signing_policy ]
organizationName = supplied
commonName = supplied

[ signing_node_req ]
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth

[ signing_client_req ]
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
`;

const leafCnf = (cn: string, hosts?: string[]): string =>
  `[ req ]\nprompt = no\ndistinguished_name = distinguished_name\n${hosts ? 'req_extensions = extensions\n' : ''}\n[ distinguished_name ]\norganizationName = Cockroach\ncommonName = ${cn}\n${hosts ? `\n[ extensions ]\nsubjectAltName = ${sanList(hosts)}\n` : ''}`;

const OPENSSL_CA_STEPS = [
  'mkdir -p certs my-safe-directory pem csr',
  'openssl genrsa -out my-safe-directory/ca.key 2048',
  'chmod 400 my-safe-directory/ca.key',
  'openssl req -new -x509 -config ca.cnf -key my-safe-directory/ca.key -out certs/ca.crt -days 3660 -batch',
  'rm -f index.txt serial.txt',
  'touch index.txt',
  "echo '01' > serial.txt",
];

/** The docs' steps for one leaf; `signPrefix` wraps `openssl ca` (a lock for the parallel run). */
function opensslLeafSteps(l: { dir: string; crt: string; key: string; cnf: string; csr: string; ext: string }, signPrefix = ''): string[] {
  return [
    `mkdir -p ${l.dir}`,
    `cp certs/ca.crt ${l.dir}/`,
    `openssl genrsa -out ${l.dir}/${l.key} 2048`,
    `chmod 400 ${l.dir}/${l.key}`,
    `openssl req -new -config ${l.cnf} -key ${l.dir}/${l.key} -out ${l.csr} -batch`,
    `${signPrefix}openssl ca -config ca.cnf -keyfile my-safe-directory/ca.key -cert certs/ca.crt -policy signing_policy -extensions ${l.ext} -out ${l.dir}/${l.crt} -outdir pem/ -in ${l.csr} -days 1830 -batch`,
  ];
}

async function opensslJob(c: Cluster, dir: string): Promise<Parameters<typeof opensslLeafSteps>[0][]> {
  await fs.writeFile(path.join(dir, 'ca.cnf'), OPENSSL_CA_CNF);
  await fs.mkdir(path.join(dir, 'cnf'));
  const leaves: Parameters<typeof opensslLeafSteps>[0][] = [];
  for (const n of c.nodes) {
    await fs.writeFile(path.join(dir, 'cnf', `${n.name}.cnf`), leafCnf('node', n.hosts));
    leaves.push({ dir: `certs/nodes/${n.name}`, crt: 'node.crt', key: 'node.key', cnf: `cnf/${n.name}.cnf`, csr: `csr/${n.name}.csr`, ext: 'signing_node_req' });
  }
  for (const u of c.users) {
    await fs.writeFile(path.join(dir, 'cnf', `client.${u}.cnf`), leafCnf(u));
    leaves.push({ dir: `certs/clients/${u}`, crt: `client.${u}.crt`, key: `client.${u}.key`, cnf: `cnf/client.${u}.cnf`, csr: `csr/client.${u}.csr`, ext: 'signing_client_req' });
  }
  return leaves;
}

function opensslSeqTask(c: Cluster, id: string): Task {
  return {
    id,
    label: 'openssl, the "Use OpenSSL" docs steps: genrsa + req + ca per cert, sequential',
    keys: c.keys,
    prepare: async () => {
      const dir = await freshDir(id);
      const leaves = await opensslJob(c, dir);
      const script = [...OPENSSL_CA_STEPS, ...leaves.flatMap((l) => opensslLeafSteps(l)), 'rm -rf pem csr'].join('\n');
      return { run: () => bash(script, dir), check: () => checkTree(c, dir, { cn: true }) };
    },
  };
}

function opensslParTask(c: Cluster, id: string): Task {
  return {
    id,
    label: 'openssl, same steps, CA first then leaves 2 at a time (xargs -P 2) ¹',
    keys: c.keys,
    prepare: async () => {
      const dir = await freshDir(id);
      const leaves = await opensslJob(c, dir);
      await fs.mkdir(path.join(dir, 'jobs'));
      for (const [i, l] of leaves.entries()) {
        await fs.writeFile(path.join(dir, 'jobs', `${String(i).padStart(6, '0')}.sh`), `set -euo pipefail\n${opensslLeafSteps(l, 'flock ca.lock ').join('\n')}\n`);
      }
      const script = [...OPENSSL_CA_STEPS, 'printf "%s\\n" jobs/*.sh | xargs -P 2 -n 1 bash', 'rm -rf pem csr'].join('\n');
      return { run: () => bash(script, dir), check: () => checkTree(c, dir, { cn: true }) };
    },
  };
}

// E: ECDSA P-256. Key generation is no longer the cost (a P-256 key takes tens of microseconds);
// signing and writing are. The floor (issue 11): the same number of P-256 keys generated and of
// certificates signed with node:crypto, in this process, no files. Each certificate is a real one:
// a to-be-signed part certgen issued once before the timing (CA, node or client), with the new
// key's SubjectPublicKeyInfo and a fresh serial put in place of the template's (both have fixed
// lengths for P-256 keys and 16-byte serials, so no length changes), signed with crypto.sign and
// wrapped; the key is exported as SEC1 PEM, as it would be written. What the floor leaves out: the
// per-node SANs and key identifiers (the template's stay; a few bytes and one SHA-1 each).
// certgen's own issuing path in-process (generateKey, issueCertificateDer: @peculiar/asn1-x509 and
// crypto.sign, and the key's PEM) is a second row, to show how much of the CLI's time issuing takes.

interface CertTemplate {
  /** The to-be-signed DER, copied and stamped per certificate. */
  tbs: Buffer;
  spkiAt: number;
  serialAt: number;
  serialLength: number;
  /** The signatureAlgorithm AlgorithmIdentifier DER after the TBS. */
  sigAlg: Buffer;
}

function certTemplate(der: Buffer, spki: Buffer): CertTemplate {
  const outer = readTlv(der, 0);
  const tbsTlv = readTlv(der, outer.start);
  const alg = readTlv(der, tbsTlv.end);
  const tbs = Buffer.from(der.subarray(tbsTlv.pos, tbsTlv.end));
  const version = readTlv(tbs, tbsTlv.start - tbsTlv.pos);
  const serial = readTlv(tbs, version.end);
  const spkiAt = tbs.indexOf(spki);
  if (version.tag !== 0xa0 || serial.tag !== 0x02 || spkiAt < 0) throw new Error('certTemplate: not a v3 certificate holding that key');
  return { tbs, spkiAt, serialAt: serial.start, serialLength: serial.end - serial.start, sigAlg: Buffer.from(der.subarray(alg.pos, alg.end)) };
}

/** A DER length. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** The template with `spki` and a fresh positive serial, signed with `caKey`: a certificate's DER. */
function stampCertificate(t: CertTemplate, spki: Buffer, caKey: KeyObject): Buffer {
  const tbs = Buffer.from(t.tbs);
  spki.copy(tbs, t.spkiAt);
  const serial = randomBytes(t.serialLength);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01;
  serial.copy(tbs, t.serialAt);
  const sig = cryptoSign('sha256', tbs, caKey);
  const bits = Buffer.concat([Buffer.from([0x03]), derLength(sig.length + 1), Buffer.from([0x00]), sig]);
  const body = Buffer.concat([tbs, t.sigAlg, bits]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

const generateKeyPairAsync = promisify(generateKeyPair);
const spkiOf = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });

function ecFloorTask(c: Cluster, id: string): Task {
  return {
    id,
    label: `floor: ${c.keys}× P-256 generateKeyPair + ${c.keys}× crypto.sign of a certificate, in-process, no files`,
    keys: c.keys,
    prepare: async () => {
      // The templates: what certgen issues for the CA, a node and a client (untimed).
      const now = new Date();
      const tCa = (await generateKey({ type: 'ecdsa-p256' })).privateKey;
      const signer = toSigner(tCa);
      const caCert = await issueCertificate({ kind: 'ca', subjectKey: tCa, signer, commonName: 'Cockroach CA', now, lifetimeMs: 87840 * 3600e3, serial: randomBytes(16) });
      const leaf = async (kind: 'node' | 'client', cn: string, hosts?: string[]): Promise<CertTemplate> => {
        const k = (await generateKey({ type: 'ecdsa-p256' })).privateKey;
        const cert = await issueCertificate({ kind, subjectKey: k, signer, issuer: caCert, commonName: cn, ...(hosts ? { hosts } : {}), now, lifetimeMs: 43920 * 3600e3, serial: randomBytes(16) });
        return certTemplate(Buffer.from(cert.rawData), spkiOf(createPublicKey(k)));
      };
      const templates = {
        ca: certTemplate(Buffer.from(caCert.rawData), spkiOf(createPublicKey(tCa))),
        node: await leaf('node', 'node', c.nodes[0]?.hosts ?? ['localhost']),
        client: await leaf('client', c.users[0] ?? 'root'),
      };
      const kinds = [templates.ca, ...c.nodes.map(() => templates.node), ...c.users.map(() => templates.client)];
      let made: { der: Buffer; spki: Buffer }[] = [];
      let caPublic: KeyObject | undefined;
      return {
        run: async () => {
          const t0 = performance.now();
          const keys = await Promise.all(kinds.map(() => generateKeyPairAsync('ec', { namedCurve: 'P-256' })));
          const keyMs = performance.now() - t0;
          const ca = keys[0] as { privateKey: KeyObject; publicKey: KeyObject };
          caPublic = ca.publicKey;
          made = keys.map((k, i) => {
            const spki = spkiOf(k.publicKey);
            k.privateKey.export({ type: 'sec1', format: 'pem' });
            return { der: stampCertificate(kinds[i] as CertTemplate, spki, ca.privateKey), spki };
          });
          return { keygen: keyMs };
        },
        // Every floor certificate parses, carries its key and verifies under the run's CA key.
        check: async () => {
          if (made.length !== c.keys || !caPublic) throw new Error(`the floor made ${made.length} of ${c.keys} certificates`);
          for (const m of made) {
            const x = new X509Certificate(m.der);
            if (!x.verify(caPublic) || !spkiOf(x.publicKey).equals(m.spki)) throw new Error('a floor certificate does not verify or does not hold its key');
          }
        },
      };
    },
  };
}

/** certgen's issuing path in-process, as apply runs it: generateKey + issueCertificateDer + the key's PEM, no files. */
function ecIssueTask(c: Cluster, id: string): Task {
  return {
    id,
    label: `certgen's generateKey + issueCertificateDer + key PEM, ${c.keys}×, in-process, no files`,
    keys: c.keys,
    prepare: async () => ({
      run: async () => {
        const caKey = (await generateKey({ type: 'ecdsa-p256' })).privateKey;
        const signer = toSigner(caKey);
        const now = new Date();
        const ca = await issueCertificate({ kind: 'ca', subjectKey: caKey, signer, commonName: 'Cockroach CA', now, lifetimeMs: 87840 * 3600e3, serial: randomBytes(16) });
        const leaves = [...c.nodes.map((n) => ({ kind: 'node' as const, cn: 'node', hosts: n.hosts })), ...c.users.map((u) => ({ kind: 'client' as const, cn: u, hosts: undefined }))];
        const keys = await Promise.all(leaves.map(() => generateKey({ type: 'ecdsa-p256' })));
        leaves.forEach((l, i) => {
          const key = (keys[i] as { privateKey: KeyObject }).privateKey;
          issueCertificateDer({ kind: l.kind, subjectKey: key, signer, issuer: ca, commonName: l.cn, ...(l.hosts ? { hosts: l.hosts } : {}), now, lifetimeMs: 43920 * 3600e3, serial: randomBytes(16) });
          privateKeyToPem(key);
        });
      },
    }),
  };
}

function ecApplyCliTask(c: Cluster, id: string): Task {
  return {
    id,
    label: 'certgen apply, CLI, keyType ecdsa-p256: node dist/cli.js apply cluster-certs.yaml',
    keys: c.keys,
    prepare: async () => {
      const dir = await specDir(id, c, 'ecdsa-p256');
      return { run: async () => void (await cli(dir, 'apply', 'cluster-certs.yaml')), check: () => checkTree(c, dir, { cn: true }) };
    },
  };
}

/** The OpenSSL docs' recipe with EC keys: `ecparam -genkey` (SEC1) instead of genrsa, per certificate. */
function ecOpensslTask(c: Cluster, id: string): Task {
  return {
    id,
    label: `openssl, the docs' steps with ecparam -genkey -name prime256v1 per cert, sequential (${c.keys} certs)`,
    keys: c.keys,
    prepare: async () => {
      const dir = await freshDir(id);
      const leaves = await opensslJob(c, dir);
      const ec = (line: string): string => line.replace(/openssl genrsa -out (\S+) 2048/, 'openssl ecparam -name prime256v1 -genkey -noout -out $1');
      const script = [...OPENSSL_CA_STEPS.map(ec), ...leaves.flatMap((l) => opensslLeafSteps(l).map(ec)), 'rm -rf pem csr'].join('\n');
      return { run: () => bash(script, dir), check: () => checkTree(c, dir, { cn: true }) };
    },
  };
}

interface Tools {
  cfssl?: string;
  cfssljson?: string;
  mkcert?: string;
  easyrsa?: string;
}

function peerTasks(c: Cluster, tools: Tools): Task[] {
  const tasks: Task[] = [];

  // One `certgen cert create-*` process per certificate: the CockroachDB docs' `cockroach cert`
  // loop, each node/client folder a certs dir holding a copy of ca.crt.
  tasks.push({
    id: 'create-cli',
    label: `certgen cert create-ca + ${c.nodes.length}× create-node + ${c.users.length}× create-client (1 process per cert)`,
    keys: c.keys,
    prepare: async () => {
      const dir = await freshDir('create');
      const cg = `${q(NODE)} ${q(CLI)}`;
      const lines = ['mkdir -p secrets certs/nodes certs/clients', `${cg} cert create-ca --certs-dir=certs --ca-key=secrets/ca.key`];
      for (const n of c.nodes) {
        const d = `certs/nodes/${n.name}`;
        lines.push(`mkdir ${d}`, `cp certs/ca.crt ${d}/`, `${cg} cert create-node ${n.hosts.join(' ')} --certs-dir=${d} --ca-key=secrets/ca.key`);
      }
      for (const u of c.users) {
        const d = `certs/clients/${u}`;
        lines.push(`mkdir ${d}`, `cp certs/ca.crt ${d}/`, `${cg} cert create-client ${u} --certs-dir=${d} --ca-key=secrets/ca.key`);
      }
      return { run: () => bash(lines.join('\n'), dir), check: () => checkTree(c, dir, { cn: true }) };
    },
  });

  // cfssl: one JSON CSR per certificate, `cfssl gencert | cfssljson -bare`, then renamed.
  tasks.push({
    id: 'cfssl',
    label: 'cfssl gencert + cfssljson, JSON CSR per cert (sequential)',
    keys: c.keys,
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
      for (const n of c.nodes) {
        await fs.writeFile(path.join(dir, `${n.name}.json`), csr('node', n.hosts));
        lines.push(...gencert('node', `${n.name}.json`, `certs/nodes/${n.name}`, 'node'));
      }
      for (const u of c.users) {
        await fs.writeFile(path.join(dir, `client.${u}.json`), csr(u));
        lines.push(...gencert('client', `client.${u}.json`, `certs/clients/${u}`, `client.${u}`));
      }
      return { run: () => bash(lines.join('\n'), dir), check: () => checkTree(c, dir, { cn: true }) };
    },
  });

  // mkcert: its own CA in $CAROOT (made by the first call; RSA-3072), leaves RSA-2048. The subject
  // is always "O=mkcert development certificate": no CN=node, no CN=<user>.
  tasks.push({
    id: 'mkcert',
    label: 'mkcert -client per cert (sequential; CA is RSA-3072, cannot set CN) ²',
    keys: c.keys,
    unavailable: tools.mkcert ? undefined : 'not installed (apt-get install mkcert)',
    prepare: async () => {
      const dir = await freshDir('mkcert');
      const lines = ['mkdir -p certs secrets'];
      const one = (d: string, crt: string, key: string, names: string[]): string[] => [`mkdir -p ${d}`, `mkcert -client -cert-file ${d}/${crt} -key-file ${d}/${key} ${names.join(' ')} 2>/dev/null`, `cp secrets/rootCA.pem ${d}/ca.crt`];
      for (const n of c.nodes) lines.push(...one(`certs/nodes/${n.name}`, 'node.crt', 'node.key', n.hosts));
      for (const u of c.users) lines.push(...one(`certs/clients/${u}`, `client.${u}.crt`, `client.${u}.key`, [u]));
      lines.push('cp secrets/rootCA.pem certs/ca.crt');
      return { run: () => bash(lines.join('\n'), dir, { CAROOT: path.join(dir, 'secrets'), HOME: dir }), check: () => checkTree(c, dir, { cn: false }) };
    },
  });

  // easy-rsa 3: build-ca, then gen-req (CN set with --req-cn) and sign-req per cert; copied out of
  // its pki/ folder into the same tree.
  tasks.push({
    id: 'easyrsa',
    label: 'easy-rsa 3: build-ca, gen-req + sign-req per cert (sequential)',
    keys: c.keys,
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
      for (const n of c.nodes) lines.push(...one(n.name, 'node', 'serverClient', `certs/nodes/${n.name}`, 'node.crt', 'node.key', sanList(n.hosts)));
      for (const u of c.users) lines.push(...one(`client.${u}`, u, 'client', `certs/clients/${u}`, `client.${u}.crt`, `client.${u}.key`));
      const easyrsaHome = path.dirname(await fs.realpath(tools.easyrsa ?? ''));
      const env = { EASYRSA: easyrsaHome, EASYRSA_PKI: path.join(dir, 'pki'), EASYRSA_BATCH: '1', EASYRSA_KEY_SIZE: '2048', EASYRSA_CERT_EXPIRE: '1830', EASYRSA_CA_EXPIRE: '3660' };
      return { run: () => bash(lines.join('\n'), dir, env), check: () => checkTree(c, dir, { cn: true }) };
    },
  });

  tasks.push({
    id: 'cockroach',
    label: 'cockroach cert create-ca / create-node / create-client',
    keys: c.keys,
    unavailable: 'not available ³',
    prepare: async () => {
      throw new Error('unavailable');
    },
  });
  return tasks;
}

// ---------------------------------------------------------------------------------------------
// B. The realistic 1,000-node tree, and what is timed on it

interface PlanTree {
  dir: string;
  specFile: string;
  /** How the tree came to be, for the output. */
  origin: string;
}

interface TreeStamp {
  version: string;
  nodes: number;
  builtAt: string;
  buildMs: number;
  commit: string;
}

async function gitCommit(dir: string): Promise<string> {
  const r = await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, reject: false });
  if (r.exitCode !== 0) return '?';
  const dirty = await execa('git', ['status', '--porcelain', '--', 'src'], { cwd: dir, reject: false });
  return `${r.stdout.trim()}${dirty.stdout.trim() !== '' ? ' + uncommitted src/ edits' : ''}`;
}

/** A library plan of the tree: undefined when it has nothing to do, else why not. */
async function planProblem(specFile: string): Promise<string | undefined> {
  try {
    const p = await plan(await loadSpec(specFile));
    if (p.errors.length > 0) return `plan errors: ${p.errors.map((e) => `${e.artifact}: ${e.message}`).slice(0, 3).join('; ')}`;
    const pending = p.changes.filter((ch) => ch.action !== 'keep');
    if (pending.length > 0) return `${pending.length} pending change(s), e.g. ${pending.slice(0, 3).map((ch) => `${ch.action} ${ch.artifact} (${ch.reasons.map((r) => r.code).join(', ')})`).join('; ')}`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The tree a real cluster of `n` nodes has: a spec built here (the nodes of makeNodes, no clients)
 * and what certgen's own library `apply` writes for it, so a CA and n DISTINCT RSA-2048 node keys,
 * each node folder with its ca.crt, node.crt and node.key, with apply's modes. Generating n keys
 * takes about a minute on 2 CPUs, so the tree is cached in node_modules/.cache/certgen-bench/,
 * keyed by PLAN_TREE_VERSION and n; a cached tree is reused when its stamp file (written last, so
 * an interrupted build never counts) matches and a library plan of it has nothing to do, and is
 * rebuilt otherwise (or with --rebuild-tree). It is built in a side folder and renamed into place.
 */
async function planTree(n: number, rebuild: boolean): Promise<PlanTree> {
  const tree = await cachedPlanTree(n, rebuild);
  await ownRepository(tree.dir);
  return tree;
}

/**
 * The tree as an operator keeps it: its own git repository (spec and certificates committed, the
 * CA key's folder ignored, the keys ignored by the .gitignore apply wrote), so plan and check ask
 * git of this repository alone, and check's key scan reads this repository, not certgen's own.
 */
async function ownRepository(dir: string): Promise<void> {
  if (await fs.stat(path.join(dir, '.git')).then(() => true, () => false)) return;
  await fs.writeFile(path.join(dir, '.gitignore'), 'secrets/\n.certgen-locks/\n');
  const git = (...argv: string[]) => execa('git', ['-c', 'user.name=certgen bench', '-c', 'user.email=bench@localhost', '-c', 'commit.gpgsign=false', ...argv], { cwd: dir, timeout: 60_000 });
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-q', '-m', 'the bench tree');
}

async function cachedPlanTree(n: number, rebuild: boolean): Promise<PlanTree> {
  const cacheRoot = path.join(ROOT, 'node_modules', '.cache', 'certgen-bench');
  const dir = path.join(cacheRoot, `plan-tree-${PLAN_TREE_VERSION}-${n}-nodes`);
  const specFile = path.join(dir, 'cluster-certs.yaml');
  const stampFile = path.join(dir, 'tree.json');
  const rel = path.relative(ROOT, dir);
  let why = rebuild ? '--rebuild-tree' : 'no cached tree';
  if (!rebuild) {
    const stamp = await fs.readFile(stampFile, 'utf8').then(
      (t) => JSON.parse(t) as TreeStamp,
      () => undefined,
    );
    if (stamp?.version === PLAN_TREE_VERSION && stamp.nodes === n) {
      const problem = await planProblem(specFile);
      if (problem === undefined) {
        return { dir, specFile, origin: `REUSED the cached tree in ${rel}/ (built ${stamp.builtAt} in ${fmtMs(stamp.buildMs)} by certgen ${stamp.commit}; --rebuild-tree to build it again)` };
      }
      why = `the cached tree is not a no-change tree for this code (${problem.slice(0, 200)})`;
    } else if (stamp) {
      why = `the cached tree's stamp is for ${stamp.version}/${stamp.nodes} nodes`;
    }
  }
  if (process.stderr.isTTY) process.stderr.write(`B: building the ${n}-node tree with certgen apply (${n + 1} RSA-2048 keys) …`);
  const t0 = performance.now();
  await fs.mkdir(cacheRoot, { recursive: true });
  const side = `${dir}.partial-${process.pid}`;
  await fs.rm(side, { recursive: true, force: true });
  await fs.mkdir(side);
  await fs.writeFile(path.join(side, 'cluster-certs.yaml'), specYaml({ nodes: makeNodes(n), users: [], keys: 0 }));
  const r = await apply(await loadSpec(path.join(side, 'cluster-certs.yaml')));
  if (r.plan.errors.length > 0) throw new Error(`building the plan tree: apply had plan errors: ${r.plan.errors.map((e) => e.message).join('; ')}`);
  const buildMs = performance.now() - t0;
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rename(side, dir);
  const problem = await planProblem(specFile);
  if (problem !== undefined) throw new Error(`the tree certgen apply just wrote is not a no-change tree: ${problem}`);
  const stamp: TreeStamp = { version: PLAN_TREE_VERSION, nodes: n, builtAt: new Date().toISOString(), buildMs, commit: await gitCommit(ROOT) };
  await fs.writeFile(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  return { dir, specFile, origin: `BUILT in ${fmtMs(buildMs)} (untimed; ${why}) with the library's loadSpec + apply, and cached in ${rel}/ for reruns` };
}

/** The floor for B: a fresh node that lists the tree and reads every file in it, nothing else. */
const READ_FLOOR_SCRIPT = `import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
const root = process.argv[2];
// Every file of the tree but the repository's .git (certgen reads none of it).
const entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.name !== '.git');
const nested = await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => readdir(path.join(root, e.name), { recursive: true, withFileTypes: true })));
const files = [...entries, ...nested.flat()].filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
const sizes = await Promise.all(files.map(async (f) => (await readFile(f)).length));
process.stdout.write(String(files.length) + ' ' + String(sizes.reduce((a, b) => a + b, 0)));
`;

function planTasks(tree: PlanTree, n: number): Task[] {
  const { dir, specFile } = tree;
  const cliRun = async (argv: string[], want: number): Promise<string> => {
    const r = await execa(NODE, [BIN, ...argv], { cwd: dir, timeout: CHILD_TIMEOUT_MS, all: true, reject: false, stripFinalNewline: false });
    if (r.exitCode !== want) throw new Error(`exit code ${r.exitCode}, want ${want}: ${(r.all ?? '').trim().split('\n').slice(0, 4).join(' / ')}`);
    return r.stdout;
  };
  return [
    {
      id: 'read-floor',
      label: 'floor: node read-floor.mjs, a fresh process reading every file of the tree',
      keys: 0,
      prepare: async () => ({
        run: async () => {
          const r = await execa(NODE, [path.join(tmpRoot, 'read-floor.mjs'), dir], { timeout: CHILD_TIMEOUT_MS });
          const files = Number(r.stdout.split(' ')[0]);
          if (files < 3 * n) throw new Error(`read ${files} files, want at least ${3 * n}`);
        },
      }),
    },
    {
      id: 'plan-lib',
      label: 'certgen plan, library: loadSpec + plan (in this process)',
      keys: 0,
      prepare: async () => ({
        run: async () => {
          const t0 = performance.now();
          const spec = await loadSpec(specFile);
          const t1 = performance.now();
          const p = await plan(spec);
          const t2 = performance.now();
          if (p.errors.length > 0) throw new Error(`plan has errors: ${p.errors.map((e) => `${e.artifact}: ${e.message}`).join('; ')}`);
          if (hasChanges(p)) {
            const pending = p.changes.filter((ch) => ch.action !== 'keep');
            throw new Error(`plan is not empty: ${pending.length} change(s), e.g. ${pending.slice(0, 3).map((ch) => `${ch.action} ${ch.artifact} (${ch.reasons.map((r) => r.code).join(', ')})`).join('; ')}`);
          }
          return { loadSpec: t1 - t0, plan: t2 - t1 };
        },
      }),
    },
    {
      id: 'plan-cli',
      label: 'certgen plan --detailed-exitcode cluster-certs.yaml (CLI, exit 0 asserted)',
      keys: 0,
      prepare: async () => ({ run: async () => void (await cliRun(['plan', '--detailed-exitcode', 'cluster-certs.yaml'], 0)) }),
    },
    {
      id: 'report-cli',
      label: 'certgen report --format json cluster-certs.yaml (CLI)',
      keys: 0,
      prepare: async () => {
        let out = '';
        return {
          run: async () => {
            out = await cliRun(['report', '--format', 'json', 'cluster-certs.yaml'], 0);
          },
          // Untimed: the JSON parses, has a row per node and no pending changes.
          check: async () => {
            const rep = JSON.parse(out) as { rows?: Array<{ status?: string }>; plan?: { pendingChanges?: number } | null };
            const rows = rep.rows ?? [];
            if (rows.length < n) throw new Error(`report has ${rows.length} rows, want at least ${n}`);
            const bad = rows.filter((row) => row.status !== 'ok').length;
            if (bad > 0) throw new Error(`report has ${bad} rows whose status is not ok`);
            if (rep.plan?.pendingChanges !== 0) throw new Error(`report says ${rep.plan?.pendingChanges ?? '?'} pending changes, want 0`);
          },
        };
      },
    },
    {
      id: 'check-cli',
      label: 'certgen check cluster-certs.yaml (CLI, exit 0 asserted)',
      keys: 0,
      prepare: async () => ({ run: async () => void (await cliRun(['check', 'cluster-certs.yaml'], 0)) }),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Running

interface Result {
  /** Wall ms per round (a failed task stops, so index k is round k). */
  times: number[];
  cpu: number[];
  /** Main-thread (event loop) busy ms: only meaningful for in-process tasks. */
  busy: number[];
  extras: Map<string, number[]>;
  failure?: string;
}

async function runRounds(section: string, tasks: Task[], k: number): Promise<Map<string, Result>> {
  const results = new Map<string, Result>(tasks.map((t) => [t.id, { times: [], cpu: [], busy: [], extras: new Map() }]));
  for (let round = 0; round < k; round++) {
    for (const t of tasks) {
      const res = results.get(t.id) as Result;
      if (t.unavailable || res.failure) continue;
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${section}, run ${round + 1}/${k}: ${t.id} …`);
      try {
        const { run, check } = await t.prepare();
        const c0 = cpuNow();
        const e0 = performance.eventLoopUtilization();
        const t0 = performance.now();
        const extra = await run();
        const ms = performance.now() - t0;
        const e1 = performance.eventLoopUtilization(e0);
        const c1 = cpuNow();
        await check?.();
        res.times.push(ms);
        res.busy.push(e1.active);
        if (c0 !== undefined && c1 !== undefined) res.cpu.push(c1 - c0);
        for (const [key, v] of Object.entries(extra ?? {})) res.extras.set(key, [...(res.extras.get(key) ?? []), v]);
      } catch (err) {
        const e = err as Error & { all?: string; shortMessage?: string };
        const detail = (e.all ?? '').trim().split('\n').slice(-3).join(' / ');
        res.failure = `${e.shortMessage ?? e.message}${detail ? ` — ${detail}` : ''}`.replace(/\s+/g, ' ').slice(0, 400);
      }
    }
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  return results;
}

// ---------------------------------------------------------------------------------------------
// Reporting

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const fmtRatio = (r: number): string => (r >= 10 ? `×${r.toFixed(0)}` : `×${r.toFixed(2)}`);
const fmtLoad = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const plural = (n: number, w: string): string => `${n.toLocaleString('en-US')} ${w}${n === 1 ? '' : 's'}`;

function renderTable(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** One table row per task: label, [keys,] median, min–max, CPU, then the given ratio columns. */
function taskRows(tasks: Task[], results: Map<string, Result>, ratios: Array<(m: number) => string>, withKeys = true): string[][] {
  return tasks.map((t) => {
    const r = results.get(t.id) as Result;
    const m = median(r.times);
    const keys = withKeys ? [String(t.keys)] : [];
    if (t.unavailable || m === undefined) return [t.label, ...keys, t.unavailable ?? `FAILED: ${r.failure ?? '?'}`, '', '', ...ratios.map(() => '')];
    const range = r.times.length > 1 ? `${fmtMs(Math.min(...r.times))} – ${fmtMs(Math.max(...r.times))}` : '';
    const cpu = median(r.cpu);
    return [t.label, ...keys, fmtMs(m), range, cpu === undefined ? '?' : fmtMs(cpu), ...ratios.map((f) => f(m))];
  });
}

/** Ratio of medians, plus the per-round ratios when both tasks completed every round. */
function ratioText(a: Result | undefined, b: Result | undefined): string | undefined {
  const ma = median(a?.times ?? []);
  const mb = median(b?.times ?? []);
  if (!a || !b || ma === undefined || mb === undefined) return undefined;
  const perRound = a.times.length === b.times.length && a.times.length > 1 ? ` (per run: ${a.times.map((x, i) => fmtRatio(x / (b.times[i] as number))).join(' ')})` : '';
  return `${fmtRatio(ma / mb)}${perRound}`;
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
  let failed = false;

  // The CLI rows run dist/: build it when it is missing or older than src/.
  const distMissing = await fs.access(CLI).then(
    () => false,
    () => true,
  );
  if (distMissing || newestMtime(path.join(CLI_ROOT, 'src')) > statSync(CLI).mtimeMs) {
    const t0 = performance.now();
    const before = distMissing ? 0 : statSync(CLI).mtimeMs;
    const r = await execa('npm', ['run', 'build'], { cwd: CLI_ROOT, all: true, reject: false, timeout: CHILD_TIMEOUT_MS });
    const after = await fs.stat(CLI).then(
      (st) => st.mtimeMs,
      () => 0,
    );
    if (after === 0) {
      console.error(`npm run build failed and there is no dist/cli.js:\n${r.all ?? ''}`);
      process.exit(1);
    }
    const why = `dist/ was ${distMissing ? 'missing' : 'older than src/'}`;
    const errors = (r.all ?? '').split('\n').filter((l) => /error TS\d+/.test(l));
    if (r.exitCode === 0) notes.push(`${why}: ran npm run build (${fmtMs(performance.now() - t0)}) before timing.`);
    else if (after > before) notes.push(`${why}: npm run build reported ${plural(errors.length, 'type error')} (${errors[0]?.trim() ?? r.shortMessage}) but tsc emitted dist/ anyway; the CLI rows ran that output.`);
    else notes.push(`${why} and npm run build failed (${(r.all ?? '').trim().split('\n').slice(-1)[0] ?? '?'}): the CLI rows ran the previous build.`);
  }
  const builtAt = new Date(statSync(CLI).mtimeMs);

  const tools: Tools = {
    cfssl: await onPath('cfssl'),
    cfssljson: await onPath('cfssljson'),
    mkcert: await onPath('mkcert'),
    easyrsa: (await onPath('easyrsa')) ?? (await fs.access('/usr/share/easy-rsa/easyrsa', fsConstants.X_OK).then(() => '/usr/share/easy-rsa/easyrsa', () => undefined)),
  };
  const versions: string[] = [`node ${process.version}`, (await firstLine('openssl', ['version'])).replace(/ \(Library.*\)$/, '')];
  if (PN > 0) {
    if (tools.cfssl) versions.push(`cfssl ${(await firstLine('cfssl', ['version'])).replace(/^Version:\s*/, '')}`);
    if (tools.mkcert) versions.push(`mkcert ${await firstLine('mkcert', ['-version'])}`);
    if (tools.easyrsa) {
      const r = await execa(tools.easyrsa, ['--version'], { reject: false, all: true, timeout: 30_000 });
      versions.push(`easy-rsa ${/Version:\s*(\S+)/.exec(r.all ?? '')?.[1] ?? '?'}`);
    }
  }
  clockTicks = Number((await execa('getconf', ['CLK_TCK'], { reject: false })).stdout) || 100;

  tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'certgen-bench-'));
  const cleanup = (): void => {
    if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  await fs.writeFile(path.join(tmpRoot, 'floor.mjs'), FLOOR_SCRIPT);
  await fs.writeFile(path.join(tmpRoot, 'read-floor.mjs'), READ_FLOOR_SCRIPT);

  const cpus = os.availableParallelism();
  const parts = [...(N > 0 ? ['A'] : []), ...(P > 0 ? ['B'] : []), ...(PN > 0 ? ['C'] : []), ...(DT.length > 0 ? ['D'] : []), ...(EN > 0 ? ['E'] : [])];
  console.log(`certgen bench (issues 3, 10 and 12), parts ${parts.join(', ') || 'none'}: runs interleaved within each section, tables show medians`);
  console.log(`machine: ${cpus} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}`);
  console.log(`software: ${versions.join(', ')}, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  const cliFrom = CLI_ROOT === ROOT ? 'dist/' : `${CLI_ROOT}/dist/ (--cli-root)`;
  console.log(`code: library rows run src/ as it is now (through tsx; ${await gitCommit(ROOT)}); CLI rows run ${cliFrom} built ${builtAt.toISOString()} from ${await gitCommit(CLI_ROOT)}`);
  console.log(`load average at start: ${fmtLoad()} (other processes compete for the same CPUs)`);

  try {
    // ------------------------------------------------------------------ A. fresh apply
    const A = makeCluster(N, M);
    // C at A's size reuses A's floor and certgen CLI medians.
    let floor: number | undefined;
    let cliApply: number | undefined;
    if (N > 0) {
    console.log('');
    console.log(`A. Fresh apply: CA + ${plural(N, 'node')} + ${plural(M, 'client')} = ${A.keys} RSA-2048 keys (load average ${fmtLoad()})`);
    const aTasks = [floorTask(A, 'floor'), applyLibTask(A, 'apply-lib'), applyCliTask(A, 'apply-cli'), opensslSeqTask(A, 'openssl-seq'), opensslParTask(A, 'openssl-par')];
    const a = await runRounds('A', aTasks, K);
    floor = median(a.get('floor')?.times ?? []);
    cliApply = median(a.get('apply-cli')?.times ?? []);
    console.log('');
    console.log(
      renderTable(
        ['task', 'keys', `wall, median of ${K}`, 'min – max', 'CPU user+sys', '× floor', '× certgen CLI'],
        taskRows(aTasks, a, [(m) => (floor ? fmtRatio(m / floor) : '—'), (m) => (cliApply ? fmtRatio(m / cliApply) : '—')]),
        new Set([1, 2, 3, 4, 5, 6]),
      ),
    );
    console.log('(× columns: wall-time ratios of medians. CPU: summed over all threads and child processes.)');
    console.log('');
    const fl = a.get('floor') as Result;
    for (const [id, name] of [
      ['apply-cli', 'certgen apply (CLI) ÷ floor'],
      ['apply-lib', 'certgen apply (library) ÷ floor'],
    ] as const) {
      const r = a.get(id) as Result;
      const m = median(r.times);
      if (!floor || m === undefined) {
        console.log(`${name}: not measured (${r.failure ?? fl.failure ?? '?'})`);
        failed = true;
        continue;
      }
      const ratio = m / floor;
      const fastest = fmtRatio(Math.min(...r.times) / Math.min(...fl.times));
      const cA = median(r.cpu);
      const cF = median(fl.cpu);
      const cpuRatio = cA && cF ? `, CPU time ${fmtRatio(cA / cF)}` : '';
      console.log(`${name} = ${ratioText(r, fl)}: target ≤ ×${APPLY_TARGET.toFixed(2)} ${ratio <= APPLY_TARGET ? 'MET' : 'NOT MET'} (judged on medians; fastest run ÷ fastest run ${fastest}${cpuRatio})`);
    }
    if (floor && fl.times.length > 1) {
      const spread = ((Math.max(...fl.times) - Math.min(...fl.times)) / floor) * 100;
      const inside = median(fl.extras.get('inside') ?? []);
      console.log(
        `  the floor itself varied by ${spread.toFixed(0)}% of its median from run to run (RSA key generation time is random, and the machine is shared)` +
          (inside !== undefined ? `; of the floor's ${fmtMs(floor)}, ${fmtMs(floor - inside)} is node starting and exiting (the keys took ${fmtMs(inside)} inside the child)` : ''),
      );
    }
    const lib = a.get('apply-lib') as Result;
    const busyLib = median(lib.busy);
    const mLib = median(lib.times);
    if (busyLib !== undefined && mLib) console.log(`  the library apply's main thread was busy ${fmtMs(busyLib)} of its ${fmtMs(mLib)} (spec, tree scan, ${A.keys} certificates, PEM, writes); the rest is waiting for keys`);
    if (mLib && cliApply) {
      const d = cliApply - mLib;
      console.log(`  the CLI's median is ${fmtMs(Math.abs(d))} ${d >= 0 ? 'above' : 'below'} the library's (the CLI pays for a fresh node loading dist/ and its dependencies, and for rendering)`);
    }
    const oSeq = a.get('openssl-seq') as Result;
    const oPar = a.get('openssl-par') as Result;
    const cliRes = a.get('apply-cli') as Result;
    const seqR = ratioText(oSeq, cliRes);
    const parR = ratioText(oPar, cliRes);
    if (seqR) console.log(`openssl docs steps, sequential ÷ certgen apply (CLI) = ${seqR}; ÷ floor = ${ratioText(oSeq, fl) ?? '?'}`);
    if (parR) console.log(`openssl docs steps, 2 at a time ÷ certgen apply (CLI) = ${parR}; ÷ floor = ${ratioText(oPar, fl) ?? '?'}`);
    for (const t of aTasks) if (a.get(t.id)?.failure) failed = true;
    }

    // ------------------------------------------------------------------ B. the realistic tree
    if (P > 0) {
      console.log('');
      console.log(`B. No-change plan, report and check on a realistic tree of ${plural(P, 'node')}, ${plural(PR, 'run')} each (load average ${fmtLoad()})`);
      const tree = await planTree(P, args.values['rebuild-tree'] ?? false);
      console.log(`  tree: CA + ${plural(P, 'node')} with ${plural(P, 'distinct RSA-2048 key')}, exactly as certgen apply writes it; ${tree.origin}.`);
      console.log(`  CLI rows: node ${path.relative(ROOT, BIN) || BIN} … in the tree's folder (bin/certgen.cjs, as a user runs it).`);
      const bTasks = planTasks(tree, P);
      const b = await runRounds('B', bTasks, PR);
      const bFloor = median(b.get('read-floor')?.times ?? []);
      const planCli = median(b.get('plan-cli')?.times ?? []);
      console.log('');
      console.log(
        renderTable(
          ['task', `wall, median of ${PR}`, 'min – max', 'CPU user+sys', '× floor', '× plan (CLI)', `÷ plan target (${fmtMs(PLAN_TARGET_MS)})`],
          taskRows(bTasks, b, [(m) => (bFloor ? fmtRatio(m / bFloor) : '—'), (m) => (planCli ? fmtRatio(m / planCli) : '—'), (m) => fmtRatio(m / PLAN_TARGET_MS)], false),
          new Set([1, 2, 3, 4, 5, 6]),
        ),
      );
      console.log('(× and ÷ columns: wall-time ratios of medians. The floor lists the tree and reads all its files in a fresh node.)');
      console.log('');
      const at1000 = P === 1000 ? '' : ' (set for 1,000 nodes)';
      const pLib = b.get('plan-lib') as Result;
      const mLib = median(pLib.times);
      if (mLib !== undefined) console.log(`no-change plan (library) of ${plural(P, 'node')}: ${fmtMs(mLib)} (loadSpec ${fmtMs(median(pLib.extras.get('loadSpec') ?? []) ?? 0)} + plan ${fmtMs(median(pLib.extras.get('plan') ?? []) ?? 0)})`);
      const pCli = b.get('plan-cli') as Result;
      if (planCli === undefined) console.log(`no-change plan (CLI): FAILED: ${pCli.failure ?? '?'}`);
      else console.log(`no-change plan (CLI) of ${plural(P, 'node')} = ${fmtMs(planCli)}${bFloor ? ` = ${fmtRatio(planCli / bFloor)} floor` : ''}: target ≤ ${fmtMs(PLAN_TARGET_MS)}${at1000} ${planCli <= PLAN_TARGET_MS ? 'MET' : 'NOT MET'}`);
      for (const [id, name] of [
        ['report-cli', 'report --format json (CLI) ÷ plan (CLI)'],
        ['check-cli', 'check (CLI) ÷ plan (CLI)'],
      ] as const) {
        const r = b.get(id) as Result;
        const m = median(r.times);
        if (m === undefined || planCli === undefined) {
          console.log(`${name}: not measured (${r.failure ?? pCli.failure ?? '?'})`);
          continue;
        }
        console.log(`${name} = ${ratioText(r, pCli)}: target ≤ ×${REPORT_TARGET.toFixed(2)} ${m / planCli <= REPORT_TARGET ? 'MET' : 'NOT MET'} (${fmtMs(m)}${bFloor ? ` = ${fmtRatio(m / bFloor)} floor` : ''}; judged on medians)`);
      }
      for (const t of bTasks) {
        const r = b.get(t.id) as Result;
        if (r.failure) {
          if (t.id === 'plan-lib' || t.id === 'read-floor') console.log(`${t.label}: FAILED: ${r.failure}`);
          failed = true;
        }
      }
    }

    // ------------------------------------------------------------------ C. peers
    if (PN > 0) {
      const C = makeCluster(PN, PM);
      // At A's size the references are A's medians; at another size C times its own.
      const sameSize = PN === N && PM === M;
      console.log('');
      console.log(`C. Peers, the same job${sameSize ? ' as A' : ''}: CA + ${plural(PN, 'node')} + ${plural(PM, 'client')} = ${C.keys} RSA-2048 keys, ${plural(PK, 'run')} each (load average ${fmtLoad()})`);
      if (PK === 1 && K > 1) console.log(`  (one run each keeps the default run under ~8 minutes on 2 CPUs; --peer-runs ${K} for medians)`);
      if (sameSize) console.log(`  × columns are against A's medians of the floor and of certgen apply (CLI); A's openssl rows are the docs' steps.`);
      const cTasks = [...(sameSize ? [] : [floorTask(C, 'c-floor'), applyCliTask(C, 'c-apply-cli'), opensslSeqTask(C, 'c-openssl-seq')]), ...peerTasks(C, tools)];
      const c = await runRounds('C', cTasks, PK);
      const cFloorM = sameSize ? floor : median(c.get('c-floor')?.times ?? []);
      const cApply = sameSize ? cliApply : median(c.get('c-apply-cli')?.times ?? []);
      console.log('');
      console.log(
        renderTable(
          ['task', 'keys', PK === 1 ? 'wall, 1 run' : `wall, median of ${PK}`, 'min – max', 'CPU user+sys', '× floor', '× certgen CLI'],
          taskRows(cTasks, c, [(m) => (cFloorM ? fmtRatio(m / cFloorM) : '—'), (m) => (cApply ? fmtRatio(m / cApply) : '—')]),
          new Set([1, 2, 3, 4, 5, 6]),
        ),
      );
      const create = median(c.get('create-cli')?.times ?? []);
      if (create && cApply) console.log(`one certgen process per cert (cert create-*): ${fmtMs(create)} = ×${(create / cApply).toFixed(2)} certgen apply, ${fmtMs(create / C.keys)} per cert`);
      for (const t of cTasks) if (c.get(t.id)?.failure) failed = true;
    }
    // ------------------------------------------------------------------ D. distribute
    for (const t of DT) {
      console.log('');
      console.log(`D. distribute to ${plural(t, 'target')} on one loopback sshd, concurrency ${DC}, median of ${DR} (Ansible: ${plural(DA, 'run')}) (load average ${fmtLoad()})`);
      try {
        const r = await runDistributeBench({ targets: t, concurrency: DC, runs: DR, ansible: !args.values['skip-ansible'], ansibleRuns: DA, log: (l) => console.log(`  ${l}`) });
        console.log('');
        console.log(r.table);
        console.log('');
        console.log(`distribute full push ÷ floor = ×${(r.fullMs / r.floorMs).toFixed(2)}: target ≤ ×${FULL_TARGET} ${r.fullMet ? 'MET' : 'NOT MET'}`);
        console.log(`distribute no change ÷ floor = ×${(r.noChangeMs / r.floorMs).toFixed(2)}: target ≤ ×${NO_CHANGE_TARGET} ${r.noChangeMet ? 'MET' : 'NOT MET'}`);
        if (r.ansibleFullMs !== undefined && r.ansibleNoChangeMs !== undefined) {
          console.log(`Ansible ÷ certgen distribute: full push ×${(r.ansibleFullMs / r.fullMs).toFixed(1)}, no change ×${(r.ansibleNoChangeMs / r.noChangeMs).toFixed(1)}`);
        }
        if (!r.ok) failed = true;
      } catch (err) {
        console.log(`D at ${t} targets: FAILED: ${err instanceof Error ? err.message : String(err)}`);
        failed = true;
      }
    }

    // ------------------------------------------------------------------ E. fresh apply, ECDSA P-256
    if (EN > 0) {
      const E = makeCluster(EN, EM);
      // The openssl recipe on a sample of EO certificates (CA included), nodes and clients in E's proportion.
      const oClients = Math.min(EM, Math.floor(((EO - 1) * EM) / (EN + EM)));
      const O = makeCluster(Math.max(0, EO - 1 - oClients), oClients);
      console.log('');
      console.log(`E. Fresh apply with keyType ecdsa-p256: CA + ${plural(EN, 'node')} + ${plural(EM, 'client')} = ${E.keys} P-256 keys and certificates (load average ${fmtLoad()})`);
      const eTasks = [ecFloorTask(E, 'ec-floor'), ecIssueTask(E, 'ec-issue'), ecApplyCliTask(E, 'ec-apply-cli'), ecOpensslTask(O, 'ec-openssl')];
      const e = await runRounds('E', eTasks, K);
      const ef = median(e.get('ec-floor')?.times ?? []);
      const ec = median(e.get('ec-apply-cli')?.times ?? []);
      const eo = median(e.get('ec-openssl')?.times ?? []);
      const perCert = (m: number, t: Task): number => m / t.keys;
      console.log('');
      console.log(
        renderTable(
          ['task', 'certs', `wall, median of ${K}`, 'min – max', 'CPU user+sys', 'per cert', '× floor (per cert)'],
          taskRows(eTasks, e, [() => '', () => '']).map((row, i) => {
            const t = eTasks[i] as Task;
            const m = median(e.get(t.id)?.times ?? []);
            if (m === undefined || !ef) return row;
            row[row.length - 2] = `${(perCert(m, t) * 1000).toFixed(0)} µs`;
            row[row.length - 1] = fmtRatio(perCert(m, t) / perCert(ef, eTasks[0] as Task));
            return row;
          }),
          new Set([1, 2, 3, 4, 5, 6]),
        ),
      );
      const keygen = median(e.get('ec-floor')?.extras.get('keygen') ?? []);
      if (keygen !== undefined && ef) console.log(`(floor: ${fmtMs(keygen)} of it generating the ${E.keys} keys, the rest exporting, stamping and signing)`);
      console.log('');
      if (ef && ec) {
        console.log(`certgen apply ecdsa-p256 (CLI) ÷ floor = ${ratioText(e.get('ec-apply-cli'), e.get('ec-floor'))}: target ≤ ×${ECDSA_TARGET} ${ec / ef <= ECDSA_TARGET ? 'MET' : 'NOT MET'}`);
        if (ec / ef > ECDSA_TARGET) failed = true;
      } else {
        console.log(`certgen apply ecdsa-p256 (CLI) ÷ floor: not measured (${e.get('ec-apply-cli')?.failure ?? e.get('ec-floor')?.failure ?? '?'})`);
        failed = true;
      }
      const ei = median(e.get('ec-issue')?.times ?? []);
      if (ei && ef && ec) console.log(`of that, certgen's issuing path in-process (generateKey + issueCertificateDer + key PEM) = ${ratioText(e.get('ec-issue'), e.get('ec-floor'))} the floor; the CLI = ×${(ec / ei).toFixed(2)} that path`);
      if (eo && ec) console.log(`openssl EC recipe scaled to ${E.keys} certs = ${fmtMs(perCert(eo, eTasks[3]!) * E.keys)} = ×${((perCert(eo, eTasks[3]!) * E.keys) / ec).toFixed(1)} the certgen CLI`);
    }
  } finally {
    cleanup();
  }

  console.log('');
  if (N > 0) console.log('¹ `openssl ca` keeps its database in index.txt and serial.txt, which are not safe for concurrent use, so the');
  if (N > 0) console.log('  parallel run holds a flock around each `openssl ca`; genrsa and req run 2 at a time (this machine has 2 CPUs).');
  if (PN > 0) {
    console.log('² mkcert cannot set the subject: its certs carry O=mkcert development certificate and no CN, so cockroach would not accept');
    console.log('  them as node (CN=node) or client (CN=<user>) certs; timed as a keygen-and-sign peer only (the CN check is skipped).');
    console.log('³ cockroach: the binary is not available here (not in Debian or npm, and no other network), so `cockroach cert` was not timed.');
  }
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`load average at end: ${fmtLoad()}; total bench time ${fmtMs(performance.now() - started)}`);
  if (failed) process.exitCode = 1;
}

await main();
