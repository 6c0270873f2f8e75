import type { JobSpec, OverlapPolicy } from "../job-spec.js";
import type { MissedRange } from "../schedule/catchup.js";
import type { ApplyOptions } from "./apply-guard.js";

export type { ApplyOptions } from "./apply-guard.js";

export type RunStatus =
  | "running" | "succeeded" | "failed" | "timed_out" | "cancelled" | "abandoned" | "skipped" | "missed";
export type RunTrigger = "schedule" | "manual" | "catchup" | "retry";

export const RUN_STATUSES: readonly RunStatus[] = [
  "running", "succeeded", "failed", "timed_out", "cancelled", "abandoned", "skipped", "missed",
];
export const FINISHED_BAD: readonly RunStatus[] = ["failed", "timed_out", "abandoned"];

export interface RunRecord {
  id: number;
  job: string;
  slot: number;
  trigger: RunTrigger;
  instanceId: string | null;
  attempt: number;
  status: RunStatus;
  startedAt: number | null;
  finishedAt: number | null;
  heartbeatAt: number | null;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  /** For `missed` records: how many slots, up to which one. */
  missedCount: number | null;
  missedUntil: number | null;
  /** For `skipped` records: the run that was still going (or queued ahead) at the slot. */
  blockedBy: number | null;
  createdAt: number;
}

export interface RunOutput {
  stdout: string;
  stderr: string;
}

export interface JobRecord {
  name: string;
  spec: JobSpec;
  specHash: string;
  anchor: number;
  nextSlot: number | null;
  paused: boolean;
  retiredAt: number | null;
  queuedSlot: number | null;
  lastRunId: number | null;
  lastStartedAt: number | null;
  lastFinishedAt: number | null;
  lastStatus: RunStatus | null;
  runningCount: number;
  /** When the job was last resumed (slots before it were not expected to run). */
  resumedAt: number | null;
  createdAt: number;
  updatedAt: number;
  rev: number;
}

/** Seen within `withinMs`, and not stopped: alive, as far as the store can tell. */
export function isLive(i: InstanceRecord, now: number, withinMs: number): boolean {
  return i.stoppedAt === null && now - i.lastSeen <= withinMs;
}

export interface InstanceRecord {
  id: string;
  host: string;
  pid: number;
  version: string;
  startedAt: number;
  lastSeen: number;
  stoppedAt: number | null;
  /** The store's clock minus this instance's, measured at its last heartbeat (null: same clock). */
  clockSkewMs?: number | null;
  /** What runs it: `supervisord:PROGRAM`, `systemd:UNIT`, or null (started by hand or as a library). */
  supervisor?: string | null;
  /** What the instance reports wrong about itself (a log file it cannot write), as of its last heartbeat. */
  problems?: string[];
}

export interface TriggerRequest {
  id: number;
  job: string;
  requestedAt: number;
}

/** How a claim proves it is the one: compare-and-set on the job's next slot, a trigger row, or a queued slot. */
export type ClaimSource =
  | { kind: "slot"; expected: number; next: number | null }
  | { kind: "trigger"; triggerId: number }
  | { kind: "queued"; expected: number };

export interface SlotClaim {
  job: string;
  specHash: string;
  instanceId: string;
  source: ClaimSource;
  /** The slot to run; null when the claim only advances the job (paused, or all missed). */
  slot: number | null;
  trigger: RunTrigger;
  missed: MissedRange | null;
  overlap: OverlapPolicy;
  /** Catch-up `all` runs one missed slot at a time: leave the slot unclaimed while a run is going. */
  waitIfBusy: boolean;
  now: number;
}

export type ClaimOutcome =
  /** `unknown`: the claim's answer never came (connection lost); it may have committed. */
  | { kind: "lost"; unknown?: boolean }
  | { kind: "busy" }
  /** Another instance holds the job's row this instant (PostgreSQL batches): look again shortly. */
  | { kind: "contended" }
  | { kind: "advanced"; missedRun: RunRecord | null }
  | { kind: "started"; run: RunRecord; replacing: number[]; missedRun: RunRecord | null }
  | { kind: "skipped"; run: RunRecord; missedRun: RunRecord | null }
  | { kind: "queued"; missedRun: RunRecord | null };

export interface RunResult {
  runId: number;
  status: Exclude<RunStatus, "running" | "skipped" | "missed">;
  attempt: number;
  finishedAt: number;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  output: RunOutput;
}

export interface FinishOutcome {
  runId: number;
  job: string;
  /** Set when the job is now idle and has a queued slot waiting to start. */
  queuedSlot: number | null;
}

export interface ApplyReport {
  added: string[];
  updated: string[];
  retired: string[];
  unchanged: string[];
  /** The job set's generation in the store (a new one when the set was never applied before). */
  generation: number | null;
}

export type ControlAction = "pause" | "resume" | "trigger" | "apply" | "apply_refused";

/** A pause, resume, trigger or config apply, with where it came from. */
export interface ControlEvent {
  id: number;
  at: number;
  source: string;
  action: ControlAction;
  job: string | null;
  detail: Record<string, unknown> | null;
}

export interface RunFilter {
  job?: string;
  status?: RunStatus;
  /** Only runs claimed by this instance. */
  instanceId?: string;
  limit?: number;
  beforeId?: number;
}

export interface ChangeSet {
  rev: number;
  /** Ordered by (rev, name); with a `limit`, ask again after the last one for more. */
  jobs: JobRecord[];
  triggers: TriggerRequest[];
}

export interface ChangePage {
  /** Continue after this job (the last one of the previous page). */
  after?: { rev: number; name: string };
  limit?: number;
}

/** The dashboard's timeline: runs since `from`, counted per job, bucket and status, and each job's newest runs. */
export interface TimelineQuery {
  from: number;
  bucketMs: number;
  /** At most this many runs per job (the newest); the counts cover them all. */
  perJob: number;
}

export interface Timeline {
  counts: { job: string; bucket: number; status: RunStatus; n: number }[];
  runs: RunRecord[];
}

export interface Retention {
  keepRuns: number;
  keepMs: number;
}

export interface BookkeepingRetention {
  /** Closed incidents, settled notifications and control events older than this go. */
  keepMs: number;
  /** At most this many settled notifications and control events are kept, whatever their age. */
  keepRows: number;
  /** Triggers already claimed (or whose job is gone) older than this go. */
  triggersKeepMs: number;
}

/** What the engine must know of a store to use it well, beyond its methods. */
export interface StoreTraits {
  /** Its pushed changes are not lost (a watch on a local file), so the fallback poll may be rare. */
  reliablePush: boolean;
  /** How long before a slot to claim it: a local file answers in microseconds, a shared server in a round trip under other instances' load. */
  claimAheadMs: number;
}

/*
 * The store's methods, split by who calls them: each consumer (engine, health monitor,
 * delivery dispatcher, HTTP API, CLI, daemon) declares the part it needs, so what a module
 * can do to the store is visible in its signature. `Store` is all of them: what an
 * implementation provides. A method is in two parts when two users need it (the engine and
 * the read model both list instances).
 */

/**
 * The engine's side: following changes, claiming slots, finishing runs, instances and their
 * heartbeats, recovery and pruning. Implementations must make `claimSlots` atomic per claim:
 * with several instances on one database exactly one claim for a slot wins.
 */
export interface SchedulingStore {
  readonly traits: StoreTraits;

  /** A cheap value that changes when another process wrote; the engine polls it. */
  changeToken(): Promise<string>;
  /**
   * Optional push for the same changes (PostgreSQL LISTEN/NOTIFY): the engine then reacts at
   * once and keeps polling only as the fallback for lost notifications. Returns an unsubscribe.
   */
  subscribe?(onChange: () => void): Promise<() => Promise<void>>;
  changesSince(rev: number, page?: ChangePage): Promise<ChangeSet>;

  /** Where these jobs' schedules stand (cheap: no spec), to see which slots are still unclaimed. */
  nextSlots(names: string[]): Promise<{ name: string; nextSlot: number | null; specHash: string }[]>;
  claimSlots(claims: SlotClaim[]): Promise<ClaimOutcome[]>;
  updateAttempt(runId: number, attempt: number, now: number): Promise<void>;
  finishRuns(results: RunResult[]): Promise<FinishOutcome[]>;

  registerInstance(instance: InstanceRecord): Promise<void>;
  /**
   * Marks the instance alive and heartbeats exactly these runs (the ones it really holds).
   * `now` is the instance's corrected time and `clockOffsetMs` the correction it applies, so
   * the skew recorded for `status` is that of the machine's own clock. Returns the store's
   * clock minus `now` where the store has its own clock (what is left to correct), else null.
   * `problems`, when given, replaces the instance's reported problems (an empty list clears them).
   */
  heartbeat(instanceId: string, now: number, runIds: number[], clockOffsetMs?: number, problems?: string[]): Promise<number | null>;
  markInstanceStopped(instanceId: string, now: number): Promise<void>;
  /** Every instance, to find the dead ones whose runs must be abandoned. */
  listInstances(): Promise<InstanceRecord[]>;
  /** Running runs whose heartbeat is older than the budget, or whose instance is listed as dead. */
  abandonRuns(options: { now: number; staleBefore?: number; instanceIds?: string[] }): Promise<RunRecord[]>;

  /** Deletes the history of these jobs beyond the retention; returns how many runs went. */
  pruneRuns(retention: Retention, now: number, jobs: string[]): Promise<number>;
  /**
   * Deletes bookkeeping beyond its retention (see docs/behaviour.md): settled notifications and
   * their deliveries, closed incidents, handled triggers, control events and old generations.
   */
  pruneBookkeeping(retention: BookkeepingRetention, now: number): Promise<number>;
}

/** What people (CLI, HTTP, a library caller) change: the job set, pauses, triggers, and the record of those changes. */
export interface ControlStore {
  /** Add, update, retire; throws ApplyRefusedError when a guard asked for in `options` refuses (nothing is changed then). */
  applyJobs(specs: JobSpec[], now: number, options?: ApplyOptions): Promise<ApplyReport>;
  /** With a `source`, the change is also recorded as a control event. */
  setPaused(name: string, paused: boolean, now: number, source?: string): Promise<boolean>;
  requestTrigger(name: string, now: number, source?: string): Promise<TriggerRequest | null>;
  /** Control events after `afterId`, oldest first. */
  controlEventsSince(afterId: number, limit?: number): Promise<ControlEvent[]>;
  lastControlEventId(): Promise<number>;
}

/** What is shown (HTTP API, dashboard, CLI, health checks): reads only. */
export interface ReadModel {
  /** By name; with `limit`, continue with `after` set to the last name of the previous page. */
  listJobs(options?: { includeRetired?: boolean; after?: string; limit?: number }): Promise<JobRecord[]>;
  getJob(name: string): Promise<JobRecord | null>;
  getRun(id: number): Promise<RunRecord | null>;
  getRunOutput(id: number): Promise<RunOutput | null>;
  listRuns(filter: RunFilter): Promise<RunRecord[]>;
  timeline(q: TimelineQuery): Promise<Timeline>;
  listInstances(): Promise<InstanceRecord[]>;
  listOpenIncidents(): Promise<IncidentRecord[]>;
  /** The store's schema version (after the migrations this code applied on open). */
  schemaVersion(): Promise<number>;
}

/** Everything a store implementation provides, and what the one who opens it may close. */
export interface Store extends SchedulingStore, ControlStore, ReadModel, IncidentStore, OutboxStore {
  readonly kind: "sqlite" | "postgres";
  /** A redacted description safe to log. */
  readonly description: string;
  close(): Promise<void>;
}

// ---- health incidents and the notification outbox ------------------------------------------

export type IncidentState = "inactive" | "delayed" | "failing";
export type NotificationKind = "opened" | "changed" | "reminder" | "recovered" | "test";

export interface IncidentRecord {
  id: number;
  job: string;
  state: IncidentState;
  openedAt: number;
  since: number | null;
  closedAt: number | null;
  lastNotifiedAt: number;
  notifications: number;
}

/** A notification to write with an incident change, and the notifiers that must deliver it. */
export interface OutgoingNotification {
  kind: NotificationKind;
  /** The facts, as the notifiers format them (see notify/facts.ts). */
  payload: unknown;
  notifiers: string[];
}

export interface DeliveryRecord {
  id: number;
  notificationId: number;
  notifier: string;
  attempts: number;
  createdAt: number;
  kind: NotificationKind;
  payload: unknown;
}

export type DeliveryOutcome =
  | { kind: "delivered" }
  | { kind: "retry"; at: number; error: string }
  | { kind: "failed"; error: string };

/**
 * The health monitor's side. Incidents are changed by compare-and-set, so with several
 * instances exactly one of them opens, changes, reminds or closes an incident, and writes the
 * one notification for it (in the same transaction, into the outbox).
 */
export interface IncidentStore {
  listOpenIncidents(): Promise<IncidentRecord[]>;
  /** null when the job already has an open incident (another instance won). */
  openIncident(o: { job: string; state: IncidentState; since: number | null; now: number; notify: OutgoingNotification }): Promise<IncidentRecord | null>;
  changeIncident(o: { id: number; from: IncidentState; to: IncidentState; since: number | null; now: number; notify: OutgoingNotification }): Promise<boolean>;
  remindIncident(o: { id: number; lastNotifiedAt: number; now: number; notify: OutgoingNotification }): Promise<boolean>;
  /** `notify` null closes silently (the job was paused or retired). */
  closeIncident(o: { id: number; now: number; notify: OutgoingNotification | null }): Promise<boolean>;
}

/** The notification outbox: whom notifications are addressed to, and their deliveries, leased to one instance at a time. */
export interface OutboxStore {
  /** The notifier ids notifications are addressed to; written by a config apply. */
  setNotifiers(ids: string[]): Promise<void>;
  getNotifiers(): Promise<string[]>;
  /** Leases due deliveries of one notifier to this instance, oldest first. */
  claimDeliveries(o: { instanceId: string; notifier: string; now: number; leaseMs: number; limit: number }): Promise<DeliveryRecord[]>;
  /** Only the instance holding the lease can settle a delivery (false: the lease was lost). */
  settleDelivery(id: number, instanceId: string, outcome: DeliveryOutcome, now: number): Promise<boolean>;
}
