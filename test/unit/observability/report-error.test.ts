import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, it } from "vitest";
import { DatabaseError } from "../../../src/db/errors.js";
import {
  createErrorReporter,
  type UnexpectedErrorContext,
} from "../../../src/observability/report-error.js";
import { createTracing } from "../../../src/observability/tracing.js";
import { captureLogs } from "../../integration/db/helpers.js";
import { driverError } from "../../integration/observability/helpers.js";

/** A raw Drizzle-style failure: the message carries the bound value, the cause the SQLSTATE. */
const leakyError = () =>
  Object.assign(new Error('Failed query: select $1 params: "secret@example.com"'), {
    cause: driverError("42P01"),
  });

const exporter = new InMemorySpanExporter();
const tracing = createTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
afterAll(() => tracing.shutdown());

describe("createErrorReporter", () => {
  it("logs with the request id, counts by source and hands the typed error to the hook", () => {
    const { lines, logger } = captureLogs("info");
    const counted: string[] = [];
    const hooked: [unknown, UnexpectedErrorContext][] = [];
    const report = createErrorReporter({
      logger,
      countUnexpectedError: (source) => counted.push(source),
      onUnexpectedError: (error, ctx) => {
        hooked.push([error, ctx]);
      },
    });
    report(leakyError(), { source: "http", requestId: "req-1" });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 50,
        msg: "unhandled error",
        source: "http",
        requestId: "req-1",
        err: expect.objectContaining({ name: "DatabaseError", code: "42P01" }),
      }),
    ]);
    expect(counted).toEqual(["http"]);
    expect(hooked).toHaveLength(1);
    const [error, ctx] = hooked[0] ?? [];
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).message).not.toContain("secret@example.com");
    expect(ctx).toEqual({ source: "http", requestId: "req-1" });
    expect(JSON.stringify(lines)).not.toContain("secret@example.com");
  });

  it("survives a hook that throws or rejects, logging it at warn", async () => {
    const { lines, logger } = captureLogs("info");
    const throwing = createErrorReporter({
      logger,
      onUnexpectedError: () => {
        throw new Error("tracker down");
      },
    });
    const rejecting = createErrorReporter({
      logger,
      onUnexpectedError: async () => {
        throw new Error("tracker timed out");
      },
    });
    expect(() => throwing(new Error("bug"), { source: "uncaught_exception" })).not.toThrow();
    rejecting(new Error("bug"), { source: "unhandled_rejection" });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.msg === "onUnexpectedError hook failed")).toHaveLength(2);
    expect(lines.filter((l) => l.msg === "unhandled error")).toHaveLength(2);
  });

  it("marks the active span failed with the error's value-free form", () => {
    const { logger } = captureLogs("info");
    const report = createErrorReporter({ logger });
    const span = tracing.tracer.startSpan("GET /users");
    context.with(trace.setSpan(context.active(), span), () =>
      report(leakyError(), { source: "http" }),
    );
    span.end();
    const [finished] = exporter.getFinishedSpans();
    expect(finished?.status).toEqual({ code: 2, message: "database error (SQLSTATE 42P01)" });
    expect(finished?.events[0]?.name).toBe("exception");
    expect(JSON.stringify(finished?.events)).not.toContain("secret@example.com");
  });
});
