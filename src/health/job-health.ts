import { buildSchedule } from "../schedule/schedule.js";
import type { JobRecord } from "../store/types.js";
import { evaluateHealth, type Health } from "./evaluate.js";

/** The health of a job as the store records it (what `check`, `jobs` and the monitor use). */
export function jobHealth(job: JobRecord, now: number): Health {
  const s = job.spec.schedule;
  const schedule = s.kind === "every" ? buildSchedule({ kind: "every", everyMs: s.everyMs, anchor: job.anchor }) : buildSchedule(s);
  return evaluateHealth(
    {
      paused: job.paused, graceMs: job.spec.graceMs, jitterMs: job.spec.jitterMs, runOnStart: job.spec.runOnStart,
      anchor: job.anchor, resumedAt: job.resumedAt, lastStartedAt: job.lastStartedAt, lastFinishedAt: job.lastFinishedAt,
      lastStatus: job.lastStatus, runningCount: job.runningCount,
    },
    schedule,
    now,
  );
}
