import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, loadConfigLeniently } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { tempDir } from "../helpers/spec.js";

const WEBHOOK = "https://hooks.slack.example/services/T000/B000/XSECRETX";

/** A config folder with jobclock.yaml and (optionally) a secrets file of the given mode. */
function setup(yaml: string, secrets?: { text: string; mode?: number; name?: string }): string {
  const dir = tempDir();
  writeFileSync(join(dir, "jobclock.yaml"), yaml);
  if (secrets) {
    const path = join(dir, secrets.name ?? "secrets.env");
    writeFileSync(path, secrets.text);
    chmodSync(path, secrets.mode ?? 0o600);
  }
  return join(dir, "jobclock.yaml");
}

function refusal(path: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(path, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the config to be refused");
}

const SLACK = `env_file: ./secrets.env\nnotify:\n  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }\njobs:\n  a: { every: 1m, shell: "true", env: { DB: "\${DB_NAME:-none}" } }\n`;

describe("env_file: KEY=VALUE lines that ${KEY} can use", () => {
  it("reads KEY=VALUE, export, quotes, comments and blank lines; paths start at the config's folder", () => {
    const path = setup(SLACK, {
      text: `# secrets for jobclock\n\nexport SLACK_WEBHOOK_URL="${WEBHOOK}"\nDB_NAME='orders db'\n  SPACED = value with spaces  \nHASH=a#b\n`,
    });
    const config = loadConfig(path, {});
    expect(config.notify?.slack?.webhook).toBe(WEBHOOK);
    expect(config.jobs[0]!.env).toEqual({ DB: "orders db" });
    expect(config.envFile).toBe(join(path, "../secrets.env"));
  });

  it("the process environment wins over the file; an empty environment value does not hide it", () => {
    const path = setup(SLACK, { text: `SLACK_WEBHOOK_URL=${WEBHOOK}\nDB_NAME=from-file\n` });
    expect(loadConfig(path, { DB_NAME: "from-env" }).jobs[0]!.env).toEqual({ DB: "from-env" });
    expect(loadConfig(path, { DB_NAME: "" }).jobs[0]!.env).toEqual({ DB: "from-file" });
  });

  it("values are only for ${NAME}: nothing is added to the environment jobs inherit", () => {
    const path = setup(SLACK, { text: `SLACK_WEBHOOK_URL=${WEBHOOK}\nONLY_IN_FILE=x\n` });
    loadConfig(path);
    expect(process.env.ONLY_IN_FILE).toBeUndefined();
    expect(process.env.SLACK_WEBHOOK_URL).toBeUndefined();
  });

  it("a malformed line is named by file and line number, and its value is never echoed", () => {
    const path = setup(SLACK, { text: `SLACK_WEBHOOK_URL=${WEBHOOK}\n\nthis line has XSECRETX but no equals\nTOKEN="XSECRETX\n1BAD=x\n` });
    const out = refusal(path);
    const file = join(path, "../secrets.env");
    expect(out).toEqual([
      `env_file: ${file} line 3: expected KEY=VALUE (KEY: letters, digits and "_", not starting with a digit; "export KEY=VALUE" also works)`,
      `env_file: ${file} line 4: the value of TOKEN starts with a quote but does not end with the same quote; quote the whole value, e.g. TOKEN="…" (nothing may follow the closing quote)`,
      `env_file: ${file} line 5: expected KEY=VALUE (KEY: letters, digits and "_", not starting with a digit; "export KEY=VALUE" also works)`,
      expect.stringMatching(/^notify\.slack\.webhook: environment variable SLACK_WEBHOOK_URL is not set \(env_file .* could not be used: see its problem above\)/),
    ]);
    expect(out.join("\n")).not.toMatch(/XSECRETX/);
  });

  it("is refused when other users can read it, naming the file, its mode and the fix", () => {
    const path = setup(SLACK, { text: `SLACK_WEBHOOK_URL=${WEBHOOK}\n`, mode: 0o644 });
    const file = join(path, "../secrets.env");
    expect(refusal(path)[0]).toBe(
      `env_file: ${file} can be read by every user on this machine (mode 0644); it holds secrets: chmod 600 ${file} (or chmod o-r ${file}) and let only the service user own it`,
    );
    chmodSync(file, 0o640); // group-readable (the service user's group) is fine
    expect(loadConfig(path, {}).notify?.slack?.webhook).toBe(WEBHOOK);
  });

  it("a missing file, a folder, a FIFO: a problem naming the file, never a hang", () => {
    expect(refusal(setup(SLACK))[0]).toMatch(/^env_file: .*secrets\.env does not exist; create it \(KEY=VALUE lines, chmod 600\)/);
    const dir = tempDir();
    mkdirSync(join(dir, "secrets.env"));
    writeFileSync(join(dir, "jobclock.yaml"), SLACK);
    expect(refusal(join(dir, "jobclock.yaml"))[0]).toMatch(/^env_file: .*secrets\.env is a folder, not a file/);
    expect(refusal(setup(`env_file: ""\njobs: {}`))[0]).toBe("env_file: is empty; give the path of a KEY=VALUE file, or remove the key");
    const fifo = setup(SLACK);
    execFileSync("mkfifo", [join(fifo, "../secrets.env")]);
    expect(refusal(fifo)[0]).toMatch(/^env_file: .*secrets\.env is not a regular file/);
  });

  it("operational commands need no secret: a variable missing under notify: or http.token is not even a warning", () => {
    const path = setup(`notify:\n  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }\nhttp: { token: "\${JOBCLOCK_HTTP_TOKEN}" }\njobs:\n  a: { every: 1m, shell: "true" }\n`);
    expect(refusal(path)).toHaveLength(2); // validate, start, run, reload: refused, as before
    const { config, problems } = loadConfigLeniently(path, {});
    expect(problems).toEqual([]);
    expect(config.store).toMatch(/^sqlite:.*data\/jobclock\.db$/);
  });

  it("operational commands keep warning about other problems, and refuse a store they cannot resolve", () => {
    const path = setup(`store: "\${DB_URL}"\njobs:\n  a: { every: 1m, shell: "true" }\n`);
    expect(() => loadConfigLeniently(path, {})).toThrow(/store: environment variable DB_URL is not set/);
    const typo = setup(`notify:\n  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }\njobs:\n  a: { every: 1m, shell: "true", timout: 5m }\n`);
    expect(loadConfigLeniently(typo, {}).problems).toEqual([expect.stringMatching(/^jobs\.a: unknown key "timout"/)]);
  });
});
