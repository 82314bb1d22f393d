// The Go behaviours src/core reproduces, checked against Go itself: a small Go program
// (test/core/go-oracle, built here with the Debian golang-go toolchain the suite requires) answers
// strconv.Quote, ParseInt(s, 0, 64), ParseUint(s, 10, 64), Atoi, url.Parse+String and pflag's CSV
// split for a fixed corpus of the cases that matter to cockroach's messages plus seeded random
// inputs, and certgen must give the same bytes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { goQuote, utf8Bytes } from '../../src/core/go-quote.js';
import { goAtoi, parseGoInt, parseGoUint } from '../../src/core/go-strconv.js';
import { goUrlParseString } from '../../src/core/go-url.js';
import { readCsvRecord } from '../../src/core/go-csv.js';
import { decodePem } from '../../src/pki/read/pem.js';
import { tmpdir } from '../helpers/index.js';

const GO_DIR = new URL('./go-oracle/', import.meta.url).pathname;

interface Answer {
  ok: boolean;
  out?: string;
  fields?: string[];
  err?: string;
}

function goEnv(tmp: string): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local', GOWORK: 'off', CGO_ENABLED: '0', GOCACHE: path.join(tmp, 'gocache'), GOPATH: path.join(tmp, 'gopath'), GOTELEMETRY: 'off' };
}

let oracleBin: string | undefined;
const tmp = tmpdir('certgen-goracle-');

function oracle(op: string, inputs: Uint8Array[]): Answer[] {
  if (oracleBin === undefined) {
    const bin = path.join(tmp, 'goracle');
    const r = spawnSync('go', ['build', '-o', bin, '.'], { cwd: GO_DIR, env: goEnv(tmp), encoding: 'utf8' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the Go toolchain (`go`) is not on PATH: install the Debian package golang-go');
    if (r.status !== 0) throw new Error(`go build of test/core/go-oracle failed:\n${r.stderr}`);
    oracleBin = bin;
  }
  const input = inputs.map((b) => JSON.stringify({ op, in: Buffer.from(b).toString('base64') })).join('\n') + '\n';
  const r = spawnSync(oracleBin, [], { input, env: goEnv(tmp), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`goracle failed: ${r.stderr}`);
  const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Answer);
  assert.is(answers.length, inputs.length);
  return answers;
}

const fromB64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomStrings(seed: number, pool: string[], count: number, maxLen: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = Math.floor(r() * (maxLen + 1));
    for (let k = 0; k < n; k++) s += pool[Math.floor(r() * pool.length)];
    out.push(s);
  }
  return out;
}

const SEED = Number(process.env.CERTGEN_GO_COMPAT_SEED ?? 20260301);
const test = suite(`Go compatibility (seed ${SEED})`);

test('strconv.Quote (what %q prints) on text and on raw bytes', () => {
  // Runes assigned long before Go 1.19's Unicode tables, so both sides agree on what is printable.
  const runes = ['a', ' ', '"', '\\', '\n', '\t', '\x00', '\x01', '\x7f', '\x1b', 'ü', 'ß', 'Ω', 'я', '中', '\u00ad', '\u00a0', '\u200b', '\u2028', '\u3000', '\ufeff', '\ufffd', '\u0301', '\ue000', '😀', '\u{10ffff}', '%', '\''];
  const texts = ['bücher.de', ',foo', '', 'a b', 'tab\there', ...randomStrings(SEED, runes, 300, 8)];
  const bytes = [...texts.map((t) => utf8Bytes(t)), Uint8Array.from([0xff]), Uint8Array.from([0x25, 0x61, 0xc3]), Uint8Array.from([0xed, 0xa0, 0x80]), Uint8Array.from([0xc0, 0xaf]), Uint8Array.from([0xf4, 0x90, 0x80, 0x80]), Uint8Array.from([0xe2, 0x82])];
  const want = oracle('quote', bytes);
  bytes.forEach((b, i) => assert.is(goQuote(b), fromB64(want[i]?.out), `quote of ${Buffer.from(b).toString('hex')}`));
});

test('ParseInt(s, 0, 64), ParseUint(s, 10, 64) and Atoi: values and error texts', () => {
  const fixed = ['2048', '0x800', '0X800', '0o4000', '04000', '0b100000000000', '4_096', '0x_800', '_4096', '4096_', '4__096', '0_7', '0_8', '08', '0', '0x', '0o', '0b', '00', '+2048', '-2048', '+', '-', '', ' 2048', '2048 ', 'big', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '18446744073709551615', '18446744073709551616', '99999999999999999999x', '0xffffffffffffffff', '0x1_0000_0000_0000_0000', '１２', '1e3', '0x1p4'];
  const pool = ['0', '1', '7', '8', '9', 'x', 'X', 'o', 'b', 'B', '_', '-', '+', 'a', 'f', 'F', 'z', ' ', 'ü'];
  const inputs = [...fixed, ...randomStrings(SEED + 1, pool, 400, 6), ...randomStrings(SEED + 2, ['9', '1', '0', '_', 'f'], 100, 24)];
  for (const [op, fn] of [['parseint0', (s: string) => parseGoInt(s, 0, 64)], ['parseuint10', (s: string) => parseGoUint(s, 10, 64)], ['atoi', goAtoi]] as const) {
    const want = oracle(op, inputs.map(utf8Bytes));
    inputs.forEach((s, i) => {
      const got = fn(s);
      const w = want[i] as Answer;
      if (w.ok) assert.equal(got, { value: BigInt(fromB64(w.out)) }, `${op}(${JSON.stringify(s)})`);
      else assert.equal(got, { error: w.err }, `${op}(${JSON.stringify(s)})`);
    });
  }
});

test('url.Parse + String on tenant URI SANs and other URLs', () => {
  const users = ['bob', 'ομηρος', 'a b', 'a%zz', 'a%', 'a%4', 'a%41', 'a%2F', 'a?b', 'a?ü', 'a#b', 'a#', 'a#%zz', 'a/b', 'a@b', 'a:b', 'a;b,c', "a'b", 'a+b', 'a=b&c', 'a[b]', 'a"b', 'a<b>', 'a\\b', 'a|b', 'a`b', 'a{b}', 'a^b', 'a~b', 'a!b*()', 'x\x01y', 'x\x7fy', '', '.', '..', 'a%20b', 'a%C3%BC', '%ff', '%25', 'a%2', '#', '?', '??', 'a?b#c%zz'];
  const pool = ['a', 'Z', '0', ' ', '%', '2', 'f', 'G', '?', '#', '/', '@', ':', 'ü', '中', '+', '&', '=', '!', "'", '"', '[', ']', '~', '.', '-', '_', ';', ',', '\\', '|', '^', '`', '{', '}', '<', '>', '*', '$'];
  const raws = [
    ...users.map((u) => `crdb://tenant/2/user/${u}`),
    ...users.map((u) => `crdb://tenant-name/app/user/${u}`),
    ...randomStrings(SEED + 3, pool, 400, 10).map((u) => `crdb://tenant/18446744073709551615/user/${u}`),
    'http://a@b/c', 'http://u:p@h:80/x', 'http://[::1]:80/x', 'http://[fe80::1%25en0]/x', 'http://h:x/', 'http://a b/', 'mailto:a@b', 'a:b', '/a:b', '//h/p', '///p', '', '*', 'crdb:/x', 'crdb://', 'h%zz://x',
  ];
  const want = oracle('url', raws.map(utf8Bytes));
  raws.forEach((raw, i) => {
    const w = want[i] as Answer;
    assert.equal(goUrlParseString(raw), w.ok ? { url: fromB64(w.out) } : { error: w.err }, `url.Parse(${JSON.stringify(raw)})`);
  });
});

test("pflag's CSV split of string-slice flags (--cert-principal-map)", () => {
  const fixed = ['', 'a', 'a,b', 'a,,b', ',', 'a:b,c:d', '"a,b":c', '"a""b"', 'a"b', '"a"b', '"abc', '"', '""', '"",x', 'a\nb', '\n', '\na', '"a\nb"', '"a\nb', 'a\r\nb', 'a\r', '"a"\r', ' a , b ', 'ü,"ü"', '"ü', 'ü"'];
  const inputs = [...fixed, ...randomStrings(SEED + 4, ['a', ',', '"', '\n', '\r', ' ', 'ü', ':'], 400, 7)];
  const want = oracle('csv', inputs.map(utf8Bytes));
  inputs.forEach((s, i) => {
    const w = want[i] as Answer;
    const expected = w.ok ? { fields: (w.fields ?? []).map(fromB64) } : { error: w.err };
    assert.equal(readCsvRecord(s), expected, `readAsCSV(${JSON.stringify(s)})`);
  });
});

test("encoding/pem's Decode: which characters a block's body may hold, and its padding (src/pki/read/pem.ts)", () => {
  const bodies = ['AAAA\n', 'AA AA\n', 'AA\tAA\n', 'AA\fAA\n', 'AA\vAA\n', 'AA\xa0AA\n', 'AA\x85AA\n', 'AAA\n', 'AA==\n', 'AA=\n', 'AA= =\n', 'A\r\nAAA\n', 'QUJD\r\nREVG\r\n', '', 'AAAA\n\n', 'AA==AAAA\n', '!AAA\n'];
  const block = (b: string): string => `-----BEGIN X-----\n${b}-----END X-----\n`;
  const inputs = [...bodies.map(block), bodies.map(block).join(''), `junk before\n${block('QUJD\n')}junk after\n${block('AA\fA\n')}${block('REVG\n')}`];
  const bytes = inputs.map((s) => Buffer.from(s, 'latin1'));
  const go = oracle('pem', bytes);
  bytes.forEach((b, i) => {
    const mine = decodePem(b).map((p) => `${p.type}:${p.der.toString('base64')}`);
    assert.equal(mine, go[i]?.fields ?? [], `input ${JSON.stringify(inputs[i])}`);
  });
});

test.run();
