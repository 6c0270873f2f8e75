import { beforeEach, describe, expect, it } from "vitest";
import type { OverlapPolicy } from "../../src/job-spec.js";
import type { ClaimOutcome, SlotClaim, Store } from "../../src/store/types.js";
import { makeSpec } from "../helpers/spec.js";

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

/**
 * The claim rule's cases through each store's own reading and writing of it: the same outcome,
 * reason text, blocking run and stored state on SQLite and PostgreSQL.
 */
export function describeClaimContract(name: string, open: () => Promise<Store>): void {
  describe(`${name}: the claim rule, through the store`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      return () => store.close();
    });

    async function setup(overlap: OverlapPolicy, job = "j"): Promise<string> {
      await store.applyJobs([makeSpec(job, { overlap })], T0);
      return (await store.getJob(job))!.specHash;
    }
    const slotClaim = async (job: string, over: Partial<SlotClaim> = {}): Promise<SlotClaim> => {
      const j = (await store.getJob(job))!;
      return {
        job, specHash: j.specHash, instanceId: "i1", source: { kind: "slot", expected: j.nextSlot!, next: j.nextSlot! + MIN },
        slot: j.nextSlot!, trigger: "schedule", missed: null, overlap: j.spec.overlap, waitIfBusy: false, now: j.nextSlot!, ...over,
      };
    };
    const one = async (c: SlotClaim): Promise<ClaimOutcome> => (await store.claimSlots([c]))[0]!;
    const started = async (job: string): Promise<number> => {
      const o = await one(await slotClaim(job));
      expect(o.kind).toBe("started");
      return (o as Extract<ClaimOutcome, { kind: "started" }>).run.id;
    };

    it("skip: the next slot is recorded skipped, naming the blocking run in a column and in words", async () => {
      await setup("skip");
      const first = await started("j");
      const o = await one(await slotClaim("j"));
      expect(o).toMatchObject({ kind: "skipped", run: { status: "skipped", blockedBy: first, error: `run #${first} was still running (overlap: skip)` } });
      const stored = await store.getRun((o as Extract<ClaimOutcome, { kind: "skipped" }>).run.id);
      expect(stored).toMatchObject({ status: "skipped", blockedBy: first, error: `run #${first} was still running (overlap: skip)` });
      expect((await store.getJob("j"))!.nextSlot).toBe(T0 + 3 * MIN); // moved past the skipped slot
    });

    it("queue: one slot waits in the job's queued place; the next is skipped naming the run", async () => {
      await setup("queue");
      const first = await started("j");
      expect(await one(await slotClaim("j"))).toMatchObject({ kind: "queued" });
      expect((await store.getJob("j"))!.queuedSlot).toBe(T0 + 2 * MIN);
      expect(await one(await slotClaim("j"))).toMatchObject({ kind: "skipped", run: { blockedBy: first, error: `a run is already queued behind run #${first}` } });
    });

    it("replace and allow start beside the running run; replace names what to cancel", async () => {
      await store.applyJobs([makeSpec("r", { overlap: "replace" }), makeSpec("a", { overlap: "allow" })], T0);
      const r1 = await started("r");
      await started("a");
      expect(await one(await slotClaim("r"))).toMatchObject({ kind: "started", replacing: [r1] });
      expect(await one(await slotClaim("a"))).toMatchObject({ kind: "started", replacing: [] });
    });

    it("a stale expected slot, an old definition, or a paused job: lost, and nothing is written", async () => {
      await setup("skip");
      const c = await slotClaim("j");
      expect(await one({ ...c, source: { kind: "slot", expected: c.slot! - MIN, next: c.slot! } })).toEqual({ kind: "lost" });
      expect(await one({ ...c, specHash: "not-this-one" })).toEqual({ kind: "lost" });
      await store.setPaused("j", true, T0);
      expect(await one(c)).toEqual({ kind: "lost" });
      expect(await one({ ...c, slot: null })).toMatchObject({ kind: "advanced" }); // a paused job moves on
      expect(await store.listRuns({ job: "j" })).toEqual([]);
    });

    it("several triggers of one job in one batch: the first starts, the others are skipped naming it", async () => {
      await setup("skip");
      const j = (await store.getJob("j"))!;
      const reqs = [await store.requestTrigger("j", T0), await store.requestTrigger("j", T0), await store.requestTrigger("j", T0)];
      const outcomes = await store.claimSlots(reqs.map((r, k) => ({
        job: "j", specHash: j.specHash, instanceId: "i1", source: { kind: "trigger", triggerId: r!.id }, slot: T0 + k,
        trigger: "manual", missed: null, overlap: "skip", waitIfBusy: false, now: T0 + k,
      }) as SlotClaim));
      expect(outcomes.map((o) => o.kind)).toEqual(["started", "skipped", "skipped"]);
      const first = (outcomes[0] as Extract<ClaimOutcome, { kind: "started" }>).run.id;
      for (const o of outcomes.slice(1)) expect(o).toMatchObject({ run: { blockedBy: first, trigger: "manual", error: `run #${first} was still running (overlap: skip)` } });
      expect((await store.changesSince(0)).triggers).toEqual([]); // every trigger claimed
    });

    it("a trigger another instance claimed first is lost, and writes nothing", async () => {
      await setup("allow");
      const j = (await store.getJob("j"))!;
      const req = (await store.requestTrigger("j", T0))!;
      const c = { job: "j", specHash: j.specHash, instanceId: "i1", source: { kind: "trigger", triggerId: req.id }, slot: T0, trigger: "manual", missed: null, overlap: "allow", waitIfBusy: false, now: T0 } as SlotClaim;
      expect((await one(c)).kind).toBe("started");
      expect(await one({ ...c, instanceId: "i2" })).toEqual({ kind: "lost" });
      expect(await store.listRuns({ job: "j" })).toHaveLength(1);
    });

    it("a slot whose record exists already is lost, and the job still moves past it", async () => {
      await setup("allow");
      const c = await slotClaim("j");
      expect((await one(c)).kind).toBe("started");
      // Another claim for the same slot with the job's row rewound (as after a lost answer): the index refuses it.
      const again = { ...c, source: { kind: "slot" as const, expected: T0 + 2 * MIN, next: T0 + 3 * MIN } };
      await one(await slotClaim("j")); // moves the job to T0 + 3 min, starting the T0 + 2 min slot
      expect(await one({ ...again, source: { kind: "slot", expected: T0 + 3 * MIN, next: T0 + 4 * MIN } })).toEqual({ kind: "lost" });
      expect((await store.getJob("j"))!.nextSlot).toBe(T0 + 4 * MIN);
    });
  });
}
