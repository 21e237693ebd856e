import { describe, expect, it } from "vitest";
import { parseInspectArgs, UsageError } from "../../../src/inspect/args.js";

describe("db:inspect arguments", () => {
  it("reads the command, --json and each command's defaults", () => {
    expect(parseInspectArgs(["locks"])).toEqual({
      command: "locks",
      json: false,
      minSeconds: 5,
      limit: 0,
    });
    expect(parseInspectArgs(["long", "--json", "--min-seconds", "0.5"])).toMatchObject({
      command: "long",
      json: true,
      minSeconds: 0.5,
    });
    expect(parseInspectArgs(["cache"])).toMatchObject({ limit: 20 });
    expect(parseInspectArgs(["top", "--limit=3"])).toMatchObject({ limit: 3 });
    expect(parseInspectArgs(["--help"])).toBe("help");
    expect(parseInspectArgs(["top", "-h"])).toBe("help");
  });

  it.each([
    [[], "missing command"],
    [["stats"], 'unknown command "stats"'],
    [["locks", "--verbose"], "unknown option --verbose"],
    [["locks", "-v"], "unknown option -v"],
    [["locks", "--json=yes"], "Option '--json' does not take an argument"],
    [["long", "--min-seconds"], "--min-seconds needs a value"],
    [["long", "--min-seconds", "-3"], "--min-seconds needs a value that is not negative"],
    [["long", "--min-seconds=-3"], '--min-seconds must be a number of seconds >= 0, got "-3"'],
    [["long", "--min-seconds", "ten"], '--min-seconds must be a number of seconds >= 0, got "ten"'],
    [["long", "--min-seconds", " "], '--min-seconds must be a number of seconds >= 0, got " "'],
    [["long", "--min-seconds", "Infinity"], "--min-seconds must be a number of seconds >= 0"],
    [["top", "--limit", "0"], '--limit must be a whole number >= 1, got "0"'],
    [["top", "--limit", "1e3"], '--limit must be a whole number >= 1, got "1e3"'],
    [["long", "--limit", "5"], "--limit applies to cache and top only"],
    [["cache", "--min-seconds", "5"], "--min-seconds applies to long only"],
    [["cache", "top"], 'unexpected argument "top"'],
  ])("%j is a usage error: %s", (args, message) => {
    let thrown: unknown;
    try {
      parseInspectArgs(args);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    const text = (thrown as Error).message;
    expect(text.startsWith(message), text).toBe(true);
    expect(text).not.toContain("\n");
  });
});
