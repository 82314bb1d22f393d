// No private key is ever printed. Every command of the built CLI (cert create-*, cert list in each
// format, validate, plan, apply, report in each format, check, distribute --dry-run) and its error
// paths (a CA key that does not match, an open key mode, a key given as the spec or pasted into
// it, a key file where the CA certificate belongs) runs, and neither stdout nor stderr holds any
// trace of the CA key or of a leaf key: not the PEM, not any 32-character piece of its base64, not
// its DER (PKCS#1 or PKCS#8) in hex or raw, not its private numbers (JWK d, p, q, dp, dq, qi) in
// base64url or hex. Every file the commands leave (lock, reports, spec copies) holds no key but
// in the key's own file (and a client key's .pk8).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { tmpdir } from '../helpers/index.js';
import { CLI } from './lib.js';

/** Every window of some secrets' forms, each mapped to the secret's name. */
interface Needles {
  /** 32-char windows of base64 / base64url forms, looked for in text with whitespace removed. */
  b64: Map<string, string>;
  /** 64-hex-digit windows (32 bytes), looked for in lower-cased text without separators and in raw output bytes. */
  hex: Map<string, string>;
}

function windows(s: string, width: number, step: number, name: string, into: Map<string, string>, keep: (i: number) => boolean = () => true): void {
  for (let i = 0; i + width <= s.length; i += step) if (keep(i)) into.set(s.slice(i, i + width), name);
}

const cache = new WeakMap<KeyObject, Needles>();

function needlesOf(keys: { name: string; key: KeyObject }[]): Needles {
  const all: Needles = { b64: new Map(), hex: new Map() };
  for (const { name, key } of keys) {
    let n = cache.get(key);
    if (!n) {
      n = { b64: new Map(), hex: new Map() };
      const jwk = key.export({ format: 'jwk' });
      // A private key's DER starts with the public modulus and exponent, which every certificate
      // prints: only windows reaching into the private exponent d and after it are secret.
      const d = Buffer.from(jwk.d ?? '', 'base64url');
      for (const der of [key.export({ type: 'pkcs1', format: 'der' }), key.export({ type: 'pkcs8', format: 'der' })]) {
        const start = der.indexOf(d);
        assert.ok(start > 0, 'd inside the DER');
        windows(der.toString('base64'), 32, 1, '', n.b64, (i) => Math.floor((6 * (i + 32) - 1) / 8) >= start);
        windows(der.toString('hex'), 64, 2, '', n.hex, (i) => i / 2 + 32 > start);
      }
      for (const f of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
        const v = jwk[f];
        if (!v) continue;
        const raw = Buffer.from(v, 'base64url');
        windows(v, 32, 1, '', n.b64);
        windows(raw.toString('base64'), 32, 1, '', n.b64);
        windows(raw.toString('hex'), 64, 2, '', n.hex);
      }
      cache.set(key, n);
    }
    for (const w of n.b64.keys()) all.b64.set(w, name);
    for (const w of n.hex.keys()) all.hex.set(w, name);
  }
  return all;
}

/** Which secret shows in `hay`, and how, or undefined. */
function find(hay: Buffer, n: Needles): string | undefined {
  const text = hay.toString('latin1');
  const scan = (s: string, width: number, set: Map<string, string>, form: string): string | undefined => {
    for (let i = 0; i + width <= s.length; i++) {
      const name = set.get(s.slice(i, i + width));
      if (name !== undefined) return `${name} as ${form}: ${s.slice(i, i + width)}`;
    }
    return undefined;
  };
  // JSON escapes newlines (and may escape slashes); the rest of the base64 alphabet survives.
  const compact = text.replace(/\\[nr]/g, '').replace(/\\\//g, '/').replace(/\s+/g, '');
  return scan(compact, 32, n.b64, 'base64') ?? scan(text.toLowerCase().replace(/[\s:]/g, ''), 64, n.hex, 'hex') ?? scan(hay.toString('hex'), 64, n.hex, 'raw DER');
}

interface Output {
  what: string;
  out: Buffer;
}

const outputs: Output[] = [];

async function cmd(args: string[], opts: { cwd?: string; expect?: number } = {}): Promise<string> {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, cwd: opts.cwd, encoding: 'buffer' });
  const out = Buffer.concat([r.stdout, r.stderr]);
  outputs.push({ what: `certgen ${args.join(' ')} (exit ${r.exitCode})`, out });
  if (opts.expect !== undefined) assert.is(r.exitCode, opts.expect, `certgen ${args.join(' ')}\n${out.toString()}`);
  return out.toString();
}

const SPEC = `version: 1
certsDir: certs
caKey: secrets/ca.key
ca: { keySize: 1024 }
defaults: { keySize: 1024 }
nodes:
  - name: n0
    hosts: [localhost, 127.0.0.1]
    ssh: { host: 127.0.0.1, port: 1, user: root, dir: certs, options: [ConnectTimeout=2] }
  - name: n1
    hosts: [n1.example.com]
clients:
  - user: root
  - user: maxroach
    pkcs8: true
`;

interface World {
  dir: string;
  spec: string;
  flat: string;
  caKey: KeyObject;
  /** Keys whose traces must never be printed, with the files each may live in. */
  keys: { name: string; key: KeyObject; homes: string[] }[];
}

let world: Promise<World> | undefined;

/** Every command's happy path, run once (a failure fails every test, once); outputs collected. */
function build(): Promise<World> {
  return (world ??= buildWorld());
}

async function buildWorld(): Promise<World> {
  const dir = tmpdir('certgen-secrecy-');
  const spec = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(spec, SPEC);
  await cmd(['validate', spec], { expect: 0 });
  await cmd(['plan', spec], { expect: 0 });
  await cmd(['apply', spec], { expect: 0 });
  for (const extra of [[], ['-v'], ['--json'], ['--prune'], ['--detailed-exitcode']]) await cmd(['plan', ...extra, spec], { expect: 0 });
  await cmd(['apply', '--json', spec], { expect: 0 });
  await cmd(['apply', '--dry-run', spec], { expect: 0 });
  for (const format of ['table', 'tsv', 'csv', 'json', 'markdown', 'html']) {
    await cmd(['report', '--format', format, spec], { expect: 0 });
  }
  await cmd(['report', '--certs-dir', path.join(dir, 'certs'), '--recursive', '--format', 'json'], { expect: 0 });
  await cmd(['check', spec], { expect: 0 });
  await cmd(['check', '--json', spec], { expect: 0 });
  // distribute reads node.key to compare sums and builds scp command lines: the port is closed.
  await cmd(['distribute', '--dry-run', spec], { expect: 1 });
  await cmd(['distribute', '--dry-run', '--json', spec], { expect: 1 });
  await cmd(['cert', 'list', '--certs-dir', path.join(dir, 'certs/nodes/n0'), '--format', 'raw'], { expect: 0 });
  await cmd(['cert', 'list', '--certs-dir', path.join(dir, 'certs/clients/maxroach'), '--format', 'raw'], { expect: 0 });

  // The cockroach-style flat dir, made by the cert commands.
  const flat = path.join(dir, 'flat');
  mkdirSync(path.join(dir, 'flat-secrets'), { mode: 0o700 });
  const flatCA = path.join(dir, 'flat-secrets/ca.key');
  const common = ['--certs-dir', flat, '--ca-key', flatCA, '--key-size', '1024'];
  await cmd(['cert', 'create-ca', ...common], { expect: 0 });
  await cmd(['cert', 'create-client-ca', '--certs-dir', flat, '--ca-key', path.join(dir, 'flat-secrets/ca-client.key'), '--key-size', '1024'], { expect: 0 });
  await cmd(['cert', 'create-node', 'localhost', '127.0.0.1', ...common], { expect: 0 });
  // Client certificates are signed by the client CA once ca-client.crt exists, as in cockroach.
  await cmd(['cert', 'create-client', 'root', '--also-generate-pkcs8-key', '--certs-dir', flat, '--ca-key', path.join(dir, 'flat-secrets/ca-client.key'), '--key-size', '1024'], { expect: 0 });
  for (const format of ['table', 'tsv', 'csv', 'json', 'ndjson', 'records', 'sql', 'html', 'raw']) await cmd(['cert', 'list', '--certs-dir', flat, '--format', format], { expect: 0 });
  await cmd(['report', '--certs-dir', flat, '--format', 'json'], { expect: 0 });

  const keyAt = (p: string): KeyObject => createPrivateKey(readFileSync(p, 'latin1'));
  const keys: World['keys'] = [
    { name: 'the CA key', key: keyAt(path.join(dir, 'secrets/ca.key')), homes: ['secrets/ca.key'] },
    { name: 'the flat CA key', key: keyAt(flatCA), homes: ['flat-secrets/ca.key'] },
    { name: 'the client CA key', key: keyAt(path.join(dir, 'flat-secrets/ca-client.key')), homes: ['flat-secrets/ca-client.key'] },
  ];
  for (const rel of ['certs/nodes/n0/node.key', 'certs/nodes/n1/node.key', 'certs/clients/root/client.root.key', 'certs/clients/maxroach/client.maxroach.key', 'flat/node.key', 'flat/client.root.key']) {
    keys.push({ name: rel, key: keyAt(path.join(dir, rel)), homes: [rel, `${rel}.pk8`] });
  }
  return { dir, spec, flat, caKey: keys[0]?.key as KeyObject, keys };
}

function assertNoTrace(list: Output[], keys: World['keys']): void {
  const n = needlesOf(keys);
  for (const { what, out } of list) {
    const hit = find(out, n);
    assert.is(hit, undefined, `a key shows in the output of ${what}: ${hit}`);
  }
}

const test = suite('secrecy');

test('no command prints a private key, the CA key or a leaf key, in any form', async () => {
  const w = await build();
  assert.ok(outputs.length >= 35, `${outputs.length} outputs`);
  assertNoTrace(outputs, w.keys);
});

test('the checker itself finds a key: PEM, one base64 piece, hex DER, JSON-escaped PEM, a private prime', async () => {
  const w = await build();
  const n = needlesOf([{ name: 'the CA key', key: w.caKey }]);
  const pem = w.caKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const body = pem.replace(/-----[^-]+-----|\s/g, '');
  const prime = Buffer.from(w.caKey.export({ format: 'jwk' }).q ?? '', 'base64url');
  for (const [what, hay] of [
    ['PEM', pem],
    ['32 chars of the body', `x ${body.slice(400, 432)} y`],
    ['hex DER with colons', (w.caKey.export({ type: 'pkcs8', format: 'der' }).subarray(300, 340).toString('hex').match(/../g) ?? []).join(':')],
    ['JSON', JSON.stringify({ k: pem })],
    ['the prime q in hex', prime.toString('hex').toUpperCase()],
  ] as const) {
    assert.ok(find(Buffer.from(hay), n), what);
  }
  assert.ok(find(w.caKey.export({ type: 'pkcs1', format: 'der' }), n), 'raw DER');
  // Public halves are not secrets: the certificate, and the public key in every encoding.
  assert.is(find(Buffer.from(readFileSync(path.join(w.dir, 'certs/ca.crt'))), n), undefined, 'the CA certificate');
  const pub = createPublicKey(w.caKey);
  for (const form of [pub.export({ type: 'spki', format: 'der' }), pub.export({ type: 'pkcs1', format: 'der' })]) {
    assert.is(find(Buffer.from(`${form.toString('base64')}\n${form.toString('hex')}`), n), undefined, 'the public key');
    assert.is(find(form, n), undefined, 'the public key, raw');
  }
});

test('error paths print no key: a mismatched or open CA key, a key as the spec, a key pasted into the spec, a key as ca.crt', async () => {
  const w = await build();
  const before = outputs.length;
  const caKeyPath = path.join(w.dir, 'secrets/ca.key');
  const good = readFileSync(caKeyPath);
  const other = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  const keys = [...w.keys, { name: 'the wrong CA key', key: other, homes: ['secrets/ca.key'] }];

  writeFileSync(caKeyPath, other.export({ type: 'pkcs1', format: 'pem' }));
  await cmd(['plan', w.spec], { expect: 1 });
  await cmd(['plan', '--json', w.spec], { expect: 1 });
  await cmd(['apply', w.spec], { expect: 1 });
  await cmd(['check', '--json', w.spec], { expect: 1 });
  await cmd(['report', '--format', 'json', w.spec], { expect: 0 });
  await cmd(['cert', 'create-node', 'x', '--certs-dir', path.join(w.dir, 'certs/nodes/n1'), '--ca-key', caKeyPath, '--key-size', '1024', '--overwrite'], { expect: 1 });
  writeFileSync(caKeyPath, good);

  chmodSync(caKeyPath, 0o644);
  await cmd(['plan', w.spec], { expect: 1 });
  await cmd(['apply', w.spec], { expect: 1 });
  await cmd(['check', w.spec], { expect: 1 });
  chmodSync(caKeyPath, 0o600);
  chmodSync(path.join(w.flat, 'node.key'), 0o644);
  await cmd(['cert', 'list', '--certs-dir', w.flat], { expect: 1 });
  await cmd(['cert', 'create-client', 'bob', '--certs-dir', w.flat, '--ca-key', path.join(w.dir, 'flat-secrets/ca-client.key'), '--key-size', '1024'], { expect: 1 });
  chmodSync(path.join(w.flat, 'node.key'), 0o600);
  // The CA key already exists: create-ca refuses without --allow-ca-key-reuse.
  await cmd(['cert', 'create-ca', '--certs-dir', w.flat, '--ca-key', path.join(w.dir, 'flat-secrets/ca.key')], { expect: 1 });

  // An operator's slip: the key file passed where the spec goes.
  for (const sub of ['validate', 'plan', 'apply', 'check', 'report', 'distribute']) await cmd([sub, caKeyPath], { expect: 1 });
  // A key pasted into the spec, as a value the schema refuses and as an unknown key.
  const indented = (n: number): string => good.toString().trimEnd().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');
  const pasted = path.join(w.dir, 'pasted.yaml');
  writeFileSync(pasted, `${SPEC.replace('hosts: [n1.example.com]', `hosts:\n      - |\n${indented(8)}`)}secret: |\n${indented(2)}\n`);
  for (const sub of ['validate', 'plan', 'check']) await cmd([sub, pasted], { expect: 1 });
  writeFileSync(pasted, `${SPEC.replace('caKey: secrets/ca.key', `caKey: |\n${indented(2)}`)}`);
  await cmd(['validate', pasted]);
  // A key where the CA certificate belongs, in a flat dir and in the tree.
  const keyAsCA = path.join(w.dir, 'key-as-ca');
  mkdirSync(keyAsCA, { mode: 0o700 });
  copyFileSync(caKeyPath, path.join(keyAsCA, 'ca.crt'));
  await cmd(['cert', 'list', '--certs-dir', keyAsCA]);
  await cmd(['report', '--certs-dir', keyAsCA, '--format', 'json']);
  await cmd(['cert', 'create-node', 'localhost', '--certs-dir', keyAsCA, '--ca-key', caKeyPath, '--key-size', '1024'], { expect: 1 });
  // The CA key's own folder, reported on as if it were a certs dir.
  await cmd(['report', '--certs-dir', path.join(w.dir, 'secrets'), '--format', 'json']);
  await cmd(['cert', 'list', '--certs-dir', path.join(w.dir, 'secrets')]);

  assert.ok(outputs.length - before >= 25);
  assertNoTrace(outputs.slice(before), keys);
});

test('the lock file of a running apply, and every file the commands left, hold no key outside its own file', async () => {
  const w = await build();
  // Catch the lock while an apply holds it: a reissue of every leaf keeps it held long enough.
  writeFileSync(w.spec, SPEC.replace(/keySize: 1024 \}\nnodes/, 'keySize: 1032 }\nnodes'));
  const lockPath = path.join(w.dir, 'certs/.certgen.lock');
  const child = spawn(process.execPath, [CLI, 'apply', w.spec], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  let lock: Buffer | undefined;
  let done = false;
  void exited.then(() => (done = true));
  while (!done && lock === undefined) {
    try {
      lock = readFileSync(lockPath);
    } catch {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  assert.is(await exited, 0);
  assert.ok(lock !== undefined && lock.length > 0, 'the lock was seen while apply ran');
  assert.equal(Object.keys(JSON.parse(lock.toString()) as object).sort(), ['host', 'pid', 'since']);

  const keys = [...w.keys];
  // The reissue made new leaf keys; their homes are the same files.
  for (const rel of ['certs/nodes/n0/node.key', 'certs/nodes/n1/node.key', 'certs/clients/root/client.root.key', 'certs/clients/maxroach/client.maxroach.key']) {
    keys.push({ name: `new ${rel}`, key: createPrivateKey(readFileSync(path.join(w.dir, rel), 'latin1')), homes: [rel, `${rel}.pk8`] });
  }
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (lstatSync(p).isDirectory()) walk(p);
      else files.push(path.relative(w.dir, p));
    }
  };
  walk(w.dir);
  assert.ok(files.length > 20);
  assertNoTrace([{ what: 'the lock file', out: lock }], keys);
  for (const rel of files) {
    const bytes = readFileSync(path.join(w.dir, rel));
    // Spec files the error-path test pasted a key into on purpose are its input, not output.
    if (rel === 'pasted.yaml' || rel === 'key-as-ca/ca.crt') continue;
    const hit = find(bytes, needlesOf(keys.filter((k) => !k.homes.includes(rel))));
    assert.is(hit, undefined, `in ${rel}: ${hit}`);
  }
  assert.not.ok(existsSync(lockPath), 'the lock is released');
});

test.run();
