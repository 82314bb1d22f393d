// Modes do not depend on the umask: under `umask 000` (and a strict 077) `certgen apply` and the
// `certgen cert create-*` commands leave keys 0600, certificates 0644 and the folders they make
// 0700, on creation and when replacing files (a reissue, --overwrite).
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

  test(`cert create-ca/create-node/create-client under umask ${umask}, and with --overwrite`, async () => {
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
      assert.is((lstatSync(certs).mode & 0o777).toString(8), '700', 'the certs dir create-ca made');
      assert.equal(modes(certs), { 'ca.crt': '644', 'client.root.crt': '644', 'client.root.key': '600', 'client.root.key.pk8': '600', 'node.crt': '644', 'node.key': '600' }, overwrite.join(''));
      assert.equal(modes(path.join(dir, 'secrets')), { 'ca.key': '600' });
    }
  });
}

test.run();
