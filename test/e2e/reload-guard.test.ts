import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, project, stopForGood } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";

type Project = ReturnType<typeof project>;
const started: Project[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) await stopForGood(p);
});

const jobs = (names: string[]) => `jobs:\n${names.map((n) => `  ${n}: { every: 1h, shell: "true" }`).join("\n")}\n`;
const EIGHT = ["a", "b", "c", "d", "e", "f", "g", "h"];

describe("a config that would empty the schedule is refused", () => {
  it("an emptied file is refused outright; one without its jobs: `reload` says how many and which, exits 2 and changes nothing; SIGHUP refuses it too; --force applies it", async () => {
    const p = project(BASE_CONFIG + jobs(EIGHT));
    started.push(p);
    expect((await p.run(["start"])).code).toBe(0);
    const log = () => readFileSync(join(p.dir, "logs/info.log"), "utf8");
    // An emptied file: refused before anything else, by every command (it would name another store).
    p.write("");
    for (const args of [["reload"], ["reload", "--force"], ["status"], ["validate"]]) {
      const r = await p.run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/jobclock\.yaml is refused:\n  - the file is empty \(or only comments\)/);
    }
    // A file that lost its jobs: the apply guard.
    p.write(BASE_CONFIG);
    const reload = await p.run(["reload"]);
    expect(reload.code).toBe(2);
    expect(reload.stderr).toMatch(/reload refused; nothing was changed\.\nthis config would retire 8 of 8 jobs \(a, b, c, d, e, f, g, h\).*jobclock reload --force/);
    expect(reload.stdout).toBe("");
    const listed = await p.run(["jobs", "--json"]);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((j) => j.name)).toEqual(EIGHT);
    // Every instance hears of the attempt, with where it came from.
    await waitFor("the daemon to log the refused apply", () => /WARN\s+config refused \(nothing changed\): this config would retire 8 of 8 jobs.*by="cli /.test(log()));

    // The daemon's own SIGHUP reload is guarded the same way.
    const pid = Number(readFileSync(join(p.dir, "run/jobclock.pid"), "utf8"));
    process.kill(pid, "SIGHUP");
    await waitFor("the SIGHUP refusal", () => /ERROR\s+reload refused, the running jobs are kept: this config would retire 8 of 8 jobs/.test(log()));
    expect((JSON.parse((await p.run(["jobs", "--json"])).stdout) as unknown[]).length).toBe(8);

    // More than half (5 of 8) is refused; half (4 of 8) is not.
    p.write(BASE_CONFIG + jobs(EIGHT.slice(0, 3)));
    expect((await p.run(["reload"])).stderr).toMatch(/would retire 5 of 8 jobs \(d, e, f, g, h\)/);
    p.write(BASE_CONFIG + jobs(EIGHT.slice(0, 4)));
    const half = await p.run(["reload"]);
    expect(half).toMatchObject({ code: 0, stdout: expect.stringMatching(/0 added, 0 updated, 4 retired, 4 unchanged \(generation \d+\)\nretired: e, f, g, h/) });
    await waitFor("the daemon to log the CLI's change with its source", () => /WARN\s+config applied: 4 job\(s\) retired by="cli [^"]+@[^"]+" .*retired=e,f,g,h/.test(log()));

    p.write(BASE_CONFIG);
    const forced = await p.run(["reload", "--force"]);
    expect(forced).toMatchObject({ code: 0, stdout: expect.stringMatching(/0 added, 0 updated, 4 retired, 0 unchanged/) });
    expect(JSON.parse((await p.run(["jobs", "--json"])).stdout)).toEqual([]);
  });

  it("a daemon started with a config that would retire most jobs keeps running the store's jobs, and says so", async () => {
    const p = project(BASE_CONFIG + jobs(["a", "b", "c"]));
    started.push(p);
    expect((await p.run(["reload"])).code).toBe(0);
    p.write(BASE_CONFIG + jobs(["a"]));
    expect((await p.run(["start"])).code).toBe(0);
    const log = () => readFileSync(join(p.dir, "logs/info.log"), "utf8");
    await waitFor("the refusal at start", () => /ERROR\s+the config's jobs were NOT applied; running the store's jobs instead: this config would retire 2 of 3 jobs \(b, c\)/.test(log()));
    expect((JSON.parse((await p.run(["jobs", "--json"])).stdout) as { name: string }[]).map((j) => j.name)).toEqual(["a", "b", "c"]);
  });
});
