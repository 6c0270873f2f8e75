import { afterEach, expect, it } from "vitest";
import { makeSpec } from "../helpers/spec.js";
import type { Store } from "../../src/store/types.js";
import { gate, startOn, T0, type Harness, every } from "../helpers/engine-harness.js";
import { describeOnEachStore } from "../helpers/engine-stores.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describeOnEachStore("engine: slots", (on) => {
  it("runs an interval job on every slot, on time, and records each run", async () => {
    const slots: number[] = [];
    h = await startOn(on, [makeSpec("tick", every(10_000))], { tick: (ctx) => void slots.push(ctx.slot.getTime()) });
    await h.clock.advance(35_000);
    expect(slots).toEqual([T0 + 10_000, T0 + 20_000, T0 + 30_000]);
    const runs = await h.runs("tick");
    expect(runs.map((r) => [r.status, r.trigger, r.startedAt! - r.slot])).toEqual([
      ["succeeded", "schedule", 0], ["succeeded", "schedule", 0], ["succeeded", "schedule", 0],
    ]);
  });

  it("uses one timer for all jobs, however many there are", async () => {
    const specs = Array.from({ length: 500 }, (_, i) => makeSpec(`job-${i}`, every(60_000 + i * 1_000)));
    h = await startOn(on, specs, Object.fromEntries(specs.map((s) => [s.name, () => {}])));
    // the scheduling timer + sync, heartbeat and prune loops
    expect(h.clock.pendingTimers()).toBeLessThanOrEqual(4);
  });

  it("runs at once with run_on_start", async () => {
    const seen: number[] = [];
    h = await startOn(on, [makeSpec("now", { ...every(60_000), runOnStart: true })], { now: (c) => void seen.push(c.slot.getTime()) });
    await h.clock.advance(0);
    expect(seen).toEqual([T0]);
  });

  it("delays each slot by its jitter, within [0, jitter)", async () => {
    const late: number[] = [];
    h = await startOn(on, [makeSpec("j", { ...every(10_000), jitterMs: 5_000 })], {
      j: (ctx) => void late.push(h!.clock.now() - ctx.slot.getTime()),
    });
    await h.clock.advance(105_000); // slot 100 s fires up to 5 s late
    expect(late).toHaveLength(10);
    expect(late.every((l) => l >= 0 && l < 5_000)).toBe(true);
    expect(new Set(late).size).toBeGreaterThan(3);
  });

  it("fires cron jobs in their timezone", async () => {
    const seen: string[] = [];
    h = await startOn(on, 
      [makeSpec("c", { schedule: { kind: "cron", expression: "0 30 9 * * *", timezone: "America/New_York" } })],
      { c: (ctx) => void seen.push(ctx.slot.toISOString()) },
      { syncMs: 3_600_000, heartbeatMs: 3_600_000, abandonAfterMs: 4 * 3_600_000 }, // two fake days, few wake-ups
    );
    await h.clock.advance(2 * 86_400_000);
    expect(seen).toEqual(["2026-01-01T14:30:00.000Z", "2026-01-02T14:30:00.000Z"]);
  });

  it("notices a forward clock jump within the recheck period and catches up once", async () => {
    const seen: string[] = [];
    h = await startOn(on, [makeSpec("j", every(60_000))], { j: (c) => void seen.push(c.slot.toISOString()) });
    await h.clock.advance(30_000);
    h.clock.jump(10 * 60_000); // wall clock leaps from 00:00:30 to 00:10:30
    await h.clock.advance(20_000); // the engine re-checks at least every 30 s
    const runs = await h.runs("j");
    expect(runs.map((r) => [r.status, r.trigger, r.missedCount])).toEqual([["missed", "schedule", 9], ["succeeded", "catchup", null]]);
    expect(runs[1]!.slot).toBe(T0 + 10 * 60_000);
  });
});

describeOnEachStore("engine: overlap policies", (on) => {
  it("skip: a slot that finds the job running is recorded as skipped", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("s", { ...every(10_000), overlap: "skip" })], { s: g.handler });
    await h.clock.advance(25_000);
    expect((await h.runs("s")).map((r) => r.status)).toEqual(["running", "skipped"]);
    g.release();
    await h.clock.advance(10_000);
    expect((await h.runs("s")).map((r) => r.status)).toEqual(["succeeded", "skipped", "running"]);
    g.release();
    await h.clock.advance(1);
  });

  /** A store whose finishRuns waits while `held` (a slow database: the write lands late). */
  function slowFinishes() {
    let hold: Promise<void> | null = null;
    let release = () => {};
    const wrap = (store: Store): Store => new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "finishRuns") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: Parameters<Store["finishRuns"]>) => {
          await hold;
          return target.finishRuns(...args);
        };
      },
    });
    return { wrap, hold: () => void (hold = new Promise((r) => (release = r))), release: () => ((hold = null), release()) };
  }

  it("skip: a run that ended before the slot, its result still on the way to the store, does not skip the slot", async () => {
    const slow = slowFinishes();
    const started: number[] = [];
    h = await startOn(on, [makeSpec("s", { ...every(1_000), overlap: "skip" })], { s: () => void started.push(h!.clock.now() - T0) }, { wrapStore: slow.wrap });
    slow.hold();
    try {
      await h.clock.advance(1_000); // slot 1 runs at once; its result is held
      await h.clock.advance(1_050); // slot 2 is due while the store still says "running"
      expect((await h.runs("s")).map((r) => r.status)).toEqual(["running"]);
    } finally {
      slow.release();
    }
    await h.clock.advance(20);
    const runs = await h.runs("s");
    expect(runs.map((r) => [r.slot - T0, r.status])).toEqual([[1_000, "succeeded"], [2_000, "succeeded"]]);
    expect(started[1]).toBeGreaterThanOrEqual(2_050); // late, once the result was in, not skipped
  });

  it("allow: a slot does not wait for the previous run's result, it starts alongside anyway", async () => {
    const slow = slowFinishes();
    const started: number[] = [];
    h = await startOn(on, [makeSpec("a", { ...every(1_000), overlap: "allow" })], { a: () => void started.push(h!.clock.now() - T0) }, { wrapStore: slow.wrap });
    slow.hold();
    try {
      await h.clock.advance(2_050);
      expect(started).toEqual([1_000, 2_000]);
    } finally {
      slow.release();
    }
    await h.clock.advance(20);
    expect((await h.runs("a")).map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
  });

  it("queue: one slot waits and starts when the run ends; more are skipped", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("q", { ...every(10_000), overlap: "queue" })], { q: g.handler });
    await h.clock.advance(35_000);
    expect((await h.runs("q")).map((r) => [r.slot - T0, r.status])).toEqual([[10_000, "running"], [30_000, "skipped"]]);
    g.release();
    await h.clock.advance(1);
    const runs = await h.runs("q");
    expect(runs.map((r) => [r.slot - T0, r.status])).toEqual([[10_000, "succeeded"], [30_000, "skipped"], [20_000, "running"]]);
    expect(g.calls.map((c) => c.slot.getTime() - T0)).toEqual([10_000, 20_000]);
    g.release();
    await h.clock.advance(1);
  });

  it("allow: runs start alongside", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("a", { ...every(10_000), overlap: "allow" })], { a: g.handler });
    await h.clock.advance(30_000);
    expect((await h.runs("a")).map((r) => r.status)).toEqual(["running", "running", "running"]);
    expect(h.engine.activeRuns()).toHaveLength(3);
    g.release();
    await h.clock.advance(1);
  });

  it("replace: the running run is cancelled, then the new one starts", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("r", { ...every(10_000), overlap: "replace" })], { r: g.handler });
    await h.clock.advance(20_000);
    const runs = await h.runs("r");
    expect(runs.map((r) => r.status)).toEqual(["cancelled", "running"]);
    expect(runs[0]!.error).toMatch(/replaced by run #2/);
    expect(g.calls).toHaveLength(2);
    g.release();
    await h.clock.advance(1);
  });
});

describeOnEachStore("engine: catch-up after downtime", (on) => {
  // Jobs applied at T0 (every minute); the engine starts at 00:10:30, so slots 00:01–00:10 were missed.
  async function downtime(catchup: "once" | "none" | "all", catchupWindowMs = 3_600_000) {
    const g = gate();
    const harness = await startOn(on, [makeSpec("c", { ...every(60_000), catchup, catchupWindowMs })], { c: g.handler }, { start: false });
    harness.clock.jump(10 * 60_000 + 30_000);
    await harness.engine.start();
    await harness.clock.advance(0);
    return { harness, g };
  }

  it("once: runs once now and records the rest as missed", async () => {
    const { harness, g } = await downtime("once");
    h = harness;
    const runs = await h.runs("c");
    expect(runs.map((r) => [r.status, r.trigger, r.missedCount])).toEqual([["missed", "schedule", 9], ["running", "catchup", null]]);
    expect(runs[1]!.slot).toBe(T0 + 10 * 60_000);
    g.release();
    await h.clock.advance(30_000); // next ordinary slot at 00:11
    expect((await h.runs("c")).at(-1)).toMatchObject({ slot: T0 + 11 * 60_000, trigger: "schedule" });
    g.release();
    await h.clock.advance(1);
  });

  it("none: records every missed slot and waits for the next", async () => {
    const { harness, g } = await downtime("none");
    h = harness;
    expect((await h.runs("c")).map((r) => [r.status, r.missedCount])).toEqual([["missed", 10]]);
    await h.clock.advance(30_000);
    expect((await h.runs("c")).map((r) => r.status)).toEqual(["missed", "running"]);
    g.release();
    await h.clock.advance(1);
  });

  it("all: runs each missed slot within the window, oldest first, one after another", async () => {
    const { harness, g } = await downtime("all", 3 * 60_000);
    h = harness;
    // window 00:07:30–00:10:30 holds 00:08, 00:09, 00:10; 00:01–00:07 are missed
    expect((await h.runs("c")).map((r) => [r.status, r.missedCount ?? r.slot - T0])).toEqual([["missed", 7], ["running", 8 * 60_000]]);
    for (let i = 0; i < 3; i++) {
      g.release();
      await h.clock.advance(1);
    }
    const runs = (await h.runs("c")).filter((r) => r.trigger === "catchup");
    expect(runs.map((r) => r.slot - T0)).toEqual([8 * 60_000, 9 * 60_000, 10 * 60_000]);
    expect(runs.every((r) => r.status === "succeeded")).toBe(true);
  });
});
