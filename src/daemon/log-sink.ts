import pino from "pino";
import type { LogConfig } from "../config/load.js";

type Destination = ReturnType<typeof pino.destination>;

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const SKIP = new Set(["level", "time", "msg", "pid", "hostname"]);

/**
 * Where log lines go: the log file (reopened on SIGUSR1 for logrotate) and, in the
 * foreground, stdout. `text` turns pino's JSON into one readable line per event:
 *   2026-11-26T20:10:41.123Z INFO  run succeeded job=sync run=12 durationMs=830
 */
export class LogSink {
  private readonly targets: Destination[] = [];
  private readonly file: Destination | null = null;

  constructor(private readonly config: LogConfig, toStdout: boolean) {
    if (config.file) {
      this.file = pino.destination({ dest: config.file, append: true, mkdir: true, sync: false });
      this.targets.push(this.file);
    }
    if (toStdout) this.targets.push(pino.destination({ dest: 1, sync: false }));
  }

  write(line: string): void {
    const out = this.config.format === "json" ? line : formatText(line);
    for (const t of this.targets) t.write(out);
  }

  reopen(): void {
    this.file?.reopen();
  }

  /**
   * Resolves once the log file is open, so nothing logged from here on can be lost to a race
   * (and pino's flush at exit never meets a file that is not open yet). Rejects, with the file
   * given up, if it cannot be opened.
   */
  async ready(): Promise<void> {
    const file = this.file as (Destination & { fd?: number }) | null;
    if (!file || (file.fd ?? -1) >= 0) return;
    try {
      await new Promise<void>((resolve, reject) => {
        file.once("ready", resolve);
        file.once("error", reject);
      });
    } catch (error) {
      file.destroy();
      this.targets.splice(this.targets.indexOf(file), 1);
      throw error;
    }
  }

  flush(): void {
    for (const t of this.targets) {
      try {
        t.flushSync();
      } catch {
        // not yet open, or stdout closed: nothing more can be done
      }
    }
  }
}

export function formatText(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  const time = typeof entry.time === "string" ? entry.time : new Date(Number(entry.time)).toISOString();
  const level = (LEVELS[Number(entry.level)] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  return `${time} ${level} ${entry.msg ?? ""}${fields.length ? " " + fields.join(" ") : ""}\n`;
}

function fieldText(v: unknown): string {
  if (v && typeof v === "object" && "message" in v) {
    const err = v as { message: string; code?: string };
    return JSON.stringify(err.code ? `${err.code}: ${err.message}` : err.message);
  }
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export function createLogger(config: LogConfig, toStdout: boolean): { logger: pino.Logger; sink: LogSink } {
  const sink = new LogSink(config, toStdout);
  const logger = pino({ level: config.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, sink);
  return { logger, sink };
}
