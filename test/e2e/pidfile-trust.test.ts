import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPidfile } from "../../src/daemon/pidfile.js";
import { BASE_CONFIG, CLI, project } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { isRoot, serviceUser, type ServiceUser } from "../helpers/service-user.js";
import { tempDir } from "../helpers/spec.js";

/**
 * Only a pid proven to be this daemon is signalled: a hostile local user plants a pidfile in a world-writable
 * folder naming their own process, renamed "jobclock run", or a lock folder jobclock cannot
 * remove. Needs root, for a second real user.
 */
describe.skipIf(!isRoot("the pidfile trust tests (a second real user)"))("a pidfile or lock planted by another user", () => {
  let other: ServiceUser;
  let svc: ServiceUser;
  let impostor: ChildProcess;

  beforeAll(async () => {
    other = serviceUser("jc-t-mallory");
    svc = serviceUser("jc-t-pidsvc");
    impostor = spawn("sleep", ["120"], { argv0: "jobclock run", uid: other.uid, gid: other.gid, stdio: "ignore" });
    await waitFor("the impostor", () => existsSync(`/proc/${impostor.pid}/cmdline`) && readFileSync(`/proc/${impostor.pid}/cmdline`, "utf8").startsWith("jobclock run"), 5_000);
  });

  afterAll(() => {
    impostor?.kill("SIGKILL");
    other?.remove();
    svc?.remove();
  });

  /** A project whose pidfile is in a world-writable, sticky folder (like /tmp). */
  function shared(): { p: ReturnType<typeof project>; pidfile: string } {
    const runDir = tempDir("jobclock-sticky-");
    chmodSync(runDir, 0o1777);
    const pidfile = join(runDir, "jobclock.pid");
    const p = project(BASE_CONFIG.replace("pidfile: ./run/jobclock.pid", `pidfile: ${pidfile}`) + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    return { p, pidfile };
  }

  function plant(pidfile: string): void {
    writeFileSync(pidfile, `${impostor.pid}\n`);
    chownSync(pidfile, other.uid, other.gid);
  }

  it("is not believed: start refuses, stop and reload signal nothing, status says unknown", async () => {
    const { p, pidfile } = shared();
    plant(pidfile);
    expect(readPidfile(pidfile)).toMatchObject({ state: "untrusted", pid: impostor.pid });

    const start = await p.run(["start"]);
    expect(start.code).toBe(1); // was 0: "jobclock is already running"
    expect(start.stderr).toMatch(new RegExp(`pidfile ${pidfile} names process ${impostor.pid}, which is not provably this jobclock \\(the pidfile belongs to jc-t-mallory, who is neither this user \\(root\\), root, nor the owner of its folder \\(root\\)\\)`));
    expect(existsSync(join(p.dir, "logs/info.log"))).toBe(false); // no daemon was started

    const stop = await p.run(["stop"]);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/not provably this jobclock/);
    await p.run(["reload"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(impostor.exitCode).toBeNull(); // stop used to send it SIGTERM
    expect(impostor.signalCode).toBeNull();

    const status = await p.run(["status"]);
    expect(status.code).toBe(4);
    expect(status.stdout).toMatch(/jobclock is unknown \(a pidfile jobclock cannot trust\)/);
  });

  it("a daemon refuses such a pidfile too, and leaves it in place", async () => {
    const { p, pidfile } = shared();
    plant(pidfile);
    const run = await p.run(["run"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^jobclock: pidfile \S+ names process \d+, which is not provably this jobclock/);
    expect(readFileSync(pidfile, "utf8").trim()).toBe(String(impostor.pid));
  });

  it("a stale lock it cannot remove ends start-up at once, saying whose it is (was: 85 % CPU, deaf to SIGTERM)", async () => {
    const { p, pidfile } = shared();
    mkdirSync(join(p.dir, "logs"));
    for (const sub of ["", "data", "logs", "jobclock.yaml"]) chownSync(join(p.dir, sub), svc.uid, svc.gid);
    chmodSync(p.dir, 0o755);
    writeFileSync(pidfile, "not a pid\n"); // stale: the lock is needed to replace it
    mkdirSync(`${pidfile}.lock`);
    chownSync(`${pidfile}.lock`, other.uid, other.gid);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${pidfile}.lock`, old, old);

    const child = spawn(process.execPath, [CLI, "--config", join(p.dir, "jobclock.yaml"), "run"], {
      cwd: p.dir, uid: svc.uid, gid: svc.gid, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, JOBCLOCK_CONFIG: "" },
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const code = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 15_000))]);
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`a stale lock ${pidfile}\\.lock \\(owned by jc-t-mallory, left 1m\\S* ago\\) cannot be removed by jc-t-pidsvc \\(EPERM\\); remove it as root`));
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
