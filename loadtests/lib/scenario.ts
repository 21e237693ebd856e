/**
 * The one scenario every script is built from: setup() funds a set of accounts, the traffic
 * runs against them, and teardown() proves that no money was created or destroyed, with the
 * thresholds and end-of-test summary that go with it. Scripts differ only in what they pass
 * here: the load shape, how strict the pass criteria are, and (smoke only) their own traffic.
 *
 * A script exports the parts k6 looks for:
 *
 *   const test = mixTest({ name: "load", load: { rate: 50, duration: "5m" }, ... });
 *   export const options = test.options;
 *   export const setup = test.setup;
 *   export default test.iteration;
 *   export const teardown = test.teardown;
 *   export const handleSummary = test.handleSummary;
 */
import type { Options, Scenario, Threshold } from "k6/options";
import { config, envNumber } from "./config.ts";
import type { Fixture } from "./fixture.ts";
import { createFixture, verifyMoneyInvariant } from "./fixture.ts";
import { MIX_ENDPOINTS, runMix } from "./mix.ts";
import type { Stage } from "./stages.ts";
import { arrivalRateScenario, stageReport, stageThresholds, tagStage } from "./stages.ts";
import type { SummaryData, SummarySection } from "./summary.ts";
import { SUMMARY_TREND_STATS, summaryHandler } from "./summary.ts";
import { baseThresholds, LATENCY_BUDGETS, latencyThresholds } from "./thresholds.ts";

/** Pass criteria over the whole run; a script adds its own per endpoint or per stage. */
export interface RunCriteria {
  /** Share of requests that may fail (unexpected status or timeout). */
  maxFailedRate: number;
  /** Share of checks that must pass. */
  minCheckRate: number;
}

export interface LedgerTestSpec extends RunCriteria {
  /** Names the k6 scenario and the summary file (`<name>-summary.json`). */
  name: string;
  scenario: Scenario;
  /** The funded accounts setup() creates, and the balance of each, in minor units. */
  fixture: { accounts: number; initialBalance: number };
  /** Thresholds on top of the run criteria and the money invariant. */
  thresholds: Record<string, Threshold[]>;
  /** Extra lines for the text summary, e.g. a per-stage table. */
  sections?: SummarySection[];
}

/** What k6 looks for in a script, apart from the default function. */
export interface LedgerTest {
  options: Options;
  setup: () => Fixture;
  teardown: (fixture: Fixture) => void;
  handleSummary: (data: SummaryData) => Record<string, string>;
}

/**
 * Options, setup, teardown and summary of a test on the ledger fixture. The smoke test uses it
 * directly with its own default function; the others go through `mixTest`.
 */
export function ledgerTest(spec: LedgerTestSpec): LedgerTest {
  const { name, scenario, fixture, thresholds, sections = [] } = spec;
  return {
    options: {
      scenarios: { [name]: scenario },
      thresholds: { ...baseThresholds(spec), ...thresholds },
      summaryTrendStats: SUMMARY_TREND_STATS,
    },
    setup: () => createFixture(fixture.accounts, fixture.initialBalance),
    teardown: verifyMoneyInvariant,
    handleSummary: summaryHandler(name, ...sections),
  };
}

/**
 * How iterations arrive: at a steady rate for a k6 duration ("5m", "1h"), or through named
 * stages (stress steps, spike phases), each held to its own budget.
 */
export type ArrivalRate =
  | { rate: number; duration: string }
  | { startRate: number; stages: readonly Stage[] };

/** A mix test also brings its default function: one iteration of the traffic. */
export interface MixTest extends LedgerTest {
  iteration: (fixture: Fixture) => void;
}

export interface MixTestSpec extends RunCriteria {
  /** Names the k6 scenario and the summary file (`<name>-summary.json`). */
  name: string;
  load: ArrivalRate;
  /** VUs allocated up front, and the most k6 may use; VUS and MAX_VUS override them. */
  vus: number;
  maxVUs: number;
}

/**
 * A test of the weighted traffic mix (lib/mix.ts) as an open model: iterations start at the
 * given rate whether or not earlier ones have finished, as independent clients do, so a slow
 * server shows up as latency and dropped iterations instead of quietly lowering the load. A
 * steady rate is held to the per-endpoint latency budgets; stages to their own budgets.
 *
 * @example
 * const test = mixTest({
 *   name: "soak",
 *   load: { rate: 20, duration: "1h" },
 *   vus: 10,
 *   maxVUs: 40,
 *   maxFailedRate: 0.01,
 *   minCheckRate: 0.99,
 * });
 */
export function mixTest(spec: MixTestSpec): MixTest {
  const { name, load, maxFailedRate, minCheckRate } = spec;
  const preAllocatedVUs = envNumber("VUS", spec.vus, { min: 1 });
  // Room for latency to grow; running out shows up as dropped iterations in the summary.
  const maxVUs = envNumber("MAX_VUS", Math.max(preAllocatedVUs, spec.maxVUs), {
    min: preAllocatedVUs,
  });
  const common = {
    name,
    maxFailedRate,
    minCheckRate,
    fixture: { accounts: config.accounts, initialBalance: config.initialBalance },
  };

  if ("stages" in load) {
    const { stages, startRate } = load;
    return {
      ...ledgerTest({
        ...common,
        scenario: arrivalRateScenario(stages, { startRate, preAllocatedVUs, maxVUs }),
        thresholds: stageThresholds(stages),
        sections: [stageReport(stages)],
      }),
      iteration: (fixture) => {
        tagStage(stages);
        runMix(fixture);
      },
    };
  }

  return {
    ...ledgerTest({
      ...common,
      scenario: {
        executor: "constant-arrival-rate",
        rate: load.rate,
        timeUnit: "1s",
        duration: load.duration,
        preAllocatedVUs,
        maxVUs,
      },
      thresholds: latencyThresholds(MIX_ENDPOINTS, (endpoint) => LATENCY_BUDGETS[endpoint]),
    }),
    iteration: runMix,
  };
}
