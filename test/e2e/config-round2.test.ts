import { execFile } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, CLI, daemonUrl, jobclock, project, stopForGood } from "../helpers/cli.js";
import { isRoot } from "../helpers/service-user.js";
import { waitFor } from "../helpers/engine-harness.js";

/**
 * Config mistakes and secrets as a tester reproduced them, through the built binary. Every secret below is a distinct word; none may show anywhere it is checked.
 */

type Project = ReturnType<typeof project>;
const started: Project[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) await stopForGood(p);
});

const logOf = (p: Project) => (existsSync(join(p.dir, "logs/info.log")) ? readFileSync(join(p.dir, "logs/info.log"), "utf8") : "");
const pidOf = (p: Project) => Number(readFileSync(join(p.dir, "run/jobclock.pid"), "utf8"));
const JOB = "jobs:\n  a: { every: 1h, shell: \"true\" }\n";
const withStore = (store: string) => BASE_CONFIG.replace("store: sqlite:./data/jobclock.db", `store: "${store}"`) + JOB;

function expectHidden(where: string, text: string, secrets: string[]): void {
  for (const secret of secrets) expect(text, `${where} shows "${secret}":\n${text}`).not.toContain(secret);
}

describe("store URLs with whitespace, or that do not parse (7a, 7b, 14)", () => {
  it("a tab before the URL in the config, or a space in JOBCLOCK_STORE: validate, start, status and jobs never show the password", async () => {
    // Port 1 on loopback is closed: the commands that open the store fail fast, redacted.
    const cases: [Project, NodeJS.ProcessEnv, string][] = [
      [project(withStore("\\tpostgres://alice:TabPw1@127.0.0.1:1/test")), {}, "TabPw1"],
      [project(BASE_CONFIG + JOB), { JOBCLOCK_STORE: " postgres://alice:SpacePw2@127.0.0.1:1/test" }, "SpacePw2"],
    ];
    for (const [p, env, secret] of cases) {
      started.push(p);
      const validate = await p.run(["validate"], env);
      expect(validate.code, validate.stdout + validate.stderr).toBe(0);
      for (const args of [["validate"], ["start"], ["status"], ["status", "--json"], ["jobs"]]) {
        const r = await p.run(args, env);
        if (args[0] !== "validate") expect(r.stdout + r.stderr, args.join(" ")).toMatch(/postgres:\/\/alice:\*\*\*@127\.0\.0\.1:1\/test/);
        expectHidden(`${args.join(" ")} (${secret})`, r.stdout + r.stderr, [secret]);
      }
      expectHidden(`the log (${secret})`, logOf(p), [secret]);
    }
  });

  it("a URL without its @ is refused showing nothing after user:, and a bad %-escape is a config error, not URIError", async () => {
    const p = project(withStore("postgres://postgres:DotPw3.127.0.0.1/postgres"));
    for (const args of [["validate"], ["start"]]) {
      const r = await p.run(args);
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).toContain('store: "postgres://postgres:***" is not a valid PostgreSQL URL');
      expectHidden(args[0]!, r.stdout + r.stderr, ["DotPw3"]);
    }
    p.write(withStore("postgres://alice:%ZZPct4@127.0.0.1:1/test"));
    for (const args of [["validate"], ["reload"], ["status"]]) {
      const r = await p.run(args);
      expect(r.code, args[0]).toBe(2);
      expect(r.stdout + r.stderr).toContain('the password has a "%" that is not followed by two hex digits; write a literal % as %25');
      expect(r.stdout + r.stderr).not.toMatch(/URIError|unexpected error|\n\s+at /);
      expectHidden(args[0]!, r.stdout + r.stderr, ["ZZPct4"]);
    }
  });

  it("a SIGHUP with a tab before a store URL of another kind logs the refusal redacted", async () => {
    const p = project(BASE_CONFIG + JOB);
    started.push(p);
    expect((await p.run(["start"])).code).toBe(0);
    p.write(withStore("\\tmysql://u:TabPw5@db.internal/jobs"));
    process.kill(pidOf(p), "SIGHUP");
    await waitFor("the refused reload", () => /reload refused/.test(logOf(p)), 20_000);
    expect(logOf(p)).toMatch(/mysql:\/\/u:\*\*\*@db\.internal\/jobs/);
    expectHidden("the daemon's log", logOf(p), ["TabPw5"]);
  });
});

describe("secrets stay out of jobs and job listings (7c, 7d)", () => {
  it("a job's `env` does not print the Slack webhook or the API token; env_file values read ${NAME} in jobs --json and the API", async () => {
    const webhook = "https://hooks.slack.example/services/T0/B0/SlackSecret6";
    const token = "HttpTokenSecret7-0123456789";
    const apiKey = "ApiKeySecret8-abcdef";
    const p = project(BASE_CONFIG.replace('http: { listen: "127.0.0.1:0" }', 'http: { listen: "127.0.0.1:0", token: "${JOBCLOCK_HTTP_TOKEN}" }') + `env_file: ./secrets.env
notify:
  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }
jobs:
  envdump: { every: 1h, shell: "env" }
  usekey: { every: 1h, command: "/bin/echo --key=\${API_KEY} --retries=\${RETRIES}" }
`);
    started.push(p);
    writeFileSync(join(p.dir, "secrets.env"), `API_KEY=${apiKey}\nRETRIES=1\n`);
    chmodSync(join(p.dir, "secrets.env"), 0o600);
    const env = { SLACK_WEBHOOK_URL: webhook, JOBCLOCK_HTTP_TOKEN: token, INHERITED_VAR: "kept" };
    const start = await p.run(["start"], env);
    expect(start.code, start.stderr).toBe(0);
    const url = await daemonUrl(p.dir);

    expect((await p.run(["trigger", "envdump"], env)).code).toBe(0);
    let runId = 0;
    await waitFor("the envdump run to finish", async () => {
      const runs = JSON.parse((await p.run(["runs", "envdump", "--json"], env)).stdout) as { id: number; status: string }[];
      runId = runs.find((r) => r.status === "succeeded")?.id ?? 0;
      return runId > 0;
    }, 30_000);
    const logs = await p.run(["logs", "envdump"], env);
    expect(logs.stdout).toContain("INHERITED_VAR=kept"); // jobs still inherit the daemon's environment
    expect(logs.stdout).toContain("JOBCLOCK_JOB=envdump");
    const apiLog = await (await fetch(`${url}api/v1/runs/${runId}/log`)).text();
    expect(apiLog).toContain("INHERITED_VAR=kept");
    for (const [where, text] of [["jobclock logs", logs.stdout + logs.stderr], ["the API's run log", apiLog]] as const) {
      expectHidden(where, text, ["SlackSecret6", "HttpTokenSecret7", "SLACK_WEBHOOK_URL=", "JOBCLOCK_HTTP_TOKEN="]);
    }

    const listed = await p.run(["jobs", "--json"], env);
    const apiJob = await (await fetch(`${url}api/v1/jobs/usekey`)).text();
    for (const [where, text] of [["jobs --json", listed.stdout], ["GET /api/v1/jobs/usekey", apiJob]] as const) {
      expect(text, where).toContain("--key=${API_KEY}");
      expect(text, where).toContain("--retries=1"); // too short to be worth hiding
      expectHidden(where, text, ["ApiKeySecret8", "SlackSecret6", "HttpTokenSecret7"]);
    }
  });
});

/** The CLI as run on another machine: a hostname of its own (a UTS namespace; needs root). */
function fromOtherHost(p: ReturnType<typeof project>, args: string[]): Promise<number> {
  return new Promise((done) => {
    execFile("unshare", ["--uts", "sh", "-c", 'hostname other-host && exec "$@"', "sh", process.execPath, CLI, "--config", join(p.dir, "jobclock.yaml"), ...args],
      { cwd: p.dir, env: { ...process.env, JOBCLOCK_CONFIG: "" } }, (error) => done(error ? 1 : 0));
  });
}

describe.skipIf(!isRoot("the SUDO_USER test (sudo's variable is believed only for root)"))("log-line injection through SUDO_USER", () => {
  it("a forged SUDO_USER never makes a line of its own in the daemon's log", async () => {
    const p = project(BASE_CONFIG + JOB);
    started.push(p);
    const forged = { SUDO_USER: "x)\n2026-01-01T00:00:00.000Z ERROR FORGED LINE" };
    // The first apply records its source in the store; the stale config below quotes it in the
    // daemon's log message (the tester's path to a forged line).
    expect((await p.run(["reload"], forged)).code).toBe(0);
    const original = readFileSync(join(p.dir, "jobclock.yaml"), "utf8");
    p.write(`${original}  b: { every: 1h, shell: "true" }\n`);
    expect(await fromOtherHost(p, ["reload"])).toBe(0); // the store moves on from another machine
    p.write(original);
    expect((await p.run(["start"], forged)).code).toBe(0);
    await waitFor("the start line", () => /jobclock started/.test(logOf(p)), 20_000);
    expect(logOf(p)).toMatch(/config refused \(nothing changed\): this config is the job set of generation 1/);
    expect(logOf(p)).not.toMatch(/^\S+ ERROR FORGED LINE/m);
    expect(logOf(p).split("\n").every((line) => line === "" || /^\d{4}-\d\d-\d\dT\S+ (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /.test(line))).toBe(true);
  });
});

describe("YAML tags and repeated units through the CLI (9, 14)", () => {
  it("validate refuses a !!omap document, a !!set under notify and every: 5m5m, exit 2", async () => {
    const dir = project("").dir;
    const run = (yaml: string) => {
      writeFileSync(join(dir, "jobclock.yaml"), yaml);
      return jobclock(["--config", join(dir, "jobclock.yaml"), "validate"], { cwd: dir });
    };
    const omap = await run("--- !!omap\n- jobs: {}\n");
    expect(omap).toMatchObject({ code: 2, stderr: expect.stringContaining("(top level): is a YAML !!omap (an ordered map); write a plain map") });
    const set = await run(`${BASE_CONFIG}notify: !!set {x}\njobs: {}\n`);
    expect(set).toMatchObject({ code: 2, stderr: expect.stringContaining("notify: is a YAML !!set; write a plain map") });
    const units = await run(`${BASE_CONFIG}jobs:\n  a: { every: 5m5m, shell: "true", env: { "A=B": z } }\n`);
    expect(units.code).toBe(2);
    expect(units.stderr).toContain('jobs.a.every: "5m5m" repeats a unit');
    expect(units.stderr).toContain('jobs.a.env: "A=B" is not a variable name');
  });
});
