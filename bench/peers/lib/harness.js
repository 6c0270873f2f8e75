// The child side of every workload. A system file (systems/<name>.js) describes itself and how
// to set up each workload; this module reads the workload from the environment, measures it and
// prints one JSON line, the last line of stdout. Lines like {"mark":"…"} before it tell the
// parent when a measuring window opens and closes (it samples the store servers' CPU then).
import { appendFileSync } from "node:fs";
import { distribution, slotAccounting } from "./stats.js";

const env = process.env;
const num = (name, fallback) => (env[name] === undefined ? fallback : Number(env[name]));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mark = (name) => process.stdout.write(JSON.stringify({ mark: name, at: Date.now() }) + "\n");
const gc = () => globalThis.gc?.();
const RSS_SETTLE_MS = 1_000;
/**
 * Resident memory after a full GC, read once V8 has handed the freed pages back. V8 unmaps them
 * on a background thread a moment after the GC: read at once, the RSS still holds them (here up
 * to 35 MB at 10,000 schedules and 55 MB at 100,000, in every Node process alike).
 */
async function rssAfterGc() {
  gc();
  await sleep(RSS_SETTLE_MS);
  return process.memoryUsage();
}
const mb = (bytes) => Number((bytes / 1_048_576).toFixed(1));

/** For libraries that do not pass the due time: the slot a wall-clock schedule fired for. */
export function wallClockSlot(now, periodMs) {
  return Math.floor(now / periodMs) * periodMs;
}

/**
 * The slot an interval timer (setInterval from `startedAt`) fired for. Timers run on a monotonic
 * clock and Date.now() is read a moment later, so a fire can look up to a millisecond early: two
 * milliseconds of slack keep such a fire on its own slot (its lateness then reads -1 or -2).
 */
export function intervalSlot(startedAt, now, periodMs) {
  return startedAt + Math.floor((now - startedAt + 2) / periodMs) * periodMs;
}

/** Names and connection settings the parent chose for this child (fresh per run). */
export const store = {
  pgUrl: env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  pgSchema: env.PG_SCHEMA,
  redisUrl: env.REDIS_URL ?? "redis://127.0.0.1:6379",
  redisPrefix: env.REDIS_PREFIX,
  scratch: env.SCRATCH,
};

export async function main(system) {
  const workload = env.WORKLOAD;
  let result;
  if (workload === "describe") result = describe(system);
  else if (workload === "idle") result = await idle(system);
  else if (workload === "precision") result = await precision(system);
  else if (workload === "instance") result = await instance(system);
  else throw new Error(`unknown WORKLOAD=${workload}`);
  process.stdout.write(JSON.stringify(result) + "\n");
  // Some libraries keep handles open after stop (pools, timers); the measurement is done.
  process.exit(0);
}

function describe(s) {
  return { name: s.name, label: s.label, package: s.package, kind: s.kind, periodMs: s.periodMs, storeInMemory: s.storeInMemory ?? false, config: s.config, notSupported: s.notSupported ?? {}, limits: s.limits ?? {} };
}

/** This process's CPU over the next `ms` (user + system), and as a share of one core. */
async function cpuOver(ms) {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await sleep(ms);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  const cpuMicros = cpu.user + cpu.system;
  return { cpuMicros, wallMs, percent: Number(((cpuMicros / 1000 / wallMs) * 100).toFixed(3)) };
}

async function idle(system) {
  const n = num("N", 1_000);
  const idleMs = num("IDLE_MS", 30_000);
  // Start-up leaves one-time work behind (V8's memory reducer compacts a heap grown by start-up
  // garbage 15–45 s later): measured apart, so the idle figure is what the process costs for
  // as long as it runs.
  const settleMs = num("SETTLE_MS", 60_000);
  let fired = 0;
  const rssBefore = (await rssAfterGc()).rss;
  const t0 = performance.now();
  const handle = await system.idle(n, () => void fired++);
  const startupMs = Math.round(performance.now() - t0);
  const mem = await rssAfterGc();
  const settle = await cpuOver(settleMs);
  mark("idle-start");
  const quiet = await cpuOver(idleMs);
  mark("idle-end");
  const rssIdle = (await rssAfterGc()).rss;
  const storeBytes = (await handle.storeBytes?.()) ?? null;
  await withTimeout(handle.stop(), 20_000);
  const cpuMicros = quiet.cpuMicros;
  return {
    workload: "idle", system: system.name, n, idleMs: Math.round(quiet.wallMs), startupMs,
    startupMicrosPerSchedule: Number(((startupMs * 1000) / n).toFixed(1)),
    rssMb: mb(mem.rss), rssIdleMb: mb(rssIdle), heapMb: mb(mem.heapUsed), rssBeforeMb: mb(rssBefore),
    rssKbPerSchedule: Number(((mem.rss - rssBefore) / 1024 / n).toFixed(2)),
    idleCpuPercent: quiet.percent,
    settleMs: Math.round(settle.wallMs),
    settleCpuPercent: settle.percent,
    idleCpuMicrosPerSchedule: Number((cpuMicros / n).toFixed(3)),
    storeMb: storeBytes === null ? null : mb(storeBytes),
    firedDuringIdle: fired,
  };
}

async function precision(system) {
  const jobs = num("JOBS", 1_000);
  const durationMs = num("DURATION_MS", 60_000);
  const periodMs = system.periodMs;
  const slots = [];
  const onRun = (s, slot, startedAt = Date.now()) => void slots.push(s, slot, startedAt);
  const t0 = performance.now();
  const handle = await system.precision(jobs, onRun);
  const startupMs = Math.round(performance.now() - t0);
  if (periodMs >= 60_000) {
    // Minute schedules: open the window 10 s before a minute so it holds whole slots.
    let wait = periodMs - (Date.now() % periodMs) - 10_000;
    if (wait < 2_000) wait += periodMs;
    await sleep(wait);
  } else {
    await sleep(2_000); // let the first slots pass: start-up is measured elsewhere
  }
  const read0 = await readRecorded(handle);
  mark("window-start");
  const from = Date.now();
  const cpu0 = process.cpuUsage();
  await sleep(durationMs);
  const cpu = process.cpuUsage(cpu0);
  const to = Date.now();
  mark("window-end");
  const read1 = await readRecorded(handle);
  await sleep(Math.min(periodMs, 3_000)); // a slot due just before the end may start a little later
  const extra = (await handle.finish?.()) ?? {};
  await withTimeout(handle.stop(), 30_000);

  const runs = [];
  const lateness = [];
  for (let k = 0; k < slots.length; k += 3) {
    const slot = slots[k + 1];
    if (slot < from || slot >= to) continue;
    runs.push([slots[k], slot]);
    lateness.push(slots[k + 2] - slot);
  }
  const acct = slotAccounting({ schedules: jobs, periodMs, from, to, runs });
  const windowS = (to - from) / 1000;
  const cpuMicros = cpu.user + cpu.system;
  // The store is counted just before and just after the window; the count is scaled to the window
  // by the time between the two reads (a read can take a few tens of milliseconds).
  const recorded = read0 === null ? null : Math.round(((read1.n - read0.n) / (read1.at - read0.at)) * (to - from));
  return {
    workload: "precision", system: system.name, jobs, periodMs, durationMs: to - from, startupMs,
    lateness: distribution(lateness),
    runs: runs.length, expected: acct.expected, missed: acct.missed, doubled: acct.doubled, offGrid: acct.offGrid,
    runsPerSecond: Number((runs.length / windowS).toFixed(1)),
    cpuMicros, cpuPercent: Number(((cpuMicros / 1000 / (to - from)) * 100).toFixed(1)),
    cpuPerRunMicros: runs.length ? Number((cpuMicros / runs.length).toFixed(1)) : null,
    recorded, recordedPerSecond: recorded === null ? null : Number((recorded / windowS).toFixed(1)),
    cpuPerRecordedRunMicros: recorded ? Number((cpuMicros / recorded).toFixed(1)) : null,
    rssMb: mb(process.memoryUsage().rss),
    ...extra,
  };
}

async function readRecorded(handle) {
  if (!handle.recorded) return null;
  const t = Date.now();
  const n = await handle.recorded();
  return { n, at: (t + Date.now()) / 2 };
}

/** One of the several-instance processes: runs until SIGTERM (or SIGKILL), appending each run. */
async function instance(system) {
  const file = env.RECORD_FILE;
  let runs = 0;
  const onRun = (s, slot) => {
    runs++;
    if (file) appendFileSync(file, `${s},${slot},${process.pid}\n`);
  };
  const handle = await system.instance(onRun);
  mark("ready");
  await new Promise((resolve) => process.once("SIGTERM", resolve));
  await withTimeout(handle.stop(), 15_000);
  return { workload: "instance", system: system.name, pid: process.pid, runs };
}

async function withTimeout(promise, ms) {
  let timer;
  await Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
