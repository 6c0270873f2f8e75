import { join } from "node:path";
import { Engine, type EngineOptions } from "../../src/engine/engine.js";
import type { JobSpec } from "../../src/job-spec.js";
import type { JobContext, JobHandler } from "../../src/run/types.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { RunRecord, Store } from "../../src/store/types.js";
import { FakeClock } from "../../src/testing/fake-clock.js";
import { tempDir } from "./spec.js";

export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

/** `{ schedule: every N ms }`, to spread into makeSpec overrides. */
export const every = (ms: number) => ({ schedule: { kind: "every" as const, everyMs: ms } });

export interface Harness {
  clock: FakeClock;
  store: SqliteStore;
  engine: Engine;
  dbPath: string;
  runs(job?: string): Promise<RunRecord[]>;
  close(): Promise<void>;
}

/** An engine on a fake clock and a real SQLite file. Jobs are applied at the clock's time. */
export async function startHarness(
  specs: JobSpec[],
  handlers: Record<string, JobHandler> = {},
  options: Partial<EngineOptions> & { clock?: FakeClock; dbPath?: string; start?: boolean; wrapStore?: (store: Store) => Store } = {},
): Promise<Harness> {
  const clock = options.clock ?? new FakeClock(T0);
  const dbPath = options.dbPath ?? join(tempDir(), "jobclock.db");
  const store = SqliteStore.open(dbPath);
  const engine = new Engine({
    store: options.wrapStore?.(store) ?? store, clock, handlers: new Map(Object.entries(handlers)), instanceId: "test-instance",
    heartbeatMs: 5_000, abandonAfterMs: 30_000, ...options,
  });
  await engine.apply(specs);
  if (options.start !== false) await engine.start();
  return {
    clock, store, engine, dbPath,
    runs: async (job) => (await store.listRuns({ job, limit: 1_000 })).reverse(),
    async close() {
      // stop(0) still sleeps 0 ms on the fake clock before cancelling: move time so it can.
      const stopping = engine.stop(0);
      await clock.advance(0);
      await stopping;
      await store.close();
    },
  };
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
