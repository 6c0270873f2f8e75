import { knownSecrets, type KnownSecrets } from "./config/secrets.js";
import { jobHealth } from "./health/job-health.js";
import type { Health } from "./health/evaluate.js";
import type { JobSpec } from "./job-spec.js";
import { scheduleInWords } from "./schedule/in-words.js";
import { isLive, type IncidentRecord, type InstanceRecord, type JobRecord, type RunOutput, type RunRecord } from "./store/types.js";

/**
 * How jobs, runs, run output, instances and incidents are shown outside the process: one
 * function per entity, used by the HTTP API and by every `jobclock … --json`, so a script
 * written against one works against the other (docs/api.md lists the shapes). Records from
 * the store never leave the process as they are: they hold secrets and internal bookkeeping.
 */

/**
 * A job's spec as shown: its `env` values are often secrets (tokens, passwords), so only the
 * names show; and every value the config brought in from env_file or `${NAME}` (6 characters or
 * more) reads `${NAME}` wherever it was substituted, as in a `command` or `shell`.
 */
export function redactSecrets(job: JobRecord, secrets: Pick<KnownSecrets, "redact"> = knownSecrets): JobRecord {
  const env = Object.fromEntries(Object.keys(job.spec.env).map((k) => [k, "***"]));
  return { ...job, spec: { ...redactStrings(job.spec, secrets), env } };
}

/** A copy of a JSON-like value with each string redacted. */
function redactStrings<T>(value: T, secrets: Pick<KnownSecrets, "redact">): T {
  if (typeof value === "string") return secrets.redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, secrets)) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v, secrets)])) as T;
}

/** A job as lists show it (`GET /api/v1/jobs`, the dashboard): no spec, so a poll every two seconds stays light. */
export interface JobView {
  name: string;
  description: string | null;
  tags: string[];
  schedule: { text: string } & JobSpec["schedule"];
  action: JobSpec["action"]["kind"];
  overlap: JobSpec["overlap"];
  paused: boolean;
  retired: boolean;
  health: Health | null;
  lastRun: { id: number; status: RunRecord["status"] | null; startedAt: number | null; finishedAt: number | null; durationMs: number | null } | null;
  nextSlot: number | null;
  running: number;
}

/** One job in full (`GET /api/v1/jobs/NAME`, each element of `jobclock jobs --json`): the list's view and the redacted spec. */
export interface JobDetailView extends JobView {
  spec: JobSpec;
}

export function jobView(job: JobRecord, now: number): JobView {
  const { spec } = job;
  // The last run started is shown. The job's last status belongs to the run that finished
  // last, which (overlap: allow) may be an older one: while the newest still runs, say so.
  const newestEnded = job.lastStartedAt !== null && job.lastFinishedAt !== null && job.lastFinishedAt >= job.lastStartedAt;
  const stillRunning = !newestEnded && job.runningCount > 0;
  const durationMs = newestEnded ? job.lastFinishedAt! - job.lastStartedAt! : null;
  return {
    // Free text may hold a `${NAME}` value too (see redactSecrets).
    name: job.name, description: redactStrings(spec.description, knownSecrets), tags: redactStrings(spec.tags, knownSecrets),
    schedule: { ...spec.schedule, text: scheduleInWords(spec) },
    action: spec.action.kind, overlap: spec.overlap, paused: job.paused, retired: job.retiredAt !== null,
    health: job.retiredAt === null ? jobHealth(job, now) : null,
    lastRun: job.lastRunId === null ? null : {
      id: job.lastRunId, status: stillRunning ? "running" : job.lastStatus, startedAt: job.lastStartedAt,
      finishedAt: stillRunning ? null : job.lastFinishedAt, durationMs,
    },
    nextSlot: job.paused || job.retiredAt !== null ? null : job.nextSlot,
    running: job.runningCount,
  };
}

export function jobDetailView(job: JobRecord, now: number): JobDetailView {
  return { ...jobView(job, now), spec: redactSecrets(job).spec };
}

export interface RunView extends RunRecord {
  durationMs: number | null;
}

export function runView(run: RunRecord): RunView {
  const durationMs = run.startedAt !== null && run.finishedAt !== null ? Math.max(0, run.finishedAt - run.startedAt) : null;
  return { ...run, durationMs };
}

/** A run as the dashboard's timeline draws it: only what a bar needs, for up to 200 runs a job. */
export type TimelineRunView = Pick<RunRecord, "id" | "job" | "status" | "trigger" | "slot" | "startedAt" | "finishedAt" | "createdAt">;

export function timelineRunView(r: RunRecord): TimelineRunView {
  return { id: r.id, job: r.job, status: r.status, trigger: r.trigger, slot: r.slot, startedAt: r.startedAt, finishedAt: r.finishedAt, createdAt: r.createdAt };
}

/** A run's recorded output (`GET /api/v1/runs/ID/log`; `jobclock logs --json` adds the run's view). */
export interface RunOutputView extends RunOutput {
  runId: number;
}

export function runOutputView(runId: number, output: RunOutput): RunOutputView {
  return { runId, stdout: output.stdout, stderr: output.stderr };
}

/** An instance with whether it counts as alive (seen within the abandon budget, not stopped). */
export interface InstanceView extends InstanceRecord {
  live: boolean;
}

export function instanceView(instance: InstanceRecord, now: number, liveWithinMs: number): InstanceView {
  return { ...instance, live: isLive(instance, now, liveWithinMs) };
}

/** An open incident as the health monitor keeps it. */
export type IncidentView = IncidentRecord;

export function incidentView(incident: IncidentRecord): IncidentView {
  const { id, job, state, openedAt, since, closedAt, lastNotifiedAt, notifications } = incident;
  return { id, job, state, openedAt, since, closedAt, lastNotifiedAt, notifications };
}
