import { hostname } from "node:os";
import { scheduleHash, specJson, type JobSpec } from "../../job-spec.js";
import { firstSlot } from "../first-slot.js";
import { applyDetail, hasChanges, JobSetHash, judgeApply, type ApplyOptions, type Generation } from "../apply-guard.js";
import type { ApplyReport } from "../types.js";
import type postgres from "postgres";
import { recordControl } from "./bookkeeping.js";

// Rows per round trip: 100,000 jobs apply in 50 look-ups and about as many bulk writes,
// instead of two round trips per job.
const CHUNK = 2_000;

export type Tx = postgres.TransactionSql<Record<string, never>>;

interface Existing {
  name: string;
  paused: boolean;
  spec_hash: string;
  schedule_hash: string;
  retired_at: number | null;
}

/**
 * The body of PostgreSQL's applyJobs, inside its transaction: the same rules as SQLite's (add,
 * update keeping history, re-anchor when the schedule changed, retire the rest), in bulk; then
 * the guards (apply-guard.ts), which roll it all back by throwing; the generation; the event.
 */
export async function applyInBulk(tx: Tx, specs: JobSpec[], now: number, rev: number, options: ApplyOptions): Promise<ApplyReport> {
  const report: ApplyReport = { added: [], updated: [], retired: [], unchanged: [], generation: null };
  const [{ active }] = (await tx`SELECT count(*)::int AS active FROM jobs WHERE retired_at IS NULL`) as unknown as [{ active: number }];
  const setHash = new JobSetHash();
  for (let i = 0; i < specs.length; i += CHUNK) {
    const chunk = specs.slice(i, i + CHUNK);
    const rows = await tx<Existing[]>`SELECT name, (spec::json->>'paused')::boolean AS paused, spec_hash, schedule_hash, retired_at
      FROM jobs WHERE name = ANY(${chunk.map((s) => s.name)}::text[])`;
    const existing = new Map(rows.map((r) => [r.name, r]));
    const inserts: unknown[] = [];
    const updates: unknown[] = [];
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
        // The config's `paused` wins only when the config itself changed it, so a reload never
        // silently resumes a job an operator paused from the CLI.
        const paused = old.paused !== spec.paused ? (spec.paused ? 1 : 0) : null;
        const reanchor = old.schedule_hash !== shash || old.retired_at !== null;
        updates.push({ name: spec.name, spec: json, hash, shash, paused, reanchor, next: reanchor ? firstSlot(spec, now) : null });
        report.updated.push(spec.name);
      }
    }
    if (inserts.length > 0) await insertJobs(tx, inserts, now, rev);
    if (updates.length > 0) await updateJobs(tx, updates, now, rev);
  }
  const retired = await tx`UPDATE jobs SET retired_at = ${now}, updated_at = ${now}, rev = ${rev}
    WHERE retired_at IS NULL AND NOT (name = ANY(${specs.map((s) => s.name)}::text[])) RETURNING name`;
  report.retired.push(...retired.map((r) => r.name as string).sort());
  await judgeAndRecord(tx, report, setHash.digest(), active, now, options);
  return report;
}

async function judgeAndRecord(tx: Tx, report: ApplyReport, jobsHash: string, activeBefore: number, now: number, options: ApplyOptions): Promise<void> {
  const newest = async (hash: string | null) =>
    ((await tx`SELECT generation, jobs_hash AS "jobsHash", applied_at AS "appliedAt", source, host FROM config_generations
      WHERE ${hash}::text IS NULL OR jobs_hash = ${hash} ORDER BY generation DESC LIMIT 1`)[0] as Generation | undefined) ?? null;
  const latest = await newest(null);
  judgeApply({ options, report, activeBefore, matching: await newest(jobsHash), latest });
  report.generation = latest?.generation ?? null;
  if (latest?.jobsHash !== jobsHash) {
    const [row] = await tx`INSERT INTO config_generations (jobs_hash, applied_at, source, host)
      VALUES (${jobsHash}, ${now}, ${options.source ?? "library"}, ${options.host ?? hostname()}) RETURNING generation`;
    report.generation = Number(row!.generation);
  }
  if (hasChanges(report)) {
    await recordControl(tx, { at: now, source: options.source ?? "library", action: "apply", job: null, detail: applyDetail(report, report.generation, options.force === true) });
  }
}

async function insertJobs(tx: Tx, rows: unknown[], now: number, rev: number): Promise<void> {
  await tx`INSERT INTO jobs (name, spec, spec_hash, schedule_hash, anchor, next_slot, paused, created_at, updated_at, rev)
    SELECT name, spec, hash, shash, ${now}, next, paused, ${now}, ${now}, ${rev}
    FROM jsonb_to_recordset(${tx.json(rows as never)}) AS x(name text, spec text, hash text, shash text, next bigint, paused int)`;
}

async function updateJobs(tx: Tx, rows: unknown[], now: number, rev: number): Promise<void> {
  await tx`UPDATE jobs SET spec = u.spec, spec_hash = u.hash, schedule_hash = u.shash, updated_at = ${now}, rev = ${rev},
      retired_at = NULL, resumed_at = CASE WHEN jobs.paused = 1 AND u.paused = 0 THEN ${now} ELSE jobs.resumed_at END,
      paused = coalesce(u.paused, jobs.paused),
      anchor = CASE WHEN u.reanchor THEN ${now} ELSE jobs.anchor END,
      next_slot = CASE WHEN u.reanchor THEN u.next ELSE jobs.next_slot END
    FROM jsonb_to_recordset(${tx.json(rows as never)}) AS u(name text, spec text, hash text, shash text, paused int, reanchor boolean, next bigint)
    WHERE jobs.name = u.name`;
}
