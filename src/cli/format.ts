import type { JobSpec } from "../job-spec.js";
import { formatDuration } from "../schedule/duration.js";
import type { RunRecord } from "../store/types.js";

/** A plain aligned table; the last column is not padded so long errors do not wrap everything. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return "-";
  const d = now - ms;
  if (Math.abs(d) < 1_000) return "now";
  return d >= 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}

export function describeSchedule(spec: JobSpec): string {
  const s = spec.schedule;
  return s.kind === "every" ? `every ${formatDuration(s.everyMs)}` : `cron ${s.expression}${s.timezone === "UTC" ? "" : ` ${s.timezone}`}`;
}

export function runDuration(run: RunRecord, now = Date.now()): string {
  if (run.startedAt === null) return "-";
  // A run claimed ahead of its slot is recorded with its start a few milliseconds ahead.
  return formatDuration(Math.max(0, (run.finishedAt ?? now) - run.startedAt));
}

export function firstLine(text: string | null, max = 80): string {
  if (!text) return "";
  const line = text.split("\n")[0]!;
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function iso(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString().replace(".000Z", "Z");
}
