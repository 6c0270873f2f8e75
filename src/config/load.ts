import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { ConfigError } from "../errors.js";
import type { JobSpec } from "../job-spec.js";
import { parseDuration } from "../schedule/duration.js";
import { SpecInterner } from "../engine/intern.js";
import { interpolateTree } from "./interpolate.js";
import { resolveJob } from "./resolve-job.js";
import { configSchema, describeIssues, jobSchema, type RawConfig, type RawJob } from "./schema.js";
import { resolveStoreUrl } from "./store-url.js";
import { resolveHttp, type HttpConfig } from "./http.js";

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
}

/** PRODUCT §2: --config, else $JOBCLOCK_CONFIG, else ./jobclock.yaml. */
export function findConfigPath(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(explicit ?? env.JOBCLOCK_CONFIG ?? "jobclock.yaml");
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : `cannot be read (${code})`;
    throw new ConfigError([`${path} ${why}; pass --config PATH or set JOBCLOCK_CONFIG`], "no configuration", "read");
  }
  return parseConfig(text, path, env);
}

export function parseConfig(text: string, path: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => yamlProblem(e.code, e.message, e.linePos?.[0])), `${path} is not valid YAML`, "yaml");
  }
  const problems: string[] = [];
  const tree = interpolateTree(doc.toJS() ?? {}, env, problems);
  const parsed = configSchema.safeParse(tree, { reportInput: true });
  if (!parsed.success) throw new ConfigError([...problems, ...describeIssues(parsed.error)], `${path} has problems`);
  const config = buildConfig(parsed.data, path, env, problems);
  if (problems.length > 0) throw new ConfigError(problems, `${path} has problems`);
  return config;
}

/**
 * For commands that only need to find the store and the daemon (status, stop, jobs, runs, logs,
 * pause, resume, trigger): a typo in one job must not stop an operator from looking at, or
 * stopping, what is running. Job-level problems are returned instead of thrown; a config whose
 * YAML, store or pidfile cannot be read is still refused.
 */
export function loadConfigLeniently(path: string, env: NodeJS.ProcessEnv = process.env): { config: Config; problems: string[] } {
  try {
    return { config: loadConfig(path, env), problems: [] };
  } catch (error) {
    if (!(error instanceof ConfigError) || error.stage !== "validate") throw error;
    const doc = parseDocument(readFileSync(path, "utf8"));
    const tree = (interpolateTree(doc.toJS() ?? {}, env, []) ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    const log = (tree.log ?? {}) as Record<string, unknown>;
    const essentials: RawConfig = {
      store: text(tree.store), pidfile: text(tree.pidfile), shutdown_timeout: text(tree.shutdown_timeout),
      log: { file: text(log.file) },
      http: configSchema.shape.http.safeParse(tree.http).data,
    };
    const problems: string[] = [];
    const config = buildConfig(essentials, path, env, problems);
    if (problems.length > 0) throw error; // even the store or pidfile is unusable
    return { config, problems: error.problems };
  }
}

function buildConfig(raw: RawConfig, path: string, env: NodeJS.ProcessEnv, problems: string[]): Config {
  const dir = dirname(path);
  const ms = (value: string | undefined, fallback: number) => (value ? (parseDuration(value) ?? fallback) : fallback);
  const defaults: RawJob = raw.defaults ?? {};
  const jobs: JobSpec[] = [];
  const interner = new SpecInterner();
  for (const [name, value] of Object.entries(raw.jobs ?? {})) {
    const job = jobSchema.nullable().safeParse(value, { reportInput: true });
    if (!job.success) {
      problems.push(...describeIssues(job.error, ["jobs", name]));
      continue;
    }
    const spec = resolveJob(name, job.data ?? {}, defaults, { baseDir: dir }, problems);
    if (spec) jobs.push(interner.intern(spec));
  }
  const heartbeatMs = ms(raw.heartbeat, 5_000);
  const abandonAfterMs = ms(raw.abandon_after, 30_000);
  if (heartbeatMs < 1_000) problems.push(`heartbeat: ${raw.heartbeat} is too short; it must be at least 1s`);
  if (abandonAfterMs < 3 * heartbeatMs) {
    problems.push(`abandon_after: must be at least 3 × heartbeat (${3 * heartbeatMs}ms), or a slow heartbeat abandons live runs`);
  }
  const logFile = raw.log?.file;
  return {
    path, dir,
    store: resolveStoreUrl(env.JOBCLOCK_STORE || raw.store || "sqlite:./data/jobclock.db", dir, problems),
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
    jobs,
  };
}

function yamlProblem(code: string, message: string, pos: { line: number; col: number } | undefined): string {
  const where = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
  if (code === "DUPLICATE_KEY") return `${where}a key appears twice (for jobs: two jobs with the same name); rename or remove one`;
  return `${where}${message.split("\n")[0]}`;
}
