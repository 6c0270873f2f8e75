import type { JobSpec } from "../../job-spec.js";
import type { ApplyOptions } from "../apply-guard.js";
import type {
  ApplyReport, BookkeepingRetention, ChangePage, ChangeSet, ControlEvent, InstanceRecord, JobRecord, Retention, RunFilter, RunOutput,
  RunRecord, Timeline, TimelineQuery, TriggerRequest,
} from "../types.js";
import { WithIncidents } from "../with-incidents.js";
import { applyJobSet } from "./apply.js";
import { controlEventsSince, lastControlEventId, pruneBookkeeping } from "./bookkeeping.js";
import { SqlIncidents } from "./incidents.js";
import { requestTrigger, setPaused } from "./operator-actions.js";
import * as reads from "./read-model.js";
import { abandonRuns, markInstanceStopped, pruneRuns, registerInstance, updateAttempt } from "./run-upkeep.js";
import type { Executor } from "./seam.js";

/** How long a dashboard's timeline may take: it shares the connections with claims. */
const TIMELINE_TIMEOUT_MS = 5_000;

/**
 * Everything a store does the same way on both databases, written once over the seam
 * (seam.ts). SqliteStore and PostgresStore add only what truly differs: opening and migrating,
 * change push and the change token, the clock, and the hot path (claims, finishing runs,
 * heartbeats), which each writes in its database's fastest form.
 */
export abstract class SqlStore extends WithIncidents {
  protected readonly incidents: SqlIncidents;

  constructor(protected readonly exec: Executor) {
    super();
    this.incidents = new SqlIncidents(exec);
  }

  async applyJobs(specs: JobSpec[], now: number, options: ApplyOptions = {}): Promise<ApplyReport> {
    return applyJobSet(this.exec, specs, now, options);
  }

  async listJobs(options: { includeRetired?: boolean; after?: string; limit?: number } = {}): Promise<JobRecord[]> {
    return this.exec.read(() => reads.listJobs(options));
  }

  async getJob(name: string): Promise<JobRecord | null> {
    return this.exec.read(() => reads.getJob(name));
  }

  async setPaused(name: string, paused: boolean, now: number, source?: string): Promise<boolean> {
    return this.exec.write((d) => setPaused(d, name, paused, now, source));
  }

  async requestTrigger(name: string, now: number, source?: string): Promise<TriggerRequest | null> {
    return this.exec.write((d) => requestTrigger(d, name, now, source));
  }

  async controlEventsSince(afterId: number, limit = 1_000): Promise<ControlEvent[]> {
    return this.exec.read(() => controlEventsSince(afterId, limit));
  }

  async lastControlEventId(): Promise<number> {
    return this.exec.read(() => lastControlEventId());
  }

  async changesSince(rev: number, page: ChangePage = {}): Promise<ChangeSet> {
    return this.exec.read(() => reads.changesSince(rev, page));
  }

  async nextSlots(names: string[]): Promise<{ name: string; nextSlot: number | null; specHash: string }[]> {
    return this.exec.read((d) => reads.nextSlots(d, names));
  }

  async updateAttempt(runId: number, attempt: number, now: number): Promise<void> {
    return this.exec.writeOne(() => updateAttempt(runId, attempt, now));
  }

  async registerInstance(instance: InstanceRecord): Promise<void> {
    return this.exec.writeOne(() => registerInstance(instance));
  }

  async markInstanceStopped(instanceId: string, now: number): Promise<void> {
    return this.exec.writeOne(() => markInstanceStopped(instanceId, now));
  }

  async schemaVersion(): Promise<number> {
    return this.exec.read(() => reads.schemaVersion());
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return this.exec.read(() => reads.listInstances());
  }

  async abandonRuns(o: { now: number; staleBefore?: number; instanceIds?: string[] }): Promise<RunRecord[]> {
    if (o.staleBefore === undefined && !o.instanceIds?.length) return []; // nothing to ask: no transaction either
    return this.exec.write((d) => abandonRuns(d, o));
  }

  async getRun(id: number): Promise<RunRecord | null> {
    return this.exec.read(() => reads.getRun(id));
  }

  async getRunOutput(id: number): Promise<RunOutput | null> {
    return this.exec.read(() => reads.getRunOutput(id));
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    return this.exec.read(() => reads.listRuns(filter));
  }

  async timeline(query: TimelineQuery): Promise<Timeline> {
    return this.exec.read(() => reads.timeline(query), { timeoutMs: TIMELINE_TIMEOUT_MS });
  }

  async pruneRuns(retention: Retention, now: number, jobs: string[]): Promise<number> {
    return this.exec.write(() => pruneRuns(retention, now, jobs));
  }

  async pruneBookkeeping(retention: BookkeepingRetention, now: number): Promise<number> {
    return this.exec.write((d) => pruneBookkeeping(d, retention, now));
  }
}
