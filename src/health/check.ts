import type { JobRecord, ReadModel } from "../store/types.js";
import { UNHEALTHY, type Health } from "./evaluate.js";
import { jobHealth } from "./job-health.js";

export interface CheckResult {
  healthy: boolean;
  jobs: number;
  unhealthy: {
    job: string; state: Health["state"]; since: number | null; reason: string;
    lastRun: { id: number; status: JobRecord["lastStatus"]; startedAt: number | null; finishedAt: number | null } | null;
  }[];
}

/** What `jobclock check` and `GET /api/v1/health` answer: every job's health, from the store. */
export async function checkHealth(store: Pick<ReadModel, "listJobs">, now: number): Promise<{ result: CheckResult; unhealthyJobs: { job: JobRecord; health: Health }[] }> {
  const jobs = await store.listJobs();
  const unhealthyJobs = jobs
    .map((job) => ({ job, health: jobHealth(job, now) }))
    .filter(({ health }) => UNHEALTHY.includes(health.state));
  const result: CheckResult = {
    healthy: unhealthyJobs.length === 0,
    jobs: jobs.length,
    unhealthy: unhealthyJobs.map(({ job, health }) => ({
      job: job.name, state: health.state, since: health.since, reason: health.reason,
      lastRun: job.lastRunId === null ? null : { id: job.lastRunId, status: job.lastStatus, startedAt: job.lastStartedAt, finishedAt: job.lastFinishedAt },
    })),
  };
  return { result, unhealthyJobs };
}
