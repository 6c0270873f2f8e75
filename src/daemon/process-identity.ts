import { existsSync, readFileSync, statSync } from "node:fs";

export interface ProcessInfo {
  /** Its command line, arguments joined by spaces ("jobclock run" for the daemon: its process title). */
  cmdline: string;
  /** Its effective uid (the owner of /proc/PID). */
  uid: number;
  /** When it started, in ms since the epoch (to about a second: the boot time has whole seconds). */
  startedAtMs: number;
}

// /proc counts process start times in USER_HZ ticks, which Linux fixes at 100 for user space.
const TICKS_PER_SECOND = 100;

/**
 * What Linux says about a process, or null where there is no /proc, the process is gone, or
 * /proc hides it (hidepid): the caller tells these apart with procMounted and pidAlive. Used to prove a pid is this daemon's before believing or signalling it.
 */
export function processInfo(pid: number): ProcessInfo | null {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").replaceAll("\0", " ");
    const uid = statSync(`/proc/${pid}`).uid;
    const startedAtMs = startTicks(pid) * (1000 / TICKS_PER_SECOND) + bootTimeMs();
    return { cmdline, uid, startedAtMs };
  } catch {
    return null;
  }
}

/**
 * Whether this system has a /proc to ask (Linux). Where it has one, a process that cannot be
 * looked at there is hidden from us (hidepid) and must not be taken at its pid's word; only where
 * there is no /proc at all is the pid all there is. Our own entry is always visible.
 */
export function procMounted(): boolean {
  return existsSync("/proc/self/stat");
}

/** The process's start time in ticks since boot: a pid and this number name one process for good. */
export function startTicks(pid: number): number {
  // "pid (comm) state ppid …": comm may hold spaces or parentheses, so count from the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[19]); // field 22 of the whole line
}

let bootMs: number | null = null;

function bootTimeMs(): number {
  if (bootMs === null) {
    const line = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
    if (!line) throw new Error("no btime in /proc/stat");
    bootMs = Number(line[1]) * 1000;
  }
  return bootMs;
}
