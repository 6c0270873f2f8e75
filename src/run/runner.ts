import { runHandler } from "./handler-runner.js";
import { runModule } from "./module-runner.js";
import { runProcess } from "./process-runner.js";
import type { AttemptRequest, AttemptResult, JobHandler } from "./types.js";

/** Picks the runner for the job's kind. Handlers come from the library's registry. */
export function runAttempt(req: AttemptRequest, handler: JobHandler | undefined): Promise<AttemptResult> {
  switch (req.spec.action.kind) {
    case "command":
    case "shell":
      return runProcess(req);
    case "module":
      return runModule(req);
    case "handler":
      if (!handler) {
        return Promise.resolve({
          status: "failed", exitCode: null, signal: null, stdout: "", stderr: "",
          error: `no handler is registered for job "${req.spec.name}" in this process`,
        });
      }
      return runHandler(req, handler);
  }
}
