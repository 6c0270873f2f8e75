// npm run bench: runs each workload in its own process, writes bench/results/<name>-<date>.json
// and regenerates the results table in docs/benchmarks.md. `--quick` shortens every workload
// (for trying the script, not for publishing).
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const quick = process.argv.includes("--quick");
const env = quick ? { JOBS_IDLE: "10000", IDLE_MS: "3000", DURATION_MS: "5000" } : {};

function workload(file, extraEnv) {
  process.stderr.write(`bench: ${file} …\n`);
  const out = execFileSync(process.execPath, ["--expose-gc", `bench/workloads/${file}`], {
    env: { ...process.env, ...extraEnv }, encoding: "utf8", maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").at(-1));
}

const scratch = mkdtempSync(join(tmpdir(), "jobclock-bench-"));
const idleEnv = { JOBS: env.JOBS_IDLE ?? "100000", IDLE_MS: env.IDLE_MS ?? "30000", STORE_PATH: join(scratch, "idle.db") };
const cold = workload("idle.js", { ...idleEnv, PHASE: "cold" });
const warm = workload("idle.js", { ...idleEnv, PHASE: "warm" });
rmSync(scratch, { recursive: true, force: true });
const idle = { jobs: warm.jobs, idleMs: warm.idleMs, startupColdMs: cold.startupMs, startupWarmMs: warm.startupMs, rssColdMb: cold.rssMb, rssMb: warm.rssMb, rssIdleMb: warm.rssIdleMb, heapMb: warm.heapMb, idleCpuPercent: warm.idleCpuPercent };
const precision = workload("precision.js", { DURATION_MS: env.DURATION_MS ?? "60000" });

const date = new Date().toISOString().slice(0, 10);
const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30) };
const result = { date, quick, machine, idle, precision };
mkdirSync("bench/results", { recursive: true });
const file = `bench/results/foundation-${date}${quick ? "-quick" : ""}.json`;
writeFileSync(file, JSON.stringify(result, null, 2) + "\n");

const mark = (ok) => (ok ? "✅" : "❌");
const rows = [
  [`${idle.jobs.toLocaleString("en")} interval jobs registered (hourly)`, "start-up time, empty store", `${idle.startupColdMs} ms`, "under 5 s", mark(idle.startupColdMs < 5_000)],
  ["", "start-up time, restart (jobs already in the store)", `${idle.startupWarmMs} ms`, "under 5 s", mark(idle.startupWarmMs < 5_000)],
  ["", "resident memory: right after a restart / after the first start / after 30 s idle", `${idle.rssMb} / ${idle.rssColdMb} / ${idle.rssIdleMb} MB (live heap ${idle.heapMb} MB)`, "under 300 MB", mark(Math.max(idle.rssMb, idle.rssColdMb, idle.rssIdleMb) < 300)],
  ["", `idle CPU over ${idle.idleMs / 1000} s`, `${idle.idleCpuPercent} % of a core`, "under 2 %", mark(idle.idleCpuPercent < 2)],
  [`1,000 jobs every 1 s, in-process no-op, ${precision.durationMs / 1000} s`, "firing lateness p50 / p99 / max",
    `${precision.latenessMs.p50} / ${precision.latenessMs.p99} / ${precision.latenessMs.max} ms`, "p99 under 20 ms", mark(precision.latenessMs.p99 < 20)],
  ["", "slots lost / doubled", `${precision.lost} / ${precision.doubled}`, "zero", mark(precision.lost === 0 && precision.doubled === 0)],
  ["", "runs recorded per second", String(precision.runsRecordedPerSecond), "—", ""],
  ["every run recorded", "CPU per recorded run", `${precision.cpuPerRunMicros} µs`, "under 100 µs", mark(precision.cpuPerRunMicros < 100)],
];
const table = [
  `Measured ${date} on ${machine.cpus} × ${machine.cpuModel}, ${machine.memGb} GiB, Node ${machine.node}, SQLite store${quick ? " (QUICK run: shortened workloads, not for publishing)" : ""}. Raw numbers: \`${file}\`.`,
  "",
  "| workload | measure | result | target | |",
  "| --- | --- | --- | --- | --- |",
  ...rows.map((r) => `| ${r.join(" | ")} |`),
].join("\n");

const docPath = "docs/benchmarks.md";
const doc = readFileSync(docPath, "utf8");
const begin = "<!-- bench:foundation:begin -->";
const end = "<!-- bench:foundation:end -->";
const updated = doc.replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${table}\n${end}`);
writeFileSync(docPath, updated);
console.log(table);
