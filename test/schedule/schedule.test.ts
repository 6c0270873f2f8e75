import { describe, expect, it } from "vitest";
import { CronSchedule, IntervalSchedule } from "../../src/schedule/schedule.js";

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function slots(schedule: { next(after: number): number | null }, from: string, count: number): (string | null)[] {
  const out: (string | null)[] = [];
  let at: number | null = t(from);
  for (let i = 0; i < count && at !== null; i++) {
    at = schedule.next(at);
    out.push(iso(at));
  }
  return out;
}

describe("IntervalSchedule", () => {
  const anchor = t("2026-01-01T00:00:00Z");
  const every5m = new IntervalSchedule(300_000, anchor);

  it("is fixed rate: slots are anchor + n × interval, whatever the query time", () => {
    expect(iso(every5m.next(anchor))).toBe("2026-01-01T00:05:00.000Z");
    expect(iso(every5m.next(t("2026-01-01T00:07:13Z")))).toBe("2026-01-01T00:10:00.000Z");
    // A slow run that ends at 00:12 does not shift the grid.
    expect(iso(every5m.next(t("2026-01-01T00:12:00Z")))).toBe("2026-01-01T00:15:00.000Z");
  });

  it("returns the slot strictly after the given instant", () => {
    expect(iso(every5m.next(t("2026-01-01T00:10:00Z")))).toBe("2026-01-01T00:15:00.000Z");
  });

  it("starts one interval after it is applied, or at once with run_on_start", () => {
    expect(every5m.first(anchor, false)).toBe(anchor + 300_000);
    expect(every5m.first(anchor, true)).toBe(anchor);
  });

  it("counts slots in a range without listing them", () => {
    expect(every5m.countBetween(anchor, anchor + 3_600_000)).toBe(13);
    expect(every5m.countBetween(anchor + 1, anchor + 299_999)).toBe(0);
  });

  it("is not moved by DST: a daily interval is 24 real hours", () => {
    const daily = new IntervalSchedule(86_400_000, t("2026-03-28T12:00:00Z"));
    expect(iso(daily.next(t("2026-03-28T12:00:00Z")))).toBe("2026-03-29T12:00:00.000Z");
  });
});

describe("CronSchedule", () => {
  it("supports a seconds field", () => {
    expect(slots(new CronSchedule("*/20 * * * * *", "UTC"), "2026-05-01T10:00:05Z", 3)).toEqual([
      "2026-05-01T10:00:20.000Z", "2026-05-01T10:00:40.000Z", "2026-05-01T10:01:00.000Z",
    ]);
  });

  it("supports nicknames", () => {
    expect(slots(new CronSchedule("@hourly", "UTC"), "2026-05-01T10:30:00Z", 1)).toEqual(["2026-05-01T11:00:00.000Z"]);
    expect(slots(new CronSchedule("@daily", "Europe/London"), "2026-07-01T10:30:00Z", 1)).toEqual(["2026-07-01T23:00:00.000Z"]);
  });

  it("computes a slot across a year boundary", () => {
    expect(slots(new CronSchedule("0 0 1 1 *", "UTC"), "2026-12-31T23:59:59Z", 1)).toEqual(["2027-01-01T00:00:00.000Z"]);
    expect(slots(new CronSchedule("30 23 31 12 *", "America/New_York"), "2026-12-31T12:00:00Z", 2)).toEqual([
      "2027-01-01T04:30:00.000Z", "2028-01-01T04:30:00.000Z",
    ]);
  });

  it("finds 29 February only in leap years", () => {
    expect(slots(new CronSchedule("0 12 29 2 *", "UTC"), "2026-01-01T00:00:00Z", 2)).toEqual([
      "2028-02-29T12:00:00.000Z", "2032-02-29T12:00:00.000Z",
    ]);
  });

  describe("Europe/London DST", () => {
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST. 2026-10-25: 02:00 BST falls back to 01:00 GMT.
    it("spring forward: a wall time in the gap runs once, at the first valid instant after it", () => {
      expect(slots(new CronSchedule("30 1 * * *", "Europe/London"), "2026-03-28T12:00:00Z", 3)).toEqual([
        "2026-03-29T01:00:00.000Z", // 02:00 BST, where the gap ends
        "2026-03-30T00:30:00.000Z", // 01:30 BST
        "2026-03-31T00:30:00.000Z",
      ]);
    });

    it("fall back: a wall time that happens twice runs once", () => {
      expect(slots(new CronSchedule("30 1 * * *", "Europe/London"), "2026-10-24T12:00:00Z", 3)).toEqual([
        "2026-10-25T00:30:00.000Z", // the first 01:30 (BST)
        "2026-10-26T01:30:00.000Z", // 01:30 GMT the next day
        "2026-10-27T01:30:00.000Z",
      ]);
    });

    it("wildcard patterns follow elapsed time through the repeated hour", () => {
      const s = slots(new CronSchedule("*/30 * * * *", "Europe/London"), "2026-10-25T00:00:00Z", 4);
      expect(s).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-25T01:00:00.000Z", "2026-10-25T01:30:00.000Z", "2026-10-25T02:00:00.000Z"]);
    });
  });

  describe("America/New_York DST", () => {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT. 2026-11-01: 02:00 EDT falls back to 01:00 EST.
    it("spring forward: 02:30 does not exist and runs at 03:00 EDT", () => {
      expect(slots(new CronSchedule("0 30 2 * * *", "America/New_York"), "2026-03-07T12:00:00Z", 2)).toEqual([
        "2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z",
      ]);
    });

    it("fall back: 01:30 happens twice and runs once", () => {
      expect(slots(new CronSchedule("30 1 * * *", "America/New_York"), "2026-10-31T12:00:00Z", 2)).toEqual([
        "2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z",
      ]);
    });
  });
});
