import type { JobSpec } from "../job-spec.js";
import { buildSchedule } from "../schedule/schedule.js";

/** A job's first slot when it is applied (or re-anchored) at `now`: both stores write it. */
export function firstSlot(spec: JobSpec, now: number): number | null {
  const schedule =
    spec.schedule.kind === "every"
      ? buildSchedule({ kind: "every", everyMs: spec.schedule.everyMs, anchor: now })
      : buildSchedule(spec.schedule);
  return schedule.first(now, spec.runOnStart);
}
