import type { Clock, TimerHandle } from "../clock.js";

/** Calls `fn` every `ms` on the given clock, never overlapping itself; errors go to `onError`. */
export class Loop {
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    private readonly fn: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(async () => {
      try {
        await this.fn();
      } catch (error) {
        this.onError(error);
      }
      this.schedule();
    }, this.ms);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
  }
}
