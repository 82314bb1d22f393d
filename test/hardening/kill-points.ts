// The crash test's kill points: a seeded generator (so a failing run can be replayed with the
// seed it prints), a SIGKILL-ing runner whose triggers are delays or counts of files seen on disk,
// and the phase a kill landed in, read from the tree the kill left (never from apply's output).
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { CLI, LOCK_TEMP, TEMP_NAME, snapshot, type TreeState } from './lib.js';
import { SPEC_LOCK_DIR } from '../../src/io/lock.js';

/** mulberry32: a 32-bit state, full period, good enough to choose kill points. Values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to give each scenario its own stream of one seed (a scenario run alone replays the same). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export const DEFAULT_SEED = 0x5eed;

/** The seed from `CERTGEN_CRASH_SEED` (decimal or 0x-hex), or the fixed default. */
export function crashSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CERTGEN_CRASH_SEED?.trim();
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  const n = /^0x[0-9a-f]+$/i.test(raw) ? Number.parseInt(raw.slice(2), 16) : /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`CERTGEN_CRASH_SEED=${raw}: want an integer from 0 to 4294967295 (decimal or 0x hex)`);
  return n;
}

/**
 * Where in an apply a SIGKILL landed, from what is on disk afterwards. Apply (src/apply.ts) takes
 * the certs-dir lock (io/lock.ts: a staged `.certgen.lock.<pid>.<hex>.tmp` linked to
 * `.certgen.lock`), plans, generates and signs everything in memory and makes the folders, then
 * writeFilesAtomic (io/files.ts) stages every file as `.<name>.<12 hex>.tmp`, links a
 * `.tmp.old` backup of each file it will replace, renames (or, for the CA, links) each staged
 * file onto its real name, removes the backups and leftovers, and apply releases the lock.
 *
 * - `before-lock`: no lock file, no staged file, no real name changed (process start, reading the
 *   spec, making certs/, staging the lock file).
 * - `locked`: the lock file is there, no staged file, no real name changed (reading the tree,
 *   planning, key generation, signing, making folders).
 * - `staged`: staged files or backup links are there, no real name changed yet (staging, backup
 *   links; a kill between the last stage and the first rename too).
 * - `publishing`: some but not all of the files the full apply writes are under their real names
 *   with their new bytes (the rename loop).
 * - `published`: every file the full apply writes is in place, and the process was still running
 *   (removing backups, syncing folders, releasing the lock, exiting).
 *
 * A run that exited by itself before its kill is `exited`: not a phase, just a wasted point.
 */
export const PHASES = ['before-lock', 'locked', 'staged', 'publishing', 'published'] as const;
export type Phase = (typeof PHASES)[number];

export interface Landing {
  phase: Phase | 'exited';
  /** Staging temps and backup links (not the lock's staged file). */
  staged: string[];
  /** Managed files under real names whose bytes differ from before the run. */
  published: number;
}

export function classify(killed: boolean, state: TreeState, published: number, writes: number): Landing {
  const staged = state.temps.filter((t) => TEMP_NAME.test(path.basename(t)));
  const phase: Landing['phase'] = !killed
    ? 'exited'
    : published === 0
      ? staged.length > 0
        ? 'staged'
        : state.lockHeld
          ? 'locked'
          : 'before-lock'
      : published < writes
        ? 'publishing'
        : 'published';
  return { phase, staged, published };
}

/**
 * What the kills landed on can say about the run: a partly published batch or a staged file with
 * no lock would mean files were written outside the lock (a kill cannot release it), and a
 * mismatched pair outside the rename loop would mean the pair was not written as one batch.
 */
export function landingProblems(l: Landing, state: TreeState): string[] {
  const out: string[] = [];
  if (l.phase === 'exited') return out;
  if (!state.lockHeld && (l.staged.length > 0 || l.phase === 'publishing')) out.push(`${l.phase} with ${l.staged.length} staged files but no lock file`);
  if (state.mismatched.length > 0 && l.phase !== 'publishing') out.push(`mismatched pairs (${state.mismatched.join(', ')}) while ${l.phase}`);
  return out;
}

/** Managed files under real names in certs/ and secrets/ whose bytes differ from `before` (a snapshot). */
export function changedFiles(dir: string, before: Map<string, string>): number {
  // The spec, and the journal: appended after the batch is published, never staged (lib.ts inspect() checks it is whole).
  const now = snapshot(dir, (rel) => rel === 'cluster-certs.yaml' || rel === 'cluster-certs.journal.jsonl');
  let n = 0;
  for (const [rel, v] of now) {
    const name = path.basename(rel);
    // The journal's lock folder beside the spec (and its .gitignore) is no file apply stages.
    if (v.startsWith('dir') || TEMP_NAME.test(name) || LOCK_TEMP.test(name) || name.startsWith('.certgen.lock') || rel.startsWith(`${SPEC_LOCK_DIR}/`)) continue;
    const old = before.get(rel);
    // Content hash only: the inode part changes with every rename.
    if (old === undefined || old.split(' ').at(-1) !== v.split(' ').at(-1)) n++;
  }
  return n;
}

export type Counts = Record<Phase, number>;

export function emptyCounts(): Counts {
  return Object.fromEntries(PHASES.map((p) => [p, 0])) as Counts;
}

export function missingPhases(c: Counts): Phase[] {
  return PHASES.filter((p) => c[p] === 0);
}

export type Trigger =
  /** SIGKILL this long after spawning. */
  | { kind: 'delay'; ms: number }
  /** SIGKILL `extraMs` after the `count`-th staged file appears. */
  | { kind: 'staged'; count: number; extraMs: number }
  /** SIGKILL `extraMs` after the `count`-th real name is written (renamed or linked into place). */
  | { kind: 'published'; count: number; extraMs: number }
  /** SIGKILL as soon as the lock file is removed again. */
  | { kind: 'released' }
  /** No kill: a measuring run. */
  | { kind: 'none' };

export function describe(t: Trigger): string {
  switch (t.kind) {
    case 'delay':
      return `${t.ms} ms after spawn`;
    case 'staged':
      return `${t.extraMs} ms after staged file #${t.count}`;
    case 'published':
      return `${t.extraMs} ms after real name #${t.count} was written`;
    case 'released':
      return 'when the lock was released';
    case 'none':
      return 'not killed';
  }
}

/** Milliseconds from spawn at which each step was first seen (file-system events). */
export interface Marks {
  lock?: number;
  firstStaged?: number;
  firstPublished?: number;
  lastPublished?: number;
  released?: number;
  exit?: number;
}

export interface KillResult {
  killed: boolean;
  /** Exit code of a run that was not killed. */
  code: number | null;
  atMs: number;
  marks: Marks;
  /** What the watchers saw before the kill: distinct staged files and real names written. */
  stagedSeen: number;
  publishedSeen: number;
}

/**
 * Starts `certgen apply <dir>/cluster-certs.yaml` and SIGKILLs it on the trigger. The folders of
 * the tree (certs/, secrets/, certs/nodes/*, certs/clients/*) are watched with inotify as they
 * appear (each one listed once when its watch starts, so entries made before are not missed);
 * `before` holds the managed files that exist before the run, whose names appearing again counts
 * only on a rename event (their replacement).
 */
export function killRun(dir: string, trigger: Trigger, before: ReadonlySet<string>): Promise<KillResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const now = (): number => performance.now() - start;
    const certs = path.join(dir, 'certs');
    const marks: Marks = {};
    const staged = new Set<string>();
    const published = new Set<string>();
    const watchers = new Map<string, FSWatcher>();
    let atMs = -1;
    let exited = false;
    let armed = false;
    const child = spawn(process.execPath, [CLI, 'apply', path.join(dir, 'cluster-certs.yaml')], { stdio: 'ignore' });
    const closeAll = (): void => {
      for (const w of watchers.values()) w.close();
    };
    const kill = (): void => {
      if (exited || atMs >= 0) return;
      atMs = now();
      child.kill('SIGKILL');
    };
    const arm = (extraMs: number): void => {
      if (armed) return;
      armed = true;
      if (extraMs > 0) setTimeout(kill, extraMs);
      else kill();
    };
    const check = (): void => {
      if (trigger.kind === 'staged' && staged.size >= trigger.count) arm(trigger.extraMs);
      if (trigger.kind === 'published' && published.size >= trigger.count) arm(trigger.extraMs);
    };
    const container = (d: string): boolean => d === dir || d === certs || d === path.join(certs, 'nodes') || d === path.join(certs, 'clients');
    const seen = (d: string, name: string, event: 'rename' | 'change' | 'listed'): void => {
      const p = path.join(d, name);
      if (container(d)) {
        const sub = d === dir ? ['certs', 'secrets'].includes(name) : d === certs ? ['nodes', 'clients'].includes(name) : true;
        if (sub) attach(p);
        if (d !== certs) return;
      }
      if (d === certs && name === '.certgen.lock') {
        if (existsSync(p)) marks.lock ??= now();
        else if (marks.lock !== undefined && marks.released === undefined) {
          marks.released = now();
          if (trigger.kind === 'released') arm(0);
        }
        return;
      }
      if (TEMP_NAME.test(name)) {
        if (!name.endsWith('.old') && !staged.has(p)) {
          staged.add(p);
          marks.firstStaged ??= now();
          check();
        }
        return;
      }
      if (LOCK_TEMP.test(name) || name.startsWith('.certgen.lock')) return;
      if (event === 'change' || published.has(p)) return;
      const rel = path.relative(dir, p);
      if (rel === SPEC_LOCK_DIR || rel.startsWith(`${SPEC_LOCK_DIR}/`)) return;
      if (event === 'listed' && before.has(rel)) return;
      let isFile = false;
      try {
        isFile = lstatSync(p).isFile();
      } catch {
        return;
      }
      if (!isFile) return;
      published.add(p);
      marks.firstPublished ??= now();
      marks.lastPublished = now();
      check();
    };
    function attach(d: string): void {
      if (watchers.has(d) || exited) return;
      let w: FSWatcher;
      try {
        if (!lstatSync(d).isDirectory()) return;
        w = watch(d, (event, name) => {
          if (name !== null) seen(d, String(name), event);
        });
      } catch {
        return;
      }
      w.on('error', () => {});
      watchers.set(d, w);
      let names: string[] = [];
      try {
        names = readdirSync(d);
      } catch {
        // gone again
      }
      for (const n of names) seen(d, n, 'listed');
    }
    child.on('error', (err) => {
      closeAll();
      reject(err);
    });
    child.on('exit', (code, signal) => {
      exited = true;
      marks.exit = now();
      closeAll();
      resolve({ killed: signal === 'SIGKILL', code, atMs: atMs < 0 ? now() : atMs, marks, stagedSeen: staged.size, publishedSeen: published.size });
    });
    attach(dir);
    if (trigger.kind === 'delay') setTimeout(kill, trigger.ms);
  });
}
