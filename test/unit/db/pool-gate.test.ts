/**
 * The pool gate's admission rules, without a database: capacity `max × depth`, a transaction
 * counted as a whole connection, FIFO order, bounded waits.
 */
import { describe, expect, it } from "vitest";
import { PoolTimeoutError } from "../../../src/db/errors.js";
import { type Lease, PoolGate, withPoolTimeout } from "../../../src/db/pool-gate.js";

/** Settles pending promise callbacks. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A pending acquire whose state can be read synchronously. */
function track(promise: Promise<Lease>) {
  const state: { lease?: Lease; error?: unknown } = {};
  promise.then(
    (lease) => {
      state.lease = lease;
    },
    (error: unknown) => {
      state.error = error;
    },
  );
  return state;
}

describe("PoolGate", () => {
  it("admits depth queries per connection, then queues", async () => {
    const gate = new PoolGate({ max: 2, depth: 3, timeoutMs: 10_000 });
    const leases = await Promise.all([1, 2, 3, 4, 5, 6].map(() => gate.acquire("query")));
    expect(gate.stats()).toMatchObject({ inUse: 2, inFlight: 6, waiting: 0 });
    const seventh = track(gate.acquire("query"));
    await tick();
    expect(seventh.lease).toBeUndefined();
    expect(gate.stats().waiting).toBe(1);
    leases[0]?.release();
    await tick();
    expect(seventh.lease).toBeDefined();
    expect(gate.stats()).toMatchObject({ inFlight: 6, waiting: 0 });
  });

  it("counts connections in use as postgres.js fills them: idle ones before pipelining", async () => {
    const gate = new PoolGate({ max: 4, depth: 4, timeoutMs: 10_000 });
    await gate.acquire("query");
    await gate.acquire("query");
    expect(gate.stats()).toMatchObject({ inUse: 2, inFlight: 2 });
    await gate.acquire("transaction");
    expect(gate.stats()).toMatchObject({ inUse: 3, inFlight: 3 });
    await Promise.all([1, 2, 3, 4].map(() => gate.acquire("query")));
    expect(gate.stats()).toMatchObject({ inUse: 4, inFlight: 7 });
  });

  it("gives a transaction a whole connection's worth, so queries can't fill its connection", async () => {
    const gate = new PoolGate({ max: 2, depth: 4, timeoutMs: 10_000 });
    const first = await gate.acquire("transaction");
    await gate.acquire("transaction");
    const query = track(gate.acquire("query"));
    await tick();
    expect(query.lease).toBeUndefined();
    first.release();
    await tick();
    expect(query.lease).toBeDefined();
  });

  it("keeps FIFO order: queries behind a waiting transaction don't overtake it", async () => {
    const gate = new PoolGate({ max: 1, depth: 2, timeoutMs: 10_000 });
    const running = await gate.acquire("query");
    const transaction = track(gate.acquire("transaction"));
    const query = track(gate.acquire("query"));
    await tick();
    // One permit is free, enough for the query but not for the transaction ahead of it.
    expect(transaction.lease).toBeUndefined();
    expect(query.lease).toBeUndefined();
    running.release();
    await tick();
    expect(transaction.lease).toBeDefined();
    expect(query.lease).toBeUndefined();
    transaction.lease?.release();
    await tick();
    expect(query.lease).toBeDefined();
  });

  it("times a waiter out with PoolTimeoutError and admits those it held back", async () => {
    const gate = new PoolGate({ max: 1, depth: 2, timeoutMs: 10_000 });
    await gate.acquire("query");
    const transaction = track(withPoolTimeout(30, () => gate.acquire("transaction")));
    const query = track(gate.acquire("query"));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(transaction.error).toBeInstanceOf(PoolTimeoutError);
    expect(query.lease).toBeDefined();
    expect(gate.stats()).toMatchObject({ inFlight: 2, waiting: 0, timeouts: 1 });
  });

  it("names the self-deadlock when transactions hold every connection", async () => {
    const gate = new PoolGate({ max: 1, depth: 3, timeoutMs: 20 });
    await gate.acquire("transaction");
    const error = await gate.acquire("query").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(String((error as Error).message)).toMatch(/held by a transaction callback/);
  });

  it("releases a lease once however often it is released", async () => {
    const gate = new PoolGate({ max: 1, depth: 1, timeoutMs: 10_000 });
    const lease = await gate.acquire("query");
    lease.release();
    lease.release();
    expect(gate.stats()).toMatchObject({ inUse: 0, inFlight: 0 });
  });

  it("refuses a depth below 1", () => {
    expect(() => new PoolGate({ max: 1, depth: 0, timeoutMs: 1 })).toThrow(RangeError);
  });
});
