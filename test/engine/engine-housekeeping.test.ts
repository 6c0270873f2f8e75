import { afterEach, expect, it, vi } from "vitest";
import type { Store } from "../../src/store/types.js";
import { StoreError } from "../../src/errors.js";
import { makeSpec } from "../helpers/spec.js";
import { gate, startOn, T0, waitFor, type Harness, every } from "../helpers/engine-harness.js";
import { describeOnEachStore } from "../helpers/engine-stores.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describeOnEachStore("engine: housekeeping", (on) => {
  it("prunes run history in the background beyond the retention", async () => {
    h = await startOn(on, [makeSpec("p", every(1_000))], { p: () => {} }, {
      retention: { keepRuns: 5, keepMs: 10_000 }, pruneEveryMs: 60_000, syncMs: 5_000,
    });
    await h.clock.advance(59_999);
    expect((await h.runs("p")).length).toBe(60); // the 60 s slot is claimed 100 ms ahead
    await h.clock.advance(1);
    // At the prune, runs older than 10 s go, but never the newest 5: 10 s of runs are kept.
    const left = await h.runs("p");
    expect(left.length).toBeGreaterThanOrEqual(5);
    expect(left.length).toBeLessThanOrEqual(11);
    expect(left.every((r) => r.createdAt >= T0 + 60_000 - 11_000)).toBe(true);
  });

  it("prunes handled triggers and old control events in the background too", async () => {
    // A day of fake time with few wake-ups (hourly polls and heartbeats): on PostgreSQL each
    // is real round trips. The triggers arrive by the store's push instead of a poll.
    h = await startOn(on, [makeSpec("t", every(3_600_000))], { t: () => {} }, {
      retention: { keepRuns: 5, keepMs: 10_000 }, pruneEveryMs: 3_600_000, syncMs: 3_600_000, heartbeatMs: 3_600_000, abandonAfterMs: 4 * 3_600_000,
    });
    const cli = await h.openOther(); // another process's connection, as the CLI's
    for (let i = 0; i < 5; i++) await cli.requestTrigger("t", h.clock.now(), "cli alice@web1");
    await waitFor("the pushed triggers to be claimed", async () => (await h!.runs("t")).filter((r) => r.trigger === "manual").length >= 5);
    await h.clock.advance(2_000);
    expect((await h.runs("t")).filter((r) => r.trigger === "manual")).toHaveLength(5);
    const count = (table: "triggers" | "control_events") => h!.count(table);
    expect(await count("triggers")).toBe(5);
    expect(await count("control_events")).toBeGreaterThanOrEqual(5);
    for (let i = 0; i < 25; i++) await h.clock.advance(3_600_000); // a day and an hour, pruning hourly
    expect(await count("triggers")).toBe(0);
    expect(await count("control_events")).toBe(0);
  });

  it("stop does not wait forever for a result the store refuses: after shutdown_timeout it is given up", async () => {
    let down = false;
    const refusingFinishes = (store: Store): Store => new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === "finishRuns") return (...args: Parameters<Store["finishRuns"]>) => (down ? Promise.reject(new Error("connection refused")) : target.finishRuns(...args));
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    h = await startOn(on, [makeSpec("r", every(60_000))], { r: () => {} }, { wrapStore: refusingFinishes });
    const warnings: string[] = [];
    h.engine.events.on("engine:warning", (w) => warnings.push(w.message));
    down = true;
    await h.clock.advance(60_000); // the run ends; its result cannot be written and is retried
    expect(warnings.some((w) => /could not record the end of run #1; retrying/.test(w))).toBe(true);
    let stopped = false;
    const stopping = h.engine.stop(3_000).then(() => void (stopped = true));
    await h.clock.advance(2_900);
    expect(stopped).toBe(false); // within shutdown_timeout it still waits for the store
    await h.clock.advance(200);
    await stopping;
    expect(warnings.some((w) => /run #1 \(succeeded\) and the engine is stopping: given up/.test(w))).toBe(true);
    expect((await h.runs("r"))[0]!.status).toBe("running"); // left for an instance to abandon, as after a crash
  });

  it("a result the store refuses (a full disk) is retried with the backoff it announces, not on every successful read", async () => {
    let attempts = 0;
    const fullDisk = (store: Store): Store => new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === "finishRuns") {
          return () => {
            attempts++;
            return Promise.reject(new StoreError("STORE_FAILED", "store /x/jobclock.db: database or disk is full"));
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    // Reads keep answering, four times a second: each one used to wake the retry at once.
    h = await startOn(on, [makeSpec("f", every(60_000))], { f: () => {} }, { wrapStore: fullDisk, syncMs: 250 });
    const warnings: string[] = [];
    h.engine.events.on("engine:warning", (w) => warnings.push(w.message));
    await h.clock.advance(60_000); // the run ends; its result cannot be written
    const before = attempts;
    for (let i = 0; i < 120; i++) await h.clock.advance(250); // 30 s
    // 250 ms, 500 ms, 1 s, then every 2 s: about 16 tries in 30 s, not 120.
    expect(attempts - before).toBeLessThanOrEqual(17);
    expect(attempts - before).toBeGreaterThanOrEqual(12);
    expect(warnings.filter((w) => /record the end of run/.test(w)).length).toBeLessThanOrEqual(2); // not one line per try
  });

  it("survives a store outage: claims are retried, then slots are caught up without duplicates", async () => {
    let down = false;
    const seen: number[] = [];
    h = await startOn(on, [makeSpec("s", every(1_000))], { s: (ctx) => void seen.push(ctx.slot.getTime() - T0) }, { start: false });
    const real = h.store;
    // A store whose writes fail while `down`, as when the database is unreachable.
    const flaky = new Proxy(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (down && ["claimSlots", "finishRuns", "heartbeat"].includes(String(prop))) {
            return Promise.reject(new Error("connection refused"));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as Store;
    const { Engine } = await import("../../src/engine/engine.js");
    await h.engine.stop(0);
    const warnings: string[] = [];
    const engine = new Engine({ store: flaky, clock: h.clock, handlers: new Map([["s", (c) => void seen.push(c.slot.getTime() - T0)]]) });
    engine.events.on("engine:warning", (w) => warnings.push(w.message));
    await engine.start();
    await h.clock.advance(3_000);
    expect(seen).toEqual([1_000, 2_000, 3_000]);
    down = true;
    await h.clock.advance(5_000);
    expect(seen).toHaveLength(3); // nothing can be claimed, nothing runs
    expect(warnings.some((w) => /could not claim/.test(w))).toBe(true);
    down = false;
    await h.clock.advance(1_000);
    // Back: the backlog is caught up once (catchup: once), then the schedule resumes.
    await h.clock.advance(2_000);
    const runs = (await real.listRuns({ job: "s", limit: 100 })).reverse();
    const slots = runs.map((r) => r.slot);
    expect(new Set(slots).size).toBe(slots.length); // no slot recorded twice
    expect(runs.some((r) => r.status === "missed" || r.trigger === "catchup")).toBe(true);
    expect(runs.at(-1)!.status).toBe("succeeded");
    await engine.stop(0);
  });

  it("a claim that committed but whose answer was lost is found and run once, not left to block the job", async () => {
    const seen: number[] = [];
    h = await startOn(on, [makeSpec("l", every(1_000))], {}, { start: false });
    const real = h.store;
    let loseNextAnswer = false;
    const lossy = new Proxy(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "claimSlots") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: Parameters<Store["claimSlots"]>) => {
          const outcomes = await target.claimSlots(...args); // committed…
          if (!loseNextAnswer) return outcomes;
          loseNextAnswer = false;
          throw new Error("connection closed"); // …but the answer never arrives
        };
      },
    }) as Store;
    const { Engine } = await import("../../src/engine/engine.js");
    await h.engine.stop(0);
    const engine = new Engine({ store: lossy, clock: h.clock, syncMs: 250, handlers: new Map([["l", (c) => void seen.push(c.slot.getTime() - T0)]]) });
    await engine.start();
    await h.clock.advance(1_500);
    loseNextAnswer = true; // the claim of the 2 s slot (made 100 ms ahead)
    await h.clock.advance(3_000);
    await engine.stop(0);
    expect(seen).toEqual([1_000, 2_000, 3_000, 4_000]); // the lost claim's slot ran, once
    const runs = (await real.listRuns({ job: "l", limit: 100 })).reverse();
    expect(runs.map((r) => [r.slot - T0, r.status])).toEqual([
      [1_000, "succeeded"], [2_000, "succeeded"], [3_000, "succeeded"], [4_000, "succeeded"],
    ]);
  });

  it("a stop while a claim is in flight waits for it: the claimed run is recorded, never left running", async () => {
    h = await startOn(on, [makeSpec("s", every(1_000))], { s: () => {} }, { start: false });
    const real = h.store;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let claimsSent = 0;
    const slow = new Proxy(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "claimSlots") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: Parameters<Store["claimSlots"]>) => {
          claimsSent++;
          const outcomes = await target.claimSlots(...args); // committed at once…
          await held; // …but the answer is slow to come back
          return outcomes;
        };
      },
    }) as Store;
    const { Engine } = await import("../../src/engine/engine.js");
    await h.engine.stop(0);
    const engine = new Engine({ store: slow, clock: h.clock, handlers: new Map([["s", () => {}]]) });
    await engine.start();
    await h.clock.advance(950); // the 1 s slot is claimed 100 ms ahead; its answer is held
    expect(claimsSent).toBe(1);
    const stopping = engine.stop(0);
    release();
    await h.clock.advance(0);
    await stopping;
    const runs = await real.listRuns({ job: "s" });
    expect(runs.map((r) => r.status)).toEqual(["cancelled"]); // not "running" forever
  });

  it("a run found as a lost claim and also answered late runs once, even if it ended in between", async () => {
    const calls: number[] = [];
    h = await startOn(on, [makeSpec("once", every(3_600_000))], { once: (ctx) => void calls.push(ctx.runId) }, { start: false });
    const { RunSupervisor } = await import("../../src/engine/runs/run-supervisor.js");
    const { EngineEmitter } = await import("../../src/engine/events.js");
    const { silentLogger } = await import("../../src/logger.js");
    const runs = new RunSupervisor({
      store: h.store, clock: h.clock, log: silentLogger, events: new EngineEmitter(),
      handlers: new Map([["once", (ctx) => void calls.push(ctx.runId)]]), wake: () => {}, afterRun: async () => {}, warn: () => {},
    });
    const job = (await h.store.getJob("once"))!;
    const [won] = await h.store.claimSlots([{
      job: "once", specHash: job.specHash, instanceId: "i", source: { kind: "slot", expected: job.nextSlot!, next: job.nextSlot! + 3_600_000 },
      slot: job.nextSlot!, trigger: "schedule", missed: null, overlap: "skip", waitIfBusy: false, now: T0,
    }]);
    const run = (won as Extract<typeof won, { kind: "started" }>).run;
    runs.start(makeSpec("once", every(3_600_000)), run, []); // adopted as a lost claim
    await runs.allDone(); // … and already over
    expect(runs.holds(run.id)).toBe(true);
    runs.start(makeSpec("once", every(3_600_000)), run, []); // then its own answer arrives
    await runs.allDone();
    expect(calls).toEqual([run.id]);
  });

  it("a held run goes waiting → running → finishing → recorded (SlotState)", async () => {
    const { RunSupervisor } = await import("../../src/engine/runs/run-supervisor.js");
    const { EngineEmitter } = await import("../../src/engine/events.js");
    const { silentLogger } = await import("../../src/logger.js");
    const g = gate();
    h = await startOn(on, [makeSpec("held", every(3_600_000))], { held: g.handler }, { start: false });
    const finishing: (string | undefined)[] = [];
    const real = h.store;
    const store = Object.create(real, {
      finishRuns: { value: (results: Parameters<typeof real.finishRuns>[0]) => (finishing.push(runs.stateOf(results[0]!.runId)), real.finishRuns(results)) },
    }) as typeof real;
    const runs = new RunSupervisor({
      store, clock: h.clock, log: silentLogger, events: new EngineEmitter(),
      handlers: new Map([["held", g.handler]]), wake: () => {}, afterRun: async () => {}, warn: () => {},
    });
    const job = (await h.store.getJob("held"))!;
    const startAt = T0 + 1_000; // claimed ahead: it waits for its fire time
    const [won] = await h.store.claimSlots([{
      job: "held", specHash: job.specHash, instanceId: "i", source: { kind: "slot", expected: job.nextSlot!, next: job.nextSlot! + 3_600_000 },
      slot: job.nextSlot!, trigger: "schedule", missed: null, overlap: "skip", waitIfBusy: false, now: startAt,
    }]);
    const run = (won as Extract<typeof won, { kind: "started" }>).run;
    expect(run.startedAt).toBe(startAt);
    expect(runs.stateOf(run.id)).toBeUndefined();
    runs.start(makeSpec("held", every(3_600_000)), run, []);
    expect(runs.stateOf(run.id)).toBe("waiting");
    await h.clock.advance(1_000);
    runs.starts.startDue(h.clock.now());
    await vi.waitFor(() => expect(g.calls).toHaveLength(1));
    expect(runs.stateOf(run.id)).toBe("running");
    g.release();
    await runs.allDone();
    expect(finishing).toEqual(["finishing"]);
    expect(runs.stateOf(run.id)).toBe("recorded");
  });
});
