import type { Clock, TimerHandle } from "../../clock.js";

/**
 * The engine's time: this machine's clock corrected by the skew measured against the store's
 * clock (PostgreSQL's), so that every instance judges slots, heartbeats and abandonment on one
 * clock even when their machines disagree. Timers are relative and need no correction.
 */
export class StoreClock implements Clock {
  /** The store's clock minus the local one, as last measured (0 until measured, and on SQLite). */
  private offset = 0;

  constructor(private readonly local: Clock) {}

  get offsetMs(): number {
    return this.offset;
  }

  now(): number {
    return this.local.now() + this.offset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.local.setTimeout(fn, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    this.local.clearTimeout(handle);
  }

  /**
   * Takes a new reading of the local clock's skew. Readings within `deadbandMs` of the current
   * correction are noise (round-trip jitter) and leave it as it is, so firing times do not wobble.
   */
  correct(skewMs: number, deadbandMs: number): boolean {
    if (Math.abs(skewMs - this.offset) < deadbandMs) return false;
    this.offset = Math.round(skewMs);
    return true;
  }
}
