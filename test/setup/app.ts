import { Writable } from "node:stream";
import type { Database } from "../../src/db/client.js";
import { createApp } from "../../src/http/app.js";
import { createLogger } from "../../src/logger.js";

/** Every captured line of the current test file; checked for unexpected errors after each test. */
export const allCapturedLogs: Record<string, unknown>[] = [];

/** Log lines captured from the app, so tests can assert on them (and on their absence). */
export function captureLogs(logLevel: "info" | "debug" = "info") {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (!line) continue;
        const parsed = JSON.parse(line);
        lines.push(parsed);
        allCapturedLogs.push(parsed);
      }
      done();
    },
  });
  return { lines, logger: createLogger({ logLevel, nodeEnv: "test" }, stream) };
}

/** The real app on the given database, with logs captured instead of printed. */
export function createTestApp(database: Database, logs = captureLogs()) {
  const app = createApp({ database, logger: logs.logger });
  const json = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await app.request(path, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  };
  return { app, logs: logs.lines, json };
}
