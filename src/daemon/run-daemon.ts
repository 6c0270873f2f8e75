import type pino from "pino";
import { loadConfig, type Config } from "../config/load.js";
import { redactStoreUrl } from "../config/store-url.js";
import { ConfigError, JobclockError } from "../errors.js";
import { Scheduler } from "../scheduler.js";
import { VERSION } from "../version.js";
import { createLogger, type LogSink } from "./log-sink.js";
import { acquirePidfile } from "./pidfile.js";
import { attachRunLogging } from "./run-logging.js";

/** Messages a daemonized child sends its `jobclock start` parent over the IPC channel. */
export type StartupMessage = { type: "ready"; pid: number } | { type: "error"; message: string; exitCode: number };

/**
 * `jobclock run`: the daemon in the foreground (supervisord, systemd, containers, or the child
 * that `jobclock start` spawned). Resolves with the process exit code once it has stopped.
 */
export async function runDaemon(configPath: string): Promise<number> {
  const daemonized = typeof process.send === "function";
  let config: Config;
  try {
    config = loadConfig(configPath);
  } catch (error) {
    return failStartup(error);
  }
  const { logger, sink } = createLogger(config.log, !daemonized);
  process.title = "jobclock run";
  let pidfile: { release(): void } | null = null;
  let scheduler: Scheduler | null = null;
  try {
    pidfile = acquirePidfile(config.pidfile, (why) => logger.warn(why));
    scheduler = new Scheduler({
      store: config.store, logger, version: VERSION, heartbeat: config.heartbeatMs,
      abandonAfter: config.abandonAfterMs, shutdownTimeout: config.shutdownTimeoutMs,
    });
    attachRunLogging(scheduler, logger);
    await scheduler.setJobs(config.jobs);
    await scheduler.start();
    config = { ...config, jobs: [] }; // the store has them; do not keep a second copy alive
  } catch (error) {
    logger.error({ err: error }, `jobclock could not start: ${(error as Error).message}`);
    await scheduler?.stop({ timeout: 0 }).catch(() => {});
    pidfile?.release();
    sink.flush();
    return failStartup(error);
  }
  logger.info(
    { pid: process.pid, version: VERSION, config: configPath, store: redactStoreUrl(config.store), jobs: config.jobs.length },
    "jobclock started",
  );
  if (config.notify) logger.warn("notify: is configured, but this version does not send notifications yet");
  // `start` returns when we say ready; by then the log must be on disk for `tail -f`.
  await sink.ready().catch(() => {});
  sink.flush();
  if (daemonized) {
    process.send!({ type: "ready", pid: process.pid } satisfies StartupMessage);
    process.disconnect?.();
  }
  const code = await untilStopped(scheduler, config, configPath, logger, sink);
  pidfile.release();
  logger.info("jobclock stopped");
  sink.flush();
  return code;
}

function failStartup(error: unknown): number {
  const exitCode = error instanceof JobclockError ? error.exitCode : 1;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof process.send === "function") process.send({ type: "error", message, exitCode } satisfies StartupMessage);
  else process.stderr.write(`jobclock: ${message}\n`);
  return exitCode;
}

/** Wires the signals of PRODUCT §7 and resolves when a stop signal has drained the engine. */
function untilStopped(scheduler: Scheduler, config: Config, configPath: string, logger: pino.Logger, sink: LogSink): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn(`${signal} again: cancelling running jobs now`);
        void scheduler.engine.stop(0);
        return;
      }
      stopping = true;
      const runs = scheduler.activeRuns();
      logger.info({ signal, running: runs.map((r) => `${r.job}#${r.id}`) }, `stopping: waiting up to ${config.shutdownTimeoutMs}ms for ${runs.length} run(s)`);
      scheduler.stop().then(
        () => resolve(0),
        (error) => {
          logger.error({ err: error }, "error while stopping");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGHUP", () => void reload(scheduler, configPath, config, logger));
    process.on("SIGUSR1", () => {
      sink.reopen();
      logger.info("log file reopened (SIGUSR1)");
    });
  });
}

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
  for (const key of ["store", "pidfile"] as const) {
    if (next[key] !== running[key]) logger.warn(`reload: a change of ${key} takes effect at the next restart`);
  }
  logger.level = next.log.level;
  try {
    const report = await scheduler.setJobs(next.jobs);
    logger.info({ ...report, unchanged: report?.unchanged.length }, "config reloaded");
  } catch (error) {
    logger.error({ err: error }, "reload failed while applying jobs to the store");
  }
}
