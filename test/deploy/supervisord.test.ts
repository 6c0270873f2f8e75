import Database from "better-sqlite3";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_CONFIG, CLI } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { hasTool } from "../helpers/tools.js";
import { renderProgram, SUPERVISORD } from "./supervisord-harness.js";

// Unique per run: leftovers are found by scanning every process on the machine.
const MARKER = `slow-job-marker-${randomBytes(4).toString("hex")}`;

const JOBS = `${BASE_CONFIG}
jobs:
  tick: { every: 1s, shell: "echo tick" }
  slow: { every: 1h, shell: "sleep 6; echo ${MARKER}" }
`;

describe.skipIf(!hasTool(SUPERVISORD, "apt-get install supervisor"))("under a real supervisord", () => {
  let dir = "";
  let conf = "";
  const ctl = (...args: string[]) => {
    try {
      return execFileSync("supervisorctl", ["-c", conf, ...args], { encoding: "utf8" });
    } catch (error) {
      return String((error as { stdout?: string }).stdout ?? "");
    }
  };
  const jc = (...args: string[]) => execFileSync(process.execPath, [CLI, "--config", join(dir, "jobclock.yaml"), ...args], { encoding: "utf8" });
  const runs = (job: string) => {
    const db = new Database(join(dir, "data/jobclock.db"), { readonly: true });
    try {
      return db.prepare("SELECT id, status FROM runs WHERE job = ? ORDER BY id").all(job) as { id: number; status: string }[];
    } finally {
      db.close();
    }
  };
  const running = () => /jobclock\s+RUNNING/.test(ctl("status", "jobclock"));
  const pid = () => Number(ctl("pid", "jobclock").trim());
  const leftovers = () =>
    readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(MARKER);
      } catch {
        return false;
      }
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "jobclock-supervisord-")); // one folder for the whole suite
    for (const sub of ["data", "logs", "run"]) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, "jobclock.yaml"), JOBS);
    conf = join(dir, "supervisord.conf");
    writeFileSync(conf, [
      "[unix_http_server]", `file=${dir}/supervisor.sock`, "",
      "[supervisord]", `logfile=${dir}/supervisord.log`, `pidfile=${dir}/supervisord.pid`, `childlogdir=${dir}`, `user=${userInfo().username}`, "",
      "[rpcinterface:supervisor]", "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
      "[supervisorctl]", `serverurl=unix://${dir}/supervisor.sock`, "",
      renderProgram(dir, userInfo().username),
    ].join("\n"));
    execFileSync(SUPERVISORD, ["-c", conf]);
    await waitFor("supervisord to report jobclock RUNNING", running, 20_000);
  });

  afterAll(async () => {
    if (conf) ctl("shutdown");
    await waitFor("supervisord to exit", () => !existsSync(join(dir, "supervisord.pid")), 30_000).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs jobclock: supervisorctl status shows RUNNING and jobs run", async () => {
    await waitFor("tick runs", () => runs("tick").length >= 2, 10_000);
    expect(ctl("status", "jobclock")).toMatch(/jobclock\s+RUNNING\s+pid \d+/);
  });

  it("supervisorctl stop during a 6 s run drains it to succeeded and leaves no job process", async () => {
    jc("trigger", "slow");
    await waitFor("the slow run to start", () => runs("slow").some((r) => r.status === "running"), 5_000);
    // The store says "running" as soon as the claim commits; the daemon lists the run in its
    // stop message once it has taken the claim's answer: wait for its own word on it too.
    await waitFor("the daemon to run it", () => /run started job=slow/.test(readFileSync(join(dir, "logs/info.log"), "utf8")), 5_000);
    ctl("stop", "jobclock");
    expect(ctl("status", "jobclock")).toMatch(/STOPPED/);
    expect(runs("slow").at(-1)!.status).toBe("succeeded");
    expect(leftovers()).toEqual([]);
    expect(readFileSync(join(dir, "logs/info.log"), "utf8")).toMatch(/stopping: waiting up to 20000ms for 1 run\(s\)/);
  });

  it("supervisorctl start resumes the schedule", async () => {
    const before = runs("tick").length;
    ctl("start", "jobclock");
    await waitFor("RUNNING again", running, 20_000);
    await waitFor("new tick runs", () => runs("tick").length > before + 1, 10_000);
  });

  it("after kill -9, supervisord restarts jobclock and the cut run is abandoned, not left running", async () => {
    jc("trigger", "slow");
    await waitFor("the slow run to start", () => runs("slow").some((r) => r.status === "running"), 5_000);
    const cut = runs("slow").at(-1)!;
    const old = pid();
    process.kill(old, "SIGKILL");
    await waitFor("a new jobclock", () => running() && pid() !== old, 30_000);
    await waitFor("the cut run to be abandoned", () => runs("slow").find((r) => r.id === cut.id)!.status === "abandoned", 10_000);
  });

  it("a config change applies on `supervisorctl signal HUP jobclock` without a restart", async () => {
    const before = pid();
    writeFileSync(join(dir, "jobclock.yaml"), `${JOBS}  fresh: { every: 1s, shell: "echo fresh" }\n`);
    ctl("signal", "HUP", "jobclock");
    await waitFor("the new job to run", () => runs("fresh").length > 0, 10_000);
    expect(pid()).toBe(before);
  });
});
