import { afterEach, describe, expect, it } from "vitest";
import { HealthMonitor } from "../../src/health/monitor.js";
import { silentLogger } from "../../src/logger.js";
import { DeliveryDispatcher } from "../../src/notify/dispatcher.js";
import type { NotificationFacts } from "../../src/notify/facts.js";
import { notifiersFrom } from "../../src/notify/notifiers.js";
import { gate, startHarness, T0, type Harness, every } from "../helpers/engine-harness.js";
import { httpSink } from "../helpers/http-sink.js";
import { makeSpec } from "../helpers/spec.js";
import { listDeliveries } from "../helpers/outbox.js";

let h: Harness | undefined;
const monitors: HealthMonitor[] = [];
afterEach(async () => {
  for (const m of monitors.splice(0)) await m.stop();
  await h?.close();
  h = undefined;
});

function monitor(harness: Harness, instanceId = "m1"): HealthMonitor {
  void harness.store.setNotifiers(["slack:test"]);
  const m = new HealthMonitor({
    store: harness.store, events: harness.engine.events, clock: harness.clock, log: silentLogger, instanceId, host: "test-host",
  });
  monitors.push(m);
  return m;
}

async function sent(harness: Harness): Promise<{ kind: string; payload: NotificationFacts }[]> {
  return (await listDeliveries(harness.store)).map((d) => ({ kind: d.kind, payload: d.payload as NotificationFacts }));
}

describe("health monitor", () => {
  it("a job blocked by its own long run (skip, grace 2s) becomes delayed once, then recovers once", async () => {
    const g = gate();
    let runs = 0;
    // Only the first run hangs on; later ones finish at once.
    const handler = async (ctx: Parameters<typeof g.handler>[0]) => (runs++ === 0 ? g.handler(ctx) : undefined);
    h = await startHarness([makeSpec("blocked", { ...every(10_000), overlap: "skip", graceMs: 2_000 })], { blocked: handler });
    monitor(h).start();
    await h.clock.advance(21_000); // run at 10 s holds on; the 20 s slot is skipped
    expect(await sent(h)).toEqual([]); // within grace
    await h.clock.advance(40_000); // 30 s, 40 s, 50 s, 60 s skipped too; evaluated every 5 s
    const opened = await sent(h);
    expect(opened.map((n) => [n.kind, n.payload.state])).toEqual([["opened", "delayed"]]);
    expect(opened[0]!.payload).toMatchObject({ job: "blocked", since: T0 + 20_000, host: "test-host", instance: "m1", lastRun: { id: 1, status: null } });
    g.release();
    await h.clock.advance(10_000); // the 70 s slot starts
    const now = await sent(h);
    expect(now.map((n) => n.kind)).toEqual(["opened", "recovered"]);
    expect(["ok", "running"]).toContain(now[1]!.payload.state);
    await h.clock.advance(30_000);
    expect(await sent(h)).toHaveLength(2); // one per transition, not one per evaluation
  });

  it("a failing job is reported with its error and stderr lines", async () => {
    h = await startHarness([makeSpec("bad", every(10_000))], {
      bad: (ctx) => {
        ctx.log.error("disk full on /var");
        throw new Error("backup failed");
      },
    });
    monitor(h).start();
    await h.clock.advance(10_000);
    const [n] = await sent(h);
    expect(n!.kind).toBe("opened");
    expect(n!.payload).toMatchObject({ state: "failing", lastRun: { status: "failed" } });
    expect(n!.payload.errorLines[0]).toBe("Error: backup failed");
    expect(n!.payload.errorLines).toContain("error: disk full on /var");
  });

  it("with two instances watching one store, exactly one notification goes out", async () => {
    h = await startHarness([makeSpec("bad", every(10_000))], { bad: () => { throw new Error("x"); } });
    const a = monitor(h, "a");
    const b = monitor(h, "b");
    await h.clock.advance(10_000);
    await Promise.all([a.evaluate(), b.evaluate()]);
    await Promise.all([a.evaluate(), b.evaluate()]);
    expect((await sent(h)).map((n) => n.kind)).toEqual(["opened"]);
  });

  it("pausing a job closes its incident without a 'recovered' message", async () => {
    h = await startHarness([makeSpec("bad", every(10_000))], { bad: () => { throw new Error("x"); } });
    monitor(h).start();
    await h.clock.advance(10_000);
    expect(await h.store.listOpenIncidents()).toHaveLength(1);
    await h.engine.pause("bad"); // the engine follows it and tells the monitor (jobs:changed)
    await h.clock.advance(0);
    expect(await h.store.listOpenIncidents()).toEqual([]);
    expect((await sent(h)).map((n) => n.kind)).toEqual(["opened"]);
  });

  it("reports a failing run with overlap allow even when a newer run has started", async () => {
    let n = 0;
    const g = gate();
    // Run 1 fails after run 2 has started: the job must still count as failing.
    h = await startHarness([makeSpec("al", { ...every(10_000), overlap: "allow" })], {
      al: async (ctx) => {
        if (++n === 1) {
          await g.handler(ctx);
          throw new Error("first run failed late");
        }
        // the second one keeps running (until cancelled at the end of the test)
        await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
      },
    });
    monitor(h).start();
    await h.clock.advance(20_000);
    g.release();
    await h.clock.advance(1);
    expect((await sent(h)).map((x) => [x.kind, x.payload.state])).toEqual([["opened", "failing"]]);
  });

  it("reminds while an incident stays open, with remind", async () => {
    h = await startHarness([makeSpec("bad", { ...every(3_600_000), remindMs: 60_000 })], { bad: () => { throw new Error("x"); } });
    monitor(h).start();
    await h.clock.advance(3_600_000 + 150_000);
    expect((await sent(h)).map((n) => n.kind)).toEqual(["opened", "reminder", "reminder"]);
  });

  it("200 jobs turning delayed at once produce one Slack digest", async () => {
    const specs = Array.from({ length: 200 }, (_, i) => makeSpec(`job-${i}`, { ...every(10_000), graceMs: 2_000 }));
    h = await startHarness(specs, Object.fromEntries(specs.map((s) => [s.name, () => {}])));
    await h.clock.advance(10_000); // every job runs once…
    await h.engine.stop(0); // …then the scheduler is gone (say, its database died)
    const sink = await httpSink([]);
    try {
      const notifiers = notifiersFrom({ slack: { webhook: sink.url } });
      const dispatcher = new DeliveryDispatcher({ store: h.store, notifiers, instanceId: "m1", log: silentLogger, clock: h.clock });
      await h.store.setNotifiers(notifiers.map((n) => n.id));
      const m = new HealthMonitor({
        store: h.store, events: h.engine.events, clock: h.clock, log: silentLogger,
        instanceId: "m1", host: "test-host", hold: () => dispatcher.hold(), release: () => dispatcher.release(),
      });
      h.clock.jump(12_500); // the 20 s slots are now more than 2 s overdue
      await m.evaluate();
      await dispatcher.runOnce();
      expect(sink.delivered).toHaveLength(1);
      expect((sink.delivered[0]!.body as { text: string }).text).toBe("jobclock: 200 job notifications (200 delayed)");
    } finally {
      await sink.close();
    }
  });
});
