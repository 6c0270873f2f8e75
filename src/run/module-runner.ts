import { closeSync, constants } from "node:fs";
import { Worker } from "node:worker_threads";
import { NotRegularFileError, openRegularSync } from "../os/regular-file.js";
import { watchDeadline, type StopCause } from "./deadline.js";
import { jobEnv } from "./job-env.js";
import { TailBuffer } from "./tail-buffer.js";
import { OUTPUT_LIMIT_BYTES, type AttemptRequest, type AttemptResult } from "./types.js";

/**
 * The worker's bootstrap, evaluated as a CommonJS script so it needs no file of its own (the
 * same code works from `src/` under the test runner and from `dist/`). It imports the job's
 * module, calls its default export with a ctx, and reports back once stdout is flushed.
 */
const BOOTSTRAP = `
const { parentPort, workerData } = require("node:worker_threads");
const { pathToFileURL } = require("node:url");
const { format } = require("node:util");
const controller = new AbortController();
parentPort.on("message", (m) => { if (m && m.type === "abort") controller.abort(new Error(m.reason)); });
const line = (stream, prefix, args) => stream.write(prefix + format(...args) + "\\n");
const log = (...a) => line(process.stdout, "", a);
log.info = (...a) => line(process.stdout, "", a);
log.warn = (...a) => line(process.stderr, "warn: ", a);
log.error = (...a) => line(process.stderr, "error: ", a);
const flush = () => new Promise((r) => process.stdout.write("", () => process.stderr.write("", r)));
(async () => {
  const mod = await import(pathToFileURL(workerData.path).href);
  const fn = mod.default;
  if (typeof fn !== "function") throw new Error(workerData.path + " has no default export function");
  await fn({ job: workerData.job, runId: workerData.runId, slot: new Date(workerData.slot),
             attempt: workerData.attempt, signal: controller.signal, log });
})().then(
  async () => { await flush(); parentPort.postMessage({ ok: true }); },
  async (e) => { await flush(); parentPort.postMessage({ ok: false, error: (e && e.stack) || String(e) }); },
);
`;

/** Runs a `module` job in a worker thread; on timeout or cancel it aborts ctx.signal, then terminates the worker after kill_grace. */
export function runModule(req: AttemptRequest): Promise<AttemptResult> {
  const { spec } = req;
  if (spec.action.kind !== "module") throw new Error(`runModule cannot run a ${spec.action.kind} job`);
  const problem = moduleFileProblem(spec.action.path);
  if (problem) return Promise.resolve({ status: "failed", exitCode: null, signal: null, error: problem, stdout: "", stderr: "" });
  const stdout = new TailBuffer(OUTPUT_LIMIT_BYTES);
  const stderr = new TailBuffer(OUTPUT_LIMIT_BYTES);
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    stdout: true,
    stderr: true,
    env: jobEnv(req), // the same environment as command and shell jobs get
    workerData: { path: spec.action.path, job: spec.name, runId: req.runId, slot: req.slot, attempt: req.attempt },
  });
  worker.stdout.on("data", (d: Buffer) => stdout.write(d));
  worker.stderr.on("data", (d: Buffer) => stderr.write(d));

  return new Promise((resolve) => {
    let settled = false;
    let stopped: StopCause | null = null;
    let killTimer: ReturnType<AttemptRequest["clock"]["setTimeout"]> | null = null;
    const finish = (status: AttemptResult["status"], error: string | null) => {
      if (settled) return;
      settled = true;
      stopWatching();
      if (killTimer) req.clock.clearTimeout(killTimer);
      void worker.terminate();
      resolve({ status, exitCode: null, signal: null, error, stdout: stdout.toString(), stderr: stderr.toString() });
    };
    const stopWatching = watchDeadline(req, (cause) => {
      stopped = cause;
      worker.postMessage({ type: "abort", reason: cause.message });
      killTimer = req.clock.setTimeout(
        () => finish(cause.status, `${cause.message}; worker terminated after kill_grace`),
        spec.killGraceMs,
      );
    });
    worker.on("message", (m: { ok: boolean; error?: string }) => {
      if (stopped) finish(stopped.status, stopped.message);
      else if (m.ok) finish("succeeded", null);
      else finish("failed", m.error ?? "the module threw");
    });
    worker.on("error", (e) => finish(stopped?.status ?? "failed", e.stack ?? String(e)));
    worker.on("exit", (code) => finish(stopped?.status ?? "failed", stopped?.message ?? `worker exited with code ${code} before finishing`));
  });
}

/**
 * Why the module file cannot be run, or null. Checked before the worker starts: the worker's
 * import reads the file through the thread pool, and a FIFO there (anyone who can write the
 * folder can make one) would hold a thread for ever; after four such runs the log stops and the
 * daemon cannot exit. The check opens it without blocking, following a symlink (deploys link
 * releases), and takes only a regular file.
 */
export function moduleFileProblem(path: string): string | null {
  try {
    closeSync(openRegularSync(path, constants.O_RDONLY, { follow: true }));
    return null;
  } catch (error) {
    if (error instanceof NotRegularFileError) {
      return `module file ${path} is ${error.kind}, not a regular file; point module at an ES module file`;
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return `module file ${path} does not exist; deploy it, or fix module in the config`;
    if (code === "EACCES") return `module file ${path} cannot be read (EACCES): give the daemon's user read access to it`;
    return `module file ${path} cannot be opened (${code ?? (error as Error).message})`;
  }
}
