import type {
  DeliveryOutcome, DeliveryRecord, IncidentRecord, IncidentState, IncidentStore, NotificationKind, OutgoingNotification,
} from "../types.js";
import type { Sql } from "./connect.js";

type Row = Record<string, unknown>;

const toIncident = (r: Row): IncidentRecord => ({
  id: Number(r.id), job: r.job as string, state: r.state as IncidentState, openedAt: Number(r.opened_at),
  since: r.since === null ? null : Number(r.since), closedAt: r.closed_at === null ? null : Number(r.closed_at),
  lastNotifiedAt: Number(r.last_notified_at), notifications: Number(r.notifications),
});

/** Incidents and the outbox for PostgresStore: the same compare-and-set writes as SQLite's. */
export class PgIncidents implements IncidentStore {
  constructor(private readonly sql: Sql) {}

  async listOpenIncidents(): Promise<IncidentRecord[]> {
    return (await this.sql`SELECT * FROM incidents WHERE closed_at IS NULL ORDER BY id`).map(toIncident);
  }

  async openIncident(o: { job: string; state: IncidentState; since: number | null; now: number; notify: OutgoingNotification }) {
    return this.sql.begin(async (tx) => {
      const [row] = await tx`INSERT INTO incidents (job, state, opened_at, since, last_notified_at)
        VALUES (${o.job}, ${o.state}, ${o.now}, ${o.since}, ${o.now}) ON CONFLICT DO NOTHING RETURNING *`;
      if (!row) return null;
      await outbox(tx as unknown as Sql, Number(row.id), o.notify, o.now);
      return toIncident(row);
    });
  }

  async changeIncident(o: { id: number; from: IncidentState; to: IncidentState; since: number | null; now: number; notify: OutgoingNotification }) {
    return this.sql.begin(async (tx) => {
      const r = await tx`UPDATE incidents SET state = ${o.to}, since = ${o.since}, last_notified_at = ${o.now}, notifications = notifications + 1
        WHERE id = ${o.id} AND state = ${o.from} AND closed_at IS NULL`;
      if (r.count === 1) await outbox(tx as unknown as Sql, o.id, o.notify, o.now);
      return r.count === 1;
    });
  }

  async remindIncident(o: { id: number; lastNotifiedAt: number; now: number; notify: OutgoingNotification }) {
    return this.sql.begin(async (tx) => {
      const r = await tx`UPDATE incidents SET last_notified_at = ${o.now}, notifications = notifications + 1
        WHERE id = ${o.id} AND last_notified_at = ${o.lastNotifiedAt} AND closed_at IS NULL`;
      if (r.count === 1) await outbox(tx as unknown as Sql, o.id, o.notify, o.now);
      return r.count === 1;
    });
  }

  async closeIncident(o: { id: number; now: number; notify: OutgoingNotification | null }) {
    return this.sql.begin(async (tx) => {
      const r = await tx`UPDATE incidents SET closed_at = ${o.now} WHERE id = ${o.id} AND closed_at IS NULL`;
      if (r.count === 1 && o.notify) await outbox(tx as unknown as Sql, o.id, o.notify, o.now);
      return r.count === 1;
    });
  }

  async enqueueNotification(o: { now: number; notify: OutgoingNotification }): Promise<number> {
    return this.sql.begin((tx) => outbox(tx as unknown as Sql, null, o.notify, o.now));
  }

  async setNotifiers(ids: string[]): Promise<void> {
    await this.sql`INSERT INTO settings (key, value) VALUES ('notifiers', ${JSON.stringify(ids)})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
  }

  async getNotifiers(): Promise<string[]> {
    const [row] = await this.sql`SELECT value FROM settings WHERE key = 'notifiers'`;
    return row ? (JSON.parse(row.value as string) as string[]) : [];
  }

  async claimDeliveries(o: { instanceId: string; notifier: string; now: number; leaseMs: number; limit: number }): Promise<DeliveryRecord[]> {
    // SKIP LOCKED: instances claiming at the same moment take different rows instead of waiting.
    const rows = await this.sql`
      UPDATE deliveries d SET claimed_by = ${o.instanceId}, claimed_until = ${o.now + o.leaseMs}
      FROM notifications n
      WHERE n.id = d.notification_id AND d.id IN (
        SELECT id FROM deliveries WHERE status = 'pending' AND notifier = ${o.notifier} AND next_attempt_at <= ${o.now}
          AND (claimed_until IS NULL OR claimed_until < ${o.now}) ORDER BY id LIMIT ${o.limit} FOR UPDATE SKIP LOCKED)
      RETURNING d.id, d.notification_id, d.notifier, d.attempts, d.created_at, n.kind, n.payload`;
    return rows
      .map((r) => ({
        id: Number(r.id), notificationId: Number(r.notification_id), notifier: r.notifier as string, attempts: Number(r.attempts),
        createdAt: Number(r.created_at), kind: r.kind as NotificationKind, payload: JSON.parse(r.payload as string),
      }))
      .sort((a, b) => a.id - b.id);
  }

  async settleDelivery(id: number, instanceId: string, outcome: DeliveryOutcome, now: number): Promise<boolean> {
    const r =
      outcome.kind === "delivered"
        ? await this.sql`UPDATE deliveries SET status = 'delivered', delivered_at = ${now}, attempts = attempts + 1, claimed_until = NULL
            WHERE id = ${id} AND status = 'pending' AND claimed_by = ${instanceId}`
        : outcome.kind === "retry"
          ? await this.sql`UPDATE deliveries SET next_attempt_at = ${outcome.at}, last_error = ${outcome.error}, attempts = attempts + 1, claimed_until = NULL
              WHERE id = ${id} AND status = 'pending' AND claimed_by = ${instanceId}`
          : await this.sql`UPDATE deliveries SET status = 'failed', last_error = ${outcome.error}, attempts = attempts + 1, claimed_until = NULL
              WHERE id = ${id} AND status = 'pending' AND claimed_by = ${instanceId}`;
    return r.count === 1;
  }

  async listDeliveries(o: { status?: "pending" | "delivered" | "failed" } = {}) {
    const rows = await this.sql`
      SELECT d.id, d.notification_id, d.notifier, d.attempts, d.created_at, d.status, d.last_error, n.kind, n.payload
      FROM deliveries d JOIN notifications n ON n.id = d.notification_id
      WHERE ${o.status ?? null}::text IS NULL OR d.status = ${o.status ?? null} ORDER BY d.id`;
    return rows.map((r) => ({
      id: Number(r.id), notificationId: Number(r.notification_id), notifier: r.notifier as string, attempts: Number(r.attempts),
      createdAt: Number(r.created_at), kind: r.kind as NotificationKind, payload: JSON.parse(r.payload as string),
      status: r.status as string, lastError: (r.last_error as string | null) ?? null,
    }));
  }
}

async function outbox(tx: Sql, incidentId: number | null, n: OutgoingNotification, now: number): Promise<number> {
  const [row] = await tx`INSERT INTO notifications (incident_id, kind, payload, created_at)
    VALUES (${incidentId}, ${n.kind}, ${JSON.stringify(n.payload)}, ${now}) RETURNING id`;
  const id = Number(row!.id);
  for (const notifier of n.notifiers) {
    await tx`INSERT INTO deliveries (notification_id, notifier, status, next_attempt_at, created_at) VALUES (${id}, ${notifier}, 'pending', ${now}, ${now})`;
  }
  return id;
}
