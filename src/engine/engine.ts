import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { systemClock } from "../clock.js";
import { UnknownJobError } from "../errors.js";
import type { JobSpec } from "../job-spec.js";
import { silentLogger, type Logger } from "../logger.js";
import type { JobHandler } from "../run/types.js";
import type { ApplyOptions, ApplyReport, RunRecord } from "../store/types.js";
import { coalescing, type Coalesced } from "../util/coalesce.js";
import { EngineEmitter } from "./events.js";
import { Lifecycle, type EngineState } from "./lifecycle.js";
import { withDefaults, type EngineOptions, type EngineSettings, type EngineStore } from "./options.js";
import { Loop } from "./loop.js";
import { STORE_CALL_LIMIT_MS, withTimeLimit } from "./time-limit.js";
import { followChanges, type ChangeFeed } from "./follow/change-feed.js";
import { ControlLog } from "./follow/control-log.js";
import { StoreFollower } from "./follow/store-follower.js";
import { JobTable } from "./table/job-table.js";
import { WakeTimer } from "./table/wake-timer.js";
import { ClaimSharing } from "./claim/claim-sharing.js";
import { Claimer } from "./claim/claimer.js";
import { LostClaims } from "./claim/lost-claims.js";
import { QueuedSlots } from "./claim/queued-slots.js";
import { RunSupervisor } from "./runs/run-supervisor.js";
import { Housekeeping } from "./heartbeat/housekeeping.js";
import { InstanceProblems } from "./heartbeat/instance-problems.js";
import { pruneStore } from "./heartbeat/pruning.js";
import { StoreClock } from "./heartbeat/store-clock.js";

export type { EngineOptions } from "./options.js";

/**
 * The scheduler: one timer for all jobs, slots claimed in the store by compare-and-set, runs
 * executed and recorded, heartbeats and recovery. It talks to the outside through `events`.
 * Its own life is Lifecycle's (lifecycle.ts); a slot's life, and which folder handles each
 * part of it (follow/, table/, claim/, runs/, heartbeat/), is SlotState's (slot-state.ts).
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
  private readonly settings: EngineSettings;
  private readonly table: JobTable;
  private readonly runs: RunSupervisor;
  private readonly housekeeping: Housekeeping;
  private readonly lostClaims: LostClaims;
  private readonly sharing: ClaimSharing;
  private readonly claimer: Claimer;
  private readonly queued: QueuedSlots;
  private readonly follower: StoreFollower;
  private readonly loops: Loop[] = [];
  private readonly problems = new InstanceProblems();
  private readonly controlLog: ControlLog;
  private readonly supervisor: string | null;
  private heartbeat: Loop | null = null;
  private readonly wake: WakeTimer;
  private readonly lifecycle = new Lifecycle(this.events);
  /** One tick at a time; a wake during a (slow) claim gets one more tick after it. */
  private readonly ticks: Coalesced = coalescing(() => this.tickPass());
  /** When the engine went live: slots before it were missed while no instance ran; uptime counts from it. */
  private liveSince = 0;
  /** The instance's registration: done once, by the first of apply() and start(). */
  private prepared: Promise<void> | null = null;
  private feed: ChangeFeed | null = null;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.clock = new StoreClock(options.clock ?? systemClock);
    this.log = options.logger ?? silentLogger;
    this.handlers = options.handlers ?? new Map();
    this.instanceId = options.instanceId ?? `${this.host}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.settings = withDefaults(options);
    this.supervisor = options.supervisor ?? null;
    this.controlLog = new ControlLog(this.store, this.log);
    this.wake = new WakeTimer(this.clock, () => this.tick(), (message) => this.warn(message));
    this.runs = new RunSupervisor({
      store: this.store, clock: this.clock, log: this.log, events: this.events, handlers: this.handlers,
      wake: () => this.arm(),
      afterRun: (job, queuedSlot) => this.afterRun(job, queuedSlot),
      warn: (message, error) => this.warn(message, error),
    });
    this.table = new JobTable(this.settings.claimAheadMs);
    this.lostClaims = new LostClaims(this.store, this.instanceId, this.log);
    this.sharing = new ClaimSharing(this.store, this.instanceId, this.table, this.settings.stealAfterMs);
    this.claimer = new Claimer({
      store: this.store, clock: this.clock, log: this.log, events: this.events, instanceId: this.instanceId,
      table: this.table, runs: this.runs, sharing: this.sharing, lostClaims: this.lostClaims,
      liveSince: () => this.liveSince, takingSlots: () => this.taking,
      reload: (name) => this.follower.reload(name), warn: (m, e) => this.warn(m, e),
    });
    this.queued = new QueuedSlots({
      store: this.store, clock: this.clock, table: this.table, claimer: this.claimer, takingSlots: () => this.taking, warn: (m, e) => this.warn(m, e),
    });
    this.follower = new StoreFollower({
      store: this.store, clock: this.clock, events: this.events, handlers: this.handlers, table: this.table, runs: this.runs,
      claimer: this.claimer, lostClaims: this.lostClaims, queued: this.queued, controlLog: this.controlLog,
      takingSlots: () => this.taking, claimsInFlight: () => this.ticks.busy, liveSince: () => this.liveSince,
      arm: () => this.arm(), warn: (m, e) => this.warn(m, e),
    });
    this.housekeeping = new Housekeeping({
      store: this.store, clock: this.clock, log: this.log, events: this.events, instanceId: this.instanceId, host: this.host,
      heartbeatMs: this.settings.heartbeatMs, abandonAfterMs: this.settings.abandonAfterMs,
      heldRunIds: () => this.runs.list().map((r) => r.id),
      problems: this.problems,
      // An instance that missed two heartbeats (and a second) no longer gets its jobs' first claim.
      onInstances: (instances, now) => this.sharing.ownership.update(instances, now, 2 * this.settings.heartbeatMs + 1_000),
      onClockCorrected: () => this.arm(),
      onAbandoned: (jobs) => this.queued.afterAbandoned(jobs),
      warn: (message, error) => this.warn(message, error),
    });
  }

  get state(): EngineState {
    return this.lifecycle.state;
  }

  /** Claiming slots and starting runs (not yet, or no longer, while starting or draining). */
  private get taking(): boolean {
    return this.lifecycle.is("running");
  }

  get uptimeMs(): number {
    return this.liveSince ? this.clock.now() - this.liveSince : 0;
  }

  /**
   * Applies job definitions to the store (add, update, retire) and follows them. With
   * `options.guard`, an apply that would retire most jobs or revert to an older generation is
   * refused (ApplyRefusedError) and nothing changes.
   */
  async apply(specs: JobSpec[], options: ApplyOptions = {}): Promise<ApplyReport> {
    // Anchors and first slots are written on the store's clock too.
    if (this.lifecycle.is("new", "starting")) await this.prepare();
    const report = await this.store.applyJobs(specs, this.clock.now(), { source: `library on ${this.host}`, ...options });
    this.events.emit("jobs:applied", report);
    if (this.taking) await this.follower.sync(true);
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
        id: this.instanceId, host: this.host, pid: process.pid, version: this.settings.version,
        startedAt: now, lastSeen: now, stoppedAt: null, supervisor: this.supervisor,
      });
      await this.controlLog.begin();
      await this.housekeeping.beat();
    })();
    return this.prepared;
  }

  async start(): Promise<void> {
    this.lifecycle.transition("starting");
    const preparedEarlier = this.prepared !== null;
    try {
      await this.prepare();
      // Prepared at an earlier apply: look again for dead instances' runs, just before going live.
      if (preparedEarlier) await this.housekeeping.beat();
    } catch (error) {
      this.lifecycle.transition("stopped");
      throw error;
    }
    this.liveSince = this.clock.now();
    this.lifecycle.transition("running");
    try {
      await this.goLive();
    } catch (error) {
      // Running without its feed, heartbeat or timer it would look alive and do nothing.
      if (this.lifecycle.is("running")) await this.drainAndStop(0);
      throw error;
    }
  }

  /** The first read of the jobs, then the feed, the loops and the timer. */
  private async goLive(): Promise<void> {
    await this.follower.sync(true);
    const earliest = this.table.nextFireAt();
    // Not a clock jump: slots that fell while no instance ran are caught up by each job's policy.
    if (earliest !== undefined && earliest < this.liveSince - 1_000) {
      this.log.info({ earliest: new Date(earliest).toISOString() }, "slots came due while no daemon was running; each job catches up as its `catchup` says");
    }
    const feed = await followChanges({ store: this.store, clock: this.clock, syncMs: this.settings.syncMs, sync: () => this.follower.sync(false), warn: (m, e) => this.warn(m, e) });
    // Stopped while the feed was set up: the drain has already stopped what there was.
    if (!this.taking) return feed.stop();
    this.feed = feed;
    const pollOnBeat = this.feed.pollOnBeat;
    this.heartbeat = new Loop(this.clock, this.settings.heartbeatMs, () => this.beat(pollOnBeat), (e) => this.warn("heartbeat failed", e));
    this.loops.push(new Loop(this.clock, this.settings.pruneEveryMs, () => this.prune(), (e) => this.warn("pruning history failed", e)));
    this.arm();
  }

  private async beat(thenSync: boolean): Promise<void> {
    try {
      await this.housekeeping.beat();
    } finally {
      if (thenSync) await this.follower.sync(false).catch((e) => this.warn("store sync failed", e));
    }
  }

  /**
   * Graceful drain: take no new slots, let running runs finish for up to `timeoutMs`, then
   * cancel what is left and record it as cancelled.
   */
  stop(timeoutMs = this.settings.shutdownTimeoutMs): Promise<void> {
    switch (this.lifecycle.state) {
      case "new":
        return this.stopUnstarted();
      case "starting":
        // Let the start finish (or fail) first: it is what the drain undoes.
        return this.lifecycle.reached("running").then(() => this.stop(timeoutMs));
      case "running":
        return this.drainAndStop(timeoutMs);
      case "draining":
        // Asked again while draining (a second SIGTERM or Ctrl-C): stop waiting.
        if (timeoutMs === 0) {
          this.runs.cancelAll("cancelled at shutdown: asked to stop again while draining");
          this.runs.close();
        }
        return this.lifecycle.reached("stopped");
      case "stopped":
        return Promise.resolve();
    }
  }

  private stopUnstarted(): Promise<void> {
    this.lifecycle.transition("stopped");
    // Registered by an apply but never started: say so, or it would look alive to the others.
    return this.prepared?.then(() => this.store.markInstanceStopped(this.instanceId, this.clock.now())).catch(() => {}) ?? Promise.resolve();
  }

  private async drainAndStop(timeoutMs: number): Promise<void> {
    this.lifecycle.transition("draining");
    try {
      for (const loop of this.loops) loop.stop();
      await this.feed?.stop();
      // Claims already sent may still win: their runs must be in hand before the drain counts them.
      await withTimeLimit(this.ticks.idle(), STORE_CALL_LIMIT_MS, "a claim in flight at stop").catch(() => {});
      await this.follower.idle();
      this.arm(); // from now on the timer serves only runs already claimed ahead of their slot
      await this.runs.drain(timeoutMs);
      this.heartbeat?.stop();
      this.runs.close();
      await this.store.markInstanceStopped(this.instanceId, this.clock.now()).catch((e) => this.warn("could not mark instance stopped", e));
    } finally {
      this.lifecycle.transition("stopped");
    }
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
    if (this.taking) await this.follower.sync(true).catch((e) => this.warn("store sync failed; the next poll follows the change", e));
  }

  // ---- timer and slots -------------------------------------------------------------------

  private arm(): void {
    // While stopping, the timer only serves runs already claimed ahead of their slot.
    this.wake.clear();
    if (!this.taking && (!this.lifecycle.is("draining") || this.runs.starts.size === 0)) return;
    const now = this.clock.now();
    const claimAt = this.taking ? this.table.nextFireAt() : undefined;
    this.wake.set(Math.min(claimAt ?? Infinity, this.runs.starts.nextAt() ?? Infinity, now + this.settings.recheckMs));
  }

  /** While a tick awaits the store, keep a timer for runs waiting in the start queue. */
  private armForStarts(): void {
    const at = this.runs.starts.nextAt();
    if (at !== undefined) this.wake.set(at);
  }

  private tick(): Promise<void> {
    // Runs already claimed start on time even while a (slow) claim is in flight.
    this.runs.starts.startDue(this.clock.now());
    if (this.ticks.busy) this.armForStarts();
    // The timer is set once the last tick asked for is done (not between ticks).
    // A pass that fails (it should not: claims report their own errors) must not become an
    // unhandled rejection from the timer, nor leave the timer unset.
    return this.ticks.run().catch((e) => this.warn("a scheduling pass failed; the next one goes on", e)).finally(() => {
      if (!this.ticks.busy) this.arm();
    });
  }

  private async tickPass(): Promise<void> {
    const now = this.clock.now();
    this.runs.starts.startDue(now);
    const due = this.taking ? this.table.popDue(now) : [];
    if (due.length > 0) await this.claimer.claimDue(due, now);
  }

  // ---- runs ------------------------------------------------------------------------------

  /** After a run: start the job's queued slot, or the next catch-up slot of an `all` job. */
  private async afterRun(name: string, queuedSlot: number | null): Promise<void> {
    if (queuedSlot !== null) await this.queued.claim(name, queuedSlot);
    const job = this.table.get(name);
    const now = this.clock.now();
    if (job && job.nextSlot !== null && job.nextSlot <= now && this.taking) {
      this.table.recheckAt(job, now);
      this.arm();
    }
  }

  // ---- housekeeping ----------------------------------------------------------------------

  private prune(): Promise<void> {
    return pruneStore(this.store, this.table.names(), this.settings.retention, () => this.clock.now(), () => this.taking, this.log);
  }

  private warn(message: string, error?: unknown): void {
    this.log.warn(error ? { err: error } : {}, message);
    this.events.emit("engine:warning", { message, error });
  }
}
