// The html report in a real browser: Debian's headless Chromium loads it from a file:// URL with
// the network features off, takes a screenshot, and dumps the DOM it rendered. Needs
// /usr/bin/chromium (apt-get install chromium); without it this test fails, it does not skip.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { buildReport, type Report } from '../../src/report/report.js';
import { renderReport } from '../../src/report/render.js';
import { tmpdir, setup } from '../helpers/index.js';
import { runChromium } from '../helpers/chromium.js';
import { NOW, goldenCluster } from './fixture.js';

async function chromium(args: string[]): Promise<string> {
  const r = await runChromium(args);
  assert.is(r.code, 0, `chromium failed: ${r.stderr}`);
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
setup(html, async () => {
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
  const text = dom.replace(/<wbr>/g, '').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"');
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

/**
 * Loads `file` with a small script appended that measures the layout after load and writes the
 * numbers into the DOM (a <pre id="layout"> holding JSON), which --dump-dom then returns.
 */
interface Layout {
  innerWidth: number;
  docScrollWidth: number;
  docClientWidth: number;
  /** Every .card: tables, the timeline, the CA rotation notes. */
  cards: { scrollWidth: number; clientWidth: number; overflowX: string }[];
  tables: { heading: string; right: number; width: number; containerRight: number; containerScrollWidth: number; containerClientWidth: number; clippedCells: number; widestCell: number }[];
}

const MEASURE = `<script>
addEventListener('load', () => {
  const tables = [...document.querySelectorAll('table')].map((t) => {
    const box = t.parentElement;
    const br = box.getBoundingClientRect();
    const inner = br.right - parseFloat(getComputedStyle(box).paddingRight) - parseFloat(getComputedStyle(box).borderRightWidth);
    let heading = box.previousElementSibling;
    while (heading && heading.tagName !== 'H2') heading = heading.previousElementSibling;
    const cells = [...t.querySelectorAll('th, td')];
    return {
      heading: heading ? heading.textContent : '?',
      right: t.getBoundingClientRect().right,
      width: t.getBoundingClientRect().width,
      containerRight: inner,
      containerScrollWidth: box.scrollWidth,
      containerClientWidth: box.clientWidth,
      clippedCells: cells.filter((c) => c.scrollWidth > c.clientWidth + 1 || c.getBoundingClientRect().right > inner + 0.5).length,
      widestCell: Math.max(...cells.map((c) => c.getBoundingClientRect().width)),
    };
  });
  const cards = [...document.querySelectorAll('.card')].map((c) => ({ scrollWidth: c.scrollWidth, clientWidth: c.clientWidth, overflowX: getComputedStyle(c).overflowX }));
  const out = { innerWidth, docScrollWidth: document.documentElement.scrollWidth, docClientWidth: document.documentElement.clientWidth, cards, tables };
  const pre = document.createElement('pre');
  pre.id = 'layout';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>`;

async function layoutAt(width: number): Promise<Layout> {
  const file = path.join(path.dirname(htmlFile), `measure-${width}.html`);
  writeFileSync(file, readFileSync(htmlFile, 'utf8').replace('</body>', `${MEASURE}\n</body>`));
  const dom = await chromium(['--dump-dom', '--virtual-time-budget=5000', `--window-size=${width},900`, pathToFileURL(file).href]);
  const json = /<pre id="layout">([\s\S]*?)<\/pre>/.exec(dom)?.[1] ?? '';
  if (json === '') assert.unreachable('the measuring script wrote no <pre id="layout">');
  return JSON.parse(json.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Layout;
}

html('layout: the fingerprint table has real 95-character fingerprints to fit', () => {
  const fps = report.rows.map((r) => r.fingerprint).filter((f) => f !== '');
  assert.ok(fps.length > 10, 'most rows have a fingerprint');
  for (const f of fps) assert.match(f, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'SHA-256 as colon-separated hex');
  assert.ok(report.rows.some((r) => r.serial.length >= 32), 'long serials too');
});

for (const width of [1400, 1000]) {
  html(`layout at ${width} px: every table fits its card and the page needs no horizontal scrolling`, async () => {
    const l = await layoutAt(width);
    if (process.env.REPORT_LAYOUT) console.log(width, JSON.stringify(l));
    const summary = l.tables.map((t) => `${t.heading}: table right ${t.right.toFixed(0)}, card ${t.containerScrollWidth}/${t.containerClientWidth}`).join('; ');
    assert.is(l.innerWidth, width, 'the window is as wide as asked');
    assert.ok(l.docScrollWidth <= width, `document scrollWidth ${l.docScrollWidth} <= ${width} (${summary})`);
    assert.is(l.tables.length, 3, 'certificates, serials/fingerprints/keys, forecast');
    for (const t of l.tables) {
      assert.ok(t.right <= t.containerRight + 0.5, `${t.heading}: table right edge ${t.right.toFixed(1)} inside its card (${t.containerRight.toFixed(1)})`);
      assert.ok(t.right <= width, `${t.heading}: table right edge ${t.right.toFixed(1)} inside the ${width}-px viewport`);
      assert.ok(t.containerScrollWidth <= t.containerClientWidth, `${t.heading}: card scrollWidth ${t.containerScrollWidth} <= clientWidth ${t.containerClientWidth}`);
      assert.is(t.clippedCells, 0, `${t.heading}: no cell cut off`);
    }
    // The timeline is a fixed 1280-px SVG: it fits at 1400; on a narrower page its card scrolls
    // (with a scrollbar: overflow-x auto), it is never clipped.
    for (const [i, c] of l.cards.entries()) {
      if (width >= 1400) assert.ok(c.scrollWidth <= c.clientWidth, `card ${i} fits: scrollWidth ${c.scrollWidth} <= clientWidth ${c.clientWidth}`);
      else if (c.scrollWidth > c.clientWidth) assert.match(c.overflowX, /^(auto|scroll)$/, `card ${i} overflows (${c.scrollWidth} > ${c.clientWidth}), so it must scroll`);
    }
  });
}

html.run();
