import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/engine-harness.js";
import { startApp, type TestApp } from "../helpers/http-app.js";

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/**
 * Parses Prometheus' text exposition format strictly enough to fail on anything malformed:
 * every sample's family must have been declared with # TYPE, every line must be a comment or
 * `name{label="value",…} number`. Returns the samples by their full series name.
 */
function parseExposition(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) (types.set(type[1]!, type[2]!), undefined);
    else if (line.startsWith("# HELP ")) continue;
    else {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]Inf)$/.exec(line);
      if (!m) throw new Error(`not a valid exposition line: ${line}`);
      const family = m[1]!.replace(/_(bucket|sum|count|total|created)$/, "");
      if (!types.has(m[1]!) && !types.has(family)) throw new Error(`sample before its # TYPE: ${line}`);
      samples.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
    }
  }
  return samples;
}

describe("/metrics", () => {
  it("parses as Prometheus text, and its counters move after runs", async () => {
    app = await startApp({
      tick: { every: "300ms", handler: () => {} },
      bad: { every: "1h", command: ["false"] },
    });
    await waitFor("a few ticks", async () => ((await app!.scheduler.store.listRuns({ job: "tick", limit: 5 })).filter((r) => r.status === "succeeded").length >= 2));
    const before = parseExposition((await app.call("/metrics")).text);
    const ticks = before.get('jobclock_runs_total{job="tick",status="succeeded"}')!;
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(before.get("jobclock_slot_lateness_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(before.get('jobclock_run_duration_seconds_count{job="tick"}')).toBe(ticks);
    expect(before.get("jobclock_instances")).toBe(1);
    expect(before.get("jobclock_running_runs")).toBeGreaterThanOrEqual(0);
    expect(before.has("process_cpu_seconds_total")).toBe(true);

    await app.call("/api/v1/jobs/bad/trigger", { method: "POST" });
    await waitFor("the failing run", async () => (await app!.scheduler.store.getJob("bad"))!.lastStatus === "failed");
    await waitFor("more ticks", async () => {
      const now = parseExposition((await app!.call("/metrics")).text);
      return now.get('jobclock_runs_total{job="tick",status="succeeded"}')! > ticks;
    });
    const after = parseExposition((await app.call("/metrics")).text);
    expect(after.get('jobclock_runs_total{job="bad",status="failed"}')).toBe(1);
    // One health state per job is 1, the others 0 (the monitor sees the failure on its next pass).
    await waitFor("the monitor to see the failure", async () => parseExposition((await app!.call("/metrics")).text).get('jobclock_job_health{job="bad",state="failing"}') === 1);
    const health = parseExposition((await app.call("/metrics")).text);
    const badStates = [...health].filter(([k]) => k.startsWith('jobclock_job_health{job="bad"'));
    expect(badStates).toHaveLength(6);
    expect(badStates.filter(([, v]) => v === 1).map(([k]) => k)).toEqual(['jobclock_job_health{job="bad",state="failing"}']);

    app.metrics.notification("slack", "delivered");
    expect(parseExposition((await app.call("/metrics")).text).get('jobclock_notifications_total{notifier="slack",outcome="delivered"}')).toBe(1);
  });

  it("the parser used above rejects malformed exposition text", () => {
    expect(() => parseExposition("jobclock_x 1\n")).toThrow(/before its # TYPE/);
    expect(() => parseExposition("# TYPE jobclock_x gauge\njobclock_x{job=unquoted} 1\n")).toThrow(/not a valid exposition line/);
    expect(parseExposition('# TYPE jobclock_x gauge\njobclock_x{job="a"} 2\n').get('jobclock_x{job="a"}')).toBe(2);
  });
});
