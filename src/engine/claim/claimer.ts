import type { ClaimOutcome, SlotClaim, TriggerRequest } from "../../store/types.js";
import { planFor, queuedClaim, slotClaim, triggerClaim } from "./claim-builders.js";
import type { ClaimSharing } from "./claim-sharing.js";
import { fullSpec, type JobTable, type LocalJob } from "../table/job-table.js";
import type { LostClaims } from "./lost-claims.js";
import type { RunSupervisor } from "../runs/run-supervisor.js";
import type { InstanceContext } from "../instance-context.js";
import { STORE_CALL_LIMIT_MS, withTimeLimit } from "../time-limit.js";

// A slot this far before the engine went live was missed while nobody was running.
const LIVE_TOLERANCE_MS = 1_000;
const BUSY_RECHECK_MS = 1_000;
export const CONTENDED_RECHECK_MS = 50;
// A safety net only: the engine looks at the job again as soon as the result is written.
const AWAIT_RECORD_RECHECK_MS = 100;
const STORE_RETRY_MS = 1_000;

export interface ClaimerDeps extends InstanceContext {
  table: JobTable;
  runs: RunSupervisor;
  sharing: ClaimSharing;
  lostClaims: LostClaims;
  /** When the engine started taking slots: earlier ones were missed while nobody ran. */
  liveSince(): number;
  /** False once the engine is stopping: no new slots are claimed. */
  takingSlots(): boolean;
  /** Reads one job again from the store (the claim was lost: someone else moved it). */
  reload(name: string): Promise<void>;
  warn(message: string, error?: unknown): void;
}

/**
 * Asks the store for runs (due slots, manual triggers, queued slots) and acts on its answers:
 * starts the runs won, records skips and misses, and puts every job back in the schedule.
 * A slot is `claiming` here, and leaves `running`/`waiting`, `queued`, `skipped` or `lost`
 * (see SlotState).
 */
export class Claimer {
  constructor(private readonly deps: ClaimerDeps) {}

  /**
   * Claims the due jobs in one store batch. A job whose fire time is still ahead is claimed
   * early only if it is idle here; the store answers "busy" if it runs elsewhere, and then it
   * is claimed at its slot, when the overlap policy can judge the situation as it is then.
   */
  async claimDue(due: LocalJob[], now: number): Promise<void> {
    const { table, runs } = this.deps;
    const ready = due.filter((job) => !this.waitsForRecord(job, now));
    let mine: LocalJob[];
    try {
      mine = await this.deps.sharing.toClaim(ready, now, (name) => this.deps.reload(name));
    } catch (error) {
      this.deps.warn("could not read which slots other instances claimed; retrying", error);
      for (const job of ready) table.recheckAt(job, now + STORE_RETRY_MS);
      return;
    }
    if (!this.deps.takingSlots()) return; // a stop began meanwhile: no new slots
    const jobs: LocalJob[] = [];
    const claims: SlotClaim[] = [];
    for (const job of mine) {
      const fireAt = table.fireAt(job);
      const early = fireAt > now;
      if (early && runs.hasRunOf(job.name)) table.recheckAt(job, fireAt);
      else {
        const plan = planFor(job, Math.max(now, job.nextSlot!), this.deps.liveSince() - LIVE_TOLERANCE_MS);
        jobs.push(job);
        claims.push(slotClaim(job, plan, this.deps.instanceId, Math.max(now, fireAt), early));
      }
    }
    if (claims.length === 0) return;
    const outcomes = await this.claim(claims);
    if (!outcomes) {
      for (const job of jobs) table.recheckAt(job, now + STORE_RETRY_MS);
      return;
    }
    for (let i = 0; i < jobs.length; i++) {
      const fireAt = claims[i]!.now;
      // Busy at an early claim: try again at the slot itself.
      if (fireAt > now && outcomes[i]!.kind === "busy") table.recheckAt(jobs[i]!, fireAt);
      else await this.settle(jobs[i]!, claims[i]!, outcomes[i]!);
    }
  }

  /**
   * A run of the job ended here but its result is not in the store yet: the store would still
   * call the job busy, so `skip` would skip the slot (and `queue` queue it) for a run that
   * already ended. The slot waits for the result instead (checked before any store read).
   * `allow` starts alongside anyway.
   */
  private waitsForRecord(job: LocalJob, now: number): boolean {
    if (job.spec.overlap === "allow" || !this.deps.runs.awaitsRecord(job.name)) return false;
    const fireAt = this.deps.table.fireAt(job);
    // Claimed ahead of its slot, it is looked at again at the slot at the latest.
    this.deps.table.recheckAt(job, fireAt > now ? Math.min(now + AWAIT_RECORD_RECHECK_MS, fireAt) : now + AWAIT_RECORD_RECHECK_MS);
    return true;
  }

  /**
   * Claims manual triggers. False if one is still to claim (the store could not be asked, or
   * the job's row was held elsewhere that instant): the caller asks again shortly.
   */
  async claimTriggers(triggers: TriggerRequest[]): Promise<boolean> {
    const now = this.deps.clock.now();
    const jobs = triggers.map((t) => this.deps.table.get(t.job)!);
    const claims = triggers.map((t, i) => triggerClaim(jobs[i]!, t, this.deps.instanceId, now));
    const outcomes = await this.claim(claims);
    if (!outcomes) return false;
    for (let i = 0; i < claims.length; i++) await this.settle(jobs[i]!, claims[i]!, outcomes[i]!);
    return outcomes.every((o) => o.kind !== "contended");
  }

  /** Claims a job's queued slot; false if the job's row was held elsewhere (ask again shortly). */
  async claimQueued(job: LocalJob, slot: number): Promise<boolean> {
    const claim = queuedClaim(job, slot, this.deps.instanceId, this.deps.clock.now());
    const [outcome] = (await this.claim([claim])) ?? [];
    if (outcome) await this.settle(job, claim, outcome);
    return outcome?.kind !== "contended";
  }

  private async claim(claims: SlotClaim[]): Promise<ClaimOutcome[] | null> {
    const sent = this.deps.store.claimSlots(claims);
    try {
      return await withTimeLimit(sent, STORE_CALL_LIMIT_MS, `claiming ${claims.length} slot(s)`);
    } catch (error) {
      this.deps.lostClaims.doubt();
      // Given up on, it may still commit later: then look for its runs again.
      sent.then(() => this.deps.lostClaims.doubt(), () => this.deps.lostClaims.doubt());
      this.deps.warn(`could not claim ${claims.length} slot(s); retrying`, error);
      return null;
    }
  }

  /** One claim's failure to be handled must not leave the others, already won, unstarted. */
  private async settle(job: LocalJob, claim: SlotClaim, outcome: ClaimOutcome): Promise<void> {
    try {
      await this.handleOutcome(job, claim, outcome);
    } catch (error) {
      this.deps.warn(`could not act on the claim for ${job.name}; looking again shortly`, error);
      this.deps.table.recheckAt(job, this.deps.clock.now() + STORE_RETRY_MS);
    }
  }

  private async handleOutcome(job: LocalJob, claim: SlotClaim, outcome: ClaimOutcome): Promise<void> {
    const { table, events, log } = this.deps;
    const now = this.deps.clock.now();
    if (outcome.kind === "lost") {
      if (outcome.unknown) this.deps.lostClaims.doubt();
      return this.deps.reload(job.name);
    }
    if (outcome.kind === "busy") return table.recheckAt(job, now + BUSY_RECHECK_MS);
    if (outcome.kind === "contended") {
      // Triggers and queued slots are asked for again by their callers.
      if (claim.source.kind === "slot") table.recheckAt(job, now + CONTENDED_RECHECK_MS);
      return;
    }
    if (claim.source.kind === "slot") table.reschedule(job, claim.source.next);
    if (outcome.missedRun) {
      log.warn({ job: job.name, missed: outcome.missedRun.missedCount }, outcome.missedRun.error ?? "slots missed");
      events.emit("slot:missed", outcome.missedRun);
    }
    if (outcome.kind === "started") this.deps.runs.start(fullSpec(job), outcome.run, outcome.replacing);
    else if (outcome.kind === "skipped") {
      log.info({ job: job.name, run: outcome.run.id }, `skipped: ${outcome.run.error}`);
      events.emit("run:skipped", outcome.run);
    } else if (outcome.kind === "queued") {
      events.emit("slot:queued", { job: job.name, slot: claim.slot! });
    }
  }
}
