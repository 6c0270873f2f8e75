import Database from "better-sqlite3";
import { execFile } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_CONFIG, CLI, project, type CliResult } from "../helpers/cli.js";
import { isRoot, serviceUser, type ServiceUser } from "../helpers/service-user.js";

/**
 * The documented pre-start `jobclock reload`, run as root, created a root-owned
 * 0600 store the daemon (user jobclock) could not open. Needs root, for a real service user.
 */
describe.skipIf(!isRoot("the store ownership tests (a real service user)"))("the store stays the service user's", () => {
  let svc: ServiceUser;

  beforeAll(() => {
    svc = serviceUser("jc-t-storesvc");
  });

  afterAll(() => svc?.remove());

  /** A project whose folders belong to the service user, as the install makes them. */
  function install(): ReturnType<typeof project> {
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    mkdirSync(join(p.dir, "logs"));
    mkdirSync(join(p.dir, "run"));
    chmodSync(p.dir, 0o755);
    for (const sub of ["data", "logs", "run"]) chownSync(join(p.dir, sub), svc.uid, svc.gid);
    return p;
  }

  const asService = (p: ReturnType<typeof project>, args: string[]) => new Promise<CliResult>((done) => {
    execFile(process.execPath, [CLI, "--config", join(p.dir, "jobclock.yaml"), ...args], {
      cwd: p.dir, uid: svc.uid, gid: svc.gid, env: { ...process.env, JOBCLOCK_CONFIG: "" }, timeout: 30_000,
    }, (error, stdout, stderr) => done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }));
  });

  it("a CLI command or `run` as root against it refuses, naming the user and the exact sudo command, and creates nothing", async () => {
    const p = install();
    expect((await asService(p, ["reload"])).code).toBe(0); // the store exists, the service user's
    const files = readdirSync(join(p.dir, "data")).sort();
    for (const args of [["reload"], ["jobs"], ["pause", "a"], ["run"]]) {
      const r = await p.run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(`belongs to ${svc.name}: as root it would create files there that ${svc.name}'s daemon cannot open`);
      expect(r.stderr).toContain(`sudo -u ${svc.name} ${process.execPath} ${CLI} --config ${join(p.dir, "jobclock.yaml")} ${args.join(" ")}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // status as root still answers about the daemon, and says it cannot count the jobs (not "0").
    const status = await p.run(["status"]);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(/problem: this command runs as root, but the store .* belongs to jc-t-storesvc/);
    expect(status.stdout).toMatch(/^jobs: {4}unknown \(the store could not be read; see above\)$/m);
    expect(readdirSync(join(p.dir, "data")).sort()).toEqual(files);
    for (const f of readdirSync(join(p.dir, "data"))) expect(statSync(join(p.dir, "data", f)).uid, f).toBe(svc.uid);
  });

  it("`cannot open store` names the file's owner and mode and the user the daemon runs as", async () => {
    const p = install();
    const path = join(p.dir, "data/jobclock.db");
    new Database(path).close(); // what a root `jobclock reload` left behind
    chmodSync(path, 0o600);
    const r = await asService(p, ["run"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot open store ${path} for writing`);
    expect(r.stderr).toContain(`${path} belongs to root with mode 0600, and this process runs as ${svc.name}: a command run as root created them`);
    expect(r.stderr).toContain(`chown ${svc.name}: ${path} ${path}-wal ${path}-shm`);
  });
});
