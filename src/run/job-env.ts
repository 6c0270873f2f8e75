import { knownSecrets } from "../config/secrets.js";
import type { AttemptRequest } from "./types.js";

/**
 * jobclock's own settings that may hold a secret (the store URL can carry a database password),
 * and systemd's line back to the daemon (Type=notify, NotifyAccess=all): a job must not be able
 * to tell systemd the service is stopping, or is another process.
 */
const HIDDEN_FROM_JOBS = ["JOBCLOCK_STORE", "NOTIFY_SOCKET"] as const;

/**
 * The environment of every job, whatever runs it (a child process or a module's worker thread):
 * the daemon's environment, as under cron or supervisord, minus jobclock's own secrets (the fixed
 * ones above, and every variable the config uses under notify:, http: or store, e.g.
 * SLACK_WEBHOOK_URL: `env` in a job would otherwise print it into the run's stored output), plus
 * the job's `env` (which may hand a job one of those on purpose), plus the JOBCLOCK_* facts the
 * README promises, which a job's `env` cannot override.
 */
export function jobEnv(
  req: AttemptRequest,
  inherited: NodeJS.ProcessEnv = process.env,
  configSecrets: ReadonlySet<string> = knownSecrets.variables,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...inherited };
  for (const name of HIDDEN_FROM_JOBS) delete env[name];
  for (const name of configSecrets) delete env[name];
  return {
    ...env,
    ...req.spec.env,
    JOBCLOCK_JOB: req.spec.name,
    JOBCLOCK_RUN_ID: String(req.runId),
    JOBCLOCK_SLOT: new Date(req.slot).toISOString(),
    JOBCLOCK_ATTEMPT: String(req.attempt),
  };
}
