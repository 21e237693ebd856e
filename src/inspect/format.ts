/**
 * Plain-text building blocks for `db:inspect`: aligned tables, durations, sizes, ratios. Pure,
 * so the shape of the output is unit-tested without a server.
 *
 * @example
 * formatTable([{ header: "pid" }, { header: "waited", align: "right" }], [["4242", "3.2s"]]);
 * // pid   waited
 * // ----  ------
 * // 4242    3.2s
 */

export interface Column {
  header: string;
  /** Numbers read best right-aligned; text left-aligned (the default). */
  align?: "left" | "right";
}

/** Length in characters as a terminal shows them (code points, so "…" and "└" count once). */
const visibleLength = (text: string) => [...text].length;

const pad = (text: string, width: number, align: Column["align"]) => {
  const fill = " ".repeat(Math.max(0, width - visibleLength(text)));
  return align === "right" ? fill + text : text + fill;
};

/**
 * Columns separated by two spaces, under a header and a dashed rule. The last column is not
 * padded, so lines carry no trailing spaces (long queries usually sit there).
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]) {
  const widths = columns.map((column, index) =>
    Math.max(visibleLength(column.header), ...rows.map((row) => visibleLength(row[index] ?? ""))),
  );
  const line = (cells: readonly string[]) =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? "";
        const width = widths[index] ?? 0;
        return index === columns.length - 1 && column.align !== "right"
          ? cell
          : pad(cell, width, column.align);
      })
      .join("  ")
      .trimEnd();
  return [
    line(columns.map((column) => column.header)),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map(line),
  ].join("\n");
}

/** A query on one line: whitespace collapsed, cut to `max` characters with an ellipsis. */
export function truncateQuery(query: string | null | undefined, max: number): string {
  const text = (query ?? "").replace(/\s+/g, " ").trim();
  return visibleLength(text) > max ? `${[...text].slice(0, max - 1).join("")}…` : text;
}

/** `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`; `-` for an unknown duration. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "-";
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${s.toFixed(1)}s`;
  const two = (n: number) => String(Math.floor(n)).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${two((s % 86_400) / 3600)}h`;
}

const SIZE_UNITS = ["kB", "MB", "GB", "TB", "PB"] as const;

/** Sizes as `pg_size_pretty` names them (kB = 1024 bytes), with one decimal. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "-";
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes;
  let unit: string = "bytes";
  for (const next of SIZE_UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}

/** `99.2%`; `-` when there is nothing to divide (a table never read). */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return "-";
  return `${(ratio * 100).toFixed(1)}%`;
}

/** Milliseconds with thousands separators and at most one decimal: `12,345.6`. */
export function formatMilliseconds(ms: number): string {
  return ms.toLocaleString("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });
}

/** Whole numbers with thousands separators: `1,234,567`. */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString("en-US");
}
