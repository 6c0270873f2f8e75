// Workload: 1,000 jobs every second with an in-process no-op handler, every run recorded in
// SQLite. Firing lateness (handler start − slot), slots lost or doubled (from the runs table),
// runs recorded per second and CPU per recorded run.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScheduler } from "../../dist/index.js";

const jobs = Number(process.env.JOBS ?? 1_000);
const durationMs = Number(process.env.DURATION_MS ?? 60_000);
const dir = mkdtempSync(join(tmpdir(), "jobclock-bench-precision-"));
const path = join(dir, "bench.db");

const lateness = [];
const clock = createScheduler({ store: `sqlite:${path}` });
for (let i = 0; i < jobs; i++) clock.job(`job-${i}`, { every: "1s" }, (ctx) => void lateness.push(Date.now() - ctx.slot.getTime()));
await clock.start();
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
await new Promise((r) => setTimeout(r, durationMs));
const cpu = process.cpuUsage(cpu0);
const wallMs = performance.now() - wall0;
await clock.stop();

const db = new Database(path, { readonly: true });
const recorded = db.prepare("SELECT count(*) FROM runs").pluck().get();
const doubled = db.prepare(
  "SELECT count(*) FROM (SELECT job, slot FROM runs GROUP BY job, slot HAVING count(*) > 1)",
).pluck().get();
// Every slot between a job's first and last recorded slot must have exactly one record.
const perJob = db.prepare(
  "SELECT job, min(slot) AS first, max(slot) AS last, count(DISTINCT slot) AS n FROM runs GROUP BY job",
).all();
const lost = perJob.reduce((sum, j) => sum + ((j.last - j.first) / 1_000 + 1 - j.n), 0);
const statuses = Object.fromEntries(db.prepare("SELECT status, count(*) AS n FROM runs GROUP BY status").all().map((r) => [r.status, r.n]));
db.close();
rmSync(dir, { recursive: true, force: true });

lateness.sort((a, b) => a - b);
const pct = (p) => lateness[Math.min(lateness.length - 1, Math.floor((p / 100) * lateness.length))];
console.log(JSON.stringify({
  workload: "precision", jobs, durationMs,
  latenessMs: { p50: pct(50), p99: pct(99), max: lateness.at(-1) },
  runs: lateness.length, recorded, statuses, lost, doubled, jobsWithRuns: perJob.length,
  runsRecordedPerSecond: Math.round(recorded / (wallMs / 1_000)),
  cpuPerRunMicros: Number((((cpu.user + cpu.system) / recorded)).toFixed(1)),
}));
