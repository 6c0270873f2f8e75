import { sleep, type Clock } from "../clock.js";
import type { JobSpec } from "../job-spec.js";
import { retryDelay } from "../schedule/backoff.js";
import { runAttempt } from "../run/runner.js";
import type { AttemptResult, JobHandler } from "../run/types.js";
import type { RunRecord, Store } from "../store/types.js";
import type { EngineEmitter } from "./events.js";

export interface ExecutedRun {
  result: AttemptResult;
  attempt: number;
}

const RETRYABLE = new Set<AttemptResult["status"]>(["failed", "timed_out"]);

/**
 * Runs one claimed run to its end: attempts, and retries with exponential backoff inside the
 * same run record (PRODUCT §3). Cancellation (shutdown, `replace`) stops the current attempt
 * and any pending retry.
 */
export async function executeRun(args: {
  run: RunRecord;
  spec: JobSpec;
  handler: JobHandler | undefined;
  signal: AbortSignal;
  clock: Clock;
  store: Store;
  events: EngineEmitter;
}): Promise<ExecutedRun> {
  const { run, spec, handler, signal, clock, store, events } = args;
  let attempt = 1;
  for (;;) {
    const result = await runAttempt({ runId: run.id, spec, slot: run.slot, attempt, signal, clock }, handler);
    if (!RETRYABLE.has(result.status) || attempt > spec.retries.max || signal.aborted) return { result, attempt };
    const delayMs = retryDelay(attempt, spec.retries.delayMs);
    events.emit("run:retrying", run, { attempt: attempt + 1, delayMs, error: result.error });
    try {
      await sleep(clock, delayMs, signal);
    } catch (reason) {
      const message = reason instanceof Error ? reason.message : String(reason);
      return { result: { ...result, status: "cancelled", error: `${message} (while waiting to retry)` }, attempt };
    }
    attempt++;
    await store.updateAttempt(run.id, attempt, clock.now()).catch((error) =>
      events.emit("engine:warning", { message: `could not record attempt ${attempt} of run #${run.id}`, error }),
    );
  }
}
