/**
 * The repository's postgres.js patch (patches/) is in the installed copy, and the start-up check
 * tells a patched copy from an unpatched one (which then runs without pipelining).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkPostgresCopy, checkPostgresPatch } from "../../../src/db/internals/postgres.js";

const installed = join(process.cwd(), "node_modules", "postgres");
const scratch = mkdtempSync(join(tmpdir(), "postgres-copy-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the postgres.js busy-queue patch", () => {
  it("is applied to the installed copy, whose version the patch file names", () => {
    const check = checkPostgresPatch();
    expect(check.queuePatched).toBe(true);
    const patches = readdirSync("patches").filter((file) => file.startsWith("postgres+"));
    expect(patches).toEqual([`postgres+${check.version}.patch`]);
  });

  it("is reported missing when either build's queue.js lacks it", () => {
    cpSync(installed, scratch, { recursive: true });
    expect(checkPostgresCopy(scratch).queuePatched).toBe(true);
    const cjs = join(scratch, "cjs/src/queue.js");
    writeFileSync(cjs, readFileSync(cjs, "utf8").replaceAll("patched (busy-queue)", "upstream"));
    expect(checkPostgresCopy(scratch)).toMatchObject({ queuePatched: false, version: "3.4.9" });
  });

  it("keeps the queue's order through many shifts and removes", async () => {
    const { default: Queue } = (await import(join(installed, "src/queue.js"))) as {
      default: () => {
        length: number;
        push(x: number): number;
        shift(): number | undefined;
        remove(x: number): number | null;
      };
    };
    // The pool's busy list under load: never empty, one shift and one push per query, now and
    // then a connection removed from the middle. A plain array is the reference.
    const queue = Queue();
    const reference: number[] = [];
    const push = (x: number) => {
      queue.push(x);
      reference.push(x);
    };
    for (const x of [0, 1, 2, 3]) push(x);
    for (let i = 4; i < 10_000; i++) {
      expect(queue.shift()).toBe(reference.shift());
      push(i);
      if (i % 97 === 0) {
        const middle = reference[1] as number;
        reference.splice(1, 1);
        expect(queue.remove(middle)).toBe(middle);
        push(-i);
      }
    }
    expect(queue.length).toBe(reference.length);
    while (reference.length > 0) expect(queue.shift()).toBe(reference.shift());
    expect(queue.remove(-1)).toBeNull();
  });
});
