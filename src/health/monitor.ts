import type { Clock } from "../clock.js";
import type { EngineEmitter, EngineEvents } from "../engine/events.js";
import type { Logger } from "../logger.js";
import type { NotificationFacts } from "../notify/facts.js";
import { firstErrorLines } from "../notify/facts.js";
import { FINISHED_BAD, type IncidentRecord, type IncidentState, type JobRecord, type NotificationKind, type IncidentStore, type OutboxStore, type ReadModel } from "../store/types.js";
import { UNHEALTHY, type Health } from "./evaluate.js";
import { coalescing, type Coalesced } from "../util/coalesce.js";
import { HealthCache } from "./health-cache.js";

/** The monitor keeps incidents, addresses their notifications, and reads jobs and runs to judge and describe them. */
export type MonitorStore = IncidentStore & Pick<OutboxStore, "getNotifiers"> & Pick<ReadModel, "listJobs" | "getJob" | "getRun" | "getRunOutput" | "listRuns">;

export interface MonitorOptions {
  store: MonitorStore;
  events: EngineEmitter;
  clock: Clock;
  log: Logger;
  instanceId: string;
  host: string;
  everyMs?: number;
  /** Called after a pass wrote notifications (the dispatcher sends them). */
  onNotified?: () => void;
  /** Held around a pass, so a burst of incidents leaves as one digest. */
  hold?: () => void;
  release?: () => void;
}

// Engine events keep the cache current in between, and every transition is confirmed on a fresh read.
const FULL_REFRESH_MS = 300_000;

/**
 * Watches every job's health and keeps one incident per unhealthy (inactive, delayed, failing)
 * job: each pass evaluates all jobs, and a transition is confirmed against a fresh read of the
 * job before an incident is opened, changed or closed.
 * Incidents change by compare-and-set, so with several instances one notification goes out.
 */
export class HealthMonitor {
  private timer: ReturnType<Clock["setTimeout"]> | null = null;
  /** One pass at a time; a job touched during a pass gets one more right after it. */
  private readonly passes: Coalesced = coalescing(() => this.pass());
  private readonly dirty = new Set<string>();
  private stopped = false;
  private readonly cache = new HealthCache();
  private refreshWanted = true;
  private lastFull = -Infinity;
  private refreshedAt = -Infinity;
  /** Addressed to the notifiers the store lists (the last config applied), not just ours. */
  private notifiers: string[] = [];
  private readonly listeners: [string, (...a: never[]) => void][] = [];

  constructor(private readonly options: MonitorOptions) {}

  start(): void {
    const on = <K extends keyof EngineEvents>(event: K, fn: (...a: EngineEvents[K]) => void) => {
      this.options.events.on(event, fn);
      this.listeners.push([event, fn as unknown as (...a: never[]) => void]);
    };
    on("run:started", (run) => (this.cache.onRunStarted(run), this.touch(run.job)));
    on("run:finished", (run) => (this.cache.onRunFinished(run), this.touch(run.job)));
    on("run:skipped", (run) => this.touch(run.job));
    on("slot:missed", (run) => this.touch(run.job));
    on("run:abandoned", (run) => this.touch(run.job, true));
    on("jobs:changed", (names) => {
      // A reload that touched many jobs: one paged refresh beats thousands of single reads.
      if (names.length > 500) {
        this.refreshWanted = true;
        this.lastFull = -Infinity;
        this.request();
      } else names.forEach((n) => this.touch(n, true));
    });
    this.schedule(0);
  }

  /** Every job's health now, from the monitor's view (for /metrics; no store read). */
  *states(now: number): Iterable<[job: string, state: Health["state"]]> {
    for (const name of this.cache.names()) {
      const health = this.cache.health(name, now);
      if (health) yield [name, health.state];
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const [event, fn] of this.listeners) this.options.events.off(event as keyof EngineEvents, fn as never);
    if (this.timer) this.options.clock.clearTimeout(this.timer);
    await this.passes.idle();
  }

  /** One evaluation of every job; exposed for tests. */
  async evaluate(): Promise<void> {
    if (this.refreshWanted || this.options.clock.now() - this.refreshedAt >= FULL_REFRESH_MS) {
      this.refreshWanted = false; // a request arriving during the refresh sets it again
      await this.cache.refreshAll(this.options.store);
      this.refreshedAt = this.options.clock.now();
    }
    await this.evaluateNames([...this.cache.names()], true);
  }

  /** A job's run changed something: look at it soon. `reread`: its record changed in ways events do not carry. */
  private touch(name: string, reread = false): void {
    if (reread) this.dirty.add(`!${name}`);
    else this.dirty.add(name);
    this.request();
  }

  /** A pass soon: on the timer's next turn (touches come in bursts), or right after the one going. */
  private request(): void {
    if (this.stopped) return;
    if (this.passes.busy) void this.passes.run();
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) this.options.clock.clearTimeout(this.timer);
    this.timer = this.options.clock.setTimeout(() => void this.passes.run(), ms);
  }

  /** A full pass when one is due, else the jobs touched since the last pass; then the timer for the next full one. */
  private async pass(): Promise<void> {
    if (this.stopped) return; // asked for before stop(), not worth a store read after it
    const { clock, log } = this.options;
    const full = clock.now() - this.lastFull >= (this.options.everyMs ?? 5_000);
    // Nothing dirty: asked for during a pass that already saw those jobs.
    if (full || this.dirty.size > 0) {
      await (full ? this.evaluate().then(() => void (this.lastFull = clock.now())) : this.evaluateDirty())
        .catch((error) => log.warn({ err: error }, "health evaluation failed"));
    }
    if (this.stopped) return;
    const untilFull = this.lastFull + (this.options.everyMs ?? 5_000) - clock.now();
    this.schedule(Math.max(0, untilFull));
  }

  private async evaluateDirty(): Promise<void> {
    const names = new Set<string>();
    for (const key of this.dirty) {
      const name = key.startsWith("!") ? key.slice(1) : key;
      if (key.startsWith("!")) {
        const fresh = await this.options.store.getJob(name);
        if (fresh && fresh.retiredAt === null) this.cache.put(fresh);
        else this.cache.remove(name);
      }
      names.add(name);
    }
    this.dirty.clear();
    await this.evaluateNames([...names], false);
  }

  private async evaluateNames(names: string[], all: boolean): Promise<void> {
    const { store, clock } = this.options;
    const now = clock.now();
    const incidents = new Map((await store.listOpenIncidents()).map((i) => [i.job, i]));
    this.notifiers = await store.getNotifiers();
    let wrote = false;
    this.options.hold?.();
    try {
      let slice = performance.now();
      for (const name of names) {
        if (performance.now() - slice > 10) {
          await new Promise((r) => setImmediate(r)); // never hold the event loop (and its slots) for long
          slice = performance.now();
        }
        const incident = incidents.get(name);
        incidents.delete(name);
        const job = this.cache.get(name);
        const health = this.cache.health(name, now);
        if (job && health && (await this.reconcile(job, health, incident, now))) wrote = true;
        if (!job && incident) await this.closeIfGone(incident, now);
      }
      if (all) for (const incident of incidents.values()) await this.closeIfGone(incident, now);
    } finally {
      this.options.release?.();
    }
    if (wrote) this.options.onNotified?.();
  }

  /** An incident of a job the cache does not know: close it silently if the job is really gone (retired). */
  private async closeIfGone(incident: IncidentRecord, now: number): Promise<void> {
    const fresh = await this.options.store.getJob(incident.job);
    if (fresh && fresh.retiredAt === null) {
      this.cache.put(fresh); // new since the last refresh: watch it from now on
      return;
    }
    await this.options.store.closeIncident({ id: incident.id, now, notify: null });
  }

  /** Brings the job's incident in line with its health; true if a notification was written. */
  private async reconcile(job: JobRecord, health: Health, incident: IncidentRecord | undefined, now: number): Promise<boolean> {
    const unhealthy = UNHEALTHY.includes(health.state);
    if (!unhealthy && !incident) return false;
    if (unhealthy && incident?.state === health.state) return this.maybeRemind(job, health, incident, now);
    // A transition: confirm it on a fresh read (another instance may have just run the job).
    const fresh = await this.options.store.getJob(job.name);
    if (!fresh || fresh.retiredAt !== null) return false;
    this.cache.put(fresh);
    const confirmed = this.cache.health(fresh.name, now)!;
    if (confirmed.state !== health.state) return false; // the next pass will look again
    const { store, log } = this.options;
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
    return this.options.store.remindIncident({ id: incident.id, lastNotifiedAt: incident.lastNotifiedAt, now, notify });
  }

  private async notification(kind: NotificationKind, job: JobRecord, health: Health, previous: IncidentState | null, now: number) {
    const payload: NotificationFacts = {
      version: 1, kind, job: job.name, description: job.spec.description, state: health.state, previousState: previous,
      since: health.since, reason: health.reason, lastRun: null, nextSlot: job.paused ? null : job.nextSlot,
      errorLines: [], host: this.options.host, instance: this.options.instanceId, at: now,
    };
    if (job.lastRunId !== null) {
      const run = await this.options.store.getRun(job.lastRunId);
      if (run) {
        payload.lastRun = {
          id: run.id, status: run.status === "running" ? null : run.status, startedAt: run.startedAt, finishedAt: run.finishedAt,
          durationMs: run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
        };
      }
    }
    if (health.state === "failing") {
      // The failed run: the latest finished one (a newer run may be going already).
      const failed = (await this.options.store.listRuns({ job: job.name, limit: 20 })).find((r) => FINISHED_BAD.includes(r.status));
      if (failed) payload.errorLines = firstErrorLines(failed.error, (await this.options.store.getRunOutput(failed.id))?.stderr ?? null);
    }
    return { kind, payload, notifiers: this.notifiers };
  }
}
