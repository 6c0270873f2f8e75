import { describe, expect, it } from "vitest";
import { BASE_CONFIG, project } from "../helpers/cli.js";

describe("jobclock check", () => {
  it("reports a job applied while no daemon runs as inactive after its first slot plus grace, and exits 1", async () => {
    const p = project(BASE_CONFIG + `jobs:\n  fresh: { every: 1s, grace: 1s, shell: "true" }\n  later: { every: 1h, shell: "true" }\n`);
    expect((await p.run(["reload"])).code).toBe(0); // applied to the store; no daemon
    const early = await p.run(["check"]);
    expect(early).toMatchObject({ code: 0, stdout: "all 2 job(s) healthy\n" });
    await new Promise((r) => setTimeout(r, 2_300)); // first slot at +1 s, grace 1 s
    const late = await p.run(["check"]);
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/^fresh +inactive +\S+ \(.* ago\) +every 1s +never ran; its first slot was /m);
    expect(late.stdout).toMatch(/1 of 2 job\(s\) unhealthy/);
    const json = JSON.parse((await p.run(["check", "--json"])).stdout);
    expect(json).toMatchObject({ healthy: false, jobs: 2, unhealthy: [{ job: "fresh", state: "inactive", lastRun: null }] });
    expect((await p.run(["jobs"])).stdout).toMatch(/^fresh +every 1s +inactive/m);
  });

  it("exits 1 when there is no store to check", async () => {
    const p = project(BASE_CONFIG + `jobs: {}\n`);
    const r = await p.run(["check"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no store at sqlite:.*jobclock\.db; start the daemon or run `jobclock reload` first/);
  });

  it("exits 2 on a usage error", async () => {
    const p = project(BASE_CONFIG + `jobs: {}\n`);
    expect((await p.run(["check", "--bogus"])).code).toBe(2);
  });
});
