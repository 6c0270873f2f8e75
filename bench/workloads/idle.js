// Workload: N interval jobs (hourly) registered through the library.
//   PHASE=cold: empty store; time to apply all jobs and start.
//   PHASE=warm: a fresh process on the store the cold phase left (a daemon restart): start-up
//   time, resident memory after start, and CPU while idle.
import { createScheduler } from "../../dist/index.js";

const jobs = Number(process.env.JOBS ?? 100_000);
const idleMs = Number(process.env.IDLE_MS ?? 30_000);
const phase = process.env.PHASE ?? "warm";
const store = `sqlite:${process.env.STORE_PATH}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** RSS after a GC, read once V8's background thread has unmapped the pages the GC freed. */
async function rssAfterGcMb() {
  globalThis.gc?.();
  await sleep(1_000);
  return Math.round(process.memoryUsage().rss / 1_048_576);
}

const t0 = performance.now();
const clock = createScheduler({ store });
for (let i = 0; i < jobs; i++) clock.job(`job-${i}`, { every: "1h" }, () => {});
await clock.start();
const startupMs = Math.round(performance.now() - t0);
const rssMb = await rssAfterGcMb();
const heapMb = Math.round(process.memoryUsage().heapUsed / 1_048_576);
let idleCpuPercent = null;
let rssIdleMb = null;
if (phase === "warm") {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await sleep(idleMs);
  const cpu = process.cpuUsage(cpu0);
  idleCpuPercent = Number((((cpu.user + cpu.system) / 1_000 / (performance.now() - wall0)) * 100).toFixed(3));
  rssIdleMb = await rssAfterGcMb();
}
await clock.stop({ timeout: 0 });
console.log(JSON.stringify({ workload: "idle", phase, jobs, idleMs, startupMs, rssMb, rssIdleMb, heapMb, idleCpuPercent }));
