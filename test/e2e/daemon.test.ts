import Database from "better-sqlite3";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { BASE_CONFIG, CLI, project, stopForGood } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";

type Project = ReturnType<typeof project>;
const started: Project[] = [];

afterEach(async () => {
  for (const p of started.splice(0)) await stopForGood(p);
});

function daemon(yaml: string): Project {
  const p = project(BASE_CONFIG + yaml);
  started.push(p);
  return p;
}

async function runs(p: Project, job?: string): Promise<{ id: number; status: string; trigger: string }[]> {
  const r = await p.run(["runs", ...(job ? [job] : []), "--json", "--limit", "500"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const pidOf = (p: Project) => Number(readFileSync(join(p.dir, "run/jobclock.pid"), "utf8"));

describe("jobclock daemon, end to end", () => {
  it("starts, runs jobs, and shows them in status, jobs, runs and logs; stop removes the pidfile", async () => {
    const p = daemon(`jobs:\n  tick: { every: 1s, shell: "echo tick $JOBCLOCK_RUN_ID" }\n`);
    const start = await p.run(["start"]);
    expect(start.stdout).toMatch(/^jobclock started \(pid \d+\)/);
    expect(start.code).toBe(0);
    await waitFor("two runs", async () => (await runs(p, "tick")).filter((r) => r.status === "succeeded").length >= 2);

    const status = await p.run(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/jobclock is running \(pid \d+, up /);
    expect(status.stdout).toMatch(/jobs: +1 /);
    expect(status.stdout).toMatch(/instances:\n +ID +HOST +PID +VERSION .*\n +\S+ +\S+ +\d+ +0\.1\.0 .* same clock/);
    const jobs = await p.run(["jobs"]);
    expect(jobs.stdout).toMatch(/^NAME +SCHEDULE +HEALTH/);
    expect(jobs.stdout).toMatch(/tick +every 1s/);
    expect(JSON.parse((await p.run(["jobs", "--json"])).stdout)[0]).toMatchObject({ name: "tick" });
    expect((await p.run(["runs", "tick"])).stdout).toMatch(/succeeded/);
    const logs = await p.run(["logs", "tick"]);
    expect(logs.stdout).toMatch(/--- stdout ---\ntick \d+/);
    await waitFor("the start line in the log", () => /INFO  jobclock started/.test(readFileSync(join(p.dir, "logs/info.log"), "utf8")), 3_000);

    const stop = await p.run(["stop"]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/jobclock stopped/);
    expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
    expect((await p.run(["status"])).code).toBe(3);
  });

  it("pause stops new runs within 1 s and resume brings them back, without restart", async () => {
    const p = daemon(`jobs:\n  tick: { every: 500ms, shell: "true" }\n`);
    await p.run(["start"]);
    const pid = pidOf(p);
    await waitFor("runs", async () => (await runs(p, "tick")).length >= 2);
    expect((await p.run(["pause", "tick"])).stdout).toMatch(/paused tick; the daemon picks it up within a second/);
    await new Promise((r) => setTimeout(r, 1_000));
    const afterPause = (await runs(p, "tick")).length;
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await runs(p, "tick")).length).toBe(afterPause);
    expect((await p.run(["jobs"])).stdout).toMatch(/tick +every 500ms +paused/);
    await p.run(["resume", "tick"]);
    await waitFor("runs after resume", async () => (await runs(p, "tick")).length > afterPause, 3_000);
    expect(pidOf(p)).toBe(pid);
  });

  it("stop drains a running job, saying what it waits for", async () => {
    // Long enough that a loaded machine still finds it running when `stop` (a new Node process) looks.
    const p = daemon(`jobs:\n  slow: { every: 1h, shell: "sleep 5; echo slow done" }\n`);
    await p.run(["start"]);
    await p.run(["trigger", "slow"]);
    await waitFor("the run to start", async () => (await runs(p, "slow")).some((r) => r.status === "running"));
    const stop = await p.run(["stop"]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/waiting for 1 run\(s\) to finish: slow #1 \(running/);
    expect((await runs(p, "slow"))[0]).toMatchObject({ status: "succeeded", trigger: "manual" });
    expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
  });

  it("after kill -9 during a run, the next start marks the run abandoned and the job runs again", async () => {
    const p = daemon(`jobs:\n  slow: { every: 1h, shell: "sleep 5" }\n`);
    await p.run(["start"]);
    await p.run(["trigger", "slow"]);
    await waitFor("the run to start", async () => (await runs(p, "slow")).some((r) => r.status === "running"));
    process.kill(pidOf(p), "SIGKILL");
    await waitFor("the daemon to die", async () => (await p.run(["status"])).code === 1);
    expect((await p.run(["status"])).stdout).toMatch(/dead \(stale pidfile\)/);
    const restart = await p.run(["start"]);
    expect(restart.code).toBe(0);
    // heartbeat 1s: the dead instance's pid is gone and it has missed two heartbeats within ~2 s
    await waitFor("the run to be abandoned", async () => (await runs(p, "slow"))[0]?.status === "abandoned", 5_000);
    await p.run(["trigger", "slow"]);
    await waitFor("the job to run again", async () => (await runs(p, "slow"))[0]?.status === "running");
    await waitFor("the stale pidfile warning", () => /replacing stale pidfile .*no process \d+ exists/.test(readFileSync(join(p.dir, "logs/info.log"), "utf8")), 3_000);
  });

  it("reload applies a changed config without restart; a bad one is refused and the old one kept", async () => {
    const p = daemon(`jobs:\n  a: { every: 1h, shell: "true" }\n`);
    await p.run(["start"]);
    const pid = pidOf(p);
    p.write(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n  b: { every: 500ms, shell: "echo b" }\n`);
    const reload = await p.run(["reload"]);
    expect(reload.stdout).toMatch(/1 added, 0 updated, 0 retired, 1 unchanged/);
    await waitFor("job b to run", async () => (await runs(p, "b")).length > 0, 3_000);
    p.write(BASE_CONFIG + `jobs:\n  a: { every: soon, shell: "true" }\n`);
    const bad = await p.run(["reload"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/reload refused; nothing was changed[\s\S]*jobs\.a\.every: "soon" is not a duration/);
    process.kill(pid, "SIGHUP"); // the daemon's own reload refuses it too
    await waitFor("the refusal in the log", () => /reload refused/.test(readFileSync(join(p.dir, "logs/info.log"), "utf8")), 3_000);
    // The CLI refuses the broken config as well, so look in the store directly.
    const db = new Database(join(p.dir, "data/jobclock.db"), { readonly: true });
    const count = () => db.prepare("SELECT count(*) FROM runs WHERE job = 'b'").pluck().get() as number;
    const n = count();
    await waitFor("b to keep running", () => count() > n, 3_000);
    db.close();
    expect(pidOf(p)).toBe(pid);
  });

  it("runs in the foreground with JSON logs, and drains and exits 0 on SIGINT", async () => {
    const p = project(BASE_CONFIG.replace("level: debug }", "level: info, format: json }") + `jobs:\n  t: { every: 300ms, shell: "echo t" }\n`);
    const child = spawn(process.execPath, [CLI, "--config", join(p.dir, "jobclock.yaml"), "run"], { cwd: p.dir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      await waitFor("a few runs", () => (stdout.match(/"msg":"run succeeded"/g) ?? []).length >= 2);
      expect(readFileSync(join(p.dir, "run/jobclock.pid"), "utf8").trim()).toBe(String(child.pid)); // foreground runs own the pidfile too
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    const lines = readFileSync(join(p.dir, "logs/info.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.slice(0, 3).find((l) => l.msg === "jobclock started")).toMatchObject({ level: 30, version: expect.any(String) }); // among the first lines
    expect(lines.at(-1)).toMatchObject({ msg: "jobclock stopped" });
    expect(lines.some((l) => l.signal === "SIGINT")).toBe(true);
    expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
  });

  it("reopens its log file on SIGUSR1, for logrotate", async () => {
    const p = daemon(`jobs:\n  a: { every: 1h, shell: "true" }\n`);
    await p.run(["start"]);
    renameSync(join(p.dir, "logs/info.log"), join(p.dir, "logs/info.log.1"));
    process.kill(pidOf(p), "SIGUSR1");
    await waitFor("a fresh log file", () => existsSync(join(p.dir, "logs/info.log")) && /log file reopened/.test(readFileSync(join(p.dir, "logs/info.log"), "utf8")), 3_000);
  });
});
