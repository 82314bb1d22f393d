// Under `umask 000` (and a strict 077) `certgen apply` leaves keys 0600, certificates 0644 and the
// folders it makes 0700, whatever the umask, on creation and when replacing files (a reissue).
// The `certgen cert create-*` drop-in writes 0644/0600 minus the umask, as cockroach does
// (os.OpenFile with 0644 or 0600), fresh and with --overwrite.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from '../helpers/index.js';
import { assertComplete, run, show, writeSpec, type SpecShape } from './lib.js';

const SHAPE: SpecShape = { nodes: 2, clients: ['root', 'maxroach'] };

function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = (lstatSync(path.join(dir, name)).mode & 0o777).toString(8);
  return out;
}

const test = suite('umask');

for (const umask of ['000', '077']) {
  test(`apply under umask ${umask}: keys 0600, certificates 0644, folders 0700, fresh and reissued`, async () => {
    const dir = tmpdir(`certgen-umask-apply-${umask}-`);
    const file = writeSpec(dir, SHAPE);
    for (const spec of [SHAPE, { ...SHAPE, extraHost: () => true, bigKey: () => true }]) {
      writeSpec(dir, spec);
      const r = await run(['apply', file], { umask });
      assert.is(r.code, 0, show(r));
      // assertComplete checks every key 0600, certificate 0644 and folder 0700 (secrets/ too).
      assert.equal(assertComplete(dir, SHAPE.nodes, SHAPE.clients ?? []), []);
      assert.is((await run(['plan', '--detailed-exitcode', file])).code, 0);
    }
  });

  test(`cert create-ca/create-node/create-client under umask ${umask}: 0644/0600 minus the umask, and with --overwrite`, async () => {
    const dir = tmpdir(`certgen-umask-cert-${umask}-`);
    const certs = path.join(dir, 'certs');
    mkdirSync(path.join(dir, 'secrets'), { mode: 0o700 });
    const common = ['--certs-dir', certs, '--ca-key', path.join(dir, 'secrets/ca.key'), '--key-size', '1024'];
    for (const overwrite of [[], ['--overwrite']]) {
      for (const args of [
        ['cert', 'create-ca', ...common, ...(overwrite.length ? ['--allow-ca-key-reuse'] : [])],
        ['cert', 'create-node', 'localhost', '127.0.0.1', ...common],
        ['cert', 'create-client', 'root', '--also-generate-pkcs8-key', ...common],
      ]) {
        const r = await run([...args, ...overwrite], { umask });
        assert.is(r.code, 0, `${args.join(' ')}\n${show(r)}`);
      }
      const mask = Number.parseInt(umask, 8);
      const crt = (0o644 & ~mask).toString(8);
      const key = (0o600 & ~mask).toString(8);
      assert.is((lstatSync(certs).mode & 0o777).toString(8), (0o700 & ~mask).toString(8), 'the certs dir create-ca made');
      assert.equal(modes(certs), { 'ca.crt': crt, 'client.root.crt': crt, 'client.root.key': key, 'client.root.key.pk8': key, 'node.crt': crt, 'node.key': key }, overwrite.join(''));
      assert.equal(modes(path.join(dir, 'secrets')), { 'ca.key': key });
    }
  });
}

test.run();
