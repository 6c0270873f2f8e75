import { z } from "zod";
import { durationProblem, parseDuration } from "../schedule/duration.js";
import { ENV_NAME, ENV_NAME_RULE, NUL_FIX, nulIn, shownName } from "./env-values.js";

/**
 * The shape of jobclock.yaml. Structure and types only: meaning (cron, timezones,
 * files) is checked in resolve-job.ts with messages that name the key. Every object is strict,
 * so an unknown key is an error, never silently ignored. Maps whose keys are the user's (jobs,
 * env) are never rebuilt by zod: a key such as "__proto__" would silently vanish.
 */
function durationSchema(allowNone: boolean) {
  return z.unknown().superRefine((value, ctx) => {
    const message =
      typeof value === "number" ? `${value} is a number; durations need a unit: write ${value}s`
      : typeof value !== "string" ? `expected a duration such as 30s or 5m${allowNone ? ', or "none"' : ""}, got ${describeInput(value)}`
      : allowNone && value === "none" ? null
      : parseDuration(value) === null ? durationProblem(value)
      : null;
    if (message) ctx.addIssue({ code: "custom", message });
  }).transform((value) => value as string);
}
const duration = durationSchema(false);
const durationOrNone = durationSchema(true);

/** A path the user must give when the key is there: "" would become the config's folder. */
function pathSchema(instead: string) {
  return z.string().refine((value) => value.trim() !== "", { message: `is empty; ${instead}` });
}

/** Webhook URLs are secrets: a bad one is described without being echoed. */
const httpUrl = z.string().superRefine((value, ctx) => {
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(value).protocol);
  } catch {
    ok = false;
  }
  if (!ok) ctx.addIssue({ code: "custom", message: "is not an http(s) URL (expected https://…)" });
});

/**
 * `env:` names are variable names; values are strings, numbers or booleans without control
 * characters. Checked entry by entry on the map as given. A value is never repeated in a message:
 * env values are where secrets go.
 */
const envSchema = z.unknown().superRefine((value, ctx) => {
  if (!isMap(value)) {
    ctx.addIssue({ code: "custom", message: `expected a map of NAME: value, got ${describeInput(value)}` });
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (!ENV_NAME.test(key)) {
      ctx.addIssue({ code: "custom", message: `${shownName(key)} is not a variable name (${ENV_NAME_RULE}); write NAME: value` });
    } else if (!["string", "number", "boolean"].includes(typeof v)) {
      ctx.addIssue({ code: "custom", path: [key], message: `expected a string, number or boolean, got ${describeInput(v)}` });
    } else {
      // Line breaks are fine (a PEM key); a NUL makes every spawn fail, quoting the value.
      const nul = typeof v === "string" ? nulIn(v) : null;
      if (nul) ctx.addIssue({ code: "custom", path: [key], message: `contains ${nul}; ${NUL_FIX}` });
    }
  }
}).transform((value) => value as Record<string, string | number | boolean>);

export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const JOB_KEYS = [
  "every", "cron", "timezone", "command", "shell", "module", "cwd", "env", "timeout", "kill_grace",
  "overlap", "catchup", "catchup_window", "jitter", "run_on_start", "retries", "grace", "remind", "paused",
  "description", "tags",
] as const;

export const jobFields = {
  every: duration.optional(),
  cron: z.string().optional(),
  timezone: z.string().optional(),
  command: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  shell: z.string().optional(),
  module: z.string().optional(),
  cwd: z.string().optional(),
  env: envSchema.optional(),
  timeout: durationOrNone.optional(),
  kill_grace: duration.optional(),
  overlap: z.enum(["skip", "queue", "allow", "replace"]).optional(),
  catchup: z.enum(["once", "none", "all"]).optional(),
  catchup_window: duration.optional(),
  jitter: duration.optional(),
  run_on_start: z.boolean().optional(),
  retries: z
    .union([
      z.number().int().min(0),
      z.strictObject({ max: z.number().int().min(0).max(100), delay: duration.optional() }),
    ])
    .optional(),
  grace: duration.optional(),
  remind: durationOrNone.optional(),
  paused: z.boolean().optional(),
  description: z.string().optional(),
  tags: z.array(z.string()).optional(),
};

export const jobSchema = z.strictObject(jobFields);
export type RawJob = z.infer<typeof jobSchema>;

/** `http: false`, or `{ listen, token }`; a map's own problems are reported key by key. */
function httpSchema() {
  // A bare number is a port on loopback, as a string of digits is.
  const map = z.strictObject({ listen: z.union([z.string(), z.number().int().min(0).transform(String)]).optional(), token: z.string().optional() });
  return z.unknown().transform((value, ctx): false | z.infer<typeof map> => {
    if (value === false) return false;
    if (!isMap(value)) {
      ctx.issues.push({ code: "custom", message: `expected false, or a map with listen and token, got ${describeInput(value)}`, input: value });
      return z.NEVER;
    }
    const parsed = map.safeParse(value, { reportInput: true });
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, input: issue.input } as never);
    return z.NEVER;
  });
}

/** Top-level keys, each checked on its own (see validate.ts) so one problem does not hide another. */
export const topFields = {
  store: z.string().refine((v) => v.trim() !== "", { message: "is empty; write sqlite:./data/jobclock.db, postgres://user@host:5432/db, or remove the key" }).optional(),
  env_file: pathSchema("give the path of a KEY=VALUE file, or remove the key").optional(),
  pidfile: pathSchema("give a file path such as ./run/jobclock.pid, or remove the key for that default").optional(),
  log: z
    .strictObject({
      file: z.union([pathSchema("give a file path such as ./logs/jobclock.log, or write false for no log file"), z.literal(false)]).optional(),
      level: z.enum(["trace", "debug", "info", "warn", "error"]).optional(),
      format: z.enum(["text", "json"]).optional(),
    })
    .optional(),
  shutdown_timeout: duration.optional(),
  heartbeat: duration.optional(),
  abandon_after: duration.optional(),
  retention: z.strictObject({ runs: z.number().int().min(1).optional(), age: duration.optional() }).optional(),
  defaults: jobSchema.optional(),
  notify: z
    .strictObject({
      slack: z.strictObject({ webhook: httpUrl, channel: z.string().optional(), username: z.string().optional() }).optional(),
      webhooks: z.array(z.strictObject({ url: httpUrl, secret: z.string().min(1).optional() })).optional(),
    })
    .optional(),
  http: httpSchema().optional(),
  // Jobs are checked one by one (see validate.ts) so one broken job does not hide another's problems.
  jobs: z.unknown().optional(),
};
export const configSchema = z.strictObject(topFields);
export type RawConfig = z.infer<typeof configSchema>;

/** Turns zod's issues into `path.to.key: what is wrong (what is expected)` lines. */
export function describeIssues(error: z.ZodError, prefix: PropertyKey[] = []): string[] {
  return error.issues.map((raw) => {
    const issue = { ...raw, path: [...prefix, ...raw.path] } as z.core.$ZodIssue;
    const path = issue.path.map(String).join(".") || "(top level)";
    // Values under notify: and http: are URLs and secrets: say what is wrong without repeating them.
    if ((issue.path[0] === "notify" || issue.path[0] === "http") && "input" in issue) (issue as { input?: unknown }).input = "(hidden)";
    switch (issue.code) {
      case "unrecognized_keys": {
        return unknownKeysProblem(issue.path, issue.keys);
      }
      case "invalid_type":
        return `${path}: expected ${issue.expected}, got ${describeInput(issue.input)}`;
      case "too_small":
      case "too_big":
        return `${path}: ${describeInput(issue.input)} is out of range (${issue.message})`;
      case "invalid_value":
        return `${path}: ${describeInput(issue.input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
      case "invalid_union":
        return `${path}: ${describeInput(issue.input)} is not valid here${unionHint(issue.path)}`;
      default:
        return `${path}: ${issue.message}`;
    }
  });
}

const TOP_KEYS = Object.keys(topFields);
const HTTP_KEYS = ["listen", "token"];
const LOG_KEYS = ["file", "level", "format"];

/** `path: unknown key "evrey" (did you mean "every"?) (allowed: …)`. */
export function unknownKeysProblem(at: PropertyKey[], keys: string[]): string {
  const path = at.map(String).join(".") || "(top level)";
  const allowed = allowedKeys(at);
  const listed = keys.map((k) => `${JSON.stringify(k.length > 60 ? `${k.slice(0, 60)}…` : k)}${didYouMean(k, allowed)}`).join(", ");
  return `${path}: unknown key${keys.length > 1 ? "s" : ""} ${listed}${allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`;
}

function allowedKeys(path: PropertyKey[]): readonly string[] {
  if ((path[0] === "jobs" && path.length === 2) || (path[0] === "defaults" && path.length === 1)) return JOB_KEYS;
  if (path.length === 0) return TOP_KEYS;
  if (path[0] === "log" && path.length === 1) return LOG_KEYS;
  if (path[0] === "http" && path.length === 1) return HTTP_KEYS;
  return [];
}

/** ` (did you mean "every"?)` for a key one or two edits away from an allowed one. */
function didYouMean(key: string, allowed: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) (best = candidate), (bestDistance = d);
  }
  return best ? ` (did you mean "${best}"?)` : "";
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function unionHint(path: PropertyKey[]): string {
  const key = String(path[path.length - 1]);
  if (key === "timeout") return ` (a duration such as 10m, or "none")`;
  if (key === "command") return " (a command line string, or a list of arguments)";
  if (key === "retries") return " (a number of retries, or { max: 3, delay: 30s })";
  if (path[0] === "jobs" && path.length === 2) return " (a job is a map of keys such as every/cron and command/shell/module)";
  if (key === "http") return " (false, or a map with listen and token)";
  if (key === "listen") return " (host:port such as 127.0.0.1:7420, or a port number)";
  return "";
}

export function describeInput(input: unknown): string {
  if (input === "(hidden)") return "the value given";
  if (input === undefined) return "nothing";
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "object") return "a map";
  return JSON.stringify(input);
}
