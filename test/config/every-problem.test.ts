import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { tempDir } from "../helpers/spec.js";
import { problems } from "../helpers/config.js";


const job = (extra: string) => `jobs:\n  a:\n    shell: "true"\n${extra}`;

describe("every problem in one pass", () => {
  it("2 top-level problems, 1 defaults problem and 8 job problems are listed together", () => {
    const out = problems(`
stroe: sqlite:./x.db
shutdown_timeout: soon
defaults:
  overlap: sometimes
  timeout: 10m
jobs:
  a: { every: nope, shell: x }
  b: { cron: "bad", shell: x }
  c: { every: 1m }
  d: { every: 1m, shell: x, evrey: 2m }
  e: { every: 1m, shell: x, timezone: Mars/Olympus }
  f: { every: 1m, shell: x, run_on_start: "yes" }
  g: { every: 10s, shell: x, jitter: 20s }
  "bad name!": { every: 1m, shell: x }
`);
    expect(out).toEqual([
      expect.stringMatching(/^\(top level\): unknown key "stroe" \(did you mean "store"\?\)/),
      'shutdown_timeout: "soon" is not a duration (examples: 500ms, 30s, 5m, 1h30m, 1d)',
      'defaults.overlap: "sometimes" is not one of "skip", "queue", "allow", "replace"',
      'jobs.a.every: "nope" is not a duration (examples: 500ms, 30s, 5m, 1h30m, 1d)',
      expect.stringMatching(/^jobs\.b\.cron: "bad" has 1 field/),
      expect.stringMatching(/^jobs\.c: has none of "command", "shell" and "module"/),
      expect.stringMatching(/^jobs\.d: unknown key "evrey"/),
      expect.stringMatching(/^jobs\.e\.timezone: "Mars\/Olympus" is not an IANA timezone/),
      'jobs.f.run_on_start: expected boolean, got "yes"',
      "jobs.g.jitter: 20s must be shorter than the interval (every: 10s)",
      expect.stringMatching(/^jobs\.bad name!: "bad name!" is not a usable job name/),
    ]);
  });

  it("an invalid default key is dropped, the valid ones still apply to the jobs", () => {
    // A problem in defaults must not hide a job problem that only shows with the valid defaults.
    const out = problems(`defaults: { overlap: sometimes, timezone: Mars/Olympus }\njobs:\n  a: { cron: "0 * * * *", shell: x }\n`);
    expect(out).toEqual([
      'defaults.overlap: "sometimes" is not one of "skip", "queue", "allow", "replace"',
      expect.stringMatching(/^jobs\.a\.timezone: "Mars\/Olympus" is not an IANA timezone/),
    ]);
  });

  it("jobs or defaults of the wrong shape say what is expected", () => {
    expect(problems(`defaults: [1]\njobs: [a, b]\n`)).toEqual([
      "defaults: expected a map of job keys (timezone, timeout, overlap, …), got a list",
      "jobs: expected a map of job name to job (e.g. sync-orders: { every: 5m, command: … }), got a list",
    ]);
  });
});

describe("numbers where durations or ports are expected", () => {
  it("a bare number where a duration is expected says to write the unit, keeping the key path", () => {
    expect(problems(`shutdown_timeout: 30\n${job("    every: 30\n    timeout: 10\n    retries: { max: 1, delay: 5 }\n")}`)).toEqual([
      "shutdown_timeout: 30 is a number; durations need a unit: write 30s",
      "jobs.a.every: 30 is a number; durations need a unit: write 30s",
      "jobs.a.timeout: 10 is a number; durations need a unit: write 10s",
      "jobs.a.retries.delay: 5 is a number; durations need a unit: write 5s",
    ]);
    expect(problems(job(`    every: "30"\n`))).toEqual(['jobs.a.every: "30" has no unit; durations need a unit: write 30s']);
  });

  it("http.listen: 7437 (a number) is a port on loopback", () => {
    const config = parseConfig(`http: { listen: 7437 }\njobs: {}`, join(tempDir(), "jobclock.yaml"), {});
    expect(config.http).toMatchObject({ host: "127.0.0.1", port: 7437, loopback: true });
    expect(problems(`http: { listen: 99999 }\njobs: {}`)[0]).toMatch(/^http\.listen: "99999" is not host:port/);
    expect(problems(`http: true\njobs: {}`)).toEqual(["http: expected false, or a map with listen and token, got true"]);
  });
});

describe("accepted today, failing later", () => {
  it("durations have a maximum of 100 years", () => {
    expect(problems(job(`    every: 20000000w\n`))).toEqual(['jobs.a.every: "20000000w" is too long; the longest duration is 36500d (100 years)']);
    expect(problems(job(`    every: 100000000000000000000w\n`))[0]).toMatch(/is too long; the longest duration is 36500d/);
    expect(problems(`shutdown_timeout: 36501d\njobs: {}`)[0]).toMatch(/^shutdown_timeout: "36501d" is too long/);
    const config = parseConfig(job(`    every: 36500d\n    timeout: 36500d\n`), join(tempDir(), "jobclock.yaml"), {});
    expect(config.jobs[0]).toMatchObject({ schedule: { everyMs: 36_500 * 86_400_000 }, timeoutMs: 36_500 * 86_400_000 });
  });

  it('pidfile: "" and log.file: "" are refused with what to write instead', () => {
    expect(problems(`pidfile: ""\nlog: { file: "" }\nstore: ""\njobs: {}`)).toEqual([
      "store: is empty; write sqlite:./data/jobclock.db, postgres://user@host:5432/db, or remove the key",
      "pidfile: is empty; give a file path such as ./run/jobclock.pid, or remove the key for that default",
      "log.file: is empty; give a file path such as ./logs/jobclock.log, or write false for no log file",
    ]);
  });

  it("${A:-${B}} takes B's value, as a shell does; B's absence matters only when A is unset", () => {
    const config = (env: NodeJS.ProcessEnv) =>
      parseConfig(`jobs:\n  a: { every: 1m, shell: x, env: { V: "\${A:-\${B}}", W: "\${A:-\${B:-two}}-x" } }`, join(tempDir(), "jobclock.yaml"), env).jobs[0]!.env;
    expect(config({ A: "aval", B: "bval" })).toEqual({ V: "aval", W: "aval-x" });
    expect(config({ B: "bval" })).toEqual({ V: "bval", W: "bval-x" });
    expect(config({ A: "aval" })).toEqual({ V: "aval", W: "aval-x" });
    expect(problems(`jobs:\n  a: { every: 1m, shell: x, env: { V: "\${A:-\${B}}" } }`)).toEqual([
      "jobs.a.env.V: environment variable B is not set; set it, or give a default with ${B:-value}",
    ]);
    expect(problems(`jobs:\n  a: { every: 1m, shell: x, env: { V: "\${A:-\${B}" } }`)).toEqual([
      'jobs.a.env.V: "${A:-${B}" is not closed; add the missing }',
    ]);
    expect(problems(`jobs:\n  a: { every: 1m, shell: x, env: { V: "\${1A}" } }`)[0]).toMatch(/"\$\{1A\}" is not a valid reference/);
  });

  it("${toString}, ${constructor} and ${__proto__} are unset variables, not JavaScript internals", () => {
    for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      expect(problems(`jobs:\n  a: { every: 1m, shell: x, env: { V: "\${${name}}" } }`)).toEqual([
        `jobs.a.env.V: environment variable ${name} is not set; set it, or give a default with \${${name}:-value}`,
      ]);
      const config = parseConfig(`jobs:\n  a: { every: 1m, shell: x, env: { V: "[\${${name}:-unset}]" } }`, join(tempDir(), "jobclock.yaml"), {});
      expect(config.jobs[0]!.env.V).toBe("[unset]");
    }
  });

  it("a variable that is set but empty gets one plain message, not the follow-on errors", () => {
    expect(problems(`notify:\n  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }\nhttp: { token: "\${TOKEN}" }\njobs: {}`, { SLACK_WEBHOOK_URL: "", TOKEN: "" })).toEqual([
      "notify.slack.webhook: environment variable SLACK_WEBHOOK_URL is set but empty (in the environment); give it a value, or a default with ${SLACK_WEBHOOK_URL:-value}",
      "http.token: environment variable TOKEN is set but empty (in the environment); give it a value, or a default with ${TOKEN:-value}",
    ]);
    expect(problems(job(`    every: "\${EVERY}"\n`), { EVERY: "" })).toEqual([
      "jobs.a.every: environment variable EVERY is set but empty (in the environment); give it a value, or a default with ${EVERY:-value}",
    ]);
  });

  it("job names: at most 128 characters, and the rule is stated", () => {
    const long = "j".repeat(129);
    expect(problems(`jobs:\n  ${long}: { every: 1m, shell: x }`)).toEqual([
      expect.stringMatching(/is not a usable job name \(letters, digits, "\.", "_" and "-", starting with a letter or digit, at most 128 characters; it has 129\)/),
    ]);
    expect(parseConfig(`jobs:\n  ${"j".repeat(128)}: { every: 1m, shell: x }`, join(tempDir(), "jobclock.yaml"), {}).jobs).toHaveLength(1);
  });

  it("cron: @every 5m gets jobclock's own message", () => {
    expect(problems(job(`    cron: "@every 5m"\n`))).toEqual([
      'jobs.a.cron: "@every 5m" is not cron (@every comes from other schedulers); for an interval write every: 5m instead of cron',
    ]);
    expect(problems(job(`    cron: "@reboot"\n`))[0]).toMatch(/run_on_start: true/);
  });
});

describe("a job named __proto__ never vanishes", () => {
  it("__proto__ is reported by the name rule; the other jobs are kept", () => {
    const out = problems(`jobs:\n  __proto__: { every: 1m, shell: x }\n  a: { every: 1m, shell: x }\n`);
    expect(out).toEqual([expect.stringMatching(/^jobs\.__proto__: "__proto__" is not a usable job name/)]);
  });

  it("constructor and toString are ordinary job names", () => {
    const config = parseConfig(`jobs:\n  constructor: { every: 1m, shell: x }\n  toString: { every: 2m, shell: x }\n`, join(tempDir(), "jobclock.yaml"), {});
    expect(config.jobs.map((j) => j.name)).toEqual(["constructor", "toString"]);
  });

  it("an env key __proto__ is kept as a variable, and __proto__ as a config key is unknown", () => {
    const config = parseConfig(`jobs:\n  a: { every: 1m, shell: x, env: { __proto__: one, B: two } }\n`, join(tempDir(), "jobclock.yaml"), {});
    expect(Object.entries(config.jobs[0]!.env)).toEqual([["B", "two"], ["__proto__", "one"]]);
    expect(problems(`__proto__: { store: x }\njobs: {}`)[0]).toMatch(/^\(top level\): unknown key "__proto__"/);
    expect(problems(`jobs:\n  a: { every: 1m, shell: x, __proto__: { every: 2m } }`)[0]).toMatch(/^jobs\.a: unknown key "__proto__"/);
  });
});

describe("PATH, folders", () => {
  it("a bare program not in PATH is a warning; one in the job's own PATH is fine", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "mytool"), "#!/bin/sh\n");
    chmodSync(join(dir, "bin", "mytool"), 0o755);
    const config = parseConfig(
      `jobs:\n  a: { every: 1m, command: "no-such-program-xyz --flag" }\n  b: { every: 1m, command: mytool, env: { PATH: "${dir}/bin" } }\n  c: { every: 1m, command: sh }\n  d: { every: 1m, command: ./bin, cwd: ./nowhere }\n`,
      join(dir, "jobclock.yaml"), { PATH: "/usr/bin:/bin" },
    );
    expect(config.jobs).toHaveLength(4);
    expect(config.warnings).toEqual([
      'jobs.a.command: program "no-such-program-xyz" is not found in PATH; install it or give its full path (its runs fail until this is fixed)',
      `jobs.d.command: ${dir}/bin is a folder, not a file; its runs fail until this is fixed`,
      `jobs.d.cwd: folder ${dir}/nowhere does not exist (relative paths start at the config's folder); its runs fail until this is fixed`,
    ]);
  });
});
