/**
 * Tracing on the real app and database, spans collected in memory: a server span per request,
 * its queries and transactions as its children (also when requests run concurrently on shared
 * connections), errors on 5xx, and never a parameter value in any span.
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/client.js";
import { users } from "../../../src/db/schema/index.js";
import { withTransaction } from "../../../src/db/transaction.js";
import { createApp } from "../../../src/http/app.js";
import { createTracing } from "../../../src/observability/tracing.js";
import { captureLogs } from "../../setup/app.js";
import { NEEDS_SERVER, onRealServer, useTestDatabase } from "../../setup/test-database.js";
import { usePglite } from "../db/helpers.js";

const POOL = { DATABASE_POOL_MAX: "2", DATABASE_POOL_TIMEOUT: "300" };
const testDb = useTestDatabase(POOL);
const pglite = usePglite({ DATABASE_POOL_TIMEOUT: "300" });

const exporter = new InMemorySpanExporter();
const tracing = createTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
afterEach(() => exporter.reset());
afterAll(() => tracing.shutdown());

const SECRET = "sk_live_51SECRET.tracing@example.com";

function tracedApp(database: () => Database) {
  let stop: (() => void) | undefined;
  beforeAll(() => {
    stop = database().listen(tracing.databaseListener());
  });
  afterAll(() => stop?.());
  return () =>
    createApp({ database: database(), logger: captureLogs().logger, observability: { tracing } });
}

const spans = () => exporter.getFinishedSpans();
const servers = () => spans().filter((s) => s.kind === SpanKind.SERVER);
const childrenOf = (parent: ReadableSpan) =>
  spans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
/** Everything a span carries as text: name, attributes, status, events. */
const everything = () =>
  JSON.stringify(
    spans().map((s) => [s.name, s.attributes, s.status, s.events.map((e) => e.attributes)]),
  );

async function post(app: ReturnType<ReturnType<typeof tracedApp>>, path: string, body: unknown) {
  const response = await app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function tracingCases(database: () => Database) {
  const appFor = tracedApp(database);

  it("makes a server span per request with its queries as children, without values", async () => {
    const app = appFor();
    const created = await post(app, "/users", { email: SECRET, name: "Traced" });
    expect(created.status).toBe(201);
    const [server] = servers();
    expect(server?.name).toBe("POST /users");
    expect(server?.attributes).toEqual({
      "http.request.method": "POST",
      "http.route": "/users",
      "http.response.status_code": 201,
    });
    const queries = childrenOf(server as ReadableSpan);
    const insert = queries.find((s) => s.attributes["db.operation.name"] === "insert");
    expect(insert?.kind).toBe(SpanKind.CLIENT);
    expect(insert?.spanContext().traceId).toBe(server?.spanContext().traceId);
    expect(insert?.attributes["db.query.text"]).toMatch(/insert into "users"/);
    expect(insert?.attributes["db.response.returned_rows"]).toBe(1);

    // The same email again: a unique violation, recorded by SQLSTATE, still without the value.
    exporter.reset();
    expect((await post(app, "/users", { email: SECRET, name: "Again" })).status).toBe(409);
    const failed = spans().find((s) => s.attributes["db.response.status_code"] === "23505");
    expect(failed?.attributes["error.type"]).toBe("UniqueViolationError");
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(everything()).not.toContain("SECRET");
    expect(everything()).not.toContain("example.com");
  });

  it("parents each query to its own request, also when requests overlap", async () => {
    const app = appFor();
    const ids = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const { body } = await post(app, "/users", { email: `overlap-${i}@t.test`, name: "O" });
        return String(body.id);
      }),
    );
    exporter.reset();
    const responses = await Promise.all(ids.map((id) => app.request(`/users/${id}`)));
    expect(responses.map((r) => r.status)).toEqual(ids.map(() => 200));
    expect(servers()).toHaveLength(ids.length);
    for (const server of servers()) {
      expect(server.name).toBe("GET /users/:id");
      const children = childrenOf(server);
      expect(children).toHaveLength(1);
      expect(children[0]?.spanContext().traceId).toBe(server.spanContext().traceId);
    }
    // Six separate traces, not one.
    expect(new Set(servers().map((s) => s.spanContext().traceId)).size).toBe(ids.length);
  });

  it("puts a transfer's transaction under its request", async () => {
    const app = appFor();
    const user = await post(app, "/users", { email: "transfer-trace@t.test", name: "T" });
    const account = (initialBalance: number) =>
      post(app, "/accounts", { userId: user.body.id, currency: "EUR", initialBalance });
    const [from, to] = await Promise.all([account(500), account(0)]);
    exporter.reset();
    const transfer = await post(app, "/transfers", {
      fromAccountId: from.body.id,
      toAccountId: to.body.id,
      amount: 125,
    });
    expect(transfer.status).toBe(201);
    const server = servers().find((s) => s.name === "POST /transfers");
    const children = childrenOf(server as ReadableSpan);
    expect(children.filter((s) => s.name === "transaction")).toEqual([
      expect.objectContaining({
        attributes: expect.objectContaining({ "db.transaction.outcome": "commit" }),
      }),
    ]);
    expect(
      children.filter((s) => s.attributes["db.operation.name"] !== undefined).length,
    ).toBeGreaterThan(1);
  });

  it("marks a 5xx request failed with its error's type", async () => {
    const app = appFor();
    const { db } = database();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const max = database().poolStats().max;
    // Every connection held by a transaction: the request's query times out waiting (503).
    const holders = Array.from({ length: max }, () =>
      withTransaction(db, async (tx) => {
        await tx.select().from(users).limit(1);
        await released;
      }),
    );
    try {
      const response = await app.request("/users?limit=1");
      expect(response.status).toBe(503);
    } finally {
      release();
      await Promise.all(holders);
    }
    const server = servers().find((s) => s.name === "GET /users");
    expect(server?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: expect.stringContaining("no database connection became free"),
    });
    expect(server?.attributes).toMatchObject({
      "http.response.status_code": 503,
      "error.type": "PoolTimeoutError",
    });
  });

  it("names an unmatched request by its method only", async () => {
    const app = appFor();
    expect((await app.request(`/nothing/${SECRET}`)).status).toBe(404);
    expect(servers().map((s) => [s.name, s.attributes["http.route"]])).toEqual([
      ["GET", undefined],
    ]);
    expect(everything()).not.toContain("SECRET");
  });
}

describe.skipIf(!onRealServer())(`tracing on postgres.js (${NEEDS_SERVER})`, () => {
  tracingCases(() => testDb.database);
});

describe("tracing on embedded PGlite", () => {
  tracingCases(pglite);
});
