import type { RunTrigger, SlotClaim } from "../types.js";

/** What the claim rule needs to know of a job, read (and locked) in the claim's transaction. */
export interface ClaimedJob {
  nextSlot: number | null;
  specHash: string;
  retired: boolean;
  paused: boolean;
  queuedSlot: number | null;
  queuedTrigger: RunTrigger | null;
}

/** The job row's columns the claim reads, as either database returns them. */
export interface ClaimedJobRow {
  next_slot: number | string | null;
  spec_hash: string;
  retired_at: number | string | null;
  paused: number | boolean;
  queued_slot: number | string | null;
  queued_trigger: string | null;
}

/** Both stores read the same columns; PostgreSQL's bigints may arrive as strings. */
export function claimedJob(r: ClaimedJobRow): ClaimedJob {
  return {
    nextSlot: r.next_slot === null ? null : Number(r.next_slot), specHash: r.spec_hash, retired: r.retired_at !== null,
    paused: Number(r.paused) !== 0, queuedSlot: r.queued_slot === null ? null : Number(r.queued_slot),
    queuedTrigger: r.queued_trigger as RunTrigger | null,
  };
}

/** What a claim does once it owns its slot. */
export type ClaimStep =
  /** Only moves the job past the slot (paused, or every due slot missed). */
  | "advance"
  | "start"
  /** overlap: queue, and the job's one queued place is free. */
  | "queue"
  /** Recorded as skipped, naming the run that blocked it. */
  | "skip";

export type ClaimVerdict =
  | { kind: "busy" }
  | { kind: "lost" }
  | { kind: "go"; step: ClaimStep; trigger: RunTrigger; replacing: number[]; blockedBy: number | null; reason: string | null };

const BUSY: ClaimVerdict = { kind: "busy" };
const LOST: ClaimVerdict = { kind: "lost" };

/**
 * The claim rule, once for every store: whether this claim owns its slot (a compare-and-set on
 * the job's next slot and definition, or its one queued place; a trigger's own row is claimed by
 * the store after this verdict) and what the overlap policy makes of it against the runs the
 * store says are running. `running` holds the job's running runs' ids, oldest first. Pure: the
 * stores read the facts in their transaction, ask here, and write what the verdict says
 * (claim-writes.ts), so every database decides alike.
 */
export function judgeClaim(c: SlotClaim, job: ClaimedJob | null, running: readonly number[]): ClaimVerdict {
  // Catch-up `all` runs one missed slot at a time: it waits, and owns nothing yet.
  if (c.waitIfBusy && running.length > 0) return BUSY;
  if (!job) return LOST;
  const src = c.source;
  if (src.kind === "slot") {
    const owns = job.nextSlot === src.expected && job.specHash === c.specHash && !job.retired && !(job.paused && c.slot !== null);
    if (!owns) return LOST;
  } else if (src.kind === "queued" && job.queuedSlot !== src.expected) {
    return LOST;
  }
  // A queued slot keeps the trigger it was queued with (a manual trigger stays "manual").
  const trigger = src.kind === "queued" ? (job.queuedTrigger ?? c.trigger) : c.trigger;
  if (c.slot === null) return go("advance", trigger);
  if (running.length === 0 || c.overlap === "allow" || c.overlap === "replace") {
    return { kind: "go", step: "start", trigger, replacing: c.overlap === "replace" ? [...running] : [], blockedBy: null, reason: null };
  }
  // Promoting the queued slot takes the queued place: it is free again for that same slot.
  const queueFree = src.kind === "queued" || job.queuedSlot === null;
  if (c.overlap === "queue" && queueFree) return go("queue", trigger);
  const blockedBy = running[0]!;
  const reason = c.overlap === "queue" ? `a run is already queued behind run #${blockedBy}` : `run #${blockedBy} was still running (overlap: skip)`;
  return { kind: "go", step: "skip", trigger, replacing: [], blockedBy, reason };
}

function go(step: ClaimStep, trigger: RunTrigger): ClaimVerdict {
  return { kind: "go", step, trigger, replacing: [], blockedBy: null, reason: null };
}
