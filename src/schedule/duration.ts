/**
 * Durations as written in the config: `500ms`, `30s`, `5m`, `1h30m`, `1d`, `2w`.
 * Units may be combined largest first; a bare number is refused because "5" could mean anything.
 * At most MAX_DURATION_MS: a slot or deadline further away than that is a typo, and it would
 * overflow what Date (±8.64e15 ms) and the stores' integer columns hold once added to "now".
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

export const DURATION_EXAMPLES = "examples: 500ms, 30s, 5m, 1h30m, 1d";

/** 100 years (36500d): the longest duration jobclock accepts anywhere. */
export const MAX_DURATION_MS = 36_500 * 86_400_000;
export const MAX_DURATION_TEXT = "36500d (100 years)";

/** Milliseconds for a duration string, or `null` if it is not one (or is longer than the maximum). */
export function parseDuration(text: string): number | null {
  const total = parseUnbounded(text);
  return total !== null && total <= MAX_DURATION_MS ? total : null;
}

/** Why parseDuration refused `text`, for a message after the key: `"5 minutes" is not a duration (…)`. */
export function durationProblem(text: string): string {
  const input = text.trim();
  if (/^\d+(\.\d+)?$/.test(input)) return `"${text}" has no unit; durations need a unit: write ${input}s`;
  const parsed = parseParts(text);
  if (parsed === "unit order") {
    return `"${text}" repeats a unit or puts a smaller one first; write each unit once, largest first (e.g. 1h30m, 1m30s)`;
  }
  if (typeof parsed === "number" && parsed > MAX_DURATION_MS) return `"${text}" is too long; the longest duration is ${MAX_DURATION_TEXT}`;
  return `"${text}" is not a duration (${DURATION_EXAMPLES})`;
}

function parseUnbounded(text: string): number | null {
  const parsed = parseParts(text);
  return typeof parsed === "number" ? parsed : null;
}

/**
 * The milliseconds, or why not. Each unit at most once and largest first: `5m5m` is more likely
 * a slip (or a merge of two values) than a way to write 10m, and was silently read as 10m.
 */
function parseParts(text: string): number | "unit order" | null {
  const input = text.trim();
  if (input === "") return null;
  let total = 0;
  let previous = Infinity;
  let ordered = true;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const start = PART.lastIndex;
    const match = PART.exec(input);
    if (!match || match.index !== start) return null;
    const unit = UNIT_MS[match[2]!] ?? NaN;
    if (!(unit < previous)) ordered = false;
    previous = unit;
    total += Number(match[1]) * unit;
  }
  if (!ordered) return "unit order";
  return Number.isFinite(total) ? Math.round(total) : null;
}

/** A compact human form: 90_000 → "1m30s", 1500 → "1.5s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(Math.round(ms));
  if (rest < 1_000) return `${sign}${rest}ms`;
  if (rest < 60_000) return `${sign}${trimZeros((rest / 1_000).toFixed(1))}s`;
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return sign + parts.slice(0, 2).join("");
}

function trimZeros(s: string): string {
  return s.replace(/\.0$/, "");
}
