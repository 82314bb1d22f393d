// The report in every format: golden files (fixtures/golden/report-*.txt; regenerate with
// UPDATE_GOLDEN=1 and read the diff before committing), the JSON Schema, CSV/TSV shape, and the
// escaping that keeps markdown and html intact whatever a file name or error says.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { buildReport, type Report, type ReportRow } from '../../src/report/report.js';
import { REPORT_COLUMNS, REPORT_FORMATS, isReportFormat, renderReport, reportCells } from '../../src/report/render.js';
import { ROOT, tmpdir, setup } from '../helpers/index.js';
import { NOW, SPEC_YAML, goldenCluster, normalise, normaliseReport, writeSpec } from './fixture.js';

const golden = (name: string): string => path.join(ROOT, 'fixtures', 'golden', `report-${name}.txt`);

function checkGolden(name: string, actual: string): void {
  const file = golden(name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, actual);
  assert.fixture(actual, readFileSync(file, 'utf8'), `golden ${path.basename(file)} (UPDATE_GOLDEN=1 regenerates it)`);
}

/** RFC 4180 fields of a CSV or TSV document (quotes doubled inside quoted fields). */
function parseDelimited(text: string, sep: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === sep) {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  return rows;
}

let fx: Awaited<ReturnType<typeof goldenCluster>>;
let specReport: Report;
let dirReport: Report;

const formats = suite('golden output');
setup(formats, async () => {
  fx = await goldenCluster();
  specReport = await buildReport({ spec: fx.spec }, { now: NOW, specFileLabel: 'cluster-certs.yaml', certsDirLabel: 'certs' });
  dirReport = await buildReport({ certsDir: fx.certsDir }, { now: NOW, recursive: true, certsDirLabel: 'certs' });
});

for (const format of REPORT_FORMATS) {
  formats(`${format}: the spec report`, () => {
    checkGolden(format, normalise(renderReport(normaliseReport(specReport), format), fx));
  });
}

formats('table: a certs dir, recursively', () => {
  checkGolden('certs-dir-table', normalise(renderReport(normaliseReport(dirReport), 'table'), fx));
});

formats('goldens are normalised, not emptied: every row and the forecast are in each', () => {
  for (const format of REPORT_FORMATS) {
    const text = readFileSync(golden(format), 'utf8');
    for (const r of specReport.rows) assert.ok(text.includes(r.file), `${format} golden lists ${r.file}`);
    assert.ok(text.includes(format === 'html' ? '&lt;fp-01&gt;' : '<fp-01>'), `${format} golden has normalised fingerprints`);
    if (format !== 'tsv' && format !== 'csv') assert.ok(text.includes('2026-04-04'), `${format} golden has the CA rotation deadline`);
  }
});

formats.run();

// ---------------------------------------------------------------------------------------------
const shape = suite('formats and their shape');

shape('json: version 1, valid against schemas/report.schema.json (spec, certs dir, empty tree)', async () => {
  const ajv = new Ajv({ allErrors: true, strict: true, validateFormats: false });
  ajv.addSchema(JSON.parse(readFileSync(path.join(ROOT, 'schemas', 'plan.schema.json'), 'utf8')), 'plan.schema.json');
  const validate = ajv.compile(JSON.parse(readFileSync(path.join(ROOT, 'schemas', 'report.schema.json'), 'utf8')));
  const empty = await writeSpec(tmpdir('certgen-render-'), SPEC_YAML);
  const missing = await buildReport({ spec: empty.spec }, { now: NOW });
  for (const r of [specReport, dirReport, missing]) {
    const doc = JSON.parse(renderReport(r, 'json')) as unknown;
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    assert.is((doc as { version: number }).version, 1);
  }
  // The schema does reject what it should: an unknown status, a missing field.
  const bad = JSON.parse(renderReport(specReport, 'json')) as { rows: Record<string, unknown>[] };
  (bad.rows[0] as Record<string, unknown>).status = 'fine';
  assert.not.ok(validate(bad));
  delete (bad.rows[0] as Record<string, unknown>).status;
  assert.not.ok(validate(bad));
});

shape('csv and tsv: a header and one record of 16 fields per row, nothing else', () => {
  for (const [format, sep] of [['csv', ','], ['tsv', '\t']] as const) {
    const records = parseDelimited(renderReport(specReport, format), sep);
    assert.equal(records[0], [...REPORT_COLUMNS]);
    assert.is(records.length, specReport.rows.length + 1);
    specReport.rows.forEach((r, i) => assert.equal(records[i + 1], reportCells(r), `${format} row ${i + 1}`));
  }
});

shape('table: fingerprints shortened for terminals, the rest as in csv', () => {
  const cells = reportCells(specReport.rows[0] as ReportRow, { short: true });
  assert.match(cells[12] ?? '', /^([0-9A-F]{2}:){7}[0-9A-F]{2}…$/);
  const text = renderReport(specReport, 'table');
  assert.match(text, /\(16 rows\)/);
  assert.match(text, /CA rotation:\n {2}ca\.crt \(CA, expires 2027-06-04T00:00:00Z\): rotate by 2026-04-04T00:00:00Z \(in 318 days\)/);
});

shape('format names', () => {
  assert.equal([...REPORT_FORMATS], ['table', 'tsv', 'csv', 'json', 'markdown', 'html']);
  assert.ok(isReportFormat('markdown'));
  assert.not.ok(isReportFormat('yaml'));
});

shape.run();

// ---------------------------------------------------------------------------------------------
const escaping = suite('escaping');

/** A report whose strings try to break out of markdown tables and html. */
function hostile(): Report {
  const r = structuredClone(specReport);
  const row = r.rows[0] as ReportRow;
  row.owner = 'a|b <img src=x onerror=alert(1)>';
  row.file = 'nodes/we|rd/node.crt';
  row.notes = 'user: *bold* _it_ `code` [link](http://evil.example) # h';
  row.error = 'line one\nline two & <script>alert("x")</script>';
  r.warnings = ['<b>warn</b>'];
  return r;
}

escaping('markdown: one table line per row, no raw html, no emphasis, pipes escaped', () => {
  const text = renderReport(hostile(), 'markdown');
  const line = text.split('\n').find((l) => l.includes('we\\|rd')) ?? '';
  assert.ok(line, 'the row is there');
  assert.is(line.replace(/\\\|/g, '').split('|').length - 2, 10, 'ten cells: no pipe broke out');
  assert.not.match(text, '<img');
  assert.not.match(text, '<script');
  assert.match(line, 'a\\|b &lt;img src=x onerror=alert(1)&gt;');
  assert.match(line, 'user: \\*bold\\* \\_it\\_ \\`code\\` \\[link\\](http://evil.example) \\# h');
  assert.match(line, 'line one<br>line two &amp; &lt;script&gt;');
  assert.match(text, '- &lt;b&gt;warn&lt;/b&gt;');
});

escaping('html: every string escaped; no script, no external resource', () => {
  const html = renderReport(hostile(), 'html');
  assert.not.match(html, /<script/i);
  assert.not.match(html, /<img/i);
  assert.match(html, 'a|b &lt;img src=x onerror=alert(1)&gt;');
  assert.match(html, '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  assert.match(html, '&lt;b&gt;warn&lt;/b&gt;');
  const real = renderReport(specReport, 'html');
  const external = real.match(/(?:src|href)\s*=|url\(\s*['"]?(?:https?:)?\/\/|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg")/gi) ?? [];
  assert.equal(external, [], 'no external reference (only the SVG namespace)');
  assert.is((real.match(/<svg /g) ?? []).length, 1, 'one inline SVG timeline');
  assert.ok(real.startsWith('<!DOCTYPE html>'));
});

escaping.run();
