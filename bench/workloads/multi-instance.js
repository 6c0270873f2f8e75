// Workload: 3 instances on one PostgreSQL schema, 1,000 in-process no-op jobs every second.
// Steady phase (DURATION_MS): firing lateness, runs recorded per second, slots lost or doubled.
// Then kill -9 of one instance and FAILOVER_MS more: the failover gap, i.e. the longest time a
// slot due after the kill waited beyond its due time, over the slots the dead instance did not
// hold; the slots it did hold (claimed ahead, never started: it is killed 100 ms before a
// slot, the worst moment) are counted on their own, with the slots skipped because of them.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import postgres from "postgres";

const base = process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const jobs = Number(process.env.JOBS ?? 1_000);
const durationMs = Number(process.env.DURATION_MS ?? 60_000);
const failoverMs = Number(process.env.FAILOVER_MS ?? 20_000);
const abandonAfter = process.env.ABANDON_AFTER ?? "3s";
const schema = `jc_bench_${randomBytes(4).toString("hex")}`;
const url = `${base}?schema=${schema}`;
const sql = postgres(base, { onnotice: () => {}, connection: { search_path: schema } });

const scratch = mkdtempSync(join(tmpdir(), "jobclock-bench-multi-"));
let started = 0;

function startInstance() {
  const samplesFile = join(scratch, `samples-${started++}.json`);
  const child = spawn(process.execPath, ["bench/workloads/multi-instance-worker.js"], {
    env: { ...process.env, STORE_URL: url, JOBS: String(jobs), ABANDON_AFTER: abandonAfter, SAMPLES_FILE: samplesFile },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(JSON.parse(line));
    waiters.splice(0).forEach((w) => w());
  });
  const nth = (n) => new Promise((resolve) => {
    const check = () => (lines.length > n ? resolve(lines[n]) : waiters.push(check));
    check();
  });
  return { child, ready: nth(0), result: nth(1).then(() => JSON.parse(readFileSync(samplesFile, "utf8"))) };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The first instance creates the schema and applies the jobs; the others join it.
const first = startInstance();
await first.ready;
const rest = [startInstance(), startInstance()];
await Promise.all(rest.map((i) => i.ready));
const instances = [first, ...rest];
await sleep(5_000); // all three see each other (heartbeats) and share the jobs
const steadyFrom = Date.now();
const [{ n: runs0 }] = await sql`SELECT count(*)::int AS n FROM runs`;
await sleep(durationMs);
const steadyTo = Date.now();
const [{ n: runs1 }] = await sql`SELECT count(*)::int AS n FROM runs`;

const victim = instances[2];
const victimId = (await victim.ready).instanceId;
// The worst moment: 100 ms before a slot, when the victim has claimed its share of it ahead
// and not started it yet. Those runs are its "running runs": abandoned after the budget.
const [{ anchor }] = await sql`SELECT min(anchor) AS anchor FROM jobs`;
await sleep(1_000 - ((Date.now() - Number(anchor)) % 1_000) + 900);
const killedAt = Date.now();
victim.child.kill("SIGKILL");
await sleep(failoverMs);
for (const i of instances.slice(0, 2)) i.child.kill("SIGTERM");
const results = await Promise.all(instances.slice(0, 2).map((i) => i.result));

// Lateness: the survivors' samples, split into the steady phase and the failover phase.
const steady = [];
const failoverLate = [];
for (const r of results) {
  for (let k = 0; k < r.samples.length; k += 2) {
    const slot = r.samples[k];
    const late = r.samples[k + 1];
    if (slot >= steadyFrom && slot < steadyTo) steady.push(late);
    else if (slot >= killedAt && slot < killedAt + failoverMs - 2_000) failoverLate.push(late);
  }
}
steady.sort((a, b) => a - b);

const [{ n: doubled }] = await sql`SELECT count(*)::int AS n FROM (SELECT job, slot FROM runs WHERE trigger IN ('schedule', 'catchup') GROUP BY job, slot HAVING count(*) > 1) d`;
const perJob = await sql`SELECT job, min(slot) AS first, max(coalesce(missed_until, slot)) AS last, sum(coalesce(missed_count, 1))::int AS covered
  FROM runs WHERE trigger IN ('schedule', 'catchup') GROUP BY job`;
const lost = perJob.reduce((sum, j) => sum + ((Number(j.last) - Number(j.first)) / 1_000 + 1 - j.covered), 0);
const statuses = Object.fromEntries((await sql`SELECT status, count(*)::int AS n FROM runs GROUP BY status`).map((r) => [r.status, r.n]));
// The dead instance's claims that never ran, and the slots skipped because of them.
const [{ n: heldByDead }] = await sql`SELECT count(*)::int AS n FROM runs WHERE instance_id = ${victimId} AND status = 'abandoned'`;
const [{ n: skippedForDead }] = await sql`SELECT count(*)::int AS n FROM runs s JOIN runs r ON r.id = s.blocked_by
  WHERE s.status = 'skipped' AND r.instance_id = ${victimId} AND r.status = 'abandoned'`;
const [{ at: abandonedAt }] = await sql`SELECT max(finished_at) AS at FROM runs WHERE instance_id = ${victimId} AND status = 'abandoned'`;
// Failover gap from the store: slots due after the kill, run by survivors, start − slot.
const [{ gap }] = await sql`SELECT coalesce(max(started_at - slot), 0)::int AS gap FROM runs
  WHERE slot >= ${killedAt} AND status IN ('succeeded', 'running') AND instance_id <> ${victimId}`;
const cpuMicros = results.reduce((s, r) => s + r.cpuMicros, 0);
const survivorRuns = results.reduce((s, r) => s + r.samples.length / 2, 0);
await sql.unsafe(`DROP SCHEMA "${schema}" CASCADE`);
if (!process.env.KEEP) rmSync(scratch, { recursive: true, force: true }); else console.error(scratch);
await sql.end();

failoverLate.sort((a, b) => a - b);
console.log(JSON.stringify({
  workload: "multi-instance", instances: 3, jobs, durationMs, failoverMs, abandonAfter,
  latenessMs: { p50: pct(steady, 50), p99: pct(steady, 99), max: steady.at(-1), samples: steady.length },
  runsRecordedPerSecond: Math.round((runs1 - runs0) / ((steadyTo - steadyFrom) / 1_000)),
  lost, doubled, statuses,
  failover: {
    gapMs: Math.max(gap, failoverLate.at(-1) ?? 0), latenessP99Ms: pct(failoverLate, 99),
    heldByDeadInstance: heldByDead, slotsSkippedForThem: skippedForDead,
    abandonedAfterMs: abandonedAt ? Number(abandonedAt) - killedAt : null,
  },
  survivorsCpuPerRunMicros: Number((cpuMicros / survivorRuns).toFixed(1)),
}));
