/**
 * All time the engine and runners see comes through a Clock, so tests can move time by hand
 * instead of sleeping. `now()` is epoch milliseconds.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque: only the clock that made a handle can clear it. */
export type TimerHandle = object;

// Node fires any timer longer than 2^31−1 ms (about 24.8 days) after 1 ms instead; longer waits
// (a `timeout: 30d`) are chained in steps.
const MAX_NODE_TIMER_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle: { timer?: ReturnType<typeof setTimeout> } = {};
    const arm = (left: number) => {
      handle.timer = left > MAX_NODE_TIMER_MS ? setTimeout(() => arm(left - MAX_NODE_TIMER_MS), MAX_NODE_TIMER_MS) : setTimeout(fn, left);
    };
    arm(Math.max(0, ms));
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout((handle as { timer?: ReturnType<typeof setTimeout> }).timer);
  },
};

/** A sleep that a clock controls; rejects (with the signal's reason) if aborted. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
