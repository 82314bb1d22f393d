// What a run on a terminal gets beyond the plain output: colour (on a terminal, unless NO_COLOR
// says no; FORCE_COLOR forces it either way, as node and most CLIs read it) and a progress line
// that redraws itself in place and is erased before the result is printed. When stdout is not a
// terminal nothing here writes a byte, so piped and redirected output is exactly the plain text.
import { ansiStyle, plainStyle, type Style } from '../core/style.js';
import type { Io } from './io.js';

/**
 * Whether this run prints colour: FORCE_COLOR set (to anything but `0` or `false`; empty counts as
 * set) forces it on, `FORCE_COLOR=0` off; otherwise a non-empty NO_COLOR turns it off
 * (no-color.org); otherwise colour when stdout is a terminal and TERM is not `dumb`.
 */
export function colourEnabled(io: Pick<Io, 'env' | 'stdoutIsTTY'>): boolean {
  const force = io.env.FORCE_COLOR;
  if (force !== undefined) return !(force === '0' || force.toLowerCase() === 'false');
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  return io.stdoutIsTTY && io.env.TERM !== 'dumb';
}

export function styleFor(io: Pick<Io, 'env' | 'stdoutIsTTY'>): Style {
  return colourEnabled(io) ? ansiStyle : plainStyle;
}

/** A progress line on the terminal: `what n/N done`, and the slowest item still running. */
export interface Progress {
  /** An item (a host) started. */
  start(id: string): void;
  /** An item finished. */
  finish(id: string): void;
  /** Sets the count done directly (keys generated). */
  set(done: number): void;
  /** A line that stays (a progress event), written to stderr above the progress line. */
  log(line: string): void;
  /** Erases the progress line and stops redrawing; call before printing the result. */
  end(): void;
}

const REDRAW_MS = 250;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

/** `hosts 3/24 done`. */
export const hostsDone = (done: number, total: number): string => `hosts ${done}/${total} done`;
/** `keys generated 3/24`. */
export const keysGenerated = (done: number, total: number): string => `keys generated ${done}/${total}`;

/**
 * A progress line on stdout when it is a terminal (`hosts 3/24 done · slowest running: node n7,
 * 12.3s`), redrawn on every change and four times a second; a no-op otherwise (log() then just
 * writes its line to stderr).
 */
export function progress(io: Io, label: (done: number, total: number) => string, total: number, opts: { columns?: number; now?: () => number } = {}): Progress {
  if (!io.stdoutIsTTY) {
    return { start() {}, finish() {}, set() {}, log: (l) => io.stderr(`${l}\n`), end() {} };
  }
  const now = opts.now ?? Date.now;
  const running = new Map<string, number>();
  let done = 0;
  let shown = false;
  let ended = false;
  const width = Math.max(20, (opts.columns ?? (process.stdout.columns || 80)) - 1);
  const text = (): string => {
    let line = label(done, total);
    let slowest: [string, number] | undefined;
    for (const [id, since] of running) if (slowest === undefined || since < slowest[1]) slowest = [id, since];
    if (slowest !== undefined) line += ` · slowest running: ${slowest[0]}, ${seconds(now() - slowest[1])}`;
    return line.length > width ? `${line.slice(0, width - 1)}…` : line;
  };
  const draw = (): void => {
    if (ended) return;
    io.stdout(`\r\x1b[K${text()}`);
    shown = true;
  };
  const clear = (): void => {
    if (shown) io.stdout('\r\x1b[K');
    shown = false;
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  draw();
  return {
    start(id) {
      running.set(id, now());
      draw();
    },
    finish(id) {
      running.delete(id);
      done++;
      draw();
    },
    set(n) {
      done = n;
      draw();
    },
    log(l) {
      clear();
      io.stderr(`${l}\n`);
      draw();
    },
    end() {
      clearInterval(timer);
      clear();
      ended = true;
    },
  };
}
