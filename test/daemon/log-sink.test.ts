import { describe, expect, it } from "vitest";
import { formatText } from "../../src/daemon/log-sink.js";

describe("text log format", () => {
  it("writes one readable line per event, with its fields", () => {
    const line = JSON.stringify({ level: 30, time: "2026-11-26T20:10:41.123Z", msg: "run succeeded", job: "sync", run: 12, durationMs: 830 });
    expect(formatText(line)).toBe("2026-11-26T20:10:41.123Z INFO  run succeeded job=sync run=12 durationMs=830\n");
  });

  it("quotes values with spaces and shows errors by message", () => {
    const line = JSON.stringify({ level: 40, time: "2026-11-26T20:10:41.123Z", msg: "x", error: "exited with code 3", err: { message: "boom", code: "E1" } });
    expect(formatText(line)).toBe('2026-11-26T20:10:41.123Z WARN  x error="exited with code 3" err="E1: boom"\n');
  });
});
