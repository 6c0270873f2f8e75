import { afterEach, expect, it } from "vitest";
import type { JobContext } from "../../src/run/types.js";
import { makeSpec } from "../helpers/spec.js";
import { every, startOn, T0, type Harness } from "../helpers/engine-harness.js";
import { describeOnEachStore } from "../helpers/engine-stores.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const JOBS = Array.from({ length: 24 }, (_, i) => `job-${i}`);

/** Handlers for every job that record which instance ran which slot, and how late. */
function recorder(instance: string, into: { instance: string; job: string; slot: number; lateMs: number }[], now: () => number) {
  return Object.fromEntries(JOBS.map((job) => [job, (ctx: JobContext) => void into.push({ instance, job, slot: ctx.slot.getTime() - T0, lateMs: now() - ctx.slot.getTime() })]));
}

describeOnEachStore("engine: instances sharing one store", (on) => {
  it("two instances share the jobs: every slot runs exactly once, each instance's share on time; when one stops, the other takes all", async () => {
    const ran: { instance: string; job: string; slot: number; lateMs: number }[] = [];
    const now = () => h!.clock.now();
    h = await startOn(on, JOBS.map((j) => makeSpec(j, every(1_000))), recorder("a", ran, now));
    const b = await h.startInstance("b", recorder("b", ran, now));
    await h.clock.advance(20_000);
    // Every job ran every second, once: never doubled, never missed, whoever claimed it.
    for (const job of JOBS) expect(ran.filter((r) => r.job === job).map((r) => r.slot).sort((x, y) => x - y), job).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 1_000));
    // Once both have heartbeated (by 5 s) each knows the other: both take a real share, on time.
    const settled = ran.filter((r) => r.slot > 6_000);
    const byB = settled.filter((r) => r.instance === "b").length / settled.length;
    expect(byB).toBeGreaterThan(0.25);
    expect(byB).toBeLessThan(0.75);
    expect(Math.max(...settled.map((r) => r.lateMs))).toBe(0);

    const stopping = b.stop(0);
    await h.clock.advance(0);
    await stopping;
    const before = ran.length;
    await h.clock.advance(20_000);
    const after = ran.slice(before);
    for (const job of JOBS) expect(after.filter((r) => r.job === job).map((r) => r.slot), job).toEqual(Array.from({ length: 20 }, (_, i) => (i + 21) * 1_000));
    expect(after.every((r) => r.instance === "a")).toBe(true);
    // b's jobs wait at most the steal time (300 ms) until a sees b stopped at its next heartbeat; then all are on time.
    expect(Math.max(...after.map((r) => r.lateMs))).toBeLessThanOrEqual(300);
    expect(Math.max(...after.filter((r) => r.slot > 26_000).map((r) => r.lateMs))).toBe(0);
    const runs = await h.store.listRuns({ limit: 10_000 });
    expect(runs).toHaveLength(JOBS.length * 40);
    expect(runs.every((r) => r.status === "succeeded")).toBe(true);
  });
});
