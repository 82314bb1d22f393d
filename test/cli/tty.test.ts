// Colour and progress on a terminal (src/cli/tty.ts, src/core/style.ts). The decision rules and the
// progress line are checked directly; then the built CLI runs under a real pseudo-terminal
// (util-linux `script`) and through a pipe, against a real sshd on 127.0.0.1: on the terminal
// `apply` shows keys generated n/N, `distribute` and `status` show hosts done n/N with the slowest
// still running, and their tables are coloured; through a pipe none of it appears; NO_COLOR
// removes the colour (not the progress), FORCE_COLOR adds colour even to a pipe (never progress).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { colourEnabled, hostsDone, progress } from '../../src/cli/tty.js';
import { ansiStyle, plainStyle, styleLastColumn } from '../../src/core/style.js';
import { startSshd, type SshServer } from '../helpers/sshd.js';
import { ROOT, tmpdir, setup } from '../helpers/index.js';

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/;
// eslint-disable-next-line no-control-regex
const ERASE = /\r\x1b\[K/;

const rules = suite('colour and progress rules');

rules('colourEnabled: a terminal, unless NO_COLOR (non-empty) or TERM=dumb; FORCE_COLOR wins either way', () => {
  const on = (env: NodeJS.ProcessEnv, tty: boolean): boolean => colourEnabled({ env, stdoutIsTTY: tty });
  assert.is(on({}, true), true);
  assert.is(on({}, false), false);
  assert.is(on({ NO_COLOR: '1' }, true), false);
  assert.is(on({ NO_COLOR: '' }, true), true, 'an empty NO_COLOR is unset (no-color.org)');
  assert.is(on({ TERM: 'dumb' }, true), false);
  assert.is(on({ FORCE_COLOR: '1' }, false), true);
  assert.is(on({ FORCE_COLOR: '' }, false), true);
  assert.is(on({ FORCE_COLOR: '1', NO_COLOR: '1' }, false), true);
  assert.is(on({ FORCE_COLOR: '0' }, true), false);
  assert.is(on({ FORCE_COLOR: 'false' }, true), false);
});

rules('styleLastColumn colours only each row\'s last cell; the plain style changes nothing', () => {
  const table = '  Target | Status\n---------+-----------\n  a      | in sync\n  b      | DRIFT\n(2 rows)\n';
  assert.is(styleLastColumn(table, ['in sync', 'DRIFT'], ['ok', 'change'], plainStyle), table);
  const out = styleLastColumn(table, ['in sync', 'DRIFT'], ['ok', 'change'], ansiStyle);
  assert.is(out, '  Target | Status\n---------+-----------\n  a      | \x1b[32min sync\x1b[39m\n  b      | \x1b[33mDRIFT\x1b[39m\n(2 rows)\n');
});

rules('progress: redrawn in place with the slowest running item, erased at the end; nothing on stdout off a terminal', () => {
  let t = 1000;
  let out = '';
  let err = '';
  const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s), stdoutIsTTY: true, env: {} };
  const p = progress(io, hostsDone, 3, { now: () => t, columns: 200 });
  p.start('node a');
  t += 500;
  p.start('node b');
  t += 1500;
  p.finish('node b');
  p.log('node b: up to date');
  p.end();
  assert.ok(out.includes('\r\x1b[Khosts 1/3 done · slowest running: node a, 2.0s'), JSON.stringify(out));
  assert.ok(out.endsWith('\r\x1b[K'), 'erased at the end');
  assert.is(err, 'node b: up to date\n');
  let piped = '';
  let pipedErr = '';
  const q = progress({ ...io, stdout: (s) => (piped += s), stderr: (s) => (pipedErr += s), stdoutIsTTY: false }, hostsDone, 3);
  q.start('x');
  q.finish('x');
  q.log('x: done');
  q.end();
  assert.is(piped, '');
  assert.is(pipedErr, 'x: done\n');
});

rules.run();

// ---------------------------------------------------------------------------------------------
const pty = suite('the CLI on a pseudo-terminal and through a pipe');
let sshd: SshServer | undefined;
let dir = '';
let file = '';
setup(pty, async () => {
  sshd = await startSshd();
  dir = tmpdir();
  file = path.join(dir, 'cluster-certs.yaml');
  const s = sshd;
  const node = (name: string): object => ({ name, hosts: ['localhost'], ssh: { host: s.host, port: s.port, user: s.user, dir: path.join(dir, 'remote', name), identityFile: s.identityFile, knownHosts: s.knownHosts } });
  writeFileSync(file, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keySize: 1024 }, defaults: { keySize: 1024 }, nodes: [node('n1'), node('n2'), node('n3')] }));
});
pty.after(async () => {
  await sshd?.stop();
});

const CLI = path.join(ROOT, 'dist', 'cli.js');
const baseEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm', ...extra };
  for (const k of ['NO_COLOR', 'FORCE_COLOR']) if (!(k in extra)) delete env[k];
  return env;
};

/** The CLI with stdout and stderr on a pseudo-terminal: what a terminal shows, byte for byte. */
async function onTty(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = await execa('script', ['-qec', cmd, '/dev/null'], { reject: false, env: baseEnv(extra), extendEnv: false, cwd: dir, stdin: 'ignore' });
  return { code: r.exitCode ?? -1, out: r.stdout };
}

async function piped(args: string[], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, env: baseEnv(extra), extendEnv: false, cwd: dir });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

pty('apply: keys generated n/N on a terminal, nothing extra through a pipe', async () => {
  if (sshd === undefined) throw new Error('the server did not start');
  const t = await onTty(['apply', file]);
  assert.is(t.code, 0, t.out);
  assert.match(t.out, /\r\x1b\[Kkeys generated \d\/4/, 'progress of the 4 keys (the CA and 3 nodes)');
  assert.match(t.out, /keys generated 4\/4/);
  // a fresh tree for the pipe: apply again after removing it
  await execa('rm', ['-rf', path.join(dir, 'certs'), path.join(dir, 'secrets')]);
  const p = await piped(['apply', file]);
  assert.is(p.code, 0, p.stderr);
  assert.not.match(p.stdout + p.stderr, /keys generated/);
  assert.not.match(p.stdout + p.stderr, ERASE);
  assert.not.match(p.stdout + p.stderr, SGR);
});

pty('distribute and status: hosts done n/N with the slowest running, coloured tables; NO_COLOR and FORCE_COLOR', async () => {
  if (sshd === undefined) throw new Error('the server did not start');
  const d = await onTty(['distribute', file, '--concurrency', '2']);
  assert.is(d.code, 0, d.out);
  assert.match(d.out, /\r\x1b\[Khosts 0\/3 done · slowest running: node n\d, \d+\.\ds/);
  assert.match(d.out, /hosts 3\/3 done/);
  assert.match(d.out, /\x1b\[33mupdated\x1b\[39m/, 'a coloured status cell');
  assert.match(d.out, /node n1: up to date|node n1: updated/, 'progress events still shown');

  const s = await onTty(['status', file]);
  assert.is(s.code, 0, s.out);
  assert.match(s.out, /\r\x1b\[Khosts \d\/3 done/);
  assert.match(s.out, /\x1b\[32min sync\x1b\[39m/);

  const plain = await onTty(['status', file], { NO_COLOR: '1' });
  assert.is(plain.code, 0);
  assert.not.match(plain.out, SGR, `NO_COLOR: no colour: ${JSON.stringify(plain.out)}`);
  assert.match(plain.out, /\r\x1b\[Khosts \d\/3 done/, 'NO_COLOR keeps the progress line');
  assert.match(plain.out, /\| in sync/);

  const p = await piped(['status', file]);
  assert.is(p.code, 0, p.stderr);
  assert.not.match(p.stdout + p.stderr, SGR);
  assert.not.match(p.stdout + p.stderr, /hosts \d/);
  assert.match(p.stdout, /3 targets: 3 in sync, 0 drift, 0 unreachable/);
  const pd = await piped(['distribute', file]);
  assert.is(pd.code, 0, pd.stderr);
  assert.not.match(pd.stdout + pd.stderr, SGR);
  assert.not.match(pd.stdout + pd.stderr, ERASE);

  const forced = await piped(['status', file], { FORCE_COLOR: '1' });
  assert.match(forced.stdout, /\x1b\[32min sync\x1b\[39m/, 'FORCE_COLOR colours a pipe');
  assert.not.match(forced.stdout + forced.stderr, /hosts \d/, 'but never draws progress there');
  const json = await onTty(['status', file, '--json']);
  assert.not.match(json.out.replace(/\r\x1b\[K[^\r{]*/g, ''), SGR, 'json is never coloured');
});

pty('plan and check: actions, findings and the verdict coloured on a terminal; plain through a pipe and with NO_COLOR', async () => {
  const d = tmpdir();
  const f = path.join(d, 'cluster-certs.yaml');
  writeFileSync(f, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keySize: 1024 }, defaults: { keySize: 1024 }, nodes: [{ name: 'p1', hosts: ['localhost'] }] }));
  const plan = await onTty(['plan', f]);
  assert.match(plan.out, /\x1b\[32mcreate\x1b\[39m {11}ca /, plan.out);
  const pipedPlan = await piped(['plan', f]);
  assert.not.match(pipedPlan.stdout, SGR);
  assert.match(pipedPlan.stdout, /^ {2}create {11}ca /m);
  const check = await onTty(['check', f]);
  assert.is(check.code, 2);
  assert.match(check.out, /\x1b\[33mdrift\x1b\[39m: /);
  assert.match(check.out, /\x1b\[33mcheck: exit 2, drift: /);
  const noColour = await onTty(['check', f], { NO_COLOR: '1' });
  assert.not.match(noColour.out, SGR);
  assert.match(noColour.out, /^drift: /m);
  const pipedCheck = await piped(['check', f]);
  assert.not.match(pipedCheck.stderr, SGR);
  assert.match(pipedCheck.stderr, /\ncheck: exit 2, drift: /);
});

pty.run();
