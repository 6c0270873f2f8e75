import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { EngineEmitter } from "../engine/events.js";
import type { Health } from "../health/evaluate.js";
import { isLive, type InstanceRecord } from "../store/types.js";

const HEALTH_STATES: Health["state"][] = ["ok", "paused", "running", "inactive", "delayed", "failing"];
// Job names are the only open-ended label, bounded by the config; past this many, the rest are
// counted under one "(other)" value rather than growing Prometheus' series without end.
const MAX_JOB_LABELS = 5_000;

export interface MetricsSources {
  events: EngineEmitter;
  /** Each job's health now, as the health monitor keeps it. */
  health(): Iterable<[job: string, state: Health["state"]]>;
  /** Runs held by this instance. */
  runningRuns(): number;
  instances(): Promise<InstanceRecord[]>;
  liveWithinMs: number;
  now(): number;
  /** The daemon's own log file: whether it takes lines, and its failure counts. */
  logSink?(): { fileOk: boolean; writeErrors: number; dropped: number };
}

/**
 * `/metrics` in Prometheus' text format. Counters and histograms count what this instance did
 * (sum them over instances); `jobclock_job_health` and `jobclock_instances` describe the whole
 * store (take one instance's, or `max`).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly jobLabels = new Set<string>();
  private readonly runs: Counter<"job" | "status">;
  private readonly duration: Histogram<"job">;
  private readonly lateness: Histogram;
  private readonly notifications: Counter<"notifier" | "outcome">;
  private readonly health: Gauge<"job" | "state">;

  constructor(private readonly s: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.runs = new Counter({ name: "jobclock_runs_total", help: "Runs recorded by this instance, by job and final status (skipped and missed slots included).", labelNames: ["job", "status"], registers });
    this.duration = new Histogram({
      name: "jobclock_run_duration_seconds", help: "How long runs took, by job.", labelNames: ["job"], registers,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    });
    this.lateness = new Histogram({
      name: "jobclock_slot_lateness_seconds", help: "How late scheduled runs started after their slot (jitter included).", registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
    });
    this.notifications = new Counter({ name: "jobclock_notifications_total", help: "Notification delivery attempts by notifier and outcome (delivered, retry, failed).", labelNames: ["notifier", "outcome"], registers });
    this.health = new Gauge({
      name: "jobclock_job_health", help: "1 for each job's current health state, 0 for the others.", labelNames: ["job", "state"], registers,
      collect: () => this.collectHealth(),
    });
    new Gauge({ name: "jobclock_running_runs", help: "Runs this instance is running now.", registers, collect() { this.set(s.runningRuns()); } });
    const liveWithinMs = s.liveWithinMs;
    new Gauge({
      name: "jobclock_instances", help: "Live instances sharing the store.", registers,
      async collect() {
        const now = s.now();
        this.set((await s.instances()).filter((i) => isLive(i, now, liveWithinMs)).length);
      },
    });
    if (s.logSink) this.logSinkMetrics(s.logSink, registers);
    this.follow();
  }

  /** The log file failing (a full disk) shows here as well as in `status` (PRODUCT §7). */
  private logSinkMetrics(stats: NonNullable<MetricsSources["logSink"]>, registers: Registry[]): void {
    new Gauge({ name: "jobclock_log_file_ok", help: "1 while the daemon's log file takes lines, 0 while writing it fails.", registers, collect() { this.set(stats().fileOk ? 1 : 0); } });
    new Counter({
      name: "jobclock_log_write_errors_total", help: "Failed writes to the daemon's log file (each retried).", registers,
      collect() { this.reset(); this.inc(stats().writeErrors); },
    });
    new Counter({
      name: "jobclock_log_lines_dropped_total", help: "Log lines dropped because the log file failed for longer than its buffer lasts.", registers,
      collect() { this.reset(); this.inc(stats().dropped); },
    });
  }

  /** A notifier's delivery attempt ended (wired to the delivery dispatcher). */
  notification(notifier: string, outcome: "delivered" | "retry" | "failed"): void {
    this.notifications.inc({ notifier, outcome });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private follow(): void {
    const { events } = this.s;
    events.on("run:started", (run) => {
      if (run.trigger === "schedule" || run.trigger === "catchup") this.lateness.observe(Math.max(0, this.s.now() - run.slot) / 1_000);
    });
    events.on("run:finished", (run, result) => {
      const job = this.job(run.job);
      this.runs.inc({ job, status: result.status });
      this.duration.observe({ job }, result.durationMs / 1_000);
    });
    events.on("run:skipped", (run) => this.runs.inc({ job: this.job(run.job), status: "skipped" }));
    events.on("run:abandoned", (run) => this.runs.inc({ job: this.job(run.job), status: "abandoned" }));
    events.on("slot:missed", (run) => this.runs.inc({ job: this.job(run.job), status: "missed" }, run.missedCount ?? 1));
  }

  private collectHealth(): void {
    this.health.reset(); // a retired job's series go with it
    for (const [name, state] of this.s.health()) {
      const job = this.job(name);
      for (const s of HEALTH_STATES) this.health.set({ job, state: s }, s === state ? 1 : 0);
    }
  }

  private job(name: string): string {
    if (this.jobLabels.has(name)) return name;
    if (this.jobLabels.size >= MAX_JOB_LABELS) return "(other)";
    this.jobLabels.add(name);
    return name;
  }
}
