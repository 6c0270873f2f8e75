import { sleep, type Clock } from "../../clock.js";
import type { JobSpec } from "../../job-spec.js";
import type { Logger } from "../../logger.js";
import { Cancellation } from "../../run/cancellation.js";
import type { JobHandler } from "../../run/types.js";
import type { FinishOutcome, RunRecord, RunResult, SchedulingStore } from "../../store/types.js";
import { Batcher } from "./batcher.js";
import type { EngineEmitter } from "../events.js";
import { executeRun, type ExecutedRun } from "./run-executor.js";
import type { HeldRunState, SlotState } from "../slot-state.js";
import { StartQueue } from "./start-queue.js";
import { isStoreAway } from "./store-away.js";
import { STORE_CALL_LIMIT_MS, withTimeLimit } from "../time-limit.js";


interface ActiveRun {
  run: RunRecord;
  state: HeldRunState;
  cancel: Cancellation;
  done: Promise<void>;
}

export interface SupervisorDeps {
  store: SchedulingStore;
  clock: Clock;
  log: Logger;
  events: EngineEmitter;
  handlers: Map<string, JobHandler>;
  /** A run is waiting in the start queue: the engine's timer must cover it. */
  wake(): void;
  /** A run was recorded as finished; `queuedSlot` is set when the job is idle with a slot queued. */
  afterRun(job: string, queuedSlot: number | null): Promise<void>;
  warn(message: string, error?: unknown): void;
}

/**
 * Owns the runs this process has claimed: starts them (at their fire time if claimed ahead),
 * cancels them, records how they ended, and tells when all are done. Each run held here is
 * `waiting`, `running` or `finishing`, then `recorded` (see SlotState and `stateOf`).
 */
export class RunSupervisor {
  readonly starts = new StartQueue();
  private readonly active = new Map<number, ActiveRun>();
  private readonly perJob = new Map<string, number>();
  private readonly finisher: Batcher<RunResult, FinishOutcome>;
  /**
   * Runs that ended here lately. A claim whose answer was lost can be found and started by
   * LostClaims while its answer is still on the way, or just after it ended: either way it
   * must not run twice. Run id → when it ended, kept RECENT_MS (a Map keeps insertion order,
   * so the oldest go first).
   */
  private readonly recent = new Map<number, number>();
  /** Jobs with a run that ended but whose result the store has not taken yet (on its way, or the store is away). */
  private readonly unrecorded = new Map<string, number>();
  private retryWake = new AbortController();
  /** Results waiting because the store looked away (not because it refused them): worth an early try. */
  private waitingForStore = 0;
  private closed = false;

  constructor(private readonly deps: SupervisorDeps) {
    // One time limit per batch of finishes, not one timer per run: a thousand runs ending
    // together are one store call, and fail (and are retried) together.
    this.finisher = new Batcher((results) => withTimeLimit(deps.store.finishRuns(results), STORE_CALL_LIMIT_MS, `recording ${results.length} run(s)`));
  }

  get size(): number {
    return this.active.size;
  }

  list(): RunRecord[] {
    return [...this.active.values()].map((a) => a.run);
  }

  hasRunOf(job: string): boolean {
    return (this.perJob.get(job) ?? 0) > 0;
  }

  /**
   * A run of this job has ended but the store has not taken its result yet (it is on its way,
   * or the store is away): the store would still call the job busy, and skip its slot for a run
   * that already ended, so the slot waits for the result.
   */
  awaitsRecord(job: string): boolean {
    return this.unrecorded.has(job);
  }

  /**
   * The store answers again: results that waited because it was away are written now rather
   * than at their next retry. Results it refused (a full disk) keep their backoff.
   */
  retryNow(): void {
    if (this.waitingForStore > 0) this.wakeRetries();
  }

  private wakeRetries(): void {
    if (this.unrecorded.size === 0) return;
    this.retryWake.abort();
    this.retryWake = new AbortController();
  }

  /** Has this run (claimed by this process) been started here, and is running or ended lately? */
  holds(runId: number): boolean {
    return this.stateOf(runId) !== undefined;
  }

  /** Where a run claimed by this process is (see SlotState); undefined if not held here lately. */
  stateOf(runId: number): SlotState | undefined {
    return this.active.get(runId)?.state ?? (this.recent.has(runId) ? "recorded" : undefined);
  }

  start(spec: JobSpec, run: RunRecord, replacing: number[]): void {
    // A claim whose answer was lost and is adopted later may also get its answer: run it once.
    if (this.holds(run.id)) return;
    const { clock, events, log } = this.deps;
    const cancel = new Cancellation();
    // A run claimed ahead of its slot is recorded already; it begins at its fire time.
    const ready = run.startedAt! > clock.now() ? this.starts.wait(run.startedAt!, cancel) : null;
    const entry: ActiveRun = { run, state: ready ? "waiting" : "running", cancel, done: Promise.resolve() };
    this.active.set(run.id, entry);
    this.perJob.set(run.job, (this.perJob.get(run.job) ?? 0) + 1);
    if (ready) this.deps.wake();
    entry.done = (async () => {
      if (ready) await ready;
      if (cancel.reason && ready) {
        // Cancelled while waiting for its slot: it never started.
        const result = { status: "cancelled" as const, exitCode: null, signal: null, error: cancel.reason.message, stdout: "", stderr: "" };
        return this.record(entry, { result, attempt: 1 });
      }
      entry.state = "running";
      log.debug({ job: run.job, run: run.id, trigger: run.trigger, lateMs: clock.now() - run.slot }, "run started");
      events.emit("run:started", run);
      if (replacing.length > 0) await this.cancel(replacing, `replaced by run #${run.id} (overlap: replace)`);
      const executed = await executeRun({
        run, spec, handler: this.deps.handlers.get(run.job), cancel, clock, store: this.deps.store, events,
      }).catch((error): ExecutedRun => ({
        attempt: 1,
        result: { status: "failed", exitCode: null, signal: null, error: `jobclock could not run the job: ${String(error)}`, stdout: "", stderr: "" },
      }));
      await this.record(entry, executed);
    })();
  }

  /** Cancels runs of this process; runs of other instances can not be reached from here. */
  async cancel(ids: number[], reason: string): Promise<void> {
    const local = ids.map((id) => this.active.get(id)).filter((a): a is ActiveRun => a !== undefined);
    for (const a of local) a.cancel.cancel(new Error(reason));
    const remote = ids.filter((id) => !this.active.has(id));
    if (remote.length > 0) this.deps.warn(`cannot cancel runs of other instances (${remote.map((id) => `#${id}`).join(", ")}) from here`);
    await Promise.all(local.map((a) => a.done));
  }

  cancelAll(reason: string): void {
    for (const a of this.active.values()) a.cancel.cancel(new Error(reason));
  }

  /** Lets running runs finish for up to `timeoutMs`, then cancels what is left and waits for it. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.active.size === 0) return;
    this.deps.log.info({ runs: this.list().map((r) => `${r.job}#${r.id}`) }, `draining ${this.active.size} running run(s)`);
    const deadline = new AbortController();
    const timedOut = sleep(this.deps.clock, timeoutMs, deadline.signal).then(() => "timeout" as const, () => "drained" as const);
    const outcome = await Promise.race([this.allDone().then(() => "drained" as const), timedOut]);
    deadline.abort();
    if (outcome === "timeout" && this.active.size > 0) {
      this.cancelAll(`cancelled at shutdown: still running after shutdown_timeout (${timeoutMs}ms)`);
      this.close(); // a result the store still refuses is not waited for past the timeout either
      await this.allDone();
    }
  }

  async allDone(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((a) => a.done));
  }

  /**
   * After this, a result the store refuses is given up instead of retried forever (results
   * waiting for a retry get their last try now). The run stays "running" in the store until an
   * instance abandons it, as after a crash.
   */
  close(): void {
    this.closed = true;
    this.wakeRetries();
  }

  private async record(entry: ActiveRun, { result, attempt }: ExecutedRun): Promise<void> {
    const { run } = entry;
    entry.state = "finishing";
    const finishedAt = this.deps.clock.now();
    const outcome = await this.finishWithRetry(run.job, {
      runId: run.id, status: result.status, attempt, finishedAt, exitCode: result.exitCode, signal: result.signal,
      error: result.error, output: { stdout: result.stdout, stderr: result.stderr },
    });
    this.active.delete(run.id);
    this.remember(run.id, finishedAt);
    countDown(this.perJob, run.job);
    const durationMs = finishedAt - (run.startedAt ?? finishedAt);
    const level = result.status === "succeeded" ? "info" : "warn";
    this.deps.log[level]({ job: run.job, run: run.id, status: result.status, attempt, durationMs, error: result.error ?? undefined }, `run ${result.status}`);
    // Spelled out rather than spread: this runs for every run, and spreads cost kilobytes of garbage.
    const finished: RunRecord = {
      id: run.id, job: run.job, slot: run.slot, trigger: run.trigger, instanceId: run.instanceId, attempt, status: result.status,
      startedAt: run.startedAt, finishedAt, heartbeatAt: run.heartbeatAt, exitCode: result.exitCode, signal: result.signal,
      error: result.error, missedCount: run.missedCount, missedUntil: run.missedUntil, blockedBy: run.blockedBy, createdAt: run.createdAt,
    };
    this.deps.events.emit("run:finished", finished, {
      status: result.status, exitCode: result.exitCode, signal: result.signal, error: result.error, stdout: result.stdout,
      stderr: result.stderr, attempt, durationMs,
    });
    await this.deps.afterRun(run.job, outcome?.queuedSlot ?? null);
  }

  private remember(id: number, at: number): void {
    this.recent.set(id, at);
    for (const [old, endedAt] of this.recent) {
      if (endedAt >= at - RECENT_MS) break;
      this.recent.delete(old);
    }
  }

  /**
   * The result of a run is never dropped: if the store is away, keep trying until it is back.
   * Retries stay frequent (at most 2 s apart): until the result is written the job counts as
   * running: its next slots wait for it (awaitsRecord). A store that was away is tried again
   * as soon as it answers (retryNow); one that refused the write keeps the backoff. Warned
   * once, then about once a minute while it lasts.
   */
  private async finishWithRetry(job: string, record: RunResult): Promise<FinishOutcome | null> {
    this.unrecorded.set(job, (this.unrecorded.get(job) ?? 0) + 1);
    let away = false;
    try {
      for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(delay * 2, MAX_RETRY_MS)) {
        try {
          return await this.finisher.add(record);
        } catch (error) {
          if (this.closed) {
            this.deps.warn(`could not record the end of run #${record.runId} (${record.status}) and the engine is stopping: given up; it will be marked abandoned`, error);
            return null;
          }
          if (isStoreAway(error) !== away) {
            away = !away;
            this.waitingForStore += away ? 1 : -1;
          }
          if (attempt === 1) this.deps.warn(`could not record the end of run #${record.runId}; retrying in ${delay}ms, then every ${MAX_RETRY_MS}ms`, error);
          else if (attempt % WARN_EVERY_ATTEMPTS === 0) this.deps.warn(`still cannot record the end of run #${record.runId} after ${attempt} attempts; retrying every ${MAX_RETRY_MS}ms`, error);
          await sleep(this.deps.clock, delay, this.retryWake.signal).catch(() => {}); // woken early by retryNow()
        }
      }
    } finally {
      if (away) this.waitingForStore--;
      countDown(this.unrecorded, job);
    }
  }
}

const MAX_RETRY_MS = 2_000;
/** About once a minute at MAX_RETRY_MS. */
const WARN_EVERY_ATTEMPTS = 30;

/** Far longer than a lost claim's answer takes to arrive, or the store to say what it holds. */
const RECENT_MS = 60_000;

function countDown(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
