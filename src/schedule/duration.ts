/**
 * Durations as written in the config: `500ms`, `30s`, `5m`, `1h30m`, `1d`, `2w`.
 * Units may be combined largest first; a bare number is refused because "5" could mean anything.
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

/** Milliseconds for a duration string, or `null` if it is not one. */
export function parseDuration(text: string): number | null {
  const input = text.trim();
  if (input === "") return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const start = PART.lastIndex;
    const match = PART.exec(input);
    if (!match || match.index !== start) return null;
    total += Number(match[1]) * (UNIT_MS[match[2]!] ?? NaN);
  }
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
