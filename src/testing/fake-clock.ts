import type { Clock, TimerHandle } from "../clock.js";

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock for tests: time stands still until `advance()` moves it, firing due timers in order
 * and letting promise chains settle between them. Exported so library users can test their
 * own schedules the same way.
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: Pending[] = [];

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    this.timers = this.timers.filter((t) => t.id !== id);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await this.settle();
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = target;
    await this.settle();
  }

  /**
   * Lets the work a fired timer started finish before the next timer fires. A few turns of the
   * event loop are enough for in-process work; a subclass that drives a store over the network
   * waits for its round trips too.
   */
  protected settle(): Promise<void> {
    return settle();
  }

  /** Jumps the wall clock without firing timers, as NTP or a suspended VM would. */
  jump(ms: number): void {
    this.current += ms;
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}

/** Lets queued promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
