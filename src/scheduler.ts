import { resolve } from "node:path";
import type { Clock } from "./clock.js";
import { resolveJob } from "./config/resolve-job.js";
import type { RawJob } from "./config/schema.js";
import { jobSchema, describeIssues } from "./config/schema.js";
import { resolveStoreUrl } from "./config/store-url.js";
import { Engine } from "./engine/engine.js";
import { SpecInterner } from "./config/spec-interner.js";
import type { EngineEmitter, EngineEvents } from "./engine/events.js";
import { ConfigError } from "./errors.js";
import type { JobSpec } from "./job-spec.js";
import type { Logger } from "./logger.js";
import type { JobHandler } from "./run/types.js";
import { DURATION_EXAMPLES, parseDuration } from "./schedule/duration.js";
import { openStore } from "./store/open-store.js";
import type { ApplyOptions, ApplyReport, JobRecord, RunFilter, RunRecord, Store } from "./store/types.js";
import { ApplyRefusedError } from "./store/apply-guard.js";

type Duration = string | number;

/** Job options in the library: the config's keys, camelCased; durations as "5m" or milliseconds. */
export interface JobOptions {
  every?: Duration;
  cron?: string;
  timezone?: string;
  command?: string | string[];
  shell?: string;
  module?: string;
  cwd?: string;
  env?: Record<string, string | number | boolean>;
  timeout?: Duration | "none";
  killGrace?: Duration;
  overlap?: "skip" | "queue" | "allow" | "replace";
  catchup?: "once" | "none" | "all";
  catchupWindow?: Duration;
  jitter?: Duration;
  runOnStart?: boolean;
  retries?: number | { max: number; delay?: Duration };
  grace?: Duration;
  remind?: Duration | "none";
  paused?: boolean;
  description?: string;
  tags?: string[];
}

export interface SchedulerOptions {
  /** `sqlite:PATH` (default `sqlite:./jobclock.db`), `postgres://…`, or an open Store. */
  store?: string | Store;
  /** Relative paths (store, modules, commands) start here; default: the current directory. */
  baseDir?: string;
  clock?: Clock;
  logger?: Logger;
  instanceId?: string;
  version?: string;
  /** What runs this process (`supervisord:PROGRAM`, `systemd:UNIT`), recorded with the instance. */
  supervisor?: string | null;
  heartbeat?: Duration;
  abandonAfter?: Duration;
  shutdownTimeout?: Duration;
  /** How often to look for changes written by other processes. */
  syncInterval?: Duration;
}

/**
 * The library's one entry point; the daemon is built on this same class, through these same
 * methods (the Engine inside is not part of the API).
 *
 *   const clock = createScheduler({ store: "sqlite:./data/jobclock.db" });
 *   clock.job("sync-orders", { every: "5m" }, async (ctx) => { … });
 *   await clock.start();
 */
export class Scheduler {
  private readonly definitions = new Map<string, { options: JobOptions; handler?: JobHandler }>();
  private readonly handlers = new Map<string, JobHandler>();
  private readonly listeners: [keyof EngineEvents, (...args: any[]) => void][] = [];
  private specs: JobSpec[] | null = null;
  private applyOptions: ApplyOptions = {};
  private engineRef: Engine | null = null;
  private storeRef: Store | null = null;

  constructor(private readonly options: SchedulerOptions = {}) {}

  /** Registers a job; with a handler it runs in-process, otherwise give command/shell/module. */
  job(name: string, options: JobOptions, handler?: JobHandler): this {
    if (this.engineRef) throw new Error("define jobs before start(); to change jobs while running, call setJobs()");
    if (this.definitions.has(name)) throw new ConfigError([`jobs.${name}: defined twice; job names are unique`]);
    this.definitions.set(name, { options, handler });
    if (handler) this.handlers.set(name, handler);
    return this;
  }

  /** Subscribes to engine events (run:started, run:finished, …); works before or after start. */
  on<K extends keyof EngineEvents>(event: K, listener: (...args: EngineEvents[K]) => void): this {
    this.listeners.push([event, listener as (...args: any[]) => void]);
    this.engineRef?.events.on(event, listener);
    return this;
  }

  /**
   * Applies the jobs (from `job()` or `setJobs()`; with neither, the store's jobs are left as
   * they are, and followed) and starts scheduling. When `setJobs` asked
   * for the guards and they refuse the apply, the scheduler still starts, on the jobs the store
   * already holds, and says so in `refused`: a daemon restarted with a bad file keeps running
   * the schedule everyone agreed on.
   */
  async start(): Promise<{ applied: ApplyReport | null; refused: ApplyRefusedError | null }> {
    if (this.engineRef) throw new Error("the scheduler is already started");
    // Nothing defined at all (no job(), no setJobs()): follow the store's jobs as they are. An
    // empty apply would retire every job of a store other processes share. Both: one job set.
    const defined = this.definitions.size > 0 ? this.resolveDefinitions() : null;
    const specs = defined && this.specs ? mergeJobSets(defined, this.specs) : (defined ?? this.specs);
    // Resolved specs replace the user's definitions; with 100,000 jobs, holding both at once
    // is what sets the process's peak memory.
    this.definitions.clear();
    const store = await this.openStore();
    const o = this.options;
    const engine = new Engine({
      store, clock: o.clock, logger: o.logger, handlers: this.handlers, instanceId: o.instanceId, version: o.version, supervisor: o.supervisor,
      heartbeatMs: ms(o.heartbeat), abandonAfterMs: ms(o.abandonAfter), shutdownTimeoutMs: ms(o.shutdownTimeout),
      syncMs: ms(o.syncInterval),
    });
    for (const [event, listener] of this.listeners) engine.events.on(event, listener as never);
    this.engineRef = engine;
    let applied: ApplyReport | null = null;
    let refused: ApplyRefusedError | null = null;
    try {
      if (specs) applied = await engine.apply(specs, this.applyOptions);
    } catch (error) {
      if (!(error instanceof ApplyRefusedError)) throw error;
      refused = error;
    }
    this.specs = null; // the store holds the definitions now; keep only the handlers
    await engine.start();
    return { applied, refused };
  }

  /**
   * Replaces the whole job set (the daemon's reload); jobs left out are retired, not deleted.
   * `options` says where it comes from and whether the apply guards judge it (see ApplyOptions).
   */
  async setJobs(specs: JobSpec[], options: ApplyOptions = {}): Promise<ApplyReport | null> {
    if (this.engineRef) return this.engineRef.apply(specs, options); // the store keeps them from here on
    this.specs = specs;
    this.applyOptions = options;
    return null;
  }

  /** Drains (no new slots; running runs finish for up to `timeout`, then are cancelled) and closes the store. */
  async stop(options: { timeout?: Duration } = {}): Promise<void> {
    if (!this.engineRef) return;
    await this.drain(options);
    await this.close();
  }

  /**
   * Takes no new slots and lets running runs finish for up to `timeout` (default: the
   * scheduler's shutdownTimeout), then cancels what is left. The store stays open (for what
   * must still be written, such as notifications) until `close()`.
   */
  async drain(options: { timeout?: Duration } = {}): Promise<void> {
    await this.engineRef?.stop(ms(options.timeout));
  }

  /** Closes the store, unless it was given open (then it is the caller's). */
  async close(): Promise<void> {
    if (typeof this.options.store !== "object") await this.storeRef?.close();
  }

  /** This process's id among the store's instances. */
  get instanceId(): string {
    return this.engine.instanceId;
  }

  get host(): string {
    return this.engine.host;
  }

  /** The clock slots are judged on: this machine's, corrected to the store's (PostgreSQL). */
  get clock(): Clock {
    return this.engine.clock;
  }

  /** The engine's typed events, for watchers that follow them (health, metrics). */
  get events(): EngineEmitter {
    return this.engine.events;
  }

  get uptimeMs(): number {
    return this.engineRef?.uptimeMs ?? 0;
  }

  /** Reports (or, with null, clears) something wrong with this process itself, shown by `status`. */
  setProblem(key: string, text: string | null): void {
    this.engine.setProblem(key, text);
  }

  trigger(name: string, source?: string): Promise<void> {
    return this.engine.trigger(name, source);
  }
  pause(name: string, source?: string): Promise<void> {
    return this.engine.pause(name, source);
  }
  resume(name: string, source?: string): Promise<void> {
    return this.engine.resume(name, source);
  }
  async jobs(): Promise<JobRecord[]> {
    return this.storeOrThrow.listJobs();
  }
  async runs(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.storeOrThrow.listRuns(filter);
  }
  activeRuns(): RunRecord[] {
    return this.engineRef?.activeRuns() ?? [];
  }

  /** The engine itself, for tests; everything else goes through the methods above. */
  get engine(): Engine {
    if (!this.engineRef) throw new Error("the scheduler is not started; call start() first");
    return this.engineRef;
  }

  get store(): Store {
    return this.storeOrThrow;
  }

  private get storeOrThrow(): Store {
    if (!this.storeRef) throw new Error("the scheduler is not started; call start() first");
    return this.storeRef;
  }

  private async openStore(): Promise<Store> {
    const given = this.options.store ?? "sqlite:./jobclock.db";
    if (typeof given === "object") return (this.storeRef = given);
    const problems: string[] = [];
    const url = resolveStoreUrl(given, this.baseDir, problems);
    if (problems.length) throw new ConfigError(problems);
    return (this.storeRef = await openStore(url));
  }

  private get baseDir(): string {
    return resolve(this.options.baseDir ?? process.cwd());
  }

  private resolveDefinitions(): JobSpec[] {
    const problems: string[] = [];
    const specs: JobSpec[] = [];
    const interner = new SpecInterner();
    for (const [name, { options, handler }] of this.definitions) {
      const raw = toRawJob(options);
      const parsed = jobSchema.safeParse(raw, { reportInput: true });
      if (!parsed.success) {
        problems.push(...describeIssues(parsed.error, ["jobs", name]));
        continue;
      }
      const spec = resolveJob(name, parsed.data, {}, { baseDir: this.baseDir, hasHandler: handler !== undefined }, problems);
      if (spec) specs.push(interner.intern(spec));
    }
    if (problems.length > 0) throw new ConfigError(problems, "invalid job definitions");
    return specs;
  }
}

export function createScheduler(options: SchedulerOptions = {}): Scheduler {
  return new Scheduler(options);
}

/** `job()` definitions and `setJobs()` specs together, names unique across both. */
function mergeJobSets(a: JobSpec[], b: JobSpec[]): JobSpec[] {
  const names = new Set(a.map((s) => s.name));
  const twice = b.filter((s) => names.has(s.name)).map((s) => `jobs.${s.name}: defined by job() and by setJobs(); job names are unique`);
  if (twice.length > 0) throw new ConfigError(twice, "invalid job definitions");
  return [...a, ...b];
}

/** Scheduler-level durations: milliseconds, or a duration string such as "30s". */
function ms(value: Duration | undefined): number | undefined {
  if (value === undefined || typeof value === "number") return value;
  const parsed = parseDuration(value);
  if (parsed === null) throw new ConfigError([`"${value}" is not a duration (${DURATION_EXAMPLES})`]);
  return parsed;
}

/** camelCase library options to the config's snake_case keys; numbers of ms to duration strings. */
function toRawJob(o: JobOptions): RawJob {
  const d = (v: Duration | undefined) => (typeof v === "number" ? `${v}ms` : v);
  const raw: Record<string, unknown> = {};
  // Only keys that were given, so the strict schema sees exactly what the user wrote.
  const put = (key: string, value: unknown) => {
    if (value !== undefined) raw[key] = value;
  };
  put("every", d(o.every)); put("cron", o.cron); put("timezone", o.timezone);
  put("command", o.command); put("shell", o.shell); put("module", o.module); put("cwd", o.cwd); put("env", o.env);
  put("timeout", o.timeout === "none" ? "none" : d(o.timeout)); put("kill_grace", d(o.killGrace));
  put("overlap", o.overlap); put("catchup", o.catchup); put("catchup_window", d(o.catchupWindow));
  put("jitter", d(o.jitter)); put("run_on_start", o.runOnStart); put("grace", d(o.grace)); put("remind", o.remind === "none" ? "none" : d(o.remind)); put("paused", o.paused);
  put("description", o.description); put("tags", o.tags);
  if (typeof o.retries === "object") put("retries", o.retries.delay === undefined ? { max: o.retries.max } : { max: o.retries.max, delay: d(o.retries.delay) });
  else put("retries", o.retries);
  return raw as RawJob;
}
