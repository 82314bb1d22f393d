// Pure: the text of a cluster-certs.yaml → a normalised ClusterSpec, or every problem in it, each
// located as file:line:col. No fs, no clock, no environment: the cwd and home directory are passed
// in (only a relative `file` without `cwd` falls back to path.resolve). The schema is read once, at
// import. Stages: YAML syntax → JSON Schema (ajv, all errors) together with the semantic rules, so
// one run reports everything → normalise (defaults, absolute paths) once nothing is wrong.

import * as path from 'node:path';
import type { ErrorObject, SchemaObject } from 'ajv';
import { failedSchema, schemaErrors, SPEC_SCHEMA } from './spec-validator.js';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Pair, type YAMLMap } from 'yaml';
import { parseDuration } from '../core/duration.js';
import { describeHostProblem, formatIP, parseIP } from '../core/hosts.js';
import { checkUsername, normalizeUsername } from '../core/username.js';
import { DEFAULT_KEY_TYPE, isKeyType, type KeyType } from '../core/key-type.js';
import { checkKubernetes, kubernetesOutputs, nodeSetNodes } from './kubernetes-spec.js';
import {
  DEFAULT_CA_LIFETIME,
  DEFAULT_CLIENT_PROPAGATION,
  DEFAULT_KEY_SIZE,
  DEFAULT_LIFETIME,
  DEFAULT_RENEW_BEFORE,
  DEFAULT_SSH_PORT,
  type ClientSpec,
  type ClientCaSpec,
  type ClusterSpec,
  type Diagnostic,
  type NodeSpec,
  type SshTarget,
  type TenantSpec,
  type VerifySpec,
} from './spec.js';
import { DEFAULT_TENANT_HOSTS } from '../core/defaults.js';
import { ageRecipientProblem } from '../core/age-recipient.js';

export type { Diagnostic } from './spec.js';

/** What {@link parseSpec} needs from the world, passed in so that it stays pure. */
export interface ParseSpecOptions {
  /** Folder a relative `file` is resolved against. Default: the process's current directory. */
  cwd?: string;
  /**
   * The local home directory, to expand a leading `~/` in local paths (certsDir, caKey,
   * ssh.identityFile, ssh.knownHosts). Without it such paths are reported as errors.
   */
  homeDir?: string;
}

export type ParseSpecResult =
  | { ok: true; spec: ClusterSpec; warnings: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[]; warnings: Diagnostic[] };

const SCHEMA = SPEC_SCHEMA;
const DEFS = SCHEMA['definitions'] as Record<string, SchemaObject>;
const DURATION_SCHEMA = DEFS['duration'];
const NODE_NAME_SCHEMA = (DEFS['node']?.['properties'] as Record<string, SchemaObject> | undefined)?.['name'];
const SSH_PROPS = DEFS['ssh']?.['properties'] as Record<string, SchemaObject> | undefined;
const CA_SCHEMA = (SCHEMA['properties'] as Record<string, SchemaObject>)['ca'];
/** Kubernetes names: a DNS label (node set, StatefulSet, namespace) or an object name (a DNS subdomain). */
const K8S_LABEL_SCHEMAS = new Set([DEFS['nodeSet']?.['properties']?.['name'], DEFS['nodeSet']?.['properties']?.['statefulSet'], DEFS['nodeSet']?.['properties']?.['namespace'], DEFS['kubernetesOutput']?.['properties']?.['namespace']]);
const K8S_OBJECT_NAME_SCHEMA = DEFS['objectName'];

/** The `$id` of schemas/cluster-certs.schema.json. */
export const SPEC_SCHEMA_ID = String(SCHEMA['$id']);


/** `file:line:col: path: message` (path omitted when empty; `warning: ` before it for warnings). */
export function formatDiagnostic(d: Diagnostic): string {
  const severity = d.severity === 'warning' ? 'warning: ' : '';
  const where = d.path === '' ? '' : `${d.path}: `;
  return `${d.file}:${d.line}:${d.col}: ${severity}${where}${d.message}`;
}

type Seg = string | number;

/**
 * Parses and validates a cluster spec. Never throws for a bad spec: every YAML, schema and rule
 * problem comes back at once, sorted by line then column.
 *
 * @param text - the file's contents.
 * @param file - the file's path as the user typed it; used verbatim in diagnostics and resolved
 *   (against `options.cwd`) to locate relative paths in the spec.
 */
export function parseSpec(text: string, file: string, options: ParseSpecOptions = {}): ParseSpecResult {
  const absFile = options.cwd === undefined ? path.resolve(file) : path.resolve(options.cwd, file);
  const baseDir = path.dirname(absFile);
  const lineCounter = new LineCounter();
  // logLevel 'error': the yaml package would print a collection key's warning on the process's stderr;
  // such a key is reported below like any other unknown key.
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true, logLevel: 'error' });
  } catch (err) {
    // The parser recurses once per nesting level: deep enough nesting overflows the stack (it
    // reports that as a located error only in some of its phases).
    return fail([{ file, line: 1, col: 1, path: '', message: describeYamlError('', err instanceof Error ? err.message : String(err), text, [0, 0]) }], []);
  }
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const at = (offset: number | undefined): { line: number; col: number } =>
    offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);

  // Stage 1: YAML syntax. A broken document is not checked further.
  for (const e of doc.errors) errors.push({ file, ...at(e.pos[0]), path: '', message: describeYamlError(e.code, e.message, text, e.pos) });
  for (const w of doc.warnings) {
    warnings.push({ file, ...at(w.pos[0]), path: '', message: `YAML: ${firstLine(w.message)}`, severity: 'warning' });
  }
  if (errors.length > 0) return fail(errors, warnings);

  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    const message = 'the spec is empty; it needs at least certsDir, caKey and nodes (see examples/cluster-certs.yaml)';
    return fail([{ file, line: 1, col: 1, path: '', message }], warnings);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    const message = `invalid YAML: ${firstLine(err instanceof Error ? err.message : String(err))}`;
    return fail([{ file, line: 1, col: 1, path: '', message }], warnings);
  }

  const locate = makeLocator(doc, lineCounter);
  const report = (segs: Seg[], message: string, where: 'value' | 'key' = 'value', pathSegs: Seg[] = segs): void => {
    errors.push({ file, ...locate(segs, where), path: formatPath(pathSegs), message });
  };
  const warn = (segs: Seg[], message: string): void => {
    warnings.push({ file, ...locate(segs), path: formatPath(segs), message, severity: 'warning' });
  };

  // Stage 2: the schema and the semantic rules, together, so that all errors show at once. The
  // rules skip values of the wrong type: the schema already reports those.
  const problems = schemaErrors(data);
  // A value of the wrong type gets that one error, not also the range or pattern checks after it.
  const wrongType = new Set(problems.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  for (const e of problems) {
    if (e.keyword !== 'type' && wrongType.has(e.instancePath)) continue;
    const d = describeSchemaError(e, data);
    if (d !== undefined) report(d.segs, d.message, d.where, d.pathSegs);
  }
  const ctx: RuleContext = { data: asObject(data) ?? {}, baseDir, homeDir: options.homeDir, report, warn, locate };
  checkRules(ctx);

  if (errors.length > 0) return fail(errors, warnings);
  // Stage 3: the spec is valid; fill in defaults and resolve paths.
  return { ok: true, spec: normalize(ctx.data, absFile, baseDir, options.homeDir), warnings: sortDiagnostics(warnings) };
}

function fail(errors: Diagnostic[], warnings: Diagnostic[]): ParseSpecResult {
  return { ok: false, diagnostics: sortDiagnostics(errors), warnings: sortDiagnostics(warnings) };
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.map((d) => ({ ...d, message: redactPem(d.message) })).sort((a, b) => a.line - b.line || a.col - b.col);
}

/** A PEM block in a message, to the END line, or else to the end of the quoted value or message. */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----(?:[^"]*?-----END \1-----|[^"]*)/g;

/**
 * Diagnostics quote what the operator wrote, and end up in CI logs: a key file given as the spec,
 * or a key pasted into it, is named by its PEM type and never shown.
 */
function redactPem(message: string): string {
  return message.replace(PEM_BLOCK, '-----BEGIN $1----- (PEM contents not shown)');
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0] ?? s;
}

function describeYamlError(code: string, message: string, text: string, pos: [number, number]): string {
  if (code === 'DUPLICATE_KEY') {
    // pos marks the start of the repeated key; read the key up to its ':'.
    const key = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^:#\n]*?)\s*:/.exec(text.slice(pos[0]))?.[1];
    return key === undefined || key === '' ? 'duplicate key' : `duplicate key ${key.startsWith('"') || key.startsWith("'") ? key : JSON.stringify(key)}`;
  }
  if (code === 'MULTIPLE_DOCS') return 'invalid YAML: a spec is a single document; remove this "---" and what follows, or split the file';
  let m = firstLine(message);
  if (/^[A-Z][a-z]/.test(m)) m = m[0]?.toLowerCase() + m.slice(1);
  return `invalid YAML: ${m}`;
}

// ---------------------------------------------------------------------------------------------
// Locating a value in the YAML source

type Locate = (segs: Seg[], where?: 'value' | 'key') => { line: number; col: number };

/**
 * Walks the YAML node tree along `segs` (following aliases and `<<` merges) and returns the
 * position of the value, or of its key when asked or when the value is empty (`hosts:` alone);
 * if the path leaves the tree, the deepest node found.
 */
function makeLocator(doc: Document, lc: LineCounter): Locate {
  const resolve = (n: unknown): unknown => (isAlias(n) ? n.resolve(doc) : n);
  const findPair = (map: YAMLMap, key: string, depth: number): Pair | undefined => {
    for (const p of map.items) if (isScalar(p.key) && String(p.key.value) === key) return p;
    if (depth > 10) return undefined;
    for (const p of map.items) {
      if (!(isScalar(p.key) && p.key.source === '<<')) continue;
      const source = resolve(p.value);
      for (const s of isSeq(source) ? source.items.map(resolve) : [source]) {
        const found = isMap(s) ? findPair(s, key, depth + 1) : undefined;
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  const start = (n: unknown): number | undefined => {
    const range = (n as { range?: [number, number, number] } | null | undefined)?.range;
    return range?.[0];
  };
  return (segs, where = 'value') => {
    let value: unknown = doc.contents;
    let key: unknown;
    for (const seg of segs) {
      const node = resolve(value);
      let next: unknown;
      let nextKey: unknown;
      if (isMap(node)) {
        const pair = findPair(node, String(seg), 0);
        if (pair === undefined) break;
        next = pair.value;
        nextKey = pair.key;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        next = node.items[seg];
        if (isPair(next)) next = next.value;
      } else {
        break;
      }
      value = next;
      key = nextKey;
    }
    const node = resolve(value);
    const empty = node === null || node === undefined || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
    const offset = (where === 'key' || empty) && key !== undefined ? start(key) : start(node);
    return offset === undefined ? { line: 1, col: 1 } : lc.linePos(offset);
  };
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/** `['nodes', 1, 'hosts', 2]` → `nodes[1].hosts[2]`. */
function formatPath(segs: Seg[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (IDENTIFIER.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** An ajv `instancePath` (JSON Pointer) → segments, numbers where the data is an array. */
function pointerToSegs(pointer: string, data: unknown): Seg[] {
  const segs: Seg[] = [];
  let cur = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      segs.push(Number(key));
      cur = cur[Number(key)];
    } else {
      segs.push(key);
      cur = asObject(cur)?.[key];
    }
  }
  return segs;
}

// ---------------------------------------------------------------------------------------------
// Schema errors → messages

/** A value as an operator wrote it: scalars verbatim (strings quoted), collections by kind. */
function show(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  return String(v);
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
  null: 'an empty value',
};

/** Where to point (`segs`, at the value or its key), what path to name, and what to say. */
interface SchemaProblem {
  segs: Seg[];
  where: 'value' | 'key';
  pathSegs?: Seg[];
  message: string;
}

function describeSchemaError(e: ErrorObject, data: unknown): SchemaProblem | undefined {
  const segs = pointerToSegs(e.instancePath, data);
  const value: unknown = e.data;
  const parent = failedSchema(e);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      const allowed = Object.keys((parent?.['properties'] as Record<string, unknown> | undefined) ?? {});
      if (parent === CA_SCHEMA && name === 'renewBefore') {
        return {
          segs: [...segs, name],
          where: 'key',
          pathSegs: segs,
          message: `unknown key "renewBefore": the CA has no renewBefore, it is never reissued automatically (plan reports an expiring CA); defaults.renewBefore applies to nodes and clients`,
        };
      }
      const guess = suggest(name, allowed);
      const tail = guess !== undefined ? ` (did you mean "${guess}"?)` : allowed.length > 0 ? `; expected one of: ${allowed.join(', ')}` : '';
      return { segs: [...segs, name], where: 'key', pathSegs: segs, message: `unknown key ${JSON.stringify(name)}${tail}` };
    }
    case 'required':
      return { segs, where: 'value', message: `missing required key ${JSON.stringify(String(params['missingProperty']))}` };
    case 'type': {
      const expected = String(params['type'])
        .split(',')
        .map((t) => TYPE_NAMES[t] ?? t)
        .join(' or ');
      if (parent === DURATION_SCHEMA && typeof value === 'number') {
        return { segs, where: 'value', message: `expected a duration with a unit, such as "720h", got ${value}` };
      }
      const empty = value === null && params['type'] === 'array' ? ' (write [] for none)' : '';
      return { segs, where: 'value', message: `expected ${expected}, got ${show(value)}${empty}` };
    }
    case 'pattern':
      // Durations are checked by the rules, with Go's own error text; the pattern is for editors.
      if (parent === DURATION_SCHEMA) return undefined;
      if (parent === NODE_NAME_SCHEMA) {
        return { segs, where: 'value', message: `${show(value)} is not a valid node name: use lowercase letters, digits and hyphens, starting with a letter or digit` };
      }
      if (K8S_LABEL_SCHEMAS.has(parent)) {
        return { segs, where: 'value', message: `${show(value)} is not a valid Kubernetes name: lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS label)` };
      }
      if (parent === K8S_OBJECT_NAME_SCHEMA) {
        return { segs, where: 'value', message: `${show(value)} is not a valid Kubernetes object name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit` };
      }
      if (parent === SSH_PROPS?.['host']) {
        return { segs, where: 'value', message: `${show(value)} is not a valid ssh host: no spaces, no "@" (set ssh.user instead) and no leading "-"` };
      }
      if (parent === SSH_PROPS?.['user']) {
        return { segs, where: 'value', message: `${show(value)} is not a valid ssh user: no spaces, "@" or ":" and no leading "-"` };
      }
      if (segs.length >= 2 && segs[segs.length - 2] === 'options') {
        return { segs, where: 'value', message: `${show(value)} is not an ssh option: write Name=value, e.g. "ConnectTimeout=5"` };
      }
      return { segs, where: 'value', message: `${show(value)} does not match the pattern ${String(params['pattern'])}` };
    case 'minimum':
      return { segs, where: 'value', message: `must be at least ${String(params['limit'])}, got ${show(value)}` };
    case 'maximum':
      return { segs, where: 'value', message: `must be at most ${String(params['limit'])}, got ${show(value)}` };
    case 'multipleOf':
      return { segs, where: 'value', message: `must be a multiple of ${String(params['multipleOf'])}, got ${show(value)}` };
    case 'minItems':
      if (segs[segs.length - 1] === 'hosts') return { segs, where: 'value', message: 'must list at least one host' };
      return { segs, where: 'value', message: `must have at least ${String(params['limit'])} item(s)` };
    case 'maxLength':
      return { segs, where: 'value', message: `is longer than ${String(params['limit'])} characters` };
    case 'minLength':
      return { segs, where: 'value', message: 'must not be empty' };
    case 'const': {
      const suffix = segs.length === 1 && segs[0] === 'version' ? ' (the only version of the spec format so far)' : '';
      return { segs, where: 'value', message: `must be ${JSON.stringify(params['allowedValue'])}, got ${show(value)}${suffix}` };
    }
    case 'enum':
      return { segs, where: 'value', message: `must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${show(value)}` };
    default:
      return { segs, where: 'value', message: e.message ?? `invalid (${e.keyword})` };
  }
}

/**
 * The allowed key closest to a misspelt one: the same ignoring case, within 2 edits, or one that
 * begins with it (`identity` → `identityFile`).
 */
function suggest(name: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const candidate of allowed) if (candidate.toLowerCase() === lower) return candidate;
  if (lower.length >= 4) for (const candidate of allowed) if (candidate.toLowerCase().startsWith(lower)) return candidate;
  for (const candidate of allowed) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.min(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(a.length, b.length);
}

// ---------------------------------------------------------------------------------------------
// Semantic rules (run on the raw data, skipping anything of the wrong type)

type Obj = Record<string, unknown>;

function asObject(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

interface RuleContext {
  data: Obj;
  baseDir: string;
  homeDir: string | undefined;
  report(segs: Seg[], message: string): void;
  warn(segs: Seg[], message: string): void;
  locate: Locate;
}

/** A duration in effect somewhere: its value, its text, and where it was written (none = default). */
interface Effective {
  ns: bigint;
  text: string;
  at: Seg[] | undefined;
}

/**
 * Resolves a local path from the spec: `~` / `~/…` against the home directory, anything else
 * against the spec's folder. `undefined` when it needs a home directory that is not known.
 */
function resolveLocal(text: string, baseDir: string, homeDir: string | undefined): string | undefined {
  if (text === '~' || text.startsWith('~/')) {
    return homeDir === undefined ? undefined : path.resolve(homeDir, text.slice(2));
  }
  return path.resolve(baseDir, text);
}

/** Whether `child` is `parent` or lies under it; case-insensitively, to be safe on macOS and Windows. */
function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent.toLowerCase(), child.toLowerCase());
  // `..ca.key` is a name inside the folder, not a way out of it.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

const LEAF_KINDS = ['nodes', 'clients', 'nodeSets', 'tenants'] as const;

function checkRules(ctx: RuleContext): void {
  const { data, report } = ctx;

  // Local paths: certsDir, caKey and the ssh files must resolve; the CA key stays out of the tree.
  const local = (segs: Seg[], text: unknown): string | undefined => {
    if (typeof text !== 'string' || text === '') return undefined;
    const resolved = resolveLocal(text, ctx.baseDir, ctx.homeDir);
    if (resolved === undefined) report(segs, `${show(text)}: cannot expand "~" here, no home directory was given`);
    return resolved;
  };
  const certsDir = local(['certsDir'], data['certsDir']);
  const caKey = local(['caKey'], data['caKey']);
  if (certsDir !== undefined && caKey !== undefined && isInside(caKey, certsDir)) {
    report(
      ['caKey'],
      `${show(data['caKey'])} is inside certsDir ${show(data['certsDir'])}; the CA key must be kept outside the tree that gets distributed`,
    );
  }
  const clientCaObj = asObject(data['clientCa']);
  const clientCaKey = clientCaObj ? local(['clientCa', 'key'], clientCaObj['key']) : undefined;
  if (clientCaObj !== undefined) {
    if (certsDir !== undefined && clientCaKey !== undefined && isInside(clientCaKey, certsDir)) {
      report(['clientCa', 'key'], `${show(clientCaObj['key'])} is inside certsDir ${show(data['certsDir'])}; the client CA key must be kept outside the tree that gets distributed`);
    } else if (clientCaKey !== undefined && caKey !== undefined && clientCaKey.toLowerCase() === caKey.toLowerCase()) {
      report(['clientCa', 'key'], `${show(clientCaObj['key'])} is the CA key (caKey): the client CA needs a key of its own`);
    }
    // Not yet: cockroach verifies tenant client certificates with ca-client.crt once it exists, and
    // the Kubernetes layouts carry no ca-client.crt; both would need their own design.
    if (data['tenants'] !== undefined && asArray(data['tenants']).length > 0) report(['clientCa'], 'a split client CA (clientCa) cannot be combined with tenants yet: remove one of them');
    if (asArray(asObject(data['outputs'])?.['kubernetes']).length > 0) report(['clientCa'], 'a split client CA (clientCa) cannot be combined with outputs.kubernetes yet (the manifests carry no ca-client.crt): remove one of them');
  }
  for (const kind of LEAF_KINDS) {
    asArray(data[kind]).forEach((leaf, i) => {
      const ssh = asObject(asObject(leaf)?.['ssh']);
      if (ssh === undefined) return;
      local([kind, i, 'ssh', 'identityFile'], ssh['identityFile']);
      local([kind, i, 'ssh', 'knownHosts'], ssh['knownHosts']);
    });
  }

  checkDurations(ctx);
  checkKeyTypes(ctx);
  checkNodes(ctx);
  checkClients(ctx);
  checkKubernetes({ ...ctx, show, hostKey, inside: isInside, local }, certsDir);
  checkTenants(ctx);
  // The UI files are copied into the tree: one inside it would be an orphan there, and the CA key
  // must never be one of them.
  const uiBlocks: Seg[][] = [['defaults', 'ui'], ...asArray(data['nodes']).map((_, i): Seg[] => ['nodes', i, 'ui'])];
  for (const at of uiBlocks) {
    let ui: unknown = data;
    for (const seg of at) ui = Array.isArray(ui) ? ui[seg as number] : asObject(ui)?.[seg as string];
    const o = asObject(ui);
    if (o === undefined) continue;
    for (const k of ['cert', 'key', 'ca']) {
      const file = local([...at, k], o[k]);
      if (file === undefined) continue;
      if (certsDir !== undefined && isInside(file, certsDir)) report([...at, k], `${show(o[k])} is inside certsDir ${show(data['certsDir'])}; a provided UI file must lie outside the tree it is copied into`);
      else if (clientCaKey !== undefined && file.toLowerCase() === clientCaKey.toLowerCase()) report([...at, k], `${show(o[k])} is the client CA key (clientCa.key); it must never be copied to a node`);
      else if (caKey !== undefined && file.toLowerCase() === caKey.toLowerCase()) report([...at, k], `${show(o[k])} is the CA key (caKey); it must never be copied to a node`);
    }
  }
  checkEncrypt(ctx);
}

/** `encrypt.age`: X25519 age recipients only, each checked where it is written; the top level lists at least one. */
function checkEncrypt(ctx: RuleContext): void {
  const { data, report } = ctx;
  const check = (segs: Seg[], raw: unknown, top: boolean): void => {
    const age = asObject(raw)?.['age'];
    if (!Array.isArray(age)) return;
    if (top && age.length === 0) report([...segs, 'age'], 'lists no recipient: give at least one (age1…, from age-keygen -y), or leave encrypt out');
    age.forEach((r, j) => {
      if (typeof r !== 'string') return;
      const problem = ageRecipientProblem(r.trim());
      if (problem !== undefined) report([...segs, 'age', j], problem);
    });
  };
  check(['encrypt'], data['encrypt'], true);
  check(['ca', 'encrypt'], asObject(data['ca'])?.['encrypt'], false);
  for (const kind of ['nodes', 'nodeSets', 'clients'] as const) asArray(data[kind]).forEach((leaf, i) => check([kind, i, 'encrypt'], asObject(leaf)?.['encrypt'], false));
}

/**
 * `keySize` sizes RSA keys only: written where the key type in effect is another one, it is an
 * error (a default `defaults.keySize` still sizes the RSA leaves among others).
 */
function checkKeyTypes(ctx: RuleContext): void {
  const { data, report } = ctx;
  const typeOf = (o: Obj | undefined, fallback: string): string => (typeof o?.['keyType'] === 'string' ? o['keyType'] : fallback);
  const check = (segs: Seg[], o: Obj | undefined, type: string): void => {
    if (o?.['keySize'] !== undefined && type !== 'rsa') {
      const where = o['keyType'] !== undefined ? 'keyType' : 'defaults.keyType';
      report([...segs, 'keySize'], `keySize applies to RSA keys only, and the key type here is ${show(type)} (${where}); remove keySize or use keyType: rsa`);
    }
  };
  const ca = asObject(data['ca']);
  check(['ca'], ca, typeOf(ca, DEFAULT_KEY_TYPE));
  const clientCa = asObject(data['clientCa']);
  check(['clientCa'], clientCa, typeOf(clientCa, typeOf(ca, DEFAULT_KEY_TYPE)));
  const defaults = asObject(data['defaults']);
  const leafDefault = typeOf(defaults, DEFAULT_KEY_TYPE);
  check(['defaults'], defaults, leafDefault);
  for (const kind of LEAF_KINDS) {
    asArray(data[kind]).forEach((raw, i) => {
      const o = asObject(raw);
      check([kind, i], o, typeOf(o, leafDefault));
    });
  }
}

function checkDurations(ctx: RuleContext): void {
  const { data, report } = ctx;
  const key = (segs: Seg[]): string => formatPath(segs);
  const reported = new Set<string>();
  const reportOnce = (segs: Seg[], message: string): void => {
    if (reported.has(key(segs))) return;
    reported.add(key(segs));
    report(segs, message);
  };

  /** The written duration at `segs`: undefined when absent, null when invalid (already reported). */
  const read = (segs: Seg[], value: unknown, kind: 'lifetime' | 'renewBefore'): Effective | null | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return null; // a schema error
    let ns: bigint;
    try {
      ns = parseDuration(value);
    } catch (err) {
      report(segs, durationMessage(value, err));
      return null;
    }
    if (kind === 'lifetime' && ns <= 0n) {
      report(segs, `must be a positive duration, got ${show(value)}`);
      return null;
    }
    if (kind === 'renewBefore' && ns < 0n) {
      report(segs, `must not be negative, got ${show(value)}`);
      return null;
    }
    return { ns, text: value, at: segs };
  };
  const builtin = (text: string): Effective => ({ ns: parseDuration(text), text, at: undefined });
  const or = (own: Effective | null | undefined, fallback: Effective | null): Effective | null => (own === undefined ? fallback : own);

  const ca = asObject(data['ca']) ?? {};
  const defaults = asObject(data['defaults']) ?? {};
  const caLifetime = or(read(['ca', 'lifetime'], ca['lifetime'], 'lifetime'), builtin(DEFAULT_CA_LIFETIME));
  read(['ca', 'clientPropagation'], ca['clientPropagation'], 'renewBefore');
  read(['ca', 'rotationMargin'], ca['rotationMargin'], 'renewBefore');
  read(['ca', 'reissueAllowance'], ca['reissueAllowance'], 'renewBefore');
  const clientCaDoc = asObject(data['clientCa']);
  if (clientCaDoc !== undefined) read(['clientCa', 'lifetime'], clientCaDoc['lifetime'], 'lifetime');
  const defLifetime = or(read(['defaults', 'lifetime'], defaults['lifetime'], 'lifetime'), builtin(DEFAULT_LIFETIME));
  const defRenew = or(read(['defaults', 'renewBefore'], defaults['renewBefore'], 'renewBefore'), builtin(DEFAULT_RENEW_BEFORE));

  const levels: { lifetime: Effective | null; renewBefore: Effective | null }[] = [{ lifetime: defLifetime, renewBefore: defRenew }];
  for (const kind of LEAF_KINDS) {
    asArray(data[kind]).forEach((raw, i) => {
      const leaf = asObject(raw);
      if (leaf === undefined) return;
      levels.push({
        lifetime: or(read([kind, i, 'lifetime'], leaf['lifetime'], 'lifetime'), defLifetime),
        renewBefore: or(read([kind, i, 'renewBefore'], leaf['renewBefore'], 'renewBefore'), defRenew),
      });
    });
  }

  const describe = (d: Effective, here: Seg[]): string => {
    const where = d.at === undefined ? ' (the default)' : key(d.at) === key(here) ? '' : ` (${key(d.at)})`;
    return `${JSON.stringify(d.text)}${where}`;
  };
  for (const { lifetime, renewBefore } of levels) {
    if (lifetime === null) continue;
    if (caLifetime !== null && lifetime.ns > caLifetime.ns) {
      if (lifetime.at !== undefined) {
        reportOnce(
          lifetime.at,
          `lifetime ${describe(lifetime, lifetime.at)} is longer than the CA's lifetime ${describe(caLifetime, lifetime.at)}; a certificate must not outlive the CA that signs it`,
        );
      } else if (caLifetime.at !== undefined) {
        reportOnce(
          caLifetime.at,
          `the CA's lifetime ${describe(caLifetime, caLifetime.at)} is shorter than the lifetime of nodes and clients ${describe(lifetime, caLifetime.at)}; set defaults.lifetime to at most ${JSON.stringify(caLifetime.text)}`,
        );
      }
    }
    if (renewBefore !== null && renewBefore.ns >= lifetime.ns) {
      // Report where the fix belongs: the most specific of the two values that was written.
      const candidates = [renewBefore.at, lifetime.at].filter((s): s is Seg[] => s !== undefined);
      const here = candidates.reduce<Seg[] | undefined>((best, s) => (best === undefined || s.length > best.length ? s : best), undefined);
      if (here !== undefined) {
        reportOnce(
          here,
          `renewBefore ${describe(renewBefore, here)} is not shorter than lifetime ${describe(lifetime, here)}; the certificate would be reissued on every apply`,
        );
      }
    }
  }
}

/** Go's error text, plus the units when one is missing or unknown (in hours for days and weeks). */
function durationMessage(value: string, err: unknown): string {
  const goText = err instanceof Error ? err.message : String(err);
  const m = /^(\d+)(d|w)$/.exec(value);
  if (m !== null) {
    const hours = BigInt(m[1] ?? '0') * (m[2] === 'w' ? 168n : 24n);
    return `${goText} (the largest unit is h: write "${hours}h")`;
  }
  return /^time: (missing|unknown) unit/.test(goText) ? `${goText} (units: ns, us, ms, s, m, h)` : goText;
}

function checkNodes(ctx: RuleContext): void {
  const { data, report, locate } = ctx;
  const names = new Map<string, number>();
  const destinations = new Map<string, number>();

  asArray(data['nodes']).forEach((raw, i) => {
    const node = asObject(raw);
    if (node === undefined) return;

    const name = node['name'];
    if (typeof name === 'string') {
      const first = names.get(name);
      if (first === undefined) names.set(name, i);
      else report(['nodes', i, 'name'], `duplicate node name ${show(name)} (first used by nodes[${first}].name at line ${locate(['nodes', first, 'name']).line})`);
    }

    checkHosts(ctx, ['nodes', i], node['hosts']);

    // Two nodes copied to the same remote folder would overwrite each other's node.crt and node.key.
    const ssh = asObject(node['ssh']);
    if (ssh !== undefined && typeof ssh['host'] === 'string' && typeof ssh['dir'] === 'string') {
      const user = typeof ssh['user'] === 'string' ? ssh['user'] : '';
      const port = typeof ssh['port'] === 'number' ? ssh['port'] : DEFAULT_SSH_PORT;
      const dir = path.posix.normalize(ssh['dir']).replace(/(.)\/$/, '$1');
      // A relative dir is relative to the login's home, so the user matters only then.
      const dest = `${dir.startsWith('/') ? '' : user}@${ssh['host'].toLowerCase()}:${port}:${dir}`;
      const first = destinations.get(dest);
      if (first === undefined) destinations.set(dest, i);
      else {
        const shown = `${user === '' ? '' : `${user}@`}${ssh['host']}:${ssh['dir']}`;
        report(
          ['nodes', i, 'ssh'],
          `same destination ${JSON.stringify(shown)} as nodes[${first}].ssh (line ${locate(['nodes', first, 'ssh']).line}); their node.crt and node.key would overwrite each other`,
        );
      }
    }
  });
}

/** Each host must go into a certificate as Go writes it; a repeated one is a warning (it is listed once). */
function checkHosts(ctx: RuleContext, at: ['nodes' | 'tenants', number], hosts: unknown): void {
  const seen = new Map<string, number>();
  asArray(hosts).forEach((host, j) => {
    if (typeof host !== 'string') return;
    const problem = describeHostProblem(host);
    if (problem !== undefined) {
      ctx.report([...at, 'hosts', j], problem);
      return;
    }
    const canonical = hostKey(host);
    const first = seen.get(canonical);
    if (first === undefined) seen.set(canonical, j);
    else ctx.warn([...at, 'hosts', j], `duplicate host ${show(host)} (also ${formatPath([...at, 'hosts', first])}); it is listed once in the certificate`);
  });
}

/** A spec's hosts without repeats (the first of each, by hostKey), in spec order. */
function uniqueHosts(raw: unknown): string[] {
  const hosts: string[] = [];
  const seen = new Set<string>();
  for (const h of asArray(raw)) {
    const host = String(h);
    if (seen.has(hostKey(host))) continue;
    seen.add(hostKey(host));
    hosts.push(host);
  }
  return hosts;
}

/**
 * Tenant IDs as cockroach takes them (a uint64, not 0; 1 is the system tenant, which has no tenant
 * client certificate), unique; the hosts as a node's.
 */
function checkTenants(ctx: RuleContext): void {
  const { data, report, locate } = ctx;
  const ids = new Map<number, number>();
  asArray(data['tenants']).forEach((raw, i) => {
    const tenant = asObject(raw);
    if (tenant === undefined) return;
    const id = tenant['id'];
    if (typeof id === 'number' && Number.isInteger(id)) {
      const problem = tenantIdProblem(id);
      if (problem !== undefined) report(['tenants', i, 'id'], problem);
      else {
        const first = ids.get(id);
        if (first === undefined) ids.set(id, i);
        else report(['tenants', i, 'id'], `duplicate tenant id ${id} (first used by tenants[${first}].id at line ${locate(['tenants', first, 'id']).line})`);
      }
    }
    checkHosts(ctx, ['tenants', i], tenant['hosts']);
  });
}

function tenantIdProblem(id: number): string | undefined {
  // cockroach's words where it has them (strconv.ParseUint, GenerateTenantCert, CREATE TENANT).
  if (id < 0) return `${id} is invalid uint64: strconv.ParseUint: parsing ${JSON.stringify(String(id))}: invalid syntax`;
  if (id === 0) return 'tenantId 0 is invalid (requires != 0)';
  if (id === 1) return '1 is the system tenant\'s ID ("ID assigned to system tenant", cockroach says): a virtual cluster\'s ID is 2 or more';
  if (id >= 2 ** 64) return `${BigInt(id)} is invalid uint64: strconv.ParseUint: parsing ${JSON.stringify(BigInt(id).toString())}: value out of range`;
  // Past 2^53 a YAML number is no longer the integer written, so it is not echoed.
  if (!Number.isSafeInteger(id)) return `the tenant ID is larger than ${Number.MAX_SAFE_INTEGER}, the largest certgen reads exactly (as a YAML number)`;
  return undefined;
}

/** The identity of a host for duplicate detection: IPs in Go's canonical form, names lower-cased. */
function hostKey(host: string): string {
  const ip = parseIP(host);
  return ip === undefined ? host.toLowerCase() : formatIP(ip);
}

function checkClients(ctx: RuleContext): void {
  const { data, report, locate } = ctx;
  const users = new Map<string, { index: number; raw: string }>();
  asArray(data['clients']).forEach((raw, i) => {
    const user = asObject(raw)?.['user'];
    if (typeof user !== 'string') return;
    const normalized = normalizeUsername(user);
    const problem = checkUsername(normalized);
    if (problem !== undefined) {
      report(['clients', i, 'user'], `${show(user)}: ${problem.message} (${problem.hint.replace(/\.$/, '')})`);
      return;
    }
    const first = users.get(normalized);
    if (first === undefined) {
      users.set(normalized, { index: i, raw: user });
      return;
    }
    const firstAt = `clients[${first.index}].user at line ${locate(['clients', first.index, 'user']).line}`;
    report(
      ['clients', i, 'user'],
      user === first.raw
        ? `duplicate user ${show(user)} (first used by ${firstAt})`
        : `user ${show(user)} is the same as ${show(first.raw)} (${firstAt}): both normalise to ${show(normalized)}`,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Normalisation (only of a valid spec)

function normalize(data: Obj, file: string, baseDir: string, homeDir: string | undefined): ClusterSpec {
  const local = (text: unknown): string => resolveLocal(String(text), baseDir, homeDir) ?? String(text);
  const duration = (text: unknown, fallback: bigint): bigint => (typeof text === 'string' ? parseDuration(text) : fallback);
  const int = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);

  const ca = asObject(data['ca']) ?? {};
  const defaults = asObject(data['defaults']) ?? {};
  const keySize = int(defaults['keySize'], DEFAULT_KEY_SIZE);
  const keyTypeOf = (v: unknown, fallback: KeyType): KeyType => (typeof v === 'string' && isKeyType(v) ? v : fallback);
  const keyType = keyTypeOf(defaults['keyType'], DEFAULT_KEY_TYPE);
  const lifetime = duration(defaults['lifetime'], parseDuration(DEFAULT_LIFETIME));
  const renewBefore = duration(defaults['renewBefore'], parseDuration(DEFAULT_RENEW_BEFORE));

  // Recipients in effect: the leaf's own encrypt over the top level's (`age: []`: none).
  const recipients = (v: unknown): string[] | undefined => {
    const age = asObject(v)?.['age'];
    return Array.isArray(age) ? [...new Set(age.map((r) => String(r).trim()))] : undefined;
  };
  const topRecipients = recipients(data['encrypt']);
  const encrypted = (o: Obj): { ageRecipients?: string[] } => {
    const r = recipients(o['encrypt']) ?? topRecipients;
    return r !== undefined && r.length > 0 ? { ageRecipients: r } : {};
  };
  const leaf = (o: Obj): Pick<NodeSpec, 'keyType' | 'keySize' | 'lifetime' | 'renewBefore' | 'ssh' | 'reload'> => {
    const out: Pick<NodeSpec, 'keyType' | 'keySize' | 'lifetime' | 'renewBefore' | 'ssh' | 'reload'> = {
      keyType: keyTypeOf(o['keyType'], keyType),
      keySize: int(o['keySize'], keySize),
      lifetime: duration(o['lifetime'], lifetime),
      renewBefore: duration(o['renewBefore'], renewBefore),
    };
    const ssh = asObject(o['ssh']);
    if (ssh !== undefined) out.ssh = sshTarget(ssh, local);
    if (typeof o['reload'] === 'string') out.reload = o['reload'];
    return out;
  };

  const nodes: NodeSpec[] = asArray(data['nodes']).map((raw) => {
    const o = asObject(raw) ?? {};
    const node: NodeSpec = { name: String(o['name']), hosts: uniqueHosts(o['hosts']), ...leaf(o), ...encrypted(o) };
    const v = verifySpec(asObject(defaults['verify']), asObject(o['verify']));
    if (v !== undefined) node.verify = v;
    const ui = asObject(o['ui']) ?? asObject(defaults['ui']);
    if (ui !== undefined) node.ui = { cert: local(ui['cert']), key: local(ui['key']), ...(typeof ui['ca'] === 'string' ? { ca: local(ui['ca']) } : {}) };
    return node;
  });
  const clients: ClientSpec[] = asArray(data['clients']).map((raw) => {
    const o = asObject(raw) ?? {};
    return { user: normalizeUsername(String(o['user'])), pkcs8: o['pkcs8'] === true, ...leaf(o), ...encrypted(o) };
  });
  const tenants: TenantSpec[] = asArray(data['tenants']).map((raw) => {
    const o = asObject(raw) ?? {};
    const { keyType: type, keySize: size, lifetime: life, renewBefore: renew } = leaf(o);
    const hosts = o['hosts'] === undefined ? [...DEFAULT_TENANT_HOSTS] : uniqueHosts(o['hosts']);
    return { id: String(o['id']), hosts, signing: o['signing'] === true, keyType: type, keySize: size, lifetime: life, renewBefore: renew };
  });

  // The client CA's key parameters default to the CA's as written.
  const clientCaDoc = asObject(data['clientCa']);
  const clientCa: ClientCaSpec | undefined =
    clientCaDoc === undefined
      ? undefined
      : {
          key: local(clientCaDoc['key']),
          keyType: keyTypeOf(clientCaDoc['keyType'], keyTypeOf(ca['keyType'], DEFAULT_KEY_TYPE)),
          keySize: int(clientCaDoc['keySize'], int(ca['keySize'], DEFAULT_KEY_SIZE)),
          lifetime: duration(clientCaDoc['lifetime'], duration(ca['lifetime'], parseDuration(DEFAULT_CA_LIFETIME))),
        };
  return {
    file,
    baseDir,
    certsDir: local(data['certsDir']),
    caKey: local(data['caKey']),
    ca: {
      keyType: keyTypeOf(ca['keyType'], DEFAULT_KEY_TYPE),
      keySize: int(ca['keySize'], DEFAULT_KEY_SIZE),
      lifetime: duration(ca['lifetime'], parseDuration(DEFAULT_CA_LIFETIME)),
      clientPropagation: duration(ca['clientPropagation'], parseDuration(DEFAULT_CLIENT_PROPAGATION)),
      ...(typeof ca['rotationMargin'] === 'string' ? { rotationMargin: parseDuration(ca['rotationMargin']) } : {}),
      ...(typeof ca['reissueAllowance'] === 'string' ? { reissueAllowance: parseDuration(ca['reissueAllowance']) } : {}),
      pruneOld: ca['pruneOld'] === 'after-reissue' ? 'after-reissue' : 'at-expiry',
      retireOldKey: ca['retireOldKey'] === 'remove' ? 'remove' : 'archive',
      // Used only when caKey is an .age file and certgen makes a CA key.
      ...encrypted(ca),
    },
    ...(clientCa !== undefined ? { clientCa } : {}),
    // A node set's key is encrypted like a node's: its own encrypt over the top level's.
    nodes: [...nodes, ...nodeSetNodes(asArray(data['nodeSets']), (o) => ({ ...leaf(o), ...encrypted(o) }), hostKey)],
    clients,
    ...(asObject(data['outputs']) !== undefined ? { outputs: { kubernetes: kubernetesOutputs(asObject(data['outputs']) ?? {}, asArray(data['nodeSets']), local) } } : {}),
    // Only when written: a spec without tenants normalises as it always did.
    ...(data['tenants'] !== undefined ? { tenants } : {}),
  };
}

/** A node's `verify:` over `defaults.verify`, key by key; undefined when neither is written. */
function verifySpec(defaults: Obj | undefined, own: Obj | undefined): VerifySpec | undefined {
  if (defaults === undefined && own === undefined) return undefined;
  const merged = { ...defaults, ...own };
  const out: VerifySpec = {};
  if (typeof merged['host'] === 'string') out.host = merged['host'];
  for (const k of ['sql', 'rpc', 'http'] as const) if (typeof merged[k] === 'number') out[k] = merged[k];
  return out;
}

function sshTarget(o: Obj, local: (text: unknown) => string): SshTarget {
  const target: SshTarget = {
    host: String(o['host']),
    port: typeof o['port'] === 'number' ? o['port'] : DEFAULT_SSH_PORT,
    dir: String(o['dir']),
    options: asArray(o['options']).map(String),
  };
  if (typeof o['user'] === 'string') target.user = o['user'];
  if (typeof o['identityFile'] === 'string') target.identityFile = local(o['identityFile']);
  if (typeof o['knownHosts'] === 'string') target.knownHosts = local(o['knownHosts']);
  return target;
}
