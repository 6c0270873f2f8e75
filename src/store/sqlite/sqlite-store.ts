import type Database from "better-sqlite3";
import type { JobSpec } from "../../job-spec.js";
import { WithIncidents } from "../with-incidents.js";
import type {
  ApplyOptions, ApplyReport, BookkeepingRetention, ChangePage, ControlEvent, ChangeSet, ClaimOutcome, FinishOutcome, InstanceRecord, JobRecord, Retention, RunFilter,
  RunOutput, RunRecord, RunResult, SlotClaim, Store, Timeline, TimelineQuery, TriggerRequest,
} from "../types.js";
import { StatementCache } from "./statement-cache.js";
import { SqliteClaimer } from "./claims.js";
import { watchDatabase } from "./file-watch.js";
import { SqlIncidents } from "../sql/incidents.js";
import { SqliteExecutor } from "./sqlite-seam.js";
import { openSqlite, translateSqliteError, type SqliteOpenOptions } from "./open.js";
import { applyJobsTx } from "./apply.js";
import { withTypedErrors } from "../typed-errors.js";
import { ApplyRefusedError, refusedEvent } from "../apply-guard.js";
import { controlEventsSince, pruneBookkeepingTx, recordControl } from "./bookkeeping.js";
import { JOB_COLUMNS, RUN_COLUMNS, toInstance, toJob, toRun, type InstanceRow, type JobRow, type RunRow } from "../rows.js";

/** better-sqlite3 is synchronous; the async surface is for parity with the PostgreSQL store. */
export class SqliteStore extends WithIncidents implements Store {
  readonly kind = "sqlite" as const;
  /** A local file: inotify on it loses nothing, and a claim takes microseconds. */
  readonly traits = { reliablePush: true, claimAheadMs: 100 };
  readonly description: string;
  private readonly claimer: SqliteClaimer;
  protected readonly incidents: SqlIncidents;
  private readonly exec: SqliteExecutor;
  private readonly s;
  private readonly statements: StatementCache;

  private constructor(private readonly db: Database.Database, readonly path: string) {
    super();
    this.description = `sqlite:${path}`;
    this.claimer = new SqliteClaimer(db);
    this.statements = new StatementCache(db);
    this.exec = new SqliteExecutor(db, (error) => translateSqliteError(error, path));
    this.incidents = new SqlIncidents(this.exec);
    this.s = {
      bumpRev: db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'rev' RETURNING value").pluck(),
      // Checked on every change pushed and every poll: prepared once (db.pragma() prepares anew).
      dataVersion: db.prepare("PRAGMA data_version").pluck(),
      getJob: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE name = ?`),
      finish: db.prepare(
        `UPDATE runs SET status = @status, attempt = @attempt, finished_at = @finishedAt, exit_code = @exitCode,
           signal = @signal, error = @error, stdout = @stdout, stderr = @stderr
         WHERE id = @runId AND status IN ('running', 'abandoned') RETURNING job`,
      ).pluck(),
      jobFinished: db.prepare(
        // The latest run to *finish* gives the job its last status: with overlap allow, an older
        // run that fails after a newer one started must still show.
        `UPDATE jobs SET last_finished_at = CASE WHEN coalesce(last_finished_at, 0) <= @at THEN @at ELSE last_finished_at END,
           last_status = CASE WHEN coalesce(last_finished_at, 0) <= @at THEN @status ELSE last_status END
         WHERE name = @job RETURNING queued_slot`,
      ).pluck(),
      anyRunning: db.prepare("SELECT 1 FROM runs WHERE job = ? AND status = 'running' LIMIT 1").pluck(),
      // The heartbeat's statements run every few seconds for the process's life: prepared once.
      instanceSeen: db.prepare("UPDATE instances SET last_seen = ? WHERE id = ?"),
      instanceProblems: db.prepare("UPDATE instances SET problems = ? WHERE id = ?"),
      runsSeen: db.prepare(
        `UPDATE runs SET heartbeat_at = ? WHERE instance_id = ? AND status = 'running'
           AND id IN (SELECT value FROM json_each(?))`,
      ),
      instances: db.prepare("SELECT * FROM instances ORDER BY started_at DESC"),
    };
  }


  static open(path: string, options?: SqliteOpenOptions): SqliteStore {
    return withTypedErrors(new SqliteStore(openSqlite(path, options), path), (error) => translateSqliteError(error, path));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Runs a write transaction, mapping SQLite errors (locked, corrupt) to StoreErrors. */
  private write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (error) {
      if (error instanceof ApplyRefusedError) throw error; // a guard's refusal, rolled back: not a store failure
      throw translateSqliteError(error, this.path);
    }
  }

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw translateSqliteError(error, this.path);
    }
  }

  async applyJobs(specs: JobSpec[], now: number, options: ApplyOptions = {}): Promise<ApplyReport> {
    try {
      return this.write(() => applyJobsTx(this.db, specs, now, () => this.s.bumpRev.get() as number, options));
    } catch (error) {
      // Rolled back; but every instance should hear that someone tried (a stale config somewhere).
      if (error instanceof ApplyRefusedError) this.write(() => recordControl(this.db, refusedEvent(error, now, options)));
      throw error;
    }
  }

  async listJobs(options: { includeRetired?: boolean; after?: string; limit?: number } = {}): Promise<JobRecord[]> {
    const where = [options.includeRetired ? "1" : "retired_at IS NULL", "name > ?"].join(" AND ");
    return this.read(() =>
      (this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE ${where} ORDER BY name LIMIT ?`).all(options.after ?? "", options.limit ?? -1) as JobRow[]).map(toJob),
    );
  }

  async getJob(name: string): Promise<JobRecord | null> {
    return this.read(() => {
      const row = this.s.getJob.get(name) as JobRow | undefined;
      return row ? toJob(row) : null;
    });
  }

  async setPaused(name: string, paused: boolean, now: number, source?: string): Promise<boolean> {
    return this.write(() => {
      const rev = this.s.bumpRev.get() as number;
      const r = this.db
        .prepare(
          `UPDATE jobs SET paused = ?, updated_at = ?, rev = ?,
             resumed_at = CASE WHEN paused = 1 AND ? = 0 THEN ? ELSE resumed_at END
           WHERE name = ? AND retired_at IS NULL`,
        )
        .run(paused ? 1 : 0, now, rev, paused ? 1 : 0, now, name);
      if (r.changes === 1 && source) recordControl(this.db, { at: now, source, action: paused ? "pause" : "resume", job: name, detail: null });
      return r.changes === 1;
    });
  }

  async requestTrigger(name: string, now: number, source?: string): Promise<TriggerRequest | null> {
    return this.write(() => {
      const exists = this.db.prepare("SELECT 1 FROM jobs WHERE name = ? AND retired_at IS NULL").get(name);
      if (!exists) return null;
      this.s.bumpRev.get();
      const id = this.db
        .prepare("INSERT INTO triggers (job, requested_at) VALUES (?, ?) RETURNING id")
        .pluck()
        .get(name, now) as number;
      if (source) recordControl(this.db, { at: now, source, action: "trigger", job: name, detail: { trigger: id } });
      return { id, job: name, requestedAt: now };
    });
  }

  async controlEventsSince(afterId: number, limit = 1_000): Promise<ControlEvent[]> {
    return this.read(() => controlEventsSince(this.db, afterId, limit));
  }

  async lastControlEventId(): Promise<number> {
    return this.read(() => (this.db.prepare("SELECT coalesce(max(id), 0) FROM control_events").pluck().get() as number));
  }

  /** Another process's commit touches the database's files: react at once (see watchDatabase). */
  async subscribe(onChange: () => void): Promise<() => Promise<void>> {
    return watchDatabase(this.path, onChange);
  }

  async changeToken(): Promise<string> {
    return this.read(() => String(this.s.dataVersion.get()));
  }

  async changesSince(rev: number, page: ChangePage = {}): Promise<ChangeSet> {
    return this.read(() => {
      const current = this.db.prepare("SELECT value FROM meta WHERE key = 'rev'").pluck().get() as number;
      const after = page.after ?? { rev, name: "" };
      const jobs = (this.db
        .prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE rev > ? AND (rev, name) > (?, ?) ORDER BY rev, name LIMIT ?`)
        .all(rev, after.rev, after.name, page.limit ?? -1) as JobRow[]).map(toJob);
      const triggers = this.db
        .prepare("SELECT id, job, requested_at AS requestedAt FROM triggers WHERE claimed_by IS NULL ORDER BY id")
        .all() as TriggerRequest[];
      return { rev: current, jobs, triggers };
    });
  }

  async nextSlots(names: string[]): Promise<{ name: string; nextSlot: number | null; specHash: string }[]> {
    return this.read(() =>
      (this.db.prepare("SELECT name, next_slot, spec_hash FROM jobs WHERE name IN (SELECT value FROM json_each(?)) AND retired_at IS NULL")
        .all(JSON.stringify(names)) as { name: string; next_slot: number | null; spec_hash: string }[])
        .map((r) => ({ name: r.name, nextSlot: r.next_slot, specHash: r.spec_hash })),
    );
  }

  async claimSlots(claims: SlotClaim[]): Promise<ClaimOutcome[]> {
    // One transaction for the whole batch: a thousand slots due in the same tick cost one commit.
    return this.write(() => claims.map((c) => this.claimer.claim(c)));
  }

  async updateAttempt(runId: number, attempt: number, now: number): Promise<void> {
    this.write(() =>
      this.db.prepare("UPDATE runs SET attempt = ?, heartbeat_at = ? WHERE id = ? AND status = 'running'").run(attempt, now, runId),
    );
  }

  async finishRuns(results: RunResult[]): Promise<FinishOutcome[]> {
    return this.write(() =>
      results.map((r) => {
        const job = this.s.finish.get({
          runId: r.runId, status: r.status, attempt: r.attempt, finishedAt: r.finishedAt, exitCode: r.exitCode,
          signal: r.signal, error: r.error, stdout: r.output.stdout, stderr: r.output.stderr,
        }) as string | undefined;
        if (job === undefined) return { runId: r.runId, job: "", queuedSlot: null };
        // One statement records the result on the job and tells whether a slot is queued;
        // only then is it worth asking whether the job is idle.
        const queued = (this.s.jobFinished.get({ job, runId: r.runId, at: r.finishedAt, status: r.status }) as number | null | undefined) ?? null;
        const queuedSlot = queued !== null && this.s.anyRunning.get(job) === undefined ? queued : null;
        return { runId: r.runId, job, queuedSlot };
      }),
    );
  }

  async registerInstance(i: InstanceRecord): Promise<void> {
    this.write(() =>
      this.db
        .prepare(
          `INSERT INTO instances (id, host, pid, version, started_at, last_seen, stopped_at, supervisor)
           VALUES (?, ?, ?, ?, ?, ?, NULL, ?)
           ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, stopped_at = NULL`,
        )
        .run(i.id, i.host, i.pid, i.version, i.startedAt, i.lastSeen, i.supervisor ?? null),
    );
  }

  async heartbeat(instanceId: string, now: number, runIds: number[], _offset?: number, problems?: string[]): Promise<number | null> {
    this.write(() => {
      this.s.instanceSeen.run(now, instanceId);
      if (problems) this.s.instanceProblems.run(problems.length > 0 ? JSON.stringify(problems) : null, instanceId);
      if (runIds.length > 0) this.s.runsSeen.run(now, instanceId, JSON.stringify(runIds));
    });
    return null; // one machine, one clock
  }

  async schemaVersion(): Promise<number> {
    return this.read(() => this.db.prepare("SELECT max(version) FROM schema_migrations").pluck().get() as number);
  }

  async markInstanceStopped(instanceId: string, now: number): Promise<void> {
    this.write(() =>
      this.db.prepare("UPDATE instances SET stopped_at = ? WHERE id = ?").run(now, instanceId),
    );
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return this.read(() =>
      (this.s.instances.all() as InstanceRow[]).map(toInstance),
    );
  }

  async abandonRuns(o: { now: number; staleBefore?: number; instanceIds?: string[] }): Promise<RunRecord[]> {
    return this.write(() => abandonTx(this.db, o, this.statements));
  }

  async getRun(id: number): Promise<RunRecord | null> {
    return this.read(() => {
      const row = this.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
      return row ? toRun(row) : null;
    });
  }

  async getRunOutput(id: number): Promise<RunOutput | null> {
    return this.read(() => {
      const row = this.db.prepare("SELECT stdout, stderr FROM runs WHERE id = ?").get(id) as
        | { stdout: string | null; stderr: string | null }
        | undefined;
      return row ? { stdout: row.stdout ?? "", stderr: row.stderr ?? "" } : null;
    });
  }

  async listRuns(f: RunFilter): Promise<RunRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.job !== undefined) (where.push("job = ?"), args.push(f.job));
    if (f.status !== undefined) (where.push("status = ?"), args.push(f.status));
    if (f.instanceId !== undefined) (where.push("instance_id = ?"), args.push(f.instanceId));
    if (f.beforeId !== undefined) (where.push("id < ?"), args.push(f.beforeId));
    const sql = `SELECT ${RUN_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY id DESC LIMIT ?`;
    return this.read(() => (this.db.prepare(sql).all(...args, f.limit ?? 20) as RunRow[]).map(toRun));
  }

  async timeline(q: TimelineQuery): Promise<Timeline> {
    return this.read(() => ({
      counts: this.db.prepare(
        `SELECT job, CAST((coalesce(started_at, created_at) - @from) / @bucketMs AS INTEGER) AS bucket, status, count(*) AS n
         FROM runs WHERE created_at >= @from GROUP BY 1, 2, 3`,
      ).all(q) as Timeline["counts"],
      runs: (this.db.prepare(
        `SELECT ${RUN_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY job ORDER BY id DESC) AS rn
         FROM runs WHERE created_at >= @from) WHERE rn <= @perJob ORDER BY id`,
      ).all(q) as RunRow[]).map(toRun),
    }));
  }

  async pruneRuns(retention: Retention, now: number, jobs: string[]): Promise<number> {
    const cutoff = now - retention.keepMs;
    // "Whichever keeps more": a run goes only when it is both older than keepMs and not among
    // the newest keepRuns of its job.
    const prune = this.db.prepare(
      `DELETE FROM runs WHERE job = @job AND status != 'running' AND created_at < @cutoff
         AND id < coalesce((SELECT id FROM runs WHERE job = @job ORDER BY id DESC LIMIT 1 OFFSET @keep - 1), 0)`,
    );
    return this.write(() => jobs.reduce((n, job) => n + prune.run({ job, cutoff, keep: retention.keepRuns }).changes, 0));
  }

  async pruneBookkeeping(retention: BookkeepingRetention, now: number): Promise<number> {
    return this.write(() => pruneBookkeepingTx(this.db, retention, now));
  }
}

function abandonTx(
  db: Database.Database,
  o: { now: number; staleBefore?: number; instanceIds?: string[] },
  statements: StatementCache,
): RunRecord[] {
  const conditions: string[] = [];
  const args: unknown[] = [];
  if (o.staleBefore !== undefined) (conditions.push("heartbeat_at < ?"), args.push(o.staleBefore));
  if (o.instanceIds?.length) {
    conditions.push(`instance_id IN (${o.instanceIds.map(() => "?").join(",")})`);
    args.push(...o.instanceIds);
  }
  if (conditions.length === 0) return [];
  // Asked at every heartbeat, almost always in the same shape: the statement is kept.
  const rows = statements
    .get(
      `UPDATE runs SET status = 'abandoned', finished_at = ?,
         error = 'its instance ' || coalesce(instance_id, '?') || ' stopped heartbeating; the run was cut short'
       WHERE status = 'running' AND (${conditions.join(" OR ")}) RETURNING ${RUN_COLUMNS}`,
    )
    .all(o.now, ...args) as RunRow[];
  if (rows.length === 0) return [];
  const mark = db.prepare(
    "UPDATE jobs SET last_finished_at = ?, last_status = 'abandoned' WHERE name = ? AND coalesce(last_finished_at, 0) <= ?",
  );
  for (const r of rows) mark.run(o.now, r.job, o.now);
  return rows.map(toRun);
}
