import { JOB_COLUMNS, RUN_COLUMNS, toInstance, toJob, toRun, type InstanceRow, type JobRow, type RunRow } from "../rows.js";
import type { ChangePage, ChangeSet, InstanceRecord, JobRecord, RunFilter, RunOutput, RunRecord, Timeline, TimelineQuery, TriggerRequest } from "../types.js";
import { all, one, type Dialect, type Operation } from "./seam.js";

/**
 * What the CLI, the dashboard and the engine read, the same on both databases. Typed nullable
 * parameters are written CAST(? AS …): PostgreSQL cannot guess a bare parameter's type.
 */

const limitClause = (limit: number | undefined) => (limit !== undefined ? "LIMIT ?" : "");
const limitArgs = (limit: number | undefined) => (limit !== undefined ? [limit] : []);

export function* listJobs(o: { includeRetired?: boolean; after?: string; limit?: number }): Operation<JobRecord[]> {
  const rows = yield* all<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE ${o.includeRetired ? "" : "retired_at IS NULL AND "}name > ? ORDER BY name ${limitClause(o.limit)}`,
    o.after ?? "", ...limitArgs(o.limit),
  );
  return rows.map(toJob);
}

export function* getJob(name: string): Operation<JobRecord | null> {
  const row = yield* one<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE name = ?`, name);
  return row ? toJob(row) : null;
}

/** The jobs changed since revision `rev` (a page at a time, in (rev, name) order), and the triggers not yet claimed. */
export function* changesSince(rev: number, page: ChangePage): Operation<ChangeSet> {
  const current = (yield* one<{ value: number }>("SELECT value FROM meta WHERE key = 'rev'"))!.value;
  const after = page.after ?? { rev, name: "" };
  const jobs = yield* all<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE rev > ? AND (rev, name) > (CAST(? AS BIGINT), CAST(? AS TEXT))
     ORDER BY rev, name ${limitClause(page.limit)}`,
    rev, after.rev, after.name, ...limitArgs(page.limit),
  );
  const triggers = yield* all<{ id: number; job: string; requested_at: number }>(
    "SELECT id, job, requested_at FROM triggers WHERE claimed_by IS NULL ORDER BY id",
  );
  return { rev: current, jobs: jobs.map(toJob), triggers: triggers.map((t): TriggerRequest => ({ id: t.id, job: t.job, requestedAt: t.requested_at })) };
}

export function* nextSlots(d: Dialect, names: string[]): Operation<{ name: string; nextSlot: number | null; specHash: string }[]> {
  const list = d.inList("name", "text", names);
  const rows = yield* all<{ name: string; next_slot: number | null; spec_hash: string }>(
    `SELECT name, next_slot, spec_hash FROM jobs WHERE ${list.sql} AND retired_at IS NULL`, ...list.args,
  );
  return rows.map((r) => ({ name: r.name, nextSlot: r.next_slot, specHash: r.spec_hash }));
}

export function* listInstances(): Operation<InstanceRecord[]> {
  return (yield* all<InstanceRow>("SELECT * FROM instances ORDER BY started_at DESC")).map(toInstance);
}

export function* getRun(id: number): Operation<RunRecord | null> {
  const row = yield* one<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`, id);
  return row ? toRun(row) : null;
}

export function* getRunOutput(id: number): Operation<RunOutput | null> {
  const row = yield* one<{ stdout: string | null; stderr: string | null }>("SELECT stdout, stderr FROM runs WHERE id = ?", id);
  return row ? { stdout: row.stdout ?? "", stderr: row.stderr ?? "" } : null;
}

/** Only the filters given become conditions, so each shape of the query can use its index. */
export function* listRuns(f: RunFilter): Operation<RunRecord[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.job !== undefined) (where.push("job = ?"), args.push(f.job));
  if (f.status !== undefined) (where.push("status = ?"), args.push(f.status));
  if (f.instanceId !== undefined) (where.push("instance_id = ?"), args.push(f.instanceId));
  if (f.beforeId !== undefined) (where.push("id < ?"), args.push(f.beforeId));
  const rows = yield* all<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`,
    ...args, f.limit ?? 20,
  );
  return rows.map(toRun);
}

/** Run counts per job, time bucket and status since `from`, and each job's newest `perJob` runs. */
export function* timeline(q: TimelineQuery): Operation<Timeline> {
  const counts = yield* all<Timeline["counts"][number]>(
    `SELECT job, CAST((coalesce(started_at, created_at) - ?) / ? AS BIGINT) AS bucket, status, count(*) AS n
     FROM runs WHERE created_at >= ? GROUP BY 1, 2, 3`,
    q.from, q.bucketMs, q.from,
  );
  const runs = yield* all<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY job ORDER BY id DESC) AS rn
     FROM runs WHERE created_at >= ?) r WHERE rn <= ? ORDER BY id`,
    q.from, q.perJob,
  );
  return { counts, runs: runs.map(toRun) };
}

export function* schemaVersion(): Operation<number> {
  return (yield* one<{ v: number }>("SELECT max(version) AS v FROM schema_migrations"))!.v;
}
