import { describe, expect, it } from "vitest";
import { LostClaims } from "../../src/engine/claim/lost-claims.js";
import { silentLogger } from "../../src/logger.js";
import type { RunRecord, Store } from "../../src/store/types.js";

const T0 = Date.UTC(2026, 0, 1);

function run(id: number, job = `job-${id}`): RunRecord {
  return {
    id, job, slot: T0, trigger: "schedule", instanceId: "me", attempt: 1, status: "running", startedAt: T0, finishedAt: null,
    heartbeatAt: T0, exitCode: null, signal: null, error: null, missedCount: null, missedUntil: null, blockedBy: null, createdAt: T0,
  };
}

/** A store that says which runs are `running` under an instance; `failNext` makes the next read fail. */
function storeWith(runs: RunRecord[]) {
  const queries: unknown[] = [];
  let failNext = false;
  const store = {
    listRuns: async (q: unknown) => {
      queries.push(q);
      if (failNext) {
        failNext = false;
        throw new Error("connection refused");
      }
      return runs;
    },
  } as unknown as Store;
  return { store, queries, failOnce: () => void (failNext = true) };
}

function capture() {
  const warnings: string[] = [];
  return { warnings, log: { ...silentLogger, warn: (_o: object | string, msg?: string) => void warnings.push(msg ?? "") } };
}

describe("LostClaims: a claim whose answer never came", () => {
  it("costs nothing while every claim was answered: the store is not read", async () => {
    const s = storeWith([run(1)]);
    const lost = new LostClaims(s.store, "me", silentLogger);
    const adopted: number[] = [];
    await lost.recover(() => false, (r) => (adopted.push(r.id), true));
    expect(s.queries).toEqual([]);
    expect(adopted).toEqual([]);
  });

  it("after a claim failed, finds this instance's running runs it does not hold and adopts them, once", async () => {
    const s = storeWith([run(1), run(2), run(3)]);
    const { log, warnings } = capture();
    const lost = new LostClaims(s.store, "me", log);
    lost.doubt();
    const adopted: number[] = [];
    await lost.recover((id) => id === 2, (r) => (adopted.push(r.id), true)); // #2 is running here already
    expect(s.queries).toEqual([{ status: "running", instanceId: "me", limit: 1_000 }]);
    expect(adopted).toEqual([1, 3]);
    expect(warnings).toEqual([
      "started a run whose claim's answer was lost with the connection", "started a run whose claim's answer was lost with the connection",
    ]);
    await lost.recover(() => false, (r) => (adopted.push(r.id), true)); // the doubt is cleared: no second look
    expect(s.queries).toHaveLength(1);
    expect(adopted).toEqual([1, 3]);
  });

  it("a run the engine will not take (its job retired, the engine stopping) is left to be abandoned, and not logged as started", async () => {
    const s = storeWith([run(1)]);
    const { log, warnings } = capture();
    const lost = new LostClaims(s.store, "me", log);
    lost.doubt();
    await lost.recover(() => false, () => false);
    expect(warnings).toEqual([]);
  });

  it("if the store cannot be read either, the doubt stays and the next answer looks again", async () => {
    const s = storeWith([run(7)]);
    const lost = new LostClaims(s.store, "me", silentLogger);
    lost.doubt();
    s.failOnce();
    const adopted: number[] = [];
    await expect(lost.recover(() => false, (r) => (adopted.push(r.id), true))).rejects.toThrow(/connection refused/);
    expect(adopted).toEqual([]);
    await lost.recover(() => false, (r) => (adopted.push(r.id), true));
    expect(adopted).toEqual([7]);
    expect(s.queries).toHaveLength(2);
  });

  it("a claim failing while a look is under way raises the doubt again for the next one", async () => {
    let release: (runs: RunRecord[]) => void = () => {};
    const store = { listRuns: () => new Promise<RunRecord[]>((r) => (release = r)) } as unknown as Store;
    const lost = new LostClaims(store, "me", silentLogger);
    lost.doubt();
    const adopted: number[] = [];
    const first = lost.recover(() => false, (r) => (adopted.push(r.id), true));
    lost.doubt(); // another claim lost its answer after the read was sent
    release([run(1)]);
    await first;
    const second = lost.recover(() => false, (r) => (adopted.push(r.id), true));
    release([run(1), run(2)]);
    await second;
    expect(adopted).toEqual([1, 1, 2]); // the engine's `holds` is what keeps #1 from starting twice
  });
});
