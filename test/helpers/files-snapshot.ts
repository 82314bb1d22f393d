// Every file under a folder as `mode [mtime] base64`, by relative path: equal snapshots mean
// nothing was written, chmodded or (with mtimes) rewritten with the same bytes.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function filesSnapshot(root: string, opts: { mtime: boolean }): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out[path.relative(root, p)] = `${(st.mode & 0o777).toString(8)}${opts.mtime ? ` ${st.mtimeMs}` : ''} ${readFileSync(p).toString('base64')}`;
    }
  };
  walk(root);
  return out;
}
