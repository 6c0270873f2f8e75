import type { BookkeepingRetention, ControlEvent } from "../types.js";
import { all, one, run, type Dialect, type Operation } from "./seam.js";

/** Control events (who paused, triggered, applied what), and the pruning of everything that is not run history. */

export function* recordControl(e: Omit<ControlEvent, "id">): Operation<void> {
  yield* run(
    "INSERT INTO control_events (at, source, action, job, detail) VALUES (?, ?, ?, ?, ?)",
    e.at, e.source, e.action, e.job, e.detail === null ? null : JSON.stringify(e.detail),
  );
}

interface ControlRow { id: number; at: number; source: string; action: string; job: string | null; detail: string | null }

export function* controlEventsSince(afterId: number, limit: number): Operation<ControlEvent[]> {
  const rows = yield* all<ControlRow>("SELECT id, at, source, action, job, detail FROM control_events WHERE id > ? ORDER BY id LIMIT ?", afterId, limit);
  return rows.map((r) => ({
    id: r.id, at: r.at, source: r.source, action: r.action as ControlEvent["action"], job: r.job ?? null,
    detail: r.detail === null ? null : JSON.parse(r.detail),
  }));
}

export function* lastControlEventId(): Operation<number> {
  return (yield* one<{ id: number }>("SELECT coalesce(max(id), 0) AS id FROM control_events"))!.id;
}

/**
 * A notification goes once all its deliveries are settled and it is older than keepMs or beyond
 * the newest keepRows; its deliveries go with it. Closed incidents older than keepMs. Claimed
 * triggers (and those of jobs that are gone) older than triggersKeepMs. Control events by age
 * and count; config generations by count only (the stale-config guard compares against them,
 * however old). One transaction.
 */
export function* pruneBookkeeping(d: Dialect, r: BookkeepingRetention, now: number): Operation<number> {
  const cutoff = now - r.keepMs;
  const offset = r.keepRows - 1;
  let removed = 0;
  const doomed = yield* all<{ id: number }>(
    `SELECT n.id FROM notifications n
     WHERE (n.created_at < ? OR n.id < coalesce((SELECT id FROM notifications ORDER BY id DESC LIMIT 1 OFFSET ?), 0))
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND d.status = 'pending')`,
    cutoff, offset,
  );
  if (doomed.length > 0) {
    const ids = doomed.map((row) => row.id);
    // Deliveries first: they reference their notification.
    for (const [table, column] of [["deliveries", "notification_id"], ["notifications", "id"]] as const) {
      const doomedHere = d.inList(column, "bigint", ids);
      removed += yield* run(`DELETE FROM ${table} WHERE ${doomedHere.sql}`, ...doomedHere.args);
    }
  }
  removed += yield* run("DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?", cutoff);
  removed += yield* run(
    `DELETE FROM triggers WHERE requested_at < ?
       AND (claimed_by IS NOT NULL OR NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.name = triggers.job AND jobs.retired_at IS NULL))`,
    now - r.triggersKeepMs,
  );
  removed += yield* run(
    "DELETE FROM control_events WHERE at < ? OR id < coalesce((SELECT id FROM control_events ORDER BY id DESC LIMIT 1 OFFSET ?), 0)",
    cutoff, offset,
  );
  // By count only: a machine can lag behind for longer than any age (the stale-config guard).
  removed += yield* run(
    "DELETE FROM config_generations WHERE generation < coalesce((SELECT generation FROM config_generations ORDER BY generation DESC LIMIT 1 OFFSET ?), 0)",
    offset,
  );
  return removed;
}
