import { RUN_COLUMNS, toRun, type RunRow } from "../rows.js";
import type { InstanceRecord, Retention, RunRecord } from "../types.js";
import { all, run, type Dialect, type Operation } from "./seam.js";

/** Runs and instances outside the hot path: registering, stopping, abandoning, pruning. */

export function* registerInstance(i: InstanceRecord): Operation<void> {
  yield* run(
    `INSERT INTO instances (id, host, pid, version, started_at, last_seen, stopped_at, supervisor)
     VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
     ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, stopped_at = NULL`,
    i.id, i.host, i.pid, i.version, i.startedAt, i.lastSeen, i.supervisor ?? null,
  );
}

export function* markInstanceStopped(instanceId: string, now: number): Operation<void> {
  yield* run("UPDATE instances SET stopped_at = ? WHERE id = ?", now, instanceId);
}

export function* updateAttempt(runId: number, attempt: number, now: number): Operation<void> {
  yield* run("UPDATE runs SET attempt = ?, heartbeat_at = ? WHERE id = ? AND status = 'running'", attempt, now, runId);
}

/**
 * Marks abandoned the running runs whose heartbeat is older than `staleBefore` or whose instance
 * is one of `instanceIds`, and records that as their job's last status unless a newer result is
 * already there. Asked at every heartbeat, almost always in the same shape.
 */
export function* abandonRuns(d: Dialect, o: { now: number; staleBefore?: number; instanceIds?: string[] }): Operation<RunRecord[]> {
  const conditions: string[] = [];
  const args: unknown[] = [];
  if (o.staleBefore !== undefined) (conditions.push("heartbeat_at < ?"), args.push(o.staleBefore));
  if (o.instanceIds?.length) {
    const list = d.inList("instance_id", "text", o.instanceIds);
    (conditions.push(list.sql), args.push(...list.args));
  }
  if (conditions.length === 0) return [];
  const rows = yield* all<RunRow>(
    `UPDATE runs SET status = 'abandoned', finished_at = ?,
       error = 'its instance ' || coalesce(instance_id, '?') || ' stopped heartbeating; the run was cut short'
     WHERE status = 'running' AND (${conditions.join(" OR ")}) RETURNING ${RUN_COLUMNS}`,
    o.now, ...args,
  );
  for (const r of rows) {
    yield* run("UPDATE jobs SET last_finished_at = ?, last_status = 'abandoned' WHERE name = ? AND coalesce(last_finished_at, 0) <= ?", o.now, r.job, o.now);
  }
  return rows.map(toRun);
}

/**
 * "Whichever keeps more": a run goes only when it is both older than keepMs and not among the
 * newest keepRuns of its job.
 */
export function* pruneRuns(retention: Retention, now: number, jobs: string[]): Operation<number> {
  const cutoff = now - retention.keepMs;
  let removed = 0;
  for (const job of jobs) {
    removed += yield* run(
      `DELETE FROM runs WHERE job = ? AND status <> 'running' AND created_at < ?
         AND id < coalesce((SELECT id FROM runs WHERE job = ? ORDER BY id DESC LIMIT 1 OFFSET ?), 0)`,
      job, cutoff, job, retention.keepRuns - 1,
    );
  }
  return removed;
}
