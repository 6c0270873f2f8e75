import { spawn } from "node:child_process";
import { loadConfig } from "../config/load.js";
import type { StartupMessage } from "./run-daemon.js";
import { readPidfile } from "./pidfile.js";

const STARTUP_TIMEOUT_MS = 60_000;

/**
 * `jobclock start`: spawn `jobclock run` detached (its own session, no terminal) and return
 * only once it reports ready, or with the reason it failed (PRODUCT §6).
 */
export async function startDaemon(configPath: string, cliPath: string, print: (line: string) => void, printError: (line: string) => void): Promise<number> {
  const config = loadConfig(configPath); // a bad config fails here, in the user's terminal, with exit 2
  const current = readPidfile(config.pidfile);
  if (current.state === "running") {
    print(`jobclock is already running (pid ${current.pid})`);
    return 0;
  }
  const child = spawn(process.execPath, [cliPath, "run", "--config", configPath], {
    detached: true,
    stdio: ["ignore", "ignore", "ignore", "ipc"],
    env: process.env,
  });
  const outcome = await new Promise<StartupMessage | { type: "exit"; code: number | null } | { type: "timeout" }>((resolve) => {
    const timer = setTimeout(() => resolve({ type: "timeout" }), STARTUP_TIMEOUT_MS);
    child.once("message", (m: StartupMessage) => (clearTimeout(timer), resolve(m)));
    child.once("exit", (code) => (clearTimeout(timer), resolve({ type: "exit", code })));
  });
  child.removeAllListeners();
  if (child.connected) child.disconnect();
  child.unref();
  switch (outcome.type) {
    case "ready":
      print(`jobclock started (pid ${outcome.pid}); log: ${config.log.file ?? "(none)"}`);
      return 0;
    case "error":
      printError(`jobclock failed to start: ${outcome.message}`);
      return outcome.exitCode;
    case "exit":
      printError(`jobclock exited during start-up (code ${outcome.code}); see ${config.log.file ?? "its output"}`);
      return 1;
    case "timeout":
      printError(`jobclock did not report ready within ${STARTUP_TIMEOUT_MS / 1000}s; see ${config.log.file ?? "its output"}`);
      return 1;
  }
}
