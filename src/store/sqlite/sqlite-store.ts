import type Database from "better-sqlite3";
import { SqlStore } from "../sql/sql-store.js";
import type { ClaimOutcome, FinishOutcome, RunResult, SlotClaim, Store } from "../types.js";
import { withTypedErrors } from "../typed-errors.js";
import { SqliteClaimer } from "./claims.js";
import { watchDatabase } from "./file-watch.js";
import { openSqlite, translateSqliteError, type SqliteOpenOptions } from "./open.js";
import { SqliteExecutor } from "./sqlite-seam.js";

/**
 * The Store on one SQLite file. What it shares with PostgreSQL is in SqlStore (sql/); here is
 * what differs: the file watch and data_version for change push, one clock, and the hot path
 * (claims, finishing runs, heartbeats) as statements prepared once, run in one synchronous
 * transaction. better-sqlite3 is synchronous; the async surface is for parity with PostgreSQL.
 */
export class SqliteStore extends SqlStore implements Store {
  readonly kind = "sqlite" as const;
  /** A local file: inotify on it loses nothing, and a claim takes microseconds. */
  readonly traits = { reliablePush: true, claimAheadMs: 100 };
  readonly description: string;
  declare protected readonly exec: SqliteExecutor;
  private readonly claimer: SqliteClaimer;
  private readonly statements;

  private constructor(private readonly db: Database.Database, readonly path: string) {
    super(new SqliteExecutor(db, (error) => translateSqliteError(error, path)));
    this.description = `sqlite:${path}`;
    this.claimer = new SqliteClaimer(db);
    this.statements = {
      // Checked on every change pushed and every poll: prepared once (db.pragma() prepares anew).
      dataVersion: db.prepare("PRAGMA data_version").pluck(),
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
    };
  }

  static open(path: string, options?: SqliteOpenOptions): SqliteStore {
    return withTypedErrors(new SqliteStore(openSqlite(path, options), path), (error) => translateSqliteError(error, path));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Another process's commit touches the database's files: react at once (see watchDatabase). */
  async subscribe(onChange: () => void): Promise<() => Promise<void>> {
    return watchDatabase(this.path, onChange);
  }

  /** Moves with every commit of any process (data_version), not only the revision bumps. */
  async changeToken(): Promise<string> {
    return String(this.statements.dataVersion.get());
  }

  async claimSlots(claims: SlotClaim[]): Promise<ClaimOutcome[]> {
    // One transaction for the whole batch: a thousand slots due in the same tick cost one commit.
    return this.exec.transaction(() => claims.map((c) => this.claimer.claim(c)));
  }

  async finishRuns(results: RunResult[]): Promise<FinishOutcome[]> {
    return this.exec.transaction(() =>
      results.map((r) => {
        const job = this.statements.finish.get({
          runId: r.runId, status: r.status, attempt: r.attempt, finishedAt: r.finishedAt, exitCode: r.exitCode,
          signal: r.signal, error: r.error, stdout: r.output.stdout, stderr: r.output.stderr,
        }) as string | undefined;
        if (job === undefined) return { runId: r.runId, job: "", queuedSlot: null };
        // One statement records the result on the job and tells whether a slot is queued;
        // only then is it worth asking whether the job is idle.
        const queued = (this.statements.jobFinished.get({ job, runId: r.runId, at: r.finishedAt, status: r.status }) as number | null | undefined) ?? null;
        const queuedSlot = queued !== null && this.statements.anyRunning.get(job) === undefined ? queued : null;
        return { runId: r.runId, job, queuedSlot };
      }),
    );
  }

  async heartbeat(instanceId: string, now: number, runIds: number[], _offset?: number, problems?: string[]): Promise<number | null> {
    this.exec.transaction(() => {
      this.statements.instanceSeen.run(now, instanceId);
      if (problems) this.statements.instanceProblems.run(problems.length > 0 ? JSON.stringify(problems) : null, instanceId);
      if (runIds.length > 0) this.statements.runsSeen.run(now, instanceId, JSON.stringify(runIds));
    });
    return null; // one machine, one clock
  }
}
