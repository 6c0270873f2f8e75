import type pino from "pino";
import type { Config } from "../config/load.js";
import type { Scheduler } from "../scheduler.js";
import type { LogSink } from "./log-sink.js";
import { reload } from "./reload.js";

/**
 * The signals of PRODUCT §7, installed before start-up so that a logrotate SIGUSR1 or an early
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
  private reloadPending = false;
  private reloadsFolded = 0;

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
      this.logger.info(`${signal} during start-up: stopping as soon as start-up completes`);
      this.stopSignal = signal;
      return;
    }
    if (this.stopSignal) {
      this.logger.warn(`${signal} again: cancelling running jobs now`);
      void this.scheduler.engine.stop(0);
      return;
    }
    this.stopSignal = signal;
    this.beginStop(signal);
  }

  private beginStop(signal: string): void {
    const scheduler = this.scheduler!;
    const runs = scheduler.activeRuns();
    const timeoutMs = this.config!.shutdownTimeoutMs;
    this.logger.info({ signal, running: runs.map((r) => `${r.job}#${r.id}`) }, `stopping: waiting up to ${timeoutMs}ms for ${runs.length} run(s)`);
    // Drain the engine first (health checks and notifications keep running meanwhile), then stop
    // those, then close the store.
    scheduler.engine.stop()
      .then(() => this.beforeStop())
      .catch((error) => this.logger.warn({ err: error }, "stopping health checks and notifications failed"))
      .then(() => scheduler.stop())
      .then(
      () => this.resolveStopped(0),
      (error) => {
        this.logger.error({ err: error }, "error while stopping");
        this.resolveStopped(1);
      },
    );
  }

  /**
   * SIGHUPs are coalesced: one reload at a time, and those arriving meanwhile become one more
   * reload after it (it reads the file as it is then, which is all any of them asked for). A
   * burst of signals so costs at most two reloads instead of one each, and slots keep their time.
   */
  private reload(): void {
    if (!this.scheduler || !this.config) {
      this.logger.warn("SIGHUP during start-up: ignored; the config being started is the one just read");
      return;
    }
    if (this.stopSignal) return; // stopping: the next start reads the config anyway
    if (this.reloading) {
      if (this.reloadPending) this.reloadsFolded++;
      this.reloadPending = true;
      return;
    }
    const scheduler = this.scheduler;
    const config = this.config;
    this.reloading = (async () => {
      do {
        this.reloadPending = false;
        await reload(scheduler, this.configPath, config, this.logger).catch((error) => this.logger.error({ err: error }, "reload failed"));
        if (this.reloadsFolded > 0) {
          this.logger.info({ signals: this.reloadsFolded }, "further SIGHUPs during the reload were folded into the next one");
          this.reloadsFolded = 0;
        }
      } while (this.reloadPending && !this.stopSignal);
      this.reloading = null;
    })();
  }
}
