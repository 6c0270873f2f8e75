import { Engine, type EngineOptions } from "../../src/engine/engine.js";
import type { JobSpec } from "../../src/job-spec.js";
import type { JobContext, JobHandler } from "../../src/run/types.js";
import type { RunRecord, Store } from "../../src/store/types.js";
import type { EngineEmitter, EngineEvents } from "../../src/engine/events.js";
import { InFlight, SettlingClock, onSqlite, type EngineStoreKind } from "./engine-stores.js";

export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

/** `{ schedule: every N ms }`, to spread into makeSpec overrides. */
export const every = (ms: number) => ({ schedule: { kind: "every" as const, everyMs: ms } });

export interface Harness {
  /** A fake clock that, between timers, waits for the store calls in flight. */
  clock: SettlingClock;
  /** The engine's store (calls counted for the clock; wrap it to fake a store's trouble). */
  store: Store;
  engine: Engine;
  /** Which store this harness runs on. */
  kind: EngineStoreKind["name"];
  /** Another connection to the same database, as the CLI or another instance opens (closed with the harness). */
  openOther(): Promise<Store>;
  /**
   * Another instance on the same database and clock, with the harness's engine options, started
   * (and stopped with the harness if still running).
   */
  startInstance(instanceId: string, handlers: Record<string, JobHandler>): Promise<Engine>;
  /** Rows in a table of the store, read behind its back. */
  count(table: "triggers" | "control_events"): Promise<number>;
  runs(job?: string): Promise<RunRecord[]>;
  close(): Promise<void>;
}

export type HarnessOptions = Partial<EngineOptions> & {
  /** The store to run on (default SQLite). */
  on?: EngineStoreKind;
  start?: boolean;
  wrapStore?: (store: Store) => Store;
};

/** An engine on a fake clock and a real, empty store. Jobs are applied at the clock's time. */
export async function startHarness(
  specs: JobSpec[],
  handlers: Record<string, JobHandler> = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  const inFlight = new InFlight();
  const clock = new SettlingClock(T0, inFlight);
  const { on = onSqlite, start, wrapStore, ...engineOptions } = options;
  const db = await on.open();
  const store = inFlight.track(db.store);
  const others: Store[] = [];
  const instances: Engine[] = [];
  const engineOn = (on: Store, instanceId: string, jobHandlers: Record<string, JobHandler>) => new Engine({
    store: on, clock, handlers: new Map(Object.entries(jobHandlers)), instanceId, heartbeatMs: 5_000, abandonAfterMs: 30_000, ...engineOptions,
  });
  const openOther = async () => {
    const other = inFlight.track(await db.openOther()); // counted too: the clock waits for its calls
    others.push(other);
    return other;
  };
  const engine = engineOn(wrapStore?.(store) ?? store, "test-instance", handlers);
  await engine.apply(specs);
  if (start !== false) await engine.start();
  return {
    clock, store, engine, kind: on.name,
    openOther,
    async startInstance(instanceId, jobHandlers) {
      const instance = engineOn(await openOther(), instanceId, jobHandlers);
      instances.push(instance);
      await instance.start();
      return instance;
    },
    count: (table) => db.count(table),
    runs: async (job) => (await store.listRuns({ job, limit: 1_000 })).reverse(),
    async close() {
      // stop(0) still sleeps 0 ms on the fake clock before cancelling: move time so it can.
      const stopping = Promise.all([engine, ...instances].map((e) => e.stop(0)));
      await clock.advance(0);
      await stopping;
      for (const other of others) await other.close();
      await db.close();
    },
  };
}

/**
 * The next `event` the engine emits that `matches`, waited for in real time: for what another
 * process does to the store, which reaches the engine by the store's push, not by the clock.
 */
export function nextEvent<K extends keyof EngineEvents>(
  events: EngineEmitter, event: K, matches: (...args: EngineEvents[K]) => boolean = () => true, ms = 5_000,
): Promise<EngineEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (events.off(event, listener), reject(new Error(`timed out waiting for ${event}`))), ms);
    const listener = (...args: EngineEvents[K]) => {
      if (!matches(...args)) return;
      clearTimeout(timer);
      events.off(event, listener);
      resolve(args);
    };
    events.on(event, listener);
  });
}

/** A handler that waits until released, for runs that must stay "running" while time moves. */
export function gate(): { handler: JobHandler; release(): void; calls: JobContext[] } {
  const calls: JobContext[] = [];
  let releaseAll: () => void = () => {};
  let released = new Promise<void>((r) => (releaseAll = r));
  return {
    calls,
    handler: async (ctx) => {
      calls.push(ctx);
      await Promise.race([released, new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)))]);
    },
    release() {
      releaseAll();
      released = new Promise<void>((r) => (releaseAll = r));
    },
  };
}

/** Polls in real time (for child processes and threads), failing with `what` after `ms`. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** startHarness on the given store (for suites that run on each store). */
export function startOn(on: EngineStoreKind, specs: JobSpec[], handlers: Record<string, JobHandler> = {}, options: Omit<HarnessOptions, "on"> = {}): Promise<Harness> {
  return startHarness(specs, handlers, { ...options, on });
}
