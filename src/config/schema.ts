import { z } from "zod";
import { DURATION_EXAMPLES, parseDuration } from "../schedule/duration.js";

/**
 * The shape of jobclock.yaml (PRODUCT §2). Structure and types only: meaning (durations,
 * cron, timezones, files) is checked in resolve.ts with messages that name the key.
 * Every object is strict, so an unknown key is an error, never silently ignored.
 */
const duration = z.string().superRefine((value, ctx) => {
  if (parseDuration(value) === null) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration (${DURATION_EXAMPLES})` });
  }
});
const durationOrNone = z.union([z.literal("none"), duration]);

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
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
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

export const configSchema = z.strictObject({
  store: z.string().optional(),
  pidfile: z.string().optional(),
  log: z
    .strictObject({
      file: z.union([z.string(), z.literal(false)]).optional(),
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
  http: z.union([z.literal(false), z.strictObject({ listen: z.string().optional(), token: z.string().optional() })]).optional(),
  // Jobs are validated one by one (see load.ts) so one broken job does not hide another's problems.
  jobs: z.record(z.string(), z.unknown()).optional(),
});
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
        const allowed = allowedKeys(issue.path);
        const keys = issue.keys.map((k) => `"${k}"${didYouMean(k, allowed)}`).join(", ");
        return `${path}: unknown key${issue.keys.length > 1 ? "s" : ""} ${keys}${allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`;
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

const TOP_KEYS = ["store", "pidfile", "log", "shutdown_timeout", "heartbeat", "abandon_after", "retention", "defaults", "notify", "http", "jobs"];
const HTTP_KEYS = ["listen", "token"];
const LOG_KEYS = ["file", "level", "format"];

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
  return "";
}

function describeInput(input: unknown): string {
  if (input === "(hidden)") return "the value given";
  if (input === undefined) return "nothing";
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "object") return "a map";
  return JSON.stringify(input);
}
