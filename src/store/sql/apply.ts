import { hostname } from "node:os";
import { scheduleHash, specJson, type JobSpec } from "../../job-spec.js";
import { applyDetail, ApplyRefusedError, hasChanges, JobSetHash, judgeApply, refusedEvent, type ApplyOptions, type Generation } from "../apply-guard.js";
import { firstSlot } from "../first-slot.js";
import type { ApplyReport } from "../types.js";
import { recordControl } from "./bookkeeping.js";
import { all, bumpRev, one, run, type Dialect, type Executor, type Operation } from "./seam.js";

// Names per look-up: 100,000 jobs apply in 50 look-ups and about as many bulk writes, instead
// of two statements per job (round trips on PostgreSQL), and without a map of every existing
// job (with 100,000 jobs it would be the biggest thing in memory during a restart).
const CHUNK = 2_000;

interface Existing {
  name: string;
  /** The `paused` of the config last applied (1, 0 or null), not the job's current state. */
  paused: number | null;
  spec_hash: string;
  schedule_hash: string;
  retired_at: number | null;
}

/**
 * Applies a job set in one transaction; a set the guards refuse is rolled back, and the refusal
 * recorded in a transaction of its own, so every instance hears that someone tried (a stale
 * config somewhere).
 */
export async function applyJobSet(db: Executor, specs: JobSpec[], now: number, options: ApplyOptions): Promise<ApplyReport> {
  try {
    return await db.write((d) => applyJobs(d, specs, now, options));
  } catch (error) {
    if (!(error instanceof ApplyRefusedError)) throw error;
    await db.write(function* (d) {
      yield* bumpRev(d, "refused"); // so the others look, and log it
      yield* recordControl(refusedEvent(error, now, options));
    });
    throw error;
  }
}

/**
 * Add, update keeping history (re-anchoring when the schedule changed), retire the rest; then
 * the guards (apply-guard.ts), which roll the whole apply back by throwing; then the generation
 * and the control event.
 */
function* applyJobs(d: Dialect, specs: JobSpec[], now: number, options: ApplyOptions): Operation<ApplyReport> {
  yield* d.applyLock();
  const rev = yield* bumpRev(d, "jobs");
  const report: ApplyReport = { added: [], updated: [], retired: [], unchanged: [], generation: null };
  const activeBefore = (yield* one<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE retired_at IS NULL"))!.n;
  const setHash = new JobSetHash();
  for (let i = 0; i < specs.length; i += CHUNK) {
    const chunk = specs.slice(i, i + CHUNK);
    const names = d.inList("name", "text", chunk.map((s) => s.name));
    const rows = yield* all<Existing>(
      `SELECT name, ${d.jsonFlag("spec", "paused")} AS paused, spec_hash, schedule_hash, retired_at FROM jobs WHERE ${names.sql}`,
      ...names.args,
    );
    const existing = new Map(rows.map((r) => [r.name, r]));
    const inserts: Record<string, unknown>[] = [];
    const updates: Record<string, unknown>[] = [];
    for (const spec of chunk) {
      const { json, hash } = specJson(spec);
      setHash.add(hash);
      const shash = scheduleHash(spec);
      const old = existing.get(spec.name);
      if (!old) {
        inserts.push({ name: spec.name, spec: json, hash, shash, next: firstSlot(spec, now), paused: spec.paused ? 1 : 0 });
        report.added.push(spec.name);
      } else if (old.spec_hash === hash && old.retired_at === null) {
        report.unchanged.push(spec.name);
      } else {
        // The config's `paused` only wins when the config itself changed it, so a reload never
        // silently resumes a job an operator paused from the CLI.
        const paused = (old.paused === 1) !== spec.paused ? (spec.paused ? 1 : 0) : null;
        const reanchor = old.schedule_hash !== shash || old.retired_at !== null ? 1 : 0;
        updates.push({ name: spec.name, spec: json, hash, shash, paused, reanchor, next: reanchor ? firstSlot(spec, now) : null });
        report.updated.push(spec.name);
      }
    }
    if (inserts.length > 0) yield* insertJobs(d, inserts, now, rev);
    if (updates.length > 0) yield* updateJobs(d, updates, now, rev);
  }
  const applied = d.inList("name", "text", specs.map((s) => s.name));
  const retired = yield* all<{ name: string }>(
    `UPDATE jobs SET retired_at = ?, updated_at = ?, rev = ? WHERE retired_at IS NULL AND NOT (${applied.sql}) RETURNING name`,
    now, now, rev, ...applied.args,
  );
  report.retired.push(...retired.map((r) => r.name).sort());
  yield* judgeAndRecord(report, setHash.digest(), activeBefore, now, options);
  return report;
}

function* judgeAndRecord(report: ApplyReport, jobsHash: string, activeBefore: number, now: number, options: ApplyOptions): Operation<void> {
  const newest = (hash: string | null) =>
    one<Generation>(
      `SELECT generation, jobs_hash AS "jobsHash", applied_at AS "appliedAt", source, host FROM config_generations
       ${hash === null ? "" : "WHERE jobs_hash = ?"} ORDER BY generation DESC LIMIT 1`,
      ...(hash === null ? [] : [hash]),
    );
  const latest = (yield* newest(null)) ?? null;
  judgeApply({ options, report, activeBefore, matching: (yield* newest(jobsHash)) ?? null, latest });
  report.generation = latest?.generation ?? null;
  if (latest?.jobsHash !== jobsHash) {
    const row = yield* one<{ generation: number }>(
      "INSERT INTO config_generations (jobs_hash, applied_at, source, host) VALUES (?, ?, ?, ?) RETURNING generation",
      jobsHash, now, options.source ?? "library", options.host ?? hostname(),
    );
    report.generation = row!.generation;
  }
  if (hasChanges(report)) {
    yield* recordControl({ at: now, source: options.source ?? "library", action: "apply", job: null, detail: applyDetail(report, report.generation, options.force === true) });
  }
}

function* insertJobs(d: Dialect, rows: Record<string, unknown>[], now: number, rev: number): Operation<void> {
  const sets = d.recordsets("x", [["name", "text"], ["spec", "text"], ["hash", "text"], ["shash", "text"], ["next", "bigint"], ["paused", "int"]], rows);
  // One text for every fragment (they share their SQL): the statement cache finds it at once.
  const sql = `INSERT INTO jobs (name, spec, spec_hash, schedule_hash, anchor, next_slot, paused, created_at, updated_at, rev)
     SELECT name, spec, hash, shash, ?, next, paused, ?, ?, ? FROM ${sets[0]!.sql}`;
  for (const x of sets) yield* run(sql, now, now, now, rev, ...x.args);
}

function* updateJobs(d: Dialect, rows: Record<string, unknown>[], now: number, rev: number): Operation<void> {
  const sets = d.recordsets("u", [["name", "text"], ["spec", "text"], ["hash", "text"], ["shash", "text"], ["paused", "int"], ["reanchor", "int"], ["next", "bigint"]], rows);
  const sql = `UPDATE jobs SET spec = u.spec, spec_hash = u.hash, schedule_hash = u.shash, updated_at = ?, rev = ?,
       retired_at = NULL, resumed_at = CASE WHEN jobs.paused = 1 AND u.paused = 0 THEN ? ELSE jobs.resumed_at END,
       paused = coalesce(u.paused, jobs.paused),
       anchor = CASE WHEN u.reanchor = 1 THEN ? ELSE jobs.anchor END,
       next_slot = CASE WHEN u.reanchor = 1 THEN u.next ELSE jobs.next_slot END
     FROM ${sets[0]!.sql} WHERE jobs.name = u.name`;
  for (const u of sets) yield* run(sql, now, rev, now, now, ...u.args);
}
