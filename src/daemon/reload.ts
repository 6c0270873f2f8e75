import type pino from "pino";
import { loadConfig, type Config } from "../config/load.js";
import { knownSecrets } from "../config/secrets.js";
import { ConfigError } from "../errors.js";
import { hostname } from "node:os";
import type { Scheduler } from "../scheduler.js";
import { ApplyRefusedError } from "../store/apply-guard.js";
import { notifiersFrom } from "../notify/notifiers.js";

/** SIGHUP: re-read the config; a bad config (or one the apply guards refuse) is refused and the running one kept. */
export async function reload(scheduler: Scheduler, configPath: string, running: Config, logger: pino.Logger): Promise<void> {
  let next: Config;
  try {
    next = loadConfig(configPath);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
    logger.error({ problems }, "reload refused: the config has problems; keeping the running config");
    return;
  }
  knownSecrets.remember(next.secrets);
  for (const key of ["store", "pidfile", "http"] as const) {
    // (For http: until the restart, the old listen address and token stay in force.)
    if (JSON.stringify(next[key]) !== JSON.stringify(running[key])) logger.warn(`reload: a change of ${key} takes effect at the next restart`);
  }
  logger.level = next.log.level;
  if (JSON.stringify(next.notify) !== JSON.stringify(running.notify)) {
    logger.warn("reload: notify changes are addressed from now on, but this instance sends with its old settings until it restarts");
  }
  for (const warning of next.warnings) logger.warn(`config: ${warning}`);
  try {
    const report = await scheduler.setJobs(next.jobs, { source: `SIGHUP on ${hostname()}`, guard: true });
    await scheduler.store.setNotifiers(notifiersFrom(next.notify).map((n) => n.id));
    const changed = report ? report.added.length + report.updated.length + report.retired.length : 0;
    // What changed is logged (by every instance) from the store's control events, with its source.
    if (report && changed === 0) {
      // `jobclock reload` writes the store itself before it signals us; then there is nothing left to apply.
      logger.info({ jobs: report.unchanged.length, generation: report.generation }, "config re-read (SIGHUP): the store already matches it");
    }
  } catch (error) {
    if (error instanceof ApplyRefusedError) {
      logger.error({ reason: error.reason }, `reload refused, the running jobs are kept: ${error.message}`);
      return;
    }
    logger.error({ err: error }, "reload failed while applying jobs to the store");
  }
}
