import type Database from "better-sqlite3";
import type { BookkeepingRetention, ControlEvent } from "../types.js";

/** Control events and the pruning of everything that is not run history, on SQLite. */

export function recordControl(db: Database.Database, e: Omit<ControlEvent, "id">): void {
  db.prepare("INSERT INTO control_events (at, source, action, job, detail) VALUES (?, ?, ?, ?, ?)")
    .run(e.at, e.source, e.action, e.job, e.detail === null ? null : JSON.stringify(e.detail));
}

interface ControlRow { id: number; at: number; source: string; action: string; job: string | null; detail: string | null }

export function toControlEvent(r: ControlRow): ControlEvent {
  return { id: r.id, at: r.at, source: r.source, action: r.action as ControlEvent["action"], job: r.job, detail: r.detail === null ? null : JSON.parse(r.detail) };
}

export function controlEventsSince(db: Database.Database, afterId: number, limit: number): ControlEvent[] {
  return (db.prepare("SELECT id, at, source, action, job, detail FROM control_events WHERE id > ? ORDER BY id LIMIT ?")
    .all(afterId, limit) as ControlRow[]).map(toControlEvent);
}

/**
 * The same rules as PostgreSQL's (bookkeeping.ts there): a notification goes once all its
 * deliveries are settled and it is older than keepMs or beyond the newest keepRows; its
 * deliveries go with it. Closed incidents older than keepMs. Claimed triggers (and those of
 * jobs that are gone) older than triggersKeepMs. Control events by age and count; config
 * generations by count only (the stale-config guard compares against them, however old).
 */
export function pruneBookkeepingTx(db: Database.Database, r: BookkeepingRetention, now: number): number {
  const cutoff = now - r.keepMs;
  let removed = 0;
  const run = (sql: string, ...args: unknown[]) => (removed += db.prepare(sql).run(...args).changes);
  db.exec("CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY); DELETE FROM temp.doomed;");
  db.prepare(
    `INSERT INTO temp.doomed (id) SELECT n.id FROM notifications n
     WHERE (n.created_at < ? OR n.id < coalesce((SELECT id FROM notifications ORDER BY id DESC LIMIT 1 OFFSET ?), 0))
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND d.status = 'pending')`,
  ).run(cutoff, r.keepRows - 1);
  run("DELETE FROM deliveries WHERE notification_id IN (SELECT id FROM temp.doomed)");
  run("DELETE FROM notifications WHERE id IN (SELECT id FROM temp.doomed)");
  db.exec("DELETE FROM temp.doomed");
  run("DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?", cutoff);
  run(
    `DELETE FROM triggers WHERE requested_at < ?
       AND (claimed_by IS NOT NULL OR NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.name = triggers.job AND jobs.retired_at IS NULL))`,
    now - r.triggersKeepMs,
  );
  run(
    `DELETE FROM control_events WHERE at < ? OR id < coalesce((SELECT id FROM control_events ORDER BY id DESC LIMIT 1 OFFSET ?), 0)`,
    cutoff, r.keepRows - 1,
  );
  // By count only: a machine can lag behind for longer than any age (the stale-config guard).
  run(
    "DELETE FROM config_generations WHERE generation < coalesce((SELECT generation FROM config_generations ORDER BY generation DESC LIMIT 1 OFFSET ?), 0)",
    r.keepRows - 1,
  );
  return removed;
}
