import { dirname, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import type { JobSpec } from "../job-spec.js";
import { parseDuration } from "../schedule/duration.js";
import { SpecInterner } from "./spec-interner.js";
import { readEnvFile } from "./env-file.js";
import { interpolateString, interpolateTree, newInterpolation, type Interpolation } from "./interpolate.js";
import { FileReadProblem, readTextFile } from "./read-file.js";
import { currentUserName } from "../os/users.js";
import { resolveJob } from "./resolve-job.js";
import { describeIssues, jobSchema, type RawConfig } from "./schema.js";
import { resolveStoreUrl } from "./store-url.js";
import { resolveHttp, type HttpConfig } from "./http.js";
import type { ConfigSecrets } from "./secrets.js";
import { checkTree } from "./validate.js";
import { Variables } from "./variables.js";
import { parseYamlTree } from "./yaml.js";

export interface LogConfig {
  file: string | null;
  level: "trace" | "debug" | "info" | "warn" | "error";
  format: "text" | "json";
}

/** The whole config, resolved: absolute paths, milliseconds, defaults applied. */
export interface Config {
  path: string;
  dir: string;
  store: string;
  pidfile: string;
  log: LogConfig;
  shutdownTimeoutMs: number;
  heartbeatMs: number;
  abandonAfterMs: number;
  retention: { keepRuns: number; keepMs: number };
  notify: RawConfig["notify"] | null;
  /** null: `http: false`. */
  http: HttpConfig | null;
  jobs: JobSpec[];
  /** The env_file that `${NAME}` also read, if any. */
  envFile: string | null;
  /** Not problems, but worth saying (`validate` lists them): files a job needs that are missing. */
  warnings: string[];
  /** Variables to hide from jobs and values to redact from listings (see secrets.ts). */
  secrets: ConfigSecrets;
}

// A config of 100,000 jobs is a few MB; a file far larger than this was not meant as one.
const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/** --config, else $JOBCLOCK_CONFIG, else ./jobclock.yaml: an explicit choice wins over the environment, which wins over the folder. */
export function findConfigPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit || env.JOBCLOCK_CONFIG || "jobclock.yaml");
}

/** The whole config, or a ConfigError listing every problem (exit 2). */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(readConfigText(path), path, env);
}

export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): Config {
  const reading = readConfig(text, path, env);
  if (reading.problems.length > 0) throw new ConfigError(reading.problems, `${path} has problems`);
  return reading.config;
}

/**
 * For commands that only need to find the store and the daemon (status, stop, jobs, runs, logs,
 * check, pause, resume, trigger): a typo in one job must not stop an operator from looking at,
 * or stopping, what is running. Problems are returned for a warning instead of thrown, except
 * those that make the store or pidfile unusable. Secrets these commands never use (a variable
 * under notify: or http.token, or an env_file only the service user may read) are not even
 * mentioned: the operator's shell is not expected to have them.
 */
export function loadConfigLeniently(path: string, env: NodeJS.ProcessEnv = process.env): { config: Config; problems: string[] } {
  const reading = readConfig(readConfigText(path), path, env);
  const shown = reading.problems.filter((p) => !reading.quiet.has(p));
  if (reading.problems.some((p) => isEssential(p))) throw new ConfigError(shown, `${path} has problems`);
  return { config: reading.config, problems: shown };
}

function readConfigText(path: string): string {
  try {
    return readTextFile(path, MAX_CONFIG_BYTES).text;
  } catch (error) {
    if (!(error instanceof FileReadProblem)) throw error;
    const fix = error.code === "EISDIR"
      ? `; give the config file's path, e.g. ${resolve(path, "jobclock.yaml")}`
      : error.code === "EACCES" || error.code === "EPERM"
        ? ` for ${currentUserName()}; make it readable for the users who run jobclock (e.g. \`chgrp jobclock ${path} && chmod g+r ${path}\`), or run this as its owner`
        : "; pass --config PATH or set JOBCLOCK_CONFIG";
    throw new ConfigError([`${path} ${error.why}${fix}`], "no configuration", "read");
  }
}

interface Reading {
  /** Built from every valid part; invalid parts are left at their defaults. */
  config: Config;
  /** Every problem, in order, without the follow-ons of a variable that has no value. */
  problems: string[];
  /** The problems operational commands do not mention (secrets they never use). */
  quiet: Set<string>;
}

function readConfig(text: string, path: string, env: NodeJS.ProcessEnv): Reading {
  const tree = parseYamlTree(text, path);
  const dir = dirname(path);
  const envFile = readEnvFileOf(tree, dir, env);
  const found = newInterpolation();
  const interpolated = interpolateTree(tree, envFile.variables, found) as Record<string, unknown>;
  const problems: string[] = [];
  const warnings: string[] = [];
  const checked = checkTree(interpolated, problems);
  const jobs: JobSpec[] = [];
  const interner = new SpecInterner();
  for (const [name, value] of checked.jobs) {
    const job = jobSchema.nullable().safeParse(value, { reportInput: true });
    if (!job.success) {
      problems.push(...describeIssues(job.error, ["jobs", name]));
      continue;
    }
    const spec = resolveJob(name, job.data ?? {}, checked.defaults, { baseDir: dir, warnings, searchPath: env.PATH }, problems);
    if (spec) jobs.push(interner.intern(spec));
  }
  const config = buildConfig(checked.raw, path, env, problems);
  config.jobs = jobs;
  config.envFile = envFile.path;
  config.warnings = warnings;
  config.secrets = secretsOf(found, envFile.values);
  return classify(envFile, found, problems, config);
}

// `${NAME}` under these keys feeds jobclock's own secrets (webhooks, the API token, the store's password).
const OWN_SECRET_KEYS = /^(notify|http|store)(\.|$)/;

function secretsOf(found: Interpolation, envFileValues: ReadonlyMap<string, string> | null): ConfigSecrets {
  const variables = new Set(found.used.filter((u) => OWN_SECRET_KEYS.test(u.at)).map((u) => u.name));
  // Every value of the env_file, used or not, and each value a reference gave (the environment's wins over the file's).
  const values: [string, string][] = [...(envFileValues ?? [])];
  for (const u of found.used) if (u.value !== null) values.push([u.name, u.value]);
  return { variables: [...variables].sort(), values };
}

/** `env_file:` read before anything else, so `${NAME}` anywhere can use its values. */
function readEnvFileOf(tree: Record<string, unknown>, dir: string, env: NodeJS.ProcessEnv) {
  const given = Object.hasOwn(tree, "env_file") ? tree.env_file : undefined;
  // A wrong type or an empty path is reported by the schema; its own path may use the environment.
  if (typeof given !== "string" || given.trim() === "") return { path: null, problems: [], unreadable: false, variables: new Variables(env), values: null };
  const own = newInterpolation();
  const path = resolve(dir, interpolateString(given, new Variables(env), own, "env_file"));
  if (own.failedPaths.size > 0) return { path, problems: [], unreadable: false, variables: new Variables(env), values: null }; // reported with the others
  const result = readEnvFile(path);
  if (result.ok) return { path, problems: [], unreadable: false, variables: new Variables(env, result.vars, path), values: result.vars };
  const why = result.unreadable ? "it cannot be read: permission denied" : "see its problem above";
  return { path, problems: result.problems, unreadable: result.unreadable, variables: new Variables(env, null, path, why), values: null };
}

function classify(envFile: ReturnType<typeof readEnvFileOf>, found: Interpolation, later: string[], config: Config): Reading {
  const quiet = new Set<string>(envFile.unreadable ? envFile.problems : []);
  const missing = found.missing.map((p) => `${p.at}: ${p.text}`);
  found.missing.forEach((p, i) => {
    const secretOnly = p.at.startsWith("notify.") || p.at === "http.token";
    if ((secretOnly || envFile.unreadable) && !isEssential(missing[i]!)) quiet.add(missing[i]!);
  });
  // A value whose variable is missing would also fail its own checks ("" is not a URL): say it once.
  const followsOn = (problem: string) => {
    const at = problemPath(problem);
    return [...found.failedPaths].some((failed) => at === failed || at.startsWith(`${failed}.`));
  };
  const problems = [...envFile.problems, ...missing, ...found.invalid.map((p) => `${p.at}: ${p.text}`), ...later.filter((p) => !followsOn(p))];
  return { config, problems, quiet };
}

/** `jobs.a.every: "x" is not a duration` → `jobs.a.every`. */
function problemPath(problem: string): string {
  const end = problem.indexOf(": ");
  return end === -1 ? problem : problem.slice(0, end);
}

/** Problems that leave an operational command without a store or pidfile to work with. */
function isEssential(problem: string): boolean {
  return /^(store|pidfile)(\.|:)/.test(problem);
}

/** The top level, resolved; `jobs` are filled in by the caller. */
function buildConfig(raw: RawConfig, path: string, env: NodeJS.ProcessEnv, problems: string[]): Config {
  const dir = dirname(path);
  const ms = (value: string | undefined, fallback: number) => (value ? (parseDuration(value) ?? fallback) : fallback);
  const heartbeatMs = ms(raw.heartbeat, 5_000);
  const abandonAfterMs = ms(raw.abandon_after, 30_000);
  if (heartbeatMs < 1_000) problems.push(`heartbeat: ${raw.heartbeat} is too short; it must be at least 1s`);
  if (abandonAfterMs < 3 * heartbeatMs) {
    problems.push(`abandon_after: must be at least 3 × heartbeat (${3 * heartbeatMs}ms), or a slow heartbeat abandons live runs`);
  }
  const logFile = raw.log?.file;
  return {
    path, dir,
    // A blank JOBCLOCK_STORE is unset, as an empty one is (surrounding whitespace is trimmed off a URL).
    store: resolveStoreUrl(env.JOBCLOCK_STORE?.trim() || raw.store || "sqlite:./data/jobclock.db", dir, problems),
    pidfile: resolve(dir, raw.pidfile ?? "./run/jobclock.pid"),
    log: {
      file: logFile === false ? null : resolve(dir, logFile ?? "./logs/jobclock.log"),
      level: raw.log?.level ?? "info",
      format: raw.log?.format ?? "text",
    },
    shutdownTimeoutMs: ms(raw.shutdown_timeout, 30_000),
    heartbeatMs,
    abandonAfterMs,
    retention: { keepRuns: raw.retention?.runs ?? 1_000, keepMs: ms(raw.retention?.age, 30 * 86_400_000) },
    notify: raw.notify ?? null,
    http: resolveHttp(raw.http, problems),
    jobs: [],
    envFile: null,
    warnings: [],
    secrets: { variables: [], values: [] },
  };
}
