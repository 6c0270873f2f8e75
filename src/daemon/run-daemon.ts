import { hostname } from "node:os";
import { loadConfig, type Config } from "../config/load.js";
import { DaemonControl } from "./daemon-control.js";
import { redactStoreUrl } from "../config/store-url.js";
import { JobclockError } from "../errors.js";
import { Scheduler } from "../scheduler.js";
import { VERSION } from "../version.js";
import { createLogger } from "./log-sink.js";
import { acquirePidfile } from "./pidfile.js";
import { attachRunLogging } from "./run-logging.js";
import { startWatchers, type Watchers } from "./watchers.js";
import { startHttp, type DaemonHttp } from "./http.js";
import { notifiersFrom } from "../notify/notifiers.js";

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
  try {
    await sink.ready();
  } catch (error) {
    return failStartup(new JobclockError("LOG_UNWRITABLE", `cannot open log file ${config.log.file}: ${(error as Error).message}; fix its folder's permissions, or set log.file`));
  }
  process.title = "jobclock run";
  // jobclock's own async paths all handle their errors; a library's background promise (the
  // PostgreSQL driver re-subscribing after a dropped connection) must not take every job down
  // with it. Logged loudly, and the daemon carries on.
  process.on("unhandledRejection", (reason) => {
    logger.error({ err: reason }, "unhandled promise rejection (kept running); please report it");
    process.stderr.write(`jobclock: unhandled promise rejection: ${(reason as Error)?.stack ?? String(reason)}\n`);
  });
  const control = new DaemonControl(configPath, logger, sink);
  const jobCount = config.jobs.length;
  let pidfile: { release(): void } | null = null;
  let scheduler: Scheduler | null = null;
  let watchers: Watchers | null = null;
  let http: DaemonHttp | null = null;
  try {
    pidfile = acquirePidfile(config.pidfile, (why) => logger.warn(why));
    scheduler = new Scheduler({
      store: config.store, logger, version: VERSION, heartbeat: config.heartbeatMs,
      abandonAfter: config.abandonAfterMs, shutdownTimeout: config.shutdownTimeoutMs,
    });
    attachRunLogging(scheduler, logger);
    // Guarded: a file that would retire most jobs, or an older job set than the store's (a stale
    // config on this machine), is refused, and the daemon runs the jobs the store holds.
    await scheduler.setJobs(config.jobs, { source: `start on ${hostname()}`, guard: true });
    const { refused } = await scheduler.start();
    if (refused) logger.error({ reason: refused.reason }, `the config's jobs were NOT applied; running the store's jobs instead: ${refused.message}`);
    await scheduler.store.setNotifiers(notifiersFrom(config.notify).map((n) => n.id));
    watchers = startWatchers(scheduler, config, logger, (notifier, outcome) => http?.metrics.notification(notifier, outcome));
    http = await startHttp(scheduler, config, watchers, logger);
    config = { ...config, jobs: [] }; // the store has them; do not keep a second copy alive
  } catch (error) {
    logger.error({ err: error }, `jobclock could not start: ${(error as Error).message}`);
    await watchers?.stop().catch(() => {});
    await scheduler?.stop({ timeout: 0 }).catch(() => {});
    pidfile?.release();
    sink.flush();
    return failStartup(error);
  }
  logger.info(
    { pid: process.pid, version: VERSION, config: configPath, store: redactStoreUrl(config.store), jobs: jobCount, dashboard: http?.url },
    "jobclock started",
  );
  // `start` returns when we say ready; by then the log must be on disk for `tail -f`. (A line
  // logged just before a synchronous flush can overtake one still being written: one line.)
  sink.flush();
  if (http) logger.info({ url: http.url, token: config.http!.token !== null }, `dashboard and API on ${http.url} (metrics at ${http.url}metrics)`);
  if (daemonized) {
    process.send!({ type: "ready", pid: process.pid } satisfies StartupMessage);
    process.disconnect?.();
  }
  control.started(scheduler, config, async () => {
    await http?.stop();
    await watchers!.stop();
  });
  const code = await control.stopped;
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

