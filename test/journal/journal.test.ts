// The journal beside the spec: a hash chain that names the first broken line for every kind of
// tampering, appends that never extend a broken chain or interleave, and apply's real line for a
// real run (each file's SHA-256 before and after, read back from disk; no key material).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { apply } from '../../src/apply.js';
import { loadSpec } from '../../src/cluster-spec/load-spec.js';
import { JournalError, appendJournal, headOf, journalFileFor, readJournal, verifyJournalText, type JournalEntry } from '../../src/journal/journal.js';
import { bin, tmpdir } from '../helpers/index.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A spec file (never read by the journal beyond its bytes) and a journal of `n` lines beside it. */
async function journalOf(n: number): Promise<{ spec: string; file: string; text: string }> {
  const spec = path.join(tmpdir('certgen-journal-'), 'cluster-certs.yaml');
  writeFileSync(spec, 'certsDir: certs\n');
  for (let i = 0; i < n; i++) {
    await appendJournal({ specFile: spec, command: `apply #${i + 1}`, files: [{ file: `nodes/n${i}/node.crt`, op: 'write', old: null, new: sha(String(i)), mode: 0o644, reason: 'missing', artifact: `node/n${i}` }] });
  }
  const file = journalFileFor(spec);
  return { spec, file, text: existsSync(file) ? readFileSync(file, 'utf8') : '' };
}

function brokenAt(text: string): number | undefined {
  try {
    verifyJournalText(text);
    return undefined;
  } catch (err) {
    assert.instance(err, JournalError);
    return (err as JournalError).line;
  }
}

const chain = suite('the chain');

chain('appends chain each line to the one before; seq counts; the spec is hashed from its bytes', async () => {
  const { spec, file, text } = await journalOf(4);
  assert.is(file, path.join(path.dirname(spec), 'cluster-certs.journal.jsonl'));
  const lines = text.slice(0, -1).split('\n');
  const entries = lines.map((l) => JSON.parse(l) as JournalEntry);
  assert.equal(entries.map((e) => e.seq), [1, 2, 3, 4]);
  assert.is(entries[0]!.prev, null);
  for (let i = 1; i < 4; i++) assert.is(entries[i]!.prev, sha(lines[i - 1]!));
  assert.is(entries[0]!.spec, sha(readFileSync(spec)));
  assert.is(headOf(text), sha(lines[3]!));
  assert.equal(await readJournal(file), entries);
  assert.is(statSync(file).mode & 0o777, 0o644, 'not a secret: meant to be committed');
});

chain('every kind of tampering names the first broken line', async () => {
  const { text } = await journalOf(5);
  const lines = text.slice(0, -1).split('\n');
  const join = (ls: string[]): string => `${ls.join('\n')}\n`;
  assert.is(brokenAt(text), undefined);
  for (let k = 0; k < 4; k++) {
    const changed = [...lines];
    changed[k] = changed[k]!.replace('"user":"', '"user":"x');
    assert.is(brokenAt(join(changed)), k + 2, `line ${k + 1} changed`);
    assert.is(brokenAt(join(lines.filter((_, i) => i !== k))), k + 1, `line ${k + 1} removed`);
    assert.is(brokenAt(join([...lines.slice(0, k + 1), lines[k]!, ...lines.slice(k + 1)])), k + 2, `line ${k + 1} repeated`);
  }
  const swapped = [...lines];
  [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
  assert.is(brokenAt(join(swapped)), 2);
  assert.is(brokenAt(join(lines.slice(1))), 1, 'the beginning lost');
  assert.is(brokenAt(text.slice(0, -10)), 5, 'the last line cut short');
  assert.is(brokenAt(join([...lines.slice(0, 2), 'not json', ...lines.slice(2)])), 3);
  assert.is(brokenAt(''), undefined, 'no journal yet is whole');
});

chain('a broken chain is never extended, and concurrent appends do not interleave', async () => {
  const { spec, file, text } = await journalOf(2);
  const lines = text.slice(0, -1).split('\n');
  const tampered = `${lines[0]!.replace('apply #1', 'apply #9')}\n${lines[1]}\n`;
  writeFileSync(file, tampered);
  try {
    await appendJournal({ specFile: spec, command: 'apply', files: [] });
    assert.unreachable('appended to a broken journal');
  } catch (err) {
    assert.instance(err, JournalError);
    assert.match((err as Error).message, "line 2's prev");
  }
  assert.is(readFileSync(file, 'utf8'), tampered, 'the file is as it was');

  const fresh = await journalOf(0);
  await Promise.all(Array.from({ length: 12 }, (_, i) => appendJournal({ specFile: fresh.spec, command: `run ${i}`, files: [] })));
  const entries = await readJournal(journalFileFor(fresh.spec));
  assert.is(entries.length, 12);
  assert.equal(new Set(entries.map((e) => e.command)).size, 12);
});

chain.run();

const applied = suite('apply writes one line per run that changes something');

applied('each file with its SHA-256 before and after (read back from disk), its mode and reason; no key material; nothing for a no-change run', async () => {
  const dir = tmpdir('certgen-journal-apply-');
  const specFile = path.join(dir, 'cluster-certs.yaml');
  const doc = { certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keySize: 1024 }, defaults: { keySize: 1024 }, nodes: [{ name: 'n1', hosts: ['localhost'] }, { name: 'n2', hosts: ['127.0.0.1'] }], clients: [{ user: 'root', pkcs8: true }] };
  writeFileSync(specFile, stringify(doc));
  const certs = path.join(dir, 'certs');
  const onDisk = (rel: string): string => sha(readFileSync(path.resolve(certs, rel)));

  const first = await apply(await loadSpec(specFile));
  assert.equal(first.journal, { file: journalFileFor(specFile), seq: 1 });
  let [e1] = await readJournal(journalFileFor(specFile));
  assert.is(e1!.command, 'apply');
  assert.is(e1!.spec, sha(readFileSync(specFile)));
  assert.ok(e1!.files.length >= 12);
  for (const f of e1!.files) {
    assert.is(f.op, 'write');
    assert.is(f.old, null, f.file);
    assert.is(f.new, onDisk(f.file), f.file);
    assert.is(f.mode, statSync(path.resolve(certs, f.file)).mode & 0o777, f.file);
  }
  assert.ok(e1!.files.some((f) => f.file === '../secrets/ca.key' && f.artifact === 'ca'), 'the CA key, by its SHA-256 only');

  const n2Before = onDisk('nodes/n2/node.crt');
  const again = await apply(await loadSpec(specFile));
  assert.is(again.applied.length, 0);
  assert.is(again.journal, undefined, 'a run that changes nothing adds no line (no churn in git)');

  doc.nodes[1]!.hosts = ['127.0.0.1', 'db2.example.com'];
  writeFileSync(specFile, stringify(doc));
  const { chmodSync } = await import('node:fs');
  chmodSync(path.join(certs, 'clients/root/client.root.key'), 0o644);
  await apply(await loadSpec(specFile));
  const entries = await readJournal(journalFileFor(specFile));
  assert.is(entries.length, 2);
  const e2 = entries[1]!;
  const crt = e2.files.find((f) => f.file === 'nodes/n2/node.crt');
  assert.equal(crt && { op: crt.op, old: crt.old, new: crt.new, reason: crt.reason, artifact: crt.artifact }, { op: 'write', old: n2Before, new: onDisk('nodes/n2/node.crt'), reason: 'hosts-changed', artifact: 'node/n2' });
  const key = e2.files.find((f) => f.file === 'clients/root/client.root.key');
  assert.equal(key && { op: key.op, mode: key.mode, reason: key.reason, same: key.old === key.new && key.new === onDisk('clients/root/client.root.key') }, { op: 'chmod', mode: 0o600, reason: 'mode-too-open', same: true });

  const text = readFileSync(journalFileFor(specFile), 'utf8');
  assert.not.match(text, 'PRIVATE KEY');
  for (const rel of ['nodes/n1/node.key', 'nodes/n2/node.key', 'clients/root/client.root.key']) {
    const body = readFileSync(path.join(certs, rel), 'latin1').split('\n').slice(1, 3).join('');
    assert.not.match(text, body.slice(0, 40), `no base64 of ${rel}`);
  }
});

applied('the CLI: journal verify and show, exit codes, and apply warning (changes kept) when the journal is broken', async () => {
  const dir = tmpdir('certgen-journal-cli-');
  const specFile = path.join(dir, 'cluster-certs.yaml');
  writeFileSync(specFile, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keySize: 1024 }, defaults: { keySize: 1024 }, nodes: [{ name: 'n1', hosts: ['localhost'] }] }));
  let r = await bin(['journal', 'verify', specFile]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'no journal yet');
  assert.is((await bin(['apply', specFile])).code, 0);
  const journal = journalFileFor(specFile);
  r = await bin(['journal', 'verify', specFile]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `ok, 1 line, head ${headOf(readFileSync(journal, 'utf8'))}`);
  r = await bin(['journal', 'show', journal]);
  assert.match(r.stdout, /^#1 {2}\S+Z {2}\S+@\S+ {2}certgen \S+ {2}apply {2}spec [0-9a-f]{12}\n/);
  assert.match(r.stdout, /\n {4}nodes\/n1\/node\.crt +- → [0-9a-f]{12} +node\/n1: missing\n/);
  r = await bin(['journal', 'show', specFile, '--json']);
  assert.equal((JSON.parse(r.stdout) as JournalEntry[]).map((e) => e.seq), [1]);

  // A second line, then line 1 changed: verify and show say where; apply still works but warns.
  writeFileSync(specFile, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keySize: 1024 }, defaults: { keySize: 1024 }, nodes: [{ name: 'n1', hosts: ['localhost', '::1'] }] }));
  assert.is((await bin(['apply', specFile])).code, 0);
  const [l1, l2] = readFileSync(journal, 'utf8').slice(0, -1).split('\n');
  writeFileSync(journal, `${l1!.replace('"apply"', '"apply --evil"')}\n${l2}\n`);
  r = await bin(['journal', 'verify', specFile]);
  assert.is(r.code, 1);
  assert.match(r.stderr, "line 2's prev");
  assert.match(r.stderr, 'restore it from git');
  r = await bin(['journal', 'show', specFile]);
  assert.is(r.code, 1);
  assert.match(r.stdout, '#2 ', 'a broken journal is still shown');
  writeFileSync(specFile, stringify({ certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keySize: 1024 }, defaults: { keySize: 1024 }, nodes: [{ name: 'n1', hosts: ['localhost'] }] }));
  r = await bin(['apply', specFile]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'reissued');
  assert.match(r.stderr, /^warning: the changes are made, but the journal was not updated: .*line 2's prev/m);
  assert.ok(existsSync(journal));
});

applied.run();
