// Runs one workload child (node --expose-gc bench/peers/systems/<file>) and collects its result:
// the last stdout line as JSON, the {"mark"} lines before it (with the store servers' CPU read
// at each), or a failure when it exits badly or outlives its time limit.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { serverCpuMs } from "./server-cpu.js";

export function startChild(file, env, { timeoutMs, onMark } = {}) {
  const child = spawn(process.execPath, ["--expose-gc", file], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const marks = {};
  let last = null;
  let stderr = "";
  let timedOut = false;
  child.stderr.on("data", (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  createInterface({ input: child.stdout }).on("line", (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return; // a library writing to stdout
    }
    if (msg && typeof msg.mark === "string") {
      marks[msg.mark] = { at: msg.at, serverCpuMs: serverCpuMs() };
      onMark?.(msg.mark, child);
    } else last = msg;
  });
  const timer = timeoutMs ? setTimeout(() => ((timedOut = true), child.kill("SIGKILL")), timeoutMs) : null;
  const done = new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ error: `timed out after ${Math.round(timeoutMs / 1000)} s and was killed`, stderr: tail(stderr), marks });
      else if (code === 0 && last) resolve({ result: last, marks });
      else resolve({ error: describeExit(code, signal, stderr), stderr: tail(stderr), marks, partial: last });
    });
  });
  return { child, marks, done };
}

export function runChild(file, env, options) {
  return startChild(file, env, options).done;
}

function describeExit(code, signal, stderr) {
  if (/heap out of memory/i.test(stderr)) return "JavaScript heap out of memory (Node's default heap limit)";
  if (signal) return `killed by ${signal}`;
  const lastLine = stderr.trim().split("\n").filter((l) => l.trim() && !l.startsWith("    at ")).at(-1) ?? "";
  return `exited with code ${code}${lastLine ? `: ${lastLine.trim().slice(0, 300)}` : ""}`;
}

const tail = (s) => s.trim().split("\n").slice(-15).join("\n");
