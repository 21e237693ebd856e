/**
 * Settings shared by every script, read once per VU from k6's `__ENV`: the process environment
 * plus any `k6 run -e NAME=value`. Each script reads its own load shape (RATE, DURATION, ...)
 * with the same helpers, so a bad value fails the run at start-up with a message naming it.
 */

/** The variable's value, or `fallback` when it is unset or empty. */
export function envString(name: string, fallback: string): string {
  const value = __ENV[name];
  return value === undefined || value === "" ? fallback : value;
}

/**
 * The variable as a number, or `fallback` when it is unset or empty.
 *
 * @example
 * const rate = envNumber("RATE", 50, { min: 1 }); // RATE=abc fails the run before it starts
 */
export function envNumber(
  name: string,
  fallback: number,
  { integer = true, min = 0 }: { integer?: boolean; min?: number } = {},
): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min) {
    throw new Error(
      `${name} must be ${integer ? "an integer" : "a number"} >= ${min}, got "${raw}"`,
    );
  }
  return value;
}

export const config = {
  /** The server under test, without a trailing slash. */
  baseUrl: envString("BASE_URL", "http://localhost:3000").replace(/\/+$/, ""),
  /**
   * Sent as `Authorization: Bearer <token>` on every request when set: one of the server's
   * API_TOKENS, which writes require (reads don't mind it). Unset: no Authorization header.
   */
  apiToken: envString("API_TOKEN", ""),
  /** Per-request timeout: a hung request counts as failed instead of holding a VU for k6's 60s. */
  requestTimeout: envString("REQUEST_TIMEOUT", "10s"),
  /** Where handleSummary writes `<script>-summary.json`; k6 does not create the directory. */
  summaryDir: envString("SUMMARY_DIR", "loadtests/results"),
  /**
   * Funded accounts that setup() creates and the traffic moves money between. Fewer accounts
   * means more transfers contending for the same rows.
   */
  accounts: envNumber("ACCOUNTS", 100, { min: 4 }),
  /** Balance, in minor units, of each funded account. */
  initialBalance: envNumber("INITIAL_BALANCE", 100_000, { min: 1 }),
  /** Users per POST /users/bulk request. */
  bulkSize: envNumber("BULK_SIZE", 50, { min: 1 }),
  /** `limit` of list requests (the API accepts 1-100). */
  pageSize: envNumber("PAGE_SIZE", 20, { min: 1 }),
  /** Pages a list walk follows through `nextCursor` at most. */
  maxPages: envNumber("MAX_PAGES", 3, { min: 1 }),
};
