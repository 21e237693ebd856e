import { execFile, spawn } from "node:child_process";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/env.js";
import {
  BatchedDestination,
  createAccessLog,
  createLogger,
  propagatesRequestContext,
} from "../../src/logger.js";

const config = (env: Record<string, string>) =>
  parseConfig({ PGLITE_DATA_DIR: "memory://", ...env });

describe("propagatesRequestContext", () => {
  it("auto: off only in production on Node < 24, unless every query is logged", () => {
    const production = config({ NODE_ENV: "production" });
    expect(propagatesRequestContext(production, 20)).toBe(false);
    expect(propagatesRequestContext(production, 22)).toBe(false);
    expect(propagatesRequestContext(production, 24)).toBe(true);
    expect(propagatesRequestContext(config({ NODE_ENV: "development" }), 20)).toBe(true);
    expect(propagatesRequestContext(config({ NODE_ENV: "test" }), 20)).toBe(true);
    const tracing = config({
      NODE_ENV: "production",
      LOG_LEVEL: "debug",
      DATABASE_LOG_QUERIES: "true",
    });
    expect(propagatesRequestContext(tracing, 20)).toBe(true);
    // debug alone logs no queries: nothing to attribute
    expect(
      propagatesRequestContext(config({ NODE_ENV: "production", LOG_LEVEL: "debug" }), 20),
    ).toBe(false);
  });

  it("on and off are obeyed whatever the runtime", () => {
    expect(
      propagatesRequestContext(config({ NODE_ENV: "production", LOG_REQUEST_CONTEXT: "on" }), 20),
    ).toBe(true);
    expect(propagatesRequestContext(config({ LOG_REQUEST_CONTEXT: "off" }), 24)).toBe(false);
  });

  it("rejects other values", () => {
    expect(() => config({ LOG_REQUEST_CONTEXT: "yes" })).toThrow(/LOG_REQUEST_CONTEXT/);
  });
});

describe("createLogger", () => {
  it("never writes a password, under any key that may carry one", () => {
    let out = "";
    const sink = new Writable({
      write(chunk, _encoding, done) {
        out += String(chunk);
        done();
      },
    });
    const logger = createLogger({ logLevel: "info", nodeEnv: "test" }, sink);
    const url = "postgres://app:s3cr3t-pw@db.internal:5432/app";
    logger.info({ password: "s3cr3t-pw" }, "a");
    logger.info({ url, databaseUrl: url, database: url }, "b");
    logger.info({ url: "http://localhost:3000" }, "c");
    expect(out).not.toContain("s3cr3t-pw");
    const lines = out
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines[0].password).toBe("***");
    expect(lines[1]).toMatchObject({ url: "postgres://app:***@db.internal:5432/app" });
    expect(lines[2].url).toBe("http://localhost:3000"); // no credentials: left as it is
  });
});

describe("BatchedDestination", () => {
  const gather = (maxChars: number) => {
    const chunks: string[] = [];
    const destination = new BatchedDestination(
      { write: (chunk: string) => chunks.push(chunk) },
      { maxChars, flushIntervalMs: 60_000 },
    );
    return { chunks, destination };
  };

  it("hands lines on in order as one chunk once maxChars are gathered", () => {
    const { chunks, destination } = gather(10);
    destination.write("abcd\n");
    destination.write("efg\n");
    expect(chunks).toEqual([]);
    destination.write("hij\n");
    expect(chunks).toEqual(["abcd\nefg\nhij\n"]);
  });

  it("hands on what is pending on flushSync and flush, and nothing when nothing is", () => {
    const { chunks, destination } = gather(4096);
    destination.write("a\n");
    destination.flushSync();
    destination.flushSync();
    expect(chunks).toEqual(["a\n"]);
    destination.write("b\n");
    let calledBack = false;
    destination.flush(() => {
      calledBack = chunks.length === 2;
    });
    expect(calledBack).toBe(true);
    expect(chunks).toEqual(["a\n", "b\n"]);
  });
});

describe("the production logger's batched stdout", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const probe = fileURLToPath(new URL("./fixtures/production-log-probe.ts", import.meta.url));
  const probeLines = (stdout: string) =>
    stdout
      .split("\n")
      .filter((line) => line.includes("probe line"))
      .map((line) => JSON.parse(line).i);

  it("writes every gathered line when the process exits", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", probe, "exit"],
      { cwd: root, timeout: 30_000 },
    );
    expect(probeLines(stdout)).toEqual([0, 1, 2]);
  });

  it("writes them when the process dies of an uncaught exception", async () => {
    const failed = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", probe, "crash"],
      {
        cwd: root,
        timeout: 30_000,
      },
    ).then(
      () => undefined,
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(failed?.code).not.toBe(0);
    expect(probeLines(failed?.stdout ?? "")).toEqual([0, 1, 2]);
  });

  it("writes them soon without any more logging (periodic flush)", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", probe, "idle"], { cwd: root });
    try {
      let stdout = "";
      child.stdout.on("data", (chunk) => {
        stdout += String(chunk);
      });
      // Generous: the flush is every 250 ms; a loaded CI machine may start tsx slowly.
      for (let waited = 0; probeLines(stdout).length < 3 && waited < 20_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(probeLines(stdout)).toEqual([0, 1, 2]);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("createAccessLog", () => {
  const capture = (logLevel: "info" | "warn") => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    return { lines, logger: createLogger({ logLevel, nodeEnv: "test" }, sink) };
  };
  const line = {
    requestId: "req-42",
    method: "GET",
    route: "/users/:id",
    status: 200,
    durationMs: 1.25,
  };

  it("writes one info line with the request's fields", () => {
    const { lines, logger } = capture("info");
    createAccessLog(logger)(line);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      ...line,
      level: 30,
      msg: "request completed",
    });
  });

  it("escapes what it is given and keeps 5xx at error through pino", () => {
    const { lines, logger } = capture("info");
    const accessLog = createAccessLog(logger);
    accessLog({ ...line, route: '/we"ird\\route' });
    accessLog({ ...line, status: 503 });
    accessLog({ ...line, requestId: 'id"with\\quotes\n' });
    expect(JSON.parse(lines[0] as string).route).toBe('/we"ird\\route');
    expect(JSON.parse(lines[1] as string)).toMatchObject({ level: 50, msg: "request failed" });
    expect(JSON.parse(lines[2] as string).requestId).toBe('id"with\\quotes\n');
  });

  it("follows the logger's level", () => {
    const { lines, logger } = capture("warn");
    const accessLog = createAccessLog(logger);
    accessLog(line);
    expect(lines).toEqual([]);
    logger.level = "info";
    accessLog(line);
    expect(lines).toHaveLength(1);
  });
});
