import type { Logger } from "../../logger.js";
import type { RunRecord, ReadModel } from "../../store/types.js";

/**
 * A claim whose answer never came (the connection dropped, or the store answered too late) may
 * have committed: its run is then `running` under this instance in the store, and nobody runs
 * it. Until it is found, the job looks busy and its next slots are skipped. After such a claim,
 * the next time the store answers, the engine looks for its own running runs that it does not
 * hold and starts them: the slot runs once, late, instead of being skipped and then abandoned.
 * (The slot's `lost` state in SlotState.)
 */
export class LostClaims {
  private inDoubt = false;

  constructor(private readonly store: Pick<ReadModel, "listRuns">, private readonly instanceId: string, private readonly log: Logger) {}

  /** A claim failed without an answer. */
  doubt(): void {
    this.inDoubt = true;
  }

  /** Finds committed claims this process never heard of and hands them to `adopt`. */
  async recover(holds: (runId: number) => boolean, adopt: (run: RunRecord) => boolean): Promise<void> {
    if (!this.inDoubt) return;
    this.inDoubt = false; // a claim failing from here on raises it again
    let runs: RunRecord[];
    try {
      runs = await this.store.listRuns({ status: "running", instanceId: this.instanceId, limit: 1_000 });
    } catch (error) {
      this.inDoubt = true;
      throw error;
    }
    for (const run of runs) {
      // Held: started from its own answer, which did come (or is being started right now).
      if (holds(run.id)) continue;
      if (adopt(run)) this.log.warn({ job: run.job, run: run.id, slot: new Date(run.slot).toISOString() }, "started a run whose claim's answer was lost with the connection");
    }
  }
}
