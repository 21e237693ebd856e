/**
 * The installed postgres.js `Queue` carries this template's fix (scripts/patch-dependencies.mjs,
 * ADR 0006). The test drives it the way the pool drives its `busy` queue while every connection
 * has work, and counts the backing array's slots: postgres.js 3.4.9 as published keeps one more
 * slot per dispatch (an `indexOf` over all of them on each), the fixed queue only its contents.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

interface Queue<T> {
  readonly length: number;
  push(x: T): T;
  shift(): T | undefined;
  remove(x: T): T | null;
}
type QueueFactory = <T>(initial?: T[]) => Queue<T>;

const require = createRequire(import.meta.url);
// The package's exports map hides its files; find them from its CommonJS entry (cjs/src/index.js).
const packageRoot = new URL("../../", pathToFileURL(require.resolve("postgres")));
const builds: [string, () => Promise<QueueFactory>][] = [
  [
    "ESM (what the app imports)",
    async () => (await import(new URL("src/queue.js", packageRoot).href)).default,
  ],
  ["CommonJS", async () => require(new URL("cjs/src/queue.js", packageRoot).pathname)],
];

/** Arrays created from `initial` (the queue's first backing array and its `slice`s). */
class Tracked<T> extends Array<T> {
  static created: Tracked<unknown>[] = [];
  constructor(...items: T[]) {
    super(...items);
    Tracked.created.push(this);
  }
}

describe.each(builds)("postgres.js Queue, %s build", (_name, load) => {
  it("stays as long as its contents when it never drains (the saturated pool's busy queue)", async () => {
    const Queue = await load();
    Tracked.created = [];
    const connections = ["c1", "c2", "c3", "c4"];
    const busy = Queue(Tracked.from(connections));
    const dispatched: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      // handler(): no open connection, so pipeline onto the oldest busy one; move() then
      // removes it from the queue it was taken from (already gone) and pushes it back.
      const c = busy.shift() as string;
      expect(busy.remove(c)).toBeNull();
      busy.push(c);
      dispatched.push(c);
    }
    expect(busy.length).toBe(4);
    expect(Math.max(...Tracked.created.map((xs) => xs.length))).toBeLessThan(200);
    // Still first in, first out: the connections take turns.
    expect(dispatched.slice(-8)).toEqual([...connections, ...connections]);
  });

  it("keeps FIFO order, length and remove() across compactions", async () => {
    const Queue = await load();
    const q = Queue<number>();
    for (let i = 0; i < 1000; i++) q.push(i);
    for (let i = 0; i < 700; i++) expect(q.shift()).toBe(i);
    expect(q.length).toBe(300);
    expect(q.remove(800)).toBe(800);
    expect(q.remove(800)).toBeNull();
    expect(q.remove(10)).toBeNull(); // already shifted
    q.push(1000);
    const rest: number[] = [];
    while (q.length > 0) rest.push(q.shift() as number);
    expect(rest).toEqual(
      [...Array.from({ length: 300 }, (_, i) => 700 + i), 1000].filter((n) => n !== 800),
    );
    expect(q.shift()).toBeUndefined();
  });
});
