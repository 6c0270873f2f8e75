import { accessSync, constants, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Cron } from "croner";
import { JOB_DEFAULTS, JOB_NAME_MAX_LENGTH, JOB_NAME_PATTERN, JOB_NAME_RULE, type JobAction, type JobScheduleSpec, type JobSpec } from "../job-spec.js";
import { parseDuration } from "../schedule/duration.js";
import { splitCommand } from "./argv.js";
import { fileKind } from "../os/regular-file.js";
import type { RawJob } from "./schema.js";

export interface ResolveContext {
  /** Relative paths in the config are relative to this folder. */
  baseDir: string;
  /** Library jobs pass a function instead of command/shell/module. */
  hasHandler?: boolean;
  /**
   * Files a job needs that are missing (a script, a module, a cwd, a program not in PATH) land
   * here: they are not config errors, since a deploy can fix them without a reload,
   * and the job's runs fail with a clear error meanwhile. Without this list they are dropped.
   */
  warnings?: string[];
  /** PATH to look bare program names up in (default: this process's). */
  searchPath?: string;
}

// Said after each missing-file warning: what happens meanwhile.
const UNTIL_FIXED = "its runs fail until this is fixed";

/**
 * Turns one job's raw keys (defaults merged in) into a JobSpec, collecting every problem with
 * the key it belongs to instead of stopping at the first.
 */
export function resolveJob(name: string, raw: RawJob, defaults: RawJob, ctx: ResolveContext, problems: string[]): JobSpec | null {
  const at = `jobs.${name}`;
  const before = problems.length;
  if (!JOB_NAME_PATTERN.test(name)) {
    const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
    const length = name.length > JOB_NAME_MAX_LENGTH ? `; it has ${name.length}` : "";
    problems.push(`${at}: ${shown} is not a usable job name (${JOB_NAME_RULE}${length})`);
  }
  const job = mergeDefaults(raw, defaults);
  const schedule = resolveSchedule(job, at, problems);
  const action = resolveAction(job, at, ctx, problems);
  const ms = (key: keyof RawJob & string, fallback: number) => {
    const value = job[key];
    return typeof value === "string" ? (parseDuration(value) ?? fallback) : fallback;
  };
  const timeoutMs = job.timeout === "none" ? null : ms("timeout", JOB_DEFAULTS.timeoutMs);
  if (timeoutMs === 0) problems.push(`${at}.timeout: must be more than 0 (write "none" for no timeout)`);
  const jitterMs = ms("jitter", JOB_DEFAULTS.jitterMs);
  if (job.remind !== undefined && job.remind !== "none" && ms("remind", 0) < 60_000) {
    problems.push(`${at}.remind: ${job.remind} is too often; remind at most once a minute (e.g. 1h), or "none"`);
  }
  if (schedule?.kind === "every" && jitterMs >= schedule.everyMs) {
    problems.push(`${at}.jitter: ${job.jitter} must be shorter than the interval (every: ${job.every})`);
  }
  const retries =
    typeof job.retries === "number"
      ? { max: job.retries, delayMs: JOB_DEFAULTS.retries.delayMs }
      : { max: job.retries?.max ?? 0, delayMs: job.retries?.delay ? (parseDuration(job.retries.delay) ?? 0) : JOB_DEFAULTS.retries.delayMs };
  const cwd = job.cwd !== undefined ? resolve(ctx.baseDir, job.cwd) : action?.kind === "handler" ? null : ctx.baseDir;
  if (cwd && job.cwd !== undefined && !isDirectory(cwd)) ctx.warnings?.push(`${at}.cwd: folder ${cwd} does not exist${relativeHint(job.cwd, MISSING)}; ${UNTIL_FIXED}`);
  if (problems.length > before || !schedule || !action) return null;
  return {
    name, schedule, action, cwd,
    // Sorted, so the spec's JSON (and so its hash) does not depend on how the env was written.
    env: Object.fromEntries(Object.entries(job.env ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, String(v)])),
    timeoutMs,
    killGraceMs: ms("kill_grace", JOB_DEFAULTS.killGraceMs),
    overlap: job.overlap ?? JOB_DEFAULTS.overlap,
    catchup: job.catchup ?? JOB_DEFAULTS.catchup,
    catchupWindowMs: ms("catchup_window", JOB_DEFAULTS.catchupWindowMs),
    jitterMs,
    runOnStart: job.run_on_start ?? JOB_DEFAULTS.runOnStart,
    retries,
    graceMs: ms("grace", JOB_DEFAULTS.graceMs),
    remindMs: job.remind === undefined || job.remind === "none" ? null : ms("remind", 0),
    paused: job.paused ?? false,
    description: job.description ?? null,
    tags: job.tags ?? [],
  };
}

/** A job's own schedule or action replaces the defaults' whole, so `every` never meets a default `cron`. */
function mergeDefaults(raw: RawJob, defaults: RawJob): RawJob {
  const merged: RawJob = { ...defaults, ...raw };
  if (raw.every !== undefined || raw.cron !== undefined) {
    merged.every = raw.every;
    merged.cron = raw.cron;
  }
  if (raw.command !== undefined || raw.shell !== undefined || raw.module !== undefined) {
    merged.command = raw.command;
    merged.shell = raw.shell;
    merged.module = raw.module;
  }
  if (defaults.env && raw.env) merged.env = { ...defaults.env, ...raw.env };
  return merged;
}

function resolveSchedule(job: RawJob, at: string, problems: string[]): JobScheduleSpec | null {
  const timezone = job.timezone ?? JOB_DEFAULTS.timezone;
  if (!isTimezone(timezone)) {
    problems.push(`${at}.timezone: "${timezone}" is not an IANA timezone (examples: UTC, Europe/London, America/New_York)`);
    return null;
  }
  if ((job.every === undefined) === (job.cron === undefined)) {
    const what = job.every === undefined ? "neither" : "both";
    problems.push(`${at}: has ${what} of "every" and "cron"; give exactly one (every: 5m, or cron: "0 30 2 * * *")`);
    return null;
  }
  if (job.every !== undefined) {
    const everyMs = parseDuration(job.every);
    if (everyMs === null) return null; // the schema already reported it
    if (everyMs < 100) {
      problems.push(`${at}.every: "${job.every}" is too short; the shortest interval is 100ms`);
      return null;
    }
    return { kind: "every", everyMs };
  }
  const expression = job.cron!.trim();
  const error = nicknameProblem(expression) ?? cronProblem(expression, timezone);
  if (error) {
    problems.push(`${at}.cron: "${expression}" ${error}`);
    return null;
  }
  return { kind: "cron", expression, timezone };
}

/** Nicknames other schedulers have and cron does not, with what to write in jobclock instead. */
function nicknameProblem(expression: string): string | null {
  const every = /^@every\s+(\S+)$/.exec(expression);
  if (every) return `is not cron (@every comes from other schedulers); for an interval write every: ${every[1]} instead of cron`;
  if (expression === "@reboot") return "is not supported; to run when jobclock starts, give a schedule and run_on_start: true";
  return null;
}

function cronProblem(expression: string, timezone: string): string | null {
  const fields = expression.split(/\s+/).length;
  if (!expression.startsWith("@") && (fields < 5 || fields > 6)) {
    return `has ${fields} field${fields === 1 ? "" : "s"}; a cron expression has 5 (minute hour day month weekday) or 6 (seconds first)`;
  }
  try {
    const cron = new Cron(expression, { timezone, paused: true, mode: "5-or-6-parts" });
    if (cron.nextRun() === null) return "never matches a date; check the day and month fields";
    return null;
  } catch (error) {
    const detail = (error as Error).message.replace(/^CronPattern: /, "");
    return `is not a valid cron expression (${detail}; examples: "*/5 * * * *", "0 30 2 * * *", "@hourly")`;
  }
}

function resolveAction(job: RawJob, at: string, ctx: ResolveContext, problems: string[]): JobAction | null {
  const given = (["command", "shell", "module"] as const).filter((k) => job[k] !== undefined);
  if (ctx.hasHandler) {
    if (given.length > 0) problems.push(`${at}: has a handler function and ${given.join(", ")}; give one or the other`);
    return given.length > 0 ? null : { kind: "handler" };
  }
  if (given.length !== 1) {
    const what = given.length === 0 ? "none" : given.join(" and ");
    problems.push(`${at}: has ${what} of "command", "shell" and "module"; give exactly one`);
    return null;
  }
  if (job.shell !== undefined) return job.shell.trim() ? { kind: "shell", script: job.shell } : (problems.push(`${at}.shell: is empty`), null);
  if (job.module !== undefined) {
    if (!job.module.trim()) return problems.push(`${at}.module: is empty; give the path of an ES module file`), null;
    const path = resolve(ctx.baseDir, job.module);
    const missing = fileProblem(path, false);
    if (missing) ctx.warnings?.push(`${at}.module: file ${path} ${missing}${relativeHint(job.module, missing)}; ${UNTIL_FIXED}`);
    return { kind: "module", path };
  }
  const split = Array.isArray(job.command) ? { argv: job.command } : splitCommand(job.command!);
  if ("error" in split) {
    problems.push(`${at}.command: ${split.error}`);
    return null;
  }
  const written = split.argv[0]!;
  if (written === "") return problems.push(`${at}.command: the program is empty; give its name or path first`), null;
  const program = resolveProgram(written, ctx.baseDir);
  if (program.includes("/")) {
    const missing = fileProblem(program, true);
    if (missing) ctx.warnings?.push(`${at}.command: ${program} ${missing}${relativeHint(written, missing)}; ${UNTIL_FIXED}`);
  } else if (ctx.warnings && !findInPath(program, job.env?.PATH !== undefined ? String(job.env.PATH) : ctx.searchPath ?? process.env.PATH)) {
    ctx.warnings.push(`${at}.command: program "${program}" is not found in PATH; install it or give its full path (${UNTIL_FIXED})`);
  }
  return { kind: "command", argv: [program, ...split.argv.slice(1)] };
}

/** Why a script or module file is unusable now, or null when it is fine. */
function fileProblem(path: string, mustExecute: boolean): string | null {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return MISSING;
  }
  if (stat.isDirectory()) return "is a folder, not a file";
  if (!stat.isFile()) return `is ${fileKind(stat)}, not a regular file`; // a FIFO would block the run that reads it
  if (mustExecute && !isExecutable(path)) return "is not executable (chmod +x it)";
  return null;
}

const MISSING = "does not exist";

/** Where relative paths start: said only for a missing path that was written relative. */
function relativeHint(written: string, problem: string): string {
  return problem === MISSING && !isAbsolute(written) ? " (relative paths start at the config's folder)" : "";
}

/** As spawn would: each PATH entry in turn; an empty entry is the current folder. */
function findInPath(program: string, searchPath: string | undefined): boolean {
  return (searchPath ?? "").split(":").some((dir) => isExecutable(join(dir || ".", program)));
}

/** `./x.sh` and `bin/x` are files next to the config; a bare `rsync` is looked up in PATH. */
function resolveProgram(program: string, baseDir: string): string {
  return program.includes("/") && !isAbsolute(program) ? resolve(baseDir, program) : program;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// Building an Intl.DateTimeFormat costs tens of microseconds; 100,000 jobs share a handful of zones.
const timezoneChecks = new Map<string, boolean>();

export function isTimezone(tz: string): boolean {
  let valid = timezoneChecks.get(tz);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      valid = true;
    } catch {
      valid = false;
    }
    timezoneChecks.set(tz, valid);
  }
  return valid;
}
