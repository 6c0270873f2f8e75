import type { AttemptRequest } from "./types.js";

/**
 * jobclock's own settings that may hold a secret (the store URL can carry a database password),
 * and systemd's line back to the daemon (Type=notify, NotifyAccess=all): a job must not be able
 * to tell systemd the service is stopping, or is another process.
 */
const HIDDEN_FROM_JOBS = ["JOBCLOCK_STORE", "NOTIFY_SOCKET"] as const;

/**
 * The environment of every job, whatever runs it (a child process or a module's worker thread):
 * the daemon's environment, as under cron or supervisord, minus jobclock's own secrets, plus the
 * job's `env`, plus the JOBCLOCK_* facts the README promises, which a job's `env` cannot override.
 */
export function jobEnv(req: AttemptRequest, inherited: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...inherited };
  for (const name of HIDDEN_FROM_JOBS) delete env[name];
  return {
    ...env,
    ...req.spec.env,
    JOBCLOCK_JOB: req.spec.name,
    JOBCLOCK_RUN_ID: String(req.runId),
    JOBCLOCK_SLOT: new Date(req.slot).toISOString(),
    JOBCLOCK_ATTEMPT: String(req.attempt),
  };
}
