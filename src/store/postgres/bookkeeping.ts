import type postgres from "postgres";
import type { BookkeepingRetention, ControlEvent } from "../types.js";

/** Control events and the pruning of everything that is not run history, on PostgreSQL. */

type Db = postgres.Sql<Record<string, never>> | postgres.TransactionSql<Record<string, never>>;

export async function recordControl(db: Db, e: Omit<ControlEvent, "id">): Promise<void> {
  await db`INSERT INTO control_events (at, source, action, job, detail)
    VALUES (${e.at}, ${e.source}, ${e.action}, ${e.job}, ${e.detail === null ? null : JSON.stringify(e.detail)})`;
}

export async function controlEventsSince(db: Db, afterId: number, limit: number): Promise<ControlEvent[]> {
  const rows = await db`SELECT id, at, source, action, job, detail FROM control_events WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`;
  return rows.map((r) => ({
    id: Number(r.id), at: Number(r.at), source: r.source as string, action: r.action as ControlEvent["action"],
    job: (r.job as string | null) ?? null, detail: r.detail === null ? null : JSON.parse(r.detail as string),
  }));
}

/** The same rules as SQLite's (see pruneBookkeepingTx there), in one transaction. */
export async function pruneBookkeeping(sql: postgres.Sql<Record<string, never>>, r: BookkeepingRetention, now: number): Promise<number> {
  const cutoff = now - r.keepMs;
  const offset = r.keepRows - 1;
  return sql.begin(async (tx) => {
    const doomed = await tx`SELECT n.id FROM notifications n
      WHERE (n.created_at < ${cutoff} OR n.id < coalesce((SELECT id FROM notifications ORDER BY id DESC LIMIT 1 OFFSET ${offset}), 0))
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id AND d.status = 'pending')`;
    const ids = doomed.map((d) => Number(d.id));
    let removed = 0;
    if (ids.length > 0) {
      removed += (await tx`DELETE FROM deliveries WHERE notification_id = ANY(${ids}::bigint[])`).count;
      removed += (await tx`DELETE FROM notifications WHERE id = ANY(${ids}::bigint[])`).count;
    }
    removed += (await tx`DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ${cutoff}`).count;
    removed += (await tx`DELETE FROM triggers WHERE requested_at < ${now - r.triggersKeepMs}
      AND (claimed_by IS NOT NULL OR NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.name = triggers.job AND jobs.retired_at IS NULL))`).count;
    removed += (await tx`DELETE FROM control_events WHERE at < ${cutoff}
      OR id < coalesce((SELECT id FROM control_events ORDER BY id DESC LIMIT 1 OFFSET ${offset}), 0)`).count;
    removed += (await tx`DELETE FROM config_generations
      WHERE generation < coalesce((SELECT generation FROM config_generations ORDER BY generation DESC LIMIT 1 OFFSET ${offset}), 0)`).count;
    return removed;
  });
}
