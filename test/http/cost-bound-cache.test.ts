import { describe, expect, it } from "vitest";
import { CostBoundCache } from "../../src/http/cost-bound-cache.js";

describe("CostBoundCache", () => {
  it("answers from the last computation for ten times its cost (at least a second), and shares one in flight", async () => {
    let now = 0;
    let computed = 0;
    const cache = new CostBoundCache<number>(() => now);
    const slow = async () => {
      computed++;
      now += 300; // this computation costs 300 ms
      return computed;
    };
    const [a, b] = await Promise.all([cache.get("k", slow), cache.get("k", slow)]);
    expect([a, b, computed]).toEqual([1, 1, 1]); // asked twice at once: computed once
    now += 2_000; // 2.3 s after it began: still within 10 × 300 ms
    expect(await cache.get("k", slow)).toBe(1);
    now += 1_000; // 3.3 s: stale
    expect(await cache.get("k", slow)).toBe(2);
    cache.clear();
    expect(await cache.get("k", slow)).toBe(3);
    const cheap = async () => ++computed;
    now += 10_000;
    expect(await cache.get("c", cheap)).toBe(4);
    now += 999;
    expect(await cache.get("c", cheap)).toBe(4); // cheap: kept the minimum second
    now += 1;
    expect(await cache.get("c", cheap)).toBe(5);
  });

  it("does not keep a failure", async () => {
    const cache = new CostBoundCache<number>(() => 0);
    await expect(cache.get("k", async () => Promise.reject(new Error("store away")))).rejects.toThrow("store away");
    expect(await cache.get("k", async () => 7)).toBe(7);
  });
});
