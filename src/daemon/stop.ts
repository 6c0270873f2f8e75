import { statSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import type { Config } from "../config/load.js";
import { pidAlive } from "../os/process.js";
import { formatDuration } from "../schedule/duration.js";
import type { ReadModel, Store } from "../store/types.js";
import { readPidfile, untrustedMessage } from "./pidfile.js";
import { processInfo, startTicks } from "./process-identity.js";
import { currentUserName, userName } from "../os/users.js";

/** Stopping reads which instance and runs it waits for; it closes the store it opened. */
type StopStore = Pick<ReadModel, "listInstances" | "listRuns">;
import { supervisedRefusal, supervisorOnThisHost } from "./supervised.js";
import { describeSupervisor } from "./supervisor.js";

// Beyond shutdown_timeout the daemon cancels runs and waits up to kill_grace for them; this
// margin covers that before `stop` gives up waiting and sends SIGKILL.
const STOP_MARGIN_MS = 15_000;

export interface StopOptions {
  /** Stop it even though supervisord or systemd runs it. */
  force?: boolean;
  /** "restart": the refusal names the supervisor's restart command. */
  verb?: "stop" | "restart";
}

/**
 * `jobclock stop`: SIGTERM, then wait for the drain, printing which runs it is waiting for.
 * Stopping a daemon that is not running succeeds, as init scripts expect. Only a pid proven to
 * be this daemon is ever signalled (see readPidfile), and a supervised daemon is left to its
 * supervisor unless `--force` (stopping it behind the supervisor's back would only see it restarted).
 */
export async function stopDaemon(
  config: Config, openStore: () => Promise<(StopStore & Pick<Store, "close">) | null>, print: (line: string) => void, options: StopOptions = {}, printError = print,
): Promise<number> {
  const current = readPidfile(config.pidfile);
  if (current.state === "untrusted") {
    printError(`jobclock: ${untrustedMessage(config.pidfile, current)}`);
    return 1;
  }
  if (current.state === "absent") {
    print("jobclock is not running");
    return 0;
  }
  if (current.state === "stale") {
    try {
      unlinkSync(config.pidfile);
    } catch {
      // gone already
    }
    print(`jobclock is not running (removed stale pidfile: ${current.why})`);
    return 0;
  }
  const pid = current.pid;
  const identity = ticksOf(pid);
  const store = await openStore().catch(() => null);
  try {
    const supervisor = await supervisorOnThisHost(store, pid);
    if (supervisor && !options.force) {
      printError(`jobclock: ${supervisedRefusal(supervisor, options.verb ?? "stop", true)}`);
      return 2;
    }
    try {
      process.kill(pid, "SIGTERM");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EPERM") throw error;
      printError(`jobclock: ${notPermittedMessage(config.pidfile, pid)}`);
      return 1;
    }
    print(`stopping jobclock (pid ${pid})…${supervisor ? ` (--force: ${describeSupervisor(supervisor)} will show it stopped, and will not restart it)` : ""}`);
    return await waitForExit(config, store, pid, identity, print);
  } finally {
    await store?.close();
  }
}

async function waitForExit(config: Config, store: StopStore | null, pid: number, identity: number | null, print: (line: string) => void): Promise<number> {
  const maxGrace = Math.max(10_000, ...config.jobs.map((j) => j.killGraceMs));
  const deadline = Date.now() + config.shutdownTimeoutMs + maxGrace + STOP_MARGIN_MS;
  let lastKey = "";
  let lastAt = 0;
  // The same pid with another start time is another process (the pid was reused): ours is gone.
  const stillOurs = () => pidAlive(pid) && (identity === null || ticksOf(pid) === identity);
  while (stillOurs()) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      print(`jobclock (pid ${pid}) did not stop in time; sent SIGKILL. Its runs will be recorded as abandoned.`);
      return 1;
    }
    const report = store ? await waitingReport(store, pid).catch(() => null) : null;
    // Say it when the set of runs changes, and every few seconds while it does not.
    if (report && (report.key !== lastKey || Date.now() - lastAt > 3_000)) {
      print(report.text);
      lastKey = report.key;
      lastAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  print("jobclock stopped");
  return 0;
}

/**
 * The daemon runs as another user, whom this user may not signal (a daemon of the service user
 * stopped by an operator account, or root's daemon by the service user): say whom to run as.
 */
function notPermittedMessage(pidfile: string, pid: number): string {
  const uid = processInfo(pid)?.uid ?? ownerOf(pidfile);
  const them = uid === null ? "another user" : userName(uid);
  const run = uid === null ? "as the user it runs as" : uid === 0 ? "as root (`sudo jobclock stop`)" : `as ${them} (\`sudo -u ${them} jobclock stop\`)`;
  return `jobclock (pid ${pid}) runs as ${them}, and ${currentUserName()} may not signal it (EPERM); run stop ${run}`;
}

function ownerOf(path: string): number | null {
  try {
    return statSync(path).uid;
  } catch {
    return null;
  }
}

function ticksOf(pid: number): number | null {
  try {
    return startTicks(pid);
  } catch {
    return null; // gone, or no /proc
  }
}

async function waitingReport(store: StopStore, pid: number): Promise<{ key: string; text: string } | null> {
  const host = hostname();
  const instances = (await store.listInstances()).filter((i) => i.pid === pid && i.host === host && i.stoppedAt === null);
  const ids = new Set(instances.map((i) => i.id));
  const runs = (await store.listRuns({ status: "running", limit: 1_000 })).filter((r) => r.instanceId && ids.has(r.instanceId));
  if (runs.length === 0) return null;
  const now = Date.now();
  // Clamped: a run's start is stamped by the daemon's clock (or the database's), which can be a little ahead of ours.
  const list = runs.map((r) => `${r.job} #${r.id} (running ${formatDuration(Math.max(0, now - (r.startedAt ?? now)))})`).join(", ");
  return { key: runs.map((r) => r.id).join(","), text: `waiting for ${runs.length} run(s) to finish: ${list}` };
}
