// One cluster's certificates, made the two ways an operator makes them: by the `certgen cert`
// commands (cockroach's flat certs dir) or by `certgen apply` on a spec (one folder per node and
// client). Both run the built CLI as a child process, exactly as a shell would, so the interop
// suites test what ships. Node certificates name `localhost` and `127.0.0.1`.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KeyType } from '../../src/core/key-type.js';
import { bin, tmpdir } from './index.js';

export type Source = 'cert' | 'apply';
export const SOURCES: readonly Source[] = ['cert', 'apply'];

export interface Pair {
  cert: string;
  key: string;
}

export interface ClusterFiles {
  source: Source;
  /** A scratch folder holding everything below. */
  dir: string;
  certsDir: string;
  caKey: string;
  /** The trust anchors the nodes and clients hold (the same bytes in every folder). */
  ca: string;
  node: Pair;
  root: Pair;
  /** maxroach also has the DER PKCS#8 key for JDBC. */
  maxroach: Pair & { pk8: string };
  /** The spec file, for source 'apply'. */
  spec?: string;
}

export interface ClusterOptions {
  /** Every leaf's lifetime (`--lifetime`, or `defaults.lifetime` with `renewBefore: 0s`). */
  leafLifetime?: string;
  /** Prefix for the scratch folder's name. */
  label?: string;
  /** The CA's key type (`--key-type` of create-ca, or `ca.keyType`); certgen's default (rsa) when absent. */
  caKeyType?: KeyType;
  /** The nodes' and clients' key type (`--key-type` of create-node/-client, or `defaults.keyType`). */
  keyType?: KeyType;
}

async function run(args: string[]): Promise<void> {
  const r = await bin(args);
  if (r.code !== 0) throw new Error(`certgen ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
}

/** A fresh CA, a node cert for localhost and 127.0.0.1, clients root and maxroach (with pk8). */
export async function makeCluster(source: Source, opts: ClusterOptions = {}): Promise<ClusterFiles> {
  const dir = tmpdir(`certgen-${opts.label ?? 'cluster'}-${source}-`);
  const certsDir = path.join(dir, 'certs');
  const caKey = path.join(dir, 'secrets', 'ca.key');
  if (source === 'cert') {
    // Like cockroach, create-ca makes the certs dir but not the CA key's folder.
    mkdirSync(path.dirname(caKey), { mode: 0o700 });
    const common = ['--certs-dir', certsDir, '--ca-key', caKey];
    const leaf = [...(opts.leafLifetime ? ['--lifetime', opts.leafLifetime] : []), ...(opts.keyType ? ['--key-type', opts.keyType] : [])];
    await run(['cert', 'create-ca', ...common, ...(opts.caKeyType ? ['--key-type', opts.caKeyType] : [])]);
    await run(['cert', 'create-node', 'localhost', '127.0.0.1', ...common, ...leaf]);
    await run(['cert', 'create-client', 'root', ...common, ...leaf]);
    await run(['cert', 'create-client', 'maxroach', '--also-generate-pkcs8-key', ...common, ...leaf]);
    const p = (base: string): Pair => ({ cert: path.join(certsDir, `${base}.crt`), key: path.join(certsDir, `${base}.key`) });
    return {
      source,
      dir,
      certsDir,
      caKey,
      ca: path.join(certsDir, 'ca.crt'),
      node: p('node'),
      root: p('client.root'),
      maxroach: { ...p('client.maxroach'), pk8: path.join(certsDir, 'client.maxroach.key.pk8') },
    };
  }
  const spec = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(
    spec,
    [
      'version: 1',
      'certsDir: certs',
      'caKey: secrets/ca.key',
      ...(opts.caKeyType ? ['ca:', `  keyType: ${opts.caKeyType}`] : []),
      ...(opts.leafLifetime || opts.keyType ? ['defaults:'] : []),
      ...(opts.leafLifetime ? [`  lifetime: ${opts.leafLifetime}`, '  renewBefore: 0s'] : []),
      ...(opts.keyType ? [`  keyType: ${opts.keyType}`] : []),
      'nodes:',
      '  - name: node1',
      '    hosts: [localhost, 127.0.0.1]',
      'clients:',
      '  - user: root',
      '  - user: maxroach',
      '    pkcs8: true',
      '',
    ].join('\n'),
  );
  await run(['apply', spec]);
  const node = path.join(certsDir, 'nodes', 'node1');
  const client = (user: string): string => path.join(certsDir, 'clients', user);
  return {
    source,
    dir,
    certsDir,
    caKey,
    spec,
    ca: path.join(node, 'ca.crt'),
    node: { cert: path.join(node, 'node.crt'), key: path.join(node, 'node.key') },
    root: { cert: path.join(client('root'), 'client.root.crt'), key: path.join(client('root'), 'client.root.key') },
    maxroach: {
      cert: path.join(client('maxroach'), 'client.maxroach.crt'),
      key: path.join(client('maxroach'), 'client.maxroach.key'),
      pk8: path.join(client('maxroach'), 'client.maxroach.key.pk8'),
    },
  };
}
