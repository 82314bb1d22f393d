// The ssh edge without a server: argv building, quoting for the remote shell, the remote scripts
// (run under the local /bin/sh against real folders, the installer fed its bytes on stdin as in a
// session, so the quoting and the transfer are proven by a shell, not by string comparison alone),
// parsing their output, turning ssh's stderr into one line, and the process runner.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import {
  describeSshFailure,
  formatArgv,
  HELD_MARKER,
  killRemoteProcesses,
  liveRemoteProcesses,
  openHeldSession,
  parseInstallReport,
  parseLsMode,
  parseProbe,
  remoteInstallScript,
  remoteJoin,
  remoteProbeScript,
  remoteShellPath,
  run,
  shellJoin,
  shellQuote,
  shellQuoteOneLine,
  sshArgv,
  sshCommonOptions,
  sshConfigPath,
  stagingName,
  type IncomingFile,
} from '../../src/io/remote.js';
import type { SshTarget } from '../../src/cluster-spec/spec.js';
import { tmpdir } from '../helpers/index.js';

/** What /bin/sh makes of a command line: its words, one per line (printf-safe). */
async function shWords(cmdline: string): Promise<string[]> {
  const r = await execa('/bin/sh', ['-c', `for w in ${cmdline}; do printf '%s\\0' "$w"; done`], { encoding: 'utf8' });
  return r.stdout.split('\0').slice(0, -1);
}

async function sh(script: string, cwd?: string, input?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('/bin/sh', ['-c', script], { reject: false, encoding: 'utf8', cwd, input: input ?? '', env: { HOME: cwd ?? process.env.HOME ?? '/' } });
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

argv('ssh: batch mode first, no shared connection, spec fields, extra options, then the defaults; -- before the host', () => {
  const t = target({ user: 'ubuntu', port: 2222, identityFile: '/keys/id ed', knownHosts: '/keys/known hosts', options: ['StrictHostKeyChecking=accept-new', 'ProxyJump=bastion'] });
  assert.equal(sshArgv(t, 'true'), [
    'ssh', '-n', '-p', '2222',
    '-o', 'BatchMode=yes',
    '-o', 'ControlPath=none',
    '-o', 'User=ubuntu',
    '-i', '/keys/id ed', '-o', 'IdentitiesOnly=yes',
    '-o', 'UserKnownHostsFile="/keys/known hosts"',
    '-o', 'StrictHostKeyChecking=accept-new', '-o', 'ProxyJump=bastion',
    '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10',
    '--', 'db1.example.com', 'true',
  ]);
});

argv('ssh: minimal target has no user, key or known_hosts options; a command that reads stdin has no -n', () => {
  assert.equal(sshArgv(target(), 'id'), ['ssh', '-n', '-p', '22', '-o', 'BatchMode=yes', '-o', 'ControlPath=none', '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10', '--', 'db1.example.com', 'id']);
  assert.equal(sshArgv(target(), 'cat', { input: true }).slice(0, 3), ['ssh', '-p', '22']);
  assert.equal(sshCommonOptions(target({ identityFile: '/k/50%' })).slice(4, 6), ['-i', '/k/50%%']);
});

argv('formatArgv prints a line a shell turns back into the same argv', async () => {
  const a = sshArgv(target({ dir: "/srv/it's here" }), remoteProbeScript("/srv/it's here", ['ca.crt', "it's.key"]));
  assert.equal(await shWords(formatArgv(a)), a);
});

argv('remote scripts are one line each, so --dry-run prints one line per command (a reload with newlines too)', () => {
  for (const script of [
    remoteProbeScript('/a b', ['ca.crt', 'node.key']),
    remoteProbeScript('/a b', ['ca.crt'], { hold: false }),
    remoteInstallScript('/a b', '.certgen-x', [{ name: 'node.key', mode: 0o600, size: 3, sha256: sha('KEY') }], [{ name: 'ca.crt', mode: 0o644 }], { stale: ['.certgen-old'], reload: 'a\nb\n' }),
    remoteInstallScript('/a b', '.certgen-x', [], [{ name: 'node.key', mode: 0o600 }]),
  ]) {
    assert.not.ok(script.includes('\n'), script);
  }
  assert.is(shellQuoteOneLine('plain'), 'plain');
  assert.is(shellQuoteOneLine("a b\nc'd"), `'a b'"$certgen_nl"'c'\\''d'`);
  assert.throws(() => remoteInstallScript('/a', '.certgen-x', [], [], { stale: ['../etc'] }), /not a staging folder/);
  assert.throws(() => remoteInstallScript('/a', 'x', [], []), /not a staging folder/);
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

/** The files an install sends, with their bytes. */
function incoming(contents: Record<string, string | Buffer>): { files: IncomingFile[]; bytes: Buffer } {
  const files = Object.entries(contents).map(([name, c]) => {
    const b = Buffer.from(c);
    return { name, mode: name.endsWith('.key') ? 0o600 : 0o644, size: b.length, sha256: sha(b) };
  });
  return { files, bytes: Buffer.concat(Object.values(contents).map((c) => Buffer.from(c))) };
}

/** One session as the remote side sees it: the probe as the command, the installer line and bytes on stdin. */
async function session(dir: string, names: string[], stdin: Buffer | string, opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('/bin/sh', ['-c', remoteProbeScript(dir, names)], { input: stdin, reject: false, encoding: 'utf8', cwd: opts.cwd, env: { HOME: opts.cwd ?? process.env.HOME ?? '/', ...opts.env } });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const staged = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.certgen-'));

scripts('probe: missing folder, then files with modes and sums, in a folder with spaces and quotes; it ends when stdin does', async () => {
  const root = tmpdir();
  const dir = path.join(root, "odd dir 'q' $x");
  const names = FILES.map((f) => f.name);
  let r = await sh(remoteProbeScript(dir, names, { hold: false }));
  assert.is(r.code, 0);
  let st = parseProbe(r.stdout, names);
  assert.is(st.dirExists, false);
  assert.equal(st.entries.map((e) => e.type), ['missing', 'missing', 'missing']);

  mkdirSync(dir, { mode: 0o750 });
  chmodSync(dir, 0o750);
  writeFileSync(path.join(dir, 'ca.crt'), 'CA');
  chmodSync(path.join(dir, 'ca.crt'), 0o644);
  writeFileSync(path.join(dir, 'node.key'), 'KEY');
  chmodSync(path.join(dir, 'node.key'), 0o640);
  mkdirSync(path.join(dir, '.certgen-0ld'));
  r = await session(dir, names, '');
  assert.is(r.code, 0);
  assert.match(r.stdout, new RegExp(`\n${HELD_MARKER}$`), 'the marker ends the report (execa strips the last newline)');
  st = parseProbe(r.stdout, names);
  assert.is(st.dirExists, true);
  assert.is(st.dirMode, 0o750);
  assert.is(st.sumsAvailable, true);
  assert.equal(st.stale, ['.certgen-0ld']);
  assert.equal(st.entries, [
    { name: 'ca.crt', type: 'file', mode: 0o644, sha256: sha('CA') },
    { name: 'node.crt', type: 'missing', mode: null, sha256: null },
    { name: 'node.key', type: 'file', mode: 0o640, sha256: sha('KEY') },
  ]);
  // A cut-off line (no newline) is never run.
  r = await session(dir, names, 'touch pwned');
  assert.is(r.code, 0);
  assert.not.ok(existsSync(path.join(dir, 'pwned')));
});

scripts('probe: a relative folder is relative to the home folder, and links/dirs are reported as such', async () => {
  const home = tmpdir();
  mkdirSync(path.join(home, 'my certs'));
  mkdirSync(path.join(home, 'my certs', 'node.crt'));
  symlinkSync('/etc/hostname', path.join(home, 'my certs', 'node.key'));
  const r = await sh(remoteProbeScript('my certs', ['node.crt', 'node.key'], { hold: false }), home);
  const st = parseProbe(r.stdout, ['node.crt', 'node.key']);
  assert.equal(st.entries.map((e) => [e.type, e.sha256]), [['dir', null], ['link', null]]);
});

scripts('install: a 0700 folder, final modes, staged under umask 077, renamed into place, staging removed; a relative folder too', async () => {
  const home = tmpdir();
  const rel = "a b/c'd";
  const dir = path.join(home, rel);
  const { files, bytes } = incoming({ 'ca.crt': 'new ca', 'node.crt': 'new crt', 'node.key': 'new key' });
  const line = remoteInstallScript(rel, stagingName('t0k3n'), files, []);
  // The probe's shell has cd'd into the folder (it exists) before it evals the installer.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'node.crt'), 'old');
  writeFileSync(path.join(dir, 'extra.txt'), 'keep me');
  const r = await session(rel, ['ca.crt', 'node.crt', 'node.key'], Buffer.concat([Buffer.from(`${line}\n`), bytes]), { cwd: home });
  assert.is(r.code, 0, r.stderr);
  const rep = parseInstallReport(r.stdout.slice(r.stdout.indexOf(HELD_MARKER)));
  assert.equal(rep, { done: true, removed: [], installed: ['ca.crt', 'node.crt', 'node.key'], fixed: [], sizeOnly: false, reloadStatus: null, failure: null, reached: 'install' });
  assert.equal(readdirSync(dir).sort(), ['ca.crt', 'extra.txt', 'node.crt', 'node.key']);
  assert.is(readFileSync(path.join(dir, 'node.crt'), 'utf8'), 'new crt');
  assert.is(readFileSync(path.join(dir, 'node.key'), 'utf8'), 'new key');
  assert.is(mode(path.join(dir, 'ca.crt')), 0o644);
  assert.is(mode(path.join(dir, 'node.key')), 0o600);

  // A folder that does not exist yet is made 0700 (with its parents).
  const fresh = path.join(tmpdir(), 'x', 'y');
  const r2 = await sh(remoteInstallScript(fresh, stagingName('a'), files, []), undefined, bytes);
  assert.is(r2.code, 0, r2.stderr);
  assert.is(mode(fresh), 0o700);
  assert.equal(readdirSync(fresh).sort(), ['ca.crt', 'node.crt', 'node.key']);
});

scripts('install: binary files (a DER .pk8) arrive byte for byte', async () => {
  const dir = tmpdir();
  const der = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37) % 256));
  const { files, bytes } = incoming({ 'client.root.crt': 'crt\n', 'client.root.key.pk8': der });
  const r = await sh(remoteInstallScript(dir, stagingName('b'), files, []), undefined, bytes);
  assert.is(r.code, 0, r.stderr);
  assert.ok(readFileSync(path.join(dir, 'client.root.key.pk8')).equals(der));
});

scripts('install: a short transfer, a corrupted file or a directory in the way leaves every live file as it was', async () => {
  const dir = tmpdir();
  for (const f of FILES) writeFileSync(path.join(dir, f.name), `old ${f.name}`, { mode: f.mode });
  const before = FILES.map((f) => readFileSync(path.join(dir, f.name), 'utf8'));
  const { files, bytes } = incoming({ 'ca.crt': 'new ca', 'node.crt': 'new crt', 'node.key': 'new key' });
  const script = remoteInstallScript(dir, stagingName('c'), files, []);
  for (const [input, step, why] of [
    [bytes.subarray(0, 10), 'copy', /^short 10 20$/],
    [Buffer.alloc(0), 'copy', /^short 0 20$/],
    [Buffer.concat([bytes.subarray(0, 15), Buffer.from('X'), bytes.subarray(16)]), 'copy', /^verify node\.key$/],
  ] as const) {
    const r = await sh(script, undefined, input);
    assert.is(r.code, 1);
    const rep = parseInstallReport(r.stdout);
    assert.is(rep.failure?.step, step);
    assert.match(r.stdout.split('certgen:fail ')[1]?.trim() ?? '', why);
    assert.equal(FILES.map((f) => readFileSync(path.join(dir, f.name), 'utf8')), before);
    assert.equal(staged(dir), [], 'no staging folder left');
  }
  rmSync(path.join(dir, 'node.crt'));
  mkdirSync(path.join(dir, 'node.crt'));
  const r = await sh(script, undefined, bytes);
  assert.is(r.code, 1);
  const rep = parseInstallReport(r.stdout);
  assert.equal(rep.installed, ['ca.crt'], 'ca.crt was renamed before node.crt was reached');
  assert.equal(rep.failure, { step: 'install', why: 'cannot rename node.crt into place' });
  assert.is(readFileSync(path.join(dir, 'node.key'), 'utf8'), 'old node.key');
  assert.equal(staged(dir), []);
});

scripts('install: chmod-only files are fixed in place; leftovers of a killed run are removed', async () => {
  const dir = tmpdir();
  writeFileSync(path.join(dir, 'node.key'), 'same key');
  chmodSync(path.join(dir, 'node.key'), 0o644);
  const ino = statSync(path.join(dir, 'node.key')).ino;
  mkdirSync(path.join(dir, '.certgen-dead1'));
  writeFileSync(path.join(dir, '.certgen-dead1', '.in'), 'partial key');
  const r = await sh(remoteInstallScript(dir, stagingName('d'), [], [{ name: 'node.key', mode: 0o600 }], { stale: ['.certgen-dead1'], reload: 'touch reloaded' }));
  assert.is(r.code, 0, r.stderr);
  assert.equal(parseInstallReport(r.stdout), { done: true, removed: ['.certgen-dead1'], installed: [], fixed: ['node.key'], sizeOnly: false, reloadStatus: null, failure: null, reached: 'copy' });
  assert.is(mode(path.join(dir, 'node.key')), 0o600);
  assert.is(statSync(path.join(dir, 'node.key')).ino, ino);
  assert.equal(readdirSync(dir), ['node.key'], 'no reload without a copy; the leftover is gone');
});

scripts('install: reload runs after the renames with the user umask, globbing, stdin from /dev/null and its output on stderr', async () => {
  const dir = tmpdir();
  writeFileSync(path.join(dir, 'g1.txt'), '');
  const { files, bytes } = incoming({ 'node.crt': 'crt' });
  const reload = 'printf "%s\\n" g*.txt > globbed; umask > umask.txt; cat > stdin.txt; echo to-stdout\n# a comment line\necho second line >&2; exit 0';
  const r = await sh(remoteInstallScript(dir, stagingName('e'), files, [], { reload }), undefined, bytes);
  assert.is(r.code, 0, r.stderr);
  const rep = parseInstallReport(r.stdout);
  assert.is(rep.reloadStatus, 0);
  assert.not.match(r.stdout, /to-stdout/);
  assert.match(r.stderr, /to-stdout\nsecond line/);
  assert.is(readFileSync(path.join(dir, 'globbed'), 'utf8'), 'g1.txt\n');
  assert.is(readFileSync(path.join(dir, 'umask.txt'), 'utf8').trim(), (await execa('/bin/sh', ['-c', 'umask'])).stdout.trim());
  assert.is(readFileSync(path.join(dir, 'stdin.txt'), 'utf8'), '');
  const failing = await sh(remoteInstallScript(dir, stagingName('f'), incoming({ 'node.crt': 'crt2' }).files, [], { reload: 'echo no cockroach >&2; exit 3' }), undefined, Buffer.from('crt2'));
  assert.is(failing.code, 0);
  assert.equal([parseInstallReport(failing.stdout).reloadStatus, parseInstallReport(failing.stdout).done], [3, true]);
});

scripts('install: without sha256sum, shasum or openssl the files are checked by size', async () => {
  const dir = tmpdir();
  const bin = tmpdir();
  for (const tool of ['mkdir', 'cat', 'wc', 'tail', 'head', 'chmod', 'mv', 'rm']) symlinkSync((await execa('/bin/sh', ['-c', `command -v ${tool}`])).stdout.trim(), path.join(bin, tool));
  const { files, bytes } = incoming({ 'node.key': 'k' });
  const r = await execa('/bin/sh', ['-c', remoteInstallScript(dir, stagingName('g'), files, [])], { input: bytes, reject: false, encoding: 'utf8', env: { PATH: bin } });
  assert.is(r.exitCode, 0, r.stderr);
  assert.equal(parseInstallReport(r.stdout).sizeOnly, true);
  assert.is(readFileSync(path.join(dir, 'node.key'), 'utf8'), 'k');
});

scripts('install: a folder that cannot be made is a mkdir failure', async () => {
  const root = tmpdir();
  writeFileSync(path.join(root, 'file'), 'x');
  const r = await sh(remoteInstallScript(path.join(root, 'file', 'sub'), stagingName('h'), incoming({ 'a.crt': 'a' }).files, []), undefined, Buffer.from('a'));
  assert.is(r.code, 1);
  assert.equal(parseInstallReport(r.stdout).failure, { step: 'mkdir', why: 'cannot create the remote folder' });
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

parsing('parseProbe reads shasum and openssl output too, notices no checksum tool, keeps only staging names', () => {
  const names = ['ca.crt', 'node.key'];
  const a = 'a'.repeat(64);
  const b = 'B'.repeat(64);
  let st = parseProbe(`D drwx------ 2\nF0 -rw-r--r-- 1\nF1 -rw------- 1\nS .certgen-ab\nS .certgen-*\nS .certgen-x/../y\n${a} *./ca.crt\n${b} *./node.key\n`, names);
  assert.equal(st.entries.map((e) => e.sha256), [a, b.toLowerCase()]);
  assert.equal(st.stale, ['.certgen-ab']);
  st = parseProbe(`D drwx------ 2\nF0 -rw-r--r-- 1\nF1 \ncertgen:nosum\n`, names);
  assert.is(st.sumsAvailable, false);
  assert.equal(st.entries.map((e) => e.type), ['file', 'missing']);
  assert.equal(st.entries.map((e) => e.sha256), [null, null]);
});

parsing('parseInstallReport: the step reached, and each failure in words', () => {
  assert.equal(parseInstallReport('certgen:installed ca.crt\n').reached, 'install');
  assert.equal(parseInstallReport('').reached, 'copy');
  assert.equal(parseInstallReport('certgen:fail short 7 20\n').failure, { step: 'copy', why: 'the transfer was cut short (7 of 20 bytes arrived)' });
  assert.equal(parseInstallReport('certgen:fail verify node.key\n').failure, { step: 'copy', why: 'node.key arrived with a different SHA-256' });
  assert.equal(parseInstallReport('certgen:fail cleanup\n').failure?.step, 'mkdir');
  assert.equal(parseInstallReport('certgen:fail staging\n').failure, { step: 'copy', why: 'cannot create the staging folder in the remote folder' });
  assert.equal(parseInstallReport('certgen:fail fix node.key\n').failure, { step: 'install', why: 'cannot set the mode of node.key' });
  assert.equal(parseInstallReport('certgen:reloaded 3\ncertgen:done\n').reloadStatus, 3);
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
  assert.is(
    fail(changed),
    "host key verification failed: the key of 10.0.0.5:22 differs from the one in known_hosts, so nothing was sent; if the host was reinstalled, check its new key's fingerprint out of band, remove the old one (ssh-keygen -R 10.0.0.5), add the new one and run again",
  );
  // With the line ssh names: the file to fix, quoted for a shell.
  const named = `${changed}Offending ED25519 key in /home/ops/known hosts:3\n  remove with:\n`;
  assert.is(
    describeSshFailure({ stderr: named, exitCode: 255, timedOut: false }, { host: '127.0.0.1', port: 2222 }),
    "host key verification failed: the key of 127.0.0.1:2222 differs from the one in /home/ops/known hosts:3, so nothing was sent; if the host was reinstalled, check its new key's fingerprint out of band, remove the old one (ssh-keygen -f '/home/ops/known hosts' -R '[127.0.0.1]:2222'), add the new one and run again",
  );
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
const running = suite('run and held sessions');

running('run passes every argv element through unchanged (no shell), feeds stdin, never throws', async () => {
  const word = "a 'b' $HOME `x` \\ \n; rm -rf /nonexistent";
  let r = await run(['printf', '%s', word]);
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, word);
  r = await run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal([r.exitCode, r.stdout, r.stderr, r.timedOut], [3, 'out\n', 'err\n', false]);
  r = await run(['wc', '-c'], { input: Buffer.alloc(100_000) });
  assert.is(r.stdout.trim(), '100000');
  r = await run(['/nonexistent/program']);
  assert.is(r.exitCode, 127);
  assert.match(r.stderr, /ENOENT/);
});

running('run kills a command that runs past its timeout', async () => {
  const r = await run(['sleep', '5'], { timeoutMs: 200 });
  assert.is(r.timedOut, true);
  assert.is(r.exitCode, null);
  assert.ok(r.durationMs < 4000);
  assert.is(describeSshFailure(r, { host: 'h', port: 22 }), 'timed out');
});

running('a held session reports, then either ends when stdin closes or runs what it is sent', async () => {
  const dir = tmpdir();
  const names = ['node.key'];
  let s = openHeldSession(['/bin/sh', '-c', remoteProbeScript(dir, names)]);
  let rep = await s.report;
  assert.is(rep.held, true);
  assert.equal(parseProbe(rep.stdout, names).entries[0]?.type, 'missing');
  assert.is(liveRemoteProcesses() >= 1, true);
  await s.close();
  assert.is(liveRemoteProcesses(), 0);

  s = openHeldSession(['/bin/sh', '-c', remoteProbeScript(dir, names)]);
  rep = await s.report;
  const { files, bytes } = incoming({ 'node.key': 'secret' });
  const res = await s.send(Buffer.concat([Buffer.from(`${remoteInstallScript(dir, stagingName('s1'), files, [])}\n`), bytes]));
  assert.is(res.exitCode, 0, res.stderr);
  assert.equal(parseInstallReport(res.stdout).installed, ['node.key']);
  assert.not.match(res.stdout, /node\.key\t|D |F0 /, 'only what came after the report');
  await s.close();
  assert.is(readFileSync(path.join(dir, 'node.key'), 'utf8'), 'secret');

  // A session that ends before its report is not held; one that hangs is killed at the timeout.
  rep = await openHeldSession(['/bin/sh', '-c', 'echo nope; exit 5']).report;
  assert.equal([rep.held, rep.exitCode, rep.stdout], [false, 5, 'nope\n']);
  const hung = openHeldSession(['sleep', '5'], { timeoutMs: 200 });
  rep = await hung.report;
  assert.equal([rep.held, rep.timedOut], [false, true]);
  await hung.close();
});

running('killRemoteProcesses stops every process still running, at once', async () => {
  const a = openHeldSession(['sleep', '30']);
  const b = run(['sleep', '30']);
  await new Promise((r) => setTimeout(r, 100));
  assert.is(killRemoteProcesses(), 2);
  assert.is((await b).exitCode, null);
  assert.is((await a.report).held, false);
  assert.is(liveRemoteProcesses(), 0);
});

quoting.run();
argv.run();
scripts.run();
parsing.run();
failures.run();
running.run();
