// treeSource answers from the facts readTree gathered; a path spelled another way (`..`, `.`,
// doubled or trailing slashes, relative to the cwd) must get the same answer as the disk gives.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { readTree } from '../../src/tree/read-tree.js';
import { treeSource } from '../../src/tree/tree-source.js';
import { diskSource } from '../../src/io/file-source.js';
import { goldenCluster } from '../report/fixture.js';

const test = suite('treeSource');

async function outcome(p: Promise<Buffer | { isFile(): boolean; isDirectory(): boolean; mode: number }>): Promise<string> {
  try {
    const v = await p;
    return Buffer.isBuffer(v) ? `bytes ${v.length}` : `stat file=${v.isFile()} dir=${v.isDirectory()} mode=${(v.mode & 0o7777).toString(8)}`;
  } catch (err) {
    return `error ${(err as NodeJS.ErrnoException).code ?? 'none'}`;
  }
}

test('any spelling of a path gets the disk answer', async () => {
  const f = await goldenCluster();
  const tree = await readTree(f.spec, { everything: true });
  const source = treeSource(tree, f.certsDir);
  const d = f.certsDir;
  const spellings = [
    path.join(d, 'ca.crt'),
    `${d}/nodes/node1/node.crt`,
    `${d}/nodes/node1/../node1/node.crt`,
    `${d}/./nodes/node1/node.key`,
    `${d}//nodes/node1/node.crt`,
    `${d}/nodes/node1/`,
    `${d}/nodes/node1/absent.crt`,
    `${d}/nodes/../../${path.basename(d)}/ca.crt`,
    path.relative(process.cwd(), path.join(d, 'nodes', 'node1', 'node.crt')),
  ];
  for (const p of spellings) {
    assert.is(await outcome(source.stat(p)), await outcome(diskSource.stat(p)), `stat ${p}`);
    assert.is(await outcome(source.readFile(p)), await outcome(diskSource.readFile(p)), `readFile ${p}`);
  }
});

test.run();
