import type pino from "pino";
import { loadConfig, type Config } from "../config/load.js";
import { ConfigError } from "../errors.js";
import type { Scheduler } from "../scheduler.js";
import { notifiersFrom } from "../notify/notifiers.js";

/** SIGHUP: re-read the config; a bad config is refused and the running one kept (PRODUCT §2). */
export async function reload(scheduler: Scheduler, configPath: string, running: Config, logger: pino.Logger): Promise<void> {
  let next: Config;
  try {
    next = loadConfig(configPath);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
    logger.error({ problems }, "reload refused: the config has problems; keeping the running config");
    return;
  }
  for (const key of ["store", "pidfile", "http"] as const) {
    // (For http: until the restart, the old listen address and token stay in force.)
    if (JSON.stringify(next[key]) !== JSON.stringify(running[key])) logger.warn(`reload: a change of ${key} takes effect at the next restart`);
  }
  logger.level = next.log.level;
  if (JSON.stringify(next.notify) !== JSON.stringify(running.notify)) {
    logger.warn("reload: notify changes are addressed from now on, but this instance sends with its old settings until it restarts");
  }
  try {
    await scheduler.store.setNotifiers(notifiersFrom(next.notify).map((n) => n.id));
    const report = await scheduler.setJobs(next.jobs);
    const changed = report ? report.added.length + report.updated.length + report.retired.length : 0;
    if (report && changed === 0) {
      // `jobclock reload` writes the store itself before it signals us; then there is nothing left to apply.
      logger.info({ jobs: report.unchanged.length }, "config reloaded: the store already matches it");
    } else {
      logger.info({ ...report, unchanged: report?.unchanged.length }, "config reloaded");
    }
  } catch (error) {
    logger.error({ err: error }, "reload failed while applying jobs to the store");
  }
}
