// npm run bench: runs each workload in its own process, writes bench/results/<name>-<date>.json
// and regenerates the results tables in docs/benchmarks.md.
//   --quick        shortens every workload (for trying the script, not for publishing)
//   --only=NAME    runs one group: foundation (SQLite) or multi-instance (PostgreSQL)
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const date = new Date().toISOString().slice(0, 10);
const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30) };
const machineLine = `${machine.cpus} × ${machine.cpuModel}, ${machine.memGb} GiB, Node ${machine.node}`;
const mark = (ok) => (ok ? "✅" : "❌");

function workload(file, extraEnv) {
  process.stderr.write(`bench: ${file} …\n`);
  const out = execFileSync(process.execPath, ["--expose-gc", `bench/workloads/${file}`], {
    env: { ...process.env, ...extraEnv }, encoding: "utf8", maxBuffer: 16 * 1024 * 1024, stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.trim().split("\n").at(-1));
}

function save(name, result) {
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/${name}-${date}${quick ? "-quick" : ""}.json`;
  writeFileSync(file, JSON.stringify({ date, quick, machine, ...result }, null, 2) + "\n");
  return file;
}

/** Replaces the table between `<!-- bench:NAME:begin -->` and its end marker in docs/benchmarks.md. */
function publish(name, intro, rows) {
  const table = [
    intro, "", "| workload | measure | result | target | |", "| --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  const docPath = "docs/benchmarks.md";
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  writeFileSync(docPath, readFileSync(docPath, "utf8").replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${table}\n${end}`));
  console.log(table);
}

function foundation() {
  const env = quick ? { JOBS_IDLE: "10000", IDLE_MS: "3000", DURATION_MS: "5000" } : {};
  const scratch = mkdtempSync(join(tmpdir(), "jobclock-bench-"));
  const idleEnv = { JOBS: env.JOBS_IDLE ?? "100000", IDLE_MS: env.IDLE_MS ?? "30000", STORE_PATH: join(scratch, "idle.db") };
  const cold = workload("idle.js", { ...idleEnv, PHASE: "cold" });
  const warm = workload("idle.js", { ...idleEnv, PHASE: "warm" });
  rmSync(scratch, { recursive: true, force: true });
  const idle = { jobs: warm.jobs, idleMs: warm.idleMs, startupColdMs: cold.startupMs, startupWarmMs: warm.startupMs, rssColdMb: cold.rssMb, rssMb: warm.rssMb, rssIdleMb: warm.rssIdleMb, heapMb: warm.heapMb, idleCpuPercent: warm.idleCpuPercent };
  const precision = workload("precision.js", { DURATION_MS: env.DURATION_MS ?? "60000" });
  const file = save("foundation", { idle, precision });
  publish("foundation", `Measured ${date} on ${machineLine}, SQLite store${quick ? " (QUICK run: shortened workloads, not for publishing)" : ""}. Raw numbers: \`${file}\`.`, [
    [`${idle.jobs.toLocaleString("en")} interval jobs registered (hourly)`, "start-up time, empty store", `${idle.startupColdMs} ms`, "under 5 s", mark(idle.startupColdMs < 5_000)],
    ["", "start-up time, restart (jobs already in the store)", `${idle.startupWarmMs} ms`, "under 5 s", mark(idle.startupWarmMs < 5_000)],
    ["", "resident memory: right after a restart / after the first start / after 30 s idle", `${idle.rssMb} / ${idle.rssColdMb} / ${idle.rssIdleMb} MB (live heap ${idle.heapMb} MB)`, "under 300 MB", mark(Math.max(idle.rssMb, idle.rssColdMb, idle.rssIdleMb) < 300)],
    ["", `idle CPU over ${idle.idleMs / 1000} s`, `${idle.idleCpuPercent} % of a core`, "under 2 %", mark(idle.idleCpuPercent < 2)],
    [`1,000 jobs every 1 s, in-process no-op, ${precision.durationMs / 1000} s`, "firing lateness p50 / p99 / max",
      `${precision.latenessMs.p50} / ${precision.latenessMs.p99} / ${precision.latenessMs.max} ms`, "p99 under 20 ms", mark(precision.latenessMs.p99 < 20)],
    ["", "slots lost / doubled", `${precision.lost} / ${precision.doubled}`, "zero", mark(precision.lost === 0 && precision.doubled === 0)],
    ["", "runs recorded per second", String(precision.runsRecordedPerSecond), "—", ""],
    ["every run recorded", "CPU per recorded run", `${precision.cpuPerRunMicros} µs`, "under 100 µs", mark(precision.cpuPerRunMicros < 100)],
  ]);
}

function multiInstance() {
  const env = quick ? { DURATION_MS: "10000", FAILOVER_MS: "8000" } : { DURATION_MS: "60000", FAILOVER_MS: "15000" };
  const m = workload("multi-instance.js", env);
  const file = save("multi-instance", { multiInstance: m });
  const f = m.failover;
  publish("multi-instance", `Measured ${date} on ${machineLine}, PostgreSQL 15 on the same machine${quick ? " (QUICK run: shortened workloads, not for publishing)" : ""}. Raw numbers: \`${file}\`.`, [
    [`3 instances, ${m.jobs.toLocaleString("en")} jobs every 1 s, in-process no-op, ${m.durationMs / 1000} s`, "firing lateness p50 / p99 / max",
      `${m.latenessMs.p50} / ${m.latenessMs.p99} / ${m.latenessMs.max} ms`, "p99 under 50 ms", mark(m.latenessMs.p99 < 50)],
    ["", "runs recorded per second (all instances)", String(m.runsRecordedPerSecond), "—", ""],
    ["", "slots lost / doubled (whole run, failover included)", `${m.lost} / ${m.doubled}`, "zero", mark(m.lost === 0 && m.doubled === 0)],
    ["", "CPU per run, in the instances (PostgreSQL's own not counted)", `${m.survivorsCpuPerRunMicros} µs`, "—", ""],
    [`kill -9 of one instance, 100 ms before a slot; heartbeat 1 s, abandon_after ${m.abandonAfter}`, "failover gap: longest wait past its due time of a slot the dead instance did not hold",
      `${f.gapMs} ms`, "under 1 s", mark(f.gapMs < 1_000)],
    ["", "slots the dead instance held (claimed ahead, never started): abandoned after", `${f.heldByDeadInstance} slots, ${f.abandonedAfterMs ?? "—"} ms`, "within the budget", mark(f.abandonedAfterMs === null || f.abandonedAfterMs <= 3_000 + 2_000)],
    ["", "slots skipped because those runs still counted as running", String(f.slotsSkippedForThem), "—", ""],
  ]);
}

if (!only || only === "foundation") foundation();
if (!only || only === "multi-instance") multiInstance();
