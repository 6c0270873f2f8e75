import { redactStoreUrl } from "../../config/store-url.js";
import { SqlStore } from "../sql/sql-store.js";
import type { ClaimOutcome, FinishOutcome, RunResult, SlotClaim, Store } from "../types.js";
import { withTypedErrors } from "../typed-errors.js";
import { claimAll } from "./claims.js";
import { connect, migrate, translatePgError, type Sql } from "./connect.js";
import { changeChannel, PostgresExecutor } from "./postgres-seam.js";

/**
 * The Store on PostgreSQL, for several instances sharing one database: the same contract as
 * SqliteStore (test/store/contract.ts runs against both). Every decision that must hold across
 * instances is a compare-and-set or a row lock inside one transaction. What it shares with
 * SQLite is in SqlStore (sql/); here is what differs: LISTEN/NOTIFY and the revision counter for
 * change push, the database's clock, and the hot path in as few round trips as it takes.
 */
export class PostgresStore extends SqlStore implements Store {
  readonly kind = "postgres" as const;
  /**
   * NOTIFYs are lost with a dropped connection; a tick's claims are a round trip to a server
   * other instances share (1,000 jobs a second from three instances: batches up to ~150 ms).
   */
  readonly traits = { reliablePush: false, claimAheadMs: 250 };
  readonly description: string;

  private constructor(private readonly sql: Sql, readonly schema: string, url: string) {
    super(new PostgresExecutor(sql, schema, (error) => translatePgError(error, redactStoreUrl(url))));
    this.description = redactStoreUrl(url);
  }

  static async open(url: string): Promise<PostgresStore> {
    const { sql, schema } = connect(url);
    const store = new PostgresStore(sql, schema, url);
    withTypedErrors(store, (error) => translatePgError(error, store.description));
    try {
      await migrate(sql, schema, store.description);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw translatePgError(error, store.description);
    }
    return store;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  /** Every revision bump also sends NOTIFY (postgresDialect), delivered when its transaction commits. */
  async subscribe(onChange: () => void): Promise<() => Promise<void>> {
    const { unlisten } = await this.sql.listen(changeChannel(this.schema), () => onChange());
    return unlisten;
  }

  /** The revision counter moves on every change another process must see (applies, pauses, triggers). */
  async changeToken(): Promise<string> {
    const [row] = await this.sql`SELECT value FROM meta WHERE key = 'rev'`;
    return String(row!.value);
  }

  async claimSlots(claims: SlotClaim[]): Promise<ClaimOutcome[]> {
    return claimAll(this.sql, claims); // errors translated by withTypedErrors, as every method
  }

  async finishRuns(results: RunResult[]): Promise<FinishOutcome[]> {
    // Server-side (migration 005): one round trip however many runs end together. PostgreSQL
    // text cannot hold NUL: one job printing `find -print0` must not make its result (and the
    // batch it rides in) unwritable forever.
    const clean = results.map((r) => ({
      ...r, error: r.error === null ? null : withoutNul(r.error),
      output: { stdout: withoutNul(r.output.stdout), stderr: withoutNul(r.output.stderr) },
    }));
    const [row] = await this.sql`SELECT jobclock_finish_batch(${this.sql.json(clean as never)}) AS out`;
    return (row!.out as { runId: number; job: string; queuedSlot: number | null }[]).map((o) => ({
      runId: Number(o.runId), job: o.job, queuedSlot: o.queuedSlot === null ? null : Number(o.queuedSlot),
    }));
  }

  async heartbeat(instanceId: string, now: number, runIds: number[], clockOffsetMs = 0, problems?: string[]): Promise<number | null> {
    // One statement, so the database's clock is read in the first round trip (no BEGIN before it).
    // A run whose row another transaction holds is being finished (or abandoned) right now: it
    // is skipped, not waited for. Waiting deadlocked with a finish batch taking the same rows in
    // another order, and cost the heartbeat.
    const [row] = await this.sql`WITH mine AS (
        SELECT id FROM runs WHERE instance_id = ${instanceId} AND status = 'running' AND id = ANY(${runIds}::bigint[])
        FOR UPDATE SKIP LOCKED),
      beat AS (UPDATE runs SET heartbeat_at = ${now} FROM mine WHERE runs.id = mine.id)
      UPDATE instances SET last_seen = ${now},
          clock_skew_ms = (extract(epoch from clock_timestamp()) * 1000)::bigint - ${now} + ${clockOffsetMs}
        WHERE id = ${instanceId} RETURNING (extract(epoch from clock_timestamp()) * 1000)::bigint - ${now} AS residual`;
    // Rare (a problem appears or goes), and after the clock reading so it does not lengthen it.
    if (problems) await this.sql`UPDATE instances SET problems = ${problems.length > 0 ? JSON.stringify(problems) : null} WHERE id = ${instanceId}`;
    return row ? Number(row.residual) : null;
  }
}

function withoutNul(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}
