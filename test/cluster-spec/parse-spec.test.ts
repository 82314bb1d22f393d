// parseSpec: every fixture under fixtures/specs (exact diagnostics), the schema's own contract,
// line:col mapping, and normalisation (defaults, path resolution, user names).

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type SchemaObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NS_PER_HOUR, NS_PER_MINUTE } from '../../src/core/duration.js';
import { formatDiagnostic, parseSpec, SPEC_SCHEMA_ID, type ParseSpecResult } from '../../src/cluster-spec/parse-spec.js';
import type { ClusterSpec } from '../../src/cluster-spec/spec.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'fixtures', 'specs');
const yamlFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

function ok(result: ParseSpecResult): ClusterSpec {
  if (!result.ok) throw new Error(`expected a valid spec, got:\n${result.diagnostics.map(formatDiagnostic).join('\n')}`);
  return result.spec;
}
function errors(result: ParseSpecResult): string[] {
  if (result.ok) throw new Error('expected diagnostics, the spec was accepted');
  return result.diagnostics.map(formatDiagnostic);
}
/** Parses `text` as /proj/cluster-certs.yaml. */
function parse(text: string, options: { homeDir?: string } = { homeDir: '/home/op' }): ParseSpecResult {
  return parseSpec(text, 'cluster-certs.yaml', { cwd: '/proj', ...options });
}

// ---------------------------------------------------------------------------------------------
const Fixtures = suite('fixtures');

const invalid = yamlFiles(join(fixtures, 'invalid'));
Fixtures('there is an invalid fixture for every rule', () => {
  for (const name of ['yaml-syntax', 'empty', 'unknown-key', 'wrong-type', 'missing-required', 'duplicate-node-names', 'duplicate-users', 'invalid-user', 'bad-hosts', 'ca-key-inside-certs-dir', 'leaf-longer-than-ca', 'renew-before-not-shorter', 'bad-durations', 'ca-renew-before', 'key-size-not-rsa', 'bad-tenants', 'bad-ui']) {
    assert.ok(invalid.includes(`${name}.yaml`), `missing fixtures/specs/invalid/${name}.yaml`);
  }
});

for (const f of invalid) {
  Fixtures(`invalid/${f}`, () => {
    const dir = join(fixtures, 'invalid');
    const expectedFile = join(dir, f.replace(/\.yaml$/, '.expected.txt'));
    assert.ok(existsSync(expectedFile), `${f} has no .expected.txt`);
    const result = parseSpec(readFileSync(join(dir, f), 'utf8'), f, { cwd: dir, homeDir: '/home/operator' });
    const got = errors(result);
    assert.equal(got, lines(readFileSync(expectedFile, 'utf8')));
    for (const line of got) assert.match(line, new RegExp(`^${f.replace(/\./g, '\\.')}:\\d+:\\d+: [^\\n]+$`));
  });
}

for (const f of yamlFiles(join(fixtures, 'valid'))) {
  Fixtures(`valid/${f}`, () => {
    const dir = join(fixtures, 'valid');
    const result = parseSpec(readFileSync(join(dir, f), 'utf8'), f, { cwd: dir, homeDir: '/home/operator' });
    ok(result);
    const warningsFile = join(dir, f.replace(/\.yaml$/, '.warnings.txt'));
    const expected = existsSync(warningsFile) ? lines(readFileSync(warningsFile, 'utf8')) : [];
    assert.equal(result.warnings.map(formatDiagnostic), expected);
  });
}

Fixtures('examples/cluster-certs.yaml is valid: 3 nodes, root and maxroach', () => {
  const file = join(root, 'examples', 'cluster-certs.yaml');
  const result = parseSpec(readFileSync(file, 'utf8'), file, { homeDir: '/home/operator' });
  const spec = ok(result);
  assert.equal(result.warnings, []);
  assert.equal(spec.nodes.map((n) => n.name), ['node1', 'node2', 'node3']);
  assert.equal(spec.clients.map((c) => [c.user, c.pkcs8]), [['root', false], ['maxroach', true]]);
  assert.equal(spec.certsDir, join(root, 'examples', 'certs'));
  assert.equal(spec.caKey, join(root, 'examples', 'secrets', 'ca.key'));
  assert.ok(spec.nodes.every((n) => n.hosts.includes('localhost') && n.hosts.includes('127.0.0.1')));
});

// ---------------------------------------------------------------------------------------------
const Schema = suite('schema');
const schema = createRequire(import.meta.url)('../../schemas/cluster-certs.schema.json') as SchemaObject;

Schema('is draft-07 with the exported $id', () => {
  assert.is(schema['$schema'], 'http://json-schema.org/draft-07/schema#');
  assert.is(SPEC_SCHEMA_ID, schema['$id']);
});

Schema('every object forbids unknown keys and every property has a title and description', () => {
  const visit = (s: SchemaObject, at: string): void => {
    if (s['type'] === 'object') assert.is(s['additionalProperties'], false, `${at} allows unknown keys`);
    for (const [key, prop] of Object.entries((s['properties'] ?? {}) as Record<string, SchemaObject>)) {
      const target = typeof prop['$ref'] === 'string' && prop['title'] === undefined ? resolveRef(prop['$ref']) : prop;
      assert.type(target['title'], 'string', `${at}.${key} has no title`);
      assert.type(target['description'], 'string', `${at}.${key} has no description`);
      visit(prop, `${at}.${key}`);
    }
    const items = s['items'] as SchemaObject | undefined;
    if (items !== undefined) visit(items, `${at}[]`);
  };
  const resolveRef = (ref: string): SchemaObject => (schema['definitions'] as Record<string, SchemaObject>)[ref.replace('#/definitions/', '')] ?? {};
  visit(schema, '#');
  for (const [name, def] of Object.entries(schema['definitions'] as Record<string, SchemaObject>)) visit(def, `#/definitions/${name}`);
});

Schema('is a valid JSON Schema (ajv checks it against the meta-schema) and accepts every valid fixture and the example on its own (what editors see)', () => {
  const validate = new Ajv({ allErrors: true, strict: true, validateSchema: true }).compile(schema);
  const files = [
    ...yamlFiles(join(fixtures, 'valid')).map((f) => join(fixtures, 'valid', f)),
    join(root, 'examples', 'cluster-certs.yaml'),
  ];
  for (const file of files) {
    const data: unknown = parseYaml(readFileSync(file, 'utf8'), { merge: true });
    assert.ok(validate(data), `${file}: ${JSON.stringify(validate.errors)}`);
  }
});

Schema('documents the defaults', () => {
  const props = schema['properties'] as Record<string, SchemaObject>;
  const defaults = (props['defaults']?.['properties'] ?? {}) as Record<string, SchemaObject>;
  const ca = (props['ca']?.['properties'] ?? {}) as Record<string, SchemaObject>;
  assert.is(ca['lifetime']?.['default'], '87840h');
  assert.is(ca['keySize']?.['default'], 2048);
  assert.is(defaults['lifetime']?.['default'], '43920h');
  assert.is(defaults['renewBefore']?.['default'], '720h');
  assert.is(defaults['keySize']?.['default'], 2048);
});

// ---------------------------------------------------------------------------------------------
const Locations = suite('line and column');

Locations("the issue's example message, exactly", () => {
  const text = [
    '# yaml-language-server: $schema=schemas/cluster-certs.schema.json',
    'certsDir: certs',
    'caKey: secrets/ca.key',
    '',
    'nodes:',
    '  - name: node1',
    '    hosts:',
    '    - node1.example.com',
    '    - 10.0.0.1',
    '  - name: node2',
    '    hosts:',
    '    - node2.example.com',
    '    - 10.0.0.2',
    '    - 10.0.0.300',
    '',
  ].join('\n');
  assert.equal(errors(parse(text)), [
    'cluster-certs.yaml:14:7: nodes[1].hosts[2]: "10.0.0.300" is neither a valid IP address nor a DNS name',
  ]);
});

Locations('the file part is the path as given, not resolved', () => {
  const result = parseSpec('certsDir: c\ncaKey: k\nnodes: 3\n', './specs/../cluster-certs.yaml', { cwd: '/x' });
  assert.equal(errors(result), ['./specs/../cluster-certs.yaml:3:8: nodes: expected a list, got 3']);
});

Locations('flow collections point inside the line', () => {
  const text = 'certsDir: certs\ncaKey: ca.key\nnodes: [{ name: n1, hosts: [a.example, "bad host"] }]\n';
  assert.equal(errors(parse(text)), ['cluster-certs.yaml:3:40: nodes[0].hosts[1]: "bad host" is neither a valid IP address nor a DNS name']);
});

Locations('an unknown key points at the key; a missing key at the mapping that lacks it', () => {
  const text = 'certsDir: certs\ncaKey: ca.key\nnodes:\n  -   hosts: [a]\n      nmae: n1\n';
  assert.equal(errors(parse(text)), [
    'cluster-certs.yaml:4:7: nodes[0]: missing required key "name"',
    'cluster-certs.yaml:5:7: nodes[0]: unknown key "nmae" (did you mean "name"?)',
  ]);
});

Locations('an empty value points at its key', () => {
  assert.equal(errors(parse('certsDir: certs\ncaKey: ca.key\nnodes:\n\n')), [
    'cluster-certs.yaml:3:1: nodes: expected a list, got an empty value (write [] for none)',
  ]);
});

Locations('values reached through an alias or a merge point at where they are written', () => {
  const text = [
    'x-ssh: &ssh',
    '  dir: certs',
    '  port: 0',
    'certsDir: certs',
    'caKey: ca.key',
    'nodes:',
    '  - name: n1',
    '    hosts: [a]',
    '    ssh: { <<: *ssh, host: a }',
    '',
  ].join('\n');
  assert.equal(errors(parse(text)), ['cluster-certs.yaml:3:9: nodes[0].ssh.port: must be at least 1, got 0']);
});

Locations('CRLF line endings and a byte-order mark do not shift positions', () => {
  const text = '\ufeffcertsDir: certs\r\ncaKey: ca.key\r\nnodes:\r\n  - name: n1\r\n    hosts: [300.1.1.1]\r\n';
  assert.equal(errors(parse(text)), ['cluster-certs.yaml:5:13: nodes[0].hosts[0]: "300.1.1.1" is neither a valid IP address nor a DNS name']);
});

Locations('YAML syntax errors are all reported, and stop further checks', () => {
  const text = 'certsDir: [certs\ncaKey: ca.key\nnodes: []\nbogus: 1\n';
  const got = errors(parse(text));
  assert.ok(got.length >= 1);
  for (const line of got) assert.match(line, /^cluster-certs\.yaml:\d+:\d+: invalid YAML: /);
  assert.not.ok(got.some((l) => l.includes('bogus')));
});

Locations('all errors at once, sorted by line then column', () => {
  const text = 'nodes:\n  - { name: B, hosts: [], lifetime: 1d }\ncaKey: ca.key\nbogus: true\n';
  assert.equal(errors(parse(text)), [
    'cluster-certs.yaml:1:1: missing required key "certsDir"',
    'cluster-certs.yaml:2:13: nodes[0].name: "B" is not a valid node name: use lowercase letters, digits and hyphens, starting with a letter or digit',
    'cluster-certs.yaml:2:23: nodes[0].hosts: must list at least one host',
    'cluster-certs.yaml:2:37: nodes[0].lifetime: time: unknown unit "d" in duration "1d" (the largest unit is h: write "24h")',
    'cluster-certs.yaml:4:1: unknown key "bogus"; expected one of: version, certsDir, caKey, encrypt, ca, clientCa, defaults, nodes, clients, nodeSets, outputs, tenants',
  ]);
});

Locations('formatDiagnostic: path omitted when empty; warnings say so', () => {
  assert.is(formatDiagnostic({ file: 'a.yaml', line: 2, col: 3, path: '', message: 'm' }), 'a.yaml:2:3: m');
  assert.is(formatDiagnostic({ file: 'a.yaml', line: 2, col: 3, path: 'nodes[0]', message: 'm' }), 'a.yaml:2:3: nodes[0]: m');
  assert.is(
    formatDiagnostic({ file: 'a.yaml', line: 2, col: 3, path: 'nodes[0]', message: 'm', severity: 'warning' }),
    'a.yaml:2:3: warning: nodes[0]: m',
  );
});

// ---------------------------------------------------------------------------------------------
const Normalise = suite('normalisation');

Normalise('fills every default', () => {
  const spec = ok(parse('certsDir: certs\ncaKey: secrets/ca.key\nnodes:\n  - { name: n1, hosts: [a], ssh: { host: h, dir: d } }\nclients:\n  - user: root\n'));
  assert.equal(spec.ca, { keyType: 'rsa', keySize: 2048, lifetime: 87840n * NS_PER_HOUR, clientPropagation: 168n * NS_PER_HOUR, pruneOld: 'at-expiry', retireOldKey: 'archive' });
  const [node] = spec.nodes;
  assert.equal(node, {
    name: 'n1',
    hosts: ['a'],
    keyType: 'rsa',
    keySize: 2048,
    lifetime: 43920n * NS_PER_HOUR,
    renewBefore: 720n * NS_PER_HOUR,
    ssh: { host: 'h', port: 22, dir: 'd', options: [] },
  });
  assert.equal(spec.clients, [{ user: 'root', pkcs8: false, keyType: 'rsa', keySize: 2048, lifetime: 43920n * NS_PER_HOUR, renewBefore: 720n * NS_PER_HOUR }]);
});

Normalise('defaults apply unless a node or client overrides them', () => {
  const text = [
    'certsDir: certs',
    'caKey: ca.key',
    'ca: { keySize: 4096, lifetime: 100000h, clientPropagation: 2h, rotationMargin: 3h, reissueAllowance: 1h30m, pruneOld: after-reissue, retireOldKey: remove }',
    'defaults: { keySize: 3072, lifetime: 2h30m, renewBefore: 30m }',
    'nodes:',
    '  - { name: n1, hosts: [a] }',
    '  - { name: n2, hosts: [a], keySize: 1024, lifetime: 90000h, renewBefore: 1h }',
    'clients:',
    '  - { user: u1, pkcs8: true, lifetime: 1h }',
    '',
  ].join('\n');
  const spec = ok(parse(text));
  assert.equal(spec.ca, { keyType: 'rsa', keySize: 4096, lifetime: 100000n * NS_PER_HOUR, clientPropagation: 2n * NS_PER_HOUR, rotationMargin: 3n * NS_PER_HOUR, reissueAllowance: 90n * NS_PER_MINUTE, pruneOld: 'after-reissue', retireOldKey: 'remove' });
  assert.equal(spec.nodes.map((n) => [n.keySize, n.lifetime, n.renewBefore]), [
    [3072, 150n * NS_PER_MINUTE, 30n * NS_PER_MINUTE],
    [1024, 90000n * NS_PER_HOUR, NS_PER_HOUR],
  ]);
  assert.equal(spec.clients.map((c) => [c.pkcs8, c.keySize, c.lifetime, c.renewBefore]), [[true, 3072, NS_PER_HOUR, 30n * NS_PER_MINUTE]]);
});

Normalise('keyType: the CA its own (default rsa), nodes and clients from defaults unless they set it', () => {
  const text = [
    'certsDir: certs',
    'caKey: ca.key',
    'ca: { keyType: ecdsa-p384 }',
    'defaults: { keyType: ecdsa-p256 }',
    'nodes:',
    '  - { name: n1, hosts: [a] }',
    '  - { name: n2, hosts: [a], keyType: ed25519 }',
    '  - { name: n3, hosts: [a], keyType: rsa, keySize: 4096 }',
    'clients:',
    '  - { user: u1 }',
    '  - { user: u2, keyType: rsa }',
    '',
  ].join('\n');
  const spec = ok(parse(text));
  assert.is(spec.ca.keyType, 'ecdsa-p384');
  assert.equal(spec.nodes.map((n) => [n.keyType, n.keySize]), [['ecdsa-p256', 2048], ['ed25519', 2048], ['rsa', 4096]]);
  assert.equal(spec.clients.map((c) => c.keyType), ['ecdsa-p256', 'rsa']);
  // defaults.keyType is for the leaves: the CA stays RSA unless it says otherwise.
  assert.is(ok(parse('certsDir: certs\ncaKey: ca.key\ndefaults: { keyType: ed25519 }\nnodes:\n  - { name: n1, hosts: [a] }\n')).ca.keyType, 'rsa');
  // A defaults.keySize still sizes the RSA leaves among leaves of other types.
  const mixed = ok(parse('certsDir: certs\ncaKey: ca.key\ndefaults: { keySize: 3072 }\nnodes:\n  - { name: n1, hosts: [a], keyType: ed25519 }\n  - { name: n2, hosts: [a] }\n'));
  assert.equal(mixed.nodes.map((n) => [n.keyType, n.keySize]), [['ed25519', 3072], ['rsa', 3072]]);
});

Normalise('resolves local paths against the spec file, ~/ against the home directory', () => {
  const text = [
    'certsDir: ../out/certs',
    'caKey: ~/pki/ca.key',
    'nodes:',
    '  - name: n1',
    '    hosts: [a]',
    '    ssh: { host: h, dir: remote/certs, identityFile: keys/id, knownHosts: /etc/ssh/known, options: [ConnectTimeout=5] }',
    '',
  ].join('\n');
  const spec = ok(parseSpec(text, 'deploy/cluster-certs.yaml', { cwd: '/repo', homeDir: '/home/op' }));
  assert.is(spec.file, '/repo/deploy/cluster-certs.yaml');
  assert.is(spec.baseDir, '/repo/deploy');
  assert.is(spec.certsDir, '/repo/out/certs');
  assert.is(spec.caKey, '/home/op/pki/ca.key');
  assert.equal(spec.nodes[0]?.ssh, {
    host: 'h',
    port: 22,
    dir: 'remote/certs', // remote: left as written
    identityFile: '/repo/deploy/keys/id',
    knownHosts: '/etc/ssh/known',
    options: ['ConnectTimeout=5'],
  });
});

Normalise('without a home directory, a ~ path is an error rather than a folder named "~"', () => {
  assert.equal(errors(parse('certsDir: ~/certs\ncaKey: /pki/ca.key\nnodes: []\n', {})), [
    'cluster-certs.yaml:1:11: certsDir: "~/certs": cannot expand "~" here, no home directory was given',
  ]);
});

Normalise('user names are normalised like cert create-client', () => {
  const spec = ok(parse('certsDir: c\ncaKey: k\nnodes: []\nclients: [{ user: MaxRoach }, { user: Ομηρος }, { user: İnci }]\n'));
  assert.equal(spec.clients.map((c) => c.user), ['maxroach', 'ομηρος', 'inci']);
});

Normalise('a repeated host is kept once, with a warning', () => {
  const result = parse('certsDir: c\ncaKey: k\nnodes:\n  - { name: n1, hosts: [a.example, A.Example, "::1", "0::1", b] }\n');
  assert.equal(ok(result).nodes[0]?.hosts, ['a.example', '::1', 'b']);
  assert.equal(result.warnings.map(formatDiagnostic), [
    'cluster-certs.yaml:4:36: warning: nodes[0].hosts[1]: duplicate host "A.Example" (also nodes[0].hosts[0]); it is listed once in the certificate',
    'cluster-certs.yaml:4:54: warning: nodes[0].hosts[3]: duplicate host "0::1" (also nodes[0].hosts[2]); it is listed once in the certificate',
  ]);
});

Normalise('x- keys are ignored; version 1 is accepted', () => {
  const spec = ok(parse('version: 1\nx-notes: { anything: [goes] }\ncertsDir: c\ncaKey: k\nnodes: []\n'));
  assert.equal(Object.keys(spec).sort(), ['baseDir', 'ca', 'caKey', 'certsDir', 'clients', 'file', 'nodes']);
});

Normalise('a renewBefore of 0 is allowed; equal to the lifetime it is not', () => {
  ok(parse('certsDir: c\ncaKey: k\nnodes: []\ndefaults: { renewBefore: "0", lifetime: 1h }\n'));
  assert.equal(errors(parse('certsDir: c\ncaKey: k\nnodes: []\ndefaults: { renewBefore: 60m, lifetime: 1h }\n')), [
    'cluster-certs.yaml:4:26: defaults.renewBefore: renewBefore "60m" is not shorter than lifetime "1h" (defaults.lifetime); the certificate would be reissued on every apply',
  ]);
});

Normalise('a leaf lifetime equal to the CA lifetime is allowed', () => {
  ok(parse('certsDir: c\ncaKey: k\nca: { lifetime: 8760h }\ndefaults: { lifetime: 525600m }\nnodes: []\n'));
});

Fixtures.run();
Schema.run();
Locations.run();
Normalise('a caKey named like "..ca.key" inside certsDir is inside it', () => {
  const r = parseSpec('certsDir: certs\ncaKey: certs/..ca.key\nnodes: []\n', '/project/cluster-certs.yaml');
  assert.is(r.ok, false);
  if (!r.ok) assert.match(r.diagnostics.map((d) => d.message).join('\n'), /is inside certsDir/);
  const outside = parseSpec('certsDir: certs\ncaKey: ../secrets/ca.key\nnodes: []\n', '/project/sub/cluster-certs.yaml');
  assert.is(outside.ok, true);
});

Normalise('verify: a node\'s block over defaults.verify key by key; none written, none set; bad ports located', () => {
  const text = [
    'certsDir: certs',
    'caKey: ca.key',
    'defaults:',
    '  verify: { sql: 26257, http: 8080 }',
    'nodes:',
    '  - { name: n1, hosts: [a], verify: { http: 9090, host: 10.0.0.1 } }',
    '  - { name: n2, hosts: [a] }',
    '',
  ].join('\n');
  const spec = ok(parse(text));
  assert.equal(spec.nodes.map((n) => n.verify), [{ host: '10.0.0.1', sql: 26257, http: 9090 }, { sql: 26257, http: 8080 }]);
  assert.not.ok('verify' in (ok(parse('certsDir: certs\ncaKey: ca.key\nnodes:\n  - { name: n1, hosts: [a] }\n')).nodes[0] ?? {}));
  const bad = ['certsDir: certs', 'caKey: ca.key', 'defaults:', '  verify: { rpc: 70000 }', 'nodes:', '  - name: n1', '    hosts: [a]', '    verify: { sql: 0, tls: 1 }', ''].join('\n');
  assert.equal(errors(parse(bad)), [
    'cluster-certs.yaml:4:18: defaults.verify.rpc: must be at most 65535, got 70000',
    'cluster-certs.yaml:8:20: nodes[0].verify.sql: must be at least 1, got 0',
    'cluster-certs.yaml:8:23: nodes[0].verify: unknown key "tls"; expected one of: host, sql, rpc, http',
  ]);
});

Normalise('tenants: ids in decimal, default hosts, signing off, key type and lifetimes from defaults', () => {
  const spec = ok(parse('certsDir: c\ncaKey: k\nnodes: [{name: n, hosts: [h]}]\ndefaults: {keyType: ecdsa-p384, lifetime: 1000h}\ntenants:\n  - id: 12\n  - id: 0x20\n    hosts: [a.example.com]\n    signing: true\n    keyType: rsa\n    keySize: 4096\n'));
  assert.equal(
    (spec.tenants ?? []).map((t) => [t.id, t.hosts, t.signing, t.keyType, t.keySize, t.lifetime]),
    [
      ['12', ['127.0.0.1', '::1', 'localhost', '*.local'], false, 'ecdsa-p384', 2048, 1000n * NS_PER_HOUR],
      ['32', ['a.example.com'], true, 'rsa', 4096, 1000n * NS_PER_HOUR],
    ],
  );
  assert.is(ok(parse('certsDir: c\ncaKey: k\nnodes: [{name: n, hosts: [h]}]\n')).tenants, undefined);
});

Normalise('ui: defaults.ui for every node, a node\'s own block replacing it whole, paths absolute', () => {
  const spec = ok(parse('certsDir: c\ncaKey: k\ndefaults: {ui: {cert: ui/a.crt, key: ui/a.key, ca: ui/ca.crt}}\nnodes:\n  - {name: n1, hosts: [h]}\n  - {name: n2, hosts: [h], ui: {cert: /etc/ui/b.crt, key: /etc/ui/b.key}}\n'));
  assert.equal(spec.nodes.map((n) => n.ui), [
    { cert: '/proj/ui/a.crt', key: '/proj/ui/a.key', ca: '/proj/ui/ca.crt' },
    { cert: '/etc/ui/b.crt', key: '/etc/ui/b.key' },
  ]);
  assert.is(ok(parse('certsDir: c\ncaKey: k\nnodes: [{name: n, hosts: [h]}]\n')).nodes[0]?.ui, undefined);
});

Normalise.run();
