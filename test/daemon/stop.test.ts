import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/load.js";
import { stopDaemon } from "../../src/daemon/stop.js";
import type { Store } from "../../src/store/types.js";
import { waitFor } from "../helpers/engine-harness.js";
import { tempDir } from "../helpers/spec.js";

describe("jobclock stop", () => {
  it("says how long a run has been going, never a negative time when its start was stamped a little ahead (was: \"running -23ms\")", async () => {
    // Titled like the daemon, and slow to stop: it ignores SIGTERM and ends only once `stop` has
    // said what it waits for (a flag file), however slow this machine is.
    const flag = join(tempDir(), "said");
    const daemon = spawn("/bin/sh", ["-c", `trap '' TERM; until [ -e '${flag}' ]; do sleep 0.05; done`], { argv0: "jobclock run", stdio: "ignore" });
    await waitFor("the stand-in daemon", () => existsSync(`/proc/${daemon.pid}/cmdline`) && readFileSync(`/proc/${daemon.pid}/cmdline`, "utf8").startsWith("jobclock run"), 5_000);
    const pidfile = join(tempDir(), "jobclock.pid");
    writeFileSync(pidfile, `${daemon.pid}\n`);
    const instance = { id: "i1", host: hostname(), pid: daemon.pid!, version: "test", startedAt: Date.now() - 60_000, lastSeen: Date.now(), stoppedAt: null, supervisor: null };
    // The daemon stamped the run's start on a clock 5 s ahead of this one.
    const run = { id: 9, job: "nightly", status: "running", startedAt: Date.now() + 5_000, instanceId: "i1" };
    const store = {
      listInstances: async () => [instance],
      listRuns: async () => [run],
      close: async () => {},
    } as unknown as Store;
    const config = { pidfile, shutdownTimeoutMs: 5_000, jobs: [] } as unknown as Config;
    const lines: string[] = [];
    const code = await stopDaemon(config, async () => store, (line) => {
      lines.push(line);
      if (line.startsWith("waiting for")) writeFileSync(flag, "");
    }).finally(() => daemon.kill("SIGKILL"));
    expect(code).toBe(0);
    expect(lines).toContain("waiting for 1 run(s) to finish: nightly #9 (running 0ms)");
    expect(lines.join("\n")).not.toMatch(/running -/);
    expect(lines.at(-1)).toBe("jobclock stopped");
  });
});
