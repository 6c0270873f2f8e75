/**
 * How the engine tells a run to stop (shutdown, `replace`). A plain callback list rather than
 * an AbortController: one is needed per run, and Node's AbortSignal costs several microseconds
 * to create and listen to. Handlers that want a real AbortSignal get one lazily (`toSignal`).
 */
export class Cancellation {
  private why: Error | null = null;
  private listeners: ((reason: Error) => void)[] = [];

  get reason(): Error | null {
    return this.why;
  }

  get cancelled(): boolean {
    return this.why !== null;
  }

  cancel(reason: Error): void {
    if (this.why) return;
    this.why = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const fn of listeners) fn(reason);
  }

  /** Calls `fn` on cancel (at once if already cancelled); returns an unsubscribe. */
  onCancel(fn: (reason: Error) => void): () => void {
    if (this.why) {
      const reason = this.why;
      queueMicrotask(() => fn(reason));
      return () => {};
    }
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
}
