// bullmq: job schedulers (upsertJobScheduler, its recommended way to repeat jobs since 5.16) on
// one queue in Redis, processed by a Worker in the same process. The scheduler's next job is
// created when the current one starts.
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { dailyAtFarHour } from "../lib/schedules.js";
import { main, store } from "../lib/harness.js";

const url = new URL(store.redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
const prefix = store.redisPrefix ?? "peers-bullmq";
const concurrency = Number(process.env.BULLMQ_CONCURRENCY ?? 50);
// The job id is "repeat:<scheduler id>:<due time in ms>": the slot it was produced for.
const slotOf = (job) => Number(job.id.slice(job.id.lastIndexOf(":") + 1));

async function start(n, repeat, onRun, workerOptions = {}) {
  const queue = new Queue("peers", { connection, prefix });
  const pending = [];
  for (let i = 0; i < n; i++) {
    pending.push(queue.upsertJobScheduler(`s${i}`, repeat, { name: "noop", data: { s: i } }));
    if (pending.length === 500) await Promise.all(pending.splice(0)); // pipelined, in slices
  }
  await Promise.all(pending);
  const worker = new Worker("peers", async (job) => onRun(job.data.s, slotOf(job)), { connection, prefix, ...workerOptions });
  await worker.waitUntilReady();
  return {
    stop: async () => {
      await worker.close();
      await queue.close();
    },
    recorded: () => queue.getCompletedCount(),
  };
}

async function redisBytes() {
  const redis = new Redis(connection);
  const info = await redis.info("memory");
  redis.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

await main({
  name: "bullmq",
  label: "bullmq",
  package: "bullmq",
  kind: "persistent",
  storeInMemory: true, // the schedules live in Redis's memory: counted in memory per schedule
  periodMs: 1_000,
  config: {
    store: "Redis 7 (ioredis client), a fresh key prefix per run",
    schedules: "upsertJobScheduler(id, { every: 1000 }) per schedule on one queue for precision; { pattern: daily cron at an hour far from now } for idle",
    worker: `one Worker per process, concurrency ${concurrency} (default 1; its docs recommend raising it for I/O-bound jobs; 1, 10, 25, 50, 100, 200 and 1,000 were tried on workload 2: 10 to 50 gave the lowest lateness, 1 was about 3 times later, 1,000 about 4 times; 50 is the value of its concurrency guide's example), other options default (drainDelay 5 s, stalledInterval 30 s, lockDuration 30 s)`,
    multi: "each of the three processes upserts the same scheduler and runs a Worker",
    slot: "the due time in the job id (repeat:<scheduler>:<ms>)",
    records: "completed jobs stay in the queue's completed set (removeOnComplete not set)",
    storeMb: "idle: Redis used_memory after registering minus before (whole server)",
  },

  async idle(n, onRun) {
    const before = await redisBytes();
    const handle = await start(n, { pattern: dailyAtFarHour() }, onRun, { concurrency });
    return { ...handle, storeBytes: async () => (await redisBytes()) - before };
  },

  precision: (jobs, onRun) => start(jobs, { every: 1_000 }, onRun, { concurrency }),
  instance: (onRun) => start(1, { every: 1_000 }, onRun, { concurrency }),
});
