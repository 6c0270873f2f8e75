import { format } from "node:util";
import { watchDeadline, type StopCause } from "./deadline.js";
import { TailBuffer } from "./tail-buffer.js";
import { OUTPUT_LIMIT_BYTES, type AttemptRequest, type AttemptResult, type JobHandler, type JobLog } from "./types.js";

/**
 * Runs a library handler in-process. A function cannot be killed, so on timeout or cancel its
 * ctx.signal is aborted and, if it has not returned after kill_grace, the attempt is recorded
 * and the engine moves on (the promise is left to settle on its own).
 */
export function runHandler(req: AttemptRequest, handler: JobHandler): Promise<AttemptResult> {
  const stdout = new TailBuffer(OUTPUT_LIMIT_BYTES);
  const stderr = new TailBuffer(OUTPUT_LIMIT_BYTES);
  const controller = new AbortController();
  const log = makeLog(stdout, stderr);

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
      controller.abort(new Error(cause.message));
      graceTimer = req.clock.setTimeout(
        () => finish(cause.status, `${cause.message}; the handler ignored ctx.signal for kill_grace`),
        req.spec.killGraceMs,
      );
    });
    let result: unknown;
    try {
      result = handler({
        job: req.spec.name, runId: req.runId, slot: new Date(req.slot), attempt: req.attempt,
        signal: controller.signal, log,
      });
    } catch (error) {
      return finish("failed", errorText(error));
    }
    Promise.resolve(result).then(
      () => (stopped ? finish(stopped.status, stopped.message) : finish("succeeded", null)),
      (error) => (stopped ? finish(stopped.status, stopped.message) : finish("failed", errorText(error))),
    );
  });
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
