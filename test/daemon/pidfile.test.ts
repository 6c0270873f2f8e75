import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquirePidfile, readPidfile } from "../../src/daemon/pidfile.js";
import { waitFor } from "../helpers/engine-harness.js";
import { isRoot, serviceUser, type ServiceUser } from "../helpers/service-user.js";
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

describe("the stale-pidfile lock", () => {
  it("a lock dated in the future is stale: removed at once, not waited on (was: \"held by another jobclock starting up\" after 3 s)", async () => {
    const path = join(tempDir(), "jobclock.pid");
    writeFileSync(path, "not a pid\n"); // stale: replacing it takes the lock
    mkdirSync(`${path}.lock`);
    const future = new Date("2099-01-01T00:00:00Z");
    utimesSync(`${path}.lock`, future, future); // touch -d 2099
    const stale: string[] = [];
    const started = Date.now();
    const pidfile = await acquirePidfile(path, (why) => stale.push(why));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(readFileSync(path, "utf8")).toBe(`${process.pid}\n`);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(stale).toEqual([expect.stringMatching(/replacing stale pidfile .*: it does not hold a pid/)]);
    pidfile.release();
    expect(existsSync(path)).toBe(false);
  });
});

/**
 * Owning the pidfile's folder proves nothing when the owner could have
 * made that folder themselves (mallory's /tmp/jcm). Needs root, for real users.
 */
describe.skipIf(!isRoot("the pidfile folder trust tests (real users)"))("whose folder a pidfile is in", () => {
  let mallory: ServiceUser;
  let svc: ServiceUser;
  const procs: ChildProcess[] = [];

  beforeAll(() => {
    mallory = serviceUser("jc-t-mal2");
    svc = serviceUser("jc-t-svc2");
  });

  afterAll(() => {
    for (const p of procs) p.kill("SIGKILL");
    mallory?.remove();
    svc?.remove();
  });

  /** A process of USER titled like the daemon, started (and visible) before its pidfile is written. */
  async function jobclockRunOf(user: ServiceUser): Promise<number> {
    const child = spawn("sleep", ["120"], { argv0: "jobclock run", uid: user.uid, gid: user.gid, stdio: "ignore" });
    procs.push(child);
    await waitFor("the process to be visible", () => existsSync(`/proc/${child.pid}/cmdline`) && readFileSync(`/proc/${child.pid}/cmdline`, "utf8").startsWith("jobclock run"), 5_000);
    return child.pid!;
  }

  function folderOf(user: ServiceUser, parent: string, name: string): string {
    const dir = join(parent, name);
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    chownSync(dir, user.uid, user.gid);
    return dir;
  }

  function plant(dir: string, user: ServiceUser, pid: number): string {
    const path = join(dir, "jobclock.pid");
    writeFileSync(path, `${pid}\n`);
    chownSync(path, user.uid, user.gid);
    return path;
  }

  it("a folder its owner made in a world-writable folder (/tmp/jcm) is not trusted; was: \"already running\" and stop signalled it", async () => {
    const tmp = tempDir("jobclock-sticky-");
    chmodSync(tmp, 0o1777); // like /tmp
    const pid = await jobclockRunOf(mallory);
    const jcm = folderOf(mallory, tmp, "jcm");
    expect(readPidfile(plant(jcm, mallory, pid))).toEqual({
      state: "untrusted", pid,
      why: `the pidfile belongs to jc-t-mal2, who is neither this user (root) nor root; they own its folder, but ${jcm} is in ${tmp}, which every user may write, so jc-t-mal2 could have made it`,
    });
    // One level deeper does not help: her own folder in /tmp holds it.
    const deeper = folderOf(mallory, jcm, "run");
    expect(readPidfile(plant(deeper, mallory, pid))).toMatchObject({ state: "untrusted", why: expect.stringMatching(`${jcm} is in ${tmp}, which every user may write`) });
  });

  it("a folder root made for the service user (/run/jobclock, /home/jobclock/run) is trusted", async () => {
    const root = tempDir("jobclock-rootrun-");
    chmodSync(root, 0o755); // like /run: root's, written by nobody else
    const pid = await jobclockRunOf(svc);
    const runDir = folderOf(svc, root, "jobclock");
    expect(readPidfile(plant(runDir, svc, pid))).toEqual({ state: "running", pid });
    const inHome = folderOf(svc, runDir, "run"); // their own folder inside one root made for them
    expect(readPidfile(plant(inHome, svc, pid))).toEqual({ state: "running", pid });
  });
});
