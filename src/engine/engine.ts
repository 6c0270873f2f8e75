import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { systemClock } from "../clock.js";
import { UnknownJobError } from "../errors.js";
import type { JobSpec } from "../job-spec.js";
import { silentLogger, type Logger } from "../logger.js";
import type { JobHandler } from "../run/types.js";
import type { ApplyOptions, ApplyReport, JobRecord, RunRecord } from "../store/types.js";
import { ControlLog } from "./control-log.js";
import { EngineEmitter } from "./events.js";
import { fullSpec, JobTable } from "./job-table.js";
import { Loop } from "./loop.js";
import { readChanges } from "./changes.js";
import { pruneStore } from "./pruning.js";
import { WakeTimer } from "./wake-timer.js";
import { Housekeeping } from "./housekeeping.js";
import { InstanceProblems } from "./instance-problems.js";
import { RunSupervisor } from "./run-supervisor.js";
import { STORE_CALL_LIMIT_MS, withTimeLimit } from "./time-limit.js";
import { StoreClock } from "./store-clock.js";
import { LostClaims } from "./lost-claims.js";
import { ClaimSharing } from "./claim-sharing.js";
import { Claimer, CONTENDED_RECHECK_MS } from "./claimer.js";
import { withDefaults, type EngineOptions, type EngineSettings, type EngineStore } from "./options.js";
import { followChanges, type ChangeFeed } from "./change-feed.js";

export type { EngineOptions } from "./options.js";

/**
 * The scheduler: one timer for all jobs, slots claimed in the store by compare-and-set, runs
 * executed and recorded, heartbeats and recovery. It talks to the outside through `events`.
 */
export class Engine {
  readonly events = new EngineEmitter();
  readonly instanceId: string;
  readonly host = hostname();
  private readonly store: EngineStore;
  /** This machine's clock corrected to the store's (see StoreClock). */
  readonly clock: StoreClock;
  private readonly log: Logger;
  private readonly handlers: Map<string, JobHandler>;
  private readonly o: EngineSettings;
  private readonly table: JobTable;
  private readonly runs: RunSupervisor;
  private readonly housekeeping: Housekeeping;
  private readonly lostClaims: LostClaims;
  private readonly sharing: ClaimSharing;
  private readonly claimer: Claimer;
  private readonly loops: Loop[] = [];
  private readonly problems = new InstanceProblems();
  private readonly controlLog: ControlLog;
  private readonly supervisor: string | null;
  private heartbeat: Loop | null = null;
  private readonly wake: WakeTimer;
  private state: "new" | "running" | "stopping" | "stopped" = "new";
  private liveSince = 0;
  private rev = 0;
  private token = "";
  private ticking = false;
  private tickAgain = false;
  private startedAt = 0;
  private unhandled = new Set<string>();
  private queuedOnLoad: JobRecord[] = [];
  private stopping: Promise<void> | null = null;
  private prepared: Promise<void> | null = null;
  private feed: ChangeFeed | null = null;
  private syncChain: Promise<void> = Promise.resolve();
  /** The tick's claim in flight, if any (a stop waits for it). */
  private claiming: Promise<void> = Promise.resolve();

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.clock = new StoreClock(options.clock ?? systemClock);
    this.log = options.logger ?? silentLogger;
    this.handlers = options.handlers ?? new Map();
    this.instanceId = options.instanceId ?? `${this.host}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.o = withDefaults(options);
    this.supervisor = options.supervisor ?? null;
    this.controlLog = new ControlLog(this.store, this.log);
    this.wake = new WakeTimer(this.clock, () => this.tick(), (message) => this.warn(message));
    this.runs = new RunSupervisor({
      store: this.store, clock: this.clock, log: this.log, events: this.events, handlers: this.handlers,
      wake: () => this.arm(),
      afterRun: (job, queuedSlot) => this.afterRun(job, queuedSlot),
      warn: (message, error) => this.warn(message, error),
    });
    this.table = new JobTable(this.o.claimAheadMs);
    this.lostClaims = new LostClaims(this.store, this.instanceId, this.log);
    this.sharing = new ClaimSharing(this.store, this.instanceId, this.table, this.o.stealAfterMs);
    this.claimer = new Claimer({
      store: this.store, clock: this.clock, log: this.log, events: this.events, instanceId: this.instanceId,
      table: this.table, runs: this.runs, sharing: this.sharing, lostClaims: this.lostClaims,
      liveSince: () => this.liveSince, takingSlots: () => this.state === "running",
      reload: (name) => this.reload(name), warn: (m, e) => this.warn(m, e),
    });
    this.housekeeping = new Housekeeping({
      store: this.store, clock: this.clock, log: this.log, events: this.events, instanceId: this.instanceId, host: this.host,
      heartbeatMs: this.o.heartbeatMs, abandonAfterMs: this.o.abandonAfterMs,
      heldRunIds: () => this.runs.list().map((r) => r.id),
      problems: this.problems,
      // An instance that missed two heartbeats (and a second) no longer gets its jobs' first claim.
      onInstances: (instances, now) => this.sharing.ownership.update(instances, now, 2 * this.o.heartbeatMs + 1_000),
      onClockCorrected: () => this.arm(),
      onAbandoned: (jobs) => this.afterAbandoned(jobs),
      warn: (message, error) => this.warn(message, error),
    });
  }

  get running(): boolean {
    return this.state === "running";
  }

  get uptimeMs(): number {
    return this.startedAt ? this.clock.now() - this.startedAt : 0;
  }

  /**
   * Applies job definitions to the store (add, update, retire) and follows them. With
   * `options.guard`, an apply that would retire most jobs or revert to an older generation is
   * refused (ApplyRefusedError) and nothing changes.
   */
  async apply(specs: JobSpec[], options: ApplyOptions = {}): Promise<ApplyReport> {
    // Anchors and first slots are written on the store's clock too.
    if (this.state === "new") await this.prepare();
    const report = await this.store.applyJobs(specs, this.clock.now(), { source: `library on ${this.host}`, ...options });
    this.events.emit("jobs:applied", report);
    if (this.state === "running") await this.sync(true);
    return report;
  }

  /**
   * Registers this instance and takes its first heartbeat, which measures this machine's clock
   * against the store's before any slot is written or judged. Once, before apply or start.
   */
  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const now = this.clock.now();
      await this.store.registerInstance({
        id: this.instanceId, host: this.host, pid: process.pid, version: this.o.version,
        startedAt: now, lastSeen: now, stoppedAt: null, supervisor: this.supervisor,
      });
      await this.controlLog.begin();
      await this.housekeeping.beat();
    })();
    return this.prepared;
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error("an engine starts once; create a new one to start again");
    const preparedEarlier = this.prepared !== null;
    await this.prepare();
    // Prepared at an earlier apply: look again for dead instances' runs, just before going live.
    if (preparedEarlier) await this.housekeeping.beat();
    this.startedAt = this.clock.now();
    this.state = "running";
    this.liveSince = this.clock.now();
    await this.sync(true);
    const earliest = this.table.nextFireAt();
    // Not a clock jump: slots that fell while no instance ran are caught up by each job's policy.
    if (earliest !== undefined && earliest < this.liveSince - 1_000) {
      this.log.info({ earliest: new Date(earliest).toISOString() }, "slots came due while no daemon was running; each job catches up as its `catchup` says");
    }
    this.feed = await followChanges({ store: this.store, clock: this.clock, syncMs: this.o.syncMs, sync: () => this.sync(false), warn: (m, e) => this.warn(m, e) });
    const pollOnBeat = this.feed.pollOnBeat;
    this.heartbeat = new Loop(this.clock, this.o.heartbeatMs, () => this.beat(pollOnBeat), (e) => this.warn("heartbeat failed", e));
    this.loops.push(new Loop(this.clock, this.o.pruneEveryMs, () => this.prune(), (e) => this.warn("pruning history failed", e)));
    this.arm();
  }

  private async beat(thenSync: boolean): Promise<void> {
    try {
      await this.housekeeping.beat();
    } finally {
      if (thenSync) await this.sync(false).catch((e) => this.warn("store sync failed", e));
    }
  }

  /**
   * Graceful drain: take no new slots, let running runs finish for up to `timeoutMs`, then
   * cancel what is left and record it as cancelled.
   */
  stop(timeoutMs = this.o.shutdownTimeoutMs): Promise<void> {
    if (this.state === "stopping") {
      // Asked again while draining (a second SIGTERM or Ctrl-C): stop waiting.
      if (timeoutMs === 0) {
        this.runs.cancelAll("cancelled at shutdown: asked to stop again while draining");
        this.runs.close();
      }
      return this.stopping ?? Promise.resolve();
    }
    if (this.state === "new" && this.prepared) {
      // Registered by an apply but never started: say so, or it would look alive to the others.
      this.state = "stopped";
      return this.prepared.then(() => this.store.markInstanceStopped(this.instanceId, this.clock.now())).catch(() => {});
    }
    if (this.state !== "running") return Promise.resolve();
    this.stopping = this.drainAndStop(timeoutMs);
    return this.stopping;
  }

  private async drainAndStop(timeoutMs: number): Promise<void> {
    this.state = "stopping";
    for (const loop of this.loops) loop.stop();
    await this.feed?.stop();
    // Claims already sent may still win: their runs must be in hand before the drain counts them.
    await withTimeLimit(this.claiming, STORE_CALL_LIMIT_MS, "a claim in flight at stop").catch(() => {});
    await this.syncChain;
    this.arm(); // from now on the timer serves only runs already claimed ahead of their slot
    await this.runs.drain(timeoutMs);
    this.heartbeat?.stop();
    this.runs.close();
    await this.store.markInstanceStopped(this.instanceId, this.clock.now()).catch((e) => this.warn("could not mark instance stopped", e));
    this.state = "stopped";
  }

  activeRuns(): RunRecord[] {
    return this.runs.list();
  }

  /**
   * Reports (or, with null, clears) something wrong with this instance itself, such as a log
   * file it cannot write: written to its row in the store at the next heartbeat, for `status`.
   */
  setProblem(key: string, text: string | null): void {
    this.problems.set(key, text);
  }


  /** `source` says where the request came from ("api 10.0.0.7 via web1"); every instance logs it. */
  pause(name: string, source?: string): Promise<void> {
    return this.control(name, (at, by) => this.store.setPaused(name, true, at, by), source);
  }

  resume(name: string, source?: string): Promise<void> {
    return this.control(name, (at, by) => this.store.setPaused(name, false, at, by), source);
  }

  trigger(name: string, source?: string): Promise<void> {
    return this.control(name, async (at, by) => (await this.store.requestTrigger(name, at, by)) !== null, source);
  }

  private async control(name: string, change: (at: number, by: string) => Promise<boolean>, source = `library on ${this.host}`): Promise<void> {
    if (!(await change(this.clock.now(), source))) throw new UnknownJobError(name);
    // The change is in the store (done, for every instance); following it here may fail and be retried by the poll.
    if (this.state === "running") await this.sync(true).catch((e) => this.warn("store sync failed; the next poll follows the change", e));
  }

  // ---- timer and slots -------------------------------------------------------------------

  private arm(): void {
    // While stopping, the timer only serves runs already claimed ahead of their slot.
    this.wake.clear();
    if (this.state !== "running" && (this.state !== "stopping" || this.runs.starts.size === 0)) return;
    const now = this.clock.now();
    const claimAt = this.state === "running" ? this.table.nextFireAt() : undefined;
    this.wake.set(Math.min(claimAt ?? Infinity, this.runs.starts.nextAt() ?? Infinity, now + this.o.recheckMs));
  }

  /** While a tick awaits the store, keep a timer for runs waiting in the start queue. */
  private armForStarts(): void {
    const at = this.runs.starts.nextAt();
    if (at !== undefined) this.wake.set(at);
  }

  private async tick(): Promise<void> {
    // Runs already claimed start on time even while a (slow) claim is in flight.
    this.runs.starts.startDue(this.clock.now());
    if (this.ticking) {
      this.tickAgain = true;
      this.armForStarts();
      return;
    }
    this.ticking = true;
    try {
      do {
        this.tickAgain = false;
        const now = this.clock.now();
        this.runs.starts.startDue(now);
        const due = this.state === "running" ? this.table.popDue(now) : [];
        if (due.length > 0) await (this.claiming = this.claimer.claimDue(due, now));
      } while (this.tickAgain && this.state === "running");
    } finally {
      this.ticking = false;
      this.arm();
    }
  }

  // ---- runs ------------------------------------------------------------------------------

  /** After a run: start the job's queued slot, or the next catch-up slot of an `all` job. */
  private async afterRun(name: string, queuedSlot: number | null): Promise<void> {
    if (queuedSlot !== null) await this.claimQueued(name, queuedSlot);
    const job = this.table.get(name);
    const now = this.clock.now();
    if (job && job.nextSlot !== null && job.nextSlot <= now && this.state === "running") {
      this.table.recheckAt(job, now);
      this.arm();
    }
  }

  private async claimQueued(name: string, slot: number): Promise<void> {
    const job = this.table.get(name);
    if (!job || this.state !== "running") return;
    if (!(await this.claimer.claimQueued(job, slot))) {
      this.clock.setTimeout(() => void this.claimQueued(name, slot).catch((e) => this.warn("claiming a queued slot failed", e)), CONTENDED_RECHECK_MS);
    }
  }

  private async promoteQueued(records: JobRecord[]): Promise<void> {
    for (const r of records) if (r.queuedSlot !== null && r.runningCount === 0) await this.claimQueued(r.name, r.queuedSlot);
  }

  // ---- following the store ---------------------------------------------------------------

  /** Picks up what other processes wrote (CLI pause/resume/trigger/reload, other instances). */
  private sync(force: boolean): Promise<void> {
    // Polls, notifications and local changes may all ask at once: one sync at a time.
    const next = this.syncChain.then(() => withTimeLimit(this.syncNow(force), STORE_CALL_LIMIT_MS, "following the store"));
    this.syncChain = next.catch(() => {});
    return next;
  }

  private async syncNow(force: boolean): Promise<void> {
    const token = await this.store.changeToken();
    // The store answers again: results that waited for it go in now, lost claims are found.
    this.runs.retryNow();
    // Not while a tick's claims are in flight: their answers would be taken for lost ones.
    if (this.state === "running" && !this.ticking) await this.lostClaims.recover((id) => this.runs.holds(id), (run) => this.adopt(run));
    if (!force && token === this.token) return;
    const { rev, jobs, triggers } = await readChanges(this.store, this.rev, (record) => this.follow(record));
    this.rev = rev;
    await this.controlLog.follow();
    if (jobs.length > 0) this.events.emit("jobs:changed", jobs);
    const mine = triggers.filter((t) => this.table.get(t.job));
    if (mine.length > 0 && this.state === "running") {
      // A trigger still to claim (store away, or its job's row held elsewhere that instant)
      // is read and tried again shortly: the token is not advanced past it.
      if (!(await this.claimer.claimTriggers(mine))) {
        this.clock.setTimeout(() => void this.sync(true).catch((e) => this.warn("store sync failed", e)), CONTENDED_RECHECK_MS);
        return;
      }
    }
    // Only now is everything up to this token handled; our own commits do not move it.
    this.token = token;
    if (this.state === "running") await this.promoteQueued(this.queuedOnLoad.splice(0));
    this.arm();
  }

  private adopt(run: RunRecord): boolean {
    const job = this.table.get(run.job);
    // Retired, left to others, or stopping meanwhile: abandoned after the budget. A run from
    // before this engine started (a predecessor with the same instance id) died with it.
    if (!job || this.state !== "running" || run.createdAt < this.startedAt) return false;
    this.runs.start(fullSpec(job), run, []);
    return true;
  }

  private follow(record: JobRecord): void {
    if (record.retiredAt !== null || !this.canRun(record)) return this.table.remove(record.name);
    this.table.upsert(record);
    if (record.queuedSlot !== null && record.runningCount === 0) this.queuedOnLoad.push(record);
  }

  private canRun(record: JobRecord): boolean {
    if (record.spec.action.kind !== "handler" || this.handlers.has(record.name)) return true;
    if (!this.unhandled.has(record.name)) {
      this.unhandled.add(record.name);
      this.warn(`job "${record.name}" needs an in-process handler this process does not have; leaving it to others`);
    }
    return false;
  }

  private async reload(name: string): Promise<void> {
    const record = await this.store.getJob(name);
    if (record) this.follow(record);
    else this.table.remove(name);
  }

  // ---- housekeeping ----------------------------------------------------------------------

  /** Only the jobs of abandoned runs can have a queued slot waiting for them. */
  private async afterAbandoned(jobs: string[]): Promise<void> {
    if (this.state !== "running") return;
    for (const name of jobs) {
      const job = await this.store.getJob(name);
      if (job) await this.promoteQueued([job]);
    }
  }

  private prune(): Promise<void> {
    return pruneStore(this.store, this.table.names(), this.o.retention, () => this.clock.now(), () => this.state === "running", this.log);
  }

  private warn(message: string, error?: unknown): void {
    this.log.warn(error ? { err: error } : {}, message);
    this.events.emit("engine:warning", { message, error });
  }
}
