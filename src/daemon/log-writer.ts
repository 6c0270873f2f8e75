import { close, write, writeSync } from "node:fs";

export interface LogWriterOptions {
  /** How the destination is named in problem texts ("log file /var/log/jobclock/info.log"). */
  label: string;
  /** Lines kept while the destination fails; past this, the oldest are dropped and counted. */
  maxBufferBytes: number;
  /** The write problem, as text, each time it changes; null when writing works again. */
  onProblem(text: string | null): void;
  /** A line of the sink's own ("N lines were dropped"), formatted like the others. */
  note(msg: string): string;
}

const MAX_WRITE_BYTES = 256 * 1024;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 30_000;
// A non-blocking pipe that is full (stdout to a slow reader) is not a failure: try again soon.
const BUSY_RETRY_MS = 20;

/**
 * Writes log lines to one file descriptor without ever throwing, blocking the event loop or
 * waiting forever (PRODUCT §7: the daemon's own files failing never crash or hang it). Writes
 * go through libuv's thread pool one at a time; lines logged meanwhile wait in a bounded queue.
 * A failed write (ENOSPC, EIO…) keeps its bytes, reports the problem once, and is tried again
 * with a backoff; when the queue is full the oldest lines are dropped, and a line saying how
 * many is written once the destination works again.
 */
export class LogWriter {
  private fd: number | null = null;
  private readonly oldFds: number[] = [];
  private queue: string[] = [];
  private queueBytes = 0;
  private head: Buffer | null = null; // taken from the queue, not yet (fully) written
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = 0;
  private problem: string | null = null;
  private droppedUnreported = 0;
  private drainWaiters: (() => void)[] = [];
  /** Totals for the metrics. */
  writeErrors = 0;
  dropped = 0;

  constructor(private readonly o: LogWriterOptions) {}

  /** Where to write from now on; the previous descriptor is closed once its last write is done. */
  setFd(fd: number): void {
    if (this.fd !== null && this.fd !== fd) this.oldFds.push(this.fd);
    this.fd = fd;
    if (!this.writing) this.closeOldFds();
    // A reopened file gets a fresh chance at once (the old one may have been the full disk).
    if (this.problem) this.retryNow();
    else this.kick();
  }

  get ok(): boolean {
    return this.problem === null;
  }

  get pendingBytes(): number {
    return this.queueBytes + (this.head?.length ?? 0);
  }

  push(line: string): void {
    this.queue.push(line);
    this.queueBytes += Buffer.byteLength(line);
    while (this.queueBytes > this.o.maxBufferBytes && this.queue.length > 0) {
      this.queueBytes -= Buffer.byteLength(this.queue.shift()!);
      this.dropped++;
      this.droppedUnreported++;
    }
    this.kick();
  }

  /** Resolves once everything queued is written, or at once when the destination is failing. */
  drained(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Last words at exit: one synchronous attempt at whatever is left (when no write is in
   * flight), then the descriptor is closed. Never waits and never throws.
   */
  closeSync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.writing && this.fd !== null) {
      const data = Buffer.concat([this.head ?? Buffer.alloc(0), Buffer.from(this.queue.join(""))]);
      try {
        if (data.length > 0) writeSync(this.fd, data);
      } catch {
        // the destination still fails (or a pipe is full): these lines are lost, as reported
      }
      if (this.fd > 2) close(this.fd, () => {}); // stdout stays open for the rest of the exit
      this.fd = null;
    }
    this.head = null;
    this.queue = [];
    this.queueBytes = 0;
    this.resolveDrained();
  }

  private idle(): boolean {
    return (this.pendingBytes === 0 && !this.writing) || this.problem !== null || this.fd === null;
  }

  private kick(): void {
    if (this.writing || this.timer || this.fd === null) return;
    if (!this.head) this.head = this.take();
    if (!this.head) return this.resolveDrained();
    const fd = this.fd;
    const data = this.head;
    this.writing = true;
    write(fd, data, 0, data.length, null, (error, written) => {
      this.writing = false;
      this.closeOldFds();
      if (error) return this.failed(error as NodeJS.ErrnoException);
      this.head = written < data.length ? data.subarray(written) : null;
      this.succeeded();
      this.kick();
    });
  }

  private take(): Buffer | null {
    if (this.droppedUnreported > 0 && this.problem === null) {
      // Said where the gap is: after the lines written before it, before the ones kept.
      const n = this.droppedUnreported;
      this.droppedUnreported = 0;
      this.queue.unshift(this.o.note(`${n} log line(s) were dropped here: the ${this.o.label} could not be written (or did not keep up)`));
      this.queueBytes += Buffer.byteLength(this.queue[0]!);
    }
    if (this.queue.length === 0) return null;
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + Buffer.byteLength(this.queue[n]!) <= MAX_WRITE_BYTES)) {
      bytes += Buffer.byteLength(this.queue[n]!);
      n++;
    }
    const lines = this.queue.splice(0, n);
    this.queueBytes -= bytes;
    return Buffer.from(lines.join(""));
  }

  private failed(error: NodeJS.ErrnoException): void {
    if (error.code === "EAGAIN") {
      this.schedule(BUSY_RETRY_MS);
      return;
    }
    this.writeErrors++;
    this.backoffMs = Math.min(MAX_RETRY_MS, Math.max(FIRST_RETRY_MS, this.backoffMs * 2));
    this.setProblem(
      `${this.o.label} cannot be written (${error.code ?? error.message}); log lines are kept in memory ` +
      `(up to ${Math.round(this.o.maxBufferBytes / 1024)} KiB, then the oldest are dropped) and written when it works again`,
    );
    this.schedule(this.backoffMs);
    this.resolveDrained();
  }

  private succeeded(): void {
    this.backoffMs = 0;
    if (this.problem !== null) {
      this.setProblem(null);
      // The gap note goes in before anything else still queued.
      if (this.droppedUnreported > 0 && this.head === null) this.head = this.take();
    }
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, ms);
    this.timer.unref(); // a retry never keeps a stopping process alive
  }

  private retryNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.kick();
  }

  private setProblem(text: string | null): void {
    if (text === this.problem) return;
    this.problem = text;
    this.o.onProblem(text);
  }

  private resolveDrained(): void {
    if (!this.idle()) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private closeOldFds(): void {
    for (const fd of this.oldFds.splice(0)) close(fd, () => {});
  }
}
