import { missedNote } from "../missed-note.js";
import type Database from "better-sqlite3";
import type { ClaimOutcome, RunRecord, RunTrigger, SlotClaim } from "../types.js";

/**
 * The claim transaction: prove ownership of the slot (compare-and-set), record missed slots,
 * then apply the overlap policy against the runs the *store* says are running, so the policy
 * holds across instances, not just inside this process.
 */
export class SqliteClaimer {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      running: db.prepare("SELECT id FROM runs WHERE job = ? AND status = 'running'").pluck(),
      casSlot: db.prepare(
        `UPDATE jobs SET next_slot = @next WHERE name = @job AND next_slot = @expected
           AND spec_hash = @hash AND retired_at IS NULL AND (paused = 0 OR @slot IS NULL)`,
      ),
      casTrigger: db.prepare(
        "UPDATE triggers SET claimed_by = @instance, claimed_at = @now WHERE id = @id AND claimed_by IS NULL",
      ),
      casQueued: db.prepare(
        "UPDATE jobs SET queued_slot = NULL, queued_trigger = NULL WHERE name = @job AND queued_slot = @expected",
      ),
      queuedTrigger: db.prepare("SELECT queued_trigger FROM jobs WHERE name = ?").pluck(),
      linkTrigger: db.prepare("UPDATE triggers SET run_id = ? WHERE id = ?"),
      jobQueue: db.prepare("SELECT queued_slot FROM jobs WHERE name = ?").pluck(),
      setQueue: db.prepare("UPDATE jobs SET queued_slot = ?, queued_trigger = ? WHERE name = ?"),
      // Positional parameters and RETURNING only the id: this runs once per slot, and the
      // record is rebuilt from the values we just wrote.
      insertRun: db.prepare(
        `INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, started_at, heartbeat_at,
           error, missed_count, missed_until, created_at)
         VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING
         RETURNING id`,
      ).pluck(),
      markStarted: db.prepare(
        "UPDATE jobs SET last_run_id = ?, last_started_at = ? WHERE name = ?",
      ),
    };
  }

  /**
   * Runs inside the caller's transaction. The unique (job, slot) index is the last line of
   * defence: if a record for the slot exists already, the claim is lost even though the CAS
   * passed (the job's next slot still moves on, which is right: that slot is taken).
   */
  claim(c: SlotClaim): ClaimOutcome {
    const running = this.s.running.all(c.job) as number[];
    if (c.waitIfBusy && running.length > 0) return { kind: "busy" };
    // A queued slot keeps the trigger it was queued with (a manual trigger stays "manual").
    const queuedTrigger = c.source.kind === "queued" ? (this.s.queuedTrigger.get(c.job) as string | null) : null;
    if (!this.proveOwnership(c)) return { kind: "lost" };
    const missedRun = c.missed ? this.recordMissed(c) : null;
    if (c.missed && !missedRun) return { kind: "lost" };
    if (c.slot === null) return { kind: "advanced", missedRun };
    const trigger = queuedTrigger ?? c.trigger;

    if (running.length === 0 || c.overlap === "allow" || c.overlap === "replace") {
      const run = this.insert(c, c.slot, trigger, "running", null);
      if (!run) return { kind: "lost" };
      this.s.markStarted.run(run.id, c.now, c.job);
      if (c.source.kind === "trigger") this.s.linkTrigger.run(run.id, c.source.triggerId);
      return { kind: "started", run, replacing: c.overlap === "replace" ? running : [], missedRun };
    }
    if (c.overlap === "queue" && this.s.jobQueue.get(c.job) == null) {
      this.s.setQueue.run(c.slot, trigger, c.job);
      return { kind: "queued", missedRun };
    }
    const reason =
      c.overlap === "queue"
        ? `a run is already queued behind run #${running[0]}`
        : `run #${running[0]} was still running (overlap: skip)`;
    const run = this.insert(c, c.slot, trigger, "skipped", reason);
    if (!run) return { kind: "lost" };
    if (c.source.kind === "trigger") this.s.linkTrigger.run(run.id, c.source.triggerId);
    return { kind: "skipped", run, missedRun };
  }

  private proveOwnership(c: SlotClaim): boolean {
    const src = c.source;
    if (src.kind === "slot") {
      return this.s.casSlot.run({ next: src.next, job: c.job, expected: src.expected, hash: c.specHash, slot: c.slot }).changes === 1;
    }
    if (src.kind === "trigger") {
      return this.s.casTrigger.run({ instance: c.instanceId, now: c.now, id: src.triggerId }).changes === 1;
    }
    return this.s.casQueued.run({ job: c.job, expected: src.expected }).changes === 1;
  }

  private recordMissed(c: SlotClaim): RunRecord | null {
    const m = c.missed!;
    return this.insertRecord({
      job: c.job, slot: m.first, trigger: "schedule", instanceId: c.instanceId, status: "missed",
      startedAt: null, heartbeatAt: null, error: missedNote(m), missedCount: m.count, missedUntil: m.last, createdAt: c.now,
    });
  }

  private insert(c: SlotClaim, slot: number, trigger: string, status: "running" | "skipped", error: string | null): RunRecord | null {
    const started = status === "running" ? c.now : null;
    return this.insertRecord({
      job: c.job, slot, trigger: trigger as RunTrigger, instanceId: c.instanceId, status, startedAt: started,
      heartbeatAt: started, error, missedCount: null, missedUntil: null, createdAt: c.now,
    });
  }

  private insertRecord(r: Omit<RunRecord, "id" | "attempt" | "finishedAt" | "exitCode" | "signal">): RunRecord | null {
    const id = this.s.insertRun.get(
      r.job, r.slot, r.trigger, r.instanceId, r.status, r.startedAt, r.heartbeatAt, r.error, r.missedCount, r.missedUntil, r.createdAt,
    ) as number | undefined;
    if (id === undefined) return null;
    // Spelled out: a spread plus new keys here cost V8 about 3 KB of garbage per run.
    return {
      id, job: r.job, slot: r.slot, trigger: r.trigger, instanceId: r.instanceId, attempt: 1, status: r.status,
      startedAt: r.startedAt, finishedAt: null, heartbeatAt: r.heartbeatAt, exitCode: null, signal: null, error: r.error,
      missedCount: r.missedCount, missedUntil: r.missedUntil, createdAt: r.createdAt,
    };
  }
}
