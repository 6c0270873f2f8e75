import Database from "better-sqlite3";
import postgres from "postgres";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { DeliveryRecord, NotificationKind, OutgoingNotification, Store } from "../../src/store/types.js";
import { PG_BASE } from "./postgres.js";

/*
 * The outbox as tests see it, in SQL over a connection of their own. The product only writes
 * notifications with an incident change and reads deliveries by leasing them, so a bare
 * notification and a list of every delivery are not part of the Store interface.
 */

export type DeliveryRow = DeliveryRecord & { status: string; lastError: string | null };
type DeliveryStatus = "pending" | "delivered" | "failed";

interface Row {
  id: number | string; notification_id: number | string; notifier: string; attempts: number | string; created_at: number | string;
  status: string; last_error: string | null; kind: NotificationKind; payload: string;
}

const LIST = `SELECT d.id, d.notification_id, d.notifier, d.attempts, d.created_at, d.status, d.last_error, n.kind, n.payload
  FROM deliveries d JOIN notifications n ON n.id = d.notification_id`;

/** Writes a notification (no incident) with one pending delivery per notifier, due now; returns its id. */
export async function enqueueNotification(store: Store, o: { now: number; notify: OutgoingNotification }): Promise<number> {
  const { kind, payload, notifiers } = o.notify;
  const addNotification = "INSERT INTO notifications (incident_id, kind, payload, created_at) VALUES (NULL, ?, ?, ?) RETURNING id";
  const addDelivery = "INSERT INTO deliveries (notification_id, notifier, status, next_attempt_at, created_at) VALUES (?, ?, 'pending', ?, ?)";
  if (store instanceof SqliteStore) {
    return withSqlite(store, (db) => db.transaction(() => {
      const id = db.prepare(addNotification).pluck().get(kind, JSON.stringify(payload), o.now) as number;
      for (const notifier of notifiers) db.prepare(addDelivery).run(id, notifier, o.now, o.now);
      return id;
    })());
  }
  return withPostgres(store, (sql) => sql.begin(async (tx) => {
    const [row] = await tx.unsafe(dollars(addNotification), [kind, JSON.stringify(payload), o.now]);
    const id = Number(row!.id);
    for (const notifier of notifiers) await tx.unsafe(dollars(addDelivery), [id, notifier, o.now, o.now]);
    return id;
  }));
}

/** Every delivery (or those in one status), oldest first, with its notification's kind and payload. */
export async function listDeliveries(store: Store, o: { status?: DeliveryStatus } = {}): Promise<DeliveryRow[]> {
  const query = `${LIST} ${o.status ? "WHERE d.status = ?" : ""} ORDER BY d.id`;
  const params = o.status ? [o.status] : [];
  const rows = store instanceof SqliteStore
    ? withSqlite(store, (db) => db.prepare(query).all(...params) as Row[])
    : await withPostgres(store, (sql) => sql.unsafe(dollars(query), params) as unknown as Promise<Row[]>);
  return rows.map((r) => ({
    id: Number(r.id), notificationId: Number(r.notification_id), notifier: r.notifier, attempts: Number(r.attempts),
    createdAt: Number(r.created_at), kind: r.kind, payload: JSON.parse(r.payload), status: r.status, lastError: r.last_error,
  }));
}

function withSqlite<T>(store: SqliteStore, fn: (db: Database.Database) => T): T {
  const db = new Database(store.path, { fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** PostgreSQL numbers its parameters: `?`, `?` becomes `$1`, `$2`. */
function dollars(query: string): string {
  let n = 0;
  return query.replace(/\?/g, () => `$${++n}`);
}

async function withPostgres<T>(store: Store, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  if (!(store instanceof PostgresStore)) throw new Error(`the outbox helper knows SQLite and PostgreSQL stores, not ${store.kind}`);
  const sql = postgres(PG_BASE, { max: 1, onnotice: () => {}, connection: { search_path: store.schema } });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}
