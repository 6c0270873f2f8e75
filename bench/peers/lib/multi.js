// Workload 4: three processes of one system share its store (PostgreSQL or Redis) with one
// schedule; once as is, once with `kill -9` half-way of the one that ran the latest slot. Each peer process appends
// `schedule,slot,pid` to a shared file as a job body starts; jobclock's runs are read from its
// runs table instead. Then: slots run once, twice or more (doubled), or not at all (missed).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild } from "./child.js";
import { slotAccounting } from "./stats.js";
import postgres from "postgres";
import { createDatabase, deleteRedisPrefix, dropDatabase, freshNames } from "./stores.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const STARTED = new Set(["running", "succeeded", "failed", "timed_out", "cancelled", "abandoned"]);

export async function multiInstance({ system, file, env: systemEnv = {}, periodMs, durationMs, kill }) {
  const names = freshNames(`${system}_m${kill ? "k" : ""}`);
  const scratch = mkdtempSync(join(tmpdir(), "jobclock-peers-multi-"));
  const recordFile = join(scratch, "runs.csv");
  const failures = [];
  const instances = [];
  const database = names.PG_SCHEMA; // a fresh database per scenario (see createDatabase), same name
  let pgUrl = null;
  const launch = () => {
    const c = startChild(file, env, { timeoutMs: durationMs + 180_000 });
    const ready = new Promise((resolve) => {
      const t = setInterval(() => c.marks.ready && (clearInterval(t), resolve(true)), 50);
      c.done.then(() => (clearInterval(t), resolve(false)));
    });
    c.done.then((r) => r.error && failures.push(r.error));
    instances.push(c);
    return ready;
  };
  let env = null;
  try {
    pgUrl = await createDatabase(database);
    env = { ...systemEnv, ...names, PG_URL: pgUrl, SCRATCH: scratch, RECORD_FILE: recordFile, WORKLOAD: "instance" };
    // The first one creates the schema; the other two join it (as a rolling deploy would).
    if (!(await launch())) throw new Error(`first instance did not start: ${failures.join("; ")}`);
    const ok = await Promise.all([launch(), launch()]);
    if (!ok.every(Boolean)) throw new Error(`an instance did not start: ${failures.join("; ")}`);
    const readyAt = Date.now();
    let killed = null;
    if (kill) {
      await sleep(durationMs / 2);
      const latest = lastRunner(recordFile, instances);
      const victim = latest?.instance ?? instances[0];
      victim.child.kill("SIGKILL");
      const at = Date.now();
      killed = { pid: victim.child.pid, ranLatestSlot: Boolean(latest?.instance), at, msAfterLatestSlot: latest ? at - latest.slot : null };
      await sleep(durationMs / 2);
    } else {
      await sleep(durationMs);
    }
    const endAt = Date.now();
    for (const c of instances) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGTERM");
    await Promise.all(instances.map((c) => c.done));

    // Slots due in the first two seconds after all three are up, or too close to the end to
    // have started, are not counted.
    const from = readyAt + 2_000;
    const to = endAt - (periodMs >= 60_000 ? 10_000 : 2_000);
    const counted = system.startsWith("jobclock")
      ? await countJobclock(pgUrl, names.PG_SCHEMA, periodMs, from, to)
      : countFile(recordFile, periodMs, from, to);
    return {
      system, kill, instances: 3, periodMs, durationMs: endAt - readyAt, window: { from, to }, killed,
      ...counted,
      failures: failures.filter((f) => !(kill && /SIGKILL/.test(f))),
    };
  } catch (err) {
    for (const c of instances) c.child.kill("SIGKILL");
    return { system, kill, error: err.message, failures };
  } finally {
    if (pgUrl) await dropDatabase(database).catch(() => {});
    await deleteRedisPrefix(names.REDIS_PREFIX).catch(() => {});
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The process that started the latest run: killing it is what tests the hand-over. */
function lastRunner(path, instances) {
  let lines = [];
  try {
    lines = readFileSync(path, "utf8").trim().split("\n");
  } catch {}
  const [, slot, pid] = (lines.at(-1) ?? "").split(",").map(Number);
  return slot ? { slot, instance: instances.find((c) => c.child.pid === pid) } : null;
}

function countFile(path, periodMs, from, to) {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {}
  const runs = [];
  const byPid = {};
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [s, slot, pid] = line.split(",").map(Number);
    if (slot < from || slot >= to) continue;
    runs.push([s, slot]);
    byPid[pid] = (byPid[pid] ?? 0) + 1;
  }
  const a = slotAccounting({ schedules: 1, periodMs, from, to, runs });
  return { expected: a.expected, runs: runs.length, doubled: a.doubled, missed: a.missed, offGrid: a.offGrid, runsByProcess: byPid };
}

/** jobclock: from its runs table. Skipped and recorded-missed slots are reported apart. */
async function countJobclock(pgUrl, schema, periodMs, from, to) {
  const db = postgres(pgUrl, { onnotice: () => {}, max: 1 });
  const rows = await db.unsafe(`SELECT slot, status, instance_id, missed_count, missed_until FROM "${schema}".runs
    WHERE trigger IN ('schedule', 'catchup') ORDER BY slot`);
  await db.end();
  const runs = [];
  const statuses = {};
  const byInstance = {};
  let skipped = 0, recordedMissed = 0;
  for (const r of rows) {
    const slot = Number(r.slot);
    const until = r.missed_until === null ? slot : Number(r.missed_until);
    for (let s = slot; s <= until; s += periodMs) {
      if (s < from || s >= to) continue;
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (STARTED.has(r.status)) {
        runs.push([0, s]);
        byInstance[r.instance_id] = (byInstance[r.instance_id] ?? 0) + 1;
      } else if (r.status === "skipped") skipped++;
      else if (r.status === "missed") recordedMissed++;
    }
  }
  const a = slotAccounting({ schedules: 1, periodMs, from, to, runs });
  // slotAccounting counts skipped and recorded-missed slots as missed (nothing started); the rest
  // had no record at all.
  return {
    expected: a.expected, runs: runs.length, doubled: a.doubled, missed: a.missed - skipped - recordedMissed, offGrid: a.offGrid,
    skipped, recordedMissed, abandoned: statuses.abandoned ?? 0, statuses, runsByProcess: byInstance,
  };
}
