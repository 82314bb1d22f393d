/**
 * Paths (relative, with `/`) and the rows at them: `at(f)` the rows whose path is f, `under(f)`
 * those whose path is f or starts with `f/`, `covers(f)` whether there is any such row.
 */
export class PathIndex {
  private readonly exact = new Map<string, number[]>();
  private readonly below = new Map<string, number[]>();
  add(file: string, i = -1): void {
    push(this.exact, file, i);
    for (let k = file.indexOf('/'); k !== -1; k = file.indexOf('/', k + 1)) push(this.below, file.slice(0, k), i);
  }
  at(f: string): number[] {
    return this.exact.get(f) ?? [];
  }
  under(f: string): number[] {
    return [...this.at(f), ...(this.below.get(f) ?? [])];
  }
  covers(f: string): boolean {
    return this.exact.has(f) || this.below.has(f);
  }
}

/** Appends i to the list under k. */
export function push<K, V>(m: Map<K, V[]>, k: K, i: V): void {
  const list = m.get(k);
  if (list) list.push(i);
  else m.set(k, [i]);
}
