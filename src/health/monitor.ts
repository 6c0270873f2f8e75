import type { Clock } from "../clock.js";
import type { EngineEmitter } from "../engine/events.js";
import type { Logger } from "../logger.js";
import type { NotificationFacts } from "../notify/facts.js";
import { firstErrorLines } from "../notify/facts.js";
import { FINISHED_BAD, type IncidentRecord, type IncidentState, type JobRecord, type NotificationKind, type Store } from "../store/types.js";
import { UNHEALTHY, type Health } from "./evaluate.js";
import { jobHealth } from "./job-health.js";

export interface MonitorOptions {
  store: Store;
  events: EngineEmitter;
  clock: Clock;
  log: Logger;
  /** Notifier ids every notification is addressed to. */
  notifiers: string[];
  instanceId: string;
  host: string;
  everyMs?: number;
  /** Called after a pass wrote notifications (the dispatcher sends them). */
  onNotified?: () => void;
  /** Held around a pass, so a burst of incidents leaves as one digest. */
  hold?: () => void;
  release?: () => void;
}

const EVENTS = ["run:started", "run:finished", "run:skipped", "run:abandoned", "slot:missed"] as const;

/**
 * Watches every job's health (PRODUCT §5): each pass evaluates all jobs, and a transition is
 * confirmed against a fresh read of the job before an incident is opened, changed or closed.
 * Incidents change by compare-and-set, so with several instances one notification goes out.
 */
export class HealthMonitor {
  private timer: ReturnType<Clock["setTimeout"]> | null = null;
  private pass: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly onEvent = () => this.soon();

  constructor(private readonly o: MonitorOptions) {}

  start(): void {
    for (const e of EVENTS) this.o.events.on(e, this.onEvent);
    this.soon();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const e of EVENTS) this.o.events.off(e, this.onEvent);
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    await this.pass;
  }

  /** Evaluate now (after the current pass, if one is running). */
  soon(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = this.o.clock.setTimeout(() => void this.run(), 0);
  }

  /** One full evaluation; exposed for tests. */
  async evaluate(): Promise<void> {
    const { store, clock } = this.o;
    const now = clock.now();
    const [jobs, open] = await Promise.all([store.listJobs(), store.listOpenIncidents()]);
    const incidents = new Map(open.map((i) => [i.job, i]));
    let wrote = false;
    this.o.hold?.();
    try {
      for (const job of jobs) {
        const incident = incidents.get(job.name);
        incidents.delete(job.name);
        if (await this.reconcile(job, jobHealth(job, now), incident, now)) wrote = true;
      }
      // Incidents of jobs that were retired close without a message.
      for (const incident of incidents.values()) await store.closeIncident({ id: incident.id, now, notify: null });
    } finally {
      this.o.release?.();
    }
    if (wrote) this.o.onNotified?.();
  }

  private async run(): Promise<void> {
    this.timer = null;
    this.pass = this.evaluate().catch((error) => this.o.log.warn({ err: error }, "health evaluation failed"));
    await this.pass;
    this.pass = null;
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      return this.soon();
    }
    this.timer = this.o.clock.setTimeout(() => void this.run(), this.o.everyMs ?? 5_000);
  }

  /** Brings the job's incident in line with its health; true if a notification was written. */
  private async reconcile(job: JobRecord, health: Health, incident: IncidentRecord | undefined, now: number): Promise<boolean> {
    const unhealthy = UNHEALTHY.includes(health.state);
    if (!unhealthy && !incident) return false;
    if (unhealthy && incident?.state === health.state) return this.maybeRemind(job, health, incident, now);
    // A transition: confirm it on a fresh read (another instance may have just run the job).
    const fresh = await this.o.store.getJob(job.name);
    if (!fresh) return false;
    const confirmed = jobHealth(fresh, now);
    if (confirmed.state !== health.state) return false; // the next pass will look again
    const { store, log } = this.o;
    if (unhealthy && !incident) {
      const notify = await this.notification("opened", fresh, confirmed, null, now);
      const opened = await store.openIncident({ job: job.name, state: confirmed.state as IncidentState, since: confirmed.since, now, notify });
      if (opened) log.warn({ job: job.name, state: confirmed.state, since: confirmed.since }, `job ${confirmed.state}: ${confirmed.reason}`);
      return opened !== null;
    }
    if (unhealthy && incident) {
      const notify = await this.notification("changed", fresh, confirmed, incident.state, now);
      const changed = await store.changeIncident({ id: incident.id, from: incident.state, to: confirmed.state as IncidentState, since: confirmed.since, now, notify });
      if (changed) log.warn({ job: job.name, state: confirmed.state, was: incident.state }, `job now ${confirmed.state}: ${confirmed.reason}`);
      return changed;
    }
    // Healthy again. A paused job's incident closes without a "recovered": nobody fixed it.
    const notify = confirmed.state === "paused" ? null : await this.notification("recovered", fresh, confirmed, incident!.state, now);
    const closed = await store.closeIncident({ id: incident!.id, now, notify });
    if (closed && notify) log.info({ job: job.name, was: incident!.state }, "job recovered");
    return closed && notify !== null;
  }

  private async maybeRemind(job: JobRecord, health: Health, incident: IncidentRecord, now: number): Promise<boolean> {
    const every = job.spec.remindMs;
    if (every === null || now - incident.lastNotifiedAt < every) return false;
    const notify = await this.notification("reminder", job, health, incident.state, now);
    return this.o.store.remindIncident({ id: incident.id, lastNotifiedAt: incident.lastNotifiedAt, now, notify });
  }

  private async notification(kind: NotificationKind, job: JobRecord, health: Health, previous: IncidentState | null, now: number) {
    const payload: NotificationFacts = {
      version: 1, kind, job: job.name, description: job.spec.description, state: health.state, previousState: previous,
      since: health.since, reason: health.reason, lastRun: null, nextSlot: job.paused ? null : job.nextSlot,
      errorLines: [], host: this.o.host, instance: this.o.instanceId, at: now,
    };
    if (job.lastRunId !== null) {
      const run = await this.o.store.getRun(job.lastRunId);
      if (run) {
        payload.lastRun = {
          id: run.id, status: run.status === "running" ? null : run.status, startedAt: run.startedAt, finishedAt: run.finishedAt,
          durationMs: run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
        };
      }
    }
    if (health.state === "failing") {
      // The failed run: the latest finished one (a newer run may be going already).
      const failed = (await this.o.store.listRuns({ job: job.name, limit: 20 })).find((r) => FINISHED_BAD.includes(r.status));
      if (failed) payload.errorLines = firstErrorLines(failed.error, (await this.o.store.getRunOutput(failed.id))?.stderr ?? null);
    }
    return { kind, payload, notifiers: this.o.notifiers };
  }
}
