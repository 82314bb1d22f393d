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
    [['cert', 'create-node', 'x', '--key-type=dsa'], 'invalid argument "dsa" for "--key-type" flag: must be one of rsa, ecdsa-p256, ecdsa-p384, ed25519'],
    [['cert', 'create-client', 'bob', '--key-type=ed25519', '--key-size=2048'], '--key-size applies to --key-type=rsa only, not ed25519'],
    [['cert', 'list', '--key-type=rsa'], 'unknown flag: --key-type'],
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

flags('--key-type reaches the files; rsa is the default and --key-size goes with it', async () => {
  const d = dirs();
  let r = await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-type=ecdsa-p384']);
  assert.is(r.code, 0, r.stderr);
  assert.match(readFileSync(d.caKey, 'latin1'), /^-----BEGIN EC PRIVATE KEY-----\n/);
  r = await cli(['cert', 'create-node', 'localhost', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-type', 'ed25519']);
  assert.is(r.code, 0, r.stderr);
  assert.match(readFileSync(path.join(d.certsDir, 'node.key'), 'latin1'), /^-----BEGIN PRIVATE KEY-----\n/);
  r = await cli(['cert', 'create-client', 'root', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024']);
  assert.is(r.code, 0, r.stderr);
  const { x509 } = await import('../src/pki/x509.js');
  const cert = new x509.X509Certificate(readFileSync(path.join(d.certsDir, 'client.root.crt'), 'latin1'));
  assert.is((cert.publicKey.algorithm as RsaHashedKeyAlgorithm).modulusLength, 1024);
  assert.is(cert.signatureAlgorithm.name, 'ECDSA');
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
  assert.match(node.stdout, /--key-type <type> +Key type: rsa, ecdsa-p256, ecdsa-p384,\s+ed25519\. A certgen extension \(cockroach\s+writes RSA keys only\)\. \(default: "rsa"\)/);
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
  // The built CLI reads cobra's and pflag's syntax too.
  r = await bin(['cert', `--certs-dir=${d.certsDir}`, '--logtostderr=NONE', 'list']);
  assert.is(r.code, 0, r.stderr);
  r = await bin(['cert', 'create-node', 'bücher.de', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=0x400']);
  assert.is(r.stderr, 'ERROR: failed to generate node certificate and key: error creating node server certificate and key: x509: "bücher.de" cannot be encoded as an IA5String\nFailed running "cert create-node"');
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

compat('--cert-principal-map and the DN flags are accepted; a bad entry is a run-time error (exit 1), as cockroach checks it before running', async () => {
  const d = dirs();
  let r = await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--cert-principal-map=foo.bar:node,x:y', '--root-cert-distinguished-name=CN=root', '--node-cert-distinguished-name=CN=node']);
  assert.is(r.code, 0, r.stderr);
  r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '--cert-principal-map=nocolon']);
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: invalid <cert-principal>:<db-principal> mapping: "nocolon"\nFailed running "cert list"\n' });
  // A string slice: values are CSV records and repeated flags add up; empty entries are skipped.
  r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '--cert-principal-map="a,b:c",,d:e:f', '--cert-principal-map=g:h']);
  assert.is(r.code, 0, r.stderr);
  r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '--cert-principal-map=a:b', '--cert-principal-map=x y']);
  assert.is(r.stderr, 'ERROR: invalid <cert-principal>:<db-principal> mapping: "x y"\nFailed running "cert list"\n');
  // A malformed CSV record is pflag's flag error.
  r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '--cert-principal-map=a"b:c']);
  assert.is(r.code, 4);
  assert.ok(r.stderr.endsWith('\nERROR: invalid argument "a\\"b:c" for "--cert-principal-map" flag: parse error on line 1, column 2: bare " in non-quoted-field\nFailed running "cert list"\n'), r.stderr);
  // cobra checks the arguments first.
  r = await cli(['cert', 'list', 'extra', '--cert-principal-map=nocolon']);
  assert.is(r.stderr, 'ERROR: unknown command "extra" for "certgen cert list"\nFailed running "cert list"\n');
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

compat('--disable-username-validation prints cockroach\'s warning, ended by a newline, and still normalises', async () => {
  const d = dirs();
  await createCA({ ...d, keySize: 1024 });
  const warning = (name: string): string => `warning: the specified identity "${name}" is not a valid SQL username.\nBefore it can be used to log in, an identity map rule will need to be set on the server.\n`;
  let r = await cli(['cert', 'create-client', 'Has Space', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024', '--disable-username-validation']);
  assert.equal(r, { code: 0, stdout: '', stderr: warning('Has Space') });
  assert.ok(existsSync(path.join(d.certsDir, 'client.has space.crt')));
  r = await cli(['cert', 'create-client', ',foo', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024', '--disable-username-validation']);
  assert.equal(r, { code: 0, stdout: '', stderr: warning(',foo') });
  // A valid name: no warning.
  r = await cli(['cert', 'create-client', 'bob', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024', '--disable-username-validation']);
  assert.equal(r, { code: 0, stdout: '', stderr: '' });
  // An empty name: the warning, then GenerateClientCert's refusal on a line of its own (cockroach glues them).
  r = await cli(['cert', 'create-client', '', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024', '--disable-username-validation']);
  assert.equal(r, { code: 1, stdout: '', stderr: `${warning('')}ERROR: failed to generate client certificate and key: error creating client certificate and key: user cannot be empty\nFailed running "cert create-client"\n` });
});

compat('--tenant-scope: an empty value or element is a flag error, out-of-range IDs say value out of range, the last flag wins', async () => {
  const d = dirs();
  await createCA({ ...d, keySize: 1024 });
  const cases: [string, string][] = [
    ['--tenant-scope=', 'invalid argument "" for "--tenant-scope" flag: invalid tenant ID , tenant ID should be an unsigned int greater than 0: strconv.ParseUint: parsing "": invalid syntax'],
    ['--tenant-scope=2,,3', 'invalid argument "2,,3" for "--tenant-scope" flag: invalid tenant ID , tenant ID should be an unsigned int greater than 0: strconv.ParseUint: parsing "": invalid syntax'],
    ['--tenant-scope=2,', 'invalid argument "2," for "--tenant-scope" flag: invalid tenant ID , tenant ID should be an unsigned int greater than 0: strconv.ParseUint: parsing "": invalid syntax'],
    ['--tenant-scope=18446744073709551616', 'invalid argument "18446744073709551616" for "--tenant-scope" flag: invalid tenant ID 18446744073709551616, tenant ID should be an unsigned int greater than 0: strconv.ParseUint: parsing "18446744073709551616": value out of range'],
    ['--tenant-scope=-1', 'invalid argument "-1" for "--tenant-scope" flag: invalid tenant ID -1, tenant ID should be an unsigned int greater than 0: strconv.ParseUint: parsing "-1": invalid syntax'],
    ['--tenant-scope=0x10', 'invalid argument "0x10" for "--tenant-scope" flag: invalid tenant ID 0x10, tenant ID should be an unsigned int greater than 0: strconv.ParseUint: parsing "0x10": invalid syntax'],
    ['--tenant-name-scope=app,', 'invalid argument "app," for "--tenant-name-scope" flag: invalid tenant name: ""'],
  ];
  for (const [flag, message] of cases) {
    const r = await cli(['cert', 'create-client', 'bob', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, flag]);
    assert.is(r.code, 4, flag);
    assert.ok(r.stderr.endsWith(`\n\nERROR: ${message}\nFailed running "cert create-client"\n`), `${flag}:\n${r.stderr}`);
  }
  const r = await cli(['cert', 'create-client', 'bob', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024', '--tenant-scope=1,2', '--tenant-scope=18446744073709551615']);
  assert.is(r.code, 0, r.stderr);
  const { openssl } = await import('./helpers/index.js');
  const san = await openssl(['x509', '-in', path.join(d.certsDir, 'client.bob.crt'), '-noout', '-ext', 'subjectAltName']);
  assert.is(san.split('\n')[1]?.trim(), 'URI:crdb://tenant/18446744073709551615/user/bob', 'a repeated --tenant-scope replaces the list');
});

compat('a non-ASCII host name fails like cockroach at signing; its A-label form works', async () => {
  const d = dirs();
  await createCA({ ...d, keySize: 1024 });
  let r = await cli(['cert', 'create-node', 'bücher.de', 'localhost', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024']);
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: failed to generate node certificate and key: error creating node server certificate and key: x509: "bücher.de" cannot be encoded as an IA5String\nFailed running "cert create-node"\n' });
  assert.equal(readdirSync(d.certsDir), ['ca.crt']);
  r = await cli(['cert', 'create-node', 'xn--bcher-kva.de', 'localhost', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024']);
  assert.is(r.code, 0, r.stderr);
});

compat('environment variables set but empty count as set (os.LookupEnv)', async () => {
  const base = tmpdir();
  let r = await cli(['cert', 'list'], { env: { COCKROACH_CERTS_DIR: '' } });
  assert.equal(r, { code: 0, stdout: 'Certificate directory: \nUsage\tCertificate File\tKey File\tExpires\tNotes\tError\n', stderr: '' });
  r = await cli(['cert', 'create-ca', `--ca-key=${path.join(base, 'ca.key')}`], { env: { COCKROACH_CERTS_DIR: '' } });
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: failed to generate CA cert and key: the path to the certs directory is required\nFailed running "cert create-ca"\n' });
  r = await cli(['cert', 'create-ca', `--certs-dir=${path.join(base, 'certs')}`], { env: { COCKROACH_CA_KEY: '' } });
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: failed to generate CA cert and key: the path to the CA key is required\nFailed running "cert create-ca"\n' });
  // The flag still wins over the variable.
  r = await cli(['cert', 'list', `--certs-dir=${base}`], { env: { COCKROACH_CERTS_DIR: '' } });
  assert.match(r.stdout, new RegExp(`^Certificate directory: ${base}\n`));
  r = await cli(['cert', 'list', `--certs-dir=${base}`], { env: { COCKROACH_SKIP_KEY_PERMISSION_CHECK: '' } });
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: invalid boolean value "" for environment variable COCKROACH_SKIP_KEY_PERMISSION_CHECK\nFailed running "cert list"\n' });
  r = await cli(['cert', 'create-tenant-signing', '5', `--certs-dir=${base}`], { env: { COCKROACH_SKIP_KEY_PERMISSION_CHECK: '' } });
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: invalid boolean value "" for environment variable COCKROACH_SKIP_KEY_PERMISSION_CHECK\nFailed running "cert create-tenant-signing"\n' });
  assert.not.ok(existsSync(path.join(base, 'tenant-signing.5.key')));
});

compat('create-* print the loader\'s warnings for the files it skips, from the stderr threshold up', async () => {
  const d = dirs();
  await createCA({ ...d, keySize: 1024 });
  writeFileSync(path.join(d.certsDir, 'foo.crt'), '');
  writeFileSync(path.join(d.certsDir, 'ca.extra.crt'), '');
  const warnings = `WARNING: bad filename ${path.join(d.certsDir, 'ca.extra.crt')}: CA certificate filename should match ca.crt\nWARNING: bad filename ${path.join(d.certsDir, 'foo.crt')}: unknown prefix "foo"\n`;
  let r = await cli(['cert', 'create-node', 'localhost', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024']);
  assert.equal(r, { code: 0, stdout: '', stderr: warnings });
  // Printed when the loader runs, so also before a failure.
  r = await cli(['cert', 'create-node', 'localhost', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024']);
  assert.is(r.code, 1);
  assert.ok(r.stderr.startsWith(`${warnings}ERROR: failed to generate node certificate and key: error writing node server certificate to `), r.stderr);
  r = await cli(['cert', 'create-tenant-signing', '3', `--certs-dir=${d.certsDir}`, '--logtostderr=ERROR']);
  assert.equal(r, { code: 0, stdout: '', stderr: '' });
  r = await cli(['cert', 'create-client-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${path.join(d.base, 'safe', 'cc.key')}`, '--key-size=1024']);
  assert.equal(r, { code: 0, stdout: '', stderr: warnings });
});

compat.run();

// ---------------------------------------------------------------------------------------------
const tenant = suite('tenant commands');

tenant('create-tenant-client-ca, create-tenant-client and create-tenant-signing: files, the default-hosts warning, cobra\'s argument errors', async () => {
  const d = dirs();
  const tcaKey = path.join(d.base, 'safe', 'tca.key');
  let r = await cli(['cert', 'create-tenant-client-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${tcaKey}`, '--key-size=1024']);
  assert.equal(r, { code: 0, stdout: '', stderr: '' });
  r = await cli(['cert', 'create-tenant-client', '10', `--certs-dir=${d.certsDir}`, `--ca-key=${tcaKey}`, '--key-size=1024']);
  assert.equal(r, { code: 0, stdout: '', stderr: 'Warning: no server address specified. Using [127.0.0.1 ::1 localhost *.local].\n' });
  r = await cli(['cert', 'create-tenant-client', '11', 'db.example', '127.0.0.2', `--certs-dir=${d.certsDir}`, `--ca-key=${tcaKey}`, '--key-size=1024']);
  assert.equal(r, { code: 0, stdout: '', stderr: '' });
  r = await cli(['cert', 'create-tenant-signing', '10', `--certs-dir=${d.certsDir}`, '--ca-key=unused', '--key-size=512']);
  assert.equal(r, { code: 0, stdout: '', stderr: '' }, '--ca-key and --key-size are accepted and not used');
  assert.equal(readdirSync(d.certsDir).sort(), ['ca-client-tenant.crt', 'client-tenant.10.crt', 'client-tenant.10.key', 'client-tenant.11.crt', 'client-tenant.11.key', 'tenant-signing.10.crt', 'tenant-signing.10.key']);
  r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`]);
  assert.equal(
    r.stdout.split('\n').map((l) => l.split('\t').slice(0, 2).join(' ')),
    ['Certificate directory: ' + d.certsDir, 'Usage Certificate File', 'Tenant Client CA ca-client-tenant.crt', 'Tenant Client client-tenant.10.crt', 'Tenant Client client-tenant.11.crt', 'Tenant Signing tenant-signing.10.crt', ''],
  );
  // The warning comes before the id is read; the id error is not wrapped.
  r = await cli(['cert', 'create-tenant-client', 'x', `--certs-dir=${d.certsDir}`, `--ca-key=${tcaKey}`]);
  assert.equal(r, {
    code: 1,
    stdout: '',
    stderr: 'Warning: no server address specified. Using [127.0.0.1 ::1 localhost *.local].\nERROR: x is invalid uint64: strconv.ParseUint: parsing "x": invalid syntax\nFailed running "cert create-tenant-client"\n',
  });
  r = await cli(['cert', 'create-tenant-client', `--certs-dir=${d.certsDir}`]);
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: requires at least 1 arg(s), only received 0\nFailed running "cert create-tenant-client"\n' });
  r = await cli(['cert', 'create-tenant-signing', `--certs-dir=${d.certsDir}`]);
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: accepts 1 arg(s), received 0\nFailed running "cert create-tenant-signing"\n' });
  r = await cli(['cert', 'create-tenant-signing', '1', '2', `--certs-dir=${d.certsDir}`]);
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: accepts 1 arg(s), received 2\nFailed running "cert create-tenant-signing"\n' });
  r = await cli(['cert', 'create-tenant-client-ca', 'extra', `--certs-dir=${d.certsDir}`, `--ca-key=${tcaKey}`]);
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: unknown command "extra" for "certgen cert create-tenant-client-ca"\nFailed running "cert create-tenant-client-ca"\n' });
  // Flags: the CA command has --allow-ca-key-reuse; the others not; --lifetime defaults differ.
  r = await cli(['cert', 'create-tenant-signing', '2', '--allow-ca-key-reuse']);
  assert.is(r.code, 4);
  assert.ok(r.stderr.endsWith('\n\nERROR: unknown flag: --allow-ca-key-reuse\nFailed running "cert create-tenant-signing"\n'), r.stderr);
  r = await cli(['cert', 'create-tenant-client-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${tcaKey}`, '--allow-ca-key-reuse', '--overwrite']);
  assert.equal(r, { code: 0, stdout: '', stderr: '' });
  for (const [sub, lifetime] of [['create-tenant-client-ca', '87840h0m0s'], ['create-tenant-client', '43920h0m0s'], ['create-tenant-signing', '43920h0m0s']] as const) {
    r = await cli(['cert', sub, '--help']);
    assert.is(r.code, 0);
    assert.match(r.stdout.replace(/\s+/g, ' '), new RegExp(`Default ${lifetime}`), sub);
  }
  r = await cli(['cert', '--help']);
  assert.match(r.stdout, /create-ca [^\n]*\n\s+create-client-ca [^\n]*\n\s+create-tenant-client-ca [^\n]*\n\s+create-node [^\n]*\n\s+create-client [^\n]*\n\s+create-tenant-client [^\n]*\n\s+create-tenant-signing [^\n]*\n\s+list /, 'cockroach\'s command order');
});

tenant.run();

// ---------------------------------------------------------------------------------------------
const syntax = suite('cobra and pflag syntax');

syntax('flags may stand before the subcommand, as cobra allows', async () => {
  const d = dirs();
  let r = await cli(['cert', `--certs-dir=${d.certsDir}`, 'create-ca', `--ca-key=${d.caKey}`, '--key-size=1024']);
  assert.is(r.code, 0, r.stderr);
  r = await cli(['cert', `--certs-dir=${d.certsDir}`, 'list']);
  assert.match(r.stdout, new RegExp(`^Certificate directory: ${d.certsDir}\nUsage\t`));
  r = await cli(['cert', '--certs-dir', d.certsDir, '--ca-key', d.caKey, '--key-size', '1024', 'create-node', 'localhost']);
  assert.is(r.code, 0, r.stderr);
  r = await cli(['cert', '-v', '--logtostderr', `--certs-dir=${d.certsDir}`, 'list']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nNode\tnode\.crt\t/);
  // A flag error names the subcommand and shows its usage.
  r = await cli(['cert', `--certs-dir=${d.certsDir}`, 'list', '--nope']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /^Usage: certgen cert list /);
  assert.ok(r.stderr.endsWith('\n\nERROR: unknown flag: --nope\nFailed running "cert list"\n'), r.stderr);
  r = await cli(['cert', '--key-size=zz', 'create-node', 'localhost']);
  assert.is(r.code, 4);
  assert.ok(r.stderr.endsWith('\n\nERROR: invalid argument "zz" for "--key-size" flag: strconv.ParseInt: parsing "zz": invalid syntax\nFailed running "cert create-node"\n'), r.stderr);
  // cobra takes the word after a flag it does not know at the `cert` level for that flag's value.
  r = await cli(['cert', '--overwrite', 'create-ca']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /^Usage: certgen cert /);
  assert.ok(r.stderr.endsWith('\n\nERROR: unknown flag: --overwrite\nFailed running "cert"\n'), r.stderr);
});

syntax('flags may stand before `cert` too: the command found parses them all, local or persistent', async () => {
  const d = dirs();
  let r = await cli([`--certs-dir=${d.certsDir}`, 'cert', 'create-ca', `--ca-key=${d.caKey}`, '--key-size=1024']);
  assert.is(r.code, 0, r.stderr);
  r = await cli(['--certs-dir', d.certsDir, '--logtostderr', 'cert', '--ca-key', d.caKey, 'create-node', '--key-size=1024', 'localhost']);
  assert.is(r.code, 0, r.stderr);
  r = await cli([`--certs-dir=${d.certsDir}`, 'cert', 'list']);
  assert.match(r.stdout, new RegExp(`^Certificate directory: ${d.certsDir}\nUsage\t[^\n]*\nCA\tca\.crt\t[^\n]*\nNode\tnode\.crt\t`));
  // --certs-dir is a local flag of the subcommands: `cert` itself does not know it.
  r = await cli([`--certs-dir=${d.certsDir}`, 'cert']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /^Usage: certgen cert /);
  assert.ok(r.stderr.endsWith('\n\nERROR: unknown flag: --certs-dir\nFailed running "cert"\n'), r.stderr);
  // A bad value before `cert` is the found command's flag error.
  r = await cli(['--key-size=zz', 'cert', 'create-node', 'localhost']);
  assert.is(r.code, 4);
  assert.ok(r.stderr.endsWith('\n\nERROR: invalid argument "zz" for "--key-size" flag: strconv.ParseInt: parsing "zz": invalid syntax\nFailed running "cert create-node"\n'), r.stderr);
});

syntax('`cert -- list` runs `cert` itself with the argument list, as cobra stops looking at `--`', async () => {
  for (const argv of [['cert', '--', 'list'], ['cert', '--logtostderr', '--', 'list', 'x']]) {
    const r = await cli(argv);
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stdout, '');
    assert.match(r.stderr, /^Usage: certgen cert /);
    assert.ok(r.stderr.endsWith(`\nERROR: unknown sub-command: "${argv.slice(argv.indexOf('--') + 1).join(' ')}"\nFailed running "cert"\n`), r.stderr);
  }
  // After the subcommand, `--` ends its flags as pflag reads them.
  const d = dirs();
  const r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '--', 'x']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /ERROR: unknown command "x" for "certgen cert list"\nFailed running "cert list"\n$/);
});

syntax('--key-size is a base-0 integer (strconv.ParseInt(s, 0, 64)); out of range is pflag\'s error', async () => {
  const { openssl } = await import('./helpers/index.js');
  for (const spelling of ['0x400', '0X400', '02000', '0o2000', '0b10000000000', '1_024', '+1024']) {
    const d = dirs();
    const r = await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, `--key-size=${spelling}`]);
    assert.is(r.code, 0, `${spelling}: ${r.stderr}`);
    assert.match(await openssl(['x509', '-in', path.join(d.certsDir, 'ca.crt'), '-noout', '-text']), /Public-Key: \(1024 bit\)/, spelling);
  }
  const cases: [string, string][] = [
    ['9223372036854775808', 'strconv.ParseInt: parsing "9223372036854775808": value out of range'],
    ['-9223372036854775809', 'strconv.ParseInt: parsing "-9223372036854775809": value out of range'],
    ['99999999999999999999x', 'strconv.ParseInt: parsing "99999999999999999999x": value out of range'],
    ['0x', 'strconv.ParseInt: parsing "0x": invalid syntax'],
    ['08', 'strconv.ParseInt: parsing "08": invalid syntax'],
    ['1__024', 'strconv.ParseInt: parsing "1__024": invalid syntax'],
    ['', 'strconv.ParseInt: parsing "": invalid syntax'],
  ];
  for (const [value, reason] of cases) {
    const r = await cli(['cert', 'create-ca', `--key-size=${value}`]);
    assert.is(r.code, 4, value);
    assert.ok(r.stderr.endsWith(`\n\nERROR: invalid argument "${value}" for "--key-size" flag: ${reason}\nFailed running "cert create-ca"\n`), `${value}:\n${r.stderr}`);
  }
});

syntax('shorthand flags are read as pflag reads them', async () => {
  const d = dirs();
  let r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '-v', '-v=false', '-vh']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: certgen cert list/, '-vh: -v, then help');
  r = await cli(['cert', 'list', '-vx']);
  assert.is(r.code, 4);
  assert.ok(r.stderr.endsWith("\n\nERROR: unknown shorthand flag: 'x' in -x\nFailed running \"cert list\"\n"), r.stderr);
  r = await cli(['cert', 'list', '-v=maybe']);
  assert.ok(r.stderr.endsWith('\n\nERROR: invalid argument "maybe" for "-v, --verbose" flag: strconv.ParseBool: parsing "maybe": invalid syntax\nFailed running "cert list"\n'), r.stderr);
  // A negative number is a flag to pflag, not a host.
  r = await cli(['cert', 'create-node', '-1']);
  assert.is(r.code, 4);
  assert.ok(r.stderr.endsWith("\n\nERROR: unknown shorthand flag: '1' in -1\nFailed running \"cert create-node\"\n"), r.stderr);
  // A flag's value is never read as a flag.
  r = await cli(['cert', 'list', '--certs-dir', '-v']);
  assert.match(r.stdout, /^Certificate directory: -v\n/);
});

syntax.run();

// ---------------------------------------------------------------------------------------------
const logging = suite('logging flags');

/** A certs dir whose listing has one warning (a file cert list skips). */
async function dirWithWarning(): Promise<string> {
  const d = dirs();
  await createCA({ ...d, keySize: 1024 });
  writeFileSync(path.join(d.certsDir, 'foo.crt'), '');
  return d.certsDir;
}

logging('every cert command accepts cockroach\'s logging flags with their value syntax', async () => {
  const d = dirs();
  const all = ['--logtostderr', '--log-dir=', '--log-dir', 'logs', '--redactable-logs', '--redactable-logs=false', '--no-color', '--no-color=0', '--log-file-verbosity=INFO', '--sql-audit-dir=x', '-v', '--verbose=T', '--log-config-vars=HOME,USER'];
  let r = await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, `--ca-key=${d.caKey}`, '--key-size=1024', ...all]);
  assert.equal(r, { code: 0, stdout: '', stderr: '' });
  assert.not.ok(existsSync('logs'), 'no log folder is made');
  for (const args of [['create-client-ca', `--ca-key=${path.join(d.base, 'safe', 'cc.key')}`], ['create-node', 'localhost', `--ca-key=${d.caKey}`], ['create-client', 'bob', `--ca-key=${path.join(d.base, 'safe', 'cc.key')}`], ['list']]) {
    r = await cli(['cert', ...args, `--certs-dir=${d.certsDir}`, '--key-size=1024', ...all].filter((a) => !(args[0] === 'list' && a.startsWith('--key-size'))));
    assert.is(r.code, 0, `${args[0]}: ${r.stderr}`);
  }
  r = await cli(['cert', 'create-ca', `--certs-dir=${d.certsDir}`, '--log=sinks: {stderr: {filter: ERROR}}', '--log-config-file=/dev/null', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /--logtostderr\[=<severity>\]/);
  assert.match(r.stdout, /--redactable-logs\[=<bool>\]/);
  assert.match(r.stdout, /--log-dir <dir> +Accepted for compatibility; no effect/);
  assert.match(r.stdout, /certgen writes no log\s+files/);
});

logging('the stderr threshold: warnings from WARNING up by default, as --logtostderr or --log sets it', async () => {
  const certsDir = await dirWithWarning();
  const warning = `WARNING: bad filename ${certsDir}/foo.crt: unknown prefix "foo"\n`;
  const cases: [string[], boolean][] = [
    [[], true],
    [['--logtostderr'], true],
    [['--logtostderr=WARNING'], true],
    [['--logtostderr=info'], true],
    [['--logtostderr=true'], true],
    [['--logtostderr=1'], true],
    [['--logtostderr=0'], true], // UNKNOWN: not set
    [['--logtostderr=-5'], true],
    [['--logtostderr=ERROR'], false],
    [['--logtostderr=3'], false],
    [['--logtostderr=FATAL'], false],
    [['--logtostderr=NONE'], false],
    [['--logtostderr=false'], false],
    [['--logtostderr=4294967298'], true], // Severity is an int32: 2, WARNING
    [['--log=sinks: {stderr: {filter: ERROR}}'], false],
    [['--log=sinks: {stderr: {filter: WARNING}}'], true],
    [['--log=file-defaults: {dir: logs}'], true],
    [['--log=sinks: {stderr: {filter: $LVL}}', '--log-config-vars=LVL'], false],
  ];
  for (const [flags, shown] of cases) {
    const r = await cli(['cert', 'list', `--certs-dir=${certsDir}`, ...flags], { env: { LVL: 'NONE' } });
    assert.is(r.code, 0, `${flags.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr, shown ? warning : '', flags.join(' ') || '(no flag)');
  }
  const file = path.join(tmpdir(), 'log.yaml');
  writeFileSync(file, 'sinks:\n  stderr:\n    filter: NONE\n');
  assert.is((await cli(['cert', 'list', `--certs-dir=${certsDir}`, `--log-config-file=${file}`])).stderr, '');
  // --log and --log-config-file set the same configuration: the later one counts.
  assert.is((await cli(['cert', 'list', `--certs-dir=${certsDir}`, `--log-config-file=${file}`, '--log=sinks: {stderr: {filter: INFO}}'])).stderr, warning);
  assert.is((await cli(['cert', 'list', `--certs-dir=${certsDir}`, '--log=sinks: {stderr: {filter: INFO}}', `--log-config-file=${file}`])).stderr, '');
});

logging('bad logging flags: flag errors (exit 4) and cockroach\'s run-time checks (exit 1)', async () => {
  const flagErrors: [string, string][] = [
    ['--logtostderr=loud', 'invalid argument "loud" for "--logtostderr" flag: strconv.Atoi: parsing "loud": invalid syntax'],
    ['--logtostderr=', 'invalid argument "" for "--logtostderr" flag: strconv.Atoi: parsing "": invalid syntax'],
    ['--logtostderr=99999999999999999999', 'invalid argument "99999999999999999999" for "--logtostderr" flag: strconv.Atoi: parsing "99999999999999999999": value out of range'],
    ['--log-file-verbosity=x', 'invalid argument "x" for "--log-file-verbosity" flag: strconv.Atoi: parsing "x": invalid syntax'],
    ['--redactable-logs=maybe', 'invalid argument "maybe" for "--redactable-logs" flag: strconv.ParseBool: parsing "maybe": invalid syntax'],
    ['--log-config-file=/nonexistent/log.yaml', 'invalid argument "/nonexistent/log.yaml" for "--log-config-file" flag: open /nonexistent/log.yaml: no such file or directory'],
    ['--log-config-file=/', 'invalid argument "/" for "--log-config-file" flag: read /: is a directory'],
  ];
  for (const [flag, message] of flagErrors) {
    const r = await cli(['cert', 'list', flag]);
    assert.is(r.code, 4, flag);
    assert.ok(r.stderr.endsWith(`\n\nERROR: ${message}\nFailed running "cert list"\n`), `${flag}:\n${r.stderr}`);
  }
  const base = tmpdir();
  const runErrors: [string[], string][] = [
    [['--log=sinks: {}', '--log-dir=x'], '--log is incompatible with legacy discrete logging flags'],
    [['--logtostderr', '--log-config-file=/dev/null'], '--log is incompatible with legacy discrete logging flags'],
    [['--redactable-logs=false', '--log=x: 1'], '--log is incompatible with legacy discrete logging flags'],
    [['--log-config-vars=cockroach_x'], 'invalid logging configuration: use of cockroach_x is not allowed as a logging configuration variable'],
    [['--log=a: $NOPE', '--log-config-vars=NOPE'], 'unable to expand environment variables: variable "NOPE" is not defined in environment'],
  ];
  for (const [flags, message] of runErrors) {
    const r = await cli(['cert', 'list', `--certs-dir=${base}`, ...flags], { env: { NOPE: undefined } });
    assert.equal(r, { code: 1, stdout: '', stderr: `ERROR: ${message}\nFailed running "cert list"\n` }, flags.join(' '));
  }
  // --logtostderr takes its value only after "=": the next word is an argument.
  const r = await cli(['cert', 'list', `--certs-dir=${base}`, '--logtostderr', 'ERROR']);
  assert.equal(r, { code: 1, stdout: '', stderr: 'ERROR: unknown command "ERROR" for "certgen cert list"\nFailed running "cert list"\n' });
});

logging('--log-file-max-size and --log-group-max-size: byte sizes as cockroach reads them, deprecated as pflag says', async () => {
  const d = dirs();
  const notice = (flag: string, key: string): string => `Flag --${flag} has been deprecated, use --log instead to specify 'file-defaults: {${key}: ...}'\n`;
  let r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '--log-file-max-size=10MiB', '--log-group-max-size', '1,000 kb', '--log-file-max-size=-1.5g']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, notice('log-file-max-size', 'max-file-size') + notice('log-group-max-size', 'max-group-size') + notice('log-file-max-size', 'max-file-size'));
  const bad: [string, string][] = [
    ['10XB', 'unhandled size name: xb'],
    ['', 'parsing "": invalid syntax'],
    ['MiB', 'strconv.ParseFloat: parsing "": invalid syntax'],
    ['1.2.3', 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'],
    ['16EiB', 'too large: 16EiB'],
    ['9EiB', 'too large: 9EiB'],
  ];
  for (const [value, reason] of bad) {
    r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, `--log-group-max-size=${value}`]);
    assert.is(r.code, 4, value);
    // A failed parse prints no deprecation notice (cobra shows pflag's buffer only on success).
    assert.not.match(r.stderr, /deprecated/);
    assert.ok(r.stderr.endsWith(`\n\nERROR: invalid argument ${JSON.stringify(value)} for "--log-group-max-size" flag: ${reason}\nFailed running "cert list"\n`), r.stderr);
  }
  // They are discrete logging flags: not with --log.
  r = await cli(['cert', 'list', `--certs-dir=${d.certsDir}`, '--log-file-max-size=1MiB', '--log=sinks: {}']);
  assert.equal(r, { code: 1, stdout: '', stderr: `${notice('log-file-max-size', 'max-file-size')}ERROR: --log is incompatible with legacy discrete logging flags\nFailed running "cert list"\n` });
  // Hidden, as in cockroach.
  r = await cli(['cert', 'list', '--help']);
  assert.not.match(r.stdout, /max-size/);
});

logging('`cert` alone takes the logging flags and still needs a subcommand', async () => {
  let r = await cli(['cert', '--logtostderr', '-v']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^Usage: certgen cert /);
  assert.ok(r.stderr.endsWith('\nERROR: unknown sub-command: ""\nFailed running "cert"\n'), r.stderr);
  r = await cli(['cert', '--log-dir', 'x', 'foo']);
  assert.ok(r.stderr.endsWith('\nERROR: unknown sub-command: "foo"\nFailed running "cert"\n'), r.stderr);
  r = await cli(['cert', '--logtostderr=loud']);
  assert.is(r.code, 4);
  assert.ok(r.stderr.endsWith('\n\nERROR: invalid argument "loud" for "--logtostderr" flag: strconv.Atoi: parsing "loud": invalid syntax\nFailed running "cert"\n'), r.stderr);
});

logging.run();

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

misc('output piped into `head -1` ends the process as SIGPIPE ends a Go program: no stack trace', async () => {
  const { spawnSync } = await import('node:child_process');
  const d = dirs();
  await createCA({ ...d, keySize: 1024 });
  await createClient({ ...d, keySize: 1024 }, 'u');
  // Rows on stdout and warnings on stderr, each well over a pipe's 64 KiB.
  const crt = readFileSync(path.join(d.certsDir, 'client.u.crt'));
  const key = readFileSync(path.join(d.certsDir, 'client.u.key'));
  for (let i = 0; i < 3000; i++) {
    writeFileSync(path.join(d.certsDir, `client.u${i}.crt`), crt);
    writeFileSync(path.join(d.certsDir, `client.u${i}.key`), key, { mode: 0o600 });
    writeFileSync(path.join(d.certsDir, `bad${i}.crt`), '');
  }
  const certgen = `'${process.execPath}' '${path.join(ROOT, 'bin', 'certgen.cjs')}' cert list --certs-dir='${d.certsDir}'`;
  const other = path.join(d.base, 'other');
  for (const [redirect, first] of [
    [`2>'${other}'`, 'Certificate directory: '],
    [`2>&1 >'${other}'`, 'WARNING: bad filename '],
  ] as const) {
    // The shell reports a death by SIGPIPE as 128+13.
    const r = spawnSync('bash', ['-c', `${certgen} ${redirect} | head -1; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    assert.ok(r.stdout.startsWith(first), r.stdout);
    assert.match(r.stdout, /\nstatus 141\n$/, `${redirect}: ${r.stdout}${r.stderr}`);
    assert.not.match(readFileSync(other, 'utf8'), /EPIPE|internal error|\n\s+at /);
  }
});

misc.run();
