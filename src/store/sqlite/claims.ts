import type Database from "better-sqlite3";
import { claimedJob, judgeClaim, type ClaimedJobRow } from "../claim/claim-rule.js";
import { claimOutcome, claimWrites, type NewRun } from "../claim/claim-writes.js";
import type { ClaimOutcome, SlotClaim } from "../types.js";


/**
 * SQLite's claim: inside the caller's write transaction (SQLite has one writer at a time, so
 * the job's row cannot change under it), read the job and its running runs, ask the claim rule
 * (claim-rule.ts), and write what it says, one claim after another. The common claim (a slot
 * that starts) is three statements: the read, the run's insert, and one update of the job.
 */
export class SqliteClaimer {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      // The job and the ids of its running runs in one statement (usually none: null).
      job: db.prepare(
        `SELECT next_slot, spec_hash, retired_at, paused, queued_slot, queued_trigger,
           (SELECT group_concat(id) FROM runs WHERE job = jobs.name AND status = 'running') AS running
         FROM jobs WHERE name = ?`,
      ),
      claimTrigger: db.prepare("UPDATE triggers SET claimed_by = ?, claimed_at = ? WHERE id = ? AND claimed_by IS NULL"),
      linkTrigger: db.prepare("UPDATE triggers SET run_id = ? WHERE id = ?"),
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
      // Past the slot (when the claim advances it) and the run that started (when one did).
      moveOn: db.prepare(
        `UPDATE jobs SET next_slot = CASE WHEN ? THEN ? ELSE next_slot END,
           last_run_id = coalesce(?, last_run_id), last_started_at = CASE WHEN ? IS NOT NULL THEN ? ELSE last_started_at END
         WHERE name = ?`,
      ),
    };
  }

  claim(c: SlotClaim): ClaimOutcome {
    const row = this.statements.job.get(c.job) as (ClaimedJobRow & { running: string | null }) | undefined;
    const verdict = judgeClaim(c, row ? claimedJob(row) : null, row?.running ? runningIds(row.running) : NONE);
    if (verdict.kind !== "go") return verdict;
    const w = claimWrites(c, verdict);
    if (w.triggerId !== null && this.statements.claimTrigger.run(c.instanceId, c.now, w.triggerId).changes !== 1) return { kind: "lost" };
    if (w.clearQueue) this.statements.clearQueue.run(c.job);
    const missedId = w.missed ? this.insert(w.missed) : null;
    const taken = w.missed !== null && missedId === null;
    if (!taken && w.setQueue) this.statements.setQueue.run(w.setQueue.slot, w.setQueue.trigger, c.job);
    const runId = !taken && w.run ? this.insert(w.run) : null;
    const started = runId !== null && w.run!.status === "running" ? runId : null;
    // The job moves past the slot even when its record turns out to be taken: that slot is.
    if (w.advanceTo || started !== null) {
      this.statements.moveOn.run(w.advanceTo ? 1 : 0, w.advanceTo?.nextSlot ?? null, started, started, c.now, c.job);
    }
    if (runId !== null && w.triggerId !== null) this.statements.linkTrigger.run(runId, w.triggerId);
    return claimOutcome(c, verdict, w, { missedId, runId });
  }

  private insert(r: NewRun): number | null {
    const id = this.statements.insertRun.get(
      r.job, r.slot, r.trigger, r.instanceId, r.status, r.startedAt, r.startedAt, r.error, r.missedCount, r.missedUntil, r.blockedBy, r.createdAt,
    ) as number | undefined;
    return id ?? null;
  }
}

const NONE: number[] = [];

/** group_concat's order is not promised: the oldest run first, as the rule names it. */
function runningIds(list: string): number[] {
  const ids = list.split(",").map(Number);
  return ids.length > 1 ? ids.sort((a, b) => a - b) : ids;
}
