import { describe, expect, it } from "vitest";
import { JobTable } from "../../src/engine/table/job-table.js";
import { specJson } from "../../src/job-spec.js";
import type { JobRecord } from "../../src/store/types.js";
import { every, T0 } from "../helpers/engine-harness.js";
import { makeSpec } from "../helpers/spec.js";

function record(name: string, nextSlot: number): JobRecord {
  const spec = makeSpec(name, every(3_600_000));
  return {
    name, spec, specHash: specJson(spec).hash, anchor: T0, nextSlot, paused: false, retiredAt: null, queuedSlot: null,
    lastRunId: null, lastStartedAt: null, lastFinishedAt: null, lastStatus: null, runningCount: 0, resumedAt: null,
    createdAt: T0, updatedAt: T0, rev: 1,
  };
}

describe("JobTable", () => {
  it("comes due claimAheadMs before the fire time", () => {
    const table = new JobTable(100);
    table.upsert(record("h", T0 + 3_600_000));
    expect(table.popDue(T0 + 3_599_899)).toEqual([]);
    expect(table.popDue(T0 + 3_599_900).map((j) => j.name)).toEqual(["h"]);
  });

  it("a recheck (store retry) never brings a claim earlier than the job's own claim time", () => {
    const table = new JobTable(100);
    const job = table.upsert(record("h", T0 + 3_600_000));
    table.recheckAt(job, T0 + 1_000); // e.g. "look again in a second" after a failed store call
    expect(table.popDue(T0 + 1_000)).toEqual([]); // not an early claim an hour ahead
    expect(table.nextFireAt()).toBe(T0 + 3_599_900);
    table.recheckAt(job, T0 + 3_600_500); // later than the claim time: kept as asked
    expect(table.popDue(T0 + 3_600_499)).toEqual([]);
    expect(table.popDue(T0 + 3_600_500).map((j) => j.name)).toEqual(["h"]);
  });
});
