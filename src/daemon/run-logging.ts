import type pino from "pino";
import type { Scheduler } from "../scheduler.js";

/** The engine logs its own decisions; this adds the lines an operator tailing the log wants. */
export function attachRunLogging(scheduler: Scheduler, logger: pino.Logger): void {
  scheduler.on("run:retrying", (run, info) =>
    logger.warn({ job: run.job, run: run.id, attempt: info.attempt, delayMs: info.delayMs, error: firstLine(info.error) }, "run failed; retrying"),
  );
}

function firstLine(text: string | null): string | undefined {
  return text?.split("\n")[0];
}
