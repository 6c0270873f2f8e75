// jobclock through its library (the build in dist/), in-process handlers. SQLite store (a temp
// file) by default; STORE=postgres for the "jobclock (PostgreSQL)" rows and the several-instance
// workload, on the fresh schema the parent names in PG_SCHEMA.
import Database from "better-sqlite3";
import { statSync } from "node:fs";
import { join } from "node:path";
import { createScheduler } from "../../../dist/index.js";
import { pgQuery, schemaBytes } from "../lib/child-pg.js";
import { main, store } from "../lib/harness.js";

const onPostgres = process.env.STORE === "postgres";
const storeUrl = onPostgres ? `${store.pgUrl}?schema=${store.pgSchema}` : `sqlite:${join(store.scratch ?? "/tmp", "jobclock.db")}`;

function open(options = {}) {
  return createScheduler({ store: storeUrl, ...options });
}

async function recordedRuns() {
  if (onPostgres) return (await pgQuery(`SELECT count(*)::int AS n FROM "${store.pgSchema}".runs`))[0].n;
  const db = new Database(storeUrl.slice("sqlite:".length), { readonly: true, fileMustExist: true });
  const n = db.prepare("SELECT count(*) FROM runs").pluck().get();
  db.close();
  return n;
}

async function storeBytes() {
  if (onPostgres) return schemaBytes();
  const path = storeUrl.slice("sqlite:".length);
  return ["", "-wal", "-shm"].reduce((sum, ext) => sum + (statSync(path + ext, { throwIfNoEntry: false })?.size ?? 0), 0);
}

await main({
  name: onPostgres ? "jobclock-pg" : "jobclock",
  label: onPostgres ? "jobclock (PostgreSQL)" : "jobclock (SQLite)",
  package: "jobclock",
  kind: "persistent",
  periodMs: 1_000,
  config: {
    build: "this repository's library build (dist/), in-process handlers",
    store: onPostgres ? "PostgreSQL, a fresh schema per run (a fresh database per several-instance run)" : "SQLite, a temp file per run",
    schedules: "every: 1s (precision), every: 1h (idle); in-process no-op handlers",
    options: "library defaults (overlap skip, catchup once, heartbeat 5s); several instances: heartbeat 1s, abandonAfter 3s",
    records: "every run is a row in runs (status, slot, start, end, instance)",
  },

  async idle(n, onRun) {
    const clock = open();
    for (let i = 0; i < n; i++) clock.job(`job-${i}`, { every: "1h" }, onRun);
    await clock.start();
    return { stop: () => clock.stop({ timeout: 0 }), storeBytes };
  },

  async precision(jobs, onRun) {
    const clock = open();
    for (let i = 0; i < jobs; i++) clock.job(`job-${i}`, { every: "1s" }, (ctx) => onRun(i, ctx.slot.getTime()));
    await clock.start();
    return { stop: () => clock.stop({ timeout: 0 }), recorded: recordedRuns };
  },

  async instance(onRun) {
    const clock = open({ heartbeat: "1s", abandonAfter: "3s" });
    clock.job("job-0", { every: "1s" }, (ctx) => onRun(0, ctx.slot.getTime()));
    await clock.start();
    return { stop: () => clock.stop({ timeout: 0 }) };
  },
});
