// graphile-worker: its crontab (parsed cron items), run by its worker pool on PostgreSQL. New
// jobs wake the pool through LISTEN/NOTIFY; pollInterval only matters for jobs due later.
import { Logger, parseCronItems, run } from "graphile-worker";
import { schemaBytes } from "../lib/child-pg.js";
import { dailyAtFarHour } from "../lib/schedules.js";
import { main, store } from "../lib/harness.js";

const quiet = new Logger(() => () => {});
// The configuration of its documented performance figures (worker.graphile.org/docs/performance),
// for the workload that fires 1,000 jobs at once.
const THROUGHPUT = { concurrency: 24, maxPoolSize: 25, preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } };

async function start(n, match, onRun, options = {}) {
  const items = parseCronItems(Array.from({ length: n }, (_, i) => ({ task: "noop", match, identifier: `s${i}`, payload: { s: i } })));
  const runner = await run({
    connectionString: store.pgUrl, schema: store.pgSchema, logger: quiet, noHandleSignals: true,
    parsedCronItems: items,
    taskList: { noop: async (payload) => onRun(payload.s, Date.parse(payload._cron.ts)) },
    ...options,
  });
  return runner;
}


await main({
  name: "graphile-worker",
  label: "graphile-worker",
  package: "graphile-worker",
  kind: "persistent",
  periodMs: 60_000,
  config: {
    store: "PostgreSQL, a fresh schema per run (a fresh database per several-instance run)",
    schedules: "cron items '* * * * *' (every minute, its finest) with ?id per schedule, one task 'noop'; a daily cron at an hour far from now for idle",
    idle: "library defaults: concurrency 1, pool 10, pollInterval 2000 ms, LISTEN/NOTIFY for new jobs",
    precision: "its documented performance configuration: concurrency 24, maxPoolSize 25, localQueue.size 500, completeJobBatchDelay 0, failJobBatchDelay 0",
    multi: "library defaults (one job a minute gains nothing from batching; a local queue would hold jobs locked in a killed process)",
    slot: "payload._cron.ts, the minute the cron item is for",
    records: "nothing once done: a completed job is deleted; known_crontabs keeps only each item's last execution time",
  },
  notSupported: {
    perSecond: "cron has minute granularity (5 fields): the finest schedule is every minute",
    recorded: "completed jobs are deleted, so no run history is kept to count",
  },

  async idle(n, onRun) {
    const runner = await start(n, dailyAtFarHour({ seconds: false }), () => onRun());
    return { stop: () => runner.stop(), storeBytes: () => schemaBytes() };
  },

  async precision(jobs, onRun) {
    const runner = await start(jobs, "* * * * *", onRun, THROUGHPUT);
    return { stop: () => runner.stop() };
  },

  async instance(onRun) {
    const runner = await start(1, "* * * * *", onRun);
    return { stop: () => runner.stop() };
  },
});
