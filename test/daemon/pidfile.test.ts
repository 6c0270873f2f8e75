import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPidfile } from "../../src/daemon/pidfile.js";
import { tempDir } from "../helpers/spec.js";

describe("pidfile identity", () => {
  it("a live process that merely mentions jobclock is not the daemon", async () => {
    // e.g. `tail -f /var/log/jobclock/info.log` that reused the pid of a daemon killed with -9
    const impostor = spawn("/bin/sh", ["-c", "sleep 30", "/etc/jobclock/jobclock.yaml"], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const path = join(tempDir(), "jobclock.pid");
      writeFileSync(path, `${impostor.pid}\n`);
      expect(readPidfile(path)).toEqual({ state: "stale", pid: impostor.pid, why: `process ${impostor.pid} is not a jobclock` });
    } finally {
      impostor.kill();
    }
  });

  it("a pidfile naming no process is stale; none at all is absent", () => {
    const path = join(tempDir(), "jobclock.pid");
    expect(readPidfile(path)).toEqual({ state: "absent" });
    writeFileSync(path, "4194305\n");
    expect(readPidfile(path)).toMatchObject({ state: "stale", why: "no process 4194305 exists" });
    writeFileSync(path, "garbage");
    expect(readPidfile(path)).toMatchObject({ state: "stale", why: "it does not hold a pid" });
  });
});
