import type { Schedule } from "../schedule/schedule.js";
import { FINISHED_BAD, type RunStatus } from "../store/types.js";

export type HealthState = "ok" | "paused" | "running" | "inactive" | "delayed" | "failing";
export const UNHEALTHY: readonly HealthState[] = ["inactive", "delayed", "failing"];

export interface HealthInput {
  paused: boolean;
  graceMs: number;
  jitterMs: number;
  runOnStart: boolean;
  /** When the job's schedule started counting (first apply, or the last schedule change). */
  anchor: number;
  /** Slots before a resume were not expected to run. */
  resumedAt: number | null;
  lastStartedAt: number | null;
  lastFinishedAt: number | null;
  lastStatus: RunStatus | null;
  runningCount: number;
}

export interface Health {
  state: HealthState;
  /** Since when the job is in this state (null for ok and paused). */
  since: number | null;
  /** For people: why it is in this state. */
  reason: string;
}

/**
 * A job's health (docs/notifications.md explains each state), as a pure function of the job's record, its schedule and the time. The order of
 * the checks is the precedence: a paused job raises nothing; a missed slot (never ran at all:
 * inactive) outranks a failed last run; a failed last run stays "failing" while the next run is
 * going, so an incident does not flap closed and open again on every retry.
 */
export function evaluateHealth(job: HealthInput, schedule: Schedule, now: number): Health {
  if (job.paused) return { state: "paused", since: null, reason: "paused by an operator" };
  const tolerance = job.graceMs + job.jitterMs;
  const watchFrom = Math.max(job.anchor, job.resumedAt ?? 0);
  // The latest slot that should have started by now ("more than grace" overdue)…
  const due = schedule.previous(now - tolerance - 1);
  const started = due !== null && job.lastStartedAt !== null && job.lastStartedAt >= due;
  if (due !== null && due >= watchFrom && !started) {
    // …counting only from the job's first slot (looked up only here: it costs a cron lookup).
    const first = schedule.first(job.anchor, job.runOnStart);
    if (first !== null && due >= first) {
      if (job.lastStartedAt === null) {
        const since = Math.max(first, schedule.next(watchFrom - 1) ?? first);
        return { state: "inactive", since, reason: `never ran; its first slot was ${iso(since)}` };
      }
      return { state: "delayed", since: due, reason: `the slot of ${iso(due)} has not started (grace ${Math.round(job.graceMs / 1000)}s)` };
    }
  }
  if (job.lastStatus && FINISHED_BAD.includes(job.lastStatus)) {
    return { state: "failing", since: job.lastFinishedAt, reason: `its last run ${job.lastStatus.replace("_", " ")}` };
  }
  if (job.runningCount > 0) return { state: "running", since: job.lastStartedAt, reason: "a run is in progress" };
  return { state: "ok", since: null, reason: "its last due slot started on time" };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
