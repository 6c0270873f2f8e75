import { describe, expect, it } from "vitest";
import { ClaimSharing } from "../../src/engine/claim/claim-sharing.js";
import { JobTable, type LocalJob } from "../../src/engine/table/job-table.js";
import type { InstanceRecord, JobRecord, Store } from "../../src/store/types.js";
import { makeSpec } from "../helpers/spec.js";

const NOW = Date.UTC(2026, 0, 1, 0, 1);
const SLOT = NOW; // every job's slot is due now
const STEAL_AFTER_MS = 300;

function record(name: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    name, spec: makeSpec(name), specHash: `hash-${name}`, anchor: NOW - 60_000, nextSlot: SLOT, paused: false, retiredAt: null,
    queuedSlot: null, lastRunId: null, lastStartedAt: null, lastFinishedAt: null, lastStatus: null, runningCount: 0,
    resumedAt: null, createdAt: NOW - 60_000, updatedAt: NOW - 60_000, rev: 1, ...over,
  };
}

const live = (id: string): InstanceRecord => ({ id, host: "h", pid: 1, version: "t", startedAt: NOW, lastSeen: NOW, stoppedAt: null });

/**
 * "me" shares the claiming with "other"; `inStore` is what the store says each job's next slot
 * is (what nextSlots answers). Returns the jobs, split by which instance owns them.
 */
function setup(inStore: (name: string) => { nextSlot: number | null; specHash: string } | undefined) {
  const reads: string[][] = [];
  const store = {
    nextSlots: async (names: string[]) => {
      reads.push(names);
      return names.flatMap((name) => {
        const row = inStore(name);
        return row ? [{ name, ...row }] : [];
      });
    },
  } as unknown as Store;
  const table = new JobTable(0);
  const sharing = new ClaimSharing(store, "me", table, STEAL_AFTER_MS);
  sharing.ownership.update([live("me"), live("other")], NOW, 11_000);
  for (let i = 0; i < 40; i++) table.upsert(record(`job-${i}`));
  const jobs = table.popDue(NOW); // as the engine hands them over: due, out of the heap
  const mine = jobs.filter((j) => sharing.ownership.owns(j.name));
  const theirs = jobs.filter((j) => !sharing.ownership.owns(j.name));
  const reloaded: string[] = [];
  const reload = async (name: string) => void reloaded.push(name);
  return { sharing, table, jobs, mine, theirs, reads, reloaded, reload };
}

const names = (jobs: LocalJob[]) => jobs.map((j) => j.name).sort();

describe("ClaimSharing: claiming shared between instances without a leader", () => {
  it("claims the jobs it owns at once, without a store read, and puts the others back until their steal time", async () => {
    const s = setup((name) => ({ nextSlot: SLOT, specHash: `hash-${name}` }));
    expect(s.mine.length).toBeGreaterThan(0);
    expect(s.theirs.length).toBeGreaterThan(0);
    const claimNow = await s.sharing.toClaim(s.jobs, NOW, s.reload);
    expect(names(claimNow)).toEqual(names(s.mine));
    expect(s.reads).toEqual([]); // covering for others costs nothing while they are on time
    // The others come due again exactly at their steal time, not before.
    expect(names(s.table.popDue(NOW + STEAL_AFTER_MS - 1))).toEqual([]);
    expect(names(s.table.popDue(NOW + STEAL_AFTER_MS))).toEqual(names(s.theirs));
  });

  it("past the steal time, one read for all of them: slots still unclaimed are claimed here (their owner died)", async () => {
    const s = setup((name) => ({ nextSlot: SLOT, specHash: `hash-${name}` }));
    const claimNow = await s.sharing.toClaim(s.theirs, NOW + STEAL_AFTER_MS, s.reload);
    expect(s.reads).toEqual([s.theirs.map((j) => j.name)]);
    expect(names(claimNow)).toEqual(names(s.theirs));
  });

  it("slots the owner claimed meanwhile are not claimed here: the job just moves to the store's next slot", async () => {
    const s = setup((name) => ({ nextSlot: SLOT + 60_000, specHash: `hash-${name}` }));
    const claimNow = await s.sharing.toClaim(s.theirs, NOW + STEAL_AFTER_MS, s.reload);
    expect(claimNow).toEqual([]);
    expect(s.theirs.every((j) => j.nextSlot === SLOT + 60_000)).toBe(true);
    expect(s.reloaded).toEqual([]);
    expect(names(s.table.popDue(SLOT + 60_000))).toEqual(names(s.theirs));
  });

  it("a job whose definition changed (or that is gone) is read again instead of claimed", async () => {
    const s = setup((name) => (name === "job-0" || name === "job-1" ? undefined : { nextSlot: SLOT, specHash: `changed-${name}` }));
    const claimNow = await s.sharing.toClaim(s.theirs, NOW + STEAL_AFTER_MS, s.reload);
    expect(claimNow).toEqual([]);
    expect(s.reloaded.sort()).toEqual(names(s.theirs));
  });

  it("a failed read is the caller's to retry: nothing is claimed for others", async () => {
    const s = setup(() => {
      throw new Error("connection refused");
    });
    await expect(s.sharing.toClaim(s.jobs, NOW + STEAL_AFTER_MS, s.reload)).rejects.toThrow(/connection refused/);
  });
});
