// The docs/benchmarks.md section (between <!-- bench:peers:begin --> and its end marker) from a
// results object: one table per workload, jobclock and each peer side by side, ratios against
// jobclock, then each peer's configuration and what it cannot express.

const int = (n) => (n === null || n === undefined ? "—" : Math.round(n).toLocaleString("en"));
const num = (n, d = 1) => (n === null || n === undefined ? "—" : Number(n).toFixed(d));
const ms = (v) => (v === null || v === undefined ? "—" : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v).toLocaleString("en")} ms`);
const dur = (v) => (v >= 60_000 ? `${num(v / 60_000, v % 60_000 ? 1 : 0)} min` : `${Math.round(v / 1000)} s`);
const period = (p) => (p >= 60_000 ? "every minute" : "every second");
const micros = (v) => (v === null || v === undefined ? "—" : v >= 10_000 ? `${num(v / 1000, 1)} ms` : `${num(v, 1)} µs`);

/** "×2.3" (this / base), or "—" when either is missing. */
function ratio(value, base) {
  if (value === null || value === undefined || !base) return "—";
  const r = value / base;
  return `×${r >= 100 ? Math.round(r).toLocaleString("en") : r >= 10 ? r.toFixed(0) : r.toFixed(r < 0.1 ? 3 : 2)}`;
}

const minuteSlots = (windowMs) => {
  const n = windowMs > 10_000 ? Math.floor((windowMs - 10_000) / 60_000) + 1 : 0;
  return `${n} slot${n === 1 ? "" : "s"}`;
};
const row = (cells) => `| ${cells.join(" | ")} |`;
const head = (cells) => [row(cells), row(cells.map(() => "---"))];

/** Settled memory per schedule: the process's growth, plus the store's if it lives in memory (Redis). */
function idleKbPerSchedule(r, systems) {
  const x = r.result;
  const process = x.rssIdleMb !== undefined && x.rssBeforeMb !== undefined ? ((x.rssIdleMb - x.rssBeforeMb) * 1024) / r.n : x.rssKbPerSchedule;
  const store = systems[r.system]?.storeInMemory && x.storeMb ? (x.storeMb * 1024) / r.n : 0;
  return { process, store, total: process + store };
}

const idleCpuTotal = (r) => r.result.idleCpuPercent + (r.serverCpuPercent ?? 0);

export function renderSection(res) {
  const { systems } = res;
  const label = (id) => systems[id]?.label ?? id;
  const out = [];
  out.push(`Measured ${res.date} on ${res.machine.line}${res.quick ? " — **QUICK run: shortened workloads and N capped at 10,000, not for publishing**" : ""}. Raw numbers: \`${res.file}\`. The whole run took ${dur(res.durationMs)}.`);
  out.push("");
  out.push(`The machine is shared: ${res.machine.note} Load average at the start / end: ${res.machine.loadStart} / ${res.machine.loadEnd}. Compare numbers from one run with each other, not across runs.`);
  out.push("");
  out.push(`Versions: ${Object.values(systems).filter((s, i, all) => all.findIndex((o) => o.package === s.package) === i).map((s) => `${s.package} ${s.version}`).join(", ")}. Each workload runs in its own Node process per system (\`bench/peers/systems/<name>.js\`); how each number is taken is in [\`bench/peers/README.md\`](../bench/peers/README.md).`);

  // 1. Idle
  if (res.idle?.length) {
    out.push("", "### 1. Idle cost: N schedules registered, nothing due", "");
    // A workload re-run alone (run.js --merge-idle) is dated apart: its load differed.
    if (res.idleRun) out.push(`This workload was run again on its own, ${res.idleRun.date} (load average at its start / end: ${res.idleRun.loadStart} / ${res.idleRun.loadEnd}): ${res.idleRun.why}`, "");
    out.push(`Schedules that do not fire during the window (hourly intervals, or a daily cron twelve hours away). Start-up: from the first registration to "all registered and started". Memory: resident set after a full GC, read a second later (V8 unmaps the pages it freed on a background thread just after), once just after start-up and once after the idle windows (the settled figure a long-running process keeps; V8 and the allocator hand start-up garbage back only after a while). KB per schedule: settled RSS growth over the process before registering, / N (at 1,000 schedules this growth is within the noise of start-up itself and can even read negative: no ratio is given then). CPU: \`process.cpuUsage()\` as a share of one core, over the first ${dur(res.settings.settleMs ?? 0)} after start-up (one-time work such as V8's memory reducer lands here) and then, settled, over the next ${dur(res.settings.idleMs)}; the store server's own CPU (PostgreSQL or Redis, whole server) over the settled window beside it. *Total* counts what the system needs besides its process: the store server's idle CPU, and for Redis (which holds the schedules in memory) its memory growth. Ratios: against jobclock (SQLite) at the same N, start-up / total memory per schedule / total settled idle CPU.`, "");
    out.push(...head(["system", "N", "start-up", "µs per schedule", "RSS after start-up → settled (live heap)", "KB per schedule (+ in-memory store = total)", "idle CPU: first → settled", "store server CPU", "store size", "vs jobclock"]));
    const base = (n) => res.idle.find((r) => r.system === "jobclock" && r.n === n && r.result);
    for (const r of res.idle) {
      const name = label(r.system);
      if (!r.result) {
        out.push(row([name, int(r.n), `**${r.skipped ? "not run" : "failed"}**: ${r.skipped ?? r.error}`, "", "", "", "", "", "", ""]));
        continue;
      }
      const x = r.result;
      const b = base(r.n);
      const kb = idleKbPerSchedule(r, systems);
      out.push(row([
        name, int(r.n), ms(x.startupMs), num(x.startupMicrosPerSchedule, x.startupMicrosPerSchedule >= 100 ? 0 : 1),
        `${num(x.rssMb, 0)} → ${num(x.rssIdleMb ?? x.rssMb, 0)} MB (${num(x.heapMb, 0)} MB)`,
        kb.store ? `${num(kb.process, 2)} + ${num(kb.store, 2)} = ${num(kb.total, 2)}` : num(kb.total, 2),
        x.settleCpuPercent === undefined ? `${num(x.idleCpuPercent, 2)} %` : `${num(x.settleCpuPercent, 2)} → ${num(x.idleCpuPercent, 2)} %`, r.serverCpuPercent === null ? "—" : `${num(r.serverCpuPercent, 2)} % (${r.server})`,
        x.storeMb === null ? "—" : `${num(x.storeMb, 1)} MB`,
        r.system === "jobclock" ? "—" : `${ratio(x.startupMs, b?.result.startupMs)} / ${kb.total > 0 && b && idleKbPerSchedule(b, systems).total > 0 ? ratio(kb.total, idleKbPerSchedule(b, systems).total) : "—"} / ${ratio(idleCpuTotal(r), b && idleCpuTotal(b))}`,
      ]));
    }
  }

  // 2. Precision
  if (res.precision?.length) {
    out.push("", "### 2. Firing precision: 1,000 schedules, no-op job", "");
    out.push(`Each system at its finest schedule. Lateness: job body start − the slot it was due at. A slot is *missed* when no run started for it by the end of the window (plus ${res.settings.drainNote}), *doubled* when it started more than once. Per-second systems are watched for ${dur(res.settings.precisionMs)}; minute systems for ${dur(res.settings.precisionMinuteMs)} (the window opens 10 s before a minute, so it holds ${minuteSlots(res.settings.precisionMinuteMs)} of each schedule). CPU per run: the process's CPU over the window / runs started in it. Ratio: p99 against jobclock (SQLite).`, "");
    out.push(...head(["system", "schedules", "lateness p50 / p99 / max", "p99 vs jobclock", "missed / doubled (of slots due)", "runs / s", "CPU per run (process)"]));
    const base = res.precision.find((r) => r.system === "jobclock")?.result;
    for (const r of res.precision) {
      const name = label(r.system);
      if (!r.result) {
        out.push(row([name, "", `**failed**: ${r.error}`, "", "", "", ""]));
        continue;
      }
      const x = r.result;
      out.push(row([
        name, `${int(x.jobs)} × ${period(x.periodMs)}${r.note ? ` (${r.note})` : ""}`,
        `${ms(x.lateness.p50)} / ${ms(x.lateness.p99)} / ${ms(x.lateness.p100)}`,
        r.system === "jobclock" ? "—" : ratio(x.lateness.p99, base?.lateness.p99),
        `${int(x.missed)} / ${int(x.doubled)} (of ${int(x.expected)})`, num(x.runsPerSecond, 0), micros(x.cpuPerRunMicros),
      ]));
    }
    out.push("", `![Lateness per system: whiskers p1–p99, box p25–p75, median, max](${res.svgLink})`);
  }

  // 3. Recorded throughput
  if (res.precision?.length) {
    out.push("", "### 3. Recorded throughput (persistent systems, under workload 2)", "");
    out.push("Runs written to the system's own store per second during the precision window, and the CPU each costs: in the scheduler's process, and in the store server (PostgreSQL or Redis, the whole server's CPU over the window / runs). Ratios: total CPU per run against jobclock (SQLite) / jobclock (PostgreSQL).", "");
    out.push(...head(["system", "store", "runs recorded / s", "process CPU per run", "store server CPU per run", "total CPU per run", "vs jobclock SQLite / PostgreSQL"]));
    const total = (id) => res.precision.find((r) => r.system === id)?.totalCpuPerRunMicros;
    for (const r of res.precision) {
      const sys = systems[r.system];
      if (sys?.kind !== "persistent") {
        out.push(row([label(r.system), "—", `not supported: ${sys?.notSupported?.recorded ?? "nothing recorded"}`, "", "", "", ""]));
        continue;
      }
      if (!r.result) {
        out.push(row([label(r.system), sys.store, `**failed**: ${r.error}`, "", "", "", ""]));
        continue;
      }
      const x = r.result;
      const recorded = x.recordedPerSecond === null ? `not supported: ${sys.notSupported?.recorded} (${num(x.runsPerSecond, 0)} runs/s executed)` : num(x.recordedPerSecond, 0);
      out.push(row([
        label(r.system), sys.store, recorded, micros(x.cpuPerRecordedRunMicros ?? x.cpuPerRunMicros), micros(r.serverCpuPerRunMicros), micros(r.totalCpuPerRunMicros),
        r.system.startsWith("jobclock") ? "—" : `${ratio(r.totalCpuPerRunMicros, total("jobclock"))} / ${ratio(r.totalCpuPerRunMicros, total("jobclock-pg"))}`,
      ]));
    }
  }

  // 4. Several instances
  if (res.multi?.length || res.multiNotSupported?.length) {
    out.push("", "### 4. Several instances: 3 processes sharing the store, one schedule", "");
    out.push(`Three processes of the same system, the second and third started once the first is up, one schedule at the system's finest period, for ${dur(res.settings.multiMs)} (per-second) or ${dur(res.settings.multiMinuteMs)} (minute systems); once as is, once with \`kill -9\` half-way of the process that started the latest run. Counted from what each process recorded as a job body started (jobclock: its \`runs\` table), over the slots due from 2 s after all three were up until 2 s (10 s for minute systems) before the end. *Missed*: no run and no record; jobclock records slots it did not run as \`skipped\` or \`missed\`, listed apart. The eight runs go at the same time (one schedule each: little load).`, "");
    out.push(...head(["system", "store", "schedule", "kill -9", "slots due", "ran once", "doubled", "missed (no record)", "skipped / missed (recorded)", "runs per process"]));
    for (const r of res.multi ?? []) {
      const sys = systems[r.system];
      if (r.error) {
        out.push(row([label(r.system), sys.store, "", r.kill ? "yes" : "no", `**failed**: ${r.error}`, "", "", "", "", ""]));
        continue;
      }
      const once = r.expected - r.missed - (r.skipped ?? 0) - (r.recordedMissed ?? 0);
      const killNote = r.kill && r.killed ? `yes${r.killed.msAfterLatestSlot === null ? "" : `, ${ms(r.killed.msAfterLatestSlot)} after the slot it ran`}` : r.kill ? "yes" : "no";
      out.push(row([
        label(r.system), sys.store, period(r.periodMs), killNote, int(r.expected), int(once), int(r.doubled), int(r.missed),
        r.skipped === undefined ? "—" : `${int(r.skipped)} / ${int(r.recordedMissed)}${r.abandoned ? ` (${r.abandoned} abandoned)` : ""}`,
        Object.values(r.runsByProcess ?? {}).join(" / ") || "—",
      ]));
      if (r.failures?.length) out.push(row(["", "", "", "", `errors: ${r.failures.join("; ").slice(0, 200)}`, "", "", "", "", ""]));
    }
    for (const id of res.multiNotSupported ?? []) out.push(row([label(id), "—", "—", "—", `not supported: ${systems[id].notSupported.multi}`, "", "", "", "", ""]));
  }

  // Configurations
  out.push("", "### Each system's configuration, and what it cannot express", "");
  for (const s of Object.values(systems)) {
    out.push(`- **${s.label}** (${s.package} ${s.version})`);
    for (const [k, v] of Object.entries(s.config)) out.push(`  - ${k}: ${v}`);
    for (const [k, v] of Object.entries(s.notSupported ?? {})) out.push(`  - not supported (${k}): ${v}`);
    for (const note of s.limitNotes ?? []) out.push(`  - not run: ${note}`);
  }
  return out.join("\n");
}
