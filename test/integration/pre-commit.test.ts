// The repository's .pre-commit-hooks.yaml with the real pre-commit framework (Debian's
// `pre-commit`) and real git, offline: the hook repository is a local one holding this checkout's
// hook file, the operator's repository has certgen as a devDependency (node_modules/.bin), npm is
// told to stay offline, and a commit with a private key in it is refused while a clean one passes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { ROOT, cliEnv, setup, tmpdir } from '../helpers/index.js';
import { GIT_ENV, git, gitInit } from '../helpers/git.js';

const hooks = suite('pre-commit runs certgen check --staged');

let hookRepo = '';
let rev = '';
const cache = tmpdir();
/** Offline: pre-commit's cache in a temp folder, npm refusing the network. */
const env: NodeJS.ProcessEnv = { ...GIT_ENV, PRE_COMMIT_HOME: cache, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_cache: path.join(cache, 'npm') };

setup(hooks, async () => {
  hookRepo = tmpdir();
  await gitInit(hookRepo);
  copyFileSync(path.join(ROOT, '.pre-commit-hooks.yaml'), path.join(hookRepo, '.pre-commit-hooks.yaml'));
  await git(hookRepo, ['add', '.']);
  await git(hookRepo, ['commit', '-q', '-m', 'hooks']);
  rev = (await git(hookRepo, ['rev-parse', 'HEAD'])).stdout.trim();
});

/** An operator's repository using the hook as the README says, with certgen in node_modules/.bin. */
async function operatorRepo(): Promise<string> {
  const dir = tmpdir();
  await gitInit(dir);
  writeFileSync(path.join(dir, '.pre-commit-config.yaml'), `repos:\n  - repo: ${hookRepo}\n    rev: ${rev}\n    hooks: [{ id: certgen-check-staged }]\n`);
  writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\n');
  mkdirSync(path.join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(path.join(ROOT, 'bin/certgen.cjs'), path.join(dir, 'node_modules/.bin/certgen'));
  const r = await execa('pre-commit', ['install'], { cwd: dir, env: cliEnv(env), extendEnv: false, reject: false, encoding: 'utf8' });
  assert.is(r.exitCode, 0, r.stderr);
  await git(dir, ['add', '.']);
  await git(dir, ['commit', '-q', '-m', 'pre-commit'], { env });
  return dir;
}

hooks('the hook file is what the README promises: one hook, system language, no file names passed', () => {
  const doc = parse(readFileSync(path.join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as Record<string, unknown>[];
  assert.is(doc.length, 1);
  assert.equal({ id: doc[0]?.id, language: doc[0]?.language, pass_filenames: doc[0]?.pass_filenames }, { id: 'certgen-check-staged', language: 'system', pass_filenames: false });
});

hooks('a commit with a private key is refused with one line naming it; a clean commit passes', async () => {
  const dir = await operatorRepo();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  mkdirSync(path.join(dir, 'deploy'));
  writeFileSync(path.join(dir, 'deploy/secret.yaml'), `apiVersion: v1\nkind: Secret\ndata:\n  tls.key: ${Buffer.from(key).toString('base64')}\n`);
  await git(dir, ['add', 'deploy']);
  const refused = await git(dir, ['commit', '-m', 'oops'], { ok: [0, 1], env });
  assert.is(refused.code, 1, `${refused.stdout}${refused.stderr}`);
  const out = `${refused.stdout}${refused.stderr}`;
  assert.match(out, /no private key in git \(certgen check --staged\)\.+Failed/);
  assert.match(out, /error: deploy\/secret\.yaml is in git's index \(staged to be committed\) and holds a PEM EC PRIVATE KEY block, base64-encoded/);
  assert.not.ok(out.includes(Buffer.from(key).toString('base64').slice(0, 40)), 'no key material');
  assert.is((await git(dir, ['log', '--oneline'])).stdout.trim().split('\n').length, 1, 'nothing committed');

  await git(dir, ['rm', '-q', '--cached', 'deploy/secret.yaml']);
  writeFileSync(path.join(dir, 'deploy/secret.yaml'), 'apiVersion: v1\nkind: ConfigMap\ndata:\n  note: no key here\n');
  await git(dir, ['add', 'deploy']);
  const ok = await git(dir, ['commit', '-m', 'clean'], { ok: [0, 1], env });
  assert.is(ok.code, 0, `${ok.stdout}${ok.stderr}`);
  assert.match(`${ok.stdout}${ok.stderr}`, /no private key in git \(certgen check --staged\)\.+Passed/);
});

hooks.run();
