import { execFile, execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, CLI, project, stopForGood, type CliResult } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { httpSink } from "../helpers/http-sink.js";
import { hasTool } from "../helpers/tools.js";

type Project = ReturnType<typeof project>;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** No "    at …" line: a message, never a stack trace. */
const STACK = /^\s+at /m;
const isRoot = process.getuid?.() === 0;

/**
 * Runs the CLI as an operator who may not read the service user's env_file. As root (CI) the
 * command runs without the capabilities that let root read any file (setpriv drops them), so a
 * 0000 file is EACCES for it as for any other user; otherwise the file's mode alone does it.
 */
function asOperator(p: Project, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const argv = [CLI, "--config", join(p.dir, "jobclock.yaml"), ...args];
  const [file, fileArgs] = isRoot
    ? ["/usr/bin/setpriv", ["--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--", process.execPath, ...argv]]
    : [process.execPath, argv];
  return new Promise((done) => {
    execFile(file, fileArgs, { cwd: p.dir, env: { ...process.env, JOBCLOCK_CONFIG: "", ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const texts = (s: { delivered: { body: Record<string, unknown> }[] }) => s.delivered.map((r) => String(r.body.text));
const NO_SECRETS = { SLACK_WEBHOOK_URL: undefined, JOBCLOCK_HTTP_TOKEN: undefined };

describe("env_file, read by the daemon and by every CLI command", () => {
  it("the daemon sends with the webhook from the file; commands that need no secret work without a word when the file is unreadable; the others say why", async () => {
    if (isRoot) hasTool("/usr/bin/setpriv", "apt-get install util-linux");
    const slack = await httpSink();
    const p = project(
      BASE_CONFIG +
        `env_file: ./secrets.env\nnotify:\n  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }\n` +
        `jobs:\n  bad: { every: 1h, run_on_start: true, shell: "exit 3" }\n  good: { every: 1h, shell: "true" }\n`,
    );
    cleanups.push(() => stopForGood(p), () => slack.close());
    const secrets = join(p.dir, "secrets.env");
    writeFileSync(secrets, `# jobclock's secrets\nexport SLACK_WEBHOOK_URL="${slack.url}"\n`, { mode: 0o600 });
    expect(await p.run(["validate"], NO_SECRETS)).toMatchObject({ code: 0, stderr: "" });
    expect((await p.run(["start"], NO_SECRETS)).code).toBe(0);
    await waitFor("the failing message, sent with the webhook from the env_file", () => texts(slack).some((t) => t.startsWith("bad is failing")), 20_000);

    chmodSync(secrets, 0o000); // from here on, the operator cannot read it
    const operational: [string[], number][] = [
      [["status"], 0], [["jobs"], 0], [["runs"], 0], [["logs", "bad"], 0], [["check"], 1],
      [["pause", "good"], 0], [["resume", "good"], 0], [["trigger", "good"], 0],
    ];
    for (const [args, code] of operational) {
      const r = await asOperator(p, args, NO_SECRETS);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code, stderr: "" });
    }
    for (const args of [["validate"], ["reload"], ["notify", "test"], ["start"], ["restart"], ["run"]]) {
      const r = await asOperator(p, args, NO_SECRETS);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/env_file: .*secrets\.env cannot be read: permission denied; run jobclock as the user the daemon runs as \(e\.g\. sudo -u jobclock jobclock …\)/);
      expect(r.stderr).not.toMatch(STACK);
    }
    expect((await asOperator(p, ["status"], NO_SECRETS)).stdout).toMatch(/^jobclock is running/); // restart was refused before stopping
    expect(await asOperator(p, ["stop"], NO_SECRETS)).toMatchObject({ code: 0, stderr: "" });
  });

  it("a config the operator cannot read says by whom and how to fix it", async () => {
    const p = project(BASE_CONFIG + "jobs: {}\n");
    chmodSync(join(p.dir, "jobclock.yaml"), 0o000);
    const r = await asOperator(p, ["status"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/jobclock\.yaml cannot be read: permission denied for \S+; make it readable for the users who run jobclock \(e\.g\. `chgrp jobclock .*jobclock\.yaml && chmod g\+r .*`\), or run this as its owner/);
    expect(r.stderr).not.toMatch(STACK);
  });

  it("a notifier's variable or the HTTP token missing from the operator's shell: no warning for commands that do not use them", async () => {
    const slack = await httpSink();
    const p = project(
      BASE_CONFIG.replace('http: { listen: "127.0.0.1:0" }', 'http: { listen: "127.0.0.1:0", token: "${JOBCLOCK_HTTP_TOKEN}" }') +
        `notify:\n  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }\njobs:\n  a: { every: 1h, shell: "true" }\n`,
    );
    cleanups.push(() => stopForGood(p), () => slack.close());
    const daemonEnv = { SLACK_WEBHOOK_URL: slack.url, JOBCLOCK_HTTP_TOKEN: "a-long-random-secret-0123" };
    expect((await p.run(["start"], daemonEnv)).code).toBe(0);
    for (const args of [["status"], ["jobs"], ["runs"], ["check"], ["pause", "a"], ["resume", "a"], ["trigger", "a"]]) {
      const r = await p.run(args, NO_SECRETS);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
    const validate = await p.run(["validate"], NO_SECRETS);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain("notify.slack.webhook: environment variable SLACK_WEBHOOK_URL is not set");
    expect(validate.stderr).toContain("http.token: environment variable JOBCLOCK_HTTP_TOKEN is not set");
    expect(validate.stderr).not.toMatch(/is not an http\(s\) URL|too short/); // no follow-on noise
    expect(await p.run(["stop"], NO_SECRETS)).toMatchObject({ code: 0, stderr: "" });
  });
});

describe("one missing file does not stop the daemon", () => {
  it("validate warns, start succeeds, the other job runs, the broken job's runs fail naming the file, and its failing alert fires", async () => {
    const slack = await httpSink();
    const p = project(
      BASE_CONFIG +
        `notify:\n  slack: { webhook: "${slack.url}" }\n` +
        `jobs:\n  gone: { every: 1h, run_on_start: true, command: ./scripts/gone.sh }\n  fine: { every: 1s, command: ./scripts/fine.sh }\n`,
    );
    cleanups.push(() => stopForGood(p), () => slack.close());
    mkdirSync(join(p.dir, "scripts"));
    for (const name of ["gone.sh", "fine.sh"]) writeFileSync(join(p.dir, "scripts", name), "#!/bin/sh\necho ok\n", { mode: 0o755 });
    expect((await p.run(["validate"])).stdout).not.toMatch(/warning/);
    rmSync(join(p.dir, "scripts/gone.sh"));

    const validate = await p.run(["validate"]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(
      new RegExp(`OK, 2 job\\(s\\)\\n.*\\n.*\\n1 warning\\(s\\):\\n  - warning: jobs\\.gone\\.command: ${p.dir}/scripts/gone\\.sh does not exist \\(relative paths start at the config's folder\\); its runs fail until this is fixed\\n$`),
    );
    const start = await p.run(["start"]);
    expect(start.code).toBe(0);
    expect(start.stderr).toMatch(/^warning: jobs\.gone\.command: .*gone\.sh does not exist/m); // said to whoever starts it
    expect(readFileSync(join(p.dir, "logs/info.log"), "utf8")).toMatch(/WARN\s+config: jobs\.gone\.command: .*gone\.sh does not exist/);
    await waitFor("the failing alert for gone", () => texts(slack).some((t) => t.startsWith("gone is failing")), 20_000);
    const runs = async (job: string) => JSON.parse((await p.run(["runs", job, "--json"])).stdout) as { status: string; error: string | null }[];
    await waitFor("a run of fine", async () => (await runs("fine")).some((r) => r.status === "succeeded"), 20_000);
    expect((await runs("gone"))[0]).toMatchObject({ status: "failed", error: expect.stringContaining(`${p.dir}/scripts/gone.sh`) });
    const reload = await p.run(["reload"]);
    expect(reload.code).toBe(0); // a reload accepts it too, and says what is wrong
    expect(reload.stderr).toMatch(/^warning: jobs\.gone\.command: .*does not exist/m);
  });
});

describe("no stack trace for any user error", () => {
  it("many commands against bad inputs exit 1 or 2 with a message, never a stack", async () => {
    const cases: { name: string; yaml?: string; setup?: (p: Project) => void; runs: [string[], number | number[]][] }[] = [
      { name: "missing config", runs: [[["--config", "/nonexistent/jobclock.yaml", "status"], 2], [["--config", "/nonexistent/jobclock.yaml", "start"], 2]] },
      { name: "config is a folder", setup: (p) => mkdirSync(join(p.dir, "conf.d")), runs: [[["--config", "conf.d", "jobs"], 2], [["--config", "conf.d", "validate"], 2]] },
      { name: "billion laughs", yaml: bomb(), runs: [[["validate"], 2], [["start"], 2], [["status"], 2], [["run"], 2]] },
      { name: "INI file", yaml: "[jobclock]\nstore = sqlite:x\n", runs: [[["validate"], 2], [["jobs"], 2]] },
      { name: "a list", yaml: "- a\n- b\n", runs: [[["validate"], 2]] },
      { name: "tabs", yaml: "jobs:\n\ta: { every: 1m }\n", runs: [[["validate"], 2], [["reload"], 2]] },
      { name: "absurd interval", yaml: BASE_CONFIG + "jobs:\n  a: { every: 20000000w, shell: x }\n", runs: [[["validate"], 2], [["reload"], 2], [["start"], 2]] },
      { name: "empty pidfile", yaml: BASE_CONFIG + 'pidfile: ""\njobs: {}\n', runs: [[["status"], 2], [["start"], 2], [["stop"], 2]] },
      { name: "empty log file", yaml: BASE_CONFIG.replace("file: ./logs/info.log", 'file: ""') + "jobs: {}\n", runs: [[["run"], 2], [["validate"], 2]] },
      { name: "env_file readable by all", yaml: BASE_CONFIG + "env_file: ./s.env\njobs: {}\n", setup: (p) => writeFileSync(join(p.dir, "s.env"), "A=b\n", { mode: 0o644 }), runs: [[["start"], 2]] },
      { name: "unknown job and bad flags", yaml: BASE_CONFIG + "jobs:\n  a: { every: 1h, shell: x }\n", runs: [
        [["logs", "ghost"], 1], [["pause", "ghost"], 1], [["trigger", "ghost"], 1], [["runs", "--limit", "many"], 2],
        [["runs", "--status", "weird"], 2], [["--bogus"], 2], [["frobnicate"], 2], [["logs"], 2],
      ] },
      { name: "store that is not SQLite", yaml: BASE_CONFIG + "jobs:\n  a: { every: 1h, shell: x }\n", setup: (p) => writeFileSync(join(p.dir, "data/jobclock.db"), "notes"), runs: [
        [["jobs"], 1], [["pause", "a"], 1], [["migrate"], 1], [["reload"], 1], [["validate"], 2], [["start"], 1],
      ] },
      // Today an unexpected error (EISDIR); it must be one line whatever it becomes.
      { name: "store that is a folder", yaml: BASE_CONFIG + "jobs: {}\n", setup: (p) => mkdirSync(join(p.dir, "data/jobclock.db")), runs: [[["validate"], [1, 2]], [["jobs"], [1, 2]]] },
      { name: "config that is a FIFO", setup: (p) => execFileSync("mkfifo", [join(p.dir, "fifo.yaml")]), runs: [[["--config", "fifo.yaml", "validate"], 2]] },
    ];
    for (const c of cases) {
      const p = project(c.yaml ?? BASE_CONFIG);
      cleanups.push(() => stopForGood(p));
      c.setup?.(p);
      for (const [args, code] of c.runs) {
        const r = await p.run(args);
        const what = `${c.name}: jobclock ${args.join(" ")}`;
        expect([code].flat(), `${what} exited ${r.code}: ${r.stderr}`).toContain(r.code);
        expect(r.stderr, what).not.toMatch(STACK);
        expect(r.stderr.trim(), `${what} said nothing`).not.toBe("");
      }
    }
  });
});

/** Aliases of aliases: 9^6 values from a few lines. */
function bomb(): string {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (const [prev, name] of [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"], ["f", "g"]]) {
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
  }
  return lines.join("\n") + "\n";
}
