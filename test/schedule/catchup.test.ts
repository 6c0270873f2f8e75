import { describe, expect, it } from "vitest";
import { planDue, type CatchupPolicy } from "../../src/schedule/catchup.js";
import { CronSchedule, IntervalSchedule } from "../../src/schedule/schedule.js";

const MIN = 60_000;
const start = Date.UTC(2026, 0, 1, 0, 0, 0);
const everyMinute = new IntervalSchedule(MIN, start);

function plan(policy: CatchupPolicy, nextSlot: number, now: number, opts: { liveSince?: number; windowMs?: number } = {}) {
  return planDue({
    schedule: everyMinute, nextSlot, now, policy,
    liveSince: opts.liveSince ?? start, windowMs: opts.windowMs ?? 60 * MIN,
  });
}

describe("planDue", () => {
  it("runs an ordinary slot due while live", () => {
    const p = plan("once", start + MIN, start + MIN + 5);
    expect(p).toEqual({ run: { slot: start + MIN, trigger: "schedule" }, missed: null, nextSlot: start + 2 * MIN });
  });

  it("a single slot missed while down counts as catch-up (none records it missed)", () => {
    const live = start + 90_000;
    expect(plan("none", start + MIN, live, { liveSince: live }).missed?.count).toBe(1);
    expect(plan("once", start + MIN, live, { liveSince: live }).run).toEqual({ slot: start + MIN, trigger: "catchup" });
  });

  describe("after 10 missed slots (down from 00:01 to 00:10:30)", () => {
    const now = start + 10 * MIN + 30_000;
    const opts = { liveSince: now };

    it("once: runs the latest, records the 9 others as missed", () => {
      const p = plan("once", start + MIN, now, opts);
      expect(p.run).toEqual({ slot: start + 10 * MIN, trigger: "catchup" });
      expect(p.missed).toEqual({ count: 9, first: start + MIN, last: start + 9 * MIN, atLeast: false });
      expect(p.nextSlot).toBe(start + 11 * MIN);
    });

    it("none: records all 10 as missed and waits for the next slot", () => {
      const p = plan("none", start + MIN, now, opts);
      expect(p.run).toBeNull();
      expect(p.missed).toEqual({ count: 10, first: start + MIN, last: start + 10 * MIN, atLeast: false });
      expect(p.nextSlot).toBe(start + 11 * MIN);
    });

    it("all: runs the oldest slot inside the window; older ones are missed", () => {
      const p = plan("all", start + MIN, now, { ...opts, windowMs: 5 * MIN });
      // window starts at 00:05:30, so 00:06 is the oldest slot in it; 00:01–00:05 are missed.
      expect(p.run).toEqual({ slot: start + 6 * MIN, trigger: "catchup" });
      expect(p.missed).toEqual({ count: 5, first: start + MIN, last: start + 5 * MIN, atLeast: false });
      expect(p.nextSlot).toBe(start + 7 * MIN);
    });

    it("all: walks the backlog one slot per call, oldest first", () => {
      const second = plan("all", start + 7 * MIN, now, { ...opts, windowMs: 5 * MIN });
      expect(second.run?.slot).toBe(start + 7 * MIN);
      expect(second.missed).toBeNull();
    });

    it("all: with nothing inside the window, records everything as missed", () => {
      const p = plan("all", start + MIN, now, { ...opts, windowMs: 10_000 });
      expect(p.run).toBeNull();
      expect(p.missed?.count).toBe(10);
    });
  });

  it("a single slot overdue by more than the window is a catch-up even while live", () => {
    const p = plan("none", start + MIN, start + MIN + 20 * MIN, { windowMs: 10 * MIN });
    // 21 slots are due by then; all recorded missed.
    expect(p.run).toBeNull();
    expect(p.missed?.count).toBe(21);
  });

  it("counts a month of 500ms slots without listing them", () => {
    const fast = new IntervalSchedule(500, start);
    const now = start + 30 * 86_400_000;
    const p = planDue({ schedule: fast, nextSlot: start + 500, now, liveSince: now, policy: "once", windowMs: MIN });
    expect(p.missed?.count).toBe(30 * 86_400 * 2 - 1);
    expect(p.run?.slot).toBe(now);
  });

  it("walks cron slots with the same rules", () => {
    const cron = new CronSchedule("0 * * * *", "UTC");
    const now = Date.UTC(2026, 0, 1, 5, 10);
    const p = planDue({ schedule: cron, nextSlot: Date.UTC(2026, 0, 1, 1), now, liveSince: now, policy: "once", windowMs: 60 * MIN });
    expect(p.run?.slot).toBe(Date.UTC(2026, 0, 1, 5));
    expect(p.missed).toMatchObject({ count: 4, first: Date.UTC(2026, 0, 1, 1), last: Date.UTC(2026, 0, 1, 4) });
    expect(p.nextSlot).toBe(Date.UTC(2026, 0, 1, 6));
  });
});
