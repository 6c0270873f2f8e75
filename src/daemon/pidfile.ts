import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { PidfileError } from "../errors.js";
import { pidAlive } from "../engine/recovery.js";

export type PidfileState =
  | { state: "absent" }
  | { state: "running"; pid: number }
  | { state: "stale"; pid: number | null; why: string };

/** What the pidfile says, checked against the process table (PRODUCT §7). */
export function readPidfile(path: string): PidfileState {
  let text: string;
  try {
    if (lstatSync(path).isSymbolicLink()) throw symlinkError(path);
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a file stands where the folder should be; acquirePidfile reports that properly.
    if (code === "ENOENT" || code === "ENOTDIR") return { state: "absent" };
    throw error;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { state: "stale", pid: null, why: "it does not hold a pid" };
  if (!pidAlive(pid)) return { state: "stale", pid, why: `no process ${pid} exists` };
  if (!isJobclock(pid)) return { state: "stale", pid, why: `process ${pid} is not a jobclock` };
  return { state: "running", pid };
}

/**
 * Creates the pidfile atomically and exclusively (O_EXCL: two daemons can not both win;
 * O_NOFOLLOW: a symlink planted at the path is refused, never followed). A stale file is
 * replaced, with `onStale` told why.
 */
export function acquirePidfile(path: string, onStale: (why: string) => void): { release(): void } {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  } catch (error) {
    throw unwritable(path, error);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = readPidfile(path);
    if (current.state === "running") {
      throw new PidfileError("ALREADY_RUNNING", `jobclock is already running (pid ${current.pid}, pidfile ${path})`);
    }
    if (current.state === "stale") {
      // Two daemons may both find the same stale file; only the one holding the lock may remove
      // it, after checking again that it is still the stale one (the other may have replaced it).
      const removed = withReplaceLock(path, () => {
        const again = readPidfile(path);
        if (again.state !== "stale" || again.pid !== current.pid) return false;
        onStale(`replacing stale pidfile ${path}: ${current.why}`);
        tryUnlink(path);
        return true;
      });
      if (!removed) continue;
    }
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue; // another process won the race; look again
      if (code === "ELOOP") throw symlinkError(path);
      throw unwritable(path, error);
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return {
      release() {
        // Only remove the file if it is still ours.
        const now = readPidfileQuiet(path);
        if (now === process.pid) tryUnlink(path);
      },
    };
  }
  throw new PidfileError("PIDFILE_RACE", `could not create pidfile ${path}: another process keeps recreating it`);
}

function readPidfileQuiet(path: string): number | null {
  try {
    return Number(readFileSync(path, "utf8").trim());
  } catch {
    return null;
  }
}

/**
 * Linux tells us what a pid runs. The daemon sets its process title to "jobclock run", which
 * becomes its whole command line; a `tail -f …/jobclock.log` that reused the pid does not match.
 * Elsewhere, trust the pid.
 */
function isJobclock(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("jobclock run");
  } catch {
    return true;
  }
}

const LOCK_STALE_MS = 10_000;

/** A short exclusive section around replacing a stale pidfile: mkdir is atomic. */
function withReplaceLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  const deadline = Date.now() + 3_000;
  for (;;) {
    try {
      mkdirSync(lock, { mode: 0o700 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw unwritable(path, error);
      // A lock left by a process that died inside this section would block forever.
      if (Date.now() - lockAge(lock) > LOCK_STALE_MS) tryRmdir(lock);
      else if (Date.now() > deadline) throw new PidfileError("PIDFILE_LOCKED", `${lock} is held by another jobclock starting up; try again`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    return fn();
  } finally {
    tryRmdir(lock);
  }
}

function lockAge(lock: string): number {
  try {
    return statSync(lock).mtimeMs;
  } catch {
    return Date.now();
  }
}

function tryRmdir(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // gone already
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function symlinkError(path: string): PidfileError {
  return new PidfileError("PIDFILE_SYMLINK", `pidfile ${path} is a symbolic link; refusing to follow it. Remove it or set pidfile to a plain path`);
}

function unwritable(path: string, error: unknown): PidfileError {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  return new PidfileError(
    "PIDFILE_UNWRITABLE",
    `cannot create pidfile ${path} (${code || (error as Error).message}); make its folder writable for this user, or set pidfile elsewhere`,
  );
}
