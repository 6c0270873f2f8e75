import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { PidfileError } from "../errors.js";
import { pidAlive } from "../os/process.js";
import { formatDuration } from "../schedule/duration.js";
import { NotRegularFileError, openRegularSync } from "../os/regular-file.js";
import { folderTrustedFor } from "./folder-trust.js";
import { pidfileFolderProblem, preparePidfileFolder } from "./pidfile-folder.js";
import { procMounted, processInfo } from "./process-identity.js";
import { currentUserName, userName } from "../os/users.js";

export type PidfileState =
  | { state: "absent" }
  | { state: "running"; pid: number }
  /** Safe to replace: no such process, not a jobclock, or a pid reused since the file was written. */
  | { state: "stale"; pid: number | null; why: string }
  /** A live "jobclock run" that cannot be proven to be the daemon: never believed, signalled or removed. */
  | { state: "untrusted"; pid: number; why: string };

export const PIDFILE_MODE = 0o644;
// The boot time in /proc/stat has whole seconds, so a process's start time is known to about 1 s.
const START_TOLERANCE_MS = 1_500;
const LOCK_STALE_MS = 10_000;
// A lock dated this far ahead is not one a starting jobclock made (file systems and clocks differ by less).
const LOCK_FUTURE_SLACK_MS = 2_000;
const LOCK_WAIT_MS = 3_000;
const LOCK_POLL_MS = 50;

/**
 * What the pidfile says, checked against the process table, so a stale or planted pidfile never gets a process signalled. A pid is believed only
 * if that process is this daemon: its command line is the daemon's process title, it started
 * before the pidfile was written (a pid reused after a crash or a reboot is stale), it runs as
 * the pidfile's owner, and that owner is this user, root, or the owner of a pidfile folder that
 * only a trusted party can have made for them (anyone can rename a process "jobclock run" and
 * plant a pidfile in a folder of their own).
 */
export function readPidfile(path: string): PidfileState {
  const file = readPidfileText(path);
  if (!file) return { state: "absent" };
  const { text, owner } = file;
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { state: "stale", pid: null, why: "it does not hold a pid" };
  if (!pidAlive(pid)) return { state: "stale", pid, why: `no process ${pid} exists` };
  const proc = processInfo(pid);
  if (!proc) {
    if (!procMounted()) return { state: "running", pid }; // no /proc (not Linux): the pid is all there is
    if (!pidAlive(pid)) return { state: "stale", pid, why: `no process ${pid} exists` }; // it ended meanwhile
    // Linux hides other users' processes under hidepid=1/2: one we cannot see is not proven ours.
    return { state: "untrusted", pid, why: `process ${pid} cannot be inspected in /proc (another user's process, with /proc mounted hidepid), so it cannot be proven to be this daemon` };
  }
  if (!proc.cmdline.startsWith("jobclock run")) return { state: "stale", pid, why: `process ${pid} is not a jobclock` };
  if (proc.startedAtMs > owner.mtimeMs + START_TOLERANCE_MS) {
    return { state: "stale", pid, why: `process ${pid} started after the pidfile was written (its pid was reused after a crash or reboot)` };
  }
  if (proc.uid !== owner.uid) {
    return { state: "untrusted", pid, why: `process ${pid} runs as ${userName(proc.uid)} but the pidfile belongs to ${userName(owner.uid)}` };
  }
  const me = process.geteuid?.() ?? owner.uid;
  if (owner.uid !== me && owner.uid !== 0) {
    const folder = folderTrustedFor(dirname(path), owner.uid);
    if (!folder.trusted) {
      const who = `the pidfile belongs to ${userName(owner.uid)}, who is neither this user (${userName(me)})`;
      const why = folder.ownerUid === owner.uid
        ? `${who} nor root; they own its folder, but ${folder.why}`
        : `${who}, root, nor the owner of its folder (${folder.ownerUid === null ? "unknown" : userName(folder.ownerUid)})`;
      return { state: "untrusted", pid, why };
    }
  }
  return { state: "running", pid };
}

/**
 * The pidfile's first bytes and its owner, or null when there is none. Opened without
 * following a symlink and without blocking: a FIFO planted there would otherwise hang every
 * command (and `run`, deaf to SIGTERM while the open blocks the event loop).
 */
function readPidfileText(path: string): { text: string; owner: { uid: number; mtimeMs: number } } | null {
  try {
    if (lstatSync(path).isSymbolicLink()) throw symlinkError(path);
    const fd = openRegularSync(path, constants.O_RDONLY);
    try {
      const st = fstatSync(fd);
      const buf = Buffer.alloc(64);
      return { text: buf.subarray(0, readSync(fd, buf, 0, 64, 0)).toString("utf8"), owner: { uid: st.uid, mtimeMs: st.mtimeMs } };
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a file stands where the folder should be; acquirePidfile reports that properly.
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    if (code === "ELOOP") throw symlinkError(path);
    if (error instanceof NotRegularFileError) throw notRegularError(path, error.kind);
    throw error;
  }
}

/** The message for a pidfile that names a process jobclock cannot prove is its daemon. */
export function untrustedMessage(path: string, s: { pid: number; why: string }): string {
  return `pidfile ${path} names process ${s.pid}, which is not provably this jobclock (${s.why}); ` +
    "it was neither believed nor signalled. Remove the pidfile if that process is not a jobclock of yours, " +
    "and keep pidfiles in a folder only jobclock's user can write (such as /run/jobclock)";
}

/**
 * Creates the pidfile atomically and exclusively (O_EXCL: two daemons can not both win;
 * O_NOFOLLOW: a symlink planted at the path is refused, never followed). A stale file is
 * replaced, with `onStale` told why. Bounded in time, and it waits without blocking the event
 * loop, so a SIGTERM meanwhile is still heard.
 */
export async function acquirePidfile(path: string, onStale: (why: string) => void): Promise<{ release(): void }> {
  preparePidfileFolder(path);
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = readPidfile(path);
    if (current.state === "running") {
      throw new PidfileError("ALREADY_RUNNING", `jobclock is already running (pid ${current.pid}, pidfile ${path})`);
    }
    if (current.state === "untrusted") throw new PidfileError("PIDFILE_UNTRUSTED", untrustedMessage(path, current));
    if (current.state === "stale") {
      // Two daemons may both find the same stale file; only the one holding the lock may remove
      // it, after checking again that it is still the stale one (the other may have replaced it).
      const removed = await withReplaceLock(path, () => {
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
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, PIDFILE_MODE);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue; // another process won the race; look again
      if (code === "ELOOP") throw symlinkError(path);
      throw new PidfileError("PIDFILE_UNWRITABLE", pidfileFolderProblem(path, error));
    }
    try {
      fchmodSync(fd, PIDFILE_MODE); // whatever the umask
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      release() {
        // Only remove the file if it is still ours.
        if (readPidQuiet(path) === process.pid) tryUnlink(path);
      },
    };
  }
  throw new PidfileError("PIDFILE_RACE", `could not create pidfile ${path}: another process keeps recreating it`);
}

function readPidQuiet(path: string): number | null {
  try {
    const fd = openRegularSync(path, constants.O_RDONLY);
    try {
      const buf = Buffer.alloc(64);
      return Number(buf.subarray(0, readSync(fd, buf, 0, 64, 0)).toString("utf8").trim());
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/**
 * A short exclusive section around replacing a stale pidfile: mkdir is atomic. A lock left by a
 * process that died inside this section is removed after LOCK_STALE_MS (at once when dated in
 * the future); one that cannot be removed (another user's, in a world-writable folder) ends the
 * wait at once, saying whose it is.
 */
async function withReplaceLock<T>(path: string, fn: () => T): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock, { mode: 0o700 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new PidfileError("PIDFILE_UNWRITABLE", pidfileFolderProblem(path, error));
    }
    const held = lockInfo(lock);
    if (held && lockIsStale(held.mtimeMs)) {
      try {
        rmdirSync(lock);
        continue;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "ENOENT") throw staleLockError(lock, held, code ?? String(error));
        continue;
      }
    }
    if (Date.now() > deadline) {
      throw new PidfileError("PIDFILE_LOCKED", `${lock} is held by another jobclock starting up${held ? ` (owned by ${userName(held.uid)})` : ""}; try again`);
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
  try {
    return fn();
  } finally {
    tryRmdir(lock);
  }
}

function lockInfo(lock: string): { mtimeMs: number; uid: number } | null {
  try {
    const st = lstatSync(lock);
    return { mtimeMs: st.mtimeMs, uid: st.uid };
  } catch {
    return null;
  }
}

/**
 * Older than LOCK_STALE_MS, or dated in the future: a jobclock starting up dates its lock now,
 * so a future date is a lock planted with `touch -d 2099` (or left before the clock was set
 * back), which would otherwise look fresh for ever.
 */
function lockIsStale(mtimeMs: number): boolean {
  const age = Date.now() - mtimeMs;
  return age > LOCK_STALE_MS || age < -LOCK_FUTURE_SLACK_MS;
}

function staleLockError(lock: string, held: { mtimeMs: number; uid: number }, code: string): PidfileError {
  const age = Date.now() - held.mtimeMs;
  const when = age < 0 ? `dated ${formatDuration(-age)} in the future` : `left ${formatDuration(age)} ago`;
  return new PidfileError(
    "PIDFILE_LOCK_STUCK",
    `a stale lock ${lock} (owned by ${userName(held.uid)}, ${when}) ` +
      `cannot be removed by ${currentUserName()} (${code}); remove it as root, and keep the pidfile in a folder only jobclock's user can write (such as /run/jobclock)`,
  );
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

function notRegularError(path: string, kind: string): PidfileError {
  return new PidfileError("PIDFILE_NOT_FILE", `pidfile ${path} is ${kind}, not a regular file; refusing to read it. Remove it, or set pidfile to a plain path in a folder only jobclock's user can write (such as /run/jobclock)`);
}

function symlinkError(path: string): PidfileError {
  return new PidfileError("PIDFILE_SYMLINK", `pidfile ${path} is a symbolic link; refusing to follow it. Remove it or set pidfile to a plain path`);
}
