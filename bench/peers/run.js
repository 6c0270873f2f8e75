// npm run bench:peers: jobclock side by side with the schedulers users would pick instead.
// Runs every workload of every system, each in its own Node process, then writes
// bench/results/peers-<date>.json, the section of docs/benchmarks.md between the
// bench:peers markers, and docs/peers-lateness.svg. See bench/peers/README.md.
//   --quick            shortened durations, N capped at 10,000 (results file gets -quick)
//   --only=a,b         only these systems (jobclock, jobclock-pg, croner, node-cron,
//                      toad-scheduler, bree, pg-boss, graphile-worker, bullmq)
//   --workload=1,2,4   only these workloads (3 is read from 2's runs)
//   --render=FILE      only rewrite the docs section and the chart from a results file
//   --merge-idle=PARTIAL --into=FILE --why=TEXT
//                      put the idle workload of a partial run (--workload=1) into results FILE,
//                      dated apart with the reason, then rewrite the docs from FILE
// A partial run (--only or --workload) writes its JSON to the temp folder and leaves the docs alone.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes("--quick");
const only = arg("only")?.split(",");
const workloads = new Set((arg("workload") ?? "1,2,3,4").split(",").map(Number));
const partial = Boolean(only || arg("workload"));
const envNum = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const log = (msg) => process.stderr.write(`bench:peers: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (arg("render")) {
  const { renderSection } = await import("./lib/report.js");
  const { latenessSvg } = await import("./lib/svg.js");
  const res = JSON.parse(readFileSync(resolve(arg("render")), "utf8"));
  res.svgLink = "peers-lateness.svg";
  writeFileSync(join(root, "docs/peers-lateness.svg"), chart(res, latenessSvg));
  publish(renderSection(res));
  process.exit(0);
}

if (arg("merge-idle")) {
  const part = JSON.parse(readFileSync(resolve(arg("merge-idle")), "utf8"));
  const into = resolve(arg("into") ?? "");
  if (!part.idle?.length || !arg("into") || !arg("why")) throw new Error("--merge-idle=PARTIAL needs a run with workload 1, --into=RESULTS and --why=TEXT");
  const res = JSON.parse(readFileSync(into, "utf8"));
  const ids = (r) => Object.entries(r.systems).map(([id, s]) => `${id} ${s.version}`).sort().join(", ");
  const differs = [
    part.quick !== res.quick && "--quick",
    ids(part) !== ids(res) && `systems or versions (${ids(part)} vs ${ids(res)})`,
    String(part.settings.idleNs) !== String(res.settings.idleNs) && "N (PEERS_MAX_N)",
    part.settings.noCaps !== res.settings.noCaps && "PEERS_NO_CAPS",
  ].filter(Boolean);
  if (differs.length) throw new Error(`--merge-idle: the two runs differ in ${differs.join(", ")}; run workload 1 for every system with the same settings`);
  res.idle = part.idle;
  res.settings.settleMs = part.settings.settleMs; // only the idle workload has a settle window
  res.settings.idleMs = part.settings.idleMs;
  // Limit notes come from the idle workload ("N schedules idle: why not run"): take the new run's.
  for (const [id, s] of Object.entries(part.systems)) res.systems[id].limitNotes = s.limitNotes;
  res.idleRun = { date: part.date, loadStart: part.machine.loadStart, loadEnd: part.machine.loadEnd, why: arg("why") };
  writeFileSync(into, JSON.stringify(res, null, 2) + "\n");
  log(`idle workload of ${arg("merge-idle")} merged into ${into}; rendering`);
  execFileSync(process.execPath, [fileURLToPath(import.meta.url), `--render=${into}`], { stdio: "inherit" });
  process.exit(0);
}

// The peers are the benchmark's own dependencies (bench/peers/package.json), pinned.
if (!existsSync(join(here, "node_modules"))) {
  log("installing the peers (npm ci --prefix bench/peers) …");
  execFileSync("npm", ["ci", "--prefix", here, "--no-audit", "--no-fund"], { stdio: ["ignore", "inherit", "inherit"] });
}
const { runChild, startChild } = await import("./lib/child.js");
const { multiInstance } = await import("./lib/multi.js");
const { renderSection } = await import("./lib/report.js");
const { latenessSvg } = await import("./lib/svg.js");
const { diffCpu, serverCpuMs } = await import("./lib/server-cpu.js");
const { PG_URL, REDIS_URL, deleteRedisPrefix, dropSchema, freshNames, sql } = await import("./lib/stores.js");

const SETTINGS = quick
  ? { maxN: 10_000, idleMs: 5_000, settleMs: 2_000, precisionMs: 10_000, precisionMinuteMs: 20_000, multiMs: 20_000, multiMinuteMs: 70_000 }
  : { maxN: 100_000, idleMs: 30_000, settleMs: 60_000, precisionMs: 60_000, precisionMinuteMs: 120_000, multiMs: 60_000, multiMinuteMs: 180_000 };
SETTINGS.maxN = envNum("PEERS_MAX_N", SETTINGS.maxN);
SETTINGS.idleMs = envNum("PEERS_IDLE_MS", SETTINGS.idleMs);
SETTINGS.settleMs = envNum("PEERS_SETTLE_MS", SETTINGS.settleMs);
SETTINGS.precisionMs = envNum("PEERS_PRECISION_MS", SETTINGS.precisionMs);
SETTINGS.precisionMinuteMs = envNum("PEERS_PRECISION_MINUTE_MS", SETTINGS.precisionMinuteMs);
SETTINGS.multiMs = envNum("PEERS_MULTI_MS", SETTINGS.multiMs);
SETTINGS.multiMinuteMs = envNum("PEERS_MULTI_MINUTE_MS", SETTINGS.multiMinuteMs);
SETTINGS.idleNs = [1_000, 10_000, 100_000].filter((n) => n <= SETTINGS.maxN);
SETTINGS.noCaps = process.env.PEERS_NO_CAPS === "1";
SETTINGS.drainNote = "up to 3 s after it for slots due at its very end";

// lane: children on the same store server never overlap (its CPU is read for them); store: shown in tables.
const SYSTEMS = [
  { id: "jobclock", file: "jobclock.js", store: "SQLite", workloads: [1, 2, 3] },
  { id: "jobclock-pg", file: "jobclock.js", env: { STORE: "postgres" }, store: "PostgreSQL", lane: "postgres", workloads: [2, 3, 4] },
  { id: "croner", file: "croner.js", store: "memory", workloads: [1, 2] },
  { id: "node-cron", file: "node-cron.js", store: "memory", workloads: [1, 2] },
  { id: "toad-scheduler", file: "toad-scheduler.js", store: "memory", workloads: [1, 2] },
  { id: "bree", file: "bree.js", store: "memory", workloads: [1, 2] },
  { id: "bullmq", file: "bullmq.js", store: "Redis", lane: "redis", workloads: [1, 2, 3, 4] },
  { id: "pg-boss", file: "pg-boss.js", store: "PostgreSQL", lane: "postgres", workloads: [1, 2, 3, 4] },
  { id: "graphile-worker", file: "graphile-worker.js", store: "PostgreSQL", lane: "postgres", workloads: [1, 2, 3, 4] },
].filter((s) => !only || only.includes(s.id));
if (SYSTEMS.length === 0) throw new Error(`--only=${only} names no system`);

serverCpuMs(); // starts the store servers' CPU counter
const started = Date.now();
const date = new Date().toISOString().slice(0, 10);
const machine = await describeMachine();

// What each system says about itself (label, configuration, what it cannot express, limits).
const systems = {};
for (const s of SYSTEMS) {
  const r = await runChild(systemFile(s), { ...s.env, WORKLOAD: "describe" }, { timeoutMs: 60_000 });
  if (r.error) throw new Error(`${s.id}: cannot describe itself: ${r.error}\n${r.stderr}`);
  const meta = r.result;
  systems[s.id] = { ...meta, store: s.store, version: versionOf(meta.package), limitNotes: [] };
}

const results = { date, quick, partial, machine, settings: SETTINGS, systems };

if (workloads.has(1)) results.idle = await idleWorkload();
if (workloads.has(2) || workloads.has(3)) results.precision = await precisionWorkload();
if (workloads.has(4)) ({ multi: results.multi, multiNotSupported: results.multiNotSupported } = await multiWorkload());

results.durationMs = Date.now() - started;
machine.loadEnd = loadavg().map((l) => l.toFixed(2)).join(", ");
const file = partial
  ? join(tmpdir(), `jobclock-peers-partial-${date}${quick ? "-quick" : ""}.json`)
  : join(root, "bench/results", `peers-${date}${quick ? "-quick" : ""}.json`);
results.file = partial ? file : `bench/results/peers-${date}${quick ? "-quick" : ""}.json`;
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
log(`results: ${file}`);
if (partial) {
  log("partial run (--only/--workload): docs/benchmarks.md and the chart are left as they were");
} else {
  results.svgLink = "peers-lateness.svg";
  writeFileSync(join(root, "docs/peers-lateness.svg"), chart(results, latenessSvg));
  publish(renderSection(results));
}
log(`done in ${Math.round(results.durationMs / 1000)} s`);

// ---------------------------------------------------------------------------------------------

function systemFile(s) {
  return join(here, "systems", s.file);
}

function versionOf(pkg) {
  if (pkg.startsWith("jobclock")) return JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  return JSON.parse(readFileSync(join(here, "node_modules", pkg, "package.json"), "utf8")).version;
}

/** A child with a fresh schema, key prefix and temp folder, all removed afterwards. */
function startRun(s, env, options) {
  const names = freshNames(s.id);
  const scratch = mkdtempSync(join(tmpdir(), "jobclock-peers-"));
  const handle = startChild(systemFile(s), { ...s.env, ...env, ...names, SCRATCH: scratch, PG_URL, REDIS_URL }, options);
  handle.done = handle.done.then(async (r) => {
    if (s.lane === "postgres") await dropSchema(names.PG_SCHEMA).catch((e) => log(`could not drop ${names.PG_SCHEMA}: ${e.message}`));
    if (s.lane === "redis") await deleteRedisPrefix(names.REDIS_PREFIX).catch((e) => log(`could not clean ${names.REDIS_PREFIX}: ${e.message}`));
    rmSync(scratch, { recursive: true, force: true });
    return r;
  });
  return handle;
}

/** The store server's CPU between two marks, as a share of one core (null for in-process stores). */
function serverShare(s, marks, from, to) {
  const d = diffCpu(marks[from]?.serverCpuMs, marks[to]?.serverCpuMs);
  if (!d || !s.lane || !marks[from] || !marks[to]) return null;
  return { ms: d[s.lane], windowMs: marks[to].at - marks[from].at };
}

/**
 * Workload 1. One child per system and N. Start-ups never overlap (each is timed on a quiet
 * machine); a child's 30 s idle window may overlap other children's, which use almost no CPU,
 * except that children on the same store server never overlap (its CPU is read for them).
 */
async function idleWorkload() {
  const queue = [];
  for (const s of SYSTEMS.filter((s) => s.workloads.includes(1))) {
    const limits = systems[s.id].limits ?? {};
    for (const n of SETTINGS.idleNs) {
      if (limits.idleMaxN && n > limits.idleMaxN && !SETTINGS.noCaps) {
        queue.push({ s, n, skipped: limits.idleMaxNReason });
        if (!systems[s.id].limitNotes.includes(`${int(n)} schedules idle: ${limits.idleMaxNReason}`)) systems[s.id].limitNotes.push(`${int(n)} schedules idle: ${limits.idleMaxNReason}`);
      } else queue.push({ s, n });
    }
  }
  const out = queue.map(({ s, n, skipped }) => ({ system: s.id, n, skipped, result: null }));
  const pending = queue.map((q, i) => ({ ...q, i })).filter((q) => !q.skipped);
  const laneBusy = new Map();
  const inFlight = [];
  while (pending.length) {
    const k = pending.findIndex((q) => !q.s.lane || !laneBusy.has(q.s.lane));
    if (k < 0) {
      await Promise.race(laneBusy.values());
      continue;
    }
    const { s, n, i } = pending.splice(k, 1)[0];
    log(`1 idle: ${s.id}, ${int(n)} schedules …`);
    const handle = startRun(s, { WORKLOAD: "idle", N: String(n), IDLE_MS: String(SETTINGS.idleMs), SETTLE_MS: String(SETTINGS.settleMs) }, { timeoutMs: 300_000 + SETTINGS.settleMs + SETTINGS.idleMs + 60_000 });
    const done = handle.done.then((r) => {
      laneBusy.delete(s.lane);
      const row = out[i];
      if (r.error) {
        row.error = r.error;
        log(`1 idle: ${s.id} ${int(n)} failed: ${r.error}`);
        return;
      }
      row.result = r.result;
      const share = serverShare(s, r.marks, "idle-start", "idle-end");
      row.server = s.lane ?? null;
      row.serverCpuPercent = share ? Number(((share.ms / share.windowMs) * 100).toFixed(3)) : null;
      log(`1 idle: ${s.id} ${int(n)}: start-up ${r.result.startupMs} ms, RSS ${r.result.rssMb} MB, idle CPU ${r.result.idleCpuPercent} %`);
    });
    if (s.lane) laneBusy.set(s.lane, done);
    inFlight.push(done);
    // The next start-up waits until this one is registered and idling (or has ended).
    while (!handle.marks["idle-start"] && handle.child.exitCode === null && handle.child.signalCode === null) await sleep(50);
  }
  await Promise.all(inFlight);
  return out;
}

/** Workloads 2 and 3: one system at a time, nothing else running. */
async function precisionWorkload() {
  const out = [];
  for (const s of SYSTEMS.filter((s) => s.workloads.includes(2))) {
    if (!workloads.has(2) && systems[s.id].kind !== "persistent") continue; // --workload=3 alone
    const meta = systems[s.id];
    const minute = meta.periodMs >= 60_000;
    const durationMs = minute ? SETTINGS.precisionMinuteMs : SETTINGS.precisionMs;
    const jobs = meta.limits?.precisionJobs ?? 1_000;
    log(`2 precision: ${s.id}, ${int(jobs)} schedules ${minute ? "every minute" : "every second"}, ${durationMs / 1000} s …`);
    const r = await startRun(s, { WORKLOAD: "precision", JOBS: String(jobs), DURATION_MS: String(durationMs) }, { timeoutMs: durationMs + 420_000 }).done;
    const row = { system: s.id, note: jobs !== 1_000 ? "1,000 not supported: see below" : undefined };
    if (r.error) {
      row.error = r.error;
      log(`2 precision: ${s.id} failed: ${r.error}`);
    } else {
      row.result = r.result;
      const x = r.result;
      const share = serverShare(s, r.marks, "window-start", "window-end");
      const perRun = x.cpuPerRecordedRunMicros ?? x.cpuPerRunMicros;
      const runs = x.recorded ?? x.runs;
      row.serverCpuMs = share?.ms ?? null;
      row.serverCpuPerRunMicros = share && runs ? Number(((share.ms * 1000) / runs).toFixed(1)) : null;
      row.totalCpuPerRunMicros = perRun === null ? null : Number((perRun + (row.serverCpuPerRunMicros ?? 0)).toFixed(1));
      log(`2 precision: ${s.id}: lateness p50/p99/max ${x.lateness.p50}/${x.lateness.p99}/${x.lateness.p100} ms, missed ${x.missed}, doubled ${x.doubled}, ${x.runsPerSecond} runs/s`);
    }
    out.push(row);
  }
  return out;
}

/** Workload 4: every scenario at once (one schedule each: they barely load the machine). */
async function multiWorkload() {
  const multiNotSupported = SYSTEMS.filter((s) => !s.workloads.includes(4)).map((s) => s.id).filter((id) => id !== "jobclock");
  const scenarios = [];
  for (const s of SYSTEMS.filter((s) => s.workloads.includes(4))) {
    const periodMs = systems[s.id].periodMs;
    const durationMs = periodMs >= 60_000 ? SETTINGS.multiMinuteMs : SETTINGS.multiMs;
    for (const kill of [false, true]) scenarios.push({ system: s.id, file: systemFile(s), env: s.env, periodMs, durationMs, kill });
  }
  log(`4 several instances: ${scenarios.length} scenarios at once, ${SETTINGS.multiMs / 1000} s (per-second) / ${SETTINGS.multiMinuteMs / 1000} s (minute) …`);
  const multi = await Promise.all(scenarios.map(async (sc) => {
    const r = await multiInstance(sc);
    log(`4 several instances: ${sc.system}${sc.kill ? " with kill -9" : ""}: ${r.error ? `failed: ${r.error}` : `${r.expected} slots, ${r.doubled} doubled, ${r.missed} missed`}`);
    return r;
  }));
  return { multi, multiNotSupported };
}

function chart(res, latenessSvg) {
  const rows = (res.precision ?? []).map((r) => {
    const meta = res.systems[r.system];
    const x = r.result;
    return {
      id: r.system, kind: meta.kind, label: meta.label,
      note: x ? `${int(x.jobs)} × ${x.periodMs >= 60_000 ? "every minute" : "every second"}, ${int(x.lateness.samples)} runs` : "failed",
      dist: x?.lateness ?? null, missing: r.error,
    };
  });
  return latenessSvg(rows, {
    title: "Firing lateness: jobclock and the schedulers users would pick instead",
    subtitle: `${res.date}, ${res.machine.line}${res.quick ? " (QUICK run)" : ""}`,
  });
}

function publish(section) {
  const path = join(root, "docs/benchmarks.md");
  const begin = "<!-- bench:peers:begin -->";
  const end = "<!-- bench:peers:end -->";
  let doc = readFileSync(path, "utf8");
  if (!doc.includes(begin) || !doc.includes(end)) doc = `${doc.trimEnd()}\n\n## Against other schedulers\n\n${begin}\n${end}\n`;
  const from = doc.indexOf(begin) + begin.length;
  writeFileSync(path, `${doc.slice(0, from)}\n${section}\n${doc.slice(doc.indexOf(end, from))}`);
  log("docs/benchmarks.md and docs/peers-lateness.svg updated");
}

async function describeMachine() {
  const db = sql();
  const [{ version }] = await db`SELECT version()`;
  await db.end();
  const { Redis } = await import("ioredis");
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info("server"))?.[1];
  redis.disconnect();
  const cpu = cpus();
  const pg = /PostgreSQL [\d.]+/.exec(version)?.[0] ?? version;
  return {
    node: process.version, cpus: cpu.length, cpuModel: cpu[0]?.model, memGb: Math.round(totalmem() / 2 ** 30),
    postgres: pg, redis: `Redis ${redisVersion}`,
    line: `${cpu.length} × ${cpu[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${pg} and Redis ${redisVersion} on the same machine`,
    note: "other work (another engineer's tests and builds) may have run on it at the same time, so the numbers can be noisy.",
    loadStart: loadavg().map((l) => l.toFixed(2)).join(", "),
  };
}

function int(n) {
  return Math.round(n).toLocaleString("en");
}
