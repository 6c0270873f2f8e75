import type { Clock } from "../../clock.js";
import type { JobRecord } from "../../store/types.js";
import type { EngineStore } from "../options.js";
import type { JobTable } from "../table/job-table.js";
import { CONTENDED_RECHECK_MS, type Claimer } from "./claimer.js";

export interface QueuedSlotsDeps {
  store: EngineStore;
  clock: Clock;
  table: JobTable;
  claimer: Claimer;
  /** False while starting or draining: no slot is claimed then. */
  takingSlots(): boolean;
  warn(message: string, error?: unknown): void;
}

/**
 * A slot of an `overlap: queue` job that came due while the job ran waits in the store as the
 * job's queued slot. It is claimed here when the job becomes idle: after a run of it ends here,
 * when the store shows it idle with a slot queued (another instance's run ended), or when the
 * run it waited for was abandoned. (The slot's `queued` state in SlotState.)
 */
export class QueuedSlots {
  constructor(private readonly deps: QueuedSlotsDeps) {}

  /** Claims the job's queued slot; if the job's row was held elsewhere that instant, tries again shortly. */
  async claim(name: string, slot: number): Promise<void> {
    const { table, claimer, clock } = this.deps;
    const job = table.get(name);
    if (!job || !this.deps.takingSlots()) return;
    if (!(await claimer.claimQueued(job, slot))) {
      clock.setTimeout(() => void this.claim(name, slot).catch((e) => this.deps.warn("claiming a queued slot failed", e)), CONTENDED_RECHECK_MS);
    }
  }

  /** Claims the queued slots of those jobs that are idle. */
  async promote(records: JobRecord[]): Promise<void> {
    for (const r of records) if (r.queuedSlot !== null && r.runningCount === 0) await this.claim(r.name, r.queuedSlot);
  }

  /** Only the jobs of abandoned runs can have a queued slot waiting for them. */
  async afterAbandoned(jobs: string[]): Promise<void> {
    if (!this.deps.takingSlots()) return;
    for (const name of jobs) {
      const job = await this.deps.store.getJob(name);
      if (job) await this.promote([job]);
    }
  }
}
