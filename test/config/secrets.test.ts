import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { knownSecrets, MIN_REDACTED_LENGTH, newKnownSecrets } from "../../src/config/secrets.js";
import type { JobRecord } from "../../src/store/types.js";
import { jobView, redactSecrets } from "../../src/views.js";
import { tempDir } from "../helpers/spec.js";

const API_KEY = "ak_live_0123456789SECRET";
const DB_PASSWORD = "pw-PGSECRET";

/** A config whose commands use env_file values, as a tester's did. */
function configWithEnvFile(env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  writeFileSync(join(dir, "secrets.env"), `API_KEY=${API_KEY}\nDB_PASSWORD="${DB_PASSWORD}"\nRETRIES=1\nUNUSED_TOKEN=never-used-SECRET\n`);
  chmodSync(join(dir, "secrets.env"), 0o600);
  writeFileSync(join(dir, "jobclock.yaml"), `env_file: ./secrets.env
jobs:
  sync: { every: 5m, command: "/usr/bin/curl -H 'Authorization: Bearer \${API_KEY}' --retry \${RETRIES} https://api.example.com" }
  dump: { every: 1h, shell: "PGPASSWORD=\${DB_PASSWORD} pg_dump -U app db", env: { TOKEN: "\${API_KEY}" }, description: "uses \${DB_PASSWORD}" }
`);
  return loadConfig(join(dir, "jobclock.yaml"), env);
}

function record(spec: JobRecord["spec"]): JobRecord {
  return { name: spec.name, spec } as JobRecord;
}

describe("env_file values in job listings", () => {
  it("a config lists every env_file value and each substituted value as a secret", () => {
    const config = configWithEnvFile();
    expect(config.secrets.values).toEqual(expect.arrayContaining([
      ["API_KEY", API_KEY], ["DB_PASSWORD", DB_PASSWORD], ["RETRIES", "1"], ["UNUSED_TOKEN", "never-used-SECRET"],
    ]));
    expect(config.secrets.variables).toEqual([]); // none is used under notify:, http: or store
  });

  it("jobs --json and the API show them as ${NAME} in command, shell and the rest of the spec; short values stay", () => {
    const config = configWithEnvFile();
    const known = newKnownSecrets();
    known.remember(config.secrets);
    const shown = config.jobs.map((spec) => redactSecrets(record(spec), known));
    const text = JSON.stringify(shown);
    expect(text).not.toContain("SECRET");
    const [dump, sync] = [shown.find((j) => j.name === "dump")!, shown.find((j) => j.name === "sync")!];
    expect(sync.spec.action).toEqual({
      kind: "command", argv: ["/usr/bin/curl", "-H", "Authorization: Bearer ${API_KEY}", "--retry", "1", "https://api.example.com"],
    });
    expect(dump.spec.action).toEqual({ kind: "shell", script: "PGPASSWORD=${DB_PASSWORD} pg_dump -U app db" });
    expect(dump.spec.description).toBe("uses ${DB_PASSWORD}");
    expect(dump.spec.env).toEqual({ TOKEN: "***" });
    // The stored spec itself is untouched: the runner needs the real values.
    expect(JSON.stringify(config.jobs)).toContain(API_KEY);
  });

  it("the environment's value, which wins over the file's, is redacted too", () => {
    const fromEnv = "env-wins-SECRET-value";
    const config = configWithEnvFile({ API_KEY: fromEnv });
    const known = newKnownSecrets();
    known.remember(config.secrets);
    const sync = redactSecrets(record(config.jobs.find((j) => j.name === "sync")!), known);
    expect(sync.spec.action).toMatchObject({ argv: expect.arrayContaining(["Authorization: Bearer ${API_KEY}"]) });
  });

  it(`values shorter than ${MIN_REDACTED_LENGTH} characters are not redacted; longer ones first, in one pass`, () => {
    const known = newKnownSecrets();
    known.remember({ variables: [], values: [["ONE", "1"], ["SHORT", "abcde"], ["A", "abcdef"], ["AB", "abcdefgh"], ["ODD", "a.b*c(d)$"]] });
    expect(known.redact("1 abcde abcdef abcdefgh xa.b*c(d)$y")).toBe("1 abcde ${A} ${AB} x${ODD}y");
  });

  it("the job view (the API's job list, the dashboard) shows description and tags with the values redacted", () => {
    const config = configWithEnvFile();
    knownSecrets.remember(config.secrets); // the process-wide set the daemon fills
    const dump = config.jobs.find((j) => j.name === "dump")!;
    const job = { ...record(dump), paused: false, retiredAt: null, lastRunId: null, lastStartedAt: null, lastFinishedAt: null, runningCount: 0, nextSlot: 0 } as unknown as JobRecord;
    expect(jobView(job, 0)).toMatchObject({ description: "uses ${DB_PASSWORD}" });
  });
});
