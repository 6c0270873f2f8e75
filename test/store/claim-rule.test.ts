import { describe, expect, it } from "vitest";
import { judgeClaim, type ClaimedJob } from "../../src/store/claim/claim-rule.js";
import type { SlotClaim } from "../../src/store/types.js";

const job: ClaimedJob = { nextSlot: 1_000, specHash: "h1", retired: false, paused: false, queuedSlot: null, queuedTrigger: null };
const claim: SlotClaim = {
  job: "j", specHash: "h1", instanceId: "i1", source: { kind: "slot", expected: 1_000, next: 2_000 }, slot: 1_000,
  trigger: "schedule", missed: null, overlap: "skip", waitIfBusy: false, now: 1_000,
};
const go = (step: string, extra: object = {}) => ({ kind: "go", step, trigger: "schedule", replacing: [], blockedBy: null, reason: null, ...extra });

/** The claim rule, case by case: every store asks it, so every store decides alike. */
describe("judgeClaim", () => {
  const cases: [string, Partial<SlotClaim>, Partial<ClaimedJob> | null, number[], object][] = [
    ["an idle job's slot starts", {}, {}, [], go("start")],
    ["no such job: lost", {}, null, [], { kind: "lost" }],
    ["another claim moved the slot on: lost", {}, { nextSlot: 2_000 }, [], { kind: "lost" }],
    ["a claim made with an old definition: lost", { specHash: "old" }, {}, [], { kind: "lost" }],
    ["a retired job: lost", {}, { retired: true }, [], { kind: "lost" }],
    ["a paused job's slot is not run", {}, { paused: true }, [], { kind: "lost" }],
    ["a paused job is moved past its slot", { slot: null }, { paused: true }, [], go("advance")],
    ["catch-up `all` waits while a run goes, owning nothing", { waitIfBusy: true }, {}, [7], { kind: "busy" }],
    ["skip: recorded skipped, naming the run", {}, {}, [7, 9], go("skip", { blockedBy: 7, reason: "run #7 was still running (overlap: skip)" })],
    ["allow: starts beside it", { overlap: "allow" }, {}, [7], go("start")],
    ["replace: starts, cancelling the running ones", { overlap: "replace" }, {}, [7, 9], go("start", { replacing: [7, 9] })],
    ["queue: takes the free queued place", { overlap: "queue" }, {}, [7], go("queue")],
    ["queue, place taken: skipped", { overlap: "queue" }, { queuedSlot: 500 }, [7], go("skip", { blockedBy: 7, reason: "a run is already queued behind run #7" })],
    ["a trigger: decided here, its row claimed by the store", { source: { kind: "trigger", triggerId: 3 }, trigger: "manual" }, { nextSlot: 5_000 }, [], go("start", { trigger: "manual" })],
    ["the queued slot starts, with the trigger it was queued with", { source: { kind: "queued", expected: 500 } }, { queuedSlot: 500, queuedTrigger: "manual" }, [], go("start", { trigger: "manual" })],
    ["the queued slot was taken by another instance: lost", { source: { kind: "queued", expected: 500 } }, { queuedSlot: null }, [], { kind: "lost" }],
    ["the queued slot meets a run again: queued again (its place is its own)", { source: { kind: "queued", expected: 500 }, overlap: "queue" }, { queuedSlot: 500 }, [7], go("queue")],
  ];
  for (const [name, c, j, running, expected] of cases) {
    it(name, () => {
      expect(judgeClaim({ ...claim, ...c }, j === null ? null : { ...job, ...j }, running)).toEqual(expected);
    });
  }
});
