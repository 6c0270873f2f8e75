import type { InstanceRecord } from "../../store/types.js";
import type { InstanceProblems } from "./instance-problems.js";
import { abandonDeadRuns } from "./dead-instances.js";
import type { InstanceContext } from "../instance-context.js";
import { STORE_CALL_LIMIT_MS, withTimeLimit } from "../time-limit.js";

const MAX_SKEW_MS = 2_000;
const MAX_ROUND_TRIP_MS = 1_000;
// A correction moves firing times, so only a reading this far from the current correction (or
// the round trip's length, if longer) changes it.
const CORRECTION_DEADBAND_MS = 50;

export interface HousekeepingDeps extends InstanceContext {
  host: string;
  heartbeatMs: number;
  abandonAfterMs: number;
  /** The runs this instance really holds (only these are heartbeated). */
  heldRunIds(): number[];
  /** What this instance reports wrong about itself (written when it changed). */
  problems: InstanceProblems;
  /** The store's instances, read at every heartbeat (who is alive, to share the claiming). */
  onInstances(instances: InstanceRecord[], now: number): void;
  /** The engine's clock moved by a correction: its timer must be set again. */
  onClockCorrected(): void;
  /** Jobs whose runs were just abandoned: one may have a queued slot waiting. */
  onAbandoned(jobs: string[]): Promise<void>;
  warn(message: string, error?: unknown): void;
}

/**
 * The heartbeat cycle: say this instance is alive, keep its runs' heartbeats fresh, watch its
 * clock against the store's, and abandon the runs of instances that died (so their jobs run again).
 */
export class Housekeeping {
  private skewWarned = false;

  constructor(private readonly deps: HousekeepingDeps) {}

  async beat(): Promise<void> {
    const { store, clock, instanceId } = this.deps;
    const sentAt = clock.now();
    const problems = this.deps.problems.pending();
    const residual = await withTimeLimit(
      store.heartbeat(instanceId, sentAt, this.deps.heldRunIds(), clock.offsetMs, problems?.problems), STORE_CALL_LIMIT_MS, "heartbeat",
    );
    if (problems) this.deps.problems.written(problems.version);
    const roundTrip = clock.now() - sentAt;
    // A slow round trip (the store just came back) says nothing about the clocks: skip it.
    if (residual !== null && roundTrip <= MAX_ROUND_TRIP_MS) this.correctClock(residual - roundTrip / 2, roundTrip);
    await this.recover();
  }

  /**
   * Slots are claimed on the store's clock, so that all instances judge them on one clock: the engine's
   * clock takes the measured skew as its correction. A machine far off still gets a warning,
   * because its jobs' own timestamps and logs are off.
   */
  private correctClock(residualMs: number, roundTripMs: number): void {
    const { clock, log } = this.deps;
    const skew = clock.offsetMs + residualMs;
    // The store read its clock somewhere within the round trip: a reading is only good to about
    // the round trip, and under load that is tens of milliseconds. Acting on that noise would
    // start runs before their slot by the machine's own (correct) clock.
    if (clock.correct(skew, Math.max(CORRECTION_DEADBAND_MS, roundTripMs))) {
      log.debug({ skewMs: clock.offsetMs }, "clock corrected to the store's");
      this.deps.onClockCorrected(); // the armed timer was set by the old clock
    }
    const off = Math.abs(skew) > MAX_SKEW_MS;
    if (off && !this.skewWarned) {
      this.deps.warn(`this machine's clock is ${(skew / 1000).toFixed(1)}s off the store's; jobclock schedules on the store's clock, but fix this machine's time sync (NTP)`);
    }
    this.skewWarned = off;
  }

  async recover(): Promise<void> {
    const { store, clock, log, events } = this.deps;
    const instances = await store.listInstances();
    const now = clock.now();
    this.deps.onInstances(instances, now);
    const abandoned = await abandonDeadRuns({
      store, instances, selfId: this.deps.instanceId, host: this.deps.host, now, budgetMs: this.deps.abandonAfterMs,
      quietMs: 2 * this.deps.heartbeatMs,
    });
    for (const run of abandoned) {
      log.warn({ job: run.job, run: run.id, instance: run.instanceId }, "run abandoned: its instance died");
      events.emit("run:abandoned", run);
    }
    if (abandoned.length > 0) await this.deps.onAbandoned([...new Set(abandoned.map((r) => r.job))]);
  }
}
