import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { durationProblem, parseDuration } from "../../src/schedule/duration.js";
import { ConfigError } from "../../src/errors.js";
import { tempDir } from "../helpers/spec.js";
import { problems } from "../helpers/config.js";

/** Values once accepted that failed (or silently did something else) later: refused when the config is read. */


const SECRET = "S3CRET-VALUE";

describe("env names", () => {
  it("a name that is not [A-Za-z_][A-Za-z0-9_]* is refused, in a job and in defaults", () => {
    expect(problems(`defaults: { env: { "1X": a } }\njobs:\n  a: { every: 5m, shell: "true", env: { "A=B": z, "": e, "PATH=/evil:/bin": "", "OK_1": fine, "a b": c } }\n`)).toEqual([
      'defaults.env: "1X" is not a variable name (letters, digits and "_", not starting with a digit); write NAME: value',
      'jobs.a.env: "A=B" is not a variable name (letters, digits and "_", not starting with a digit); write NAME: value',
      'jobs.a.env: "" is not a variable name (letters, digits and "_", not starting with a digit); write NAME: value',
      'jobs.a.env: "PATH=/evil:/bin" is not a variable name (letters, digits and "_", not starting with a digit); write NAME: value',
      'jobs.a.env: "a b" is not a variable name (letters, digits and "_", not starting with a digit); write NAME: value',
    ]);
  });
});

describe("control characters in env and env_file values", () => {
  it("a NUL in an env value is refused by key, never showing the value; line breaks and escapes are values like any other", () => {
    const found = problems(`jobs:\n  a:\n    every: 5m\n    shell: "true"\n    env: { NUL: "${SECRET}\\0x", NL: "${SECRET}\\nx", ESC: "\\e[31m${SECRET}", TAB: "a\\tb" }\n`);
    expect(found).toEqual(["jobs.a.env.NUL: contains a NUL byte (U+0000); no process environment can hold one; remove it"]);
    expect(found.join("\n")).not.toContain(SECRET);
  });

  it("a NUL in an env_file value is refused by line and key, never showing the value; the same reaching a command is refused too", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "secrets.env"), `GOOD=fine\nAPI_KEY=${SECRET}\0tail\nCR=a\rb\n`);
    chmodSync(join(dir, "secrets.env"), 0o600);
    writeFileSync(join(dir, "jobclock.yaml"), `env_file: ./secrets.env\njobs:\n  a: { every: 5m, command: "curl -H \${API_KEY}" }\n`);
    let error: unknown;
    try {
      loadConfig(join(dir, "jobclock.yaml"), {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const found = (error as ConfigError).problems;
    expect(found.slice(0, 2)).toEqual([
      `env_file: ${dir}/secrets.env line 2: the value of API_KEY contains a NUL byte (U+0000); environment values may hold printable characters and tabs only; to hand a job a multi-line value, give it a file path instead`,
      `env_file: ${dir}/secrets.env line 3: the value of CR contains a carriage return (U+000D); environment values may hold printable characters and tabs only; to hand a job a multi-line value, give it a file path instead`,
    ]);
    expect(found.join("\n")).not.toContain(SECRET);
  });

  it('a NUL written into a command, a path or a setting ("\\0" in YAML) is refused by key', () => {
    const found = problems(`pidfile: "./run/x\\0.pid"\njobs:\n  a: { every: 5m, command: ["/bin/echo", "${SECRET}\\0"] }\n  b: { every: 5m, shell: "echo \\0", cwd: "/tmp\\0" }\n`);
    expect(found).toEqual([
      "pidfile: contains a NUL byte (U+0000), which no command, path or setting can hold; remove it",
      "jobs.a.command.1: contains a NUL byte (U+0000), which no command, path or setting can hold; remove it",
      "jobs.b.shell: contains a NUL byte (U+0000), which no command, path or setting can hold; remove it",
      "jobs.b.cwd: contains a NUL byte (U+0000), which no command, path or setting can hold; remove it",
    ]);
    expect(found.join("\n")).not.toContain(SECRET);
  });
});

describe("durations repeat no unit", () => {
  it("5m5m is refused, not read as 10m; units go largest first", () => {
    for (const text of ["5m5m", "1h1h", "30m1h", "500ms1s", "1s1s"]) {
      expect(parseDuration(text), text).toBeNull();
      expect(durationProblem(text)).toBe(`"${text}" repeats a unit or puts a smaller one first; write each unit once, largest first (e.g. 1h30m, 1m30s)`);
    }
    for (const [text, ms] of [["1h30m", 5_400_000], ["1m30s500ms", 90_500], ["2w1d", 15 * 86_400_000], ["1.5h", 5_400_000]] as const) {
      expect(parseDuration(text), text).toBe(ms);
    }
    expect(problems(`jobs:\n  a: { every: 5m5m, shell: "true" }\n`)).toEqual([
      'jobs.a.every: "5m5m" repeats a unit or puts a smaller one first; write each unit once, largest first (e.g. 1h30m, 1m30s)',
    ]);
  });
});

describe("http.token that could never match", () => {
  const token = "tok-0123456789abcdefXYZ";
  it("surrounding whitespace or a newline is refused without showing the token", () => {
    for (const [written, env] of [[`"${token} "`, {}], ['"${TOKEN}"', { TOKEN: `${token}\n` }], [`"\\t${token}"`, {}]] as const) {
      const found = problems(`http: { token: ${written} }\njobs: {}\n`, env);
      expect(found).toEqual([
        "http.token: starts or ends with whitespace or a line break (often left by reading it from a file), so no request could ever match it; remove it (e.g. TOKEN=$(tr -d '[:space:]' < file))",
      ]);
      expect(found.join("\n")).not.toContain(token);
    }
  });

  it("a control character inside is refused; a clean token is fine", () => {
    expect(problems(`http: { token: "${token}\\e${token}" }\njobs: {}\n`)).toEqual([
      "http.token: contains an escape character (U+001B), which no request header can carry; use a random token of letters and digits",
    ]);
    expect(parseConfig(`http: { token: "${token}" }\njobs: {}\n`, "/x/jobclock.yaml", {}).http?.token).toBe(token);
  });
});
