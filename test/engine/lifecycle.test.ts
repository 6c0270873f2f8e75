import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { EngineEmitter } from "../../src/engine/events.js";
import { IllegalTransitionError, Lifecycle, type EngineState } from "../../src/engine/lifecycle.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/types.js";
import { FakeClock } from "../../src/testing/fake-clock.js";
import { every, startHarness, T0 } from "../helpers/engine-harness.js";
import { makeSpec, tempDir } from "../helpers/spec.js";

const STATES: EngineState[] = ["new", "starting", "running", "draining", "stopped"];
const ALLOWED = new Set(["new>starting", "new>stopped", "starting>running", "starting>stopped", "running>draining", "draining>stopped"]);

/** A lifecycle walked to `state` through allowed transitions. */
function at(state: EngineState): Lifecycle {
  const lifecycle = new Lifecycle(new EngineEmitter());
  const path: Record<EngineState, EngineState[]> = {
    new: [], starting: ["starting"], running: ["starting", "running"], draining: ["starting", "running", "draining"], stopped: ["stopped"],
  };
  for (const step of path[state]) lifecycle.transition(step);
  return lifecycle;
}

describe("engine lifecycle", () => {
  for (const from of STATES) {
    for (const to of STATES) {
      const allowed = ALLOWED.has(`${from}>${to}`);
      it(`${from} → ${to} is ${allowed ? "allowed" : "refused"}`, () => {
        const lifecycle = at(from);
        if (allowed) {
          lifecycle.transition(to);
          expect(lifecycle.state).toBe(to);
        } else {
          let thrown: unknown;
          try {
            lifecycle.transition(to);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(IllegalTransitionError);
          expect((thrown as IllegalTransitionError).code).toBe("ENGINE_ILLEGAL_TRANSITION");
          expect(lifecycle.state).toBe(from);
        }
      });
    }
  }

  it("announces every transition on the engine's events", () => {
    const events = new EngineEmitter();
    const seen: string[] = [];
    events.on("engine:state", ({ from, to }) => seen.push(`${from}>${to}`));
    const lifecycle = new Lifecycle(events);
    lifecycle.transition("starting");
    lifecycle.transition("running");
    expect(() => lifecycle.transition("new")).toThrow(IllegalTransitionError);
    lifecycle.transition("draining");
    lifecycle.transition("stopped");
    expect(seen).toEqual(["new>starting", "starting>running", "running>draining", "draining>stopped"]);
  });

  it("reached() waits for a state, and also ends when the engine skips past it", async () => {
    const lifecycle = new Lifecycle(new EngineEmitter());
    let running = false;
    let stopped = false;
    void lifecycle.reached("running").then(() => (running = true));
    void lifecycle.reached("stopped").then(() => (stopped = true));
    lifecycle.transition("starting");
    await Promise.resolve();
    expect(running).toBe(false);
    lifecycle.transition("stopped"); // a start that failed
    await new Promise((r) => setImmediate(r));
    expect([running, stopped]).toEqual([true, true]);
    await expect(lifecycle.reached("new")).resolves.toBeUndefined();
  });

  it("an engine goes new → starting → running → draining → stopped, and starts only once", async () => {
    const h = await startHarness([makeSpec("a", every(60_000))], {}, { start: false });
    const seen: EngineState[] = [];
    h.engine.events.on("engine:state", ({ to }) => seen.push(to));
    expect(h.engine.state).toBe("new");
    await h.engine.start();
    expect(h.engine.state).toBe("running");
    await expect(h.engine.start()).rejects.toBeInstanceOf(IllegalTransitionError);
    await h.close();
    expect(seen).toEqual(["starting", "running", "draining", "stopped"]);
    expect(h.engine.state).toBe("stopped");
  });

  it("a stop asked for while starting waits for the start, then drains", async () => {
    const h = await startHarness([makeSpec("a", every(60_000))], {}, { start: false });
    const starting = h.engine.start();
    expect(h.engine.state).toBe("starting");
    const stopping = h.engine.stop(0);
    await starting;
    await h.clock.advance(0);
    await stopping;
    expect(h.engine.state).toBe("stopped");
    const [instance] = await h.store.listInstances();
    expect(instance!.stoppedAt).not.toBeNull();
    await h.store.close();
  });

  it("a start that fails goes starting → stopped, and a stop then has nothing left to do", async () => {
    const store = SqliteStore.open(join(tempDir(), "jobclock.db"));
    const refusing = Object.create(store, { registerInstance: { value: async () => { throw new Error("store refused"); } } }) as Store;
    const engine = new Engine({ store: refusing, clock: new FakeClock(T0), instanceId: "test-instance" });
    const seen: EngineState[] = [];
    engine.events.on("engine:state", ({ to }) => seen.push(to));
    await expect(engine.start()).rejects.toThrow("store refused");
    expect(seen).toEqual(["starting", "stopped"]);
    await engine.stop();
    expect(seen).toEqual(["starting", "stopped"]);
    await store.close();
  });

  it("an engine stopped before it started is stopped for good", async () => {
    const h = await startHarness([makeSpec("a", every(60_000))], {}, { start: false });
    await h.engine.stop();
    expect(h.engine.state).toBe("stopped");
    const [instance] = await h.store.listInstances();
    expect(instance!.stoppedAt).not.toBeNull(); // registered by the apply: must not look alive
    await expect(h.engine.start()).rejects.toThrow(/starts once/);
    await h.store.close();
  });
});
