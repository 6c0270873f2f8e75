import { afterEach, expect, it } from "vitest";
import type { Logger } from "../../src/logger.js";
import { makeSpec } from "../helpers/spec.js";
import { every, startOn, type Harness } from "../helpers/engine-harness.js";
import { describeOnEachStore } from "../helpers/engine-stores.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A logger that keeps each line as `LEVEL message {fields}`. */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (obj: object | string, msg?: string) =>
    void lines.push(typeof obj === "string" ? `${level} ${obj}` : `${level} ${msg ?? ""} ${JSON.stringify(obj)}`);
  return { lines, logger: { trace: at("TRACE"), debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR") } };
}

describeOnEachStore("engine: control events and start-up messages", (on) => {
  it("logs every pause, resume, trigger and apply with where it came from, including another process's", async () => {
    const { logger, lines } = capture();
    h = await startOn(on, [makeSpec("a", every(60_000))], { a: () => {} }, { logger, syncMs: 250 });
    const cli = await h.openOther();
    await cli.setPaused("a", true, h.clock.now(), "cli alice@web1");
    await cli.requestTrigger("a", h.clock.now(), "cli bob@web2");
    await cli.applyJobs([makeSpec("a", every(60_000)), makeSpec("b", every(60_000))], h.clock.now(), { source: "cli alice@web1", guard: true });
    await h.engine.resume("a", "api 10.0.0.7 via web1");
    await h.clock.advance(500);
    const control = lines.filter((l) => /job paused|job resumed|run requested|config applied/.test(l));
    expect(control).toEqual([
      expect.stringMatching(/^INFO config applied .*"by":"library on .*"added":\["a"\]/), // the engine's own, at start
      expect.stringMatching(/^INFO job paused .*"job":"a","by":"cli alice@web1"/),
      expect.stringMatching(/^INFO run requested .*"job":"a","by":"cli bob@web2"/),
      expect.stringMatching(/^INFO config applied .*"by":"cli alice@web1".*"added":\["b"\]/),
      expect.stringMatching(/^INFO job resumed .*"by":"api 10.0.0.7 via web1"/),
    ]);
  });

  it("a config apply that retires jobs is logged as a warning on every instance", async () => {
    const { logger, lines } = capture();
    h = await startOn(on, [makeSpec("a", every(60_000)), makeSpec("b", every(60_000)), makeSpec("c", every(60_000))], {}, { logger, syncMs: 250 });
    const other = await h.openOther();
    await other.applyJobs([makeSpec("a", every(60_000)), makeSpec("b", every(60_000))], h.clock.now(), { source: "start on web2", guard: true });
    await h.clock.advance(500);
    expect(lines.filter((l) => /config applied/.test(l)).at(-1)).toMatch(/^WARN config applied: 1 job\(s\) retired .*"by":"start on web2".*"retired":\["c"\]/);
  });

  it("at start, slots that passed while no daemon ran are said so, not taken for a clock jump", async () => {
    const { logger, lines } = capture();
    h = await startOn(on, [makeSpec("n", every(1_000))], { n: () => {} }, { logger, start: false });
    await h.clock.advance(90_000); // the config was applied 90 s before the first daemon starts
    await h.engine.start();
    await h.clock.advance(2_000);
    expect(lines.some((l) => /timer woke .* late/.test(l))).toBe(false);
    expect(lines.some((l) => /^INFO slots came due while no daemon was running/.test(l))).toBe(true);
  });
});
