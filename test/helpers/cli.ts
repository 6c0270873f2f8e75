import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./engine-harness.js";
import { tempDir } from "./spec.js";

export const CLI = resolve(fileURLToPath(import.meta.url), "../../../dist/cli/main.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `jobclock` binary as a user would. */
export function jobclock(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath, [CLI, ...args],
      { cwd: options.cwd, env: { ...process.env, JOBCLOCK_CONFIG: "", ...options.env }, timeout: options.timeoutMs ?? 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** A temp folder with a jobclock.yaml: the e2e tests' "server". */
export function project(yaml: string): { dir: string; run(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>; write(yaml: string): void } {
  const dir = tempDir("jobclock-e2e-");
  mkdirSync(join(dir, "data"));
  const write = (text: string) => writeFileSync(join(dir, "jobclock.yaml"), text);
  write(yaml);
  return { dir, write, run: (args, env) => jobclock(["--config", join(dir, "jobclock.yaml"), ...args], { cwd: dir, env }) };
}

/**
 * Stops a test's daemon for good: `jobclock stop`, and if that fails (a test may leave a broken
 * config behind), SIGKILL by the pidfile. A leaked daemon would outlive its deleted temp folder.
 */
export async function stopForGood(p: { dir: string; run(args: string[]): Promise<CliResult> }): Promise<void> {
  const stopped = await p.run(["stop"]);
  if (stopped.code === 0) return;
  try {
    process.kill(Number(readFileSync(join(p.dir, "run/jobclock.pid"), "utf8")), "SIGKILL");
  } catch {
    // no pidfile, or no such process: nothing left to stop
  }
}

export const BASE_CONFIG = `
store: sqlite:./data/jobclock.db
pidfile: ./run/jobclock.pid
log: { file: ./logs/info.log, level: debug }
shutdown_timeout: 20s
heartbeat: 1s
abandon_after: 3s
http: { listen: "127.0.0.1:0" }
`;

/** The URL the daemon logged when its HTTP server came up (tests listen on port 0). */
export async function daemonUrl(dir: string): Promise<string> {
  let url = "";
  await waitFor("the daemon to log its dashboard URL", () => {
    const log = existsSync(join(dir, "logs/info.log")) ? readFileSync(join(dir, "logs/info.log"), "utf8") : "";
    url = /dashboard and API on (http:\/\/\S+)/.exec(log)?.[1] ?? "";
    return url !== "";
  });
  return url;
}
