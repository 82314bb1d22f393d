// plan --format markdown: the plan as a GitHub table, from real diffs of in-memory trees. Each
// table is read back by splitting rows on unescaped pipes, so a file name or message that holds
// markdown syntax cannot break a column or inject markup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diff } from '../../src/plan/diff.js';
import { renderPlanMarkdown } from '../../src/plan/render-markdown.js';
import type { Plan } from '../../src/plan/types.js';
import { baseDoc, buildFixture, drop, edit, mode, orphan, specOf, T0 } from './facts.js';

let fx: ReturnType<typeof buildFixture> | undefined;
const fixture = (): ReturnType<typeof buildFixture> => (fx ??= buildFixture());

/** The table's rows as cells (header and separator dropped), split on pipes not escaped. */
function rows(markdown: string): string[][] {
  const lines = markdown.split('\n').filter((l) => l.startsWith('| '));
  return lines.slice(2).map((l) => l.slice(2, -2).split(/(?<!\\)\|/).map((c) => c.trim()));
}

async function planWith(edits: Parameters<typeof edit>[1], prune = false, docEdit?: (d: ReturnType<typeof baseDoc>) => void): Promise<Plan> {
  const f = await fixture();
  const doc = baseDoc();
  docEdit?.(doc);
  return diff({ spec: specOf(doc), tree: edit(f.tree, edits), now: T0, prune, specFile: 'deploy/cluster-certs.yaml', certsDirLabel: 'certs' });
}

test('one row per change, with its files and each reason code; keeps only with verbose', async () => {
  const p = await planWith([drop('nodes/node1/node.key'), mode('clients/root/client.root.key', 0o644)]);
  const md = renderPlanMarkdown(p);
  assert.match(md, /^### certgen plan: `deploy\/cluster-certs\.yaml`\n/);
  assert.match(md, 'Certs dir `certs`. **0 to create, 1 to reissue, 1 to fix mode, 0 CA bundles to update, 0 orphaned, 3 unchanged.**');
  const r = rows(md);
  const shown = p.changes.filter((c) => c.action !== 'keep');
  assert.is(r.length, shown.length);
  r.forEach((cells, i) => {
    const c = shown[i]!;
    assert.is(cells.length, 4, cells.join(' | '));
    assert.is(cells[0], `**${c.action}**`);
    assert.is(cells[1], `\`${c.artifact}\``);
    assert.equal(cells[2]!.split('<br>'), c.files.map((f) => `\`${f}\``));
    assert.equal(cells[3]!.split('<br>').map((x) => x.split(' ')[0]), c.reasons.map((x) => `\`${x.code}\``));
  });
  assert.is(rows(renderPlanMarkdown(p, { verbose: true })).length, p.changes.length);
});

test('a file name with markdown syntax stays inside its cell; a kept orphan says --prune removes it', async () => {
  const p = await planWith([orphan('nodes/node1/a|b*c_<x>.crt')]);
  const r = rows(renderPlanMarkdown(p));
  assert.is(r.length, 1);
  assert.is(r[0]!.length, 4);
  assert.is(r[0]![2], '`nodes/node1/a\\|b*c_<x>.crt`');
  assert.not.match(r[0]![3]!, /<x>/, 'no raw HTML');
  assert.match(r[0]![3]!, '(kept; --prune removes it)');
  assert.not.match(renderPlanMarkdown(await planWith([orphan('nodes/node1/a|b*c_<x>.crt')], true)), '--prune removes it');
});

test('nothing to do, warnings, and errors (which say nothing can be applied)', async () => {
  assert.match(renderPlanMarkdown(await planWith([])), '\nNothing to do: the certs dir matches the spec.\n');
  const warned = await planWith([], false, (d) => {
    d.ca.keySize = 2048;
  });
  assert.match(renderPlanMarkdown(warned), /\*\*Warnings\*\*\n\n- the CA key is 1024 bits but the spec asks for 2048/);
  const broken = await planWith([drop(':ca-key')]);
  assert.ok(broken.errors.length > 0);
  const md = renderPlanMarkdown(broken);
  assert.match(md, '**Errors**: nothing can be applied until it is fixed.');
  assert.match(md, '- `ca`: the CA key');
  assert.not.match(md, 'Nothing to do');
});

test.run();
