/**
 * The API reference in a real browser: headless Chromium (Debian's `chromium` package, driven
 * by playwright-core) opens `/docs` on the app's real HTTP listener, sees the document's
 * operations rendered, and runs one request from the page ("Try it out", "Execute") — with no
 * request leaving the app's origin, no Content-Security-Policy violation and no console error.
 *
 * Without Chromium the test is skipped locally and fails in CI (CI=true), saying so;
 * `scripts/ci-packages.sh` installs it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testEnv } from "../../src/env.js";
import { LISTENER_OPTIONS } from "../../src/http/middleware/request-context.js";
import { createTestApp } from "../setup/app.js";
import { useTestDatabase } from "../setup/test-database.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  // No update checks, field trials or sync: the browser itself stays off the network too.
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const MISSING = `no Chromium at ${CHROMIUM} (install it with scripts/ci-packages.sh)`;
const available = existsSync(CHROMIUM);
const { ci } = testEnv();
const skipped = !available && !ci;
if (skipped) console.warn(`\n[e2e] /docs in a browser skipped: ${MISSING}\n`);

const testDb = useTestDatabase();
let base = "";
let closeServer: () => Promise<void> = async () => undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  const { app } = createTestApp(testDb.database);
  const server = serve({
    fetch: app.fetch,
    port: 0,
    hostname: "127.0.0.1",
    serverOptions: LISTENER_OPTIONS,
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await closeServer();
});

/** A fresh browser on a new, empty profile, removed afterwards. */
async function openPage() {
  profile = await mkdtemp(join(tmpdir(), "docs-e2e-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
  return context.pages()[0] ?? (await context.newPage());
}

/** Everything that went wrong in the page, and every request that left the app's origin. */
async function watch(page: Page) {
  const problems: string[] = [];
  const foreign: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) =>
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on("request", (request) => {
    if (new URL(request.url()).origin !== base) foreign.push(request.url());
  });
  // Chromium reports violations on the console as well; the event also names the directive.
  await page.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (e) =>
      console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));`,
  });
  return { problems, foreign };
}

async function operationCount() {
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.values(doc.paths).reduce((n, operations) => n + Object.keys(operations).length, 0);
}

describe("/docs in headless Chromium", () => {
  it.skipIf(skipped)(
    `renders every operation and runs a request from the page${skipped ? ` (skipped: ${MISSING})` : ""}`,
    async () => {
      if (!available) throw new Error(`CI=true, and ${MISSING}`);
      const page = await openPage();
      const { problems, foreign } = await watch(page);
      try {
        expect((await page.goto(`${base}/docs`))?.status()).toBe(200);
        const userById = page.locator('.opblock [data-path="/users/{id}"]');
        await userById.first().waitFor();
        expect(await userById.count()).toBe(3); // GET, PATCH and DELETE
        expect(await page.locator(".opblock").count()).toBe(await operationCount());

        const live = page
          .locator(".opblock")
          .filter({ has: page.locator('[data-path="/health/live"]') });
        await live.locator(".opblock-summary").click();
        await live.getByRole("button", { name: "Try it out" }).click();
        await live.getByRole("button", { name: "Execute" }).click();
        const response = live.locator(".live-responses-table tr.response");
        await response.waitFor();
        expect(await response.locator(".response-col_status").textContent()).toBe("200");
        const body = await response.locator(".highlight-code pre").textContent();
        expect(JSON.parse(body ?? "")).toEqual({ status: "ok" });

        expect(problems).toEqual([]);
        expect(foreign).toEqual([]);

        // The policy is in force, not just sent: a script injected inline now is refused.
        const refused = page.waitForEvent("console", (message) =>
          message.text().startsWith("CSP violation: script-src"),
        );
        const ran = await page.evaluate(`(() => {
          const script = document.createElement("script");
          script.textContent = "window.inlineScriptRan = true";
          document.head.append(script);
          return window.inlineScriptRan === true;
        })()`);
        expect(ran).toBe(false);
        await refused;
      } catch (error) {
        const screenshot = join(tmpdir(), `docs-e2e-failure-${Date.now()}.png`);
        await page.screenshot({ path: screenshot, fullPage: true }).catch(() => undefined);
        throw new Error(`${String(error)}\n(screenshot of the page: ${screenshot})`, {
          cause: error,
        });
      }
    },
    90_000,
  );
});
