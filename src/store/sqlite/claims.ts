import type Database from "better-sqlite3";
import { claimedJob, judgeClaim, type ClaimedJobRow } from "../claim/claim-rule.js";
import { claimOutcome, claimWrites, type NewRun } from "../claim/claim-writes.js";
import type { ClaimOutcome, SlotClaim } from "../types.js";


/**
 * SQLite's claim: inside the caller's write transaction (SQLite has one writer at a time, so
 * the job's row cannot change under it), read the job and its running runs, ask the claim rule
 * (claim-rule.ts), and write what it says, one claim after another.
 */
export class SqliteClaimer {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      job: db.prepare("SELECT next_slot, spec_hash, retired_at, paused, queued_slot, queued_trigger FROM jobs WHERE name = ?"),
      running: db.prepare("SELECT id FROM runs WHERE job = ? AND status = 'running' ORDER BY id").pluck(),
      claimTrigger: db.prepare("UPDATE triggers SET claimed_by = ?, claimed_at = ? WHERE id = ? AND claimed_by IS NULL"),
      linkTrigger: db.prepare("UPDATE triggers SET run_id = ? WHERE id = ?"),
      advance: db.prepare("UPDATE jobs SET next_slot = ? WHERE name = ?"),
      clearQueue: db.prepare("UPDATE jobs SET queued_slot = NULL, queued_trigger = NULL WHERE name = ?"),
      setQueue: db.prepare("UPDATE jobs SET queued_slot = ?, queued_trigger = ? WHERE name = ?"),
      // Positional parameters and RETURNING only the id: this runs once per slot, and the
      // record is rebuilt from the values just written. The unique (job, slot) index for
      // scheduled slots is the last line of defence: a refused insert means the slot is taken.
      insertRun: db.prepare(
        `INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, started_at, heartbeat_at,
           error, missed_count, missed_until, blocked_by, created_at)
         VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING
         RETURNING id`,
      ).pluck(),
      markStarted: db.prepare("UPDATE jobs SET last_run_id = ?, last_started_at = ? WHERE name = ?"),
    };
  }

  claim(c: SlotClaim): ClaimOutcome {
    const row = this.statements.job.get(c.job) as ClaimedJobRow | undefined;
    const verdict = judgeClaim(c, row ? claimedJob(row) : null, this.statements.running.all(c.job) as number[]);
    if (verdict.kind !== "go") return verdict;
    const w = claimWrites(c, verdict);
    if (w.triggerId !== null && this.statements.claimTrigger.run(c.instanceId, c.now, w.triggerId).changes !== 1) return { kind: "lost" };
    // The job moves past the slot even when its record turns out to be taken: that slot is.
    if (w.advanceTo) this.statements.advance.run(w.advanceTo.nextSlot, c.job);
    if (w.clearQueue) this.statements.clearQueue.run(c.job);
    const missedId = w.missed ? this.insert(w.missed) : null;
    if (w.missed && missedId === null) return { kind: "lost" };
    if (w.setQueue) this.statements.setQueue.run(w.setQueue.slot, w.setQueue.trigger, c.job);
    const runId = w.run ? this.insert(w.run) : null;
    if (runId !== null) {
      if (w.run!.status === "running") this.statements.markStarted.run(runId, c.now, c.job);
      if (w.triggerId !== null) this.statements.linkTrigger.run(runId, w.triggerId);
    }
    return claimOutcome(c, verdict, w, { missedId, runId });
  }

  private insert(r: NewRun): number | null {
    const id = this.statements.insertRun.get(
      r.job, r.slot, r.trigger, r.instanceId, r.status, r.startedAt, r.startedAt, r.error, r.missedCount, r.missedUntil, r.blockedBy, r.createdAt,
    ) as number | undefined;
    return id ?? null;
  }
}

