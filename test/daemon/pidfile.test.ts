import { spawn } from "node:child_process";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPidfile } from "../../src/daemon/pidfile.js";
import { tempDir } from "../helpers/spec.js";

/** A process whose command line is the daemon's process title, as anyone can make one. */
async function namedJobclockRun(): Promise<ReturnType<typeof spawn>> {
  const child = spawn("sleep", ["30"], { argv0: "jobclock run", stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 100));
  return child;
}

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

  it("a \"jobclock run\" of this user, started before the pidfile was written, is the daemon", async () => {
    const proc = await namedJobclockRun();
    try {
      const path = join(tempDir(), "jobclock.pid");
      writeFileSync(path, `${proc.pid}\n`);
      expect(readPidfile(path)).toEqual({ state: "running", pid: proc.pid });
    } finally {
      proc.kill();
    }
  });

  it("a \"jobclock run\" started after the pidfile was written holds a reused pid: stale", async () => {
    const proc = await namedJobclockRun();
    try {
      const path = join(tempDir(), "jobclock.pid");
      writeFileSync(path, `${proc.pid}\n`);
      const hourAgo = new Date(Date.now() - 3_600_000);
      utimesSync(path, hourAgo, hourAgo); // written by a daemon before a crash or a reboot
      expect(readPidfile(path)).toMatchObject({ state: "stale", pid: proc.pid, why: expect.stringMatching(/started after the pidfile was written/) });
    } finally {
      proc.kill();
    }
  });
});
