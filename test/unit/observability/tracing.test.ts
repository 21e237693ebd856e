import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DatabaseError, mapDatabaseError } from "../../../src/db/errors.js";
import { createLogSpanExporter, createTracing } from "../../../src/observability/tracing.js";
import { captureLogs } from "../../integration/db/helpers.js";
import { driverError, fakeDatabase } from "../../integration/observability/helpers.js";

const exporter = new InMemorySpanExporter();
const tracing = createTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const database = fakeDatabase();
const stop = database.listen(tracing.databaseListener());
afterEach(() => exporter.reset());
afterAll(async () => {
  stop();
  await tracing.shutdown();
});

const SECRET = "secret@example.com";
const query = {
  sql: "insert into users (email, name) values ($1, $2)",
  params: [SECRET, "Ada"],
  operation: "insert",
  startedAt: Date.UTC(2025, 0, 2, 3, 4, 5, 0),
  durationMs: 12.5,
  rows: 1 as number | undefined,
  inTransaction: false,
  prepared: false,
};

const millis = ([seconds, nanos]: [number, number]) => seconds * 1e3 + nanos / 1e6;
const attributesOf = (spans: ReadableSpan[]) => JSON.stringify(spans.map((s) => s.attributes));

describe("tracing: database spans", () => {
  it("turns a query into a client span with its own start and end, and no values", () => {
    const parent = tracing.tracer.startSpan("POST /users");
    context.with(trace.setSpan(context.active(), parent), () => database.emit("query", query));
    parent.end();
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === "insert");
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.attributes).toEqual({
      "db.system.name": "postgresql",
      "db.operation.name": "insert",
      "db.query.text": query.sql,
      "db.response.returned_rows": 1,
    });
    expect(millis(span?.startTime ?? [0, 0])).toBe(query.startedAt);
    expect(millis(span?.endTime ?? [0, 0])).toBeCloseTo(query.startedAt + 12.5, 3);
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span?.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(attributesOf(exporter.getFinishedSpans())).not.toContain(SECRET);
  });

  it("marks a failed query with the SQLSTATE, the typed error and a value-free message", () => {
    const error = Object.assign(new Error(`duplicate key: Key (email)=(${SECRET})`), {
      code: "23505",
      severity: "ERROR",
      detail: `Key (email)=(${SECRET}) already exists.`,
    });
    database.emit("query", { ...query, rows: undefined, error });
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes).toMatchObject({
      "db.response.status_code": "23505",
      "error.type": "UniqueViolationError",
    });
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.status.message).toBe("unique constraint violated (SQLSTATE 23505)");
    expect(JSON.stringify(span?.status)).not.toContain(SECRET);
    expect(span?.parentSpanContext).toBeUndefined();
  });

  it("spans transactions and savepoints, and notes retries on the active span", () => {
    const ended = { startedAt: Date.now() - 30, durationMs: 30 };
    const parent = tracing.tracer.startSpan("POST /transfers");
    context.with(trace.setSpan(context.active(), parent), () => {
      const deadlock = mapDatabaseError(driverError("40P01"));
      if (!(deadlock instanceof DatabaseError)) throw new Error("not typed");
      database.emit("retry", { error: deadlock, attempt: 1 });
      database.emit("transaction", {
        ...ended,
        outcome: "rollback",
        savepoint: false,
        error: deadlock,
      });
      database.emit("transaction", { ...ended, outcome: "commit", savepoint: true });
    });
    parent.end();
    const spans = exporter.getFinishedSpans();
    const transaction = spans.find((s) => s.name === "transaction");
    expect(transaction?.attributes).toMatchObject({
      "db.transaction.outcome": "rollback",
      "error.type": "DeadlockError",
      "db.response.status_code": "40P01",
    });
    expect(spans.find((s) => s.name === "savepoint")?.status.code).toBe(SpanStatusCode.UNSET);
    const request = spans.find((s) => s.name === "POST /transfers");
    expect(request?.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        "db.transaction.retry",
        { "db.transaction.retry.reason": "deadlock", "db.transaction.retry.attempt": 1 },
      ],
    ]);
  });
});

describe("createLogSpanExporter", () => {
  it("writes one line per span with ids, timing and attributes", async () => {
    const { lines, logger } = captureLogs("info");
    const logExporter = createLogSpanExporter(logger);
    database.emit("query", query);
    const spans = exporter.getFinishedSpans();
    const result = await new Promise((resolve) => logExporter.export(spans, resolve));
    expect(result).toEqual({ code: 0 });
    expect(lines).toEqual([
      expect.objectContaining({
        msg: "span",
        span: expect.objectContaining({
          name: "insert",
          kind: "CLIENT",
          durationMs: 12.5,
          status: "ok",
          traceId: spans[0]?.spanContext().traceId,
        }),
      }),
    ]);
  });
});
