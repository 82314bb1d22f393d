// The build's standalone validator (dist/cluster-spec/spec-schema-validate.cjs, made by `npm run build`)
// and ajv compiling the schema at run time must report the same errors, and an error's failed
// schema must be the one parse-spec names by identity. The dist module is the one the CLI runs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ErrorObject } from 'ajv';
import { failedSchema, schemaErrors, SPEC_SCHEMA } from '../../src/cluster-spec/spec-validator.js';
import { ROOT } from '../helpers/index.js';

const test = suite('spec validator');
const require = createRequire(import.meta.url);

const specs = (dir: string): [string, unknown][] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      try {
        return [f, parseYaml(readFileSync(path.join(dir, f), 'utf8'), { merge: true })] as [string, unknown];
      } catch {
        return [f, undefined] as [string, unknown];
      }
    })
    .filter(([, data]) => data !== undefined);

const corpus = [...specs(path.join(ROOT, 'fixtures/specs/invalid')), ...specs(path.join(ROOT, 'fixtures/specs/valid'))];

test('the fixtures hold specs of both kinds', () => {
  assert.ok(corpus.filter(([, d]) => schemaErrors(d, 'compiled').length > 0).length >= 10, 'at least ten specs the schema refuses');
  assert.ok(corpus.some(([, d]) => schemaErrors(d, 'compiled').length === 0));
});

test("the build's validator reports exactly what ajv compiling now reports", () => {
  type V = ((d: unknown) => boolean) & { errors?: { instancePath: string; schemaPath: string; keyword: string; params: unknown }[] | null; default?: V };
  const mod = require(path.join(ROOT, 'dist/cluster-spec/spec-schema-validate.cjs')) as V;
  const built = mod.default ?? mod;
  const strip = (es: { instancePath: string; schemaPath: string; keyword: string; params: unknown }[]) => es.map(({ instancePath, schemaPath, keyword, params }) => ({ instancePath, schemaPath, keyword, params }));
  for (const [name, data] of corpus) {
    built(data);
    assert.equal(strip(built.errors ?? []), strip(schemaErrors(data, 'compiled')), name);
  }
});

test("an error's failed schema is an object of the one schema, the same from either validator", () => {
  type V = ((d: unknown) => boolean) & { errors?: ErrorObject[] | null; default?: V };
  const mod = require(path.join(ROOT, 'dist/cluster-spec/spec-schema-validate.cjs')) as V;
  const built = mod.default ?? mod;
  let checked = 0;
  for (const [name, data] of corpus) {
    const now = schemaErrors(data, 'compiled');
    built(data);
    const copies = built.errors ?? [];
    assert.is(copies.length, now.length, name);
    now.forEach((e, i) => {
      assert.ok(failedSchema(e) === e.parentSchema, `${name}: ${e.schemaPath}`);
      const copy = copies[i] as ErrorObject;
      assert.ok(copy.parentSchema !== e.parentSchema, 'the build carries copies');
      assert.is(JSON.stringify(failedSchema(copy)), JSON.stringify(e.parentSchema), `${name}: ${e.schemaPath}`);
      checked++;
    });
  }
  assert.ok(checked >= 10);
});

test('the schemas parse-spec tells apart by identity have JSON texts of their own', () => {
  const counts = new Map<string, number>();
  const targets: string[] = [];
  const walk = (o: unknown, at: string): void => {
    if (o === null || typeof o !== 'object') return;
    if (!Array.isArray(o)) {
      const text = JSON.stringify(o);
      counts.set(text, (counts.get(text) ?? 0) + 1);
      // Patterns (node name, Kubernetes names, ssh host/user, duration) and the CA's mapping.
      if ('pattern' in o || at === '#/properties/ca' || at === '#/definitions/duration') targets.push(text);
    }
    for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
  };
  walk(SPEC_SCHEMA, '#');
  assert.ok(targets.length >= 6);
  for (const t of targets) assert.is(counts.get(t), 1, t.slice(0, 120));
});

test('the built CLI uses the build\'s validator (its hash is the schema\'s)', async () => {
  const dist = (await import(path.join(ROOT, 'dist/cluster-spec/spec-validator.js'))) as { specValidatorKind(): string };
  assert.is(dist.specValidatorKind(), 'prebuilt');
});

test.run();
