import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { tempDir } from "../helpers/spec.js";

function refusal(yaml: string): ConfigError {
  try {
    parseConfig(yaml, "/srv/jobclock.yaml", {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    return error as ConfigError;
  }
  throw new Error("expected the config to be refused");
}

describe("YAML mistakes get a hint", () => {
  it("a plain value containing ': ' says to quote it", () => {
    expect(refusal(`jobs:\n  a:\n    every: 5m\n    shell: echo time: now\n`).problems).toEqual([
      "line 4, column 12: Nested mappings are not allowed in compact mappings; a value containing \": \" must be quoted, e.g. key: \"a: b\"",
    ]);
    expect(refusal(`jobs:\n  a: { every: 5m, shell: echo a: b }\n`).problems[0]).toMatch(/a value containing ": " must be quoted/);
  });

  it("tabs for indentation say to indent with spaces, once per line", () => {
    expect(refusal(`jobs:\n\ta:\n\t\tevery: 5m\n`).problems).toEqual([
      "line 2, column 1: a tab is used for indentation; indent with spaces (YAML does not allow tabs there)",
      "line 3, column 1: a tab is used for indentation; indent with spaces (YAML does not allow tabs there)",
    ]);
  });

  it("a value starting with * (cron!) says to quote it, in one problem", () => {
    expect(refusal(`jobs:\n  a:\n    cron: * * * * *\n`).problems).toEqual([
      'line 3, column 11: Alias cannot be an empty string; a value starting with "*" must be quoted, e.g. key: "*…"',
    ]);
  });

  it("an INI file is recognised as one", () => {
    for (const ini of ["[main]\nstore = sqlite:x\n[jobs]\na = b\n", "store = sqlite:x\nlevel = info\n"]) {
      const error = refusal(ini);
      expect(error.message).toMatch(/^\/srv\/jobclock\.yaml is not valid YAML:/);
      expect(error.problems).toEqual(["this looks like an INI file ([section] and key = value lines), not YAML; see examples/jobclock.yaml"]);
    }
  });

  it("a top level that is not a map says so; an empty file is refused (what truncation looks like); `{}` is no jobs", () => {
    expect(refusal("- a\n- b\n").problems).toEqual([
      "(top level): the file is a list; it must be a map of keys such as store:, log: and jobs: (see examples/jobclock.yaml)",
    ]);
    expect(refusal("hello\n").problems[0]).toMatch(/^\(top level\): the file is a single value; it must be a map/);
    for (const text of ["", "\n  \n", "# nothing yet\n"]) {
      expect(refusal(text).problems[0]).toMatch(/^the file is empty \(or only comments\); refused, so an emptied or truncated config never points jobclock at another store/);
    }
    expect(parseConfig("{}\n", "/srv/jobclock.yaml", {}).jobs).toEqual([]);
    expect(parseConfig("jobs: {}\n", "/srv/jobclock.yaml", {}).jobs).toEqual([]);
  });

  it("the parser's own 'at line L, column C' is not repeated after the prefix", () => {
    expect(refusal(`jobs: [unclosed`).problems[0]).toMatch(/^line 1, column 16: Flow sequence .* end with a \](; check the indentation.*)?$/);
  });
});

describe("duplicate keys", () => {
  it("are found at any depth, in file order", () => {
    expect(refusal("jobs:\n  a: { every: 1m, shell: x, env: { A: 1, A: 2 } }\n  b: {}\n  b: {}\n").problems).toEqual([
      "line 2, column 42: a key appears twice (for jobs: two jobs with the same name); rename or remove one",
      "line 4, column 3: a key appears twice (for jobs: two jobs with the same name); rename or remove one",
    ]);
  });
});

describe("a billion-laughs file is a config error", () => {
  it("aliases that expand without bound are refused with exit 2 and a plain message", () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [prev, name] of [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"], ["f", "g"]]) {
      bomb.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const error = refusal(bomb.join("\n"));
    expect(error.message).toMatch(/^\/srv\/jobclock\.yaml is refused:/);
    expect(error.problems[0]).toMatch(/its aliases \(\*name\) expand to too many values .* write the values out, or use fewer aliases/);
  });
});

describe("the config file itself", () => {
  it("a folder, a FIFO and a missing file are refused with a message, never a hang", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "conf.d"));
    expect(() => loadConfig(join(dir, "conf.d"), {})).toThrow(/conf\.d is a folder, not a file; give the config file's path, e.g. .*conf\.d\/jobclock\.yaml/);
    execFileSync("mkfifo", [join(dir, "fifo.yaml")]);
    expect(() => loadConfig(join(dir, "fifo.yaml"), {})).toThrow(/fifo\.yaml is not a regular file/);
    expect(() => loadConfig(join(dir, "none.yaml"), {})).toThrow(/none\.yaml does not exist; pass --config PATH or set JOBCLOCK_CONFIG/);
    writeFileSync(join(dir, "ok.yaml"), "jobs: {}\n");
    expect(loadConfig(join(dir, "ok.yaml"), {}).jobs).toEqual([]);
  });
});

describe("YAML tags that make a Map, a Set, bytes or a date are refused, naming the key", () => {
  it("a !!omap document is not an empty config with the default store", () => {
    expect(refusal("--- !!omap\n- store: sqlite:/elsewhere.db\n- jobs: {}\n").problems).toEqual([
      "(top level): is a YAML !!omap (an ordered map); write a plain map (key: value lines, without the tag)",
    ]);
  });

  it("!!omap and !!set under a key are not silently ignored", () => {
    expect(refusal("defaults: !!omap [paused: true]\nnotify: !!set {x}\nlog: !!omap [file: /etc/passwd]\njobs: {}\n").problems).toEqual([
      "defaults: is a YAML !!omap (an ordered map); write a plain map (key: value lines, without the tag)",
      "notify: is a YAML !!set; write a plain map (key: value lines) or a list, without the tag",
      "log: is a YAML !!omap (an ordered map); write a plain map (key: value lines, without the tag)",
    ]);
  });

  it("deeper, and for bytes and dates, the path is named", () => {
    expect(refusal("jobs:\n  a:\n    every: 5m\n    shell: !!binary aGVsbG8=\n    env: !!omap [A: b]\n    tags: [x, !!timestamp 2001-12-14]\n").problems).toEqual([
      "jobs.a.shell: is YAML !!binary data; write a string, without the tag",
      "jobs.a.env: is a YAML !!omap (an ordered map); write a plain map (key: value lines, without the tag)",
      "jobs.a.tags.1: is a YAML !!timestamp; write the value as a quoted string, without the tag",
    ]);
  });
});
