/**
 * k6 provides `console` (https://grafana.com/docs/k6/latest/javascript-api/#console), but
 * @types/k6 expects it from the DOM lib, which these scripts deliberately do not load.
 */
declare const console: {
  debug(...data: unknown[]): void;
  error(...data: unknown[]): void;
  info(...data: unknown[]): void;
  log(...data: unknown[]): void;
  warn(...data: unknown[]): void;
};
