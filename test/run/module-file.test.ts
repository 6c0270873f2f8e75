import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { Cancellation } from "../../src/run/cancellation.js";
import { runAttempt } from "../../src/run/runner.js";
import type { AttemptRequest } from "../../src/run/types.js";
import type { JobSpec } from "../../src/job-spec.js";
import { makeSpec, tempDir } from "../helpers/spec.js";

function request(spec: JobSpec): AttemptRequest {
  return { runId: 1, spec, slot: Date.UTC(2026, 4, 1), attempt: 1, cancel: new Cancellation(), clock: systemClock };
}

const fifos: string[] = [];

// A reader blocked in open() on a FIFO (the old code's worker import) is freed by a writer
// opening it; then this test process can exit whatever the code under test did.
afterEach(() => {
  for (const fifo of fifos.splice(0)) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
});

describe("a module job's file", () => {
  it("a FIFO fails the run at once with a clear error, holding no thread (was: each run blocked a thread-pool thread for ever)", async () => {
    const fifo = join(tempDir(), "job.mjs");
    execFileSync("mkfifo", [fifo]);
    fifos.push(fifo);
    const spec = makeSpec("piped", { action: { kind: "module", path: fifo }, timeoutMs: 60_000 });
    const outcome = await Promise.race([
      runAttempt(request(spec), undefined),
      new Promise<"blocked">((r) => setTimeout(() => r("blocked"), 10_000)),
    ]);
    expect(outcome).toMatchObject({
      status: "failed",
      error: `module file ${fifo} is a FIFO (named pipe), not a regular file; point module at an ES module file`,
    });
  });

  it("a missing file fails the run saying so; a symlink to a real module still runs (deploys link releases)", async () => {
    const dir = tempDir();
    expect(await runAttempt(request(makeSpec("gone", { action: { kind: "module", path: join(dir, "gone.mjs") } })), undefined)).toMatchObject({
      status: "failed", error: `module file ${dir}/gone.mjs does not exist; deploy it, or fix module in the config`,
    });
    writeFileSync(join(dir, "real.mjs"), "export default (ctx) => ctx.log('ran');\n");
    symlinkSync(join(dir, "real.mjs"), join(dir, "current.mjs"));
    expect(await runAttempt(request(makeSpec("linked", { action: { kind: "module", path: join(dir, "current.mjs") } })), undefined)).toMatchObject({
      status: "succeeded", stdout: "ran\n",
    });
  });
});
