import { hostname } from "node:os";
import type { Command } from "commander";
import { findConfigPath, loadConfig } from "../../config/load.js";
import { redactStoreUrl } from "../../config/store-url.js";
import { readPidfile, untrustedMessage } from "../../daemon/pidfile.js";
import { describeSupervisor } from "../../daemon/supervisor.js";
import { runDaemon } from "../../daemon/run-daemon.js";
import { startDaemon } from "../../daemon/start.js";
import { stopDaemon } from "../../daemon/stop.js";
import type { HttpConfig } from "../../config/http.js";
import { ConfigError } from "../../errors.js";
import { ApplyRefusedError } from "../../store/apply-guard.js";
import { cliSource } from "../source.js";
import { notifiersFrom } from "../../notify/notifiers.js";
import { formatDuration } from "../../schedule/duration.js";
import { configFrom, operationalConfig, stdio, storeFrom, withStore, type GlobalOptions } from "../context.js";
import { jobHealth } from "../../health/job-health.js";
import { isLive, type InstanceRecord } from "../../store/types.js";
import { ago, table } from "../format.js";
import { instanceView } from "../../views.js";

type Exit = (code: number) => void;

export function registerLifecycle(program: Command, cliPath: string, exit: Exit): void {
  const globals = () => program.opts<GlobalOptions>();

  program.command("run").description("run in the foreground (for supervisord, systemd, containers)")
    .action(async () => exit(await runDaemon(findConfigPath(globals().config))));

  program.command("start").description("start as a background daemon; returns once it is up")
    .option("--force", "start by hand even though supervisord or systemd ran it last")
    .action(async (o: { force?: boolean }) => {
      const path = findConfigPath(globals().config);
      exit(await startDaemon(path, cliPath, stdio.out, stdio.err, { force: o.force, openStore: () => storeFrom(loadConfig(path), false) }));
    });

  program.command("stop").description("stop the daemon, waiting for running jobs to drain")
    .option("--force", "stop it even though supervisord or systemd runs it")
    .action(async (o: { force?: boolean }) => {
      const config = operationalConfig(globals());
      exit(await stopDaemon(config, () => storeFrom(config, false), stdio.out, { force: o.force }, stdio.err));
    });

  program.command("restart").description("stop, then start")
    .option("--force", "restart by hand even though supervisord or systemd runs it")
    .action(async (o: { force?: boolean }) => {
      const config = configFrom(globals()); // a bad config is refused before anything is stopped
      const openStore = () => storeFrom(config, false);
      const stopped = await stopDaemon(config, openStore, stdio.out, { force: o.force, verb: "restart" }, stdio.err);
      if (stopped !== 0) return exit(stopped);
      exit(await startDaemon(config.path, cliPath, stdio.out, stdio.err, { force: o.force, openStore }));
    });

  program.command("status").description("running or not, pid, uptime, store, job counts")
    .option("--json", "print JSON (its instances as GET /api/v1/instances shows them)")
    .action(async (o: { json?: boolean }) => exit(await status(operationalConfig(globals()), o.json === true)));

  program.command("reload").description("re-read the config and apply it to the store (and the daemon) without a restart")
    .option("--force", "apply even a config that retires most jobs, or one older than the store's (a stale file)")
    .action(async (o: { force?: boolean }) => exit(await reloadCommand(findConfigPath(globals().config), o.force === true)));

  program.command("migrate").description("create or upgrade the store's schema now (e.g. ahead of a deploy)")
    .action(async () => {
      const config = configFrom(globals());
      const version = await withStore(config, (store) => store.schemaVersion());
      stdio.out(`store ${redactStoreUrl(config.store)} is at schema version ${version}`);
      exit(0);
    });
}

/** LSB status codes: 0 running, 1 dead with a pidfile, 3 not running, 4 unknown (a pidfile not provably ours). */
const STATUS_CODES = { running: 0, stale: 1, absent: 3, untrusted: 4 } as const;

async function status(config: ReturnType<typeof loadConfig>, json: boolean): Promise<number> {
  const pid = readPidfile(config.pidfile);
  const code = STATUS_CODES[pid.state];
  let storeProblem: string | null = null;
  const store = await storeFrom(config, false).catch((error: Error) => ((storeProblem = error.message), null));
  const jobs = store ? await store.listJobs({ includeRetired: true }) : [];
  const instances = store ? await store.listInstances() : [];
  await store?.close();
  const counts: Record<string, number> = {};
  const now = Date.now();
  for (const j of jobs) {
    const state = j.retiredAt !== null ? "retired" : jobHealth(j, now).state;
    counts[state] = (counts[state] ?? 0) + 1;
  }
  const self = pid.state === "running" ? instances.find((i) => i.pid === pid.pid && i.host === hostname() && i.stoppedAt === null) : undefined;
  const uptimeMs = self ? Date.now() - self.startedAt : null;
  // Its heartbeat is a store write: a daemon that runs but cannot write (a full disk, a store
  // gone read-only) stops heartbeating, and its runs will be abandoned. Say so.
  const silentMs = self && now - self.lastSeen > 3 * config.heartbeatMs + 2_000 ? now - self.lastSeen : null;
  const state = { running: "running", stale: "dead (stale pidfile)", absent: "not running", untrusted: "unknown (a pidfile jobclock cannot trust)" }[pid.state];
  const live = instances.filter((i) => isLive(i, now, config.abandonAfterMs));
  if (json) {
    stdio.out(JSON.stringify({
      state, pid: pid.state === "absent" ? null : pid.pid, uptimeMs, config: config.path, store: redactStoreUrl(config.store),
      pidfile: config.pidfile, http: config.http ? { url: httpUrl(config.http), token: config.http.token !== null } : null,
      jobs: storeProblem ? null : counts, storeProblem,
      supervisor: self?.supervisor ?? null, problems: [...(self?.problems ?? []), ...(silentMs !== null ? [notHeartbeating(silentMs)] : [])],
      instances: live.map((i) => instanceView(i, now, config.abandonAfterMs)),
    }, null, 2));
    return code;
  }
  const under = self?.supervisor ? `, under ${describeSupervisor(self.supervisor)}` : "";
  const pidText = pid.state === "running" ? ` (pid ${pid.pid}${uptimeMs !== null ? `, up ${formatDuration(uptimeMs)}` : ""}${under})` : "";
  stdio.out(`jobclock is ${state}${pidText}`);
  if (pid.state === "untrusted") stdio.out(`         ${untrustedMessage(config.pidfile, pid)}`);
  if (silentMs !== null) stdio.out(`warning: ${notHeartbeating(silentMs)}`);
  stdio.out(`config:  ${config.path}`);
  stdio.out(`store:   ${redactStoreUrl(config.store)}${store ? "" : storeProblem ? `\n         problem: ${storeProblem}` : " (not created yet)"}`);
  stdio.out(`pidfile: ${config.pidfile}`);
  stdio.out(`http:    ${httpText(config.http)}`);
  const summary = Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ");
  stdio.out(storeProblem ? "jobs:    unknown (the store could not be read; see above)" : `jobs:    ${jobs.length - (counts.retired ?? 0)}${summary ? ` (${summary})` : ""}`);
  printInstances(live);
  return code;
}

function notHeartbeating(silentMs: number): string {
  return `the daemon has not heartbeated in the store for ${formatDuration(silentMs)}: it cannot write there ` +
    "(a full disk? a store that went read-only?); its log says why";
}

function printInstances(live: InstanceRecord[]): void {
  if (live.length === 0) return;
  stdio.out("instances:");
  stdio.out(table(
    ["  ID", "HOST", "PID", "VERSION", "STARTED", "LAST SEEN", "CLOCK"],
    live.map((i) => [`  ${i.id}`, i.host, String(i.pid), i.version, ago(i.startedAt), ago(i.lastSeen), skewText(i.clockSkewMs)]),
  ));
  // What an instance reports wrong about itself (its log file on a full disk), so `status` shows what the daemon cannot tell by its log.
  const problems = live.flatMap((i) => (i.problems ?? []).map((p) => `  ${live.length > 1 ? `${i.id}: ` : ""}${p}`));
  if (problems.length > 0) {
    stdio.out("problems:");
    for (const line of problems) stdio.out(line);
  }
}

function httpUrl(http: HttpConfig): string {
  return `http://${http.host.includes(":") ? `[${http.host}]` : http.host}:${http.port}/`;
}

function httpText(http: HttpConfig | null): string {
  if (!http) return "off (http: false)";
  if (http.port === 0) return `${http.host}, an ephemeral port (the daemon's log says which)`;
  return `${httpUrl(http)} (dashboard; API under /api/v1; /metrics)${http.token ? ", token required" : ""}`;
}

/** "same clock", "+0.3s", or a warning when more than 2 s off the store's clock. */
function skewText(skew: number | null | undefined): string {
  if (skew === null || skew === undefined) return "same clock";
  const text = `${skew >= 0 ? "+" : ""}${(skew / 1000).toFixed(1)}s`;
  return Math.abs(skew) > 2_000 ? `${text} OFF: fix NTP` : text;
}

async function reloadCommand(configPath: string, force: boolean): Promise<number> {
  let config;
  try {
    config = loadConfig(configPath);
  } catch (error) {
    if (error instanceof ConfigError) {
      stdio.err(`reload refused; nothing was changed.\n${error.message}`);
      return 2;
    }
    throw error;
  }
  for (const warning of config.warnings) stdio.err(`warning: ${warning}`);
  let report;
  try {
    report = await withStore(config, async (store) => {
      const applied = await store.applyJobs(config.jobs, Date.now(), { source: cliSource(), guard: true, force });
      await store.setNotifiers(notifiersFrom(config.notify).map((n) => n.id));
      return applied;
    });
  } catch (error) {
    if (error instanceof ApplyRefusedError) {
      stdio.err(`reload refused; nothing was changed.\n${error.message}`);
      return 2;
    }
    throw error;
  }
  stdio.out(`applied ${configPath}: ${report.added.length} added, ${report.updated.length} updated, ` +
    `${report.retired.length} retired, ${report.unchanged.length} unchanged (generation ${report.generation})`);
  if (report.retired.length > 0) stdio.out(`retired: ${report.retired.join(", ")}`);
  const pid = readPidfile(config.pidfile);
  if (pid.state === "running") {
    process.kill(pid.pid, "SIGHUP");
    stdio.out(`the daemon (pid ${pid.pid}) follows the store within a second, and re-read its config`);
  } else if (pid.state === "untrusted") {
    stdio.err(`warning: ${untrustedMessage(config.pidfile, pid)} (a running daemon still follows the store's jobs)`);
  } else {
    stdio.out("no daemon is running; the changes take effect when one starts");
  }
  return 0;
}
