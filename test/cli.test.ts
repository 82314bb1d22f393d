// The `certgen cert` command line: exit codes, stderr wording, flags and environment variables,
// and golden `cert list` output in every format.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCA, createClient, createClientCA, createNode } from '../src/cert/commands.js';
import { FORMATS } from '../src/core/table-format.js';
import { ROOT, bin, cli, tmpdir } from './helpers/index.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const now = (): Date => NOW;

function dirs(): { base: string; certsDir: string; caKey: string } {
  const base = tmpdir();
  mkdirSync(path.join(base, 'safe'));
  return { base, certsDir: path.join(base, 'certs'), caKey: path.join(base, 'safe', 'ca.key') };
}

// ---------------------------------------------------------------------------------------------
const errors = suite('errors and exit codes');

errors('a failing command prints ERROR and Failed running on stderr, exit 1', async () => {
  const d = dirs();
  const r = await cli(['cert', 'create-node', 'localhost', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`]);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  const crt = path.join(d.certsDir, 'ca.crt');
  assert.is(r.stderr, `ERROR: failed to generate node certificate and key: error loading CA certificate ${crt} and key ${d.caKey}: open ${crt}: no such file or directory\nFailed running "cert create-node"\n`);
});

errors('success prints nothing', async () => {
  const d = dirs();
  const r = await cli(['cert', 'create-ca', '--certs-dir', d.certsDir, '--ca-key', d.caKey]);
  assert.equal(r, { code: 0, stdout: '', stderr: '' });
  assert.ok(existsSync(path.join(d.certsDir, 'ca.crt')));
});

errors('username errors carry a HINT line', async () => {
  const d = dirs();
  await createCA(d);
  const r = await cli(['cert', 'create-client', 'Foo Bar', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`]);
  assert.is(r.code, 1);
  assert.is(
    r.stderr,
    'ERROR: failed to generate client certificate and key: username is invalid\nHINT: Usernames are case insensitive, must start with a letter, digit or underscore, may contain letters, digits, dashes, periods, or underscores, and must not exceed 63 characters.\nFailed running "cert create-client"\n',
  );
});

errors('flag errors print the usage first and exit 4', async () => {
  const cases: [string[], string][] = [
    [['cert', 'create-ca', '--format=csv'], 'unknown flag: --format'],
    [['cert', 'create-node', 'x', '--lifetime', '10y'], 'invalid argument "10y" for "--lifetime" flag: time: unknown unit "y" in duration "10y"'],
    [['cert', 'create-node', 'x', '--lifetime=10d'], 'invalid argument "10d" for "--lifetime" flag: time: unknown unit "d" in duration "10d"'],
    [['cert', 'create-ca', '--key-size', 'big'], 'invalid argument "big" for "--key-size" flag: strconv.ParseInt: parsing "big": invalid syntax'],
    [['cert', 'create-ca', '--overwrite=maybe'], 'invalid argument "maybe" for "--overwrite" flag: strconv.ParseBool: parsing "maybe": invalid syntax'],
    [['cert', 'list', '--certs-dir'], 'flag needs an argument: --certs-dir'],
    [['cert', 'list', '--ca-key=x'], 'unknown flag: --ca-key'],
    [['cert', 'create-client', 'bob', '--allow-ca-key-reuse'], 'unknown flag: --allow-ca-key-reuse'],
    [['cert', 'create-ca', '--also-generate-pkcs8-key'], 'unknown flag: --also-generate-pkcs8-key'],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.is(r.code, 4, args.join(' '));
    assert.match(r.stderr, /^Usage: certgen cert /, `usage first for ${args.join(' ')}`);
    assert.ok(r.stderr.endsWith(`\n\nERROR: ${message}\nFailed running "cert ${args[1]}"\n`), `${args.join(' ')}:\n${r.stderr}`);
  }
});

errors('argument errors use cobra wording and exit 1', async () => {
  let r = await cli(['cert', 'create-client', 'a', 'b', '--ca-key=x']);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'ERROR: accepts 1 arg(s), received 2\nFailed running "cert create-client"\n');
  r = await cli(['cert', 'create-client', '--ca-key=x']);
  assert.is(r.stderr, 'ERROR: accepts 1 arg(s), received 0\nFailed running "cert create-client"\n');
  r = await cli(['cert', 'create-ca', 'extra']);
  assert.is(r.stderr, 'ERROR: unknown command "extra" for "certgen cert create-ca"\nFailed running "cert create-ca"\n');
  r = await cli(['cert', 'create-node']);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'ERROR: create-node requires at least one host name or address, none was specified\nFailed running "cert create-node"\n');
  r = await cli(['cert']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /ERROR: unknown sub-command: ""\nFailed running "cert"\n$/);
});

errors('a broken certs dir gets cockroach\'s "cannot load certificates." advice', async () => {
  const d = dirs();
  await createCA({ ...d, now });
  await createNode({ ...d, now }, ['localhost']);
  const key = path.join(d.certsDir, 'node.key');
  chmodSync(key, 0o777);
  const max = statSync(key).uid === 0 && statSync(key).gid === process.getgid?.() ? '-rwxr-----' : '-rwx------';
  const r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`]);
  assert.is(r.code, 1);
  assert.is(
    r.stderr,
    `ERROR: cannot load certificates.\nCheck your certificate settings, set --certs-dir, or use --insecure for insecure clusters.\n\ncannot load certificates: validating node cert: key file ${key} has permissions -rwxrwxrwx, exceeds ${max}\nFailed running "cert list"\n`,
  );
  const skipped = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`], { env: { COCKROACH_SKIP_KEY_PERMISSION_CHECK: 'true' } });
  assert.is(skipped.code, 0, skipped.stderr);
  // Root-owned, group = our group, 0640: allowed by the Kubernetes rule (cockroach PR #68182).
  if (statSync(key).uid === 0 && statSync(key).gid === process.getgid?.()) {
    chmodSync(key, 0o640);
    assert.is((await cli(['cert', 'list', `--certs-dir=${d.certsDir}`])).code, 0);
    // Owned by someone else: only 0700 applies.
    const { chownSync } = await import('node:fs');
    chownSync(key, 1, 1);
    const r2 = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`]);
    assert.match(r2.stderr, /has permissions -rw-r-----, exceeds -rwx------/);
  }
});

errors.run();

// ---------------------------------------------------------------------------------------------
const flags = suite('flags and environment');

flags('COCKROACH_CERTS_DIR and COCKROACH_CA_KEY are defaults; flags win', async () => {
  const d = dirs();
  let r = await cli(['cert', 'create-ca'], { env: { COCKROACH_CERTS_DIR: d.certsDir, COCKROACH_CA_KEY: d.caKey } });
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(path.join(d.certsDir, 'ca.crt')) && existsSync(d.caKey));
  const other = path.join(d.base, 'other');
  r = await cli(['cert', 'create-node', 'localhost', `--certs-dir=${other}`, `--ca-key=${d.caKey}`], { env: { COCKROACH_CERTS_DIR: d.certsDir } });
  assert.is(r.code, 1, 'the flag won: there is no ca.crt in the other folder');
  assert.match(r.stderr, /other\/ca\.crt/);
});

flags('the default certs dir is ${HOME}/.cockroach-certs', async () => {
  const home = tmpdir();
  const caKey = path.join(home, 'ca.key');
  const r = await cli(['cert', 'create-ca', `--ca-key=${caKey}`], { env: { HOME: home, COCKROACH_CERTS_DIR: undefined } });
  assert.is(r.code, 0, r.stderr);
  assert.equal(readdirSync(path.join(home, '.cockroach-certs')), ['ca.crt']);
  const l = await cli(['cert', 'list'], { env: { HOME: home, COCKROACH_CERTS_DIR: undefined } });
  assert.match(l.stdout, new RegExp(`^Certificate directory: ${home}/.cockroach-certs\n`));
});

flags('boolean flags accept Go spellings', async () => {
  const d = dirs();
  assert.is((await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`])).code, 0);
  let r = await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--allow-ca-key-reuse=true', '--overwrite=false']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /ca\.crt: file exists/);
  r = await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--allow-ca-key-reuse=1', '--overwrite=T']);
  assert.is(r.code, 0, r.stderr);
  const bundle = readFileSync(path.join(d.certsDir, 'ca.crt'), 'latin1');
  assert.is(bundle.match(/BEGIN CERTIFICATE/g)?.length, 2);
});

flags('--key-size, --lifetime and --also-generate-pkcs8-key reach the files', async () => {
  const d = dirs();
  await createCA(d);
  const r = await cli(['cert', 'create-client', 'maxroach', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024', '--lifetime=1h30m', '--also-generate-pkcs8-key']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(readdirSync(d.certsDir).sort(), ['ca.crt', 'client.maxroach.crt', 'client.maxroach.key', 'client.maxroach.key.pk8']);
  const { x509 } = await import('../src/pki/x509.js');
  const cert = new x509.X509Certificate(readFileSync(path.join(d.certsDir, 'client.maxroach.crt'), 'latin1'));
  assert.is((cert.publicKey.algorithm as RsaHashedKeyAlgorithm).modulusLength, 1024);
  const hours = (cert.notAfter.getTime() - cert.notBefore.getTime()) / 3_600_000;
  assert.ok(hours > 25.49 && hours <= 25.5, `validity = 24h backdating + 1h30m, got ${hours}h`);
});

flags('help for every command', async () => {
  for (const args of [['cert', '--help'], ['cert', 'create-ca', '--help'], ['cert', 'create-client-ca', '--help'], ['cert', 'create-node', '--help'], ['cert', 'create-client', '--help'], ['cert', 'list', '--help'], ['--help']]) {
    const r = await cli(args);
    assert.is(r.code, 0, args.join(' '));
    assert.match(r.stdout, /^Usage: certgen/, args.join(' '));
  }
  const node = await cli(['cert', 'create-node', '--help']);
  assert.match(node.stdout, /--lifetime <duration>.*\n.*Default 43920h0m0s/);
  assert.match(node.stdout, /Exit codes:/);
  const ca = await cli(['cert', 'create-ca', '--help']);
  assert.match(ca.stdout, /Default 87840h0m0s/);
  assert.match(ca.stdout, /--allow-ca-key-reuse/);
});

flags('the installed bin runs with the same behaviour', async () => {
  const d = dirs();
  let r = await bin(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`]);
  assert.is(r.code, 0, r.stderr);
  r = await bin(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`]);
  assert.is(r.code, 1);
  assert.is(r.stderr, `ERROR: failed to generate CA cert and key: CA key ${d.caKey} exists, but key reuse is disabled\nFailed running "cert create-ca"`);
  r = await bin(['cert', 'list', '--nope']);
  assert.is(r.code, 4);
  r = await bin(['cert', 'list', `--certs-dir=${d.certsDir}`]);
  assert.is(r.code, 0);
  assert.match(r.stdout, /^Certificate directory: .*\nUsage\tCertificate File\tKey File\tExpires\tNotes\tError\nCA\tca\.crt\t\t\d{4}\/\d\d\/\d\d\tnum certs: 1\t$/);
  assert.ok(statSync(path.join(ROOT, 'dist/cli.js')).mode & 0o100, 'dist/cli.js is executable');
});

flags.run();

// ---------------------------------------------------------------------------------------------
const list = suite('cert list');

/** A certs dir with every kind of row cert list shows, built with a pinned clock. */
async function fixtureTree(): Promise<string> {
  const base = tmpdir();
  mkdirSync(path.join(base, 'safe'));
  const o = { certsDir: path.join(base, 'certs'), caKey: path.join(base, 'safe', 'ca.key'), now, keySize: 1024 };
  await createCA(o);
  await createCA({ ...o, caKey: path.join(base, 'safe', 'ca2.key'), overwrite: true, now: () => new Date('2026-04-01T00:00:00Z') });
  const o2 = { ...o, caKey: path.join(base, 'safe', 'ca2.key') };
  await createClientCA({ ...o, caKey: path.join(base, 'safe', 'ca-client.key') });
  await createNode(o2, ['localhost', '127.0.0.1', 'node1.example.com', '::1', '*.local']);
  const oc = { ...o, caKey: path.join(base, 'safe', 'ca-client.key') };
  await createClient(oc, 'root');
  await createClient({ ...oc, now: () => new Date('2026-05-17T08:00:00Z') }, 'maxroach');
  await createClient(oc, 'node');
  await createClient(oc, 'zed');
  const dir = o.certsDir;
  writeFileSync(path.join(dir, 'client.empty.crt'), '');
  writeFileSync(path.join(dir, 'client.junk.crt'), 'this is not a certificate\n');
  writeFileSync(path.join(dir, 'client.wrongtype.crt'), readFileSync(path.join(dir, 'client.root.key')));
  writeFileSync(path.join(dir, 'client.nokey.crt'), readFileSync(path.join(dir, 'client.zed.crt')));
  writeFileSync(path.join(dir, 'client.loose.crt'), readFileSync(path.join(dir, 'client.zed.crt')));
  writeFileSync(path.join(dir, 'client.loose.key'), readFileSync(path.join(dir, 'client.zed.key')), { mode: 0o666 });
  chmodSync(path.join(dir, 'client.loose.key'), 0o666);
  writeFileSync(path.join(dir, 'foo.crt'), 'ignored with a warning');
  writeFileSync(path.join(dir, 'ca.old.crt'), 'ignored with a warning');
  writeFileSync(path.join(dir, 'notes.txt'), 'not a .crt: ignored');
  mkdirSync(path.join(dir, 'sub.crt'));
  return base;
}

list('golden output in every format', async () => {
  const base = await fixtureTree();
  const cwd = process.cwd();
  process.chdir(base);
  try {
    for (const format of FORMATS) {
      const r = await cli(['cert', 'list', '--certs-dir=certs', `--format=${format}`]);
      assert.is(r.code, 0, r.stderr);
      assert.is(r.stderr, 'WARNING: bad filename certs/ca.old.crt: CA certificate filename should match ca.crt\nWARNING: bad filename certs/foo.crt: unknown prefix "foo"\n');
      const golden = path.join(ROOT, 'fixtures', 'golden', `cert-list.${format}.txt`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, r.stdout);
      assert.fixture(r.stdout, readFileSync(golden, 'utf8'), `--format=${format}`);
    }
    const piped = await cli(['cert', 'list', '--certs-dir=certs']);
    assert.is(piped.stdout, readFileSync(path.join(ROOT, 'fixtures/golden/cert-list.tsv.txt'), 'utf8'), 'tsv when stdout is not a terminal');
    const tty = await cli(['cert', 'list', '--certs-dir=certs'], { tty: true });
    assert.is(tty.stdout, readFileSync(path.join(ROOT, 'fixtures/golden/cert-list.table.txt'), 'utf8'), 'table on a terminal');
  } finally {
    process.chdir(cwd);
  }
});

list('json is one valid document with stable keys', async () => {
  const base = await fixtureTree();
  const r = await cli(['cert', 'list', `--certs-dir=${path.join(base, 'certs')}`, '--format=json']);
  const rows = JSON.parse(r.stdout) as Record<string, string>[];
  assert.is(rows.length, 12);
  for (const row of rows) assert.equal(Object.keys(row), ['Certificate File', 'Error', 'Expires', 'Key File', 'Notes', 'Usage']);
  assert.equal(rows.map((x) => x['Usage']), ["CA", "Client CA", "Node", ...Array(9).fill("Client")]);
});

list('a missing certs dir lists nothing; --format with a bad value exits 4', async () => {
  const base = tmpdir();
  const r = await cli(['cert', 'list', `--certs-dir=${path.join(base, 'none')}`, '--format=table']);
  assert.is(r.code, 0);
  assert.is(r.stdout, `Certificate directory: ${path.join(base, 'none')}\n  Usage | Certificate File | Key File | Expires | Notes | Error\n--------+------------------+----------+---------+-------+--------\n(0 rows)\n`);
  const bad = await cli(['cert', 'list', '--format=yaml']);
  assert.is(bad.code, 4);
  assert.match(bad.stderr, /ERROR: invalid argument "yaml" for "--format" flag: must be one of/);
});

list.run();

// ---------------------------------------------------------------------------------------------
const compat = suite('compatibility flags');

compat('--cert-principal-map and the DN flags are accepted; a bad map is a flag error', async () => {
  const d = dirs();
  let r = await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--cert-principal-map=foo.bar:node,x:y', '--root-cert-distinguished-name=CN=root', '--node-cert-distinguished-name=CN=node']);
  assert.is(r.code, 0, r.stderr);
  r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '--cert-principal-map=nocolon']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /ERROR: invalid argument "nocolon" for "--cert-principal-map" flag: invalid <cert-principal>:<db-principal> mapping: "nocolon"\n/);
});

compat('--tenant-scope puts crdb:// URI SANs on client certs; 0 and junk are refused', async () => {
  const d = dirs();
  await createCA(d);
  let r = await cli(['cert', 'create-client', 'Bob', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--tenant-scope=1,10', '--tenant-name-scope=app']);
  assert.is(r.code, 0, r.stderr);
  const { openssl } = await import('./helpers/index.js');
  const san = await openssl(['x509', '-in', path.join(d.certsDir, 'client.bob.crt'), '-noout', '-ext', 'subjectAltName']);
  assert.match(san, /URI:crdb:\/\/tenant\/1\/user\/bob, URI:crdb:\/\/tenant\/10\/user\/bob, URI:crdb:\/\/tenant-name\/app\/user\/bob/);
  r = await cli(['cert', 'create-client', 'x', '--tenant-scope=0']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /invalid tenant ID 0, tenant ID should be an unsigned int greater than 0/);
  r = await cli(['cert', 'create-client', 'x', '--tenant-scope=abc']);
  assert.is(r.code, 4);
  r = await cli(['cert', 'create-client', 'x', '--tenant-name-scope=Bad_Name']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /invalid tenant name: "Bad_Name"/);
});

compat('--disable-username-validation still normalises', async () => {
  const d = dirs();
  await createCA(d);
  const r = await cli(['cert', 'create-client', 'Has Space', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--disable-username-validation']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(path.join(d.certsDir, 'client.has space.crt')));
});

compat.run();

const misc = suite('misc');

misc('an unknown cert sub-command is cockroach\'s error; --version prints the version', async () => {
  const r = await cli(['cert', 'foo']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /ERROR: unknown sub-command: "foo"\nFailed running "cert"\n$/);
  const v = await cli(['--version']);
  assert.is(v.code, 0);
  assert.is(v.stdout, `${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
});

misc('the package bin (bin/certgen.cjs) runs the CLI with its exit codes', async () => {
  const { execa } = await import('execa');
  const entry = path.join(ROOT, (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: { certgen: string } }).bin.certgen);
  const ok = await execa(entry, ['--version'], { reject: false });
  assert.is(ok.exitCode, 0, ok.stderr);
  const bad = await execa(entry, ['cert', 'list', '--nope'], { reject: false });
  assert.is(bad.exitCode, 4);
  assert.match(bad.stderr, /ERROR: unknown flag: --nope/);
});

misc.run();
