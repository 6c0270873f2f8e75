import { spawn } from "node:child_process";
import { loadConfig } from "../config/load.js";
import type { ReadModel, Store } from "../store/types.js";
import type { StartupMessage } from "./run-daemon.js";
import { readPidfile, untrustedMessage } from "./pidfile.js";
import { supervisedRefusal, supervisorOnThisHost } from "./supervised.js";
import { describeSupervisor, unsupervisedEnv } from "./supervisor.js";

const STARTUP_TIMEOUT_MS = 60_000;

export interface StartOptions {
  /** Start by hand even though a supervisor ran the daemon last. */
  force?: boolean;
  /** The store, to see whether a supervisor ran the daemon last (null: not created yet). */
  openStore(): Promise<(Pick<ReadModel, "listInstances"> & Pick<Store, "close">) | null>;
}

/**
 * `jobclock start`: spawn `jobclock run` detached (its own session, no terminal) and return
 * only once it reports ready, or with the reason it failed, so a script can trust its exit code. A daemon that
 * supervisord or systemd ran last is theirs to start (a second copy beside theirs would fight it), unless `--force`.
 */
export async function startDaemon(
  configPath: string, cliPath: string, print: (line: string) => void, printError: (line: string) => void, options: StartOptions,
): Promise<number> {
  const config = loadConfig(configPath); // a bad config fails here, in the user's terminal, with exit 2
  const current = readPidfile(config.pidfile);
  if (current.state === "untrusted") {
    printError(`jobclock: ${untrustedMessage(config.pidfile, current)}`);
    return 1;
  }
  const running = current.state === "running" ? current.pid : null;
  const store = await options.openStore().catch((error) => {
    if ((error as { code?: string }).code === "STORE_OWNER") throw error; // root against the service user's store: say so
    return null;
  });
  const supervisor = await supervisorOnThisHost(store, running).finally(() => store?.close());
  if (running !== null) {
    print(`jobclock is already running (pid ${running}${supervisor ? `, under ${describeSupervisor(supervisor)}` : ""})`);
    return 0;
  }
  if (supervisor && !options.force) {
    printError(`jobclock: ${supervisedRefusal(supervisor, "start", false)}`);
    return 2;
  }
  const child = spawn(process.execPath, [cliPath, "run", "--config", configPath], {
    detached: true,
    stdio: ["ignore", "ignore", "ignore", "ipc"],
    // Not supervised, whatever started this command: the daemon must not say it is.
    env: unsupervisedEnv(process.env),
  });
  const outcome = await new Promise<StartupMessage | { type: "exit"; code: number | null; signal: string | null } | { type: "timeout" }>((resolve) => {
    const timer = setTimeout(() => resolve({ type: "timeout" }), STARTUP_TIMEOUT_MS);
    child.once("message", (m: StartupMessage) => (clearTimeout(timer), resolve(m)));
    child.once("exit", (code, signal) => (clearTimeout(timer), resolve({ type: "exit", code, signal })));
  });
  child.removeAllListeners();
  if (child.connected) child.disconnect();
  child.unref();
  switch (outcome.type) {
    case "ready":
      print(`jobclock started (pid ${outcome.pid}); log: ${config.log.file ?? "(none)"}`);
      for (const warning of outcome.warnings ?? []) printError(`warning: ${warning}`);
      return 0;
    case "error":
      printError(`jobclock failed to start: ${outcome.message}`);
      return outcome.exitCode;
    case "exit":
      printError(`jobclock exited during start-up (${outcome.signal ? `ended by ${outcome.signal}` : `code ${outcome.code}`}); see ${config.log.file ?? "its output"}`);
      return 1;
    case "timeout":
      printError(`jobclock did not report ready within ${STARTUP_TIMEOUT_MS / 1000}s; see ${config.log.file ?? "its output"}`);
      return 1;
  }
}
