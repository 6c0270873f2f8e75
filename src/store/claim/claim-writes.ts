import { missedNote } from "../missed-note.js";
import type { ClaimOutcome, RunRecord, RunStatus, RunTrigger, SlotClaim } from "../types.js";
import type { ClaimVerdict } from "./claim-rule.js";

type Go = Extract<ClaimVerdict, { kind: "go" }>;

/** A run row a claim inserts (a missed, running or skipped record). */
export interface NewRun {
  job: string;
  slot: number;
  trigger: RunTrigger;
  instanceId: string;
  status: Extract<RunStatus, "running" | "skipped" | "missed">;
  startedAt: number | null;
  error: string | null;
  missedCount: number | null;
  missedUntil: number | null;
  blockedBy: number | null;
  createdAt: number;
}

/** What a verdict means in rows; each store writes it its own way (one by one, or in bulk). */
export interface ClaimWrites {
  /** A slot claim moves the job's next slot here (null: the schedule has no more slots). */
  advanceTo: { nextSlot: number | null } | null;
  /** A queued slot being started gives the job's queued place back. */
  clearQueue: boolean;
  /** overlap: queue takes the job's queued place with this slot. */
  setQueue: { slot: number; trigger: RunTrigger } | null;
  /** Inserted first; if the unique (job, slot) index refuses it, the slot is taken: lost. */
  missed: NewRun | null;
  /** Inserted after; refused by the index, likewise lost. The job still moves past the slot. */
  run: NewRun | null;
  /** A trigger claim: its row is claimed (compare-and-set) before anything else, and names its run. */
  triggerId: number | null;
}

export function claimWrites(c: SlotClaim, v: Go): ClaimWrites {
  const src = c.source;
  const row = (status: NewRun["status"], slot: number, trigger: RunTrigger, error: string | null): NewRun => ({
    job: c.job, slot, trigger, instanceId: c.instanceId, status, startedAt: status === "running" ? c.now : null,
    error, missedCount: null, missedUntil: null, blockedBy: status === "skipped" ? v.blockedBy : null, createdAt: c.now,
  });
  const m = c.missed;
  return {
    advanceTo: src.kind === "slot" ? { nextSlot: src.next } : null,
    clearQueue: src.kind === "queued",
    setQueue: v.step === "queue" ? { slot: c.slot!, trigger: v.trigger } : null,
    missed: m ? { ...row("missed", m.first, "schedule", missedNote(m)), missedCount: m.count, missedUntil: m.last } : null,
    run: v.step === "start" ? row("running", c.slot!, v.trigger, null) : v.step === "skip" ? row("skipped", c.slot!, v.trigger, v.reason) : null,
    triggerId: src.kind === "trigger" ? src.triggerId : null,
  };
}

/**
 * The claim's answer once its rows are written: `missedId` and `runId` are the inserted rows'
 * ids, or null when the unique index refused one (the slot was taken: lost).
 */
export function claimOutcome(c: SlotClaim, v: Go, w: ClaimWrites, ids: { missedId: number | null; runId: number | null }): ClaimOutcome {
  if ((w.missed && ids.missedId === null) || (w.run && ids.runId === null)) return { kind: "lost" };
  const missedRun = w.missed ? runRecord(ids.missedId!, w.missed) : null;
  switch (v.step) {
    case "advance":
      return { kind: "advanced", missedRun };
    case "queue":
      return { kind: "queued", missedRun };
    case "start":
      return { kind: "started", run: runRecord(ids.runId!, w.run!), replacing: v.replacing, missedRun };
    case "skip":
      return { kind: "skipped", run: runRecord(ids.runId!, w.run!), missedRun };
  }
}

/** Spelled out: a spread plus new keys here cost V8 about 3 KB of garbage per run. */
function runRecord(id: number, r: NewRun): RunRecord {
  return {
    id, job: r.job, slot: r.slot, trigger: r.trigger, instanceId: r.instanceId, attempt: 1, status: r.status,
    startedAt: r.startedAt, finishedAt: null, heartbeatAt: r.startedAt, exitCode: null, signal: null, error: r.error,
    missedCount: r.missedCount, missedUntil: r.missedUntil, blockedBy: r.blockedBy, createdAt: r.createdAt,
  };
}
