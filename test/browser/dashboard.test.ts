import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { daemonUrl, jobclock } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";

const CHROMIUM = "/usr/bin/chromium";
const REPO = resolve(fileURLToPath(import.meta.url), "../../..");
const ARTIFACTS = join(REPO, "test-artifacts");

// Debian's Chromium, driven by playwright-core (no browser download). In CI it must be there:
// .ci/run installs it. Elsewhere the tests skip, saying why.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === "true") throw new Error(`the browser tests need ${CHROMIUM} in CI (apt-get install chromium; .ci/run does it)`);
  console.warn(`skipping the dashboard tests: no ${CHROMIUM} (apt-get install chromium)`);
}

let browser: Browser;
let url = "";
let dir = "";
const config = () => join(dir, "jobclock.yaml");

interface ApiRun { id: number; job: string; status: string; trigger: string }
const api = async <T>(path: string): Promise<T> => (await (await fetch(url + path.replace(/^\//, ""))).json()) as T;
const runsOf = async (job: string) => (await api<{ runs: ApiRun[] }>(`/api/v1/jobs/${job}/runs?limit=100`)).runs;

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
}

async function openDashboard(width = 1280, height = 900): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("console", (m) => (m.type() === "error" ? problems.push(m.text()) : undefined));
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(url);
  return page;
}

describe.skipIf(!haveChromium)("the dashboard, in Chromium", () => {
  beforeAll(async () => {
    // The example config, in a temp folder, on a free port, with one fast job added. (Not
    // tempDir(): that one is emptied after each test, and this daemon lives for the whole file.)
    dir = mkdtempSync(join(tmpdir(), "jobclock-dashboard-"));
    cpSync(join(REPO, "examples"), dir, { recursive: true, filter: (src) => !/\/(data|logs|run)$/.test(src) });
    const yaml = readFileSync(join(REPO, "examples/jobclock.yaml"), "utf8").replace("listen: 127.0.0.1:7420", 'listen: "127.0.0.1:0"');
    expect(yaml).toContain('listen: "127.0.0.1:0"');
    writeFileSync(config(), `${yaml}\n  tick:\n    description: A fast job for the pause test\n    every: 1s\n    shell: echo tick\n`);
    expect((await jobclock(["--config", config(), "start"], { cwd: dir })).code).toBe(0);
    url = await daemonUrl(dir);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) await jobclock(["--config", config(), "stop"], { cwd: dir });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the example jobs with their health and schedule in words", async () => {
    const page = await openDashboard();
    for (const job of ["sync-orders", "nightly-report", "cleanup-tmp", "tick"]) {
      await page.locator(`[data-job="${job}"]`).first().waitFor({ timeout: 5_000 });
    }
    const row = page.locator('[data-job="sync-orders"]').first();
    await expect.poll(async () => row.textContent(), { timeout: 5_000 }).toMatch(/every 10 seconds/);
    await expect.poll(async () => row.locator('[data-testid="health"]').textContent()).toMatch(/ok|running|inactive/);
    expect(await page.locator('[data-job="cleanup-tmp"]').first().textContent()).toMatch(/every minute|second 0/i);
    await shot(page, "jobs");
    expect((page as Page & { problems?: string[] }).problems).toEqual([]);
    await page.close();
  });

  it("pauses a job from its button: the badge says paused and no run starts after", async () => {
    const page = await openDashboard();
    const row = page.locator('[data-job="tick"]').first();
    await waitFor("tick to run", async () => (await runsOf("tick")).length >= 2, 10_000);
    await row.locator('button[data-action="pause"]').click();
    await expect.poll(async () => row.locator('[data-testid="health"]').textContent(), { timeout: 5_000 }).toBe("paused");
    const atPause = (await runsOf("tick")).length;
    await new Promise((r) => setTimeout(r, 2_500)); // two and a half slots
    expect((await runsOf("tick")).length).toBe(atPause);
    await expect.poll(async () => row.locator('button[data-action="resume"]').count()).toBe(1);
    await shot(page, "paused");
    await row.locator('button[data-action="resume"]').click();
    await expect.poll(async () => row.locator('[data-testid="health"]').textContent(), { timeout: 5_000 }).not.toBe("paused");
    await page.close();
  });

  it("triggers a job from its button: the new run is in the timeline within 2 s", async () => {
    const page = await openDashboard();
    const row = page.locator('[data-job="nightly-report"]').first();
    await row.waitFor();
    const before = new Set((await runsOf("nightly-report")).map((r) => r.id));
    const clickedAt = Date.now();
    await row.locator('button[data-action="trigger"]').click();
    let runId = 0;
    await waitFor("the triggered run in the store", async () => {
      runId = (await runsOf("nightly-report")).find((r) => !before.has(r.id) && r.trigger === "manual")?.id ?? 0;
      return runId > 0;
    }, 2_000);
    await page.locator(`[data-testid="timeline"] [data-run-id="${runId}"]`).first().waitFor({ state: "attached", timeout: Math.max(1, 2_000 - (Date.now() - clickedAt)) });
    const appearedInMs = Date.now() - clickedAt;
    expect(appearedInMs).toBeLessThanOrEqual(2_000);
    console.log(`dashboard: triggered run #${runId} drawn in the timeline ${appearedInMs} ms after the click`);
    await shot(page, "triggered");
    await page.close();
  });

  it("shows a run's output on its page", async () => {
    await waitFor("a finished sync-orders run", async () => (await runsOf("sync-orders")).some((r) => r.status === "succeeded"), 20_000);
    const run = (await runsOf("sync-orders")).find((r) => r.status === "succeeded")!;
    const page = await openDashboard();
    await page.goto(`${url}#/runs/${run.id}`);
    const root = page.locator('[data-testid="run-page"]');
    await root.waitFor({ timeout: 5_000 });
    await expect.poll(async () => root.locator('[data-testid="stdout"]').textContent(), { timeout: 5_000 })
      .toMatch(new RegExp(`syncing orders from https://shop\\.example\\.com \\(--full\\) for slot .*, run ${run.id}\\nsynced \\d orders`));
    expect(await root.textContent()).toMatch(/succeeded/);
    await shot(page, "run");
    await page.close();
  });

  it("works in a narrow window", async () => {
    const page = await openDashboard(390, 844);
    await page.locator('[data-job="sync-orders"]').first().waitFor({ timeout: 5_000 });
    const trigger = page.locator('[data-job="sync-orders"] button[data-action="trigger"]').first();
    expect(await trigger.isVisible()).toBe(true);
    // Nothing but the timeline (which scrolls on its own) may be wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await shot(page, "narrow");
    await page.close();
  });
});
