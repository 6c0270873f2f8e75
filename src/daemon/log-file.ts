import { close, constants, fchmod } from "node:fs";
import { FolderReplacedError, makeFolders } from "../os/folders.js";
import { NotRegularFileError, openRegular } from "../os/regular-file.js";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { JobclockError } from "../errors.js";
import { LogWriter } from "./log-writer.js";
import { currentUserName } from "../os/users.js";

/** Explicit, whatever the umask: the log says which jobs ran and why they failed. */
export const LOG_DIR_MODE = 0o750;
export const LOG_FILE_MODE = 0o640;

const FIRST_REOPEN_RETRY_MS = 1_000;
const MAX_REOPEN_RETRY_MS = 60_000;

const fchmodAsync = promisify(fchmod);

/**
 * The daemon's log file: opened for appending (a symlink refused), reopened on SIGUSR1 for
 * logrotate. A reopen that fails keeps writing to the file it had (a rotated or deleted file
 * still takes lines; nothing is lost to a bad moment) and tries the path again with a backoff,
 * so the log comes back by itself once the folder does.
 */
export class FileLog {
  readonly writer: LogWriter;
  private writeProblem: string | null = null;
  private reopenProblem: string | null = null;
  private reported: string | null = null;
  private reopenTimer: NodeJS.Timeout | null = null;
  private reopenBackoffMs = 0;
  private reopening: Promise<string | null> | null = null;
  private closed = false;

  constructor(readonly path: string, maxBufferBytes: number, private readonly onProblem: (text: string | null) => void, note: (msg: string) => string) {
    this.writer = new LogWriter({
      label: `log file ${path}`, maxBufferBytes, note,
      onProblem: (text) => {
        this.writeProblem = text;
        this.report();
      },
    });
  }

  get problem(): string | null {
    return this.reported;
  }

  /** The first open, at start-up: a failure is the daemon's to report (it cannot log). */
  async open(): Promise<void> {
    try {
      this.writer.setFd(await openLogFile(this.path));
    } catch (error) {
      throw new JobclockError("LOG_UNWRITABLE", `cannot open log file ${this.path}: ${explain(error)}`);
    }
  }

  /**
   * Opens the path again (logrotate moved the file away). Resolves with null once lines go to
   * the new file, or with the problem when it cannot be opened (then retried with a backoff).
   */
  reopen(): Promise<string | null> {
    if (this.closed) return Promise.resolve(null);
    if (this.reopening) return this.reopening;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = null;
    this.reopening = openLogFile(this.path).then(
      (fd) => {
        this.reopening = null;
        if (this.closed) {
          closeQuietly(fd);
          return null;
        }
        this.reopenBackoffMs = 0;
        this.reopenProblem = null;
        this.writer.setFd(fd);
        this.report();
        return null;
      },
      (error) => {
        this.reopening = null;
        if (this.closed) return null;
        this.reopenProblem = `log file ${this.path} cannot be reopened (${explain(error)}); still writing to the file opened before, which logrotate may have renamed or removed`;
        this.report();
        this.reopenBackoffMs = Math.min(MAX_REOPEN_RETRY_MS, Math.max(FIRST_REOPEN_RETRY_MS, this.reopenBackoffMs * 2));
        this.reopenTimer = setTimeout(() => void this.reopen(), this.reopenBackoffMs);
        this.reopenTimer.unref();
        return this.reopenProblem;
      },
    );
    return this.reopening;
  }

  close(): void {
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.writer.closeSync();
  }

  private report(): void {
    const text = [this.reopenProblem, this.writeProblem].filter((t) => t !== null).join("; ") || null;
    if (text === this.reported) return;
    this.reported = text;
    this.onProblem(text);
  }
}

/**
 * Opens PATH for appending, creating missing folders (0750) and the file (0640) with explicit
 * modes. Only a regular file is taken, opened without following a symlink and without
 * blocking: a FIFO put at the path would otherwise hold a thread-pool thread in open() for
 * ever (start-up never completing, or the process unable to exit). Returns the descriptor;
 * rejects with the system error or a NotRegularFileError.
 */
export async function openLogFile(path: string): Promise<number> {
  makeFolders(dirname(path), LOG_DIR_MODE); // a few syscalls, at open and at a reopen only
  const flags = constants.O_WRONLY | constants.O_APPEND;
  try {
    const fd = await openRegular(path, flags | constants.O_CREAT | constants.O_EXCL, { mode: LOG_FILE_MODE });
    await fchmodAsync(fd, LOG_FILE_MODE); // the umask may have taken bits off; never adds any
    return fd;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return openRegular(path, flags);
}

function closeQuietly(fd: number): void {
  close(fd, () => {});
}

/** The system error in words, with what to do about it. */
export function explain(error: unknown): string {
  if (error instanceof NotRegularFileError) {
    if (error.kind === "a folder") return "it is a folder; set log.file to a file path";
    return `it is ${error.kind}, not a regular file; remove it, or set log.file to a regular file's path`;
  }
  if (error instanceof FolderReplacedError) return `${error.message}; keep the log in a folder only jobclock's user can write`;
  const e = error as NodeJS.ErrnoException;
  const user = currentUserName();
  switch (e.code) {
    case "EACCES":
    case "EPERM":
      return `EACCES: permission denied for user ${user}; make its folder writable for ${user} (chown ${user}), or set log.file`;
    case "ENOTDIR":
    case "EEXIST":
      return `${e.code}: a file stands where a folder of that path should be; move it away, or set log.file`;
    case "ELOOP":
      return "ELOOP: it is a symbolic link, which jobclock does not follow; point log.file at the real file";
    case "EISDIR":
      return "EISDIR: it is a folder; set log.file to a file path";
    case "ENOSPC":
      return "ENOSPC: no space left on the device; free some space";
    case "EROFS":
      return "EROFS: the file system is read-only; set log.file to a writable place";
    default:
      return e.code ? `${e.code}: ${e.message}` : String(e?.message ?? e);
  }
}
