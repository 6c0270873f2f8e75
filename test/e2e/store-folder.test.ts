import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BASE_CONFIG, project } from "../helpers/cli.js";

const JOB = `jobs:\n  a: { every: 1h, shell: "true" }\n`;

describe("a store path that is a folder, or that cannot be made", () => {
  it("validate lists it with what to write instead; start, status and jobs say the same, without a stack", async () => {
    const p = project(BASE_CONFIG.replace("store: sqlite:./data/jobclock.db", "store: sqlite:./data") + JOB);
    const wanted = `store: ${p.dir}/data is a folder; give a file path such as ${p.dir}/data/jobclock.db`;
    for (const args of [["validate"], ["start"], ["status"], ["jobs"]]) {
      const r = await p.run(args);
      expect(r.code, args[0]).toBe(2);
      expect(r.stdout + r.stderr).toContain(wanted);
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at |EISDIR|unexpected error/);
    }
    // The same through JOBCLOCK_STORE, which overrides the file.
    mkdirSync(join(p.dir, "elsewhere"));
    p.write(BASE_CONFIG + JOB);
    const r = await p.run(["validate"], { JOBCLOCK_STORE: `sqlite:${p.dir}/elsewhere` });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(`store: ${p.dir}/elsewhere is a folder; give a file path such as ${p.dir}/elsewhere/jobclock.db`);
  });

  it("a store whose folder cannot be made (under /proc, where a recursive mkdir never ends) fails at once with the path", async () => {
    const p = project(BASE_CONFIG.replace("store: sqlite:./data/jobclock.db", "store: sqlite:/proc/1/nope/jobclock.db") + JOB);
    const started = Date.now();
    const r = await p.run(["migrate"], {});
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^jobclock: cannot create store \/proc\/1\/nope\/jobclock\.db: .*mkdir '\/proc\/1\/nope'/);
  });
});
