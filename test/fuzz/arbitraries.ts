// Bad-input fuzzing of certgen (issue 6), shared by test/fuzz/*.test.ts (bounded, fixed seed) and
// scripts/fuzz.ts (long runs). Two targets:
//
//  - the YAML spec: valid specs (examples/, fixtures/specs/valid/) mutated by byte flips,
//    truncation, deleted/duplicated lines, values swapped for arbitrary JSON/odd strings/huge
//    strings/deep objects, YAML junk (anchors, aliases, a billion-laughs bomb, !!binary and
//    !!js/function tags, tabs, BOMs, several documents, deep nesting) and raw unicode/binary bytes;
//    run through validate, plan, check, report and (when safe, see applyIsSafe) apply;
//  - the files of a certs dir: trees made once by `certgen apply` and by `certgen cert`, with files
//    replaced (truncated or bit-flipped PEM, DER bytes flipped inside valid PEM, wrong block types,
//    CSRs, EC/Ed25519/encrypted keys, several MB, binary, empty, a folder) and odd entries added
//    (spaces, newlines, unicode, leading dashes, `..`-like, 255-byte names, certgen-like names,
//    FIFOs); run through cert list, plan, check, report and apply.
//
// Properties of every run: no stack trace or JS error name in the output, an exit code certgen
// documents for that command, a non-zero exit names what is wrong on stderr, nothing changes on
// disk (apply: only the files its plan lists, never the CA key), the CA key never printed.
//
// Cases are small descriptors (huge contents are generated when the case runs) so a counterexample
// prints readably. A failure prints the seed, fast-check's path, the counterexample and the
// command that replays it (FUZZ_SEED=S FUZZ_PATH=P for the tests, --seed S --path P for
// scripts/fuzz.ts). The base trees get fresh keys each run, so a DER-level mutation of a replay
// can land on a neighbouring byte (serials and moduli vary in length); everything else repeats.
// FUZZ_SLOW_MS=N prints commands and cases slower than N ms, FUZZ_TRACE=1 each case as it starts.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { parseSpec } from '../../src/cluster-spec/parse-spec.js';
import type { ClusterSpec } from '../../src/cluster-spec/spec.js';
import { journalFileFor, verifyJournalText } from '../../src/journal/journal.js';
import { ROOT, openssl, tmpdir, type CliResult } from '../helpers/index.js';

// ---------------------------------------------------------------------------------------------
// Settings

/** Fixed by default so CI is reproducible; FUZZ_SEED replays a reported failure. */
export const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? 20250611);
/** fast-check's replay path of a counterexample (printed with the seed on failure). */
export const FUZZ_PATH = process.env['FUZZ_PATH'];

export function fcParams<T>(numRuns: number, seedOffset = 0): fc.Parameters<T> {
  // Each suite gets its own seed offset so they do not walk the same random stream.
  return { seed: FUZZ_SEED + seedOffset, numRuns, ...(FUZZ_PATH ? { path: FUZZ_PATH } : {}) };
}

/** How to rerun one failed bounded test: the base seed, the path, and the file. */
export const testReplay = (file: string) => (p: string): string => `FUZZ_SEED=${FUZZ_SEED} FUZZ_PATH=${p} npx tsx node_modules/uvu/bin.js test fuzz/${file}`;

/**
 * Runs a property and, on failure, throws one message with everything needed to replay it: the
 * seed, fast-check's path, the shrunk counterexample and what was wrong with it.
 */
export async function assertProperty<T>(name: string, prop: fc.IAsyncPropertyWithHooks<T>, params: fc.Parameters<T>, replay: (path: string) => string): Promise<fc.RunDetails<T>> {
  const r = await fc.check(prop, params);
  if (r.failed) {
    const err = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance);
    throw new Error(
      [
        `fuzz ${name}: property failed after ${r.numRuns} case(s) (shrunk ${r.numShrinks} time(s))`,
        `seed ${params.seed}, path ${r.counterexamplePath}; replay: ${replay(r.counterexamplePath ?? '')}`,
        `counterexample: ${fc.stringify(r.counterexample)}`,
        err,
      ].join('\n'),
    );
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Running certgen: in-process (most cases) or the built bin (process-level crashes)

export type Mode = 'in-process' | 'bin';

/**
 * Unhandled rejections and process warnings raised while a case ran in-process: each is a bug (a
 * warning is printed on the user's stderr as `(node:PID) Warning: …`).
 */
const unhandled: unknown[] = [];
let listening = false;
function listenForUnhandled(): void {
  if (listening) return;
  listening = true;
  process.on('unhandledRejection', (err) => unhandled.push(err));
  process.on('warning', (w) => unhandled.push(w));
}

const IN_PROCESS_TIMEOUT_MS = 30_000;
const BIN_TIMEOUT_MS = 30_000;

export interface Run extends CliResult {
  args: string[];
  /** Set when the run never finished, crashed the process or threw in-process. */
  crash?: string;
}

/** FUZZ_SLOW_MS=N: print every command that takes longer (to keep the bounded run quick). */
const SLOW_MS = Number(process.env['FUZZ_SLOW_MS'] ?? Infinity);
/** FUZZ_TRACE=1: print each case before it runs (to find one that hangs). */
const TRACE_CASES = process.env['FUZZ_TRACE'] === '1';

export async function runCertgen(mode: Mode, args: string[], cwd: string): Promise<Run> {
  const t0 = Date.now();
  const r = await runCertgenTimed(mode, args, cwd);
  if (Date.now() - t0 > SLOW_MS) process.stderr.write(`fuzz: slow (${Date.now() - t0} ms, ${mode}): certgen ${args.join(' ')}\n`);
  return r;
}

async function runCertgenTimed(mode: Mode, args: string[], cwd: string): Promise<Run> {
  if (mode === 'bin') {
    const r = await execa(process.execPath, [path.join(ROOT, 'dist/cli.js'), ...args], {
      reject: false,
      cwd,
      env: { ...process.env, HOME: cwd },
      encoding: 'utf8',
      timeout: BIN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      maxBuffer: 256 * 1024 * 1024,
    });
    const crash = r.timedOut ? `timed out after ${BIN_TIMEOUT_MS} ms` : r.signal ? `killed by ${r.signal}` : undefined;
    return { args, code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, ...(crash ? { crash } : {}) };
  }
  listenForUnhandled();
  unhandled.length = 0;
  let stdout = '';
  let stderr = '';
  const { main } = await import('../../src/cli.js');
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), stdoutIsTTY: false, env: { ...process.env, HOME: cwd } }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer after ${IN_PROCESS_TIMEOUT_MS} ms`)), IN_PROCESS_TIMEOUT_MS))),
    ]);
    // Let a stray rejection surface before judging the run.
    await new Promise((r) => setImmediate(r));
    const crash = unhandled.length > 0 ? `unhandled rejection or process warning: ${describe(unhandled[0])}` : undefined;
    return { args, code, stdout, stderr, ...(crash ? { crash } : {}) };
  } catch (err) {
    return { args, code: -1, stdout, stderr, crash: `main() rejected: ${describe(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

// ---------------------------------------------------------------------------------------------
// The properties

/** The exit codes each command documents (README, `--help`). */
export function allowedCodes(args: string[]): number[] {
  const cmd = args[0] === 'cert' ? `cert ${args[1]}` : args[0];
  if (cmd === 'check') return [0, 1, 2, 3];
  if (cmd === 'plan' && args.includes('--detailed-exitcode')) return [0, 1, 2];
  return [0, 1];
}

// JS error internals and V8 stack frames; certgen's own errors start with `ERROR: `.
const TRACE = [/\(node:\d+\) \w*Warning/, /\n\s+at .*[(:]\d+/, /\b(TypeError|RangeError|ReferenceError|SyntaxError|EvalError|AggregateError)\b/, /\bUncaught\b/, /internal error/, /(^|\n)Error: /, /\[object Object\]/, /\bundefined\b: /, /Please report this/];

/**
 * Everything that must hold for one run. `mentions`: strings of which a failure message must name
 * at least one (a path, a file name, an artifact, the spec's file:line:col).
 */
export function checkRun(r: Run, opts: { mentions: string[]; secrets: string[]; mentionPattern?: RegExp }): string[] {
  const problems: string[] = [];
  const where = `certgen ${r.args.map((a) => JSON.stringify(a)).join(' ')}`;
  if (r.crash) problems.push(`${where}: ${r.crash}`);
  const out = `${r.stdout}\n${r.stderr}`;
  for (const re of TRACE) {
    const m = re.exec(out);
    if (m) problems.push(`${where}: output has ${JSON.stringify(m[0])} (a stack trace or JS internals): ${excerpt(out, m.index)}`);
  }
  if (!r.crash && !allowedCodes(r.args).includes(r.code)) problems.push(`${where}: exit code ${r.code}, not one of ${allowedCodes(r.args).join(', ')}\n${excerpt(r.stderr, 0)}`);
  // plan --detailed-exitcode's 2 means "changes pending", not a failure.
  const failed = r.code !== 0 && !(r.code === 2 && r.args[0] === 'plan');
  if (failed && !r.crash) {
    const named = opts.mentions.some((m) => m !== '' && r.stderr.includes(m)) || (opts.mentionPattern?.test(r.stderr) ?? false);
    if (r.stderr.trim() === '') problems.push(`${where}: exit ${r.code} with nothing on stderr (stdout: ${excerpt(r.stdout, 0)})`);
    else if (!named) problems.push(`${where}: exit ${r.code}, but stderr names none of ${JSON.stringify(opts.mentions.slice(0, 12))}:\n${excerpt(r.stderr, 0)}`);
  }
  for (const s of opts.secrets) if (s.length > 16 && out.includes(s)) problems.push(`${where}: the CA key's contents are in the output`);
  return problems;
}

function excerpt(s: string, at: number): string {
  return JSON.stringify(s.slice(Math.max(0, at - 200), at + 600));
}

/** The base64 lines of a PEM key: none may ever be printed. */
export function secretLines(pem: string): string[] {
  return pem.split('\n').filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l));
}

/** Every entry under `dir`: type, mode and content hash; symlinks and FIFOs are never followed. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      const rel = path.relative(dir, p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.set(rel, `dir ${mode}`);
        walk(p);
      } else if (st.isFile()) out.set(rel, `file ${mode} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
      else if (st.isSymbolicLink()) out.set(rel, `symlink ${readlinkSync(p)}`);
      else out.set(rel, `other ${mode}`);
    }
  };
  walk(dir);
  return out;
}

/** What changed between two snapshots, restricted to paths `mayChange` does not allow. */
/** What is wrong with the journal a run left (nothing when it is whole or absent). */
function journalProblems(file: string): string[] {
  if (!existsSync(file)) return [];
  try {
    verifyJournalText(readFileSync(file, 'utf8'), file);
    return [];
  } catch (err) {
    return [`the journal is broken after apply: ${(err as Error).message}`];
  }
}

export function unexpectedChanges(before: Map<string, string>, after: Map<string, string>, mayChange: (rel: string) => boolean = () => false, mayAppear: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const [p, v] of before) {
    const a = after.get(p);
    if (a !== v && !mayChange(p)) out.push(a === undefined ? `${p} was removed` : `${p} changed: ${v} -> ${a}`);
  }
  for (const p of after.keys()) if (!before.has(p) && !mayAppear(p)) out.push(`${p} appeared`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Spec mutation

const SPEC_DIR = path.join(ROOT, 'fixtures', 'specs', 'valid');

/**
 * The valid specs mutations start from. Key sizes are lowered to 1024 and full.yaml's absolute CA
 * key moved inside its folder so the trees can be applied quickly and within a temp dir; the
 * shapes are what matter to the parser.
 */
export function baseSpecs(): { name: string; text: string }[] {
  const read = (p: string): string => readFileSync(p, 'utf8').replace(/keySize: \d+/g, 'keySize: 1024');
  const specs = [{ name: 'examples/cluster-certs.yaml', text: read(path.join(ROOT, 'examples', 'cluster-certs.yaml')) }];
  for (const f of readdirSync(SPEC_DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    specs.push({ name: `fixtures/specs/valid/${f}`, text: read(path.join(SPEC_DIR, f)).replace('caKey: /srv/pki/cockroach-ca.key', 'caKey: pki/cockroach-ca.key') });
  }
  return specs;
}

/** A value to put where a spec value was. `huge`: a string of that many characters. */
export type OddValue = { json: unknown } | { raw: string } | { huge: number; char: string } | { deep: number; open: '[' | '{' };

const ODD_RAW = [
  '', ' ', '~', 'null', 'Null', 'yes', 'no', 'on', 'off', 'y', '0x10', '0o17', '1e400', '-0', '.inf', '-.inf', '.nan', '0.', '1_000', '12:30:00', '2001-12-14t21:59:43.10-05:00',
  '../../../etc/passwd', '/', '/dev/zero', '/dev/null', '/proc/self/environ', '~/x', '~root/x', '\\\\server\\share', 'C:\\x', '.', '..', '"', "'", '"unterminated', "'it''s'", ':', ': x', '- ', '-', '#', '# comment',
  '&anchor', '*alias', '*nope', '!tag x', '!!str', '!!binary aGVsbG8=', '!!js/function "function () { return 1 }"', '!!js/undefined ~', '!!js/regexp /x/', '!!python/object:os.system x', '!<tag:yaml.org,2002:int> 3', '!!timestamp 2001-12-14', '!!float .nan', '!!int 0x7fffffff', '!!set {a, b}', '!!omap [a: 1]', '!!null ""',
  '%', '@x', '`x`', '|', '>', '|-\n  block', '>+\n  folded', '{', '}', '[', ']', '[a, [b, {c: d}]]', '{a: 1, a: 2}', '{? [a]: b}', '? complex', '<<: *nope', '<<', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
  '\t', 'a\tb', '\u0000', '\u0007', '\u001b[31mred', '\u00a0', '\u200b', '\u202eevil', '\ufeff', '\ud800', '\uffff', 'ǅ', 'İ', 'ß', 'Ω', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '👍🏽', 'e\u0301', '日本語',
  '-1', '0', '1', '1023', '1024', '1025', '16384', '16392', '65536', '4294967296', '9007199254740993', '1e308', '-1e308', '3.5', '0h', '1ns', '720h', '-720h', '1h1h', '87840h0m0s', '9223372036854775807ns', '9223372036854775808ns', '1000000000h', 'h', '1d', '1.5h', '.5h', '5.h', '1µs', '1us', '+1h',
  '10.0.0.300', '::1', '::ffff:1.2.3.4', 'fe80::1%eth0', '1.2.3.4/24', '*.', '*', '*.*.x', 'a..b', '-a.com', 'a.com.', 'xn--ls8h', 'a'.repeat(64), `${'a'.repeat(63)}.`.repeat(5),
  'root', 'ROOT', 'node', 'Node', 'x y', 'a/b', 'a\\b', 'client.x', '.', '-user', 'user\n', 'a'.repeat(64),
];

export const oddValue: fc.Arbitrary<OddValue> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_RAW).map((raw) => ({ raw })) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((json) => ({ json })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((json) => ({ json })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((raw) => ({ raw })) },
  { weight: 1, arbitrary: fc.oneof(fc.double(), fc.integer(), fc.bigInt().map((b) => Number(b))).map((json) => ({ json })) },
  { weight: 1, arbitrary: fc.record({ huge: fc.constantFrom(1000, 70_000, 1_000_000), char: fc.constantFrom('a', 'é', '\\', ' ', '0') }) },
  { weight: 1, arbitrary: fc.record({ deep: fc.constantFrom(100, 1000, 5000), open: fc.constantFrom('[' as const, '{' as const) }) },
);

export function renderValue(v: OddValue): string {
  if ('raw' in v) return v.raw;
  if ('json' in v) return v.json === undefined ? '' : JSON.stringify(v.json);
  if ('huge' in v) return JSON.stringify(v.char.repeat(v.huge));
  return v.open === '[' ? `${'['.repeat(v.deep)}${']'.repeat(v.deep)}` : `${'{a: '.repeat(v.deep)}1${'}'.repeat(v.deep)}`;
}

/** YAML-specific junk, inserted as whole lines. */
export type Junk =
  | 'billion-laughs'
  | 'billion-laughs-used'
  | 'anchor-alias'
  | 'undefined-alias'
  | 'alias-cycle'
  | 'merge-non-map'
  | 'binary-tag'
  | 'js-function-tag'
  | 'unknown-tag'
  | 'tab-indent'
  | 'bom'
  | 'bom-middle'
  | 'second-document'
  | 'document-end'
  | 'yaml-directive'
  | 'deep-block'
  | 'deep-flow'
  | 'unclosed-flow'
  | 'complex-key'
  | 'proto-key'
  | 'null-key'
  | 'duplicate-key'
  | 'crlf'
  | 'cr-only'
  | 'nul-byte';

export const JUNK: Junk[] = [
  'billion-laughs',
  'billion-laughs-used',
  'anchor-alias',
  'undefined-alias',
  'alias-cycle',
  'merge-non-map',
  'binary-tag',
  'js-function-tag',
  'unknown-tag',
  'tab-indent',
  'bom',
  'bom-middle',
  'second-document',
  'document-end',
  'yaml-directive',
  'deep-block',
  'deep-flow',
  'unclosed-flow',
  'complex-key',
  'proto-key',
  'null-key',
  'duplicate-key',
  'crlf',
  'cr-only',
  'nul-byte',
];

function billionLaughs(useAt: string): string[] {
  const lines = ['x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  const names = 'abcdefghij';
  for (let i = 1; i < names.length; i++) {
    const prev = `*${names[i - 1]}`;
    lines.push(`x-${names[i]}: &${names[i]} [${Array(9).fill(prev).join(', ')}]`);
  }
  lines.push(`${useAt}: *j`);
  return lines;
}

export type SpecMutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'truncate'; at: number }
  | { op: 'delete-line'; line: number }
  | { op: 'duplicate-line'; line: number }
  | { op: 'swap-value'; line: number; value: OddValue }
  | { op: 'insert-junk'; line: number; junk: Junk }
  | { op: 'insert-bytes'; at: number; bytes: number[] }
  | { op: 'insert-text'; at: number; text: string }
  | { op: 'replace-all'; bytes: number[] };

export const specMutation: fc.Arbitrary<SpecMutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('delete-line' as const), line: fc.nat() }),
  fc.record({ op: fc.constant('duplicate-line' as const), line: fc.nat() }),
  { weight: 4, arbitrary: fc.record({ op: fc.constant('swap-value' as const), line: fc.nat(), value: oddValue }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('insert-junk' as const), line: fc.nat(), junk: fc.constantFrom(...JUNK) }) },
  fc.record({ op: fc.constant('insert-bytes' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('insert-text' as const), at: fc.nat(), text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }) }),
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replace-all' as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }) }) },
);

export interface SpecCase {
  base: number;
  mutations: SpecMutation[];
}

export const specCase = (bases: number): fc.Arbitrary<SpecCase> => fc.record({ base: fc.nat({ max: bases - 1 }), mutations: fc.array(specMutation, { minLength: 1, maxLength: 3 }) });

/** Applies the mutations to the spec's bytes. */
export function mutateSpec(text: string, mutations: SpecMutation[]): Buffer {
  let buf: Buffer = Buffer.from(text, 'utf8');
  for (const m of mutations) buf = mutateOnce(buf, m);
  return buf;
}

function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      out.push(buf.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}

function mutateOnce(buf: Buffer, m: SpecMutation): Buffer {
  const lines = splitLines(buf);
  const lineIdx = (n: number): number => (lines.length === 0 ? 0 : n % lines.length);
  switch (m.op) {
    case 'flip': {
      if (buf.length === 0) return buf;
      const out = Buffer.from(buf);
      const i = m.at % out.length;
      out[i] = (out[i] ?? 0) ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return buf.subarray(0, buf.length === 0 ? 0 : m.at % buf.length);
    case 'delete-line':
      return Buffer.concat(lines.filter((_, i) => i !== lineIdx(m.line)));
    case 'duplicate-line': {
      const i = lineIdx(m.line);
      return Buffer.concat(lines.flatMap((l, j) => (j === i ? [l, l] : [l])));
    }
    case 'swap-value': {
      // The value after the first `key:` or `- ` of a line that has one; else appended as a key.
      // Lines a previous mutation made huge are left alone: the regex below would crawl on them.
      const value = renderValue(m.value);
      const candidates = lines.map((l, i) => ({ l: l.toString('utf8'), i })).filter(({ l }) => l.length < 10_000 && /^\s*(-\s+)?[^#\s][^:#]*:\s*\S|^\s*-\s+\S/.test(l));
      const c = candidates.length === 0 ? undefined : candidates[m.line % candidates.length];
      if (c === undefined) return Buffer.concat([buf, Buffer.from(`\nx-junk: ${value}\n`)]);
      const mm = /^(\s*(?:-\s+)?[^#\s][^:#]*:\s*|\s*-\s+)(.*?)(\s+#.*)?(\r?\n)?$/s.exec(c.l);
      const next = mm ? `${mm[1]}${value}${mm[4] ?? ''}` : `${value}\n`;
      return Buffer.concat(lines.map((l, i) => (i === c.i ? Buffer.from(next) : l)));
    }
    case 'insert-junk':
      return insertJunk(buf, lines, lineIdx(m.line), m.junk);
    case 'insert-bytes': {
      const i = buf.length === 0 ? 0 : m.at % (buf.length + 1);
      return Buffer.concat([buf.subarray(0, i), Buffer.from(m.bytes), buf.subarray(i)]);
    }
    case 'insert-text': {
      const i = buf.length === 0 ? 0 : m.at % (buf.length + 1);
      return Buffer.concat([buf.subarray(0, i), Buffer.from(m.text, 'utf8'), buf.subarray(i)]);
    }
    case 'replace-all':
      return Buffer.from(m.bytes);
  }
}

function insertJunk(buf: Buffer, lines: Buffer[], at: number, junk: Junk): Buffer {
  const top = (extra: string[]): Buffer => Buffer.concat([buf, Buffer.from(`${buf.length > 0 && buf[buf.length - 1] !== 0x0a ? '\n' : ''}${extra.join('\n')}\n`)]);
  const before = (s: string): Buffer => Buffer.concat([...lines.slice(0, at), Buffer.from(s), ...lines.slice(at)]);
  const text = buf.toString('utf8');
  switch (junk) {
    case 'billion-laughs':
      return top(billionLaughs('x-bomb'));
    case 'billion-laughs-used':
      // The bomb where certgen reads a value: as the node list.
      return Buffer.from(`${billionLaughs('x-bomb').join('\n')}\n${text.replace(/^nodes:.*$/m, 'nodes: *j')}`);
    case 'anchor-alias':
      return Buffer.from(text.replace(/^(certsDir:)\s*(\S+)/m, '$1 &cd $2').replace(/^caKey:.*$/m, 'caKey: *cd'));
    case 'undefined-alias':
      return Buffer.from(text.replace(/^(caKey:).*$/m, '$1 *undefined'));
    case 'alias-cycle':
      return top(['x-cycle: &c', '  self: *c']);
    case 'merge-non-map':
      return top(['x-m: &m 5', 'defaults:', '  <<: *m']);
    case 'binary-tag':
      return Buffer.from(text.replace(/^(caKey:).*$/m, '$1 !!binary aGVsbG8gd29ybGQ='));
    case 'js-function-tag':
      return Buffer.from(text.replace(/^(certsDir:).*$/m, '$1 !!js/function "function () { process.exit(42) }"'));
    case 'unknown-tag':
      return Buffer.from(text.replace(/^(nodes:)(.*)$/m, '$1 !custom$2'));
    case 'tab-indent':
      return Buffer.concat(lines.map((l, i) => (i === at ? Buffer.from(l.toString('utf8').replace(/^ +/, '\t')) : l)));
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf]);
    case 'bom-middle':
      return before('\ufeff');
    case 'second-document':
      return Buffer.concat([buf, Buffer.from('\n---\n'), buf]);
    case 'document-end':
      return before('...\n');
    case 'yaml-directive':
      return Buffer.concat([Buffer.from('%YAML 1.1\n%TAG ! tag:example.com,2000:\n---\n'), buf]);
    case 'deep-block': {
      const lines2 = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}a:`);
      return top(['x-deep:', ...lines2.map((l) => `  ${l}`)]);
    }
    case 'deep-flow':
      return top([`x-deep: ${'['.repeat(20000)}${']'.repeat(20000)}`]);
    case 'unclosed-flow':
      return before(`x-open: {a: [1, {b: "\n`);
    case 'complex-key':
      return top(['? [certsDir, caKey]', ': x']);
    case 'proto-key':
      return Buffer.from(text.replace(/^(nodes:)/m, '__proto__: {polluted: yes}\nconstructor: {prototype: {x: 1}}\n$1'));
    case 'null-key':
      return top(['~: null', '? : empty']);
    case 'duplicate-key':
      return top([(lines[at]?.toString('utf8') ?? 'certsDir: x').replace(/\n$/, '')]);
    case 'crlf':
      return Buffer.from(text.replace(/\n/g, '\r\n'));
    case 'cr-only':
      return Buffer.from(text.replace(/\n/g, '\r'));
    case 'nul-byte':
      return before('\u0000\n');
  }
}

/**
 * Whether `apply` may run on this spec in a fuzz case: its certs dir and CA key lie inside the
 * case's folder (a mutated path could point anywhere, and the tests run as root), and it would
 * make few, small keys (a fuzzed keySize of 16384 takes minutes to generate).
 */
export function applyIsSafe(spec: ClusterSpec, caseDir: string): boolean {
  const inside = (p: string): boolean => !path.relative(caseDir, p).startsWith('..') && !path.isAbsolute(path.relative(caseDir, p));
  const sizes = [spec.ca.keySize, ...spec.nodes.map((n) => n.keySize), ...spec.clients.map((c) => c.keySize)];
  return inside(spec.certsDir) && inside(spec.caKey) && path.relative(caseDir, spec.certsDir) !== '' && sizes.every((s) => s <= 2048) && sizes.length <= 10;
}

export function parseForGuard(text: Buffer, file: string, caseDir: string): ClusterSpec | undefined {
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(text);
  } catch {
    return undefined;
  }
  const r = parseSpec(s, file, { cwd: caseDir, homeDir: caseDir });
  return r.ok ? r.spec : undefined;
}

// ---------------------------------------------------------------------------------------------
// Certs-dir mutation

/** PEM blocks of the wrong kinds, made once. */
export interface Material {
  cert: string;
  rsaKey: string;
  pkcs8Key: string;
  ecKey: string;
  ed25519Key: string;
  encryptedKey: string;
  csr: string;
}

let material: Promise<Material> | undefined;
export function wrongMaterial(validCert: string, validKey: string): Promise<Material> {
  material ??= (async () => {
    const dir = tmpdir('certgen-fuzz-material-');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ed = generateKeyPairSync('ed25519');
    const keyFile = path.join(dir, 'k.pem');
    writeFileSync(keyFile, rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const csr = await openssl(['req', '-new', '-key', keyFile, '-subj', '/O=Cockroach/CN=node']);
    return {
      cert: validCert,
      rsaKey: validKey,
      pkcs8Key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ecKey: ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
      ed25519Key: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      encryptedKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }).toString(),
      csr,
    };
  })();
  return material;
}

export type PemKind = 'cert' | 'rsa-key' | 'pkcs8-key' | 'ec-key' | 'ed25519-key' | 'encrypted-key' | 'csr' | 'bad-base64' | 'empty-block' | 'unterminated' | 'two-certs' | 'der' | 'wrong-label' | 'key-and-cert' | 'cert-then-junk';
const PEM_KINDS: PemKind[] = ['cert', 'rsa-key', 'pkcs8-key', 'ec-key', 'ed25519-key', 'encrypted-key', 'csr', 'bad-base64', 'empty-block', 'unterminated', 'two-certs', 'der', 'wrong-label', 'key-and-cert', 'cert-then-junk'];

export type Content =
  | { kind: 'empty' }
  | { kind: 'truncated'; at: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'der-flip'; at: number; value: number }
  | { kind: 'der-truncate'; at: number }
  | { kind: 'pem'; pem: PemKind }
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: number[] }
  | { kind: 'huge'; mb: number; fill: 'A' | 'zero' | 'pem' | 'newlines' };

export const content: fc.Arbitrary<Content> = fc.oneof(
  fc.constant({ kind: 'empty' as const }),
  fc.record({ kind: fc.constant('truncated' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('der-flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
  fc.record({ kind: fc.constant('der-truncate' as const), at: fc.nat() }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pem' as const), pem: fc.constantFrom(...PEM_KINDS) }) },
  fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'grapheme', maxLength: 60 }) }),
  fc.record({ kind: fc.constant('binary' as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 200 }) }),
  fc.record({ kind: fc.constant('huge' as const), mb: fc.constantFrom(3, 8), fill: fc.constantFrom('A' as const, 'zero' as const, 'pem' as const, 'newlines' as const) }),
  // (A PEM file of 8 MB is 7,000 certificates that every command parses: seconds each; pem is capped at 2 MB.)
);

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
function toPem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;
}

/** The bytes of a replacement for a file whose valid bytes were `original`. */
export function materialize(c: Content, original: Buffer, m: Material): Buffer {
  const label = /-----BEGIN ([^-]+)-----/.exec(original.toString('latin1'))?.[1] ?? 'CERTIFICATE';
  switch (c.kind) {
    case 'empty':
      return Buffer.alloc(0);
    case 'truncated':
      return original.subarray(0, original.length === 0 ? 0 : c.at % original.length);
    case 'flip': {
      const out = Buffer.from(original);
      if (out.length > 0) out[c.at % out.length] = (out[c.at % out.length] ?? 0) ^ (1 << c.bit);
      return out;
    }
    case 'der-flip': {
      // A byte of the DER inside otherwise valid PEM: reaches the ASN.1 readers, not just PEM.
      const der = label.includes('BEGIN') ? original : pemBody(original.toString('latin1'));
      const target = der.length > 0 ? der : pemBody(m.cert);
      const out = Buffer.from(target);
      out[c.at % out.length] = c.value;
      return Buffer.from(toPem(label, out));
    }
    case 'der-truncate': {
      const der = pemBody(original.toString('latin1'));
      const target = der.length > 0 ? der : pemBody(m.cert);
      return Buffer.from(toPem(label, target.subarray(0, c.at % target.length)));
    }
    case 'pem':
      return Buffer.from(pemOf(c.pem, m));
    case 'text':
      return Buffer.from(c.text, 'utf8');
    case 'binary':
      return Buffer.from(c.bytes);
    case 'huge': {
      const size = c.mb * 1024 * 1024;
      if (c.fill === 'zero') return Buffer.alloc(size);
      if (c.fill === 'A') return Buffer.alloc(size, 'A');
      if (c.fill === 'newlines') return Buffer.alloc(size, '\n');
      return Buffer.from(m.cert.repeat(Math.ceil(Math.min(size, 2 * 1024 * 1024) / m.cert.length)));
    }
  }
}

function pemOf(kind: PemKind, m: Material): string {
  switch (kind) {
    case 'cert':
      return m.cert;
    case 'rsa-key':
      return m.rsaKey;
    case 'pkcs8-key':
      return m.pkcs8Key;
    case 'ec-key':
      return m.ecKey;
    case 'ed25519-key':
      return m.ed25519Key;
    case 'encrypted-key':
      return m.encryptedKey;
    case 'csr':
      return m.csr;
    case 'bad-base64':
      return '-----BEGIN CERTIFICATE-----\n!!!not base64***\n-----END CERTIFICATE-----\n';
    case 'empty-block':
      return '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n';
    case 'unterminated':
      return m.cert.replace(/-----END [^-]+-----\n?$/, '');
    case 'two-certs':
      return m.cert + m.cert;
    case 'der':
      return pemBody(m.cert).toString('latin1');
    case 'wrong-label':
      return m.cert.replace(/CERTIFICATE/g, 'X509 CRL');
    case 'key-and-cert':
      return m.rsaKey + m.cert;
    case 'cert-then-junk':
      return `${m.cert}\u0000\u00ff junk`;
  }
}

/** Names to add to a folder: what a user might drop there, and what looks like certgen's files. */
const ODD_NAMES = [
  'with space.crt', 'new\nline.crt', 'tab\there', 'ünïcødé.crt', 'Ω.key', '\u202egpj.crt', '日本.crt', '-rf', '--certs-dir', '-', '--', '..crt', '...', '..ca.key', '.ca.key', '. .',
  'x'.repeat(255), `client.${'x'.repeat(240)}.crt`, 'client.x.crt', 'client.x.key', 'client..crt', 'client.crt', 'client.X.crt', 'client.a.b.crt', 'client.-x.crt', 'client.root.key.pk8', 'client.node.crt', 'client.node.key',
  'node.crt', 'node.key', 'ca.crt', 'ca.key', 'ca-client.crt', 'ca-client.key', 'ui.crt', 'ui.key', 'ca-ui.crt', 'tenant-client.crt', '.certgen.lock', '.hidden', '.node.crt.tmp', 'node.crt.old', 'node.crt~', 'CA.CRT', 'node.CRT',
  'nodes', 'clients', 'node1', 'root', 'node 2', 'NODE1', '-node', 'client.%s.crt', '$(reboot)', '`id`', "'; rm -rf /'", '*', '?', '[a]', '\\', 'con', 'nul', '%00', '\u0001\u0002', '\u00ff',
];

export const oddName: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_NAMES) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('', 'client.', 'node.', '.', '-'), fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), fc.constantFrom('', '.crt', '.key', '.key.pk8'))
      .map(([a, b, c]) => `${a}${b}${c}`)
      .filter((n) => !n.includes('/') && !n.includes('\0') && n !== '.' && n !== '..' && Buffer.byteLength(n) <= 255),
  },
);

export type TreeMutation =
  | { op: 'replace'; target: number; content: Content }
  | { op: 'to-dir'; target: number }
  | { op: 'remove'; target: number }
  | { op: 'add'; folder: number; name: string; entry: 'file' | 'dir' | 'fifo'; content: Content };

export const treeMutation = (fifos: boolean): fc.Arbitrary<TreeMutation> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), target: fc.nat(), content }) },
    fc.record({ op: fc.constant('to-dir' as const), target: fc.nat() }),
    fc.record({ op: fc.constant('remove' as const), target: fc.nat() }),
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('add' as const), folder: fc.nat(), name: oddName, entry: fifos ? fc.constantFrom('file' as const, 'dir' as const, 'fifo' as const) : fc.constantFrom('file' as const, 'dir' as const), content }),
    },
  );

export interface TreeCase {
  tree: number;
  mutations: TreeMutation[];
}

export const treeCase = (trees: number, fifos: boolean): fc.Arbitrary<TreeCase> =>
  fc.record({ tree: fc.nat({ max: trees - 1 }), mutations: fc.array(treeMutation(fifos), { minLength: 1, maxLength: 3 }) });

/** A valid tree, made once, that cases copy. Paths are relative to `dir`. */
export interface BaseTree {
  kind: 'apply' | 'cert';
  dir: string;
  /** Relative to dir. */
  certsDir: string;
  caKey: string;
  spec?: string;
  files: string[];
  folders: string[];
  /** Folders to run `cert list` / `report --certs-dir` on. */
  listDirs: string[];
}

async function must(r: Promise<Run>): Promise<void> {
  const x = await r;
  if (x.code !== 0 || x.crash) throw new Error(`certgen ${x.args.join(' ')} failed (${x.code}): ${x.crash ?? ''}${x.stderr}`);
}

/** The two trees: one by `certgen apply` on a spec, one by the `certgen cert` commands. */
export async function makeBaseTrees(): Promise<BaseTree[]> {
  const a = tmpdir('certgen-fuzz-base-apply-');
  writeFileSync(
    path.join(a, 'cluster-certs.yaml'),
    ['certsDir: certs', 'caKey: secrets/ca.key', 'ca: { keySize: 1024 }', 'defaults: { keySize: 1024 }', 'nodes:', '  - name: node1', '    hosts: [localhost, 127.0.0.1]', 'clients:', '  - user: root', '  - user: maxroach', '    pkcs8: true', ''].join('\n'),
  );
  await must(runCertgen('in-process', ['apply', path.join(a, 'cluster-certs.yaml')], a));
  const c = tmpdir('certgen-fuzz-base-cert-');
  mkdirSync(path.join(c, 'secrets'), { mode: 0o700 });
  const common = ['--certs-dir', path.join(c, 'certs'), '--ca-key', path.join(c, 'secrets', 'ca.key'), '--key-size', '1024'];
  await must(runCertgen('in-process', ['cert', 'create-ca', ...common], c));
  await must(runCertgen('in-process', ['cert', 'create-client-ca', '--certs-dir', path.join(c, 'certs'), '--ca-key', path.join(c, 'secrets', 'ca-client.key'), '--key-size', '1024'], c));
  await must(runCertgen('in-process', ['cert', 'create-node', 'localhost', '127.0.0.1', ...common], c));
  await must(runCertgen('in-process', ['cert', 'create-client', 'root', ...common, '--ca-key', path.join(c, 'secrets', 'ca-client.key')], c));
  await must(runCertgen('in-process', ['cert', 'create-client', 'maxroach', '--also-generate-pkcs8-key', ...common, '--ca-key', path.join(c, 'secrets', 'ca-client.key')], c));
  const listing = (dir: string): { files: string[]; folders: string[] } => {
    const s = snapshot(dir);
    return { files: [...s].filter(([, v]) => v.startsWith('file')).map(([k]) => k).filter((k) => !k.endsWith('.yaml')).sort(), folders: ['.', ...[...s].filter(([, v]) => v.startsWith('dir')).map(([k]) => k).sort()] };
  };
  return [
    { kind: 'apply', dir: a, certsDir: 'certs', caKey: 'secrets/ca.key', spec: 'cluster-certs.yaml', ...listing(a), listDirs: ['certs/nodes/node1', 'certs/clients/maxroach'] },
    { kind: 'cert', dir: c, certsDir: 'certs', caKey: 'secrets/ca.key', ...listing(c), listDirs: ['certs'] },
  ];
}

export interface Prepared {
  dir: string;
  /** Relative paths of entries the mutations touched or added (no longer "valid"). */
  touched: Set<string>;
  /** Names a failure message may use for what is wrong. */
  mentions: string[];
  fifo: boolean;
}

/** Copies the base tree to a fresh folder and applies the mutations. */
export async function prepareTree(base: BaseTree, mutations: TreeMutation[]): Promise<Prepared> {
  const dir = caseDir('certgen-fuzz-case-');
  cpSync(base.dir, dir, { recursive: true, preserveTimestamps: true });
  const m = await wrongMaterial(readFileSync(path.join(base.dir, base.certsDir, 'ca.crt'), 'utf8'), readFileSync(path.join(base.dir, base.caKey), 'utf8'));
  const touched = new Set<string>();
  const mentions = new Set<string>();
  let fifo = false;
  const mention = (rel: string): void => {
    // Any of: the path from the case folder, from the certs dir, the name, its folder's name.
    const fromCerts = path.relative(base.certsDir, rel);
    for (const s of [rel, fromCerts, path.basename(rel), path.basename(path.dirname(rel))]) {
      if (s === '' || s === '.' || s === base.certsDir) continue;
      mentions.add(s);
      mentions.add(JSON.stringify(s).slice(1, -1));
    }
    const parts = fromCerts.split(path.sep);
    if (parts[0] === 'nodes' && parts[1]) mentions.add(`node/${parts[1]}`);
    if (parts[0] === 'clients' && parts[1]) mentions.add(`client/${parts[1]}`);
  };
  for (const mu of mutations) {
    if (mu.op === 'add') {
      const folder = base.folders[mu.folder % base.folders.length] ?? '.';
      const rel = path.join(folder, mu.name);
      const abs = path.join(dir, rel);
      rmSync(abs, { recursive: true, force: true });
      if (mu.entry === 'dir') {
        mkdirSync(abs, { recursive: true });
        writeFileSync(path.join(abs, 'node.crt'), materialize(mu.content, Buffer.from(m.cert), m));
      } else if (mu.entry === 'fifo') {
        await execa('mkfifo', [abs]);
        fifo = true;
      } else {
        mkdirSync(path.dirname(abs), { recursive: true });
        writeFileSync(abs, materialize(mu.content, Buffer.from(m.cert), m));
      }
      touched.add(rel);
      mention(rel);
      continue;
    }
    const rel = base.files[mu.target % base.files.length] ?? '';
    const abs = path.join(dir, rel);
    touched.add(rel);
    mention(rel);
    if (mu.op === 'remove') rmSync(abs, { recursive: true, force: true });
    else if (mu.op === 'to-dir') {
      rmSync(abs, { recursive: true, force: true });
      mkdirSync(abs);
    } else {
      let original: Buffer;
      try {
        original = readFileSync(abs);
      } catch {
        original = Buffer.from(m.cert);
        rmSync(abs, { recursive: true, force: true });
      }
      writeFileSync(abs, materialize(mu.content, original, m));
    }
  }
  // The CA key stays owner-only whatever was written to it, so a mode complaint is not the finding.
  try {
    if (lstatSync(path.join(dir, base.caKey)).isFile()) chmodSync(path.join(dir, base.caKey), 0o600);
  } catch {
    /* removed or a folder */
  }
  return { dir, touched, mentions: [...mentions], fifo };
}

/** Runs the commands of a certs-dir case and returns every property violation. */
export async function runTreeCase(base: BaseTree, c: TreeCase, mode: Mode): Promise<string[]> {
  const t0 = Date.now();
  if (TRACE_CASES) process.stderr.write(`fuzz: case ${fc.stringify(c)}\n`);
  try {
    return await runTreeCaseTimed(base, c, mode);
  } finally {
    removeCaseDirs();
    if (Date.now() - t0 > SLOW_MS) process.stderr.write(`fuzz: slow case (${Date.now() - t0} ms): ${fc.stringify(c)}\n`);
  }
}

async function runTreeCaseTimed(base: BaseTree, c: TreeCase, mode: Mode): Promise<string[]> {
  const p = await prepareTree(base, c.mutations);
  const caKeyPem = safeRead(path.join(base.dir, base.caKey));
  const secrets = secretLines(caKeyPem);
  const problems: string[] = [];
  const abs = (rel: string): string => path.join(p.dir, rel);
  const readOnly: string[][] = base.listDirs.flatMap((d) => [
    ['cert', 'list', '--certs-dir', abs(d)],
    ['report', '--certs-dir', abs(d), '--format', 'json'],
  ]);
  readOnly.push(['report', '--certs-dir', abs(base.certsDir), '--recursive']);
  if (base.spec) {
    const spec = abs(base.spec);
    readOnly.push(['plan', spec, '--detailed-exitcode'], ['plan', spec, '--json'], ['check', spec], ['report', spec], ['apply', spec, '--dry-run']);
  }
  const header = `case folder ${p.dir}`;
  for (const args of readOnly) {
    const before = snapshot(p.dir);
    const r = await runCertgen(mode, args, p.dir);
    problems.push(...checkRun(r, { mentions: p.mentions, secrets }));
    problems.push(...unexpectedChanges(before, snapshot(p.dir)).map((s) => `certgen ${args.join(' ')} (reads only) changed the tree: ${s}`));
    if (r.crash) return [header, ...problems];
  }
  if (base.spec && !p.fifo) {
    // apply may change exactly what its plan lists (in the certs dir), never the CA key.
    const spec = abs(base.spec);
    const planRun = await runCertgen('in-process', ['plan', spec, '--json'], p.dir);
    let allowed = new Set<string>();
    try {
      const plan = JSON.parse(planRun.stdout) as { errors: unknown[]; changes: { action: string; files: string[] }[] };
      if (plan.errors.length === 0) allowed = new Set(plan.changes.filter((ch) => ch.action !== 'keep' && ch.action !== 'orphan').flatMap((ch) => ch.files.map((f) => path.join(base.certsDir, ...f.split('/')))));
    } catch {
      /* no plan: nothing may change */
    }
    // The journal beside the spec takes a line for a run that changed something and stays whole;
    // one the mutations broke is never extended.
    const journalWhole = journalProblems(journalFileFor(spec)).length === 0;
    const before = snapshot(p.dir);
    const r = await runCertgen(mode, ['apply', spec], p.dir);
    problems.push(...checkRun(r, { mentions: p.mentions, secrets }));
    const after = snapshot(p.dir);
    const journal = path.relative(p.dir, journalFileFor(spec));
    const created = (rel: string): boolean => (rel === journal && journalWhole) || [...allowed].some((a) => a === rel || a.startsWith(rel + path.sep));
    problems.push(
      ...unexpectedChanges(before, after, (rel) => rel !== base.caKey && created(rel), (rel) => created(rel) || (rel === base.caKey && !before.has(rel))).map((s) => `certgen apply changed what its plan did not list: ${s}`),
      ...(journalWhole ? journalProblems(journalFileFor(spec)) : []),
    );
  }
  return problems.length > 0 ? [header, ...problems] : [];
}

/** Case folders made since the last call; removed after each case (long runs make thousands, some of several MB). */
const caseDirs: string[] = [];
function caseDir(prefix: string): string {
  const d = tmpdir(prefix);
  caseDirs.push(d);
  return d;
}
function removeCaseDirs(): void {
  for (const d of caseDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Spec cases

export interface SpecBase {
  name: string;
  text: string;
  /** A folder with the spec applied (its certs dir and CA key), copied by every case. */
  dir: string;
}

export async function makeSpecBases(): Promise<SpecBase[]> {
  const out: SpecBase[] = [];
  for (const s of baseSpecs()) {
    const dir = tmpdir('certgen-fuzz-spec-base-');
    const file = path.join(dir, 'cluster-certs.yaml');
    writeFileSync(file, s.text);
    await must(runCertgen('in-process', ['apply', file], dir));
    out.push({ ...s, dir });
  }
  return out;
}

export async function runSpecCase(bases: SpecBase[], c: SpecCase, mode: Mode): Promise<string[]> {
  const t0 = Date.now();
  if (TRACE_CASES) process.stderr.write(`fuzz: case ${fc.stringify(c)}\n`);
  try {
    return await runSpecCaseTimed(bases, c, mode);
  } finally {
    removeCaseDirs();
    if (Date.now() - t0 > SLOW_MS) process.stderr.write(`fuzz: slow case (${Date.now() - t0} ms): ${fc.stringify(c)}\n`);
  }
}

async function runSpecCaseTimed(bases: SpecBase[], c: SpecCase, mode: Mode): Promise<string[]> {
  const base = bases[c.base % bases.length];
  if (!base) return [];
  const dir = caseDir('certgen-fuzz-spec-case-');
  cpSync(base.dir, dir, { recursive: true, preserveTimestamps: true });
  const file = path.join(dir, 'cluster-certs.yaml');
  const text = mutateSpec(base.text, c.mutations);
  writeFileSync(file, text);
  const caKey = [path.join(dir, 'secrets', 'ca.key'), path.join(dir, 'ca.key'), path.join(dir, 'pki', 'cockroach-ca.key')].map(safeRead).join('\n');
  const secrets = secretLines(caKey);
  // A spec error names file:line:col; a read error names the file; a plan error its artifact.
  const mentionPattern = new RegExp(`${escapeRe(file)}(:\\d+:\\d+)?|\\b(ca|node/\\S+|client/\\S+|secrets/|certs/)`);
  const problems: string[] = [];
  let guard: ClusterSpec | undefined;
  try {
    guard = parseForGuard(text, file, dir);
  } catch (err) {
    // parseSpec promises never to throw for a bad spec.
    problems.push(`parseSpec threw: ${describe(err)}`);
  }
  const commands: string[][] = [['validate', file], ['plan', file, '--detailed-exitcode'], ['check', file], ['report', file, '--format', 'json'], ['apply', file, '--dry-run']];
  for (const args of commands) {
    const before = snapshot(dir);
    const r = await runCertgen(mode, args, dir);
    problems.push(...checkRun(r, { mentions: [file], secrets, mentionPattern }));
    problems.push(...unexpectedChanges(before, snapshot(dir)).map((s) => `certgen ${args[0]} (reads only) changed the tree: ${s}`));
    if (r.crash) break;
  }
  if (guard && applyIsSafe(guard, dir) && problems.length === 0) {
    const planRun = await runCertgen('in-process', ['plan', file, '--json'], dir);
    let allowed = new Set<string>();
    try {
      const plan = JSON.parse(planRun.stdout) as { errors: unknown[]; changes: { action: string; files: string[] }[] };
      if (plan.errors.length === 0) allowed = new Set(plan.changes.filter((ch) => ch.action !== 'keep' && ch.action !== 'orphan').flatMap((ch) => ch.files.map((f) => path.relative(dir, path.join(guard.certsDir, ...f.split('/'))))));
    } catch {
      /* nothing may change */
    }
    const caKeyRel = path.relative(dir, guard.caKey);
    const journalFile = journalFileFor(path.resolve(dir, file));
    const journalWhole = journalProblems(journalFile).length === 0;
    const before = snapshot(dir);
    const r = await runCertgen(mode, ['apply', file], dir);
    problems.push(...checkRun(r, { mentions: [file], secrets, mentionPattern }));
    const journal = path.relative(dir, journalFile);
    const created = (rel: string): boolean => (rel === journal && journalWhole) || [...allowed].some((a) => a === rel || a.startsWith(rel + path.sep));
    if (journalWhole) problems.push(...journalProblems(journalFile));
    problems.push(
      ...unexpectedChanges(before, snapshot(dir), (rel) => rel !== caKeyRel && created(rel), (rel) => created(rel) || (rel === caKeyRel && !before.has(rel)) || isParentOf(rel, caKeyRel) || isParentOf(rel, path.relative(dir, guard.certsDir))).map(
        (s) => `certgen apply changed what its plan did not list: ${s}`,
      ),
    );
  }
  return problems.length > 0 ? [`spec ${JSON.stringify(text.toString('utf8').slice(0, 3000))}`, ...problems] : [];
}

function isParentOf(rel: string, child: string): boolean {
  return rel === child || child.startsWith(rel + path.sep);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
