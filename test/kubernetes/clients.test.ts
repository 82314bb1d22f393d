// outputs.kubernetes with several client Secrets (`clients:`): every layout writes one Secret per
// user, each holding that user's pair (SOPS ones decrypted with sops-age), every object valid
// against the Kubernetes schemas offline; plan names each file with the change it follows, and a
// reissued client rewrites that client's Secrets only.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { parse } from 'yaml';
import { decryptSops } from 'sops-age';
import { apply } from '../../src/apply.js';
import { plan } from '../../src/plan/plan.js';
import { planKubernetesOutputs } from '../../src/kubernetes/outputs.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { openssl, setup, tmpdir } from '../helpers/index.js';
import { validateObject } from '../helpers/k8s.js';

interface Ctx {
  dir: string;
  spec: string;
  secret: string;
  recipient: string;
}

function specText(recipient: string, opsLifetime = '8760h'): string {
  return `certsDir: certs
caKey: secrets/ca.key
defaults: { keyType: ecdsa-p256 }
ca: { keyType: ecdsa-p256 }
nodes: []
clients:
  - user: root
  - user: app
  - user: ops
    lifetime: ${opsLifetime}
nodeSets:
  - name: crdb
    namespace: db
outputs:
  kubernetes:
    - nodeSet: crdb
      layout: helm
      clients: [{ user: root }, { user: app }, { user: ops }]
      dir: deploy/helm
      sops: { age: [${recipient}] }
    - nodeSet: crdb
      layout: tls
      clients: [{ user: app }, { user: ops, name: crdb-operations }]
      dir: private/tls
    - nodeSet: crdb
      layout: public-operator
      client: root
      dir: private/public
    - nodeSet: crdb
      layout: operator
      clients: [{ user: root }, { user: ops }]
      dir: private/operator
`;
}

const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd });
const list = (ctx: Ctx, d: string): string[] => readdirSync(path.join(ctx.dir, d)).sort();

async function fingerprint(file: string): Promise<string> {
  return (await openssl(['x509', '-in', file, '-noout', '-fingerprint', '-sha256'])).split('=')[1]?.trim().replace(/:/g, '').toLowerCase() ?? '';
}

const s = suite<Ctx>('kubernetes outputs with several clients');

setup(s, async (ctx) => {
  ctx.dir = tmpdir('certgen-k8s-clients-');
  const id = path.join(ctx.dir, 'flux.agekey');
  await execa('age-keygen', ['-o', id]);
  ctx.secret = readFileSync(id, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) ?? '';
  ctx.recipient = (await execa('age-keygen', ['-y', id])).stdout.trim();
  await git(ctx.dir, 'init', '-q');
  writeFileSync(path.join(ctx.dir, '.gitignore'), '/certs/\n/secrets/\n/private/\n*.agekey\n');
  ctx.spec = path.join(ctx.dir, 'cluster-certs.yaml');
  writeFileSync(ctx.spec, specText(ctx.recipient));
});

s('plan names every client Secret file with the change it follows', async (ctx) => {
  const spec = await loadSpec(ctx.spec);
  const files = await planKubernetesOutputs(spec, await plan(spec));
  const tls = files.filter((f) => f.output === 1).map((f) => [path.basename(f.file), f.state, f.after]);
  assert.equal(tls, [
    ['secret-crdb-node.yaml', 'follows', ['ca create', 'node/crdb create']],
    ['secret-crdb-app.yaml', 'follows', ['ca create', 'client/app create']],
    ['secret-crdb-operations.yaml', 'follows', ['ca create', 'client/ops create']],
  ]);
});

s('each layout writes one valid Secret per client, holding that user pair', async (ctx) => {
  await apply(await loadSpec(ctx.spec), { journal: false });
  assert.equal(list(ctx, 'deploy/helm'), ['secret-crdb-app.yaml', 'secret-crdb-node.yaml', 'secret-crdb-ops.yaml', 'secret-crdb-root.yaml']);
  assert.equal(list(ctx, 'private/tls'), ['secret-crdb-app.yaml', 'secret-crdb-node.yaml', 'secret-crdb-operations.yaml']);
  assert.equal(list(ctx, 'private/public'), ['secret-crdb-node.yaml', 'secret-crdb-root.yaml']);
  assert.equal(list(ctx, 'private/operator'), ['configmap-crdb-ca.yaml', 'secret-crdb.client.ops.yaml', 'secret-crdb.client.root.yaml', 'secret-crdb.node.yaml']);

  const tree = (rel: string): string => readFileSync(path.join(ctx.dir, 'certs', rel)).toString('base64');
  const pair = (user: string) => ({ crt: tree(`clients/${user}/client.${user}.crt`), key: tree(`clients/${user}/client.${user}.key`), ca: tree(`clients/${user}/ca.crt`) });
  const expected: [string, string, 'helm' | 'tls' | 'operator'][] = [
    ['deploy/helm/secret-crdb-root.yaml', 'root', 'helm'],
    ['deploy/helm/secret-crdb-app.yaml', 'app', 'helm'],
    ['deploy/helm/secret-crdb-ops.yaml', 'ops', 'helm'],
    ['private/tls/secret-crdb-app.yaml', 'app', 'tls'],
    ['private/tls/secret-crdb-operations.yaml', 'ops', 'tls'],
    ['private/public/secret-crdb-root.yaml', 'root', 'tls'],
    ['private/operator/secret-crdb.client.root.yaml', 'root', 'operator'],
    ['private/operator/secret-crdb.client.ops.yaml', 'ops', 'operator'],
  ];
  for (const [file, user, shape] of expected) {
    const text = readFileSync(path.join(ctx.dir, file), 'utf8');
    const raw = parse(text) as Record<string, any>;
    const doc = (shape === 'helm' ? await decryptSops(text, { secretKey: ctx.secret, fileType: 'yaml' }) : raw) as Record<string, any>;
    if (shape === 'helm') assert.not.match(text, /PRIVATE KEY|LS0tLS1CRUdJTi/, `${file} is encrypted`);
    validateObject(doc);
    const p = pair(user);
    const data =
      shape === 'helm' ? { 'ca.crt': p.ca, [`client.${user}.crt`]: p.crt, [`client.${user}.key`]: p.key } : shape === 'tls' ? { 'ca.crt': p.ca, 'tls.crt': p.crt, 'tls.key': p.key } : { 'tls.crt': p.crt, 'tls.key': p.key };
    assert.equal(doc['data'], data, file);
    assert.is(doc['type'], shape === 'helm' ? 'Opaque' : 'kubernetes.io/tls');
    assert.is(doc['metadata']['namespace'], 'db');
    assert.is(raw['metadata']['annotations']['certgen/cert-sha256'], await fingerprint(path.join(ctx.dir, `certs/clients/${user}/client.${user}.crt`)), file);
  }
  // openssl agrees on whose certificate each holds.
  const opsCrt = Buffer.from((parse(readFileSync(path.join(ctx.dir, 'private/tls/secret-crdb-operations.yaml'), 'utf8')) as any).data['tls.crt'], 'base64');
  assert.match(await openssl(['x509', '-noout', '-subject'], opsCrt), /CN ?= ?ops/);
});

s('a reissued client rewrites its own Secrets only', async (ctx) => {
  await apply(await loadSpec(ctx.spec), { journal: false });
  writeFileSync(ctx.spec, specText(ctx.recipient, '4380h'));
  const r = await apply(await loadSpec(ctx.spec), { journal: false });
  assert.equal(r.applied.map((c) => c.artifact), ['client/ops']);
  const written = (r.kubernetes ?? []).filter((f) => f.action === 'written').map((f) => path.relative(ctx.dir, f.file)).sort();
  assert.equal(written, ['deploy/helm/secret-crdb-ops.yaml', 'private/operator/secret-crdb.client.ops.yaml', 'private/tls/secret-crdb-operations.yaml']);
});

s.run();
