import pino from "pino";
import type { LogConfig } from "../config/load.js";
import { FileLog } from "./log-file.js";
import { formatText, sinkLine } from "./log-format.js";
import { LogWriter } from "./log-writer.js";

export { formatText } from "./log-format.js";

/** Lines kept per destination while it fails (a full disk): about 5,000 typical lines. */
const MAX_BUFFER_BYTES = 1024 * 1024;

export interface LogSinkStats {
  /** The log file takes lines (true too when there is none). */
  fileOk: boolean;
  writeErrors: number;
  dropped: number;
}

export interface LogSinkOptions {
  maxBufferBytes?: number;
  /** Where the sink's own problem reports go (default: stderr, which supervisord keeps). */
  report?: (line: string) => void;
}

/**
 * Where log lines go: the log file (reopened on SIGUSR1 for logrotate) and, in the foreground,
 * stdout; `text` turns pino's JSON into one readable line per event. Lines logged before the
 * file is open wait for it, so the daemon can take its pidfile before it touches the log of a
 * daemon that may already be running. Nothing here throws at the logger or blocks it: a file
 * that fails is reported (stderr once per change, `onProblem` for `status`, `stats` for
 * /metrics) while scheduling goes on.
 */
export class LogSink {
  private readonly file: FileLog | null = null;
  private readonly stdout: LogWriter | null = null;
  private readonly listeners: ((text: string | null) => void)[] = [];
  private readonly report: (line: string) => void;

  constructor(private readonly config: LogConfig, toStdout: boolean, options: LogSinkOptions = {}) {
    const max = options.maxBufferBytes ?? MAX_BUFFER_BYTES;
    this.report = options.report ?? reportOnStderr;
    const note = (msg: string) => this.format(sinkLine("warn", msg));
    if (config.file) {
      this.file = new FileLog(config.file, max, (text) => this.fileProblem(text), note);
    }
    if (toStdout) {
      this.stdout = new LogWriter({ label: "standard output", maxBufferBytes: max, note, onProblem: () => {} });
      this.stdout.setFd(1);
    }
  }

  /** pino's stream interface. */
  write(line: string): void {
    const out = this.format(line);
    this.file?.writer.push(out);
    this.stdout?.push(out);
  }

  /** Opens the log file (start-up); rejects with a message that says what to fix. */
  async open(): Promise<void> {
    await this.file?.open();
  }

  /** SIGUSR1 (logrotate): resolves with null once the file is open again, or with the problem. */
  reopen(): Promise<string | null> {
    return this.file?.reopen() ?? Promise.resolve(null);
  }

  /** The log file's problem now, or null. */
  get problem(): string | null {
    return this.file?.problem ?? null;
  }

  /** Called with the current problem, then at each change (null: it works again). */
  onProblem(listener: (text: string | null) => void): void {
    this.listeners.push(listener);
    listener(this.problem);
  }

  stats(): LogSinkStats {
    return {
      fileOk: this.file ? this.file.problem === null : true,
      writeErrors: this.file?.writer.writeErrors ?? 0,
      dropped: this.file?.writer.dropped ?? 0,
    };
  }

  /**
   * Writes what is queued, waiting at most `timeoutMs` (a failing file is not waited for),
   * then closes. Used at exit, so a log on a full disk never holds up a stop.
   */
  async close(timeoutMs = 2_000): Promise<void> {
    await this.drained(timeoutMs);
    this.file?.close();
    this.stdout?.closeSync();
  }

  /** Resolves once what is queued is written, after `timeoutMs` at most; a failing file is not waited for. */
  async drained(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waits = [this.file?.writer.drained(), this.stdout?.drained()].filter((p) => p !== undefined);
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private format(line: string): string {
    return this.config.format === "json" ? line : formatText(line);
  }

  private fileProblem(text: string | null): void {
    this.report(text ? `jobclock: ${text}` : `jobclock: log file ${this.config.file} works again`);
    for (const listener of this.listeners) listener(text);
  }
}

function reportOnStderr(line: string): void {
  try {
    process.stderr.write(`${line}\n`);
  } catch {
    // stderr itself is gone: the problem is still in `status` and /metrics
  }
}

export function createLogger(config: LogConfig, toStdout: boolean): { logger: pino.Logger; sink: LogSink } {
  // A stderr that fails (a closed pipe, a full disk) emits 'error'; unheard, that would crash.
  process.stderr.on("error", () => {});
  const sink = new LogSink(config, toStdout);
  const logger = pino({ level: config.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, sink);
  return { logger, sink };
}
