import { planDue, type DuePlan } from "../schedule/catchup.js";
import type { SlotClaim, TriggerRequest } from "../store/types.js";
import type { LocalJob } from "./job-table.js";

/**
 * The three ways a run is asked for, as store claims: a due slot (compare-and-set on the job's
 * next slot), a manual trigger (on its trigger row) and a queued slot (on the job's queue).
 * Pure: the engine decides when, these decide what.
 */
function base(job: LocalJob, instanceId: string, now: number) {
  return { job: job.name, specHash: job.specHash, instanceId, overlap: job.spec.overlap, missed: null, waitIfBusy: false, now };
}

/** What to do with a job's due slot(s); a paused job just moves past them. */
export function planFor(job: LocalJob, now: number, liveSince: number): DuePlan {
  if (job.paused) return { run: null, missed: null, nextSlot: job.schedule.next(now) };
  return planDue({
    schedule: job.schedule, nextSlot: job.nextSlot!, now, liveSince,
    policy: job.spec.catchup, windowMs: job.spec.catchupWindowMs,
  });
}

/**
 * A due slot. Claimed ahead of its fire time (`early`), the store answers "busy" rather than
 * judge overlap early; catch-up `all` also waits for the job to be idle.
 */
export function slotClaim(job: LocalJob, plan: DuePlan, instanceId: string, startAt: number, early: boolean): SlotClaim {
  return {
    ...base(job, instanceId, startAt),
    source: { kind: "slot", expected: job.nextSlot!, next: plan.nextSlot },
    slot: plan.run?.slot ?? null, trigger: plan.run?.trigger ?? "schedule", missed: plan.missed,
    waitIfBusy: early || (job.spec.catchup === "all" && plan.run?.trigger === "catchup"),
  };
}

export function triggerClaim(job: LocalJob, trigger: TriggerRequest, instanceId: string, now: number): SlotClaim {
  return { ...base(job, instanceId, now), source: { kind: "trigger", triggerId: trigger.id }, slot: trigger.requestedAt, trigger: "manual" };
}

export function queuedClaim(job: LocalJob, slot: number, instanceId: string, now: number): SlotClaim {
  return { ...base(job, instanceId, now), source: { kind: "queued", expected: slot }, slot, trigger: "schedule" };
}
