// Certificate trees for the report and check tests, made with the library at pinned dates so
// every date in the output is reproducible (serials, fingerprints and keys are still random).
import { copyFileSync, cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { apply } from '../../src/apply.js';
import { createCA } from '../../src/cert/commands.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import type { ClusterSpec } from '../../src/cluster-spec/spec.js';
import type { Report } from '../../src/report/report.js';
import { tmpdir } from '../helpers/index.js';

/** First apply: CA #1 and every leaf. */
export const T0 = new Date('2024-01-01T00:00:00Z');
/** CA rotation: CA #2 prepended to ca.crt, part of the cluster reissued. */
export const T1 = new Date('2024-06-01T00:00:00Z');
/** The instant the golden reports are made for. */
export const NOW = new Date('2025-05-20T12:00:00Z');

export const SPEC_YAML = `# The report fixture: four nodes, three clients, fixed lifetimes.
certsDir: certs
caKey: secrets/ca.key
ca:
  keySize: 1024
  lifetime: 26352h
defaults:
  keySize: 1024
  lifetime: 8784h
  renewBefore: 720h
nodes:
  - name: node1
    hosts: [node1.example.com, 10.0.0.1]
  - name: node2
    hosts: [node2.example.com, 10.0.0.2, "fd00::2"]
    keySize: 2048
    lifetime: 17568h
    renewBefore: 1440h
  - name: node3
    hosts: [node3.example.com]
  - name: node4
    hosts: [node4.example.com]
clients:
  - user: root
  - user: maxroach
    pkcs8: true
    lifetime: 13176h
    renewBefore: 336h
  - user: backup
`;

export interface Fixture {
  base: string;
  specFile: string;
  spec: ClusterSpec;
  certsDir: string;
}

export async function writeSpec(base: string, yaml: string, name = 'cluster-certs.yaml'): Promise<Fixture> {
  mkdirSync(path.join(base, 'secrets'), { recursive: true });
  const specFile = path.join(base, name);
  writeFileSync(specFile, yaml);
  const spec = await loadSpec(specFile);
  return { base, specFile, spec, certsDir: spec.certsDir };
}

/** A healthy cluster applied at `at` (default T0). */
export async function healthyCluster(yaml = SPEC_YAML, at = T0): Promise<Fixture> {
  const f = await writeSpec(tmpdir('certgen-report-'), yaml);
  await apply(f.spec, { now: () => at });
  return f;
}

/**
 * The golden tree, seen at {@link NOW}:
 *  - ca.crt holds CA #2 (made at T1, active) then CA #1 (T0);
 *  - node1, node2, root, backup reissued by CA #2 at T1; node3, node4, maxroach still from CA #1;
 *  - node1 renews soon, node2 is fine, node3 expired, node4's key is node1's (mismatch),
 *    root's key is gone, backup's certificate is not PEM, maxroach keeps the old bundle;
 *  - orphans: nodes/old/ (a copy of node1's folder) and notes.txt at the top.
 */
export async function goldenCluster(): Promise<Fixture> {
  const f = await writeSpec(tmpdir('certgen-golden-'), SPEC_YAML);
  await apply(f.spec, { now: () => T0 });
  // Rotate: prepend CA #2, make its key the spec's CA key.
  const secrets = path.join(f.base, 'secrets');
  await createCA({ certsDir: f.certsDir, caKey: path.join(secrets, 'ca-new.key'), overwrite: true, keySize: 1024, lifetime: f.spec.ca.lifetime, now: () => T1 });
  renameSync(path.join(secrets, 'ca.key'), path.join(secrets, 'ca-old.key'));
  renameSync(path.join(secrets, 'ca-new.key'), path.join(secrets, 'ca.key'));
  // Reissue part of the cluster: a spec without node3, node4 and maxroach leaves them alone.
  const partial = SPEC_YAML.replace(/  - name: node3\n.*\n  - name: node4\n.*\n/, '').replace(/  - user: maxroach\n(    .*\n)+/, '');
  const p = await writeSpec(f.base, partial, 'partial.yaml');
  await apply(p.spec, { now: () => T1 });
  rmSync(p.specFile);
  const c = (...parts: string[]): string => path.join(f.certsDir, ...parts);
  copyFileSync(c('nodes', 'node1', 'node.key'), c('nodes', 'node4', 'node.key'));
  rmSync(c('clients', 'root', 'client.root.key'));
  writeFileSync(c('clients', 'backup', 'client.backup.crt'), '-----BEGIN CERTIFICATE-----\nthis is not base64!\n-----END CERTIFICATE-----\n');
  cpSync(c('nodes', 'node1'), c('nodes', 'old'), { recursive: true });
  writeFileSync(c('notes.txt'), 'rotated the CA on 2024-06-01\n');
  return f;
}

/**
 * The report with every random value (serials, fingerprints) replaced by a fixed-width label,
 * numbered in order of first appearance, so that any format, column widths included, can be
 * compared with a golden file.
 */
export function normaliseReport(report: Report): Report {
  const r = structuredClone(report);
  const labels = new Map<string, string>();
  const counts = new Map<string, number>();
  const label = (kind: string, v: string): string => {
    if (v === '') return v;
    if (!labels.has(v)) {
      const n = (counts.get(kind) ?? 0) + 1;
      counts.set(kind, n);
      labels.set(v, `<${kind}-${String(n).padStart(2, '0')}>`);
    }
    return labels.get(v) ?? v;
  };
  for (const row of r.rows) {
    row.serial = label('serial', row.serial);
    row.fingerprint = label('fp', row.fingerprint);
    row.issuerFingerprint = label('fp', row.issuerFingerprint);
  }
  for (const rot of r.forecast.caRotations) rot.fingerprint = label('fp', rot.fingerprint);
  // The plan's signing CA, named by fingerprint in each change it signs.
  for (const c of r.plan?.changes ?? []) if (c.ops.issue && /^[0-9A-F]{2}(:[0-9A-F]{2})+$/.test(c.ops.issue.signer)) c.ops.issue.signer = label('fp', c.ops.issue.signer);
  return r;
}

/** Rendered text with the fixture's temporary folder replaced. */
export function normalise(text: string, f: Pick<Fixture, 'base'>): string {
  return text.split(f.base).join('<tmp>');
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/**
 * Runs `code` (an ES module body; `ROOT` is the repository) in a child Node with tsx, as an
 * unprivileged user when the tests run as root (root reads any folder, so a mode-0000 folder is
 * only unreadable for somebody else): everything under `base` is handed to that user first.
 * Returns the child's stdout.
 */
export async function runUnprivileged(base: string, code: string): Promise<string> {
  const { execa } = await import('execa');
  const { ROOT } = await import('../helpers/index.js');
  const asRoot = process.getuid?.() === 0;
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', `const ROOT = ${JSON.stringify(ROOT)};\n${code}`];
  if (asRoot) await execa('chown', ['-R', '65534:65534', base]);
  const cmd = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...node] : node;
  const r = await execa(cmd[0] ?? '', cmd.slice(1), { cwd: ROOT, reject: false, encoding: 'utf8', env: { ...process.env, HOME: base } });
  if (r.exitCode !== 0) throw new Error(`child failed (${r.exitCode}): ${r.stderr}`);
  return r.stdout;
}
