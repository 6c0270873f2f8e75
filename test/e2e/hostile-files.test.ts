import Database from "better-sqlite3";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BASE_CONFIG, CLI, project, stopForGood } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { PG_BASE, postgresUp } from "../helpers/postgres.js";
import { isRoot, serviceUser, type ServiceUser } from "../helpers/service-user.js";
import { tempDir } from "../helpers/spec.js";
import { alive } from "../helpers/processes.js";

/**
 * The daemon's own files made hostile by whoever can write their folders
 * (a world-writable folder, or the service user itself, i.e. any job). Nothing may hang, and
 * nothing may be followed or believed.
 */
type Project = ReturnType<typeof project>;
const started: Project[] = [];

afterEach(async () => {
  for (const p of started.splice(0)) await stopForGood(p);
});

// Generous: the point is "does not hang", and the machine is shared.
const QUICK = { timeoutMs: 20_000 };

function daemon(yaml: string): Project {
  const p = project(BASE_CONFIG + yaml);
  started.push(p);
  return p;
}

/** The built CLI on P's config; `wrap` runs it through another program (runuser, unshare). */
const run = (p: Project, args: string[], wrap: string[] = []) =>
  new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }>((resolve) => {
    const t0 = Date.now();
    const argv = [...wrap, process.execPath, CLI, "--config", join(p.dir, "jobclock.yaml"), ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: p.dir, env: { ...process.env, JOBCLOCK_CONFIG: "" }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), QUICK.timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });

const log = (p: Project) => (existsSync(join(p.dir, "logs/info.log")) ? readFileSync(join(p.dir, "logs/info.log"), "utf8") : "");
const pidOf = (p: Project) => Number(readFileSync(join(p.dir, "run/jobclock.pid"), "utf8"));


function runsOf(p: Project, job: string): { status: string; error: string | null }[] {
  const db = new Database(join(p.dir, "data/jobclock.db"), { readonly: true });
  try {
    return db.prepare("SELECT status, error FROM runs WHERE job = ? ORDER BY id").all(job) as { status: string; error: string | null }[];
  } finally {
    db.close();
  }
}

describe("a FIFO at the pidfile path", () => {
  it("status, stop, start and run each refuse it at once with one clear line (were: all hung, run deaf to SIGTERM)", async () => {
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    mkdirSync(join(p.dir, "run"));
    execFileSync("mkfifo", [join(p.dir, "run/jobclock.pid")]);
    for (const command of ["status", "stop", "start", "run"]) {
      const r = await run(p, [command]);
      expect(r.signal, `${command} hung`).toBeNull();
      expect(r.code, command).toBe(1);
      expect(r.stderr, command).toBe(
        `jobclock: pidfile ${p.dir}/run/jobclock.pid is a FIFO (named pipe), not a regular file; refusing to read it. ` +
          "Remove it, or set pidfile to a plain path in a folder only jobclock's user can write (such as /run/jobclock)\n",
      );
    }
    expect(existsSync(join(p.dir, "logs/info.log"))).toBe(false); // no daemon got as far as its log
  });
});

describe("a FIFO at the log path", () => {
  it("at start: start fails at once, saying what it is, and leaves no pidfile (was: start hung, rc 124)", async () => {
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    mkdirSync(join(p.dir, "logs"));
    execFileSync("mkfifo", [join(p.dir, "logs/info.log")]);
    const r = await run(p, ["start"]);
    expect(r.signal, "start hung").toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `jobclock failed to start: cannot open log file ${p.dir}/logs/info.log: it is a FIFO (named pipe), not a regular file; ` +
        "remove it, or set log.file to a regular file's path\n",
    );
    expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
  });

  it("swapped in after start, then SIGUSR1: reported like any log problem, jobs go on, and stop ends the process (was: it stayed, a thread stuck in open)", async () => {
    const p = daemon(`jobs:\n  tick: { every: 300ms, shell: "true" }\n`);
    expect((await p.run(["start"])).code).toBe(0);
    const pid = pidOf(p);
    renameSync(join(p.dir, "logs/info.log"), join(p.dir, "logs/info.log.1"));
    execFileSync("mkfifo", [join(p.dir, "logs/info.log")]);
    process.kill(pid, "SIGUSR1");
    await waitFor("status to show the problem", async () =>
      /problems:\n {2}log file \S+ cannot be reopened \(it is a FIFO \(named pipe\), not a regular file/.test((await p.run(["status"])).stdout), 15_000);
    const before = runsOf(p, "tick").length;
    await waitFor("jobs to keep running", () => runsOf(p, "tick").length >= before + 2, 15_000);
    const stop = await run(p, ["stop"]);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/jobclock stopped\n$/);
    expect(alive(pid)).toBe(false);
    expect(readFileSync(join(p.dir, "logs/info.log.1"), "utf8")).toMatch(/jobclock stopped/); // still written to the file it had
  });
});

describe("a module job whose file is a FIFO", () => {
  it("validate warns; each run fails at once with a clear error; logging goes on and the daemon stops (was: each run held a thread, then the log stopped and it could not exit)", async () => {
    const p = daemon(`jobs:\n  piped: { every: 300ms, module: ./job.mjs }\n  tick: { every: 300ms, shell: "true" }\n`);
    execFileSync("mkfifo", [join(p.dir, "job.mjs")]);
    const validate = await run(p, ["validate"]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain(`warning: jobs.piped.module: file ${p.dir}/job.mjs is a FIFO (named pipe), not a regular file; its runs fail until this is fixed`);
    const start = await run(p, ["start"]);
    expect(start.code, start.stderr).toBe(0);
    const pid = pidOf(p);
    await waitFor("six failed runs of the module job", () => runsOf(p, "piped").filter((r) => r.status === "failed").length >= 6, 20_000);
    expect(runsOf(p, "piped")[0]).toEqual({
      status: "failed", error: `module file ${p.dir}/job.mjs is a FIFO (named pipe), not a regular file; point module at an ES module file`,
    });
    const lines = log(p).length;
    await waitFor("the log to keep taking lines", () => log(p).length > lines, 10_000);
    const stop = await run(p, ["stop"]);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
  });
});

describe("the SQLite store path (findings 8 and 14)", () => {
  it("a dangling symlink is refused, and nothing is created where it points (was: a 0644 store in the target)", async () => {
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    const target = join(tempDir(), "elsewhere.db");
    symlinkSync(target, join(p.dir, "data/jobclock.db"));
    for (const command of ["migrate", "run"]) {
      const r = await run(p, [command]);
      expect(r.code, command).toBe(1);
      expect(r.stderr, command).toMatch(new RegExp(`jobclock: store file ${p.dir}/data/jobclock\\.db is a symbolic link; point store at the real file\\n$`));
      expect(existsSync(target), command).toBe(false);
    }
    expect((await run(p, ["validate"])).stderr).toContain(`store: ${p.dir}/data/jobclock.db is a symbolic link; point store at the real file`);
  });

  it("a FIFO: validate says so at once (was: hung), and the daemon refuses it", async () => {
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    execFileSync("mkfifo", [join(p.dir, "data/jobclock.db")]);
    const validate = await run(p, ["validate"]);
    expect(validate.signal, "validate hung").toBeNull();
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(`store: ${p.dir}/data/jobclock.db is a FIFO (named pipe), not a regular file; point store at a SQLite database file`);
    const r = await run(p, ["run"]);
    expect(r.signal, "run hung").toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`store: ${p.dir}/data/jobclock.db is a FIFO (named pipe), not a regular file`);
    expect(statSync(join(p.dir, "data/jobclock.db")).isFIFO()).toBe(true);
  });
});

describe("a second SIGTERM while start-up does not complete", () => {
  it("exits at once and releases the pidfile (was: stop deferred until start-up completes, i.e. never)", async () => {
    if (!(await postgresUp())) return;
    const schema = `jc_sigterm_${process.pid}_${Date.now() % 100_000}`;
    const admin = postgres(PG_BASE, { max: 1, onnotice: () => {} });
    const holder = await admin.reserve();
    try {
      // What every starting daemon takes to migrate: held here, start-up waits on it.
      await holder`SELECT pg_advisory_lock(hashtext(${`jobclock:${schema}`}))`;
      const p = project(BASE_CONFIG.replace("store: sqlite:./data/jobclock.db", `store: "${PG_BASE}?schema=${schema}"`) + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
      const child = spawn(process.execPath, [CLI, "--config", join(p.dir, "jobclock.yaml"), "run"], {
        cwd: p.dir, env: { ...process.env, JOBCLOCK_CONFIG: "" }, stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
      try {
        await waitFor("the daemon to wait for the migration lock", async () =>
          Number((await holder`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)[0]!.n) > 0, 20_000);
        expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(true);
        child.kill("SIGTERM");
        await waitFor("the first SIGTERM to be heard", () => /SIGTERM during start-up: stopping as soon as start-up completes/.test(out), 10_000);
        child.kill("SIGTERM");
        const outcome = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]);
        expect(outcome).toEqual({ code: null, signal: "SIGTERM" });
        expect(err).toBe("jobclock: SIGTERM again during start-up: exiting now, without completing start-up\n");
        expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    } finally {
      await holder`SELECT pg_advisory_unlock_all()`.catch(() => {});
      holder.release();
      await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await admin.end();
    }
  });
});

/**
 * Findings 6a, 6b and 14 need a second real user (and, for hidepid, a private mount of /proc):
 * root only, as in CI.
 */
describe.skipIf(!isRoot("the hostile-user pidfile tests (real users, a private /proc)"))("another user's process or lock", () => {
  let mallory: ServiceUser;
  let svc: ServiceUser;
  const procs: ChildProcess[] = [];

  beforeAll(() => {
    mallory = serviceUser("jc-t-mal3");
    svc = serviceUser("jc-t-svc3");
  });

  afterAll(() => {
    for (const child of procs) child.kill("SIGKILL");
    mallory?.remove();
    svc?.remove();
  });

  /** A process titled like the daemon, of USER (root when null), visible before its pidfile is written. */
  async function jobclockRunOf(user: ServiceUser | null): Promise<ChildProcess> {
    const child = spawn("sleep", ["120"], { argv0: "jobclock run", stdio: "ignore", ...(user && { uid: user.uid, gid: user.gid }) });
    procs.push(child);
    await waitFor("the process to be visible", () => existsSync(`/proc/${child.pid}/cmdline`) && readFileSync(`/proc/${child.pid}/cmdline`, "utf8").startsWith("jobclock run"), 5_000);
    return child;
  }

  function chownAll(p: Project, user: ServiceUser): void {
    execFileSync("chown", ["-R", `${user.uid}:${user.gid}`, p.dir]);
  }

  const asUser = (user: ServiceUser) => ["runuser", "-u", user.name, "--"];

  it("mallory's own folder in world-writable /tmp does not make her pidfile believed: root's start refuses, stop signals nothing (was: \"already running\", and SIGTERM sent)", async () => {
    const impostor = await jobclockRunOf(mallory);
    const tmp = tempDir("jobclock-sticky-");
    chmodSync(tmp, 0o1777);
    const jcm = join(tmp, "jcm");
    mkdirSync(jcm);
    chownSync(jcm, mallory.uid, mallory.gid);
    const pidfile = join(jcm, "jobclock.pid");
    writeFileSync(pidfile, `${impostor.pid}\n`);
    chownSync(pidfile, mallory.uid, mallory.gid);
    const p = project(BASE_CONFIG.replace("pidfile: ./run/jobclock.pid", `pidfile: ${pidfile}`) + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    const start = await run(p, ["start"]);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain(`they own its folder, but ${jcm} is in ${tmp}, which every user may write, so jc-t-mal3 could have made it`);
    const stop = await run(p, ["stop"]);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/not provably this jobclock/);
    await new Promise((r) => setTimeout(r, 300));
    expect(impostor.exitCode).toBeNull();
    expect(impostor.signalCode).toBeNull();
  });

  it("under /proc hidepid=2 a pid that cannot be inspected is not believed (was: \"already running\", then stop: unexpected error kill EPERM)", async () => {
    const roots = await jobclockRunOf(null); // another user's process, hidden from the service user
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    mkdirSync(join(p.dir, "run"));
    writeFileSync(join(p.dir, "run/jobclock.pid"), `${roots.pid}\n`);
    chownAll(p, svc); // the service user's own pidfile: this user is trusted, the process is not visible
    const hidden = ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t proc -o hidepid=2 proc /proc && exec "$@"', "sh", ...asUser(svc)];
    const why = `process ${roots.pid} cannot be inspected in /proc (another user's process, with /proc mounted hidepid), so it cannot be proven to be this daemon`;
    const status = await run(p, ["status"], hidden);
    expect(status.code, status.stderr).toBe(4);
    expect(status.stdout).toContain(why);
    const start = await run(p, ["start"], hidden);
    expect(start.code).toBe(1);
    expect(start.stderr).toContain(why);
    const stop = await run(p, ["stop"], hidden);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain(why);
    expect(stop.stderr).not.toMatch(/unexpected error|EPERM/);
    expect(roots.exitCode).toBeNull();
  });

  it("stop of a daemon that runs as another user says whom to run stop as (was: \"unexpected error: kill EPERM … please report it\")", async () => {
    const roots = await jobclockRunOf(null); // root's daemon, root's pidfile: believed, but not ours to signal
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    mkdirSync(join(p.dir, "run"));
    writeFileSync(join(p.dir, "run/jobclock.pid"), `${roots.pid}\n`);
    chmodSync(p.dir, 0o755);
    const stop = await run(p, ["stop"], asUser(svc));
    expect(stop.code).toBe(1);
    expect(stop.stderr).toBe(`jobclock: jobclock (pid ${roots.pid}) runs as root, and jc-t-svc3 may not signal it (EPERM); run stop as root (\`sudo jobclock stop\`)\n`);
    expect(roots.exitCode).toBeNull();
  });

  it("another user's lock dated in the future is stale, and start-up ends at once saying whose it is (was: \"held by another jobclock starting up\" for ever)", async () => {
    const tmp = tempDir("jobclock-sticky-");
    chmodSync(tmp, 0o1777);
    const pidfile = join(tmp, "jobclock.pid");
    const p = project(BASE_CONFIG.replace("pidfile: ./run/jobclock.pid", `pidfile: ${pidfile}`) + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    chownAll(p, svc);
    writeFileSync(pidfile, "not a pid\n"); // stale: replacing it takes the lock
    chownSync(pidfile, svc.uid, svc.gid);
    mkdirSync(`${pidfile}.lock`);
    chownSync(`${pidfile}.lock`, mallory.uid, mallory.gid);
    const future = new Date("2099-01-01T00:00:00Z");
    utimesSync(`${pidfile}.lock`, future, future);
    const r = await run(p, ["run"], asUser(svc));
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(2_500); // no 3 s wait for a lock that will never be released
    expect(r.stderr).toMatch(new RegExp(`^jobclock: a stale lock ${pidfile}\\.lock \\(owned by jc-t-mal3, dated \\d+\\S* in the future\\) cannot be removed by jc-t-svc3 \\(EPERM\\); remove it as root`));
  });
});
