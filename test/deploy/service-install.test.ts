import { execFile, execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, type CliResult } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { isRoot, serviceUser, type ServiceUser } from "../helpers/service-user.js";
import { hasTool } from "../helpers/tools.js";
import { REPO, renderProgram, SUPERVISORD, Supervisord } from "./supervisord-harness.js";

const TMPFILES = "/usr/bin/systemd-tmpfiles";
const ready = () =>
  hasTool(SUPERVISORD, "apt-get install supervisor") && hasTool(TMPFILES, "apt-get install systemd") &&
  isRoot("the supervisord install test (a real service user, as the docs install it)");

/**
 * The documented supervisord install (docs/operations.md), run as root with a real, unprivileged
 * service user: tmpfiles.d makes the runtime folder, supervisord runs jobclock as that user, a
 * reboot empties /run, and `start` and `stop` leave the supervised daemon to supervisord.
 */
describe.skipIf(!ready())("the documented supervisord install, with a service user", () => {
  let svc: ServiceUser;
  let dir = "";
  let sv: Supervisord;
  let tmpfiles = "";
  const runDir = () => join(dir, "run/jobclock"); // stands for /run/jobclock

  /** The CLI as the docs run it: as the service user (`sudo -u jobclock jobclock …`). */
  const jc = (args: string[], env: NodeJS.ProcessEnv = {}) => new Promise<CliResult>((done) => {
    execFile(process.execPath, [CLI, "--config", join(dir, "jobclock.yaml"), ...args], {
      cwd: dir, uid: svc.uid, gid: svc.gid, env: { ...process.env, JOBCLOCK_CONFIG: "", ...env }, timeout: 60_000,
    }, (error, stdout, stderr) => done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }));
  });
  const ticks = async () => {
    const r = await jc(["runs", "tick", "--json", "--limit", "1000"]);
    return r.code === 0 ? (JSON.parse(r.stdout) as unknown[]).length : 0;
  };
  const boot = () => execFileSync(TMPFILES, ["--create", tmpfiles]);

  beforeAll(async () => {
    svc = serviceUser("jc-t-supsvc");
    dir = mkdtempSync(join(tmpdir(), "jobclock-install-"));
    chmodSync(dir, 0o755);
    for (const sub of ["data", "logs"]) {
      mkdirSync(join(dir, sub), { mode: 0o750 });
      chownSync(join(dir, sub), svc.uid, svc.gid);
    }
    writeFileSync(join(dir, "jobclock.yaml"), [
      `store: sqlite:${dir}/data/jobclock.db`, `pidfile: ${runDir()}/jobclock.pid`, `log: { file: ${dir}/logs/info.log }`,
      "shutdown_timeout: 10s", "heartbeat: 1s", "abandon_after: 3s", 'http: { listen: "127.0.0.1:0" }',
      "jobs:", '  tick: { every: 1s, shell: "echo tick" }', "",
    ].join("\n"));
    // The shipped tmpfiles.d entry, for this folder and user.
    tmpfiles = join(dir, "jobclock-tmpfiles.conf");
    writeFileSync(tmpfiles, readFileSync(join(REPO, "deploy/tmpfiles.d/jobclock.conf"), "utf8")
      .replaceAll("/run/jobclock", runDir())
      .replace(/ jobclock jobclock /, ` ${svc.name} ${svc.name} `));
    sv = new Supervisord(dir, renderProgram(dir, svc.name), "root");
  });

  afterAll(async () => {
    if (sv) await sv.shutdown().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
    svc?.remove();
  });

  it("first boot: tmpfiles.d makes /run/jobclock, supervisord runs jobclock as the service user, jobs run", async () => {
    boot();
    expect(statSync(runDir()).uid).toBe(svc.uid);
    expect(statSync(runDir()).mode & 0o777).toBe(0o755);
    sv.start();
    await waitFor("jobclock RUNNING", () => sv.running(), 30_000);
    await waitFor("ticks", async () => (await ticks()) >= 2, 20_000);
    expect(statSync(`/proc/${sv.pid()}`).uid).toBe(svc.uid);
    const status = await jc(["status"]);
    expect(status.stdout).toMatch(/jobclock is running \(pid \d+, up .*, under supervisord \(program jobclock\)\)/);
    expect(readFileSync(join(dir, "logs/info.log"), "utf8")).toMatch(/running under supervisord \(program jobclock\): stop and start it with `supervisorctl stop jobclock`/);
  });

  it("`jobclock stop` and `restart` refuse a supervised daemon and name the supervisorctl command; it keeps running", async () => {
    const pid = sv.pid();
    const stop = await jc(["stop"]);
    expect(stop.code).toBe(2);
    expect(stop.stderr).toMatch(/jobclock runs under supervisord: use `supervisorctl stop jobclock`.*`jobclock stop --force`/);
    const restart = await jc(["restart"]);
    expect(restart.code).toBe(2);
    expect(restart.stderr).toMatch(/use `supervisorctl restart jobclock`/);
    const start = await jc(["start"]);
    expect(start).toMatchObject({ code: 0, stdout: `jobclock is already running (pid ${pid}, under supervisord (program jobclock))\n` });
    expect(sv.running()).toBe(true);
    expect(sv.pid()).toBe(pid);
  });

  it("after `supervisorctl stop`, `jobclock start` says to use supervisorctl; `--force` starts one that knows it is not supervised", async () => {
    sv.ctl("stop", "jobclock");
    expect(sv.ctl("status", "jobclock")).toMatch(/STOPPED/);
    const start = await jc(["start"]);
    expect(start.code).toBe(2);
    expect(start.stderr).toMatch(/jobclock last ran under supervisord: use `supervisorctl start jobclock` \(a daemon started here would run outside supervisord/);
    expect(existsSync(join(runDir(), "jobclock.pid"))).toBe(false);
    // From a root shell: the store is the service user's, so not even that far.
    const asRoot = execFileSyncResult([CLI, "--config", join(dir, "jobclock.yaml"), "start"]);
    expect(asRoot.code).toBe(2);
    expect(asRoot.stderr).toContain(`sudo -u ${svc.name}`);

    // A shell inside a supervised program's environment: `start` must not pass that on.
    const forced = await jc(["start", "--force"], { SUPERVISOR_ENABLED: "1", SUPERVISOR_PROCESS_NAME: "jobclock", SUPERVISOR_GROUP_NAME: "jobclock", INVOCATION_ID: "0123" });
    expect(forced.code, forced.stderr).toBe(0);
    const pid = Number(readFileSync(join(runDir(), "jobclock.pid"), "utf8"));
    expect(readFileSync(`/proc/${pid}/environ`, "utf8")).not.toMatch(/SUPERVISOR_ENABLED|INVOCATION_ID/);
    const status = await jc(["status"]);
    expect(status.stdout).toMatch(/jobclock is running \(pid \d+, up [^,)]*\)\n/); // no "under supervisord"
    expect((await jc(["stop"])).code).toBe(0); // its own, unsupervised: no --force needed

    sv.ctl("start", "jobclock");
    await waitFor("RUNNING again under supervisord", () => sv.running(), 30_000);
  });

  it("a reboot without the tmpfiles.d entry: start-up fails saying exactly what to do", async () => {
    await sv.shutdown();
    rmSync(runDir(), { recursive: true }); // /run is a tmpfs: its folders are gone after a reboot
    sv.start(); // (no systemd-tmpfiles this time)
    const out = join(dir, "logs/supervisord.out.log");
    await waitFor("the daemon's message", () => /cannot create \S+\/run\/jobclock, the folder of pidfile/.test(readFileSync(out, "utf8")), 30_000);
    const text = readFileSync(out, "utf8");
    expect(text).toMatch(new RegExp(`\\(EACCES: ${svc.name} may not write to \\S+/run, which belongs to root\\)`));
    expect(text).toMatch(/have it made at boot: copy deploy\/tmpfiles\.d\/jobclock\.conf to \/etc\/tmpfiles\.d\/ and run `systemd-tmpfiles --create/);
    expect(text).toMatch(/RuntimeDirectory=jobclock/);
    expect(text).toContain(`install -d -o ${svc.name} -g ${svc.name} -m 0755 ${runDir()}`);
    await sv.shutdown();
  });

  it("a reboot with the documented install: tmpfiles.d recreates /run/jobclock, supervisord starts jobclock, RUNNING, jobs run", async () => {
    rmSync(runDir(), { recursive: true, force: true });
    boot(); // what systemd-tmpfiles-setup.service does early at boot
    sv.start(); // then supervisor.service
    await waitFor("jobclock RUNNING after the reboot", () => sv.running(), 30_000);
    const before = await ticks();
    await waitFor("new ticks after the reboot", async () => (await ticks()) >= before + 2, 20_000);
    expect(sv.ctl("status", "jobclock")).not.toMatch(/FATAL|BACKOFF/);
  });
});

function execFileSyncResult(args: string[]): CliResult {
  try {
    return { code: 0, stdout: execFileSync(process.execPath, args, { encoding: "utf8", stdio: "pipe" }), stderr: "" };
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
