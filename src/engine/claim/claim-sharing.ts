import type { SchedulingStore } from "../../store/types.js";
import type { JobTable, LocalJob } from "../table/job-table.js";
import { Ownership } from "./ownership.js";

/**
 * Shares the claiming between instances without a leader (see Ownership). A due job this
 * instance is preferred for is claimed at once. Any other due job waits until `stealAfterMs`
 * past its fire time; then one read for all of them tells which slots are still unclaimed (the
 * preferred instance died or cannot run the job), and only those are claimed here. The rest
 * just move to the slot the store has. That read is the whole cost of covering for the others.
 */
export class ClaimSharing {
  readonly ownership: Ownership;

  constructor(
    private readonly store: SchedulingStore,
    selfId: string,
    private readonly table: JobTable,
    private readonly stealAfterMs: number,
  ) {
    this.ownership = new Ownership(selfId);
  }

  /**
   * The due jobs to claim now. The rest are put back: to look again at their steal time, at
   * the slot the store has, or (`reload`) to be read again when their definition changed.
   */
  async toClaim(due: LocalJob[], now: number, reload: (name: string) => Promise<void>): Promise<LocalJob[]> {
    const claimNow: LocalJob[] = [];
    const others: LocalJob[] = [];
    for (const job of due) {
      if (this.ownership.owns(job.name)) claimNow.push(job);
      else if (now < this.table.fireAt(job) + this.stealAfterMs) this.table.recheckAt(job, this.table.fireAt(job) + this.stealAfterMs);
      else others.push(job);
    }
    if (others.length === 0) return claimNow;
    const current = new Map((await this.store.nextSlots(others.map((j) => j.name))).map((r) => [r.name, r]));
    for (const job of others) {
      const row = current.get(job.name);
      if (row && row.specHash === job.specHash && row.nextSlot === job.nextSlot) claimNow.push(job); // still unclaimed: cover for its owner
      else if (row && row.specHash === job.specHash) this.table.reschedule(job, row.nextSlot);
      else await reload(job.name);
    }
    return claimNow;
  }
}
