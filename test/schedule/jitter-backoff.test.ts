import { describe, expect, it } from "vitest";
import { retryDelay } from "../../src/schedule/backoff.js";
import { jitterFor } from "../../src/schedule/jitter.js";

describe("jitterFor", () => {
  it("stays in [0, jitter) and is reproducible", () => {
    const values = Array.from({ length: 2_000 }, (_, i) => jitterFor(`job-${i % 50}`, 1_000 * i, 10_000));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(10_000);
    expect(jitterFor("a", 123, 10_000)).toBe(jitterFor("a", 123, 10_000));
  });

  it("spreads values across the range", () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(jitterFor("job", i * 60_000, 10_000) / 1_000)]++;
    for (const b of buckets) expect(b).toBeGreaterThan(700); // ~1000 each if uniform
  });

  it("is zero without jitter", () => expect(jitterFor("a", 1, 0)).toBe(0));
});

describe("retryDelay", () => {
  it("doubles from the base delay and caps at one hour", () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 30_000))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelay(20, 30_000)).toBe(3_600_000);
  });
});
