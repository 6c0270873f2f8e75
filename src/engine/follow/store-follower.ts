import type { Clock } from "../../clock.js";
import type { JobHandler } from "../../run/types.js";
import type { JobRecord, RunRecord } from "../../store/types.js";
import type { EngineStore } from "../options.js";
import type { Claimer } from "../claim/claimer.js";
import { CONTENDED_RECHECK_MS } from "../claim/claimer.js";
import type { LostClaims } from "../claim/lost-claims.js";
import type { QueuedSlots } from "../claim/queued-slots.js";
import type { EngineEmitter } from "../events.js";
import type { RunSupervisor } from "../runs/run-supervisor.js";
import { fullSpec, type JobTable } from "../table/job-table.js";
import { STORE_CALL_LIMIT_MS, withTimeLimit } from "../time-limit.js";
import type { ControlLog } from "./control-log.js";
import { readChanges } from "./read-changes.js";

export interface StoreFollowerDeps {
  store: EngineStore;
  clock: Clock;
  events: EngineEmitter;
  handlers: Map<string, JobHandler>;
  table: JobTable;
  runs: RunSupervisor;
  claimer: Claimer;
  lostClaims: LostClaims;
  queued: QueuedSlots;
  controlLog: ControlLog;
  /** False while starting or draining: triggers, queued slots and lost claims wait. */
  takingSlots(): boolean;
  /** A tick's claims are in flight (their answers are not lost, just not back yet). */
  claimsInFlight(): boolean;
  /** When the engine went live: a running run of ours created before it died with a predecessor. */
  liveSince(): number;
  /** The table changed: set the engine's one timer again. */
  arm(): void;
  warn(message: string, error?: unknown): void;
}

/**
 * Where a slot's life begins: job definitions, pauses, triggers and queued slots that any
 * process wrote to the store come into the engine's JobTable here. Each sync reads what
 * changed since the last one (a change token says whether anything did), and, after a claim
 * whose answer was lost, looks for its run.
 */
export class StoreFollower {
  private rev = 0;
  private token = "";
  /** Jobs this process has no handler for, already warned about once. */
  private readonly unhandled = new Set<string>();
  /** Idle jobs read with a queued slot: claimed once the read is done. */
  private queuedOnLoad: JobRecord[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: StoreFollowerDeps) {}

  /** Picks up what other processes wrote (CLI pause/resume/trigger/reload, other instances). */
  sync(force: boolean): Promise<void> {
    // Polls, notifications and local changes may all ask at once: one sync at a time.
    const next = this.chain.then(() => withTimeLimit(this.syncNow(force), STORE_CALL_LIMIT_MS, "following the store"));
    this.chain = next.catch(() => {});
    return next;
  }

  /** Resolves when the syncs asked for so far are done. */
  idle(): Promise<void> {
    return this.chain;
  }

  /** Reads one job again (a claim was lost: someone else moved it, or its definition changed). */
  async reload(name: string): Promise<void> {
    const record = await this.deps.store.getJob(name);
    if (record) this.follow(record);
    else this.deps.table.remove(name);
  }

  private async syncNow(force: boolean): Promise<void> {
    const { store, runs, lostClaims, table, events, claimer } = this.deps;
    const taking = () => this.deps.takingSlots();
    const token = await store.changeToken();
    // The store answers again: results that waited for it go in now, lost claims are found.
    runs.retryNow();
    // Not while a tick's claims are in flight: their answers would be taken for lost ones.
    if (taking() && !this.deps.claimsInFlight()) await lostClaims.recover((id) => runs.holds(id), (run) => this.adopt(run));
    if (!force && token === this.token) return;
    const changes = await readChanges(store, this.rev, (record) => this.follow(record));
    this.rev = changes.rev;
    await this.deps.controlLog.follow();
    if (changes.jobs.length > 0) events.emit("jobs:changed", changes.jobs);
    const mine = changes.triggers.filter((t) => table.get(t.job));
    // A trigger still to claim (store away, or its job's row held elsewhere that instant)
    // is read and tried again shortly: the token is not advanced past it.
    if (mine.length > 0 && taking() && !(await claimer.claimTriggers(mine))) {
      this.deps.clock.setTimeout(() => void this.sync(true).catch((e) => this.deps.warn("store sync failed", e)), CONTENDED_RECHECK_MS);
      return;
    }
    // Only now is everything up to this token handled; our own commits do not move it.
    this.token = token;
    if (taking()) await this.deps.queued.promote(this.queuedOnLoad.splice(0));
    this.deps.arm();
  }

  /** A run of ours the store holds but this process never started (its claim's answer was lost). */
  private adopt(run: RunRecord): boolean {
    const job = this.deps.table.get(run.job);
    // Retired, left to others, or stopping meanwhile: abandoned after the budget. A run from
    // before this engine started (a predecessor with the same instance id) died with it.
    if (!job || !this.deps.takingSlots() || run.createdAt < this.deps.liveSince()) return false;
    this.deps.runs.start(fullSpec(job), run, []);
    return true;
  }

  private follow(record: JobRecord): void {
    if (record.retiredAt !== null || !this.canRun(record)) return this.deps.table.remove(record.name);
    this.deps.table.upsert(record);
    if (record.queuedSlot !== null && record.runningCount === 0) this.queuedOnLoad.push(record);
  }

  private canRun(record: JobRecord): boolean {
    if (record.spec.action.kind !== "handler" || this.deps.handlers.has(record.name)) return true;
    if (!this.unhandled.has(record.name)) {
      this.unhandled.add(record.name);
      this.deps.warn(`job "${record.name}" needs an in-process handler this process does not have; leaving it to others`);
    }
    return false;
  }
}
