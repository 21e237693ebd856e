/**
 * The Grafana dashboard and the alert rules may only use series the app exports: the names in
 * src/observability/metric-names.ts (histograms as _bucket/_sum/_count), with the labels noted
 * there, plus prom-client's default process_* / nodejs_* metrics. A panel or an alert on a
 * name that doesn't exist would stay empty or silent forever, so this fails on one.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { collectDefaultMetrics, Registry } from "prom-client";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { METRICS } from "../../../src/observability/metric-names.js";
import { type MetricSpec, problemsOf, selectorsOf } from "./promql.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const DASHBOARD = "monitoring/grafana/database.dashboard.json";
const RULES = "monitoring/prometheus/database.rules.yml";
const RULE_TESTS = "monitoring/prometheus/database.rules.test.yml";
const RUNBOOKS = "docs/observability.md";
/** How panels name the dashboard's data source variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
const DATASOURCE_VARIABLE = "${datasource}";

/**
 * Kinds and labels live in metric-names.ts's comments (`// histogram {operation}`,
 * `// gauge {state: idle|in_use}`): read them, and insist every name got one.
 */
function appCatalog(): Map<string, MetricSpec> {
  const catalog = new Map<string, MetricSpec>();
  const line = /^\s*\w+: "([a-z_:]+)", \/\/ (counter|gauge|histogram)\b[^{\n]*(?:\{([^}\n]*)\})?/gm;
  for (const [, name = "", kind, labelText] of read("src/observability/metric-names.ts").matchAll(
    line,
  )) {
    const labels = new Set<string>();
    const values = new Map<string, Set<string>>();
    for (const part of (labelText ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [label = "", enumerated] = part.split(":").map((p) => p.trim());
      labels.add(label);
      if (enumerated) values.set(label, new Set(enumerated.split("|")));
    }
    if (kind === "histogram") {
      catalog.set(`${name}_bucket`, { labels: new Set([...labels, "le"]), values });
      catalog.set(`${name}_sum`, { labels, values });
      catalog.set(`${name}_count`, { labels, values });
    } else {
      catalog.set(name, { labels, values });
    }
  }
  const described = new Set(
    [...catalog.keys()].map((name) => name.replace(/_(bucket|sum|count)$/, "")),
  );
  const undescribed = Object.values(METRICS).filter((name) => !described.has(name));
  if (undescribed.length > 0) {
    throw new Error(`metric-names.ts: no "// kind {labels}" comment read for ${undescribed}`);
  }
  return catalog;
}

/** prom-client's default metrics, as a registry with `collectDefaultMetrics` exports them. */
async function defaultCatalog(): Promise<Map<string, MetricSpec>> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const catalog = new Map<string, MetricSpec>();
  const any: MetricSpec = { labels: undefined, values: new Map() };
  for (const { name, type } of await registry.getMetricsAsJSON()) {
    const suffixes = String(type) === "histogram" ? ["_bucket", "_sum", "_count"] : [""];
    for (const suffix of suffixes) catalog.set(`${name}${suffix}`, any);
  }
  return catalog;
}

interface Panel {
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; refId?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: {
    list: { name: string; type: string; query?: string | { query?: string } }[];
  };
}

const flatten = (panels: Panel[]): Panel[] =>
  panels.flatMap((panel) => [panel, ...flatten(panel.panels ?? [])]);

/** Every PromQL expression of a dashboard: panel targets and query variables. */
function dashboardExpressions(dashboard: Dashboard): { where: string; expr: string }[] {
  const targets = flatten(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}" ${target.refId}`,
      expr: target.expr ?? "",
    })),
  );
  const variables = dashboard.templating.list
    .filter((variable) => variable.type === "query")
    .map((variable) => {
      const query = typeof variable.query === "string" ? variable.query : variable.query?.query;
      // Grafana's label_values(<selector>, <label>): the selector is PromQL.
      const selector = /^label_values\((.*),\s*\w+\)$/.exec(query ?? "")?.[1] ?? query ?? "";
      return { where: `variable $${variable.name}`, expr: selector };
    });
  return [...targets, ...variables];
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
const rulesOf = (text: string): Rule[] =>
  (parse(text) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);

let catalog: Map<string, MetricSpec>;
const problems = (entries: { where: string; expr: string }[]) =>
  entries.flatMap(({ where, expr }) =>
    problemsOf(expr, catalog).map((problem) => `${where}: ${problem}`),
  );

beforeAll(async () => {
  catalog = new Map([...(await defaultCatalog()), ...appCatalog()]);
  for (const rule of rulesOf(read(RULES))) {
    if (rule.record) catalog.set(rule.record, { labels: undefined, values: new Map() });
  }
});

describe("metric names in the dashboard and the alert rules", () => {
  it("the dashboard selects only exported series, with their labels", () => {
    const expressions = dashboardExpressions(JSON.parse(read(DASHBOARD)) as Dashboard);
    expect(expressions.flatMap(({ expr }) => selectorsOf(expr)).length).toBeGreaterThan(40);
    expect(problems(expressions)).toEqual([]);
  });

  it("the alert rules select only exported series, with their labels", () => {
    const expressions = rulesOf(read(RULES)).map((rule) => ({
      where: `rule ${rule.alert ?? rule.record}`,
      expr: rule.expr,
    }));
    expect(expressions.flatMap(({ expr }) => selectorsOf(expr)).length).toBeGreaterThan(14);
    expect(problems(expressions)).toEqual([]);
  });

  it("a panel on a made-up metric fails the check, naming the panel", () => {
    const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
    dashboard.panels.push({
      title: "Cache evictions",
      targets: [{ refId: "A", expr: 'sum(rate(db_cache_evictions_total{job="$job"}[5m]))' }],
    });
    expect(problems(dashboardExpressions(dashboard))).toEqual([
      'panel "Cache evictions" A: unknown metric db_cache_evictions_total',
    ]);
  });

  it.each([
    ["rate(db_made_up_total[5m])", ["unknown metric db_made_up_total"]],
    // A histogram is exported as _bucket/_sum/_count only; a gauge has no buckets.
    ["db_query_duration_seconds > 1", ["unknown metric db_query_duration_seconds"]],
    [
      "histogram_quantile(0.99, sum by (le) (rate(db_pool_max_connections_bucket[5m])))",
      ["unknown metric db_pool_max_connections_bucket"],
    ],
    ['http_requests_total{status="500"}', ["http_requests_total has no label status"]],
    [
      'db_transactions_total{outcome="rolled_back"}',
      ['db_transactions_total{outcome} is never "rolled_back" (commit, rollback)'],
    ],
    ['sum by (le) (rate(db_query_duration_seconds_bucket{job="api", le="0.5"}[5m])) offset 1h', []],
    ['label_replace(up_to_date, "dst", "$1", "src", "(.*)")', ["unknown metric up_to_date"]],
    ["max_over_time(nodejs_eventloop_lag_seconds[1h:1m]) + process_cpu_seconds_total * 1e3", []],
    ['{__name__="db_pool_waiting_requests", instance=~"$instance"}', []],
  ])("%s -> %j", (expr, expected) => {
    expect(problemsOf(expr, catalog)).toEqual(expected);
  });

  it("refuses what it can't read instead of passing it", () => {
    expect(() => selectorsOf('db_pool_waiting_requests{job="a"')).toThrow();
    expect(() => selectorsOf('{job="a"}')).toThrow(/without a metric name/);
  });
});

describe("the dashboard", () => {
  it("takes its data source from a variable, so it imports into any Grafana", () => {
    const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: "datasource", type: "datasource", query: "prometheus" }),
    );
    const panels = flatten(dashboard.panels).filter((panel) => panel.type !== "row");
    const fixed = panels.flatMap((panel) =>
      [panel.datasource, ...(panel.targets ?? []).map((target) => target.datasource)]
        .filter((source) => source?.uid !== DATASOURCE_VARIABLE)
        .map(() => panel.title),
    );
    expect(fixed).toEqual([]);
  });
});

describe("the alert rules", () => {
  const rules = rulesOf(read(RULES)).filter((rule) => rule.alert);

  it("each alert has a summary, a description and a runbook entry that exists", () => {
    const slugs = new Set(
      [...read(RUNBOOKS).matchAll(/^#+ (.+)$/gm)].map(([, heading = ""]) =>
        heading
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, "")
          .replace(/ /g, "-"),
      ),
    );
    for (const rule of rules) {
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(rule.annotations?.runbook_url, rule.alert).toBe(
        `docs/observability.md#${rule.alert?.toLowerCase()}`,
      );
      expect(slugs, `${RUNBOOKS} needs a heading "${rule.alert}"`).toContain(
        rule.alert?.toLowerCase(),
      );
    }
  });

  it("each alert has a promtool test in which it fires", () => {
    const tests = parse(read(RULE_TESTS)) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const firing = new Set(
      tests.tests.flatMap((test) =>
        (test.alert_rule_test ?? [])
          .filter((check) => check.exp_alerts.length > 0)
          .map((check) => check.alertname),
      ),
    );
    expect(rules.map((rule) => rule.alert).filter((name) => !firing.has(name ?? ""))).toEqual([]);
  });
});

describe("the local stack", () => {
  const composeFile = join(ROOT, "monitoring/docker-compose.yml");
  const compose = parse(readFileSync(composeFile, "utf8")) as {
    services: Record<string, { image: string; volumes?: string[] }>;
    volumes?: Record<string, unknown>;
  };

  it("pins its images and mounts files that exist", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image, name).toMatch(/:v?\d+\.\d+\.\d+$/);
      for (const volume of service.volumes ?? []) {
        const [source = ""] = volume.split(":");
        if (compose.volumes && source in compose.volumes) continue;
        expect(existsSync(resolve(dirname(composeFile), source)), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it("Prometheus loads the rule files that are here", () => {
    const config = parse(read("monitoring/prometheus/prometheus.yml")) as {
      rule_files: string[];
    };
    expect(config.rule_files).toContain("database.rules.yml");
    for (const file of config.rule_files) {
      expect(existsSync(join(ROOT, "monitoring/prometheus", file)), file).toBe(true);
    }
  });
});
