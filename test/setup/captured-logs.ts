/**
 * Every log line the app wrote through `captureLogs` (app.ts) in the current test file; checked
 * for unexpected errors after each test (fail-on-error-log.ts). A module of its own so that the
 * setup file, which every test file runs, doesn't load the whole app just to read this array.
 */
export const allCapturedLogs: Record<string, unknown>[] = [];
