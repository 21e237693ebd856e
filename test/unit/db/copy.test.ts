import { sql } from "drizzle-orm";
import { integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { encodeCopyValue, encodeRows, planCopy } from "../../../src/db/copy.js";
import { users } from "../../../src/db/schema/index.js";

describe("encodeCopyValue (COPY text format)", () => {
  it.each([
    [null, "\\N"],
    [undefined, "\\N"],
    ["", ""],
    ["\\N", "\\\\N"],
    ["a\tb", "a\\tb"],
    ["a\nb\r\n", "a\\nb\\r\\n"],
    ["back\\slash", "back\\\\slash"],
    ['"quotes", commas; |pipes|', '"quotes", commas; |pipes|'],
    ["😀 𝄞 é", "😀 𝄞 é"],
    [42, "42"],
    [0.1, "0.1"],
    [Number.NaN, "NaN"],
    [Number.NEGATIVE_INFINITY, "-Infinity"],
    [2n ** 63n - 1n, "9223372036854775807"],
    [true, "t"],
    [false, "f"],
    [new Date("2026-01-02T03:04:05.678Z"), "2026-01-02T03:04:05.678Z"],
    [new Uint8Array([0, 10, 92, 255]), "\\\\x000a5cff"],
    [{ a: "tab\there", b: [1, null] }, '{"a":"tab\\\\there","b":[1,null]}'],
  ])("%o -> %s", (value, encoded) => {
    expect(encodeCopyValue(value)).toBe(encoded);
  });

  it("never leaves a raw delimiter or line break in a field", () => {
    const encoded = encodeCopyValue("\t\n\r\\".repeat(100));
    expect(encoded).not.toMatch(/[\t\n\r]/);
  });
});

const withDefaults = pgTable("with_defaults", {
  id: integer("id").primaryKey(),
  label: text("label").$defaultFn(() => "from-js"),
  stamp: text("stamp").$onUpdateFn(() => "on-update"),
  created: timestamp("created", { withTimezone: true, precision: 3 }).defaultNow(),
  doc: jsonb("doc"),
  note: text("note"),
});

describe("planCopy", () => {
  it("copies the columns the rows fill, and the ones with JavaScript defaults", () => {
    const plan = planCopy(withDefaults, [{ id: 1, doc: { a: 1 } }, { id: 2 }]);
    if (typeof plan === "string") throw new Error(plan);
    expect(plan.columns.map((c) => c.column.name)).toEqual(["id", "label", "stamp", "doc"]);
    expect([...encodeRows(plan)].join("")).toBe(
      '1\tfrom-js\ton-update\t{"a":1}\n2\tfrom-js\ton-update\t\\N\n',
    );
  });

  it("maps values with the column's mapToDriverValue (timestamps, JSON)", () => {
    const at = new Date("2026-01-01T00:00:00.123Z");
    const plan = planCopy(users, [{ email: "a@b.co", name: "A", createdAt: at }]);
    if (typeof plan === "string") throw new Error(plan);
    expect([...encodeRows(plan)].join("")).toBe("a@b.co\tA\t2026-01-01T00:00:00.123Z\n");
  });

  it("refuses rows COPY can't express", () => {
    expect(planCopy(withDefaults, [{ id: 1, note: sql`upper('x')` }])).toMatch(/SQL expression/);
    expect(planCopy(withDefaults, [{ id: 1, created: new Date() }, { id: 2 }])).toMatch(
      /some rows and left to its SQL default/,
    );
  });

  it("chunks the text by rows", () => {
    const rows = Array.from({ length: 2_500 }, (_, id) => ({ id }));
    const plan = planCopy(withDefaults, rows);
    if (typeof plan === "string") throw new Error(plan);
    const chunks = [...encodeRows(plan)];
    expect(chunks).toHaveLength(3);
    expect(chunks.join("").split("\n")).toHaveLength(2_501);
  });
});
