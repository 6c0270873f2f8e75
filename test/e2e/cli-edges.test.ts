import Database from "better-sqlite3";
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, project, stopForGood } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";

type Project = ReturnType<typeof project>;
const started: Project[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) await stopForGood(p);
});

const JOB = `jobs:\n  a: { every: 1h, shell: "true" }\n`;

describe("start and stop are idempotent, pidfiles are handled safely", () => {
  it("start twice and stop when stopped both succeed with a message", async () => {
    const p = project(BASE_CONFIG + JOB);
    started.push(p);
    expect((await p.run(["stop"]))).toMatchObject({ code: 0, stdout: "jobclock is not running\n" });
    expect((await p.run(["start"])).code).toBe(0);
    const again = await p.run(["start"]);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/^jobclock is already running \(pid \d+\)/) });
    const run = await p.run(["run"]); // a second foreground daemon is refused
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/already running/);
    expect(run.stderr).not.toMatch(/\n\s+at |sonic boom/); // a message, not a stack trace
  });

  it("replaces a stale pidfile, and status reports it first (LSB code 1)", async () => {
    const p = project(BASE_CONFIG + JOB);
    started.push(p);
    await p.run(["validate"]);
    const pidfile = join(p.dir, "run/jobclock.pid");
    require_dir(join(p.dir, "run"));
    writeFileSync(pidfile, "1\n"); // pid 1 exists but is not a jobclock
    const status = await p.run(["status"]);
    expect(status).toMatchObject({ code: 1, stdout: expect.stringMatching(/dead \(stale pidfile\)/) });
    expect((await p.run(["start"])).code).toBe(0);
    expect(Number(readFileSync(pidfile, "utf8"))).not.toBe(1);
    await waitFor("the warning in the log", () => /stale pidfile .*process 1 is not a jobclock/.test(readFileSync(join(p.dir, "logs/info.log"), "utf8")), 3_000);
  });

  it("refuses a pidfile path that is a symlink, and does not touch its target", async () => {
    const p = project(BASE_CONFIG + JOB);
    require_dir(join(p.dir, "run"));
    const target = join(p.dir, "precious.txt");
    writeFileSync(target, "keep me");
    symlinkSync(target, join(p.dir, "run/jobclock.pid"));
    const start = await p.run(["start"]);
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/pidfile .* is a symbolic link; refusing to follow it/);
    expect(readFileSync(target, "utf8")).toBe("keep me");
    expect(lstatSync(join(p.dir, "run/jobclock.pid")).isSymbolicLink()).toBe(true);
  });
});

describe("bad input gets a clear message and the right exit code", () => {
  it("an invalid config: validate, start and run exit 2 and name the key", async () => {
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: "5 minutes", shell: "true" }\n`);
    for (const cmd of [["validate"], ["start"]]) {
      const r = await p.run(cmd);
      expect(r.code).toBe(2);
      expect(r.stderr + r.stdout).toMatch(/jobs\.a\.every: "5 minutes" is not a duration \(examples: /);
    }
    expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
  });

  it("migrate creates or upgrades the store ahead of a deploy", async () => {
    const p = project(BASE_CONFIG + JOB);
    expect(await p.run(["migrate"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^store sqlite:.*jobclock\.db is at schema version 6\n$/) });
    expect(existsSync(join(p.dir, "data/jobclock.db"))).toBe(true);
  });

  it("validate passes a good config and lists its jobs", async () => {
    const p = project(BASE_CONFIG + JOB);
    expect(await p.run(["validate"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/OK, 1 job\(s\)\n  a: every 1h, shell/) });
  });

  it("a missing config file exits 2", async () => {
    const p = project(BASE_CONFIG + JOB);
    const r = await p.run(["--config", join(p.dir, "nope.yaml"), "validate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.yaml does not exist; pass --config PATH or set JOBCLOCK_CONFIG/);
  });

  it("a pidfile folder that cannot be written", async () => {
    const p = project(BASE_CONFIG.replace("./run/jobclock.pid", "./blocker/jobclock.pid") + JOB);
    writeFileSync(join(p.dir, "blocker"), "a file where a folder should be");
    const r = await p.run(["start"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot create pidfile .*blocker\/jobclock\.pid: a file stands where a folder of that path should be; move it away, or set pidfile elsewhere/);
  });

  it("a typo in a job does not lock the operator out: status, jobs and stop still work", async () => {
    const p = project(BASE_CONFIG + JOB);
    started.push(p);
    expect((await p.run(["start"])).code).toBe(0);
    p.write(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true", timout: 5m }\n`);
    const status = await p.run(["status"]);
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(/warning: .*jobclock\.yaml has 1 problem\(s\) \(`jobclock validate` lists them\); using its store and pidfile/);
    expect((await p.run(["jobs"])).stdout).toMatch(/^a +every 1h/m);
    const restart = await p.run(["restart"]); // refused before anything is stopped
    expect(restart.code).toBe(2);
    expect(restart.stderr).toMatch(/unknown key "timout" \(did you mean "timeout"\?\)/);
    expect((await p.run(["status"])).code).toBe(0);
    expect((await p.run(["stop"])).stdout).toMatch(/jobclock stopped/);
  });

  it("validate catches a store file that is not SQLite", async () => {
    const p = project(BASE_CONFIG + JOB);
    writeFileSync(join(p.dir, "data/jobclock.db"), "my notes");
    const r = await p.run(["validate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/store: .*jobclock\.db exists and is not a SQLite database/);
    expect((await p.run(["status"])).stdout).toMatch(/problem: store .* is not a SQLite database/);
  });

  it("a store file that is not SQLite: refused, file unchanged", async () => {
    const p = project(BASE_CONFIG + JOB);
    const db = join(p.dir, "data/jobclock.db");
    writeFileSync(db, "not a database at all\n".repeat(100));
    const before = readFileSync(db);
    const r = await p.run(["start"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not a SQLite database; point store at a new path \(the file was left untouched\)/);
    expect(readFileSync(db).equals(before)).toBe(true);
    expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
  });

  it("a locked store: the command fails with exit 1 and nothing is lost", async () => {
    const p = project(BASE_CONFIG + JOB);
    expect((await p.run(["reload"])).code).toBe(0); // creates the store and applies the job
    const holder = new Database(join(p.dir, "data/jobclock.db"));
    holder.exec("BEGIN EXCLUSIVE");
    const r = await p.run(["pause", "a"]);
    holder.exec("ROLLBACK");
    holder.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is locked by another process; try again/);
    expect(JSON.parse((await p.run(["jobs", "--json"])).stdout)[0]).toMatchObject({ name: "a", paused: false });
  });

  it("logs, pause, resume and trigger for a job that does not exist exit 1", async () => {
    const p = project(BASE_CONFIG + JOB);
    await p.run(["reload"]);
    for (const cmd of [["logs", "ghost"], ["pause", "ghost"], ["resume", "ghost"], ["trigger", "ghost"], ["runs", "ghost"]]) {
      const r = await p.run(cmd);
      expect(r.code, cmd.join(" ")).toBe(1);
      expect(r.stderr).toMatch(/no job named "ghost"; run `jobclock jobs` to list the jobs/);
    }
  });

  it("usage errors exit 2", async () => {
    const p = project(BASE_CONFIG + JOB);
    expect((await p.run(["frobnicate"])).code).toBe(2);
    expect((await p.run(["runs", "--limit", "many"])).code).toBe(2);
    expect((await p.run(["runs", "--status", "weird"])).code).toBe(2);
  });

  it("pause and trigger work with no daemon running and take effect when one starts", async () => {
    const p = project(BASE_CONFIG + JOB);
    started.push(p);
    await p.run(["reload"]);
    expect((await p.run(["trigger", "a"])).stdout).toMatch(/triggered a; no daemon is running; it takes effect when one starts/);
    await p.run(["start"]);
    const deadline = Date.now() + 5_000;
    let runs: { trigger: string }[] = [];
    while (Date.now() < deadline && runs.length === 0) {
      runs = JSON.parse((await p.run(["runs", "a", "--json"])).stdout);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(runs[0]).toMatchObject({ trigger: "manual" });
  });
});

function require_dir(path: string): void {
  mkdirSync(path, { recursive: true });
}
