// The ssh/scp edge without a server: argv building, quoting for the remote shell, the remote
// scripts (run under the local /bin/sh against real folders, so the quoting is proven by a shell,
// not by string comparison alone), parsing their output and turning ssh's stderr into one line.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import {
  describeSshFailure,
  formatArgv,
  parseLsMode,
  parseRemoteCheck,
  remoteCheckScript,
  remoteCleanupScript,
  remoteFixModesScript,
  remoteInstallScript,
  remoteJoin,
  remoteMkdirScript,
  remoteShellPath,
  run,
  scpArgv,
  scpPathModeFor,
  shellJoin,
  shellQuote,
  sshArgv,
  sshCommonOptions,
  sshConfigPath,
  stagingName,
} from '../../src/io/remote.js';
import type { SshTarget } from '../../src/cluster-spec/spec.js';
import { tmpdir } from '../helpers/index.js';

/** What /bin/sh makes of a command line: its words, one per line (printf-safe). */
async function shWords(cmdline: string): Promise<string[]> {
  const r = await execa('/bin/sh', ['-c', `for w in ${cmdline}; do printf '%s\\0' "$w"; done`], { encoding: 'utf8' });
  return r.stdout.split('\0').slice(0, -1);
}

async function sh(script: string, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('/bin/sh', ['-c', script], { reject: false, encoding: 'utf8', cwd, env: { HOME: cwd ?? process.env.HOME ?? '/' } });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const mode = (p: string): number => statSync(p).mode & 0o7777;

const target = (over: Partial<SshTarget> = {}): SshTarget => ({ host: 'db1.example.com', port: 22, dir: '/var/lib/cockroach/certs', options: [], ...over });

// ---------------------------------------------------------------------------------------------
const quoting = suite('shellQuote');

quoting('leaves safe words alone and single-quotes the rest', () => {
  assert.is(shellQuote('node.key'), 'node.key');
  assert.is(shellQuote('/var/lib/cockroach-certs/ca.crt'), '/var/lib/cockroach-certs/ca.crt');
  assert.is(shellQuote(''), "''");
  assert.is(shellQuote('a b'), "'a b'");
  assert.is(shellQuote("it's"), "'it'\\''s'");
  assert.is(shellQuote('$HOME'), "'$HOME'");
  assert.is(shellQuote('~/x'), "'~/x'");
  assert.throws(() => shellQuote('a\0b'), /NUL/);
});

quoting('every nasty word survives a real /bin/sh unchanged', async () => {
  const words = ['plain', 'two words', "quote'in'side", '"double"', '$(touch /tmp/pwned)', '`id`', 'back\\slash', 'new\nline', 'tab\there', '*', '?', '[a]', '~', '~root', '-n', '--', ';', '&&', '|', '>x', '!', '#hash', 'ünïcødé', "''", '%s', ''];
  const got = await shWords(shellJoin(words));
  assert.equal(got, words);
  assert.not.ok(existsSync('/tmp/pwned'));
});

quoting('remoteShellPath keeps a leading ~ expandable and quotes the rest', async () => {
  assert.is(remoteShellPath('~'), '~');
  assert.is(remoteShellPath('~/'), '~/');
  assert.is(remoteShellPath('~/certs'), '~/certs');
  assert.is(remoteShellPath('~/my certs'), "~/'my certs'");
  assert.is(remoteShellPath('~cockroach/certs dir'), "~cockroach/'certs dir'");
  assert.is(remoteShellPath('/srv/a b'), "'/srv/a b'");
  assert.is(remoteShellPath('certs/~x'), "'certs/~x'");
  const home = tmpdir();
  const r = await execa('/bin/sh', ['-c', `printf '%s' ${remoteShellPath("~/my 'certs' $dir")}`], { env: { HOME: home }, encoding: 'utf8' });
  assert.is(r.stdout, `${home}/my 'certs' $dir`);
});

quoting('remoteJoin and sshConfigPath', () => {
  assert.is(remoteJoin('/a/b/', 'ca.crt'), '/a/b/ca.crt');
  assert.is(remoteJoin('certs', 'ca.crt'), 'certs/ca.crt');
  assert.is(remoteJoin('/', 'ca.crt'), '/ca.crt');
  assert.is(sshConfigPath('/home/me/.ssh/known_hosts'), '/home/me/.ssh/known_hosts');
  assert.is(sshConfigPath('/home/me/my keys/known_hosts'), '"/home/me/my keys/known_hosts"');
  assert.is(sshConfigPath('/x/100%/kh'), '/x/100%%/kh');
  assert.is(sshConfigPath('/x/a "b"'), '"/x/a \\"b\\""');
});

// ---------------------------------------------------------------------------------------------
const argv = suite('argv');

argv('ssh: batch mode first, spec fields, extra options, then the defaults; -- before the host', () => {
  const t = target({ user: 'ubuntu', port: 2222, identityFile: '/keys/id ed', knownHosts: '/keys/known hosts', options: ['StrictHostKeyChecking=accept-new', 'ProxyJump=bastion'] });
  assert.equal(sshArgv(t, 'true'), [
    'ssh', '-n', '-p', '2222',
    '-o', 'BatchMode=yes',
    '-o', 'User=ubuntu',
    '-i', '/keys/id ed', '-o', 'IdentitiesOnly=yes',
    '-o', 'UserKnownHostsFile="/keys/known hosts"',
    '-o', 'StrictHostKeyChecking=accept-new', '-o', 'ProxyJump=bastion',
    '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10',
    '--', 'db1.example.com', 'true',
  ]);
});

argv('ssh: minimal target has no user, key or known_hosts options', () => {
  assert.equal(sshArgv(target(), 'id'), ['ssh', '-n', '-p', '22', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10', '--', 'db1.example.com', 'id']);
  assert.equal(sshCommonOptions(target({ identityFile: '/k/50%' })).slice(2, 4), ['-i', '/k/50%%']);
});

argv('scp: -P for the port, absolute sources after --, a host:dir/ operand', () => {
  const t = target({ user: 'crdb', port: 2200 });
  const a = scpArgv(t, ['/certs/nodes/n1/ca.crt', '/certs/nodes/n1/node.key'], '/data/my certs/.certgen-ab12', 'sftp');
  assert.equal(a.slice(0, 4), ['scp', '-q', '-P', '2200']);
  assert.ok(a.includes('User=crdb'));
  assert.not.ok(a.includes('-p'), 'scp -p would mean preserve times');
  assert.equal(a.slice(-4), ['--', '/certs/nodes/n1/ca.crt', '/certs/nodes/n1/node.key', 'db1.example.com:/data/my certs/.certgen-ab12/']);
  // Legacy scp hands the path to the remote shell: it must be quoted there.
  const legacy = scpArgv(t, ['/c/ca.crt'], '/data/my certs/.certgen-ab12', 'legacy');
  assert.is(legacy[legacy.length - 1], "db1.example.com:'/data/my certs/.certgen-ab12/'");
  assert.is(scpArgv(target({ host: 'fd00::1' }), ['/c/x'], 'certs', 'sftp').at(-1), '[fd00::1]:certs/');
  assert.throws(() => scpArgv(t, ['relative/ca.crt'], '/d', 'sftp'), /absolute/);
});

argv('scp path mode follows the local OpenSSH version', () => {
  assert.is(scpPathModeFor('OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024'), 'sftp');
  assert.is(scpPathModeFor('OpenSSH_10.0p2'), 'sftp');
  assert.is(scpPathModeFor('OpenSSH_8.9p1 Ubuntu-3ubuntu0.10, OpenSSL 3.0.2'), 'legacy');
  assert.is(scpPathModeFor('OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2'), 'legacy');
  assert.is(scpPathModeFor('something else'), 'legacy');
});

argv('formatArgv prints a line a shell turns back into the same argv', async () => {
  const a = sshArgv(target({ dir: "/srv/it's here" }), remoteMkdirScript("/srv/it's here", stagingName('abc')));
  assert.equal(await shWords(formatArgv(a)), a);
});

argv('remote scripts are one line each, so --dry-run prints one line per command', () => {
  for (const script of [
    remoteCheckScript('/a b', ['ca.crt', 'node.key']),
    remoteMkdirScript('/a b', '.certgen-x'),
    remoteInstallScript('/a b', '.certgen-x', [{ name: 'node.key', mode: 0o600 }], [{ name: 'ca.crt', mode: 0o644 }]),
    remoteCleanupScript('/a b', '.certgen-x', ['node.key']),
    remoteFixModesScript('/a b', [{ name: 'node.key', mode: 0o600 }]),
  ]) {
    assert.not.ok(script.includes('\n'), script);
  }
});

argv('stagingName accepts only plain tokens', () => {
  assert.is(stagingName('a1B2'), '.certgen-a1B2');
  assert.throws(() => stagingName('../x'));
  assert.throws(() => stagingName(''));
});

// ---------------------------------------------------------------------------------------------
const scripts = suite('remote scripts under /bin/sh');

const FILES = [
  { name: 'ca.crt', mode: 0o644 },
  { name: 'node.crt', mode: 0o644 },
  { name: 'node.key', mode: 0o600 },
];

scripts('check: missing folder, then files with modes and sums, in a folder with spaces and quotes', async () => {
  const root = tmpdir();
  const dir = path.join(root, "odd dir 'q' $x");
  const names = FILES.map((f) => f.name);
  let r = await sh(remoteCheckScript(dir, names));
  assert.is(r.code, 0);
  let st = parseRemoteCheck(r.stdout, names);
  assert.is(st.dirExists, false);
  assert.equal(st.entries.map((e) => e.type), ['missing', 'missing', 'missing']);

  mkdirSync(dir, { mode: 0o750 });
  chmodSync(dir, 0o750);
  writeFileSync(path.join(dir, 'ca.crt'), 'CA');
  chmodSync(path.join(dir, 'ca.crt'), 0o644);
  writeFileSync(path.join(dir, 'node.key'), 'KEY');
  chmodSync(path.join(dir, 'node.key'), 0o640);
  r = await sh(remoteCheckScript(dir, names));
  assert.is(r.code, 0);
  st = parseRemoteCheck(r.stdout, names);
  assert.is(st.dirExists, true);
  assert.is(st.dirMode, 0o750);
  assert.is(st.sumsAvailable, true);
  assert.equal(st.entries, [
    { name: 'ca.crt', type: 'file', mode: 0o644, sha256: sha('CA') },
    { name: 'node.crt', type: 'missing', mode: null, sha256: null },
    { name: 'node.key', type: 'file', mode: 0o640, sha256: sha('KEY') },
  ]);
});

scripts('check: a relative folder is relative to the home folder, and links/dirs are reported as such', async () => {
  const home = tmpdir();
  mkdirSync(path.join(home, 'my certs'));
  mkdirSync(path.join(home, 'my certs', 'node.crt'));
  symlinkSync('/etc/hostname', path.join(home, 'my certs', 'node.key'));
  const r = await sh(remoteCheckScript('my certs', ['node.crt', 'node.key']), home);
  const st = parseRemoteCheck(r.stdout, ['node.crt', 'node.key']);
  assert.equal(st.entries.map((e) => [e.type, e.sha256]), [['dir', null], ['link', null]]);
});

scripts('mkdir + install: 0700 folder, final modes, atomic move, staging folder removed', async () => {
  const root = tmpdir();
  const dir = path.join(root, 'a b', "c'd");
  const staging = stagingName('t0k3n');
  let r = await sh(remoteMkdirScript(dir, staging));
  assert.is(r.code, 0, r.stderr);
  assert.is(mode(dir), 0o700);
  assert.is(mode(path.join(dir, staging)), 0o700);
  for (const f of FILES) writeFileSync(path.join(dir, staging, f.name), `new ${f.name}`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'node.crt'), 'old');
  writeFileSync(path.join(dir, 'extra.txt'), 'keep me');
  r = await sh(remoteInstallScript(dir, staging, FILES));
  assert.is(r.code, 0, r.stderr);
  assert.equal(readdirSync(dir).sort(), ['ca.crt', 'extra.txt', 'node.crt', 'node.key']);
  assert.is(readFileSync(path.join(dir, 'node.crt'), 'utf8'), 'new node.crt');
  assert.is(mode(path.join(dir, 'ca.crt')), 0o644);
  assert.is(mode(path.join(dir, 'node.crt')), 0o644);
  assert.is(mode(path.join(dir, 'node.key')), 0o600);
});

scripts('install: chmod-only files are fixed without being replaced', async () => {
  const dir = tmpdir();
  const staging = stagingName('x');
  mkdirSync(path.join(dir, staging));
  writeFileSync(path.join(dir, staging, 'node.crt'), 'new');
  writeFileSync(path.join(dir, 'node.key'), 'same key', { mode: 0o644 });
  chmodSync(path.join(dir, 'node.key'), 0o644);
  const r = await sh(remoteInstallScript(dir, staging, [{ name: 'node.crt', mode: 0o644 }], [{ name: 'node.key', mode: 0o600 }]));
  assert.is(r.code, 0, r.stderr);
  assert.is(mode(path.join(dir, 'node.key')), 0o600);
  assert.is(readFileSync(path.join(dir, 'node.key'), 'utf8'), 'same key');
  assert.not.ok(existsSync(path.join(dir, staging)));
});

scripts('install: a failure leaves no staged file behind and exits non-zero', async () => {
  const dir = tmpdir();
  const staging = stagingName('y');
  mkdirSync(path.join(dir, staging));
  writeFileSync(path.join(dir, staging, 'ca.crt'), 'x');
  // node.key was never uploaded: its chmod fails.
  const r = await sh(remoteInstallScript(dir, staging, [{ name: 'ca.crt', mode: 0o644 }, { name: 'node.key', mode: 0o600 }]));
  assert.is.not(r.code, 0);
  assert.not.ok(existsSync(path.join(dir, staging)));
  assert.not.ok(existsSync(path.join(dir, 'ca.crt')), 'nothing was moved into place');
});

scripts('cleanup and fix-modes', async () => {
  const dir = tmpdir();
  const staging = stagingName('z');
  mkdirSync(path.join(dir, staging));
  writeFileSync(path.join(dir, staging, 'node.key'), 'x');
  let r = await sh(remoteCleanupScript(dir, staging, ['node.key', 'ca.crt']));
  assert.is(r.code, 0);
  assert.not.ok(existsSync(path.join(dir, staging)));
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, 'node.key'), 'k');
  chmodSync(path.join(dir, 'node.key'), 0o666);
  r = await sh(remoteFixModesScript(dir, [{ name: 'node.key', mode: 0o600 }]));
  assert.is(r.code, 0, r.stderr);
  assert.is(mode(dir), 0o755, 'an existing folder keeps the mode its operator chose');
  assert.is(mode(path.join(dir, 'node.key')), 0o600);
});

// ---------------------------------------------------------------------------------------------
const parsing = suite('parsing');

parsing('parseLsMode', () => {
  assert.equal(parseLsMode('-rw------- 1 0 0 1675 Jan  1 00:00 node.key'), { type: 'file', mode: 0o600 });
  assert.equal(parseLsMode('-rw-r--r--. 1 0 0 1 x'), { type: 'file', mode: 0o644 });
  assert.equal(parseLsMode('drwx------+ 2 0 0 4096 x'), { type: 'dir', mode: 0o700 });
  assert.equal(parseLsMode('lrwxrwxrwx 1 0 0 4 x -> y'), { type: 'link', mode: 0o777 });
  assert.equal(parseLsMode('-rwsr-S--T 1'), { type: 'file', mode: 0o4000 | 0o2000 | 0o1000 | 0o740 });
  assert.equal(parseLsMode('prw-r--r-- 1'), { type: 'other', mode: 0o644 });
  assert.is(parseLsMode(''), undefined);
  assert.is(parseLsMode('total 8'), undefined);
});

parsing('parseRemoteCheck reads shasum and openssl output too, and notices no checksum tool', () => {
  const names = ['ca.crt', 'node.key'];
  const a = 'a'.repeat(64);
  const b = 'B'.repeat(64);
  let st = parseRemoteCheck(`D drwx------ 2\nF0 -rw-r--r-- 1\nF1 -rw------- 1\n${a} *./ca.crt\n${b} *./node.key\n`, names);
  assert.equal(st.entries.map((e) => e.sha256), [a, b.toLowerCase()]);
  st = parseRemoteCheck(`D drwx------ 2\nF0 -rw-r--r-- 1\nF1 \ncertgen:nosum\n`, names);
  assert.is(st.sumsAvailable, false);
  assert.equal(st.entries.map((e) => e.type), ['file', 'missing']);
  assert.equal(st.entries.map((e) => e.sha256), [null, null]);
});

// ---------------------------------------------------------------------------------------------
const failures = suite('describeSshFailure');

const t22 = { host: '10.0.0.5', port: 22 };
const fail = (stderr: string, exitCode: number | null = 255, timedOut = false): string => describeSshFailure({ stderr, exitCode, timedOut }, t22);

failures('connection errors become one plain line', () => {
  assert.is(fail('ssh: connect to host 127.0.0.1 port 2222: Connection refused\r\n'), 'connection refused on 127.0.0.1:2222');
  assert.is(fail('ssh: connect to host 10.0.0.5 port 22: Connection timed out\n'), 'connection timed out on 10.0.0.5:22');
  assert.is(fail('ssh: connect to host 10.0.0.5 port 22: No route to host\n'), 'cannot connect to 10.0.0.5:22: no route to host');
  assert.is(fail('ssh: Could not resolve hostname nowhere.invalid: Name or service not known\n'), 'could not resolve hostname nowhere.invalid');
  assert.is(fail('kex_exchange_identification: Connection closed by remote host\nConnection closed by 10.0.0.5 port 22\n'), 'connection closed by 10.0.0.5:22 before authentication (Connection closed by 10.0.0.5 port 22)');
  assert.is(fail('', null, true), 'timed out');
});

failures('host keys and authentication', () => {
  const changed = `@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.
Host key verification failed.
`;
  assert.is(fail(changed), 'host key verification failed: the key of 10.0.0.5:22 differs from the one in known_hosts');
  assert.is(fail('No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n'), 'host key verification failed: no ED25519 host key is known for [127.0.0.1]:2222');
  assert.is(fail('Host key verification failed.\n'), 'host key verification failed');
  assert.is(fail('root@127.0.0.1: Permission denied (publickey).\r\n'), 'permission denied (publickey)');
  assert.is(fail('Load key "/k/id": Permission denied\r\nroot@h: Permission denied (publickey).\n'), 'permission denied (publickey)');
  assert.is(fail('Warning: Identity file /nope not accessible: No such file or directory.\nroot@h: Permission denied (publickey,password).\n'), 'permission denied (publickey,password)');
});

failures('remote command and scp failures keep their last line', () => {
  assert.is(fail("mkdir: cannot create directory '/root/x': Permission denied\n", 1), "remote command failed (exit status 1): mkdir: cannot create directory '/root/x': Permission denied");
  assert.is(fail('', 3), 'remote command failed (exit status 3)');
  assert.is(fail('scp: dest open "/x/.certgen-1/": Failure\nscp: failed to upload file /c/ca.crt to /x/.certgen-1/\n', 1), 'remote command failed (exit status 1): failed to upload file /c/ca.crt to /x/.certgen-1/');
  assert.is(fail('', 255), 'ssh failed to reach 10.0.0.5:22');
});

// ---------------------------------------------------------------------------------------------
const running = suite('run (zx)');

running('passes every argv element through unchanged and never throws', async () => {
  const word = "a 'b' $HOME `x` \\ \n; rm -rf /nonexistent";
  let r = await run(['printf', '%s', word]);
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, word);
  r = await run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal([r.exitCode, r.stdout, r.stderr, r.timedOut], [3, 'out\n', 'err\n', false]);
});

running('kills a command that runs past its timeout', async () => {
  const r = await run(['sleep', '5'], { timeoutMs: 200 });
  assert.is(r.timedOut, true);
  assert.is(r.exitCode, null);
  assert.ok(r.durationMs < 4000);
  assert.is(describeSshFailure(r, { host: 'h', port: 22 }), 'timed out');
});

quoting.run();
argv.run();
scripts.run();
parsing.run();
failures.run();
running.run();
