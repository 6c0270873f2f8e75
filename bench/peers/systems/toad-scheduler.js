// toad-scheduler: SimpleIntervalJob, its interval job (one setInterval per job), in memory.
// Slots are the job's start plus whole intervals; the task is not told which one it runs for.
import { SimpleIntervalJob, Task, ToadScheduler } from "toad-scheduler";
import { intervalSlot, main } from "../lib/harness.js";

function add(scheduler, i, schedule, onFire) {
  const startedAt = Date.now();
  const periodMs = ((schedule.hours ?? 0) * 3600 + (schedule.seconds ?? 0)) * 1000;
  const task = new Task(`task-${i}`, () => {
    const now = Date.now();
    onFire(i, intervalSlot(startedAt, now, periodMs), now);
  });
  scheduler.addSimpleIntervalJob(new SimpleIntervalJob(schedule, task, { id: `job-${i}` }));
}

await main({
  name: "toad-scheduler",
  label: "toad-scheduler",
  package: "toad-scheduler",
  kind: "in-memory",
  periodMs: 1_000,
  config: {
    schedules: "SimpleIntervalJob { seconds: 1 } for precision, { hours: 1 } for idle (its interval jobs are its main API; its CronJob wraps croner)",
    options: "defaults (preventOverrun off)",
    slot: "not passed to the task: the job's start time plus whole intervals",
    records: "nothing (in memory)",
  },
  notSupported: {
    multi: "in-memory: no shared store, so three processes would each run every slot",
    recorded: "in-memory: runs are not recorded anywhere",
  },

  async idle(n, onRun) {
    const scheduler = new ToadScheduler();
    for (let i = 0; i < n; i++) add(scheduler, i, { hours: 1 }, onRun);
    return { stop: async () => scheduler.stop() };
  },

  async precision(jobs, onRun) {
    const scheduler = new ToadScheduler();
    for (let i = 0; i < jobs; i++) add(scheduler, i, { seconds: 1 }, onRun);
    return { stop: async () => scheduler.stop() };
  },
});
