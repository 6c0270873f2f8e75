import cronstrue from "cronstrue";
import { knownSecrets, type KnownSecrets } from "./config/secrets.js";
import { jobHealth } from "./health/job-health.js";
import type { Health } from "./health/evaluate.js";
import type { JobSpec } from "./job-spec.js";
import type { JobRecord, RunRecord } from "./store/types.js";

/**
 * How jobs and runs are shown outside the process: `jobclock … --json` and the HTTP API share
 * these shapes, so a script written against one works against the other.
 */

/**
 * A job as listings show it (`jobs --json`, the API): its `env` values are often secrets
 * (tokens, passwords), so only the names show; and every value the config brought in from
 * env_file or `${NAME}` (6 characters or more) reads `${NAME}` wherever it was substituted, as in
 * a `command` or `shell`.
 */
export function redactSecrets(job: JobRecord, secrets: Pick<KnownSecrets, "redact"> = knownSecrets): JobRecord {
  const env = Object.fromEntries(Object.keys(job.spec.env).map((k) => [k, "***"]));
  return { ...job, spec: { ...redactStrings(job.spec, secrets), env } };
}

/** A copy of a JSON-like value with each string redacted. */
function redactStrings<T>(value: T, secrets: Pick<KnownSecrets, "redact">): T {
  if (typeof value === "string") return secrets.redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, secrets)) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v, secrets)])) as T;
}

const UNITS: [string, number][] = [["day", 86_400_000], ["hour", 3_600_000], ["minute", 60_000], ["second", 1_000], ["millisecond", 1]];
const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
};

// Jobs share few distinct schedules; the dashboard asks for all of them every two seconds.
const WORDS_MEMO_LIMIT = 10_000;
const wordsMemo = new Map<string, string>();

/** "every 5 minutes", "every 1 hour 30 minutes", "at 02:30 Europe/London", "every 10 seconds". */
export function scheduleInWords(spec: JobSpec): string {
  const s = spec.schedule;
  const key = s.kind === "every" ? `e${s.everyMs}` : `c${s.timezone} ${s.expression}`;
  let words = wordsMemo.get(key);
  if (words === undefined) {
    words = describe(s);
    if (wordsMemo.size < WORDS_MEMO_LIMIT) wordsMemo.set(key, words);
  }
  return words;
}

function describe(s: JobSpec["schedule"]): string {
  if (s.kind === "every") return `every ${durationInWords(s.everyMs)}`;
  let text: string;
  try {
    text = cronstrue.toString(NICKNAMES[s.expression] ?? s.expression, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    text = `cron ${s.expression}`;
  }
  return `${text.charAt(0).toLowerCase()}${text.slice(1)} ${s.timezone}`;
}

function durationInWords(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(n === 1 && parts.length === 0 && rest === size ? unit : `${n} ${unit}${n === 1 ? "" : "s"}`);
    rest -= n * size;
  }
  return parts.join(" ") || "0 milliseconds";
}

export interface JobView {
  name: string;
  description: string | null;
  tags: string[];
  schedule: { text: string } & JobSpec["schedule"];
  action: JobSpec["action"]["kind"];
  overlap: JobSpec["overlap"];
  paused: boolean;
  retired: boolean;
  health: Health | null;
  lastRun: { id: number; status: RunRecord["status"] | null; startedAt: number | null; finishedAt: number | null; durationMs: number | null } | null;
  nextSlot: number | null;
  running: number;
}

export function jobView(job: JobRecord, now: number): JobView {
  const { spec } = job;
  // The last run started is shown. The job's last status belongs to the run that finished
  // last, which (overlap: allow) may be an older one: while the newest still runs, say so.
  const newestEnded = job.lastStartedAt !== null && job.lastFinishedAt !== null && job.lastFinishedAt >= job.lastStartedAt;
  const stillRunning = !newestEnded && job.runningCount > 0;
  const durationMs = newestEnded ? job.lastFinishedAt! - job.lastStartedAt! : null;
  return {
    // Free text may hold a `${NAME}` value too (see redactSecrets).
    name: job.name, description: redactStrings(spec.description, knownSecrets), tags: redactStrings(spec.tags, knownSecrets),
    schedule: { ...spec.schedule, text: scheduleInWords(spec) },
    action: spec.action.kind, overlap: spec.overlap, paused: job.paused, retired: job.retiredAt !== null,
    health: job.retiredAt === null ? jobHealth(job, now) : null,
    lastRun: job.lastRunId === null ? null : {
      id: job.lastRunId, status: stillRunning ? "running" : job.lastStatus, startedAt: job.lastStartedAt,
      finishedAt: stillRunning ? null : job.lastFinishedAt, durationMs,
    },
    nextSlot: job.paused || job.retiredAt !== null ? null : job.nextSlot,
    running: job.runningCount,
  };
}

export interface RunView extends RunRecord {
  durationMs: number | null;
}

export function runView(run: RunRecord): RunView {
  const durationMs = run.startedAt !== null && run.finishedAt !== null ? Math.max(0, run.finishedAt - run.startedAt) : null;
  return { ...run, durationMs };
}
