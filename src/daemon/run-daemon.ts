import { hostname } from "node:os";
import type pino from "pino";
import { loadConfig, type Config } from "../config/load.js";
import { DaemonControl } from "./daemon-control.js";
import { knownSecrets } from "../config/secrets.js";
import { redactStoreUrl } from "../config/store-url.js";
import { JobclockError } from "../errors.js";
import { Scheduler } from "../scheduler.js";
import { VERSION } from "../version.js";
import { createLogger, type LogSink } from "./log-sink.js";
import { acquirePidfile } from "./pidfile.js";
import { attachRunLogging } from "./run-logging.js";
import { startWatchers, type Watchers } from "./watchers.js";
import { startHttp, type DaemonHttp } from "./http.js";
import { notifiersFrom } from "../notify/notifiers.js";
import { describeSupervisor, detectSupervisor, supervisorCommand } from "./supervisor.js";
import { guardStoreOwner } from "./store-owner.js";
import { notifyReady } from "./notify-ready.js";

/** Messages a daemonized child sends its `jobclock start` parent over the IPC channel. */
export type StartupMessage =
  /** `warnings`: what the operator starting it should read (missing job files, a config refused by the apply guards). */
  | { type: "ready"; pid: number; warnings: string[] }
  | { type: "error"; message: string; exitCode: number };

// How long the end of a stop waits for the log to take its last lines (a failing log is not waited for).
const LOG_CLOSE_MS = 2_000;

/**
 * `jobclock run`: the daemon in the foreground (supervisord, systemd, containers, or the child
 * that `jobclock start` spawned). Resolves with the process exit code once it has stopped.
 *
 * Order matters: the pidfile is taken before the log file is opened, so a second `run` never
 * writes into the running daemon's log; failures up to then go to the terminal only.
 */
export async function runDaemon(configPath: string): Promise<number> {
  const daemonized = typeof process.send === "function";
  const opened = await openDaemon(configPath, daemonized);
  if (typeof opened === "number") return opened;
  const { logger, sink, control, pidfile, supervisor } = opened;
  let config = opened.config;
  // jobclock's own async paths all handle their errors; a library's background promise (the
  // PostgreSQL driver re-subscribing after a dropped connection) must not take every job down
  // with it. Logged loudly, and the daemon carries on.
  // A bug that escapes every handler: the stack goes to the log (for the report), one line to
  // stderr, the pidfile is released, and the exit code tells the supervisor to restart it.
  process.on("uncaughtException", (error) => {
    logger.error({ stack: error?.stack ?? String(error) }, `jobclock crashed on an unexpected error, please report it: ${error?.message ?? String(error)}`);
    process.stderr.write(`jobclock: crashed on an unexpected error: ${error?.message ?? String(error)}; the stack is in the log\n`);
    pidfile.release();
    void sink.close(1_000).finally(() => process.exit(1));
  });
  process.on("unhandledRejection", (reason) => {
    logger.error({ err: reason, stack: (reason as Error)?.stack }, "unhandled promise rejection (kept running); please report it");
    process.stderr.write(`jobclock: unhandled promise rejection (kept running): ${(reason as Error)?.message ?? String(reason)}; the stack is in the log\n`);
  });
  const jobCount = config.jobs.length;
  let running: Running;
  try {
    running = await startScheduler(config, supervisor, logger, sink);
  } catch (error) {
    pidfile.release();
    await sink.close(LOG_CLOSE_MS);
    return failStartup(error);
  }
  const { scheduler, watchers, http } = running;
  config = { ...config, jobs: [] }; // the store has them; do not keep a second copy alive
  logStarted(logger, { configPath, config, jobCount, supervisor, http });
  control.started(scheduler, config, async () => {
    await http?.stop();
    await watchers.stop();
  });
  await announceReady(sink, logger, jobCount, daemonized, running.warnings);
  const code = await control.stopped;
  pidfile.release();
  logger.info("jobclock stopped");
  await sink.close(LOG_CLOSE_MS);
  return code;
}

interface Opened {
  config: Config;
  supervisor: string | null;
  logger: pino.Logger;
  sink: LogSink;
  control: DaemonControl;
  pidfile: { release(): void };
}

/**
 * The config, the signal handlers, the pidfile, then the log file, in that order; a failure up
 * to here is the terminal's (the exit code is returned), never the log file's.
 */
async function openDaemon(configPath: string, daemonized: boolean): Promise<Opened | number> {
  let config: Config;
  try {
    config = loadConfig(configPath);
    knownSecrets.remember(config.secrets); // hidden from jobs, redacted from the API's job specs
    guardStoreOwner(config.store);
  } catch (error) {
    return failStartup(error);
  }
  const supervisor = detectSupervisor();
  // The pidfile check recognises the daemon by this title; set before the pidfile names us.
  process.title = "jobclock run";
  const { logger, sink } = createLogger(config.log, !daemonized);
  // Signals are handled from here on: a logrotate SIGUSR1 or an early SIGTERM never meets Node's
  // default action, which would kill the daemon and leave its pidfile behind.
  const control = new DaemonControl(configPath, logger, sink);
  let pidfile: { release(): void };
  try {
    pidfile = await acquirePidfile(config.pidfile, (why) => logger.warn(why));
  } catch (error) {
    return failStartup(error);
  }
  control.holdPidfile(pidfile);
  try {
    await sink.open();
  } catch (error) {
    pidfile.release();
    return failStartup(error);
  }
  return { config, supervisor, logger, sink, control, pidfile };
}

function logStarted(
  logger: pino.Logger,
  o: { configPath: string; config: Config; jobCount: number; supervisor: string | null; http: DaemonHttp | null },
): void {
  const { http, supervisor } = o;
  logger.info(
    {
      pid: process.pid, version: VERSION, config: o.configPath, store: redactStoreUrl(o.config.store), jobs: o.jobCount,
      dashboard: http?.url, supervisor: supervisor ?? undefined,
    },
    "jobclock started",
  );
  if (supervisor) {
    logger.info(`running under ${describeSupervisor(supervisor)}: stop and start it with \`${supervisorCommand(supervisor, "stop")}\` / \`${supervisorCommand(supervisor, "start")}\``);
  }
  if (http) logger.info({ url: http.url, token: o.config.http!.token !== null }, `dashboard and API on ${http.url} (metrics at ${http.url}metrics)`);
}

interface Running {
  scheduler: Scheduler;
  watchers: Watchers;
  http: DaemonHttp | null;
  /** Said at start, in the log and to `jobclock start`. */
  warnings: string[];
}

/** The scheduler, health checks, notifications and HTTP; on failure, logged and undone. */
async function startScheduler(config: Config, supervisor: string | null, logger: pino.Logger, sink: LogSink): Promise<Running> {
  let scheduler: Scheduler | null = null;
  let watchers: Watchers | null = null;
  let http: DaemonHttp | null = null;
  try {
    scheduler = new Scheduler({
      store: config.store, logger, version: VERSION, heartbeat: config.heartbeatMs, supervisor,
      abandonAfter: config.abandonAfterMs, shutdownTimeout: config.shutdownTimeoutMs,
    });
    attachRunLogging(scheduler, logger);
    // Guarded: a file that would retire most jobs, or an older job set than the store's (a stale
    // config on this machine), is refused, and the daemon runs the jobs the store holds.
    await scheduler.setJobs(config.jobs, { source: `start on ${hostname()}`, guard: true });
    const { refused } = await scheduler.start();
    const warnings = [...config.warnings];
    for (const warning of warnings) logger.warn(`config: ${warning}`);
    if (refused) {
      logger.error({ reason: refused.reason }, `the config's jobs were NOT applied; running the store's jobs instead: ${refused.message}`);
      warnings.push(`the config's jobs were NOT applied; running the store's jobs instead: ${refused.message}`);
    }
    sink.onProblem((text) => scheduler!.setProblem("log", text));
    await scheduler.store.setNotifiers(notifiersFrom(config.notify).map((n) => n.id));
    watchers = startWatchers(scheduler, config, logger, (notifier, outcome) => http?.metrics.notification(notifier, outcome));
    http = await startHttp(scheduler, config, watchers, logger, () => sink.stats());
    return { scheduler, watchers, http, warnings };
  } catch (error) {
    logger.error({ err: error }, `jobclock could not start: ${(error as Error).message}`);
    await watchers?.stop().catch(() => {});
    await scheduler?.stop({ timeout: 0 }).catch(() => {});
    throw error;
  }
}

/**
 * `start` (over IPC) and systemd (Type=notify) hear "ready" only once the start-up lines are in
 * the log, for `tail -f` (bounded: a failing log file does not hold up the start).
 */
async function announceReady(sink: LogSink, logger: pino.Logger, jobs: number, daemonized: boolean, warnings: string[]): Promise<void> {
  await sink.drained(LOG_CLOSE_MS);
  if (daemonized) {
    process.send!({ type: "ready", pid: process.pid, warnings } satisfies StartupMessage);
    process.disconnect?.();
  }
  await notifyReady(`running, ${jobs} job(s)`, logger);
}

/** A start-up failure, told to the terminal (or the `start` that spawned us), never to the log file. */
function failStartup(error: unknown): number {
  const exitCode = error instanceof JobclockError ? error.exitCode : 1;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof process.send === "function") process.send({ type: "error", message, exitCode } satisfies StartupMessage);
  else process.stderr.write(`jobclock: ${message}\n`);
  return exitCode;
}
