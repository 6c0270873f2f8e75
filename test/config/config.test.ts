import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { splitCommand } from "../../src/config/argv.js";
import { tempDir } from "../helpers/spec.js";
import { problems } from "../helpers/config.js";


const shellJob = (extra: string) => `jobs:\n  sync-orders:\n    shell: "true"\n${extra}`;

describe("config: good input", () => {
  it("resolves paths relative to the config's folder and applies defaults", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "scripts"));
    writeFileSync(join(dir, "scripts", "run.sh"), "#!/bin/sh\n");
    chmodSync(join(dir, "scripts", "run.sh"), 0o755);
    writeFileSync(join(dir, "job.mjs"), "export default () => {}");
    const config = parseConfig(
      `store: sqlite:./data/x.db
defaults: { timezone: Europe/London, timeout: 10m, overlap: queue }
jobs:
  a: { every: 1h30m, command: "./scripts/run.sh --full 'two words'" }
  b: { cron: "0 30 2 * * *", module: ./job.mjs, overlap: skip, retries: { max: 3, delay: 30s } }
  c: { cron: "@hourly", shell: "echo hi | wc -c", timeout: none }`,
      join(dir, "jobclock.yaml"), {},
    );
    expect(config.store).toBe(`sqlite:${dir}/data/x.db`);
    expect(config.pidfile).toBe(`${dir}/run/jobclock.pid`);
    const [a, b, c] = config.jobs;
    expect(a).toMatchObject({
      schedule: { kind: "every", everyMs: 5_400_000 }, action: { kind: "command", argv: [`${dir}/scripts/run.sh`, "--full", "two words"] },
      cwd: dir, timeoutMs: 600_000, overlap: "queue",
    });
    expect(b).toMatchObject({
      schedule: { kind: "cron", expression: "0 30 2 * * *", timezone: "Europe/London" }, action: { kind: "module", path: `${dir}/job.mjs` },
      overlap: "skip", retries: { max: 3, delayMs: 30_000 },
    });
    expect(c).toMatchObject({ timeoutMs: null, action: { kind: "shell", script: "echo hi | wc -c" } });
  });

  it("interpolates ${VAR} and ${VAR:-default}; $${ is a literal", () => {
    const config = parseConfig(
      `store: \${STORE:-sqlite:/tmp/x.db}\njobs:\n  a: { every: "\${EVERY}", shell: "echo $\${HOME}", env: { TOKEN: "\${TOKEN}" } }`,
      "/tmp/jobclock.yaml", { EVERY: "5m", TOKEN: "s3cret" },
    );
    expect(config.store).toBe("sqlite:/tmp/x.db");
    expect(config.jobs[0]).toMatchObject({ schedule: { everyMs: 300_000 }, env: { TOKEN: "s3cret" }, action: { script: "echo ${HOME}" } });
  });

  it("lets JOBCLOCK_STORE override the store", () => {
    const config = parseConfig(`store: sqlite:./a.db\njobs: {}`, "/tmp/jobclock.yaml", { JOBCLOCK_STORE: "sqlite:/var/lib/b.db" });
    expect(config.store).toBe("sqlite:/var/lib/b.db");
  });
});

describe("config: bad input names the key and the fix", () => {
  it("an invalid duration", () => {
    expect(problems(shellJob(`    every: 5 minutes\n`))).toEqual([
      'jobs.sync-orders.every: "5 minutes" is not a duration (examples: 500ms, 30s, 5m, 1h30m, 1d)',
    ]);
  });

  it("an invalid cron expression", () => {
    expect(problems(shellJob(`    cron: "61 * * * *"\n`))[0]).toMatch(/^jobs\.sync-orders\.cron: "61 \* \* \* \*" is not a valid cron expression \(.*minute.*examples:/);
    expect(problems(shellJob(`    cron: "* * *"\n`))[0]).toMatch(/has 3 fields; a cron expression has 5 .* or 6/);
  });

  it("an invalid timezone", () => {
    expect(problems(shellJob(`    every: 5m\n    timezone: Mars/Olympus\n`))).toEqual([
      'jobs.sync-orders.timezone: "Mars/Olympus" is not an IANA timezone (examples: UTC, Europe/London, America/New_York)',
    ]);
  });

  it("both every and cron, or neither", () => {
    expect(problems(shellJob(`    every: 5m\n    cron: "* * * * *"\n`))[0]).toMatch(/jobs\.sync-orders: has both of "every" and "cron"; give exactly one/);
    expect(problems(shellJob(""))[0]).toMatch(/jobs\.sync-orders: has neither of "every" and "cron"/);
  });

  it("unknown keys, at any level", () => {
    expect(problems(shellJob(`    every: 5m\n    evrey: 5m\n`))).toEqual([
      expect.stringMatching(/^jobs\.sync-orders: unknown key "evrey" \(did you mean "every"\?\) \(allowed: every, cron,/),
    ]);
    expect(problems(`stroe: x\njobs: {}`)).toEqual([
      '(top level): unknown key "stroe" (did you mean "store"?) (allowed: store, env_file, pidfile, log, shutdown_timeout, heartbeat, abandon_after, retention, defaults, notify, http, jobs)',
    ]);
    expect(problems(`log: { colour: red }\njobs: {}`)).toEqual(['log: unknown key "colour" (allowed: file, level, format)']);
  });

  it("duplicate job names", () => {
    expect(problems(`jobs:\n  a: { every: 5m, shell: "true" }\n  a: { every: 1m, shell: "true" }\n`)).toEqual([
      expect.stringMatching(/line 3, column 3: a key appears twice \(for jobs: two jobs with the same name\)/),
    ]);
  });

  it("a missing module file, a missing command, an unexecutable script: warnings, not problems (a deploy fixes them without a reload)", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "plain.sh"), "echo");
    const yaml = `jobs:
  m: { every: 5m, module: ./nope.js }
  c: { every: 5m, command: ./missing.sh }
  x: { every: 5m, command: ./plain.sh }
  a: { every: 5m, command: /nowhere/at-all.sh }`;
    const config = parseConfig(yaml, join(dir, "jobclock.yaml"), {});
    expect(config.jobs.map((j) => j.name)).toEqual(["m", "c", "x", "a"]);
    expect(config.warnings).toEqual([
      `jobs.m.module: file ${dir}/nope.js does not exist (relative paths start at the config's folder); its runs fail until this is fixed`,
      `jobs.c.command: ${dir}/missing.sh does not exist (relative paths start at the config's folder); its runs fail until this is fixed`,
      `jobs.x.command: ${dir}/plain.sh is not executable (chmod +x it); its runs fail until this is fixed`,
      // An absolute path gets no hint about where relative paths start.
      "jobs.a.command: /nowhere/at-all.sh does not exist; its runs fail until this is fixed",
    ]);
  });

  it("a command that needs a shell", () => {
    expect(problems(`jobs:\n  a: { every: 5m, command: "ls | wc -l" }`)).toEqual([
      'jobs.a.command: contains "|", which only a shell understands; quote it to pass it literally, or use shell: "…" to run it through /bin/sh',
    ]);
  });

  it("two actions, or none", () => {
    expect(problems(`jobs:\n  a: { every: 5m, shell: "x", command: "y" }`)[0]).toMatch(/has command and shell of "command", "shell" and "module"; give exactly one/);
    expect(problems(`jobs:\n  a: { every: 5m }`)[0]).toMatch(/has none of "command", "shell" and "module"/);
  });

  it("an unset environment variable without a default", () => {
    expect(problems(`notify:\n  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }\njobs: {}`)[0]).toBe(
      "notify.slack.webhook: environment variable SLACK_WEBHOOK_URL is not set; set it, or give a default with ${SLACK_WEBHOOK_URL:-value}",
    );
  });

  it("wrong types and enum values", () => {
    expect(problems(shellJob(`    every: 5m\n    overlap: sometimes\n    run_on_start: "yes"\n`))).toEqual([
      'jobs.sync-orders.overlap: "sometimes" is not one of "skip", "queue", "allow", "replace"',
      'jobs.sync-orders.run_on_start: expected boolean, got "yes"',
    ]);
  });

  it("jitter longer than the interval, bad names, invalid YAML", () => {
    expect(problems(shellJob(`    every: 10s\n    jitter: 10s\n`))).toEqual(["jobs.sync-orders.jitter: 10s must be shorter than the interval (every: 10s)"]);
    expect(problems(`jobs:\n  "bad name!": { every: 5m, shell: x }`)[0]).toMatch(/is not a usable job name/);
    expect(problems(`jobs: [unclosed`)[0]).toMatch(/line 1/);
  });

  it("reports every problem at once", () => {
    expect(problems(`jobs:\n  a: { every: nope, shell: x }\n  b: { cron: "bad", shell: x }\n  c: { every: 1m }`)).toHaveLength(3);
  });
});

describe("splitCommand", () => {
  it("splits like a shell would, without being one", () => {
    expect(splitCommand(`a "b c" 'd e' f\\ g "h\\"i"`)).toEqual({ argv: ["a", "b c", "d e", "f g", 'h"i'] });
    expect(splitCommand(`a 'unclosed`)).toEqual({ error: "has an unclosed ' quote" });
    expect(splitCommand(`  `)).toEqual({ error: "is empty; give the program to run" });
    expect(splitCommand(`echo '*.csv' "a|b"`)).toEqual({ argv: ["echo", "*.csv", "a|b"] });
  });
});

describe("config: notifications", () => {
  it("refuses a webhook URL that is not http(s), without echoing it", () => {
    const out = problems(`notify:\n  slack: { webhook: "ftp://hooks.example/T000/SECRET" }\n  webhooks:\n    - url: "not a url"\njobs: {}`);
    expect(out).toEqual([
      "notify.slack.webhook: is not an http(s) URL (expected https://…)",
      "notify.webhooks.0.url: is not an http(s) URL (expected https://…)",
    ]);
    expect(out.join("\n")).not.toMatch(/SECRET/);
  });

  it("refuses an unknown notifier key and a grace that is not a duration", () => {
    expect(problems(`notify:\n  pagerduty: { key: x }\njobs: {}`)[0]).toMatch(/^notify: unknown key "pagerduty"/);
    expect(problems(`notify:\n  slack: { webhook: "https://h/x", colour: red }\njobs: {}`)[0]).toMatch(/^notify\.slack: unknown key "colour"/);
    expect(problems(shellJob(`    every: 5m\n    grace: soon\n`))).toEqual(['jobs.sync-orders.grace: "soon" is not a duration (examples: 500ms, 30s, 5m, 1h30m, 1d)']);
  });

  it("never echoes a value under notify:, even a wrong-typed secret", () => {
    const out = problems(`notify:\n  webhooks:\n    - url: "https://h/x"\n      secret: 123456789\njobs: {}`);
    expect(out).toEqual(["notify.webhooks.0.secret: expected string, got the value given"]);
  });

  it("refuses a remind more often than once a minute", () => {
    expect(problems(shellJob(`    every: 5m\n    remind: 0s\n`))).toEqual(['jobs.sync-orders.remind: 0s is too often; remind at most once a minute (e.g. 1h), or "none"']);
  });

  it("reads remind", () => {
    const config = parseConfig(`jobs:\n  a: { every: 5m, shell: x, remind: 1h }\n  b: { every: 5m, shell: x }`, "/tmp/jobclock.yaml", {});
    expect(config.jobs.map((j) => j.remindMs)).toEqual([3_600_000, null]);
  });
});

describe("config: instance timings", () => {
  it("refuses a heartbeat under a second, and abandon_after under 3 heartbeats", () => {
    expect(problems(`heartbeat: 0s\njobs: {}`)[0]).toMatch(/^heartbeat: 0s is too short; it must be at least 1s/);
    expect(problems(`heartbeat: 10s\nabandon_after: 20s\njobs: {}`)[0]).toMatch(/^abandon_after: must be at least 3 × heartbeat/);
  });
});

describe("config: http", () => {
  const http = (yaml: string, env: NodeJS.ProcessEnv = {}) => parseConfig(`${yaml}\njobs: {}\n`, join(tempDir(), "jobclock.yaml"), env).http;

  it("serves on loopback port 7420 by default; false turns it off; listen takes host:port, [v6]:port or a port", () => {
    expect(http("")).toEqual({ host: "127.0.0.1", port: 7420, token: null, loopback: true });
    expect(http("http: false")).toBeNull();
    expect(http('http: { listen: "[::1]:8080" }')).toEqual({ host: "::1", port: 8080, token: null, loopback: true });
    expect(http('http: { listen: "9000" }')).toMatchObject({ host: "127.0.0.1", port: 9000 });
    expect(http('http: { listen: "localhost:0" }')).toMatchObject({ host: "localhost", port: 0, loopback: true });
    expect(http('http: { listen: "0.0.0.0:7420", token: "${T}" }', { T: "a-long-random-secret-0123" })).toMatchObject({ loopback: false, token: "a-long-random-secret-0123" });
  });

  it("refuses a non-loopback address without a token, a short token and a malformed address, naming the key", () => {
    expect(problems('http: { listen: "0.0.0.0:7420" }\njobs: {}')).toEqual([
      "http.listen: 0.0.0.0:7420 is reachable from other machines; set http.token (a random secret, e.g. ${JOBCLOCK_HTTP_TOKEN}) or listen on 127.0.0.1",
    ]);
    expect(problems('http: { token: "short" }\njobs: {}')[0]).toMatch(/^http\.token: is too short \(at least 16 characters/);
    for (const bad of ["nope", "1.2.3.4:99999", "[zz]:1", "host:"]) {
      expect(problems(`http: { listen: "${bad}" }\njobs: {}`)[0]).toMatch(new RegExp(`^http\\.listen: "${bad.replace(/[[\]().*]/g, "\\$&")}" is not host:port`));
    }
    expect(problems("http: { port: 80 }\njobs: {}")[0]).toMatch(/^http: unknown key "port" \(allowed: listen, token\)/);
    // A token given in the file is a secret: a problem with it never repeats it.
    expect(problems("http: { token: 12345 }\njobs: {}").join("\n")).not.toMatch(/12345/);
  });
});
