import { afterEach, expect } from "vitest";
import { allCapturedLogs } from "./captured-logs.js";

// An error the app logged as unexpected (a bug surfacing as a 500) fails the test that caused
// it, even when the test only looked at the status code.
afterEach(() => {
  const unexpected = allCapturedLogs.filter((line) => line.msg === "unhandled error");
  allCapturedLogs.length = 0;
  expect(unexpected, "the app logged an unhandled error").toEqual([]);
});
