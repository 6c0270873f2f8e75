// croner: one Cron object (its own timer) per schedule, in memory.
import { Cron } from "croner";
import { dailyAtFarHour } from "../lib/schedules.js";
import { main, wallClockSlot } from "../lib/harness.js";

await main({
  name: "croner",
  label: "croner",
  package: "croner",
  kind: "in-memory",
  periodMs: 1_000,
  config: {
    schedules: "6-field cron '* * * * * *' (every second, on wall-clock seconds) for precision; a daily cron at an hour far from now for idle",
    options: "defaults (no protect/overrun guard, local timezone)",
    slot: "not passed to the callback: the wall-clock second the callback runs in",
    records: "nothing (in memory)",
  },
  notSupported: {
    multi: "in-memory: no shared store, so three processes would each run every slot",
    recorded: "in-memory: runs are not recorded anywhere",
  },

  async idle(n, onRun) {
    const pattern = dailyAtFarHour();
    const jobs = [];
    for (let i = 0; i < n; i++) jobs.push(new Cron(pattern, onRun));
    return { stop: async () => jobs.forEach((j) => j.stop()) };
  },

  async precision(jobs, onRun) {
    const crons = [];
    for (let i = 0; i < jobs; i++) crons.push(new Cron("* * * * * *", () => onRun(i, wallClockSlot(Date.now(), 1_000))));
    return { stop: async () => crons.forEach((j) => j.stop()) };
  },
});
