import cronstrue from "cronstrue";
import type { JobSpec } from "../job-spec.js";

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
