/**
 * Progress of a seed load for people and for logs: on a terminal one line rewritten in place,
 * elsewhere (CI, a pipe) a plain line every few seconds, so logs stay short and readable.
 *
 * @example
 * const progress = createProgressReporter(process.stderr);
 * await seed(db, { users: 100_000, transfers: 500_000, onProgress: progress.update });
 * progress.done();
 */
import { formatCount, formatDuration, formatPercent } from "../src/inspect/format.js";
import type { SeedProgress } from "./index.js";

/** `transfers  312,500 / 751,234 rows  41.6%  52,083 rows/s  ETA 8.5s` */
export function formatProgress(progress: SeedProgress, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? progress.rows / seconds : 0;
  const eta = rate > 0 ? (progress.total - progress.rows) / rate : undefined;
  return [
    progress.table.padEnd(9),
    `${formatCount(progress.rows)} / ${formatCount(progress.total)} rows`,
    formatPercent(progress.total > 0 ? progress.rows / progress.total : 1),
    `${formatCount(rate)} rows/s`,
    progress.rows >= progress.total
      ? `in ${formatDuration(seconds)}`
      : `ETA ${formatDuration(eta)}`,
  ].join("  ");
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressReporter {
  update(progress: SeedProgress): void;
  /** Ends the updating line on a terminal. */
  done(): void;
}

/** A terminal redraws at most this often; more would only cost time. */
const TTY_INTERVAL_MS = 100;
/** A log gets a line at most this often (and always the last one). */
const LOG_INTERVAL_MS = 5_000;

export function createProgressReporter(
  stream: ProgressStream,
  now: () => number = () => performance.now(),
): ProgressReporter {
  const tty = stream.isTTY === true;
  const started = now();
  let lastShown: number | undefined;
  let drawn = false;
  return {
    update: (progress) => {
      const at = now();
      const finished = progress.rows >= progress.total;
      const interval = tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS;
      if (!finished && lastShown !== undefined && at - lastShown < interval) return;
      lastShown = at;
      const line = formatProgress(progress, at - started);
      // \r + "erase line" (ECMA-48 EL): the shorter new line leaves nothing of the old one.
      if (tty) stream.write(`\r\x1b[2K${line}`);
      else stream.write(`${line}\n`);
      drawn = true;
    },
    done: () => {
      if (tty && drawn) stream.write("\n");
      drawn = false;
    },
  };
}
