// bree: every run of a job is a new worker thread (its design: isolation per run). Jobs use its
// `interval` (a setInterval per job); bree's cron-with-seconds (later.js) was tried and fires at
// the start's phase plus whole seconds rather than on the second, so it is no more precise.
import Bree from "bree";
import { fileURLToPath } from "node:url";
import { intervalSlot, main } from "../lib/harness.js";

const path = fileURLToPath(new URL("./bree-job.js", import.meta.url));
let alreadyRunning = 0;
const logger = {
  info() {},
  error() {},
  warn(err) {
    if (String(err?.message ?? err).includes("already running")) alreadyRunning++;
  },
};

async function start(n, job, onRun) {
  const firstRun = new Map(); // job name → when its first worker was created (the grid's start)
  // Keyed by thread: a worker's message can arrive after bree has seen it exit and started the
  // job's next worker.
  const slots = new Map(); // worker threadId → its slot
  const bree = new Bree({
    root: false,
    logger,
    jobs: Array.from({ length: n }, (_, i) => ({ name: `job-${i}`, path, ...job })),
    workerMessageHandler: ({ name, message }) => {
      if (!message?.startedAt) return;
      onRun(Number(name.slice(4)), slots.get(message.threadId), message.startedAt);
      slots.delete(message.threadId);
    },
  });
  // "worker created" is emitted as the timer fires, before the thread boots.
  bree.on("worker created", (name) => {
    const now = Date.now();
    if (!firstRun.has(name)) firstRun.set(name, now);
    slots.set(bree.workers.get(name).threadId, intervalSlot(firstRun.get(name), now, 1_000));
  });
  await bree.start();
  return { stop: () => bree.stop(), finish: async () => ({ skippedAlreadyRunning: alreadyRunning }) };
}

await main({
  name: "bree",
  label: "bree",
  package: "bree",
  kind: "worker-thread",
  periodMs: 1_000,
  config: {
    schedules: "interval: '1s' (first run at start, then a setInterval) for precision; interval: '1h' with timeout: false (no run at start) for idle",
    options: "defaults: a new worker thread per run; a run is refused while the job's previous worker is alive; root: false; a silent logger instead of console",
    slot: "not passed to the job: the job's first run plus whole seconds, taken when bree's timer fires ('worker created')",
    lateness: "from the slot to the first statement of the job file, in its new worker thread",
    records: "nothing (in memory)",
    cronTried: "cron '* * * * * *' with hasSeconds: later.js fires at the start's phase plus whole seconds (e.g. at .119 or .818 of every second), not on the second",
  },
  notSupported: {
    multi: "in-memory: no shared store, so three processes would each run every slot",
    recorded: "in-memory: runs are not recorded anywhere",
    thousandPerSecond: "1,000 schedules every second: each run boots a worker thread (about 50 ms of CPU each on this machine), so 1,000 a second would need about 50 cores, and up to 1,000 live threads (a V8 isolate each) would take gigabytes; measured with 10 schedules instead",
  },
  limits: {
    precisionJobs: 10,
    idleMaxN: 10_000,
    idleMaxNReason: "in a probe, 30,000 jobs ran bree out of heap (Node's default limit) after 90 s of start-up, so 100,000 is not attempted (PEERS_NO_CAPS=1 runs it anyway)",
  },
  idle: (n, onRun) => start(n, { interval: "1h", timeout: false }, onRun),
  precision: (jobs, onRun) => start(jobs, { interval: "1s" }, onRun),
});
