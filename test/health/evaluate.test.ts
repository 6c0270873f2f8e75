import { describe, expect, it } from "vitest";
import { evaluateHealth, type HealthInput } from "../../src/health/evaluate.js";
import { CronSchedule, IntervalSchedule } from "../../src/schedule/schedule.js";

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const every5m = new IntervalSchedule(5 * MIN, T0);

function job(over: Partial<HealthInput> = {}): HealthInput {
  return {
    paused: false, graceMs: MIN, jitterMs: 0, runOnStart: false, anchor: T0, resumedAt: null,
    lastStartedAt: null, lastFinishedAt: null, lastStatus: null, runningCount: 0, ...over,
  };
}

describe("evaluateHealth", () => {
  it("ok before the first slot plus grace; inactive after it, since the first slot", () => {
    expect(evaluateHealth(job(), every5m, T0 + 5 * MIN + MIN).state).toBe("ok");
    expect(evaluateHealth(job(), every5m, T0 + 5 * MIN + MIN + 1)).toMatchObject({ state: "inactive", since: T0 + 5 * MIN });
  });

  it("ok when the last due slot started within grace", () => {
    const ran = job({ lastStartedAt: T0 + 10 * MIN + 30_000, lastFinishedAt: T0 + 11 * MIN, lastStatus: "succeeded" });
    expect(evaluateHealth(ran, every5m, T0 + 12 * MIN).state).toBe("ok");
  });

  it("delayed when a slot is more than grace overdue and has not started, since that slot", () => {
    const ran = job({ lastStartedAt: T0 + 5 * MIN, lastFinishedAt: T0 + 6 * MIN, lastStatus: "succeeded" });
    expect(evaluateHealth(ran, every5m, T0 + 11 * MIN).state).toBe("ok"); // 00:10 slot, 1 min grace
    expect(evaluateHealth(ran, every5m, T0 + 11 * MIN + 1)).toMatchObject({ state: "delayed", since: T0 + 10 * MIN });
  });

  it("delayed while its own long run blocks the slots (overlap skip)", () => {
    const stuck = job({ lastStartedAt: T0 + 5 * MIN, runningCount: 1 });
    expect(evaluateHealth(stuck, every5m, T0 + 17 * MIN)).toMatchObject({ state: "delayed", since: T0 + 15 * MIN });
  });

  it("counts jitter as part of the expected start", () => {
    const ran = job({ jitterMs: 2 * MIN, lastStartedAt: T0 + 5 * MIN, lastStatus: "succeeded" });
    expect(evaluateHealth(ran, every5m, T0 + 12 * MIN + 59_000).state).toBe("ok");
  });

  it("failing when the last finished run failed, timed out or was abandoned, also while the next one runs", () => {
    for (const status of ["failed", "timed_out", "abandoned"] as const) {
      const bad = job({ lastStartedAt: T0 + 10 * MIN, lastFinishedAt: T0 + 10 * MIN + 5_000, lastStatus: status });
      expect(evaluateHealth(bad, every5m, T0 + 11 * MIN)).toMatchObject({ state: "failing", since: T0 + 10 * MIN + 5_000 });
      expect(evaluateHealth({ ...bad, runningCount: 1 }, every5m, T0 + 11 * MIN).state).toBe("failing");
    }
  });

  it("running when a run is in progress and the last one was fine", () => {
    const busy = job({ lastStartedAt: T0 + 10 * MIN, lastStatus: "succeeded", runningCount: 1 });
    expect(evaluateHealth(busy, every5m, T0 + 11 * MIN)).toMatchObject({ state: "running", since: T0 + 10 * MIN });
  });

  it("paused raises nothing; after a resume, slots from the paused time are not expected", () => {
    expect(evaluateHealth(job({ paused: true }), every5m, T0 + 60 * MIN).state).toBe("paused");
    const resumed = job({ lastStartedAt: T0 + 5 * MIN, lastStatus: "succeeded", resumedAt: T0 + 42 * MIN });
    expect(evaluateHealth(resumed, every5m, T0 + 43 * MIN).state).toBe("ok");
    expect(evaluateHealth(resumed, every5m, T0 + 46 * MIN + 1)).toMatchObject({ state: "delayed", since: T0 + 45 * MIN });
  });

  it("works on cron schedules in their timezone", () => {
    const daily = new CronSchedule("0 30 2 * * *", "Europe/London");
    const anchor = Date.UTC(2026, 5, 1, 12);
    const ranYesterday = job({ anchor, lastStartedAt: Date.UTC(2026, 5, 2, 1, 30), lastStatus: "succeeded", graceMs: 15 * MIN });
    expect(evaluateHealth(ranYesterday, daily, Date.UTC(2026, 5, 3, 1, 40)).state).toBe("ok");
    expect(evaluateHealth(ranYesterday, daily, Date.UTC(2026, 5, 3, 1, 46))).toMatchObject({ state: "delayed", since: Date.UTC(2026, 5, 3, 1, 30) });
  });
});
