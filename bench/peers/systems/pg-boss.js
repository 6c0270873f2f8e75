// pg-boss 10 (the newest major that runs on Node 20): its cron schedules on PostgreSQL. In this
// version a schedule is bound to the queue of the same name, so N schedules are N queues, each
// with its worker (work()), and each queue is its own partition table.
import PgBoss from "pg-boss";
import { pgQuery, schemaBytes } from "../lib/child-pg.js";
import { dailyAtFarHour } from "../lib/schedules.js";
import { main, store, wallClockSlot } from "../lib/harness.js";

// For the workloads where latency matters (precision, several instances): each step of a cron
// run waits for one of these. The cron ones at their documented minimum (1 s); the workers'
// polling stays at its default 2 s, because its minimum (0.5 s) with one worker per queue means
// 2,000 fetch queries a second for 1,000 schedules, and that was slower here (see config).
const FAST = { cronMonitorIntervalSeconds: 1, cronWorkerIntervalSeconds: 1, pollingIntervalSeconds: Number(process.env.PGBOSS_POLL ?? 2) };
let errors = 0;

async function startBoss(options = {}) {
  const boss = new PgBoss({ connectionString: store.pgUrl, schema: store.pgSchema, ...options });
  boss.on("error", () => void errors++);
  await boss.start();
  return boss;
}

async function register(boss, n, cron, onRun, workOptions = {}) {
  // Queues and schedules first, then the workers: a worker polls from the moment it starts, and
  // a thousand of them polling slow down the registration of the rest.
  for (let i = 0; i < n; i++) {
    await boss.createQueue(`q${i}`);
    await boss.schedule(`q${i}`, cron);
  }
  for (let i = 0; i < n; i++) {
    // The queue's job is created a moment after its minute by the cron worker; its minute is the slot.
    await boss.work(`q${i}`, { ...workOptions, includeMetadata: true }, async (jobs) => {
      for (const job of jobs) onRun(i, wallClockSlot(new Date(job.createdOn).getTime(), 60_000));
    });
  }
}

const recorded = async () => {
  const [{ n }] = await pgQuery(`SELECT (SELECT count(*) FROM "${store.pgSchema}".job WHERE state = 'completed' AND name NOT LIKE '\\_\\_pgboss%')
    + (SELECT count(*) FROM "${store.pgSchema}".archive WHERE state = 'completed' AND name NOT LIKE '\\_\\_pgboss%') AS n`);
  return Number(n);
};
const stopper = (boss) => () => boss.stop({ graceful: false, wait: true, timeout: 5_000 });

await main({
  name: "pg-boss",
  label: "pg-boss",
  package: "pg-boss",
  kind: "persistent",
  periodMs: 60_000,
  config: {
    store: "PostgreSQL, a fresh schema per run (a fresh database per several-instance run)",
    schedules: "schedule(queue, '* * * * *') (every minute, its finest) for precision; a daily cron at an hour far from now for idle; one queue + one work() per schedule",
    idle: "library defaults: pollingIntervalSeconds 2, cronMonitorIntervalSeconds 30, cronWorkerIntervalSeconds 5",
    precisionAndMulti: "cronMonitorIntervalSeconds 1 and cronWorkerIntervalSeconds 1 (their documented minimums; defaults 30 s and 5 s: each is a step a cron run waits for), pollingIntervalSeconds 2 (the default). Its minimum, 0.5 s, was tried: with one worker per queue that is 2,000 fetch queries a second for 1,000 schedules, and in a trial run it was slower (lateness p50 / p99 16.6 s / 31.8 s against 12.8 s / 21.4 s at 2 s); PGBOSS_POLL=0.5 runs it",
    sendIt: "a cron run goes through pg-boss's internal send-it queue, whose worker takes 50 jobs per poll (cronWorkerIntervalSeconds): 1,000 schedules due at once take about 20 polls to be sent",
    slot: "the minute in which pg-boss created the job (job.createdOn, with includeMetadata)",
    records: "completed jobs stay in its job table (archived after 12 h by default)",
  },
  limits: {
    idleMaxN: 1_000,
    idleMaxNReason: "one queue per schedule, and createQueue makes a partition table with six indexes: about 20 ms each here, so 10,000 would spend over 3 minutes of the run's budget registering (PEERS_NO_CAPS=1 runs them)",
  },
  notSupported: {
    perSecond: "cron is checked once a minute per schedule (singletonSeconds: 60 on the cron send): the finest schedule is every minute",
  },

  async idle(n, onRun) {
    const boss = await startBoss();
    await register(boss, n, dailyAtFarHour({ seconds: false }), onRun);
    return { stop: stopper(boss), storeBytes: () => schemaBytes() };
  },

  async precision(jobs, onRun) {
    const boss = await startBoss(FAST);
    await register(boss, jobs, "* * * * *", onRun, { pollingIntervalSeconds: FAST.pollingIntervalSeconds });
    return { stop: stopper(boss), recorded, finish: async () => ({ errors }) };
  },

  async instance(onRun) {
    const boss = await startBoss(FAST);
    await register(boss, 1, "* * * * *", onRun, { pollingIntervalSeconds: FAST.pollingIntervalSeconds });
    return { stop: stopper(boss) };
  },
});
