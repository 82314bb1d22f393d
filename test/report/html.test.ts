// The html report in a real browser: Debian's headless Chromium loads it from a file:// URL with
// the network features off, takes a screenshot, and dumps the DOM it rendered. Needs
// /usr/bin/chromium (apt-get install chromium); without it this test fails, it does not skip.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { execa } from 'execa';
import { buildReport, type Report } from '../../src/report/report.js';
import { renderReport } from '../../src/report/render.js';
import { tmpdir } from '../helpers/index.js';
import { NOW, goldenCluster } from './fixture.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

async function chromium(args: string[]): Promise<string> {
  if (!existsSync(CHROMIUM)) assert.unreachable(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = tmpdir('certgen-chromium-');
  const r = await execa(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args],
    { reject: false, encoding: 'utf8', timeout: 120_000 },
  );
  assert.is(r.exitCode, 0, `chromium failed: ${r.stderr}`);
  return r.stdout;
}

interface Png {
  width: number;
  height: number;
  /** Raw (still filtered) scanlines. */
  lines: Buffer[];
}

function readPng(file: string): Png {
  const buf = readFileSync(file);
  assert.equal([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let offset = 8;
  let width = 0;
  let height = 0;
  let bpp = 0;
  const idat: Buffer[] = [];
  while (offset < buf.length) {
    const len = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bpp = ({ 2: 3, 6: 4 } as Record<number, number>)[data[9] ?? 0] ?? 0;
      assert.is(data[8], 8, '8 bits per channel');
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + len;
  }
  assert.ok(bpp > 0, 'RGB or RGBA');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = 1 + width * bpp;
  assert.is(raw.length, stride * height);
  const lines = Array.from({ length: height }, (_, y) => raw.subarray(y * stride, (y + 1) * stride));
  return { width, height, lines };
}

let report: Report;
let htmlFile: string;

const html = suite('html report in headless Chromium');
html.before(async () => {
  const f = await goldenCluster();
  report = await buildReport({ spec: f.spec }, { now: NOW, specFileLabel: 'cluster-certs.yaml', certsDirLabel: 'certs' });
  htmlFile = path.join(tmpdir('certgen-html-'), 'report.html');
  writeFileSync(htmlFile, renderReport(report, 'html'));
});

html('screenshot: a 1400x1000 PNG with real content', async () => {
  const png = path.join(path.dirname(htmlFile), 'report.png');
  await chromium([`--screenshot=${png}`, '--window-size=1400,1000', pathToFileURL(htmlFile).href]);
  assert.ok(existsSync(png), 'the screenshot was written');
  if (process.env.REPORT_SCREENSHOT) copyFileSync(png, process.env.REPORT_SCREENSHOT);
  assert.ok(statSync(png).size > 30_000, `a rendered page, not a blank one (${statSync(png).size} bytes)`);
  const img = readPng(png);
  assert.is(img.width, 1400);
  assert.is(img.height, 1000);
  const distinct = new Set(img.lines.map((l) => l.toString('base64'))).size;
  assert.ok(distinct > 300, `text, bars and tables make most scanlines differ (${distinct} distinct of ${img.height})`);
});

html('DOM: every row\'s file and owner, the timeline with its now line, the forecast', async () => {
  const dom = await chromium(['--dump-dom', pathToFileURL(htmlFile).href]);
  assert.match(dom, /^<!DOCTYPE html>|^<html/);
  const text = dom.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"');
  for (const r of report.rows) {
    assert.ok(text.includes(r.file), `file ${r.file}`);
    assert.ok(text.includes(`>${r.owner}<`), `owner ${r.owner} in a cell of its own`);
  }
  const svg = /<svg[\s\S]*?<\/svg>/.exec(dom)?.[0] ?? '';
  assert.ok(svg, 'the inline SVG timeline survived parsing');
  assert.match(svg, 'now 2025-05-20');
  assert.match(svg, 'rotate CA by 2026-04-04');
  assert.is((svg.match(/fill="url\(#hatch\)"/g) ?? []).length, report.rows.filter((r) => r.renewalStarts !== null && r.notBefore !== null).length, 'one shaded renewal window per certificate that has one');
  for (const r of report.rows) assert.ok(text.includes(r.file), `the timeline or table names ${r.file}`);
  assert.match(text, 'Forecast');
  assert.match(text, 'CA rotation');
  assert.not.match(dom, /<script/i);
});

html.run();
