import type {
  DeliveryOutcome, DeliveryRecord, IncidentRecord, IncidentState, IncidentStore, NotificationKind, OutgoingNotification,
} from "../types.js";
import { all, one, run, type Executor, type Operation } from "./seam.js";

interface IncidentRow {
  id: number; job: string; state: string; opened_at: number; since: number | null; closed_at: number | null;
  last_notified_at: number; notifications: number;
}

const toIncident = (r: IncidentRow): IncidentRecord => ({
  id: r.id, job: r.job, state: r.state as IncidentState, openedAt: r.opened_at, since: r.since,
  closedAt: r.closed_at, lastNotifiedAt: r.last_notified_at, notifications: r.notifications,
});

interface DeliveryRow {
  id: number; notification_id: number; notifier: string; attempts: number; created_at: number;
  kind: NotificationKind; payload: string;
}

const toDelivery = (r: DeliveryRow): DeliveryRecord => ({
  id: r.id, notificationId: r.notification_id, notifier: r.notifier, attempts: r.attempts,
  createdAt: r.created_at, kind: r.kind, payload: JSON.parse(r.payload),
});

/**
 * Incidents and the outbox, on either database. Every change is a compare-and-set in one
 * transaction, and the notification it sends is written in that same transaction (the outbox):
 * of several instances seeing the same failure, exactly one opens the incident and notifies.
 */
export class SqlIncidents implements IncidentStore {
  constructor(private readonly db: Executor) {}

  async listOpenIncidents(): Promise<IncidentRecord[]> {
    return this.db.read(function* () {
      return (yield* all<IncidentRow>("SELECT * FROM incidents WHERE closed_at IS NULL ORDER BY id")).map(toIncident);
    });
  }

  async openIncident(o: { job: string; state: IncidentState; since: number | null; now: number; notify: OutgoingNotification }): Promise<IncidentRecord | null> {
    return this.db.write(function* () {
      const row = yield* one<IncidentRow>(
        `INSERT INTO incidents (job, state, opened_at, since, last_notified_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING RETURNING *`,
        o.job, o.state, o.now, o.since, o.now,
      );
      if (!row) return null;
      yield* outbox(row.id, o.notify, o.now);
      return toIncident(row);
    });
  }

  async changeIncident(o: { id: number; from: IncidentState; to: IncidentState; since: number | null; now: number; notify: OutgoingNotification }): Promise<boolean> {
    return this.db.write(function* () {
      const changed = (yield* run(
        `UPDATE incidents SET state = ?, since = ?, last_notified_at = ?, notifications = notifications + 1
         WHERE id = ? AND state = ? AND closed_at IS NULL`,
        o.to, o.since, o.now, o.id, o.from,
      )) === 1;
      if (changed) yield* outbox(o.id, o.notify, o.now);
      return changed;
    });
  }

  async remindIncident(o: { id: number; lastNotifiedAt: number; now: number; notify: OutgoingNotification }): Promise<boolean> {
    return this.db.write(function* () {
      const won = (yield* run(
        `UPDATE incidents SET last_notified_at = ?, notifications = notifications + 1
         WHERE id = ? AND last_notified_at = ? AND closed_at IS NULL`,
        o.now, o.id, o.lastNotifiedAt,
      )) === 1;
      if (won) yield* outbox(o.id, o.notify, o.now);
      return won;
    });
  }

  async closeIncident(o: { id: number; now: number; notify: OutgoingNotification | null }): Promise<boolean> {
    return this.db.write(function* () {
      const closed = (yield* run("UPDATE incidents SET closed_at = ? WHERE id = ? AND closed_at IS NULL", o.now, o.id)) === 1;
      if (closed && o.notify) yield* outbox(o.id, o.notify, o.now);
      return closed;
    });
  }


  async setNotifiers(ids: string[]): Promise<void> {
    await this.db.writeOne(() =>
      run("INSERT INTO settings (key, value) VALUES ('notifiers', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", JSON.stringify(ids)),
    );
  }

  async getNotifiers(): Promise<string[]> {
    const row = await this.db.read(() => one<{ value: string }>("SELECT value FROM settings WHERE key = 'notifiers'"));
    return row ? (JSON.parse(row.value) as string[]) : [];
  }

  async claimDeliveries(o: { instanceId: string; notifier: string; now: number; leaseMs: number; limit: number }): Promise<DeliveryRecord[]> {
    const rows = await this.db.writeOne((d) =>
      // The notification's kind and payload come back with each claimed row (subqueries: SQLite's
      // RETURNING cannot name a joined table).
      all<DeliveryRow>(
        `UPDATE deliveries SET claimed_by = ?, claimed_until = ?
         WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND notifier = ? AND next_attempt_at <= ?
                        AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY id LIMIT ?${d.skipLocked})
         RETURNING id, notification_id, notifier, attempts, created_at,
           (SELECT kind FROM notifications n WHERE n.id = deliveries.notification_id) AS kind,
           (SELECT payload FROM notifications n WHERE n.id = deliveries.notification_id) AS payload`,
        o.instanceId, o.now + o.leaseMs, o.notifier, o.now, o.now, o.limit,
      ),
    );
    return rows.map(toDelivery).sort((a, b) => a.id - b.id);
  }

  async settleDelivery(id: number, instanceId: string, outcome: DeliveryOutcome, now: number): Promise<boolean> {
    // Only the instance holding the claim settles it: a lease that ran out may have passed to another.
    const mine = "WHERE id = ? AND status = 'pending' AND claimed_by = ?";
    const changes = await this.db.writeOne(() =>
      outcome.kind === "delivered"
        ? run(`UPDATE deliveries SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, claimed_until = NULL ${mine}`, now, id, instanceId)
        : outcome.kind === "retry"
          ? run(`UPDATE deliveries SET next_attempt_at = ?, last_error = ?, attempts = attempts + 1, claimed_until = NULL ${mine}`, outcome.at, outcome.error, id, instanceId)
          : run(`UPDATE deliveries SET status = 'failed', last_error = ?, attempts = attempts + 1, claimed_until = NULL ${mine}`, outcome.error, id, instanceId),
    );
    return changes === 1;
  }

}

/** Writes a notification and one pending delivery per notifier, inside the caller's transaction. */
function* outbox(incidentId: number | null, n: OutgoingNotification, now: number): Operation<number> {
  const row = yield* one<{ id: number }>(
    "INSERT INTO notifications (incident_id, kind, payload, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    incidentId, n.kind, JSON.stringify(n.payload), now,
  );
  for (const notifier of n.notifiers) {
    yield* run(
      "INSERT INTO deliveries (notification_id, notifier, status, next_attempt_at, created_at) VALUES (?, ?, 'pending', ?, ?)",
      row!.id, notifier, now, now,
    );
  }
  return row!.id;
}
