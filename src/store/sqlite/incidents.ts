import type Database from "better-sqlite3";
import type {
  DeliveryOutcome, DeliveryRecord, IncidentRecord, IncidentState, IncidentStore, NotificationKind, OutgoingNotification,
} from "../types.js";

interface IncidentRow {
  id: number; job: string; state: string; opened_at: number; since: number | null; closed_at: number | null;
  last_notified_at: number; notifications: number;
}

const toIncident = (r: IncidentRow): IncidentRecord => ({
  id: r.id, job: r.job, state: r.state as IncidentState, openedAt: r.opened_at, since: r.since,
  closedAt: r.closed_at, lastNotifiedAt: r.last_notified_at, notifications: r.notifications,
});

/** Incidents and the outbox for SqliteStore; every change is a compare-and-set in one transaction. */
export class SqliteIncidents implements IncidentStore {
  constructor(private readonly db: Database.Database, private readonly write: <T>(fn: () => T) => T) {}

  async listOpenIncidents(): Promise<IncidentRecord[]> {
    return (this.db.prepare("SELECT * FROM incidents WHERE closed_at IS NULL ORDER BY id").all() as IncidentRow[]).map(toIncident);
  }

  async openIncident(o: { job: string; state: IncidentState; since: number | null; now: number; notify: OutgoingNotification }): Promise<IncidentRecord | null> {
    return this.write(() => {
      const row = this.db
        .prepare(
          `INSERT INTO incidents (job, state, opened_at, since, last_notified_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING RETURNING *`,
        )
        .get(o.job, o.state, o.now, o.since, o.now) as IncidentRow | undefined;
      if (!row) return null;
      this.outbox(row.id, o.notify, o.now);
      return toIncident(row);
    });
  }

  async changeIncident(o: { id: number; from: IncidentState; to: IncidentState; since: number | null; now: number; notify: OutgoingNotification }): Promise<boolean> {
    return this.write(() => {
      const changed = this.db
        .prepare(
          `UPDATE incidents SET state = ?, since = ?, last_notified_at = ?, notifications = notifications + 1
           WHERE id = ? AND state = ? AND closed_at IS NULL`,
        )
        .run(o.to, o.since, o.now, o.id, o.from).changes === 1;
      if (changed) this.outbox(o.id, o.notify, o.now);
      return changed;
    });
  }

  async remindIncident(o: { id: number; lastNotifiedAt: number; now: number; notify: OutgoingNotification }): Promise<boolean> {
    return this.write(() => {
      const won = this.db
        .prepare(
          `UPDATE incidents SET last_notified_at = ?, notifications = notifications + 1
           WHERE id = ? AND last_notified_at = ? AND closed_at IS NULL`,
        )
        .run(o.now, o.id, o.lastNotifiedAt).changes === 1;
      if (won) this.outbox(o.id, o.notify, o.now);
      return won;
    });
  }

  async closeIncident(o: { id: number; now: number; notify: OutgoingNotification | null }): Promise<boolean> {
    return this.write(() => {
      const closed = this.db.prepare("UPDATE incidents SET closed_at = ? WHERE id = ? AND closed_at IS NULL").run(o.now, o.id).changes === 1;
      if (closed && o.notify) this.outbox(o.id, o.notify, o.now);
      return closed;
    });
  }

  async enqueueNotification(o: { now: number; notify: OutgoingNotification }): Promise<number> {
    return this.write(() => this.outbox(null, o.notify, o.now));
  }

  async setNotifiers(ids: string[]): Promise<void> {
    this.write(() =>
      this.db.prepare("INSERT INTO settings (key, value) VALUES ('notifiers', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(JSON.stringify(ids)),
    );
  }

  async getNotifiers(): Promise<string[]> {
    const value = this.db.prepare("SELECT value FROM settings WHERE key = 'notifiers'").pluck().get() as string | undefined;
    return value ? (JSON.parse(value) as string[]) : [];
  }

  async claimDeliveries(o: { instanceId: string; notifier: string; now: number; leaseMs: number; limit: number }): Promise<DeliveryRecord[]> {
    return this.write(() => {
      const rows = this.db
        .prepare(
          `UPDATE deliveries SET claimed_by = @instance, claimed_until = @until
           WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND notifier = @notifier AND next_attempt_at <= @now
                          AND (claimed_until IS NULL OR claimed_until < @now) ORDER BY id LIMIT @limit)
           RETURNING id, notification_id, notifier, attempts, created_at`,
        )
        .all({ instance: o.instanceId, notifier: o.notifier, until: o.now + o.leaseMs, now: o.now, limit: o.limit }) as {
          id: number; notification_id: number; notifier: string; attempts: number; created_at: number;
        }[];
      const notification = this.db.prepare("SELECT kind, payload FROM notifications WHERE id = ?");
      return rows
        .sort((a, b) => a.id - b.id)
        .map((r) => {
          const n = notification.get(r.notification_id) as { kind: NotificationKind; payload: string };
          return {
            id: r.id, notificationId: r.notification_id, notifier: r.notifier, attempts: r.attempts,
            createdAt: r.created_at, kind: n.kind, payload: JSON.parse(n.payload),
          };
        });
    });
  }

  async settleDelivery(id: number, instanceId: string, outcome: DeliveryOutcome, now: number): Promise<boolean> {
    const mine = "AND status = 'pending' AND claimed_by = ?";
    return this.write(() => {
      const q =
        outcome.kind === "delivered"
          ? this.db.prepare(`UPDATE deliveries SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, claimed_until = NULL WHERE id = ? ${mine}`).bind(now, id, instanceId)
          : outcome.kind === "retry"
            ? this.db.prepare(`UPDATE deliveries SET next_attempt_at = ?, last_error = ?, attempts = attempts + 1, claimed_until = NULL WHERE id = ? ${mine}`).bind(outcome.at, outcome.error, id, instanceId)
            : this.db.prepare(`UPDATE deliveries SET status = 'failed', last_error = ?, attempts = attempts + 1, claimed_until = NULL WHERE id = ? ${mine}`).bind(outcome.error, id, instanceId);
      return q.run().changes === 1;
    });
  }

  async listDeliveries(o: { status?: "pending" | "delivered" | "failed" } = {}) {
    const rows = this.db
      .prepare(
        `SELECT d.id, d.notification_id, d.notifier, d.attempts, d.created_at, d.status, d.last_error, n.kind, n.payload
         FROM deliveries d JOIN notifications n ON n.id = d.notification_id
         ${o.status ? "WHERE d.status = ?" : ""} ORDER BY d.id`,
      )
      .all(...(o.status ? [o.status] : [])) as {
        id: number; notification_id: number; notifier: string; attempts: number; created_at: number; status: string;
        last_error: string | null; kind: NotificationKind; payload: string;
      }[];
    return rows.map((r) => ({
      id: r.id, notificationId: r.notification_id, notifier: r.notifier, attempts: r.attempts, createdAt: r.created_at,
      kind: r.kind, payload: JSON.parse(r.payload), status: r.status, lastError: r.last_error,
    }));
  }

  private outbox(incidentId: number | null, n: OutgoingNotification, now: number): number {
    const id = this.db
      .prepare("INSERT INTO notifications (incident_id, kind, payload, created_at) VALUES (?, ?, ?, ?) RETURNING id")
      .pluck()
      .get(incidentId, n.kind, JSON.stringify(n.payload), now) as number;
    const delivery = this.db.prepare(
      "INSERT INTO deliveries (notification_id, notifier, status, next_attempt_at, created_at) VALUES (?, ?, 'pending', ?, ?)",
    );
    for (const notifier of n.notifiers) delivery.run(id, notifier, now, now);
    return id;
  }
}
