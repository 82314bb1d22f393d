// The package's public entry: what `import … from 'certgen'` gives a script, from the built dist/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { ROOT, tmpdir } from './helpers/index.js';

test('the built package exports the typed library a zx script or task runner uses', async () => {
  const lib = (await import(path.join(ROOT, 'dist/index.js'))) as Record<string, unknown>;
  for (const name of ['createCA', 'createClientCA', 'createNode', 'createClient', 'createTenantClientCA', 'createTenantClient', 'createTenantSigning', 'listCerts', 'loadSpec', 'parseSpec', 'plan', 'apply', 'savedPlanFor', 'writeSavedPlan', 'readSavedPlan', 'applySaved', 'distribute', 'fleetStatus', 'renderStatus', 'renderResultSet', 'CertgenError', 'writeKubernetesOutputs', 'kubernetesManifestStream', 'statefulSetHosts', 'encryptArmored', 'decryptWithIdentityFile', 'parseRecipients', 'rotateStart', 'rotateStatus', 'rotateContinue', 'rotateAbort']) {
    assert.type(lib[name], 'function', name);
  }
  const dir = tmpdir();
  const file = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(file, 'certsDir: certs\ncaKey: secrets/ca.key\ndefaults: { keySize: 1024 }\nca: { keySize: 1024 }\nnodes:\n  - name: n1\n    hosts: [localhost]\n');
  const loadSpec = lib.loadSpec as (f: string) => Promise<unknown>;
  const apply = lib.apply as (s: unknown) => Promise<{ applied: unknown[] }>;
  const plan = lib.plan as (s: unknown) => Promise<{ changes: { action: string }[] }>;
  const spec = await loadSpec(file);
  assert.is((await apply(spec)).applied.length, 2);
  assert.equal((await plan(spec)).changes.map((c) => c.action), ['keep', 'keep']);
});

test.run();
