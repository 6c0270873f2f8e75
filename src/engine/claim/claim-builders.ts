import { planDue, type DuePlan, type MissedRange } from "../../schedule/catchup.js";
import type { ClaimSource, RunTrigger, SlotClaim, TriggerRequest } from "../../store/types.js";
import type { LocalJob } from "../table/job-table.js";

/**
 * The three ways a run is asked for, as store claims: a due slot (compare-and-set on the job's
 * next slot), a manual trigger (on its trigger row) and a queued slot (on the job's queue).
 * Pure: the engine decides when, these decide what.
 */
/** Every claim has one shape, built in one literal (spreads here were kilobytes of garbage per run). */
function claimOf(job: LocalJob, instanceId: string, now: number, source: ClaimSource, slot: number | null, trigger: RunTrigger, missed: MissedRange | null, waitIfBusy: boolean): SlotClaim {
  return { job: job.name, specHash: job.specHash, instanceId, source, slot, trigger, missed, overlap: job.spec.overlap, waitIfBusy, now };
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
  const source: ClaimSource = { kind: "slot", expected: job.nextSlot!, next: plan.nextSlot };
  const waitIfBusy = early || (job.spec.catchup === "all" && plan.run?.trigger === "catchup");
  return claimOf(job, instanceId, startAt, source, plan.run?.slot ?? null, plan.run?.trigger ?? "schedule", plan.missed, waitIfBusy);
}

export function triggerClaim(job: LocalJob, trigger: TriggerRequest, instanceId: string, now: number): SlotClaim {
  return claimOf(job, instanceId, now, { kind: "trigger", triggerId: trigger.id }, trigger.requestedAt, "manual", null, false);
}

export function queuedClaim(job: LocalJob, slot: number, instanceId: string, now: number): SlotClaim {
  return claimOf(job, instanceId, now, { kind: "queued", expected: slot }, slot, "schedule", null, false);
}
