import type { Clock, TimerHandle } from "../../clock.js";

/** Woken this much later than it could have been, the process was suspended or its loop blocked. */
const LATE_MS = 2_000;

/**
 * The engine's one timer: it sleeps until the next thing to do (a claim, a run claimed ahead,
 * or the periodic recheck that notices clock jumps) and says when it woke far too late.
 */
export class WakeTimer {
  private timer: TimerHandle | null = null;
  private expected = 0;

  constructor(
    private readonly clock: Clock,
    private readonly onWake: () => Promise<void>,
    private readonly warn: (message: string) => void,
  ) {}

  /** Sleeps until `at`; a time already past fires at once. */
  set(at: number): void {
    this.clear();
    const now = this.clock.now();
    // A fire time already past (slots that came due while no daemon ran) fires at once: the
    // timer is late only against when it could have fired.
    this.expected = Math.max(at, now);
    this.timer = this.clock.setTimeout(() => void this.fire(), Math.max(0, at - now));
  }

  clear(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private async fire(): Promise<void> {
    this.timer = null;
    const late = this.clock.now() - this.expected;
    if (late > LATE_MS) this.warn(`timer woke ${late}ms late: the clock jumped or the event loop was blocked`);
    await this.onWake();
  }
}
