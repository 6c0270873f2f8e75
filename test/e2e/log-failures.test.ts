import Database from "better-sqlite3";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, CLI, daemonUrl, project, stopForGood } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { isRoot } from "../helpers/service-user.js";
import { alive, fill } from "../helpers/processes.js";

type Project = ReturnType<typeof project>;
const started: Project[] = [];
const mounts: string[] = [];

afterEach(async () => {
  for (const p of started.splice(0)) await stopForGood(p);
  for (const dir of mounts.splice(0)) spawnSync("umount", ["-l", dir]);
});

function daemon(yaml: string): Project {
  const p = project(BASE_CONFIG + yaml);
  started.push(p);
  return p;
}

const pidOf = (p: Project) => Number(readFileSync(join(p.dir, "run/jobclock.pid"), "utf8"));
const log = (p: Project) => (existsSync(join(p.dir, "logs/info.log")) ? readFileSync(join(p.dir, "logs/info.log"), "utf8") : "");

function runCount(p: Project, where = "1 = 1"): number {
  const db = new Database(join(p.dir, "data/jobclock.db"), { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM runs WHERE ${where}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

async function keepsRunning(p: Project, what: string): Promise<void> {
  const n = runCount(p);
  await waitFor(`jobs to keep running (${what})`, () => runCount(p) >= n + 2, 10_000);
}

async function healthz(url: string): Promise<number> {
  const res = await fetch(`${url}healthz`, { signal: AbortSignal.timeout(3_000) });
  return res.status;
}

describe("the daemon's own log file failing never stops the scheduling", () => {
  it("log folder replaced by a file, SIGUSR1 twice: the daemon lives, jobs run, status shows the problem, and the log comes back", async () => {
    const p = daemon(`jobs:\n  tick: { every: 300ms, shell: "true" }\n`);
    expect((await p.run(["start"])).code).toBe(0);
    const pid = pidOf(p);
    rmSync(join(p.dir, "logs"), { recursive: true });
    writeFileSync(join(p.dir, "logs"), "logrotate gone wrong\n");
    process.kill(pid, "SIGUSR1");
    await waitFor("status to show the problem", async () => /problems:\n {2}log file \S+ cannot be reopened \(ENOTDIR/.test((await p.run(["status"])).stdout), 10_000);
    process.kill(pid, "SIGUSR1"); // the second one killed the daemon: Unhandled 'error' event … EEXIST
    await new Promise((r) => setTimeout(r, 500));
    const status = await p.run(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/jobclock is running/);
    expect(status.stdout).toMatch(/still writing to the file opened before/);
    await keepsRunning(p, "after two SIGUSR1");
    expect(pidOf(p)).toBe(pid);

    unlinkSync(join(p.dir, "logs"));
    mkdirSync(join(p.dir, "logs"));
    await waitFor("the log file to come back by itself", () => /run succeeded/.test(log(p)), 15_000);
    await waitFor("status to drop the problem", async () => !/problems:/.test((await p.run(["status"])).stdout), 10_000);
  });

  it.skipIf(!isRoot("the full-disk test (a 1 MiB tmpfs)"))(
    "log on a full 1 MiB tmpfs: /healthz answers, jobs run, status and /metrics show it, logging resumes with space, and SIGTERM exits in time",
    async () => {
      const p = daemon(`jobs:\n  tick: { every: 200ms, shell: "echo tick" }\n`);
      mkdirSync(join(p.dir, "logs"));
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", join(p.dir, "logs")]);
      mounts.push(join(p.dir, "logs"));
      expect((await p.run(["start"])).code).toBe(0);
      const url = await daemonUrl(p.dir);
      const pid = pidOf(p);
      const filler = join(p.dir, "logs/filler");
      fill(filler);
      await waitFor("status to show the full disk", async () => /problems:\n {2}log file \S+ cannot be written \(ENOSPC\)/.test((await p.run(["status"])).stdout), 15_000);
      expect(await healthz(url)).toBe(200);
      await keepsRunning(p, "on a full disk");
      const metrics = await (await fetch(`${url}metrics`, { signal: AbortSignal.timeout(3_000) })).text();
      expect(metrics).toMatch(/^jobclock_log_file_ok 0$/m);
      expect(Number(/^jobclock_log_write_errors_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

      unlinkSync(filler); // space returns
      const size = statSync(join(p.dir, "logs/info.log")).size;
      await waitFor("logging to resume", () => statSync(join(p.dir, "logs/info.log")).size > size && /INFO {2}run succeeded/.test(log(p).slice(size)), 15_000);
      await waitFor("status to drop the problem", async () => !/problems:/.test((await p.run(["status"])).stdout), 10_000);
      expect((await fetch(`${url}metrics`, { signal: AbortSignal.timeout(3_000) }).then((r) => r.text()))).toMatch(/^jobclock_log_file_ok 1$/m);

      fill(filler); // full again, and now a stop
      await waitFor("the full disk again", async () => /ENOSPC/.test((await p.run(["status"])).stdout), 15_000);
      const t0 = Date.now();
      process.kill(pid, "SIGTERM");
      await waitFor("the daemon to exit", () => !alive(pid), 25_000); // shutdown_timeout is 20s; nothing is running
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
      expect(runCount(p, "status = 'running'")).toBe(0);
    },
  );

  it("a foreground run that cannot open its log prints one message, without a stack, and leaves no pidfile", async () => {
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    writeFileSync(join(p.dir, "logs"), "a file where the log folder should be\n");
    const r = await p.run(["run"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^jobclock: cannot open log file \S+info\.log: ENOTDIR: a file stands where a folder of that path should be; move it away, or set log\.file\n$/);
    expect(r.stderr).not.toMatch(/sonic boom|\n\s+at /);
    expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
  });

  it("under umask 000 the log folder is 0750 and the log file 0640 (as explicit as the store and pidfile)", async () => {
    const p = daemon(`jobs:\n  a: { every: 1h, shell: "true" }\n`);
    const r = spawnSync("/bin/sh", ["-c", `umask 000; exec "${process.execPath}" "${CLI}" --config "${join(p.dir, "jobclock.yaml")}" start`], { cwd: p.dir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(p.dir, "logs")).mode & 0o777).toBe(0o750);
    expect(statSync(join(p.dir, "logs/info.log")).mode & 0o777).toBe(0o640);
    expect(statSync(join(p.dir, "run")).mode & 0o777).toBe(0o755);
    expect(statSync(join(p.dir, "run/jobclock.pid")).mode & 0o777).toBe(0o644);
    expect(statSync(join(p.dir, "data/jobclock.db")).mode & 0o777).toBe(0o600);
  });

  it("`jobclock run` while a daemon is up says so on the terminal only, never in the running daemon's log", async () => {
    const p = daemon(`jobs:\n  a: { every: 1h, shell: "true" }\n`);
    expect((await p.run(["start"])).code).toBe(0);
    await waitFor("the start line", () => /jobclock started/.test(log(p)), 5_000);
    const before = log(p);
    const second = await p.run(["run"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^jobclock: jobclock is already running \(pid \d+, pidfile \S+\)\n$/);
    await new Promise((r) => setTimeout(r, 300));
    expect(log(p)).not.toMatch(/could not start|already running/);
    expect(log(p).startsWith(before)).toBe(true);
  });
});

describe("SIGHUP storm", () => {
  it("2,000 SIGHUPs, one a millisecond, are coalesced into a few reloads (were one each), and no slot is missed", async () => {
    const p = daemon(`jobs:\n  tick: { every: 200ms, shell: "true" }\n`);
    expect((await p.run(["start"])).code).toBe(0);
    const pid = pidOf(p);
    await keepsRunning(p, "before");
    // From another process, as a shell loop of `kill -HUP` would: spread out, so the kernel does
    // not merge them into one pending signal.
    const t0 = Date.now();
    const storm = spawnSync(process.execPath, ["-e",
      `const a = new Int32Array(new SharedArrayBuffer(4)); for (let i = 0; i < 2000; i++) { process.kill(${pid}, "SIGHUP"); Atomics.wait(a, 0, 0, 1); }`,
    ]);
    const stormMs = Date.now() - t0;
    expect(storm.status).toBe(0);
    await keepsRunning(p, "after the storm");
    await new Promise((r) => setTimeout(r, 1_000));
    // One "reloading the config (SIGHUP)" line per reload; before the fix there were none, but a
    // "config reloaded" (or "re-read") line for each.
    const count = (re: RegExp) => (log(p).match(re) ?? []).length;
    const reloads = Math.max(count(/reloading the config \(SIGHUP\)/g), count(/config reloaded|config re-read/g));
    expect(reloads).toBeGreaterThanOrEqual(2);
    expect(reloads).toBeLessThanOrEqual(Math.ceil(stormMs / 200) + 3); // one per settle window at most
    expect(runCount(p, "status = 'missed'")).toBe(0);
    expect(pidOf(p)).toBe(pid);
  });
});

/** Writes until the file system is full. */



