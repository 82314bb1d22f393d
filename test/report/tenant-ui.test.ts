// Tenants and provided UI files in what the operator reads: `report` rows (a Tenant Client and a
// Tenant Signing row per signing tenant, a UI row per node with ui:), the pending column on the
// pair that changes only, `check`'s expiry findings for UI certificates, `cert list` over the
// folders, and a saved plan going stale when a provided file changes. One real tree, applied.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply, applySaved, StalePlanError } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { reportForSpec } from '../../src/report/spec-report.js';
import { check } from '../../src/report/check.js';
import { listCerts, listingCells } from '../../src/cert/list.js';
import { savedPlanFor } from '../../src/plan/saved.js';
import type { ClusterSpec } from '../../src/cluster-spec/spec.js';
import { openssl, setup, tmpdir } from '../helpers/index.js';

const T0 = new Date();
const DAY = 24 * 3600e3;

async function uiCert(dir: string, days: number): Promise<void> {
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, 'subjectAltName=DNS:console.example.com\nextendedKeyUsage=serverAuth\n');
  await openssl(['req', '-new', '-key', path.join(dir, 'ui.key'), '-out', path.join(dir, 'ui.csr'), '-subj', '/CN=console.example.com']);
  await openssl(['x509', '-req', '-in', path.join(dir, 'ui.csr'), '-CA', path.join(dir, 'ca.crt'), '-CAkey', path.join(dir, 'ca.key'), '-days', String(days), '-out', path.join(dir, 'ui.crt'), '-extfile', ext]);
}

let root = '';
let spec: ClusterSpec;
const r = suite('report, check and cert list: tenants and UI files');

setup(r, async () => {
  if (root) return;
  root = tmpdir();
  const ui = path.join(root, 'ui');
  mkdirSync(ui);
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(ui, 'ca.key'), '-out', path.join(ui, 'ca.crt'), '-subj', '/CN=Org UI CA', '-days', '400']);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path.join(ui, 'ui.key')]);
  await uiCert(ui, 100);
  writeFileSync(
    path.join(root, 'cluster-certs.yaml'),
    stringify({
      certsDir: 'certs',
      caKey: 'secrets/ca.key',
      ca: { keySize: 1024 },
      defaults: { keySize: 1024 },
      nodes: [{ name: 'node1', hosts: ['localhost'], ui: { cert: 'ui/ui.crt', key: 'ui/ui.key', ca: 'ui/ca.crt' } }],
      tenants: [{ id: 7, hosts: ['t7.example.com'], signing: true }],
    }),
  );
  spec = await loadSpec(path.join(root, 'cluster-certs.yaml'));
  await apply(spec, { now: () => T0, journal: false });
});

r('report: one row per certificate, all ok, none flagged for its issuer', async () => {
  const rep = await reportForSpec(spec, { now: new Date(T0.getTime() + 3600e3) });
  const rows = rep.rows.filter((x) => x.artifact !== 'ca').map((x) => [x.owner, x.usage, x.file, x.keyFile, x.status, x.error]);
  assert.equal(rows, [
    ['node1', 'Node', 'nodes/node1/node.crt', 'nodes/node1/node.key', 'ok', ''],
    ['node1', 'UI', 'nodes/node1/ui.crt', 'nodes/node1/ui.key', 'ok', ''],
    ['7', 'Tenant Client', 'tenants/7/client-tenant.7.crt', 'tenants/7/client-tenant.7.key', 'ok', ''],
    ['7', 'Tenant Signing', 'tenants/7/tenant-signing.7.crt', 'tenants/7/tenant-signing.7.key', 'ok', ''],
  ]);
  assert.ok(rep.rows.every((x) => !x.orphan), 'no file of the spec is an orphan');
});

r('report: a change to the signing pair is pending on its row only', async () => {
  const key = path.join(spec.certsDir, 'tenants/7/tenant-signing.7.key');
  const saved = readFileSync(key);
  rmSync(key);
  try {
    const rep = await reportForSpec(spec, { now: new Date(T0.getTime() + 3600e3) });
    const pending = rep.rows.filter((x) => x.artifact === 'tenant/7').map((x) => [x.usage, x.pending]);
    assert.equal(pending, [
      ['Tenant Client', ''],
      ['Tenant Signing', 'reissue: key-missing'],
    ]);
  } finally {
    writeFileSync(key, saved, { mode: 0o600 });
  }
});

r('check: a UI certificate inside renewBefore is expiring; the tenant certificates are checked too', async () => {
  const soon = await check(spec, { now: new Date(T0.getTime() + 80 * DAY) });
  assert.equal(soon.findings.filter((f) => f.kind === 'expiring').map((f) => [f.code, f.file]), [['expiring', 'nodes/node1/ui.crt']]);
  assert.match(soon.findings.filter((f) => f.kind === 'warning').map((f) => f.message).join('\n'), /the provided UI certificate ui\/ui\.crt \(the ui: of node1\) expires on/);
  const late = await check(spec, { now: new Date(T0.getTime() + 1820 * DAY) });
  const files = late.findings.filter((f) => f.kind === 'expiring').map((f) => `${f.code} ${f.file}`);
  for (const f of ['expired nodes/node1/ui.crt', 'expiring tenants/7/client-tenant.7.crt', 'expiring tenants/7/tenant-signing.7.crt']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
});

r('cert list over the tenant folder and the node folder: every file, no error', async () => {
  const t = await listCerts({ certsDir: path.join(spec.certsDir, 'tenants/7') });
  assert.equal(t.rows.map((x) => listingCells(x).slice(0, 3)), [
    ['CA', 'ca.crt', ''],
    ['Tenant Client CA', 'ca-client-tenant.crt', ''],
    ['Tenant Client', 'client-tenant.7.crt', 'client-tenant.7.key'],
    ['Tenant Signing', 'tenant-signing.7.crt', 'tenant-signing.7.key'],
  ]);
  const n = await listCerts({ certsDir: path.join(spec.certsDir, 'nodes/node1') });
  assert.equal(n.rows.map((x) => listingCells(x).slice(0, 3)), [
    ['CA', 'ca.crt', ''],
    ['UI CA', 'ca-ui.crt', ''],
    ['Node', 'node.crt', 'node.key'],
    ['UI', 'ui.crt', 'ui.key'],
  ]);
  assert.ok([...t.rows, ...n.rows].every((x) => x.error === ''), 'no row has an error');
});

r('a saved plan that copies a UI file goes stale when the provided file changes', async () => {
  rmSync(path.join(spec.certsDir, 'nodes/node1/ui.crt'));
  try {
    const saved = await savedPlanFor(spec, path.join(root, 'plan.json'), { now: () => T0 });
    assert.equal(saved.plan.changes.filter((c) => c.action !== 'keep').map((c) => `${c.action} ${c.artifact}`), ['reissue node/node1']);
    await uiCert(path.join(root, 'ui'), 90);
    let err: unknown;
    await applySaved(saved, spec, { planFile: 'plan.json', now: () => T0, journal: false }).catch((e: unknown) => (err = e));
    assert.instance(err, StalePlanError);
  } finally {
    await apply(spec, { now: () => T0, journal: false });
  }
});

r.run();
