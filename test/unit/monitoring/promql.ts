/**
 * Just enough PromQL reading to list the series an expression selects: metric names and their
 * label matchers, skipping functions, aggregations, keywords, strings, numbers, durations,
 * ranges and Grafana variables. What it can't read it throws on, so a check built on it fails
 * loudly instead of passing an expression it never looked at.
 */

export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

export interface Selector {
  metric: string;
  matchers: Matcher[];
}

const AGGREGATIONS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "group",
  "stddev",
  "stdvar",
  "count",
  "count_values",
  "bottomk",
  "topk",
  "quantile",
  "limitk",
  "limit_ratio",
]);
/** Followed by a parenthesised list of label names, not of expressions. */
const LABEL_LISTS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const KEYWORDS = new Set(["bool", "and", "or", "unless", "offset", "atan2", "inf", "nan"]);

const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
/** Numbers and durations (`0.99`, `1e3`, `5m`, `1h30m`). */
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?(?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?/iy;
/** `$var`, `${var}`, `$__rate_interval` (Grafana). */
const VARIABLE = /\$(?:\{[^}]*\}|\w+)/y;
const MATCHER =
  /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(,?)/y;

const at = (pattern: RegExp, text: string, index: number) => {
  pattern.lastIndex = index;
  return pattern.exec(text)?.[0];
};

function unquote(literal: string): string {
  if (literal.startsWith('"')) return JSON.parse(literal) as string;
  return literal.slice(1, -1).replace(/\\(.)/g, "$1");
}

/** Index just after the bracket closing the one at `start`. */
function closing(text: string, start: number, open: string, close: string): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (char === '"' || char === "'" || char === "`") i = endOfString(text, i) - 1;
    else if (char === open) depth++;
    else if (char === close && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced ${open} in: ${text}`);
}

function endOfString(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\" && quote !== "`") i++;
    else if (text[i] === quote) return i + 1;
  }
  throw new Error(`unterminated string in: ${text}`);
}

function parseMatchers(text: string, start: number): { matchers: Matcher[]; end: number } {
  const matchers: Matcher[] = [];
  let i = start + 1;
  while (true) {
    while (/\s/.test(text[i] ?? "")) i++;
    if (text[i] === "}") return { matchers, end: i + 1 };
    MATCHER.lastIndex = i;
    const match = MATCHER.exec(text);
    if (!match) throw new Error(`can't read the label matchers at "${text.slice(i, i + 30)}"`);
    const [whole, label = "", op = "=", value = '""', comma] = match;
    matchers.push({ label, op: op as Matcher["op"], value: unquote(value) });
    i += whole.length;
    if (!comma && text.slice(i).trimStart()[0] !== "}") {
      throw new Error(`expected , or } at "${text.slice(i, i + 30)}"`);
    }
  }
}

/** Every series selector in `expr`, in order. */
export function selectorsOf(expr: string): Selector[] {
  const selectors: Selector[] = [];
  let i = 0;
  while (i < expr.length) {
    const char = expr[i] ?? "";
    if (/\s/.test(char)) i++;
    else if (char === "#") i = expr.indexOf("\n", i) === -1 ? expr.length : expr.indexOf("\n", i);
    else if (char === '"' || char === "'" || char === "`") i = endOfString(expr, i);
    else if (char === "[") i = closing(expr, i, "[", "]");
    else if (char === "$") i += at(VARIABLE, expr, i)?.length ?? 1;
    else if (/[\d.]/.test(char) && at(NUMBER, expr, i)) i += at(NUMBER, expr, i)?.length ?? 1;
    else if (char === "{") {
      const { matchers, end } = parseMatchers(expr, i);
      const name = matchers.find((m) => m.label === "__name__" && m.op === "=");
      if (!name) throw new Error(`a selector without a metric name: ${expr.slice(i, end)}`);
      selectors.push({ metric: name.value, matchers: matchers.filter((m) => m !== name) });
      i = end;
    } else if (at(IDENTIFIER, expr, i)) {
      const word = at(IDENTIFIER, expr, i) ?? "";
      i += word.length;
      let next = i;
      while (/\s/.test(expr[next] ?? "")) next++;
      if (LABEL_LISTS.has(word)) {
        if (expr[next] === "(") i = closing(expr, next, "(", ")");
      } else if (AGGREGATIONS.has(word) || KEYWORDS.has(word.toLowerCase())) {
        // not a series
      } else if (expr[next] === "(") {
        // a function call
      } else if (expr[next] === "{") {
        const { matchers, end } = parseMatchers(expr, next);
        selectors.push({ metric: word, matchers });
        i = end;
      } else {
        selectors.push({ metric: word, matchers: [] });
      }
    } else i++;
  }
  return selectors;
}

export interface MetricSpec {
  /** Labels the series may carry besides the target's (job, instance); undefined: any. */
  labels: Set<string> | undefined;
  /** Documented value sets, checked for `=` matchers. */
  values: Map<string, Set<string>>;
}

/** Target labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(["job", "instance"]);

/** What is wrong with the series `expr` selects, given the names and labels that exist. */
export function problemsOf(expr: string, catalog: ReadonlyMap<string, MetricSpec>): string[] {
  const problems: string[] = [];
  for (const { metric, matchers } of selectorsOf(expr)) {
    const spec = catalog.get(metric);
    if (!spec) {
      problems.push(`unknown metric ${metric}`);
      continue;
    }
    for (const { label, op, value } of matchers) {
      if (spec.labels && !spec.labels.has(label) && !TARGET_LABELS.has(label)) {
        problems.push(`${metric} has no label ${label}`);
      }
      const allowed = spec.values.get(label);
      if (op === "=" && allowed && !allowed.has(value) && !value.startsWith("$")) {
        problems.push(`${metric}{${label}} is never "${value}" (${[...allowed].join(", ")})`);
      }
    }
  }
  return problems;
}
