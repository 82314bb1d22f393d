// outputs.kubernetes end to end, in a real git repository: apply writes the four layouts (SOPS
// and plaintext), every manifest is valid against the Kubernetes schemas (kubernetes-models,
// offline), SOPS files decrypt with the independent sops-age library and, data key through age's
// CLI and values and MAC through Go's AES-GCM and SHA-512, as sops itself checks them; the node
// set's certificate has the StatefulSet's SANs (openssl); the annotations match openssl's hashes;
// a second apply changes no byte; a reissue and a recipient change rewrite exactly what changed.
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { parse } from 'yaml';
import { decryptSops } from 'sops-age';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { buildGo, goJsonLines } from '../helpers/go.js';
import { openssl, setup, tmpdir } from '../helpers/index.js';
import { validateObject } from '../helpers/k8s.js';

const SOPSCHECK = path.resolve(path.dirname(new URL(import.meta.url).pathname), 'go/sopscheck');

interface Ctx {
  dir: string;
  spec: string;
  ids: { file: string; secret: string; recipient: string }[];
}

async function keygen(dir: string, name: string): Promise<Ctx['ids'][number]> {
  const file = path.join(dir, name);
  await execa('age-keygen', ['-o', file]);
  const secret = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) ?? '';
  return { file, secret, recipient: (await execa('age-keygen', ['-y', file])).stdout.trim() };
}

function specText(recipients: string[], extraHost = 'crdb.example.com'): string {
  return `certsDir: certs
caKey: secrets/ca.key
nodes: []
clients:
  - user: root
nodeSets:
  - name: cockroachdb
    namespace: crdb
    hosts: [${extraHost}, 10.1.2.3]
outputs:
  kubernetes:
    - nodeSet: cockroachdb
      layout: helm
      dir: deploy/helm
      sops: { age: [${recipients.join(', ')}] }
    - nodeSet: cockroachdb
      layout: tls
      namespace: other
      names: { node: crdb-tls-node, client: crdb-tls-root }
      dir: private/tls
    - nodeSet: cockroachdb
      layout: public-operator
      dir: deploy/public
      sops: { age: [${recipients[0]}] }
    - nodeSet: cockroachdb
      layout: operator
      dir: deploy/operator
      sops: { age: [${recipients[0]}] }
`;
}

const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd });

/** Every file under `root` with its bytes' and mtime's fingerprint. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(root, p)] = `${readFileSync(p).toString('base64')}@${statSync(p).mtimeMs}`;
    }
  };
  walk(root);
  return out;
}

/** The leaves of a SOPS document in document order, `sops` left out (what the MAC covers). */
function leaves(doc: unknown, p: string[] = []): { path: string[]; value: string }[] {
  if (typeof doc === 'string') return [{ path: p, value: doc }];
  if (Array.isArray(doc)) return doc.flatMap((x) => leaves(x, p));
  return Object.entries(doc as Record<string, unknown>)
    .filter(([k]) => !(p.length === 0 && k === 'sops'))
    .flatMap(([k, v]) => leaves(v, [...p, k]));
}

const sha256hex = async (data: Buffer): Promise<string> => (await execa('sha256sum', { input: data })).stdout.split(' ')[0] ?? '';

const s = suite<Ctx>('kubernetes outputs');

setup(s, async (ctx) => {
  ctx.dir = tmpdir('certgen-k8s-');
  ctx.ids = [await keygen(ctx.dir, 'flux.agekey'), await keygen(ctx.dir, 'admin.agekey')];
  await git(ctx.dir, 'init', '-q');
  writeFileSync(path.join(ctx.dir, '.gitignore'), 'certs/\nsecrets/\nprivate/\n*.agekey\n');
  ctx.spec = path.join(ctx.dir, 'cluster-certs.yaml');
  writeFileSync(ctx.spec, specText(ctx.ids.map((i) => i.recipient)));
  await apply(await loadSpec(ctx.spec), { journal: false });
});

s('the files of every layout, one per object', (ctx) => {
  const list = (d: string): string[] => readdirSync(path.join(ctx.dir, d)).sort();
  assert.equal(list('deploy/helm'), ['secret-cockroachdb-node.yaml', 'secret-cockroachdb-root.yaml']);
  assert.equal(list('private/tls'), ['secret-crdb-tls-node.yaml', 'secret-crdb-tls-root.yaml']);
  assert.equal(list('deploy/public'), ['secret-cockroachdb-node.yaml', 'secret-cockroachdb-root.yaml']);
  assert.equal(list('deploy/operator'), ['configmap-cockroachdb-ca.yaml', 'secret-cockroachdb.client.root.yaml', 'secret-cockroachdb.node.yaml']);
  // Plaintext Secrets are the operator's eyes only; encrypted ones are for git.
  assert.is(statSync(path.join(ctx.dir, 'private/tls/secret-crdb-tls-node.yaml')).mode & 0o777, 0o600);
  assert.is(statSync(path.join(ctx.dir, 'private/tls')).mode & 0o777, 0o700);
  assert.is(statSync(path.join(ctx.dir, 'deploy/helm/secret-cockroachdb-node.yaml')).mode & 0o777, 0o644);
});

s('the node set is a node folder whose certificate has the StatefulSet SANs (openssl)', async (ctx) => {
  const crt = path.join(ctx.dir, 'certs/nodes/cockroachdb/node.crt');
  const san = await openssl(['x509', '-in', crt, '-noout', '-ext', 'subjectAltName']);
  const names = san.split('\n')[1]?.trim().split(', ') ?? [];
  assert.equal(names, [
    'DNS:localhost',
    'DNS:cockroachdb-public',
    'DNS:cockroachdb-public.crdb',
    'DNS:cockroachdb-public.crdb.svc.cluster.local',
    'DNS:*.cockroachdb',
    'DNS:*.cockroachdb.crdb',
    'DNS:*.cockroachdb.crdb.svc.cluster.local',
    'DNS:crdb.example.com',
    'IP Address:127.0.0.1',
    'IP Address:10.1.2.3',
  ]);
  // A pod's name through the headless service, as the chart's --join uses it.
  for (const host of ['cockroachdb-0.cockroachdb.crdb.svc.cluster.local', 'cockroachdb-2.cockroachdb.crdb', 'cockroachdb-public']) {
    assert.match(await openssl(['x509', '-in', crt, '-noout', '-checkhost', host]), /does match certificate/, host);
  }
});

s('plaintext manifests: valid objects holding the tree files, annotations as openssl hashes them', async (ctx) => {
  for (const [file, certRel, keyRel, clientOrNode] of [
    ['private/tls/secret-crdb-tls-node.yaml', 'certs/nodes/cockroachdb/node.crt', 'certs/nodes/cockroachdb/node.key', 'node'],
    ['private/tls/secret-crdb-tls-root.yaml', 'certs/clients/root/client.root.crt', 'certs/clients/root/client.root.key', 'client'],
  ] as const) {
    const o = parse(readFileSync(path.join(ctx.dir, file), 'utf8')) as Record<string, any>;
    validateObject(o);
    assert.is(o.type, 'kubernetes.io/tls');
    assert.is(o.metadata.namespace, 'other');
    const crt = readFileSync(path.join(ctx.dir, certRel));
    const key = readFileSync(path.join(ctx.dir, keyRel));
    const bundle = readFileSync(path.join(ctx.dir, 'certs/ca.crt'));
    assert.is(Buffer.from(o.data['tls.crt'], 'base64').toString(), crt.toString(), clientOrNode);
    assert.is(Buffer.from(o.data['tls.key'], 'base64').toString(), key.toString());
    assert.is(Buffer.from(o.data['ca.crt'], 'base64').toString(), bundle.toString());
    const fp = (await openssl(['x509', '-in', path.join(ctx.dir, certRel), '-noout', '-fingerprint', '-sha256'])).split('=')[1]?.trim().replace(/:/g, '').toLowerCase();
    const spki = (await execa('openssl', ['pkey', '-in', path.join(ctx.dir, keyRel), '-pubout', '-outform', 'DER'], { encoding: 'buffer' })).stdout as unknown as Buffer;
    const end = (await openssl(['x509', '-in', path.join(ctx.dir, certRel), '-noout', '-enddate'])).trim().replace('notAfter=', '');
    assert.equal(o.metadata.annotations, {
      'certgen/cert-sha256': fp,
      'certgen/key-spki-sha256': await sha256hex(Buffer.from(spki)),
      'certgen/ca-bundle-sha256': await sha256hex(bundle),
      'certgen/not-after': new Date(end).toISOString().replace('.000Z', 'Z'),
    });
    assert.equal(o.metadata.labels, { 'app.kubernetes.io/managed-by': 'certgen' });
  }
});

s('SOPS manifests decrypt with sops-age to valid objects with the tree files, for each recipient', async (ctx) => {
  const tree = (rel: string): string => readFileSync(path.join(ctx.dir, 'certs', rel)).toString('base64');
  const expected: Record<string, Record<string, string>> = {
    'deploy/helm/secret-cockroachdb-node.yaml': { 'ca.crt': tree('nodes/cockroachdb/ca.crt'), 'node.crt': tree('nodes/cockroachdb/node.crt'), 'node.key': tree('nodes/cockroachdb/node.key') },
    'deploy/helm/secret-cockroachdb-root.yaml': { 'ca.crt': tree('clients/root/ca.crt'), 'client.root.crt': tree('clients/root/client.root.crt'), 'client.root.key': tree('clients/root/client.root.key') },
    'deploy/public/secret-cockroachdb-root.yaml': { 'ca.crt': tree('clients/root/ca.crt'), 'tls.crt': tree('clients/root/client.root.crt'), 'tls.key': tree('clients/root/client.root.key') },
    'deploy/operator/secret-cockroachdb.node.yaml': { 'tls.crt': tree('nodes/cockroachdb/node.crt'), 'tls.key': tree('nodes/cockroachdb/node.key') },
  };
  for (const [file, data] of Object.entries(expected)) {
    const text = readFileSync(path.join(ctx.dir, file), 'utf8');
    assert.not.match(text, /PRIVATE KEY|LS0tLS1CRUdJTi/, `${file} holds no plaintext or base64 PEM`);
    const ids = file.startsWith('deploy/helm') ? ctx.ids : [ctx.ids[0]!];
    for (const id of ids) {
      const doc = (await decryptSops(text, { secretKey: id.secret, fileType: 'yaml' })) as Record<string, unknown>;
      validateObject(doc);
      assert.equal(doc['data'], data, file);
    }
  }
  const cm = parse(readFileSync(path.join(ctx.dir, 'deploy/operator/configmap-cockroachdb-ca.yaml'), 'utf8')) as Record<string, any>;
  validateObject(cm);
  assert.is(cm.data['ca.crt'], readFileSync(path.join(ctx.dir, 'certs/ca.crt'), 'utf8'));
  assert.not.ok('sops' in cm, 'the CA ConfigMap is public');
});

s('every file written is a valid object (SOPS ones once decrypted), holding the pair it names', async (ctx) => {
  let n = 0;
  for (const top of ['deploy', 'private']) {
    for (const sub of readdirSync(path.join(ctx.dir, top))) {
      for (const name of readdirSync(path.join(ctx.dir, top, sub))) {
        const text = readFileSync(path.join(ctx.dir, top, sub, name), 'utf8');
        const raw = parse(text) as Record<string, any>;
        const doc = 'sops' in raw ? ((await decryptSops(text, { secretKey: ctx.ids[0]!.secret, fileType: 'yaml' })) as Record<string, any>) : raw;
        validateObject(doc);
        assert.is(`${doc.kind.toLowerCase()}-${doc.metadata.name}.yaml`, name);
        const crt = doc.data['tls.crt'] ?? doc.data['node.crt'] ?? doc.data['client.root.crt'];
        if (doc.kind === 'Secret') assert.match(Buffer.from(crt, 'base64').toString(), /^-----BEGIN CERTIFICATE-----/);
        n++;
      }
    }
  }
  assert.is(n, 9);
});

s("SOPS's own checks: the data key through age's CLI, every value and the MAC through Go", async (ctx) => {
  const requests: object[] = [];
  const files = ['deploy/helm/secret-cockroachdb-node.yaml', 'deploy/helm/secret-cockroachdb-root.yaml', 'deploy/operator/secret-cockroachdb.node.yaml'];
  for (const file of files) {
    const doc = parse(readFileSync(path.join(ctx.dir, file), 'utf8')) as Record<string, any>;
    assert.is(doc.sops.encrypted_regex, '^(data|stringData)$');
    assert.match(doc.sops.lastmodified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(doc.sops.version, /^3\.\d+\.\d+$/);
    for (const entry of doc.sops.age as { recipient: string; enc: string }[]) {
      const id = ctx.ids.find((i) => i.recipient === entry.recipient);
      assert.ok(id, 'every recipient is one of ours');
      const key = (await execa('age', ['-d', '-i', id!.file], { input: entry.enc, encoding: 'buffer' })).stdout as unknown as Uint8Array;
      assert.is(key.length, 32);
      requests.push({ key: Buffer.from(key).toString('base64'), lastmodified: doc.sops.lastmodified, mac: doc.sops.mac, regex: doc.sops.encrypted_regex, leaves: leaves(doc) });
    }
  }
  const answers = goJsonLines<{ ok: boolean; error?: string; values?: Record<string, string> }>(buildGo(SOPSCHECK), requests);
  for (const a of answers) assert.ok(a.ok, a.error);
  assert.is(answers[0]?.values?.['data:node.key:'], readFileSync(path.join(ctx.dir, 'certs/nodes/cockroachdb/node.key')).toString('base64'));
  // A value moved to another key no longer authenticates: the path is bound in.
  const doc = parse(readFileSync(path.join(ctx.dir, files[0]!), 'utf8')) as Record<string, any>;
  const swapped = leaves(doc).map((l) => (l.path.join(':') === 'data:node.key' ? { ...l, value: doc.data['node.crt'] } : l));
  const [bad] = goJsonLines<{ ok: boolean; error?: string }>(buildGo(SOPSCHECK), [{ ...(requests[0] as object), leaves: swapped }]);
  assert.not.ok(bad?.ok);
  // An annotation changed in the clear breaks the MAC.
  const edited = leaves(doc).map((l) => (l.path.at(-1) === 'certgen/not-after' ? { ...l, value: '2099-01-01T00:00:00Z' } : l));
  const [bad2] = goJsonLines<{ ok: boolean; error?: string }>(buildGo(SOPSCHECK), [{ ...(requests[0] as object), leaves: edited }]);
  assert.match(bad2?.error ?? '', /MAC mismatch/);
});

s('a second apply changes no byte and no mtime, SOPS files included', async (ctx) => {
  const before = snapshot(ctx.dir);
  const r = await apply(await loadSpec(ctx.spec), { journal: false });
  assert.is(r.applied.length, 0);
  assert.ok(r.kubernetes?.every((f) => f.action === 'unchanged'));
  assert.equal(snapshot(ctx.dir), before);
});

s('a plaintext Secret opened to others is written again, 0600; nothing else moves', async (ctx) => {
  const file = path.join(ctx.dir, 'private/tls/secret-crdb-tls-root.yaml');
  chmodSync(file, 0o644);
  const before = snapshot(path.join(ctx.dir, 'deploy'));
  const r = await apply(await loadSpec(ctx.spec), { journal: false });
  assert.equal((r.kubernetes ?? []).filter((f) => f.action === 'written').map((f) => path.relative(ctx.dir, f.file)), ['private/tls/secret-crdb-tls-root.yaml']);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal(snapshot(path.join(ctx.dir, 'deploy')), before);
});

s('a reissued node certificate rewrites the node Secrets only; a new recipient re-encrypts its output only', async (ctx) => {
  const before = snapshot(ctx.dir);
  const recipients = ctx.ids.map((i) => i.recipient);
  writeFileSync(ctx.spec, specText(recipients, 'db.example.com'));
  const r = await apply(await loadSpec(ctx.spec), { journal: false });
  assert.equal(r.applied.map((c) => c.artifact), ['node/cockroachdb']);
  const written = (r.kubernetes ?? []).filter((f) => f.action === 'written').map((f) => path.relative(ctx.dir, f.file)).sort();
  assert.equal(written, ['deploy/helm/secret-cockroachdb-node.yaml', 'deploy/operator/secret-cockroachdb.node.yaml', 'deploy/public/secret-cockroachdb-node.yaml', 'private/tls/secret-crdb-tls-node.yaml']);
  const after = snapshot(ctx.dir);
  assert.is(after['deploy/helm/secret-cockroachdb-root.yaml'], before['deploy/helm/secret-cockroachdb-root.yaml']);
  const doc = parse(readFileSync(path.join(ctx.dir, 'deploy/helm/secret-cockroachdb-node.yaml'), 'utf8')) as Record<string, any>;
  const fp = (await openssl(['x509', '-in', path.join(ctx.dir, 'certs/nodes/cockroachdb/node.crt'), '-noout', '-fingerprint', '-sha256'])).split('=')[1]?.trim().replace(/:/g, '').toLowerCase();
  assert.is(doc.metadata.annotations['certgen/cert-sha256'], fp);

  // Only the admin's key leaves the helm output: that output is re-encrypted, nothing else.
  writeFileSync(ctx.spec, specText([recipients[0]!], 'db.example.com'));
  const r2 = await apply(await loadSpec(ctx.spec), { journal: false });
  assert.equal((r2.kubernetes ?? []).filter((f) => f.action === 'written').map((f) => path.relative(ctx.dir, f.file)).sort(), ['deploy/helm/secret-cockroachdb-node.yaml', 'deploy/helm/secret-cockroachdb-root.yaml']);
  const text = readFileSync(path.join(ctx.dir, 'deploy/helm/secret-cockroachdb-root.yaml'), 'utf8');
  assert.ok((await decryptSops(text, { secretKey: ctx.ids[0]!.secret, fileType: 'yaml' })) !== undefined);
  try {
    await decryptSops(text, { secretKey: ctx.ids[1]!.secret, fileType: 'yaml' });
    assert.unreachable('the removed recipient cannot decrypt any more');
  } catch (err) {
    assert.match((err as Error).message, /No matching recipient/);
  }
});

s.run();
