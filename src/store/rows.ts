import type { JobRecord, RunRecord, RunStatus, RunTrigger, InstanceRecord } from "./types.js";

/** Column lists for SELECTs, kept next to the mappers that read them. */
export const RUN_COLUMNS =
  "id, job, slot, trigger, instance_id, attempt, status, started_at, finished_at, heartbeat_at, " +
  "exit_code, signal, error, missed_count, missed_until, blocked_by, created_at";

export const JOB_COLUMNS =
  "name, spec, spec_hash, anchor, next_slot, paused, retired_at, queued_slot, last_run_id, " +
  "last_started_at, last_finished_at, last_status, resumed_at, created_at, updated_at, rev, " +
  "(SELECT count(*) FROM runs r WHERE r.job = jobs.name AND r.status = 'running') AS running_count";

export interface RunRow {
  id: number; job: string; slot: number; trigger: string; instance_id: string | null; attempt: number;
  status: string; started_at: number | null; finished_at: number | null; heartbeat_at: number | null;
  exit_code: number | null; signal: string | null; error: string | null;
  missed_count: number | null; missed_until: number | null; blocked_by: number | null; created_at: number;
}

export function toRun(r: RunRow): RunRecord {
  return {
    id: r.id, job: r.job, slot: r.slot, trigger: r.trigger as RunTrigger, instanceId: r.instance_id,
    attempt: r.attempt, status: r.status as RunStatus, startedAt: r.started_at, finishedAt: r.finished_at,
    heartbeatAt: r.heartbeat_at, exitCode: r.exit_code, signal: r.signal, error: r.error,
    missedCount: r.missed_count, missedUntil: r.missed_until, blockedBy: r.blocked_by ?? null, createdAt: r.created_at,
  };
}

export interface JobRow {
  name: string; spec: string; spec_hash: string; anchor: number; next_slot: number | null; paused: number;
  retired_at: number | null; queued_slot: number | null; last_run_id: number | null;
  last_started_at: number | null; last_finished_at: number | null; last_status: string | null;
  resumed_at: number | null; created_at: number; updated_at: number; rev: number; running_count: number;
}

export function toJob(r: JobRow): JobRecord {
  return {
    name: r.name, spec: JSON.parse(r.spec), specHash: r.spec_hash, anchor: r.anchor, nextSlot: r.next_slot,
    paused: r.paused === 1, retiredAt: r.retired_at, queuedSlot: r.queued_slot, lastRunId: r.last_run_id,
    lastStartedAt: r.last_started_at, lastFinishedAt: r.last_finished_at,
    lastStatus: r.last_status as RunStatus | null, runningCount: r.running_count, resumedAt: r.resumed_at,
    createdAt: r.created_at, updatedAt: r.updated_at, rev: r.rev,
  };
}

export interface InstanceRow {
  id: string; host: string; pid: number; version: string; started_at: number; last_seen: number;
  stopped_at: number | null; clock_skew_ms?: number | null; supervisor?: string | null; problems?: string | null;
}

export function toInstance(r: InstanceRow): InstanceRecord {
  return {
    id: r.id, host: r.host, pid: r.pid, version: r.version, startedAt: r.started_at,
    lastSeen: r.last_seen, stoppedAt: r.stopped_at, clockSkewMs: r.clock_skew_ms ?? null,
    supervisor: r.supervisor ?? null, problems: r.problems ? (JSON.parse(r.problems) as string[]) : [],
  };
}
