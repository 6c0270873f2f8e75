import type { Clock } from "../../clock.js";
import type { Cancellation } from "../../run/cancellation.js";
import type { JobSpec } from "../../job-spec.js";
import { retryDelay } from "../../schedule/backoff.js";
import { runAttempt } from "../../run/runner.js";
import type { AttemptResult, JobHandler } from "../../run/types.js";
import type { RunRecord, SchedulingStore } from "../../store/types.js";
import type { EngineEmitter } from "../events.js";

export interface ExecutedRun {
  result: AttemptResult;
  attempt: number;
}

const RETRYABLE = new Set<AttemptResult["status"]>(["failed", "timed_out"]);

/**
 * Runs one claimed run to its end: attempts, and retries with exponential backoff inside the
 * same run record (a retry is the same slot tried again, not a new run). Cancellation (shutdown, `replace`) stops the current attempt
 * and any pending retry.
 */
export async function executeRun(args: {
  run: RunRecord;
  spec: JobSpec;
  handler: JobHandler | undefined;
  cancel: Cancellation;
  clock: Clock;
  store: SchedulingStore;
  events: EngineEmitter;
}): Promise<ExecutedRun> {
  const { run, spec, handler, cancel, clock, store, events } = args;
  let attempt = 1;
  for (;;) {
    const result = await runAttempt({ runId: run.id, spec, slot: run.slot, attempt, cancel, clock }, handler);
    if (!RETRYABLE.has(result.status) || attempt > spec.retries.max || cancel.cancelled) return { result, attempt };
    const delayMs = retryDelay(attempt, spec.retries.delayMs);
    events.emit("run:retrying", run, { attempt: attempt + 1, delayMs, error: result.error });
    const reason = await waitOrCancel(clock, delayMs, cancel);
    if (reason) return { result: { ...result, status: "cancelled", error: `${reason.message} (while waiting to retry)` }, attempt };
    attempt++;
    await store.updateAttempt(run.id, attempt, clock.now()).catch((error) =>
      events.emit("engine:warning", { message: `could not record attempt ${attempt} of run #${run.id}`, error }),
    );
  }
}

/** Resolves after `ms`, or early with the reason if the run is cancelled meanwhile. */
function waitOrCancel(clock: Clock, ms: number, cancel: Cancellation): Promise<Error | null> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => {
      unsubscribe();
      resolve(null);
    }, ms);
    const unsubscribe = cancel.onCancel((reason) => {
      clock.clearTimeout(timer);
      resolve(reason);
    });
  });
}
