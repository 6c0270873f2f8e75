// node-cron 4: one task (its own timer) per schedule, in memory. The callback's context carries
// the slot it fired for (ctx.date).
import cron from "node-cron";
import { dailyAtFarHour } from "../lib/schedules.js";
import { main } from "../lib/harness.js";

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
let missedEvents = 0;

function schedule(pattern, fn) {
  const task = cron.schedule(pattern, fn, { logger: quiet });
  task.on("execution:missed", () => void missedEvents++);
  return task;
}

await main({
  name: "node-cron",
  label: "node-cron",
  package: "node-cron",
  kind: "in-memory",
  periodMs: 1_000,
  config: {
    schedules: "6-field cron '* * * * * *' (every second) for precision; a daily cron at an hour far from now for idle",
    options: "defaults (missedExecutionTolerance 1000 ms, overlap allowed), a silent logger instead of console",
    slot: "ctx.date, the slot the task fired for",
    records: "nothing (in memory)",
  },
  notSupported: {
    multi: "in-memory: no shared store. Its `distributed: true` option designates one runner through an environment variable (no failover) or asks a coordinator you write yourself; not measured",
    recorded: "in-memory: runs are not recorded anywhere",
  },

  async idle(n, onRun) {
    const pattern = dailyAtFarHour();
    const tasks = [];
    for (let i = 0; i < n; i++) tasks.push(schedule(pattern, onRun));
    return { stop: () => Promise.all(tasks.map((t) => t.destroy())) };
  },

  async precision(jobs, onRun) {
    const tasks = [];
    for (let i = 0; i < jobs; i++) tasks.push(schedule("* * * * * *", (ctx) => onRun(i, ctx.date.getTime())));
    return { stop: () => Promise.all(tasks.map((t) => t.destroy())), finish: async () => ({ missedEvents }) };
  },
});
