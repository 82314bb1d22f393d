// The JSON Schema check of a spec: the validator compiled at build time when it matches the schema
// (scripts/gen-spec-validator.mjs), else ajv compiling schemas/cluster-certs.schema.json now.
// Either way an error's schema is found from its schemaPath in the one parsed schema object, so
// parse-spec can tell which rule failed by identity (a standalone validator carries copies).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, Options, SchemaObject } from 'ajv';

// The schema lives in schemas/ (outside src/, shipped as is); this relative path is the same from
// src/cluster-spec/ (tsx) and dist/cluster-spec/ (compiled).
const require = createRequire(import.meta.url);
export const SPEC_SCHEMA = require('../../schemas/cluster-certs.schema.json') as SchemaObject;

/**
 * validateSchema: false skips checking the schema against JSON Schema's meta-schema on every run
 * (half of the compile time); test/cluster-spec/parse-spec.test.ts compiles it with that check.
 */
export const AJV_OPTIONS: Options = { allErrors: true, verbose: true, strict: true, validateSchema: false };

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

let validator: Validate | undefined;

function prebuilt(): Validate | undefined {
  let mod: (Validate & { default?: Validate; schemaHash?: string }) | undefined;
  try {
    mod = require('./spec-schema-validate.cjs') as Validate & { default?: Validate; schemaHash?: string };
  } catch {
    return undefined; // not built (tsx runs src/)
  }
  const hash = createHash('sha256').update(JSON.stringify(SPEC_SCHEMA)).digest('hex');
  return mod.schemaHash === hash ? (mod.default ?? mod) : undefined;
}

function compiled(): Validate {
  // Loaded only here: ajv's compiler is most of ajv's load time.
  const { Ajv } = require('ajv') as typeof import('ajv');
  return new Ajv(AJV_OPTIONS).compile(SPEC_SCHEMA);
}

let byText: Map<string, SchemaObject> | undefined;
let originals: WeakSet<object> | undefined;

/** Every object in the schema, and the first of each JSON text (walked once, on the first error). */
function index(): { byText: Map<string, SchemaObject>; originals: WeakSet<object> } {
  if (byText === undefined || originals === undefined) {
    byText = new Map();
    originals = new WeakSet();
    const walk = (o: unknown): void => {
      if (o === null || typeof o !== 'object') return;
      if (!Array.isArray(o)) {
        originals?.add(o);
        const text = JSON.stringify(o);
        if (!byText?.has(text)) byText?.set(text, o as SchemaObject);
      }
      for (const v of Object.values(o)) walk(v);
    };
    walk(SPEC_SCHEMA);
  }
  return { byText, originals };
}

/**
 * The (sub)schema an error failed, as an object of {@link SPEC_SCHEMA}: ajv compiling now gives
 * that object itself; the build's validator a copy, mapped back by its JSON text (the schemas
 * parse-spec tells apart are unique in the file; a test holds that).
 */
export function failedSchema(e: ErrorObject): SchemaObject | undefined {
  const p = e.parentSchema as SchemaObject | undefined;
  if (p === undefined || p === null || typeof p !== 'object') return undefined;
  const { byText, originals } = index();
  return originals.has(p) ? p : byText.get(JSON.stringify(p));
}

let kind: 'prebuilt' | 'compiled' | undefined;
let runtime: Validate | undefined;

function current(): Validate {
  if (validator === undefined) {
    const built = prebuilt();
    kind = built ? 'prebuilt' : 'compiled';
    validator = built ?? (runtime ??= compiled());
  }
  return validator;
}

/** Which validator schemaErrors uses: the build's, or one compiled in this process. */
export function specValidatorKind(): 'prebuilt' | 'compiled' {
  current();
  return kind ?? 'compiled';
}

/** Every schema error of `data` (none when it conforms); `compiled` forces ajv's compile (tests compare). */
export function schemaErrors(data: unknown, use: 'auto' | 'compiled' = 'auto'): ErrorObject[] {
  const v = use === 'compiled' ? (runtime ??= compiled()) : current();
  return v(data) ? [] : [...(v.errors ?? [])];
}
