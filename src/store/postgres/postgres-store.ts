import { redactStoreUrl } from "../../config/store-url.js";
import type { JobSpec } from "../../job-spec.js";
import { JOB_COLUMNS, RUN_COLUMNS, toInstance, toJob, toRun, type InstanceRow, type JobRow, type RunRow } from "../rows.js";
import { WithIncidents } from "../with-incidents.js";
import type {
  ApplyOptions, ApplyReport, BookkeepingRetention, ChangePage, ControlEvent, ChangeSet, ClaimOutcome, FinishOutcome, InstanceRecord, JobRecord, Retention,
  RunFilter, RunOutput, RunRecord, RunResult, RunStatus, SlotClaim, Store, Timeline, TimelineQuery, TriggerRequest,
} from "../types.js";
import { applyInBulk } from "./apply.js";
import { withTypedErrors } from "../typed-errors.js";
import { ApplyRefusedError, refusedEvent } from "../apply-guard.js";
import { claimAll } from "./claims.js";
import { connect, migrate, translatePgError, type Sql } from "./connect.js";
import { SqlIncidents } from "../sql/incidents.js";
import { PostgresExecutor } from "./postgres-seam.js";
import { controlEventsSince, pruneBookkeeping, recordControl } from "./bookkeeping.js";

/**
 * The Store on PostgreSQL, for several instances sharing one database: the same contract as
 * SqliteStore (test/store/contract.ts runs against both). Every decision that must hold across
 * instances is a compare-and-set or a row lock inside one transaction.
 */
export class PostgresStore extends WithIncidents implements Store {
  readonly kind = "postgres" as const;
  /**
   * NOTIFYs are lost with a dropped connection; a tick's claims are a round trip to a server
   * other instances share (1,000 jobs a second from three instances: batches up to ~150 ms).
   */
  readonly traits = { reliablePush: false, claimAheadMs: 250 };
  readonly description: string;
  protected readonly incidents: SqlIncidents;
  private readonly exec: PostgresExecutor;

  private constructor(private readonly sql: Sql, readonly schema: string, url: string) {
    super();
    this.description = redactStoreUrl(url);
    this.exec = new PostgresExecutor(sql, schema, (error) => translatePgError(error, this.description));
    this.incidents = new SqlIncidents(this.exec);
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

  /** Every revision bump also sends NOTIFY on this channel (delivered when its transaction commits). */
  private get channel(): string {
    return `jobclock_${this.schema}`;
  }

  async subscribe(onChange: () => void): Promise<() => Promise<void>> {
    const { unlisten } = await this.sql.listen(this.channel, () => onChange());
    return unlisten;
  }


  async applyJobs(specs: JobSpec[], now: number, options: ApplyOptions = {}): Promise<ApplyReport> {
    return this.sql.begin(async (tx) => {
      // One apply at a time per schema: two instances starting with different configs take turns (last wins).
      await tx`SELECT pg_advisory_xact_lock(hashtext(${`jobclock-apply:${this.schema}`}))`;
      const rev = Number((await tx`UPDATE meta SET value = value + 1 WHERE key = 'rev' RETURNING value`)[0]!.value);
      await tx`SELECT pg_notify(${this.channel}, 'jobs')`;
      return applyInBulk(tx, specs, now, rev, options);
    }).catch(async (error) => {
      if (!(error instanceof ApplyRefusedError)) throw translatePgError(error, this.description);
      // Rolled back; but every instance should hear that someone tried (a stale config somewhere).
      await this.sql.begin(async (tx) => {
        await tx`UPDATE meta SET value = value + 1 WHERE key = 'rev'`; // so the others look, and log it
        await tx`SELECT pg_notify(${this.channel}, 'refused')`;
        await recordControl(tx, refusedEvent(error, now, options));
      });
      throw error;
    });
  }

  async listJobs(o: { includeRetired?: boolean; after?: string; limit?: number } = {}): Promise<JobRecord[]> {
    const rows = await this.sql.unsafe(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE ($1::boolean OR retired_at IS NULL) AND name > $2 ORDER BY name ${o.limit ? "LIMIT $3" : ""}`,
      o.limit ? [o.includeRetired ?? false, o.after ?? "", o.limit] : [o.includeRetired ?? false, o.after ?? ""],
    );
    return rows.map((r) => toJob(r as unknown as JobRow));
  }

  async getJob(name: string): Promise<JobRecord | null> {
    const [row] = await this.sql.unsafe(`SELECT ${JOB_COLUMNS} FROM jobs WHERE name = $1`, [name]);
    return row ? toJob(row as unknown as JobRow) : null;
  }

  async setPaused(name: string, paused: boolean, now: number, source?: string): Promise<boolean> {
    return this.sql.begin(async (tx) => {
      const [rev] = await tx`UPDATE meta SET value = value + 1 WHERE key = 'rev' RETURNING value`;
      await tx`SELECT pg_notify(${this.channel}, 'pause')`;
      const p = paused ? 1 : 0;
      const r = await tx`UPDATE jobs SET paused = ${p}, updated_at = ${now}, rev = ${rev!.value},
          resumed_at = CASE WHEN paused = 1 AND ${p}::int = 0 THEN ${now} ELSE resumed_at END
        WHERE name = ${name} AND retired_at IS NULL`;
      if (r.count === 1 && source) await recordControl(tx, { at: now, source, action: paused ? "pause" : "resume", job: name, detail: null });
      return r.count === 1;
    });
  }

  async requestTrigger(name: string, now: number, source?: string): Promise<TriggerRequest | null> {
    return this.sql.begin(async (tx) => {
      const [job] = await tx`SELECT 1 FROM jobs WHERE name = ${name} AND retired_at IS NULL`;
      if (!job) return null;
      await tx`UPDATE meta SET value = value + 1 WHERE key = 'rev'`;
      await tx`SELECT pg_notify(${this.channel}, 'trigger')`;
      const [row] = await tx`INSERT INTO triggers (job, requested_at) VALUES (${name}, ${now}) RETURNING id`;
      if (source) await recordControl(tx, { at: now, source, action: "trigger", job: name, detail: { trigger: Number(row!.id) } });
      return { id: Number(row!.id), job: name, requestedAt: now };
    });
  }

  async controlEventsSince(afterId: number, limit = 1_000): Promise<ControlEvent[]> {
    return controlEventsSince(this.sql, afterId, limit);
  }

  async lastControlEventId(): Promise<number> {
    const [row] = await this.sql`SELECT coalesce(max(id), 0) AS id FROM control_events`;
    return Number(row!.id);
  }

  async pruneBookkeeping(retention: BookkeepingRetention, now: number): Promise<number> {
    return pruneBookkeeping(this.sql, retention, now);
  }

  /** The revision counter moves on every change another process must see (applies, pauses, triggers). */
  async changeToken(): Promise<string> {
    const [row] = await this.sql`SELECT value FROM meta WHERE key = 'rev'`;
    return String(row!.value);
  }

  async changesSince(rev: number, page: ChangePage = {}): Promise<ChangeSet> {
    const [meta] = await this.sql`SELECT value FROM meta WHERE key = 'rev'`;
    const after = page.after ?? { rev, name: "" };
    const rows = await this.sql.unsafe(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE rev > $1 AND (rev, name) > ($2::bigint, $3::text) ORDER BY rev, name ${page.limit ? "LIMIT $4" : ""}`,
      page.limit ? [rev, after.rev, after.name, page.limit] : [rev, after.rev, after.name],
    );
    const triggers = await this.sql`SELECT id, job, requested_at FROM triggers WHERE claimed_by IS NULL ORDER BY id`;
    return {
      rev: Number(meta!.value),
      jobs: rows.map((r) => toJob(r as unknown as JobRow)),
      triggers: triggers.map((t) => ({ id: Number(t.id), job: t.job as string, requestedAt: Number(t.requested_at) })),
    };
  }

  async nextSlots(names: string[]): Promise<{ name: string; nextSlot: number | null; specHash: string }[]> {
    const rows = await this.sql`SELECT name, next_slot, spec_hash FROM jobs WHERE name = ANY(${names}::text[]) AND retired_at IS NULL`;
    return rows.map((r) => ({ name: r.name as string, nextSlot: r.next_slot as number | null, specHash: r.spec_hash as string }));
  }

  async claimSlots(claims: SlotClaim[]): Promise<ClaimOutcome[]> {
    return claimAll(this.sql, claims).catch((error) => Promise.reject(translatePgError(error, this.description)));
  }

  async updateAttempt(runId: number, attempt: number, now: number): Promise<void> {
    await this.sql`UPDATE runs SET attempt = ${attempt}, heartbeat_at = ${now} WHERE id = ${runId} AND status = 'running'`;
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

  async registerInstance(i: InstanceRecord): Promise<void> {
    await this.sql`INSERT INTO instances (id, host, pid, version, started_at, last_seen, stopped_at, supervisor)
      VALUES (${i.id}, ${i.host}, ${i.pid}, ${i.version}, ${i.startedAt}, ${i.lastSeen}, NULL, ${i.supervisor ?? null})
      ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, stopped_at = NULL`;
  }

  async heartbeat(instanceId: string, now: number, runIds: number[], clockOffsetMs = 0, problems?: string[]): Promise<number | null> {
    // One statement, so the database's clock is read in the first round trip (no BEGIN before it).
    const [row] = await this.sql`WITH beat AS (
        UPDATE runs SET heartbeat_at = ${now}
        WHERE instance_id = ${instanceId} AND status = 'running' AND id = ANY(${runIds}::bigint[]))
      UPDATE instances SET last_seen = ${now},
          clock_skew_ms = (extract(epoch from clock_timestamp()) * 1000)::bigint - ${now} + ${clockOffsetMs}
        WHERE id = ${instanceId} RETURNING (extract(epoch from clock_timestamp()) * 1000)::bigint - ${now} AS residual`;
    // Rare (a problem appears or goes), and after the clock reading so it does not lengthen it.
    if (problems) await this.sql`UPDATE instances SET problems = ${problems.length > 0 ? JSON.stringify(problems) : null} WHERE id = ${instanceId}`;
    return row ? Number(row.residual) : null;
  }

  async schemaVersion(): Promise<number> {
    const [row] = await this.sql`SELECT max(version) AS v FROM schema_migrations`;
    return Number(row!.v);
  }

  async markInstanceStopped(instanceId: string, now: number): Promise<void> {
    await this.sql`UPDATE instances SET stopped_at = ${now} WHERE id = ${instanceId}`;
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return (await this.sql`SELECT * FROM instances ORDER BY started_at DESC`).map((r) => toInstance(r as unknown as InstanceRow));
  }

  async abandonRuns(o: { now: number; staleBefore?: number; instanceIds?: string[] }): Promise<RunRecord[]> {
    if (o.staleBefore === undefined && !o.instanceIds?.length) return [];
    return this.sql.begin(async (tx) => {
      const rows = await tx.unsafe(
        `UPDATE runs SET status = 'abandoned', finished_at = $1,
           error = 'its instance ' || coalesce(instance_id, '?') || ' stopped heartbeating; the run was cut short'
         WHERE status = 'running' AND (heartbeat_at < $2 OR instance_id = ANY($3::text[])) RETURNING ${RUN_COLUMNS}`,
        [o.now, o.staleBefore ?? -1, o.instanceIds ?? []],
      );
      for (const r of rows) {
        await tx`UPDATE jobs SET last_finished_at = ${o.now}, last_status = 'abandoned' WHERE name = ${r.job as string} AND coalesce(last_finished_at, 0) <= ${o.now}`;
      }
      return rows.map((r) => toRun(r as unknown as RunRow));
    });
  }

  async getRun(id: number): Promise<RunRecord | null> {
    const [row] = await this.sql.unsafe(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
    return row ? toRun(row as unknown as RunRow) : null;
  }

  async getRunOutput(id: number): Promise<RunOutput | null> {
    const [row] = await this.sql`SELECT stdout, stderr FROM runs WHERE id = ${id}`;
    return row ? { stdout: (row.stdout as string | null) ?? "", stderr: (row.stderr as string | null) ?? "" } : null;
  }

  async listRuns(f: RunFilter): Promise<RunRecord[]> {
    const rows = await this.sql.unsafe(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE ($1::text IS NULL OR job = $1) AND ($2::text IS NULL OR status = $2)
         AND ($3::bigint IS NULL OR id < $3) AND ($5::text IS NULL OR instance_id = $5) ORDER BY id DESC LIMIT $4`,
      [f.job ?? null, f.status ?? null, f.beforeId ?? null, f.limit ?? 20, f.instanceId ?? null],
    );
    return rows.map((r) => toRun(r as unknown as RunRow));
  }

  async timeline(q: TimelineQuery): Promise<Timeline> {
    // A dashboard's read shares the pool with claims: it may not hold a connection for long.
    const { counts, runs } = await this.sql.begin(async (tx) => {
      await tx`SET LOCAL statement_timeout = 5000`;
      const counts = await tx`SELECT job, (coalesce(started_at, created_at) - ${q.from}) / ${q.bucketMs} AS bucket, status, count(*)::int AS n
        FROM runs WHERE created_at >= ${q.from} GROUP BY 1, 2, 3`;
      const runs = await tx.unsafe(
        `SELECT ${RUN_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY job ORDER BY id DESC) AS rn
         FROM runs WHERE created_at >= $1) r WHERE rn <= $2 ORDER BY id`,
        [q.from, q.perJob],
      );
      return { counts, runs };
    });
    return {
      counts: counts.map((c) => ({ job: c.job as string, bucket: Number(c.bucket), status: c.status as RunStatus, n: Number(c.n) })),
      runs: runs.map((r) => toRun(r as unknown as RunRow)),
    };
  }

  async pruneRuns(retention: Retention, now: number, jobs: string[]): Promise<number> {
    const cutoff = now - retention.keepMs;
    let removed = 0;
    for (const job of jobs) {
      const r = await this.sql`DELETE FROM runs WHERE job = ${job} AND status <> 'running' AND created_at < ${cutoff}
        AND id < coalesce((SELECT id FROM runs WHERE job = ${job} ORDER BY id DESC LIMIT 1 OFFSET ${retention.keepRuns - 1}), 0)`;
      removed += r.count;
    }
    return removed;
  }
}

function withoutNul(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}
