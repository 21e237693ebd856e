import { describe, expect, it } from "vitest";
import { parseDoctorArgs, UsageError } from "../../../src/doctor/args.js";

describe("db:doctor arguments", () => {
  it("reads --json, --instances and --long-seconds, with defaults", () => {
    expect(parseDoctorArgs([])).toEqual({ json: false, instances: 1, longSeconds: 60 });
    expect(parseDoctorArgs(["--json", "--instances", "4", "--long-seconds=0.5"])).toEqual({
      json: true,
      instances: 4,
      longSeconds: 0.5,
    });
    expect(parseDoctorArgs(["-h"])).toBe("help");
  });

  it("takes the instance count from APP_INSTANCES unless --instances says otherwise", () => {
    expect(parseDoctorArgs([], "6")).toMatchObject({ instances: 6 });
    expect(parseDoctorArgs(["--instances", "2"], "6")).toMatchObject({ instances: 2 });
    expect(() => parseDoctorArgs([], "six")).toThrow(
      'APP_INSTANCES must be a whole number >= 1, got "six"',
    );
  });

  it.each([
    [["--instances", "0"], '--instances must be a whole number >= 1, got "0"'],
    [["--instances", "2.5"], '--instances must be a whole number >= 1, got "2.5"'],
    [["--instances"], "--instances needs a value"],
    [["--long-seconds", "-1"], "--long-seconds needs a value that is not negative"],
    [["--long-seconds", "soon"], '--long-seconds must be a number of seconds >= 0, got "soon"'],
    [["--verbose"], "unknown option --verbose"],
    [["check"], 'unexpected argument "check"'],
  ])("%j is a usage error: %s", (args, message) => {
    expect(() => parseDoctorArgs(args)).toThrow(UsageError);
    expect(() => parseDoctorArgs(args)).toThrow(message);
  });
});
