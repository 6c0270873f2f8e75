import { describe, expect, it } from "vitest";
import { EngineEmitter } from "../../src/engine/events.js";
import { RunSupervisor } from "../../src/engine/runs/run-supervisor.js";
import { StoreError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import type { RunRecord, RunResult, Store } from "../../src/store/types.js";
import { FakeClock } from "../../src/testing/fake-clock.js";
import { makeSpec } from "../helpers/spec.js";

const T0 = Date.UTC(2026, 0, 1);

function run(id: number, job: string): RunRecord {
  return {
    id, job, slot: T0, trigger: "schedule", instanceId: "me", attempt: 1, status: "running", startedAt: T0, finishedAt: null,
    heartbeatAt: T0, exitCode: null, signal: null, error: null, missedCount: null, missedUntil: null, blockedBy: null, createdAt: T0,
  };
}

/**
 * A supervisor over a store whose finishRuns is `up`, `away` (unreachable: a transient error)
 * or `refusing` (a full disk: not transient). Every call and every result written is kept.
 */
function setup() {
  const clock = new FakeClock(T0);
  const state = { mode: "up" as "up" | "away" | "refusing" };
  const calls: { at: number; runIds: number[] }[] = [];
  const written: RunResult[] = [];
  const store = {
    finishRuns: async (results: RunResult[]) => {
      calls.push({ at: clock.now(), runIds: results.map((r) => r.runId) });
      if (state.mode === "away") throw new StoreError("STORE_UNREACHABLE", "store: connection refused", { transient: true });
      if (state.mode === "refusing") throw new StoreError("STORE_FAILED", "store: database or disk is full");
      written.push(...results);
      return results.map((r) => ({ runId: r.runId, job: `job-${r.runId}`, queuedSlot: null }));
    },
  } as unknown as Store;
  const warnings: string[] = [];
  const afterRuns: string[] = [];
  const finished: number[] = [];
  const events = new EngineEmitter();
  events.on("run:finished", (r) => void finished.push(r.id));
  const handlers = new Map([["a", () => {}], ["b", () => {}]]);
  const supervisor = new RunSupervisor({
    store, clock, log: silentLogger, events, handlers, wake: () => {},
    afterRun: async (job) => void afterRuns.push(job), warn: (message) => void warnings.push(message),
  });
  const start = (id: number, job: string) => supervisor.start(makeSpec(job), run(id, job), []);
  return { clock, state, calls, written, warnings, afterRuns, finished, supervisor, start };
}

describe("RunSupervisor: a run's result is written once, whenever the store takes it", () => {
  it("keeps the result while the store is away, with the job counted busy, and writes it once when the store answers", async () => {
    const s = setup();
    s.state.mode = "away";
    s.start(1, "a");
    await s.clock.advance(0); // the run ends at once; its result cannot be written
    expect(s.supervisor.awaitsRecord("a")).toBe(true);
    expect(s.supervisor.hasRunOf("a")).toBe(true);
    await s.clock.advance(10_000);
    // Tried at 0, then 250 ms, 500 ms, 1 s and 2 s apart: never dropped, never more often.
    expect(s.calls.map((c) => c.at - T0)).toEqual([0, 250, 750, 1_750, 3_750, 5_750, 7_750, 9_750]);
    expect(s.written).toEqual([]);
    expect(s.finished).toEqual([]); // not told "finished" before the store has it
    expect(s.warnings).toEqual([expect.stringMatching(/^could not record the end of run #1; retrying in 250ms/)]); // warned once
    s.state.mode = "up";
    await s.clock.advance(2_000);
    expect(s.written.map((r) => [r.runId, r.status])).toEqual([[1, "succeeded"]]);
    expect(s.supervisor.awaitsRecord("a")).toBe(false);
    expect(s.supervisor.hasRunOf("a")).toBe(false);
    await s.clock.advance(60_000);
    expect(s.written).toHaveLength(1); // no duplicate
    expect(s.finished).toEqual([1]);
    expect(s.afterRuns).toEqual(["a"]);
  });

  it("a store that was away is tried again the moment it answers anything (retryNow), not at the next backoff", async () => {
    const s = setup();
    s.state.mode = "away";
    s.start(1, "a");
    await s.clock.advance(4_000); // now 2 s between tries
    const tries = s.calls.length;
    s.state.mode = "up";
    s.supervisor.retryNow(); // what a read answering does
    await s.clock.advance(0);
    expect(s.calls.length).toBe(tries + 1);
    expect(s.written.map((r) => r.runId)).toEqual([1]);
  });

  it("a store that refuses the write (a full disk) keeps its backoff: answers elsewhere do not make it try again", async () => {
    const s = setup();
    s.state.mode = "refusing";
    s.start(1, "a");
    await s.clock.advance(4_000);
    const tries = s.calls.length;
    for (let i = 0; i < 20; i++) {
      s.supervisor.retryNow();
      await s.clock.advance(50);
    }
    expect(s.calls.length).toBe(tries); // one second of answers, no extra try
  });

  it("results ending together go in one write; each is retried and written once", async () => {
    const s = setup();
    s.state.mode = "away";
    s.start(1, "a");
    s.start(2, "b");
    await s.clock.advance(0);
    expect(s.calls).toEqual([{ at: T0, runIds: [1, 2] }]);
    s.state.mode = "up";
    await s.clock.advance(250);
    // Each retry has its own timer: the fake clock fires them one by one (Node would in one batch).
    expect(s.calls.filter((c) => c.at === T0 + 250).flatMap((c) => c.runIds).sort()).toEqual([1, 2]);
    expect(s.written.map((r) => r.runId)).toEqual([1, 2]);
    await s.clock.advance(10_000);
    expect(s.written.map((r) => r.runId)).toEqual([1, 2]);
  });

  it("once closed (the engine stops), a result still unwritten is given up after one last try, and said so", async () => {
    const s = setup();
    s.state.mode = "refusing";
    s.start(1, "a");
    await s.clock.advance(1_000);
    const tries = s.calls.length;
    s.supervisor.close();
    await s.clock.advance(0);
    await s.supervisor.allDone();
    expect(s.calls.length).toBe(tries + 1);
    expect(s.written).toEqual([]);
    expect(s.warnings.at(-1)).toMatch(/could not record the end of run #1 \(succeeded\) and the engine is stopping: given up/);
    expect(s.supervisor.awaitsRecord("a")).toBe(false);
  });
});
