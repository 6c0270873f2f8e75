// CPU time of the store servers (every postgres and redis-server process on this machine), read
// from /proc: the work a persistent scheduler hands to its database does not show in its own
// process.cpuUsage(). Whole-server numbers: other clients of the same servers count too.
//
// Backends come and go (connection pools), and a process that exits takes its CPU time with it,
// so a plain sum can even go down. The counter below samples every 500 ms and adds up each
// process's growth; a process first seen after the start counts whole. At most the last half
// second of a process that exits is lost.
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // CLK_TCK is 100 on Linux
const total = { postgres: 0, redis: 0 };
let last = null; // pid → { key, ms } at the previous sample
let timer = null;

function readAll() {
  const now = new Map();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const key = comm === "postgres" ? "postgres" : comm === "redis-server" ? "redis" : null;
    if (!key) continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    now.set(pid, { key, ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS }); // utime + stime
  }
  return now;
}

function sample() {
  const now = readAll();
  if (last) {
    for (const [pid, cur] of now) {
      const prev = last.get(pid);
      total[cur.key] += prev ? Math.max(0, cur.ms - prev.ms) : cur.ms;
    }
  }
  last = now;
}

/** The counter so far (starts the sampling on first use). Null where /proc is not readable. */
export function serverCpuMs() {
  try {
    if (!timer) {
      timer = setInterval(sample, 500);
      timer.unref();
    }
    sample();
  } catch {
    return null;
  }
  return { ...total };
}

export function diffCpu(a, b) {
  if (!a || !b) return null;
  return { postgres: b.postgres - a.postgres, redis: b.redis - a.redis };
}
