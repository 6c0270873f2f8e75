import { existsSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { formatDuration } from "../schedule/duration.js";
import { watchDeadline, type StopCause } from "./deadline.js";
import { jobEnv } from "./job-env.js";
import { TailBuffer } from "./tail-buffer.js";
import { OUTPUT_LIMIT_BYTES, type AttemptRequest, type AttemptResult } from "./types.js";

// After the main process exits, its grandchildren may still hold the pipes open; we wait this
// long for the last output, then stop listening rather than hang the run.
const OUTPUT_DRAIN_MS = 250;

/**
 * Runs a `command` (argv, no shell) or `shell` job as a child process in its own process group,
 * so a timeout or cancellation reaches the whole tree: SIGTERM first, SIGKILL after kill_grace.
 */
export function runProcess(req: AttemptRequest): Promise<AttemptResult> {
  const { spec } = req;
  const [file, args] =
    spec.action.kind === "command"
      ? [spec.action.argv[0]!, spec.action.argv.slice(1)]
      : spec.action.kind === "shell"
        ? ["/bin/sh", ["-c", spec.action.script]]
        : (() => { throw new Error(`runProcess cannot run a ${spec.action.kind} job`); })();

  const stdout = new TailBuffer(OUTPUT_LIMIT_BYTES);
  const stderr = new TailBuffer(OUTPUT_LIMIT_BYTES);
  return new Promise((resolve) => {
    let stopped: StopCause | null = null;
    let killTimer: ReturnType<AttemptRequest["clock"]["setTimeout"]> | null = null;
    const child = spawn(file, args, {
      cwd: spec.cwd ?? undefined,
      env: jobEnv(req),
      detached: true, // own process group: kill(-pid) reaches every descendant
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => stdout.write(d));
    child.stderr!.on("data", (d: Buffer) => stderr.write(d));

    const stopWatching = watchDeadline(req, (cause) => {
      stopped = cause;
      signalGroup(child, "SIGTERM");
      killTimer = req.clock.setTimeout(() => signalGroup(child, "SIGKILL"), spec.killGraceMs);
    });

    const finish = (result: Omit<AttemptResult, "stdout" | "stderr">) => {
      stopWatching();
      if (killTimer) req.clock.clearTimeout(killTimer);
      resolve({ ...result, stdout: stdout.toString(), stderr: stderr.toString() });
    };

    child.on("error", (error: NodeJS.ErrnoException) => finish({ status: "failed", exitCode: null, signal: null, error: startError(file, spec.cwd, error) }));
    child.on("exit", (code, signal) => {
      // What ended the process is decided now: a deadline that passes while we collect the
      // last output must not turn a normal exit into timed_out.
      const stoppedBy = stopped;
      stopWatching();
      // Killing a group whose leader exited still reaches any stragglers after a stop.
      if (stoppedBy) signalGroup(child, "SIGKILL");
      drainThen(child, () => finish(outcome(code, signal, stoppedBy, spec.killGraceMs)));
    });
  });
}

function outcome(code: number | null, signal: NodeJS.Signals | null, stopped: StopCause | null, graceMs: number) {
  if (stopped) {
    const how = signal === "SIGKILL" ? `; killed with SIGKILL after ${formatDuration(graceMs)}` : "";
    return { status: stopped.status, exitCode: code, signal, error: stopped.message + how };
  }
  if (code === 0) return { status: "succeeded" as const, exitCode: 0, signal: null, error: null };
  const error = signal ? `killed by ${signal}` : `exited with code ${code}`;
  return { status: "failed" as const, exitCode: code, signal, error };
}

function drainThen(child: ChildProcess, done: () => void): void {
  let finished = false;
  const end = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    child.stdout?.destroy();
    child.stderr?.destroy();
    done();
  };
  const timer = setTimeout(end, OUTPUT_DRAIN_MS);
  child.once("close", end);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

// Kept importable from here, where it used to live; it is shared with the module runner now.
export { jobEnv } from "./job-env.js";

/**
 * Why a job's process could not start, in words: spawn says ENOENT both for a program that is
 * not there and for a working directory that is not, and only one of them is the program's fault.
 */
function startError(file: string, cwd: string | null, error: NodeJS.ErrnoException): string {
  if (error.code === "ENOENT" && cwd !== null && !existsSync(cwd)) {
    return `cannot start ${file}: its working directory ${cwd} does not exist (cwd in the config, or the config's folder)`;
  }
  const hint = error.code === "ENOENT" ? ` (not found; cwd ${cwd ?? process.cwd()})` : "";
  return `cannot start ${file}: ${error.message}${hint}`;
}
