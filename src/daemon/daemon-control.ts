import type pino from "pino";
import type { Config } from "../config/load.js";
import type { Scheduler } from "../scheduler.js";
import type { LogSink } from "./log-sink.js";
import { reload } from "./reload.js";

// Signals this close together ask for the same reload (an editor saving in steps, a script
// looping over hosts): short enough that a reload still takes effect within a second.
const RELOAD_SETTLE_MS = 200;

/**
 * The daemon's signals (TERM and INT stop, HUP reloads, USR1 reopens the log), installed before start-up so that a logrotate SIGUSR1 or an early
 * SIGHUP/SIGTERM never meets Node's default action (which would kill the daemon and leave its
 * pidfile behind). `stopped` resolves with the exit code once a stop signal has drained the engine.
 */
export class DaemonControl {
  readonly stopped: Promise<number>;
  private resolveStopped!: (code: number) => void;
  private scheduler: Scheduler | null = null;
  private beforeStop: () => Promise<void> = async () => {};
  private config: Config | null = null;
  private stopSignal: string | null = null;
  private reloading: Promise<void> | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private reloadPending = false;
  private reloadSignals = 0;
  private pidfile: { release(): void } | null = null;

  constructor(private readonly configPath: string, private readonly logger: pino.Logger, private readonly sink: LogSink) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    process.on("SIGTERM", () => this.stop("SIGTERM"));
    process.on("SIGINT", () => this.stop("SIGINT"));
    process.on("SIGHUP", () => this.reload());
    process.on("SIGUSR1", () => {
      void this.sink.reopen().then((problem) => {
        if (problem) this.logger.warn(`SIGUSR1: ${problem}`);
        else this.logger.info("log file reopened (SIGUSR1)");
      });
    });
  }

  /** The pidfile is ours from now on: released if a second stop signal ends a start-up that does not complete. */
  holdPidfile(pidfile: { release(): void }): void {
    this.pidfile = pidfile;
  }

  /**
   * Start-up is done: from now on signals act on the scheduler (and a stop asked for meanwhile
   * happens now). `beforeStop` runs between the drain and the store closing (the watchers).
   */
  started(scheduler: Scheduler, config: Config, beforeStop: () => Promise<void>): void {
    this.scheduler = scheduler;
    this.config = config;
    this.beforeStop = beforeStop;
    if (this.stopSignal) this.beginStop(this.stopSignal);
  }

  private stop(signal: string): void {
    if (!this.scheduler) {
      if (this.stopSignal) return this.abortStartup(signal);
      this.logger.info(`${signal} during start-up: stopping as soon as start-up completes (send it again to exit at once)`);
      this.stopSignal = signal;
      return;
    }
    if (this.stopSignal) {
      this.logger.warn(`${signal} again: cancelling running jobs now`);
      void this.scheduler.drain({ timeout: 0 });
      return;
    }
    this.stopSignal = signal;
    this.beginStop(signal);
  }

  /**
   * A second stop signal while start-up has not completed (a store that does not answer, a
   * file that blocks): exit now, releasing the pidfile. Not process.exit: at exit Node waits for
   * its thread pool, and a thread stuck in a system call would keep the process alive; the
   * signal's own default action ends it whatever the threads are doing.
   */
  private abortStartup(signal: string): void {
    try {
      process.stderr.write(`jobclock: ${signal} again during start-up: exiting now, without completing start-up\n`);
    } catch {
      // no stderr: exiting is what matters
    }
    this.pidfile?.release();
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }

  private beginStop(signal: string): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    const scheduler = this.scheduler!;
    const runs = scheduler.activeRuns();
    const timeoutMs = this.config!.shutdownTimeoutMs;
    this.logger.info({ signal, running: runs.map((r) => `${r.job}#${r.id}`) }, `stopping: waiting up to ${timeoutMs}ms for ${runs.length} run(s)`);
    // Drain the engine first (health checks and notifications keep running meanwhile), then stop
    // those, then close the store.
    scheduler.drain()
      .then(() => this.beforeStop())
      .catch((error) => this.logger.warn({ err: error }, "stopping health checks and notifications failed"))
      .then(() => scheduler.close())
      .then(
      () => this.resolveStopped(0),
      (error) => {
        this.logger.error({ err: error }, "error while stopping");
        this.resolveStopped(1);
      },
    );
  }

  /**
   * SIGHUPs are coalesced: a reload starts RELOAD_SETTLE_MS after the first signal, and signals
   * arriving meanwhile, or while it runs, fold into it or into one more reload after it (which
   * reads the file as it is then: all any of them asked for). A burst of signals so costs a few
   * reloads instead of one each, and the scheduler keeps its time.
   */
  private reload(): void {
    if (!this.scheduler || !this.config) {
      this.logger.warn("SIGHUP during start-up: ignored; the config being started is the one just read");
      return;
    }
    if (this.stopSignal) return; // stopping: the next start reads the config anyway
    this.reloadSignals++;
    if (this.reloading) this.reloadPending = true;
    else this.scheduleReload();
  }

  private scheduleReload(): void {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      if (this.stopSignal || !this.scheduler || !this.config) return;
      const signals = this.reloadSignals;
      this.reloadSignals = 0;
      if (signals > 1) this.logger.info({ signals }, `reloading the config (SIGHUP): ${signals} signals folded into one reload`);
      else this.logger.debug("reloading the config (SIGHUP)");
      this.reloading = reload(this.scheduler, this.configPath, this.config, this.logger)
        .catch((error) => this.logger.error({ err: error }, "reload failed"))
        .finally(() => {
          this.reloading = null;
          if (this.reloadPending) {
            this.reloadPending = false;
            this.scheduleReload();
          }
        });
    }, RELOAD_SETTLE_MS);
  }
}
