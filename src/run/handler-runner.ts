import { format } from "node:util";
import { watchDeadline, type StopCause } from "./deadline.js";
import { TailBuffer } from "./tail-buffer.js";
import { OUTPUT_LIMIT_BYTES, type AttemptRequest, type AttemptResult, type JobContext, type JobHandler, type JobLog } from "./types.js";

/**
 * Runs a library handler in-process. A function cannot be killed, so on timeout or cancel its
 * ctx.signal is aborted and, if it has not returned after kill_grace, the attempt is recorded
 * and the engine moves on (the promise is left to settle on its own).
 */
export function runHandler(req: AttemptRequest, handler: JobHandler): Promise<AttemptResult> {
  const stdout = new TailBuffer(OUTPUT_LIMIT_BYTES);
  const stderr = new TailBuffer(OUTPUT_LIMIT_BYTES);
  // Only handlers that read ctx.signal pay for an AbortController.
  let controller: AbortController | null = null;
  let stopReason: Error | null = null;
  const signal = () => {
    if (!controller) {
      controller = new AbortController();
      if (stopReason) controller.abort(stopReason);
    }
    return controller.signal;
  };

  return new Promise((resolve) => {
    let settled = false;
    let stopped: StopCause | null = null;
    let graceTimer: ReturnType<AttemptRequest["clock"]["setTimeout"]> | null = null;
    const finish = (status: AttemptResult["status"], error: string | null) => {
      if (settled) return;
      settled = true;
      stopWatching();
      if (graceTimer) req.clock.clearTimeout(graceTimer);
      resolve({ status, exitCode: null, signal: null, error, stdout: stdout.toString(), stderr: stderr.toString() });
    };
    const stopWatching = watchDeadline(req, (cause) => {
      stopped = cause;
      stopReason = new Error(cause.message);
      controller?.abort(stopReason);
      graceTimer = req.clock.setTimeout(
        () => finish(cause.status, `${cause.message}; the handler ignored ctx.signal for kill_grace`),
        req.spec.killGraceMs,
      );
    });
    let result: unknown;
    try {
      result = handler(makeContext(req, signal, stdout, stderr));
    } catch (error) {
      return finish("failed", errorText(error));
    }
    Promise.resolve(result).then(
      () => (stopped ? finish(stopped.status, stopped.message) : finish("succeeded", null)),
      (error) => (stopped ? finish(stopped.status, stopped.message) : finish("failed", errorText(error))),
    );
  });
}

function makeContext(req: AttemptRequest, signal: () => AbortSignal, stdout: TailBuffer, stderr: TailBuffer): JobContext {
  return new HandlerContext(req, signal, stdout, stderr);
}

/**
 * A class, not an object literal with getters: a literal makes new getter functions for every
 * run. The lazy parts are # fields, so a handler that logs its ctx sees only the public ones.
 */
class HandlerContext implements JobContext {
  readonly job: string;
  readonly runId: number;
  readonly slot: Date;
  readonly attempt: number;
  readonly #signal: () => AbortSignal;
  readonly #stdout: TailBuffer;
  readonly #stderr: TailBuffer;
  #log: JobLog | null = null;

  constructor(req: AttemptRequest, signal: () => AbortSignal, stdout: TailBuffer, stderr: TailBuffer) {
    this.job = req.spec.name;
    this.runId = req.runId;
    this.slot = new Date(req.slot);
    this.attempt = req.attempt;
    this.#signal = signal;
    this.#stdout = stdout;
    this.#stderr = stderr;
  }

  get signal(): AbortSignal {
    return this.#signal();
  }

  get log(): JobLog {
    return (this.#log ??= makeLog(this.#stdout, this.#stderr));
  }
}

function makeLog(stdout: TailBuffer, stderr: TailBuffer): JobLog {
  const log = ((...args: unknown[]) => stdout.write(format(...args) + "\n")) as JobLog;
  log.info = (...args) => stdout.write(format(...args) + "\n");
  log.warn = (...args) => stderr.write(`warn: ${format(...args)}\n`);
  log.error = (...args) => stderr.write(`error: ${format(...args)}\n`);
  return log;
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
