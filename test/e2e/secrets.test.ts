import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, project, stopForGood } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { PG_BASE, postgresUp } from "../helpers/postgres.js";

/** Every password below; none may appear in any output, log line or error. */
const SECRETS = ["AtPw1", "Xq7", "QryPw2", "EmptyPw3", "MyPw4", "Pct", "Pw5", "UpPw6"];

function expectNoSecret(where: string, text: string): void {
  for (const secret of SECRETS) expect(text, `${where} shows "${secret}":\n${text}`).not.toContain(secret);
}

const JOB = `jobs:\n  a: { every: 1h, shell: "true" }\n`;
const config = (store: string) => BASE_CONFIG.replace("store: sqlite:./data/jobclock.db", `store: "${store}"`) + JOB;
const logOf = (dir: string) => (existsSync(join(dir, "logs/info.log")) ? readFileSync(join(dir, "logs/info.log"), "utf8") : "");

type Project = ReturnType<typeof project>;
const started: Project[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) await stopForGood(p);
});

describe("store passwords never leak", () => {
  it("a store that cannot be reached: start, status, jobs and migrate print and log it redacted", async () => {
    // Port 1 on loopback is closed: every command fails fast with a store error.
    const urls = [
      "postgres://:EmptyPw3@127.0.0.1:1/test",
      "postgres://alice:AtPw1@Xq7@127.0.0.1:1/test",
      "POSTGRES://alice:UpPw6@127.0.0.1:1/test",
      "PostgreSQL://alice:Pct%25Pw5@127.0.0.1:1/test?password=QryPw2",
    ];
    for (const url of urls) {
      const p = project(config(url));
      started.push(p);
      const start = await p.run(["start"]);
      expect(start.code).toBe(1);
      expect(start.stdout + start.stderr).toMatch(/store postgres(ql)?:\/\/.*\*\*\*@127\.0\.0\.1:1\/test.* is unreachable \(ECONNREFUSED\)/);
      expectNoSecret(`start with ${url}`, start.stdout + start.stderr);
      expect(logOf(p.dir)).toMatch(/could not start: store/);
      expectNoSecret(`the log with ${url}`, logOf(p.dir));
      for (const args of [["status"], ["status", "--json"], ["jobs"], ["migrate"]]) {
        const r = await p.run(args);
        expect(r.stdout + r.stderr).toMatch(/\*\*\*@127\.0\.0\.1:1/);
        expectNoSecret(`${args.join(" ")} with ${url}`, r.stdout + r.stderr);
      }
    }
  });

  it("a URL of another kind is refused by validate and start without its password", async () => {
    const p = project(config("mysql://u:MyPw4@db.internal/jobs"));
    for (const args of [["validate"], ["start"], ["status"]]) {
      const r = await p.run(args);
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).toMatch(/store: "mysql:\/\/u:\*\*\*@db\.internal\/jobs" is not a store URL/);
      expectNoSecret(args[0]!, r.stdout + r.stderr);
    }
  });
});

const up = await postgresUp();
const schema = `jc_secrets_${randomBytes(5).toString("hex")}`;
afterAll(async () => {
  if (!up) return;
  const sql = postgres(PG_BASE, { onnotice: () => {} });
  await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await sql.end();
});

describe.skipIf(!up)("a daemon on PostgreSQL with a password in its store URL", () => {
  it("logs, prints and reloads (SIGHUP) without ever showing it", async () => {
    // Upper-case scheme, an unencoded @ in the password and a password= parameter, all at once.
    // The local PostgreSQL trusts loopback, so the daemon really runs with this URL.
    const pgHost = new URL(PG_BASE).host;
    const p = project(config(`POSTGRES://postgres:AtPw1@Xq7@${pgHost}/test?schema=${schema}&password=QryPw2`));
    started.push(p);
    const env = { PGUSER: "postgres" }; // for the URL with an empty user below
    const start = await p.run(["start"], env);
    expect(start.code, start.stderr).toBe(0);
    expectNoSecret("start", start.stdout + start.stderr);
    await waitFor("the start line", () => /jobclock started/.test(logOf(p.dir)));
    for (const args of [["status"], ["status", "--json"], ["jobs"], ["jobs", "--json"], ["check"]]) {
      const r = await p.run(args, env);
      expectNoSecret(args.join(" "), r.stdout + r.stderr);
    }
    expect((await p.run(["status"], env)).stdout).toMatch(/store: +postgres:\/\/postgres:\*\*\*@/);
    const pid = Number(readFileSync(join(p.dir, "run/jobclock.pid"), "utf8"));

    // A reload that changes the store (to an empty user with a password) says it waits for a restart…
    p.write(config(`postgres://:EmptyPw3@${pgHost}/test?schema=${schema}`));
    process.kill(pid, "SIGHUP");
    await waitFor("the store-change warning", () => /a change of store takes effect at the next restart/.test(logOf(p.dir)));
    for (const args of [["status"], ["jobs"]]) expectNoSecret(args.join(" "), JSON.stringify(await p.run(args, env)));
    // …and one with a URL of another kind is refused, its problem logged redacted.
    p.write(config("mysql://u:MyPw4@db.internal/jobs"));
    process.kill(pid, "SIGHUP");
    await waitFor("the refused reload", () => /reload refused/.test(logOf(p.dir)));
    expect(logOf(p.dir)).toMatch(/mysql:\/\/u:\*\*\*@db\.internal\/jobs/);

    p.write(config(`postgres://postgres@${pgHost}/test?schema=${schema}`));
    expect((await p.run(["stop"])).code).toBe(0);
    expectNoSecret("the daemon's log", logOf(p.dir));
  });
});
