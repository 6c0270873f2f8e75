import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/schedule/duration.js";

describe("parseDuration", () => {
  it.each([
    ["500ms", 500], ["30s", 30_000], ["5m", 300_000], ["1h30m", 5_400_000], ["1d", 86_400_000],
    ["2w", 1_209_600_000], ["1.5s", 1_500], ["1h0m5s", 3_605_000], [" 10s ", 10_000],
  ])("reads %s", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["5 minutes", "5", "", "m5", "5x", "1h 30m", "-5s", "5m trailing"])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe("formatDuration", () => {
  it.each([[250, "250ms"], [1_500, "1.5s"], [90_000, "1m30s"], [3_600_000, "1h"], [90_061_000, "1d1h"]])(
    "writes %d as %s", (ms, text) => expect(formatDuration(ms)).toBe(text),
  );
});
