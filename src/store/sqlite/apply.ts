import { hostname } from "node:os";
import type Database from "better-sqlite3";
import { scheduleHash, specJson, type JobSpec } from "../../job-spec.js";
import { applyDetail, hasChanges, JobSetHash, judgeApply, type ApplyOptions, type Generation } from "../apply-guard.js";
import { firstSlot } from "../first-slot.js";
import type { ApplyReport } from "../types.js";
import { recordControl } from "./bookkeeping.js";

/**
 * SQLite's applyJobs, inside its write transaction: add, update keeping history (re-anchoring
 * when the schedule changed), retire the rest; then the guards (apply-guard.ts), which roll the
 * whole apply back by throwing; then the generation and the control event.
 */
export function applyJobsTx(db: Database.Database, specs: JobSpec[], now: number, nextRev: () => number, options: ApplyOptions): ApplyReport {
  const report: ApplyReport = { added: [], updated: [], retired: [], unchanged: [], generation: null };
  const activeBefore = db.prepare("SELECT count(*) FROM jobs WHERE retired_at IS NULL").pluck().get() as number;
  const setHash = new JobSetHash();
  // Point lookups and a temp table of applied names, rather than a map of every existing job:
  // with 100,000 jobs that map would be the biggest thing in memory during a restart.
  const lookup = db.prepare(
    "SELECT json_extract(spec, '$.paused') AS paused, spec_hash, schedule_hash, retired_at FROM jobs WHERE name = ?",
  );
  const insert = db.prepare(
    `INSERT INTO jobs (name, spec, spec_hash, schedule_hash, anchor, next_slot, paused, created_at, updated_at, rev)
     VALUES (@name, @spec, @hash, @shash, @now, @next, @paused, @now, @now, @rev)`,
  );
  const update = db.prepare(
    `UPDATE jobs SET spec = @spec, spec_hash = @hash, schedule_hash = @shash, updated_at = @now, rev = @rev,
       retired_at = NULL, paused = coalesce(@paused, paused),
       resumed_at = CASE WHEN paused = 1 AND @paused = 0 THEN @now ELSE resumed_at END,
       anchor = CASE WHEN @reanchor THEN @now ELSE anchor END,
       next_slot = CASE WHEN @reanchor THEN @next ELSE next_slot END
     WHERE name = @name`,
  );
  db.exec("CREATE TEMP TABLE IF NOT EXISTS applied (name TEXT PRIMARY KEY); DELETE FROM temp.applied;");
  const remember = db.prepare("INSERT OR IGNORE INTO temp.applied (name) VALUES (?)");
  const rev = nextRev();
  for (const spec of specs) {
    remember.run(spec.name);
    const { json, hash } = specJson(spec);
    setHash.add(hash);
    const shash = scheduleHash(spec);
    const next = () => firstSlot(spec, now);
    const old = lookup.get(spec.name) as
      | { paused: number; spec_hash: string; schedule_hash: string; retired_at: number | null }
      | undefined;
    if (!old) {
      insert.run({ name: spec.name, spec: json, hash, shash, now, next: next(), paused: spec.paused ? 1 : 0, rev });
      report.added.push(spec.name);
      continue;
    }
    if (old.spec_hash === hash && old.retired_at === null) {
      report.unchanged.push(spec.name);
      continue;
    }
    // The config's `paused` only wins when the config itself changed it, so a reload never
    // silently resumes a job an operator paused from the CLI.
    const paused = (old.paused === 1) !== spec.paused ? (spec.paused ? 1 : 0) : null;
    const reanchor = old.schedule_hash !== shash || old.retired_at !== null ? 1 : 0;
    update.run({ name: spec.name, spec: json, hash, shash, now, rev, paused, reanchor, next: reanchor ? next() : null });
    report.updated.push(spec.name);
  }
  const retired = db
    .prepare(
      `UPDATE jobs SET retired_at = ?, updated_at = ?, rev = ?
       WHERE retired_at IS NULL AND name NOT IN (SELECT name FROM temp.applied) RETURNING name`,
    )
    .pluck()
    .all(now, now, rev) as string[];
  report.retired.push(...retired.sort());
  db.exec("DELETE FROM temp.applied");
  const jobsHash = setHash.digest();
  const generation = (sql: string, ...args: unknown[]) =>
    (db.prepare(`SELECT generation, jobs_hash AS jobsHash, applied_at AS appliedAt, source, host FROM config_generations ${sql} ORDER BY generation DESC LIMIT 1`).get(...args) as Generation | undefined) ?? null;
  const latest = generation("");
  judgeApply({ options, report, activeBefore, matching: generation("WHERE jobs_hash = ?", jobsHash), latest });
  report.generation = latest?.generation ?? null;
  if (latest?.jobsHash !== jobsHash) {
    report.generation = db.prepare("INSERT INTO config_generations (jobs_hash, applied_at, source, host) VALUES (?, ?, ?, ?) RETURNING generation")
      .pluck().get(jobsHash, now, options.source ?? "library", options.host ?? hostname()) as number;
  }
  if (hasChanges(report)) {
    recordControl(db, { at: now, source: options.source ?? "library", action: "apply", job: null, detail: applyDetail(report, report.generation, options.force === true) });
  }
  return report;
}
