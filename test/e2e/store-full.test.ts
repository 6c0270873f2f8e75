import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, project, stopForGood } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { isRoot } from "../helpers/service-user.js";
import { fill } from "../helpers/processes.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Writes zeros until the file system is full. */

describe.skipIf(!isRoot("the full store test (a 2 MiB tmpfs)"))("a store on a full disk", () => {
  it("status says the daemon has stopped heartbeating, and why to look in its log", async () => {
    const p = project(BASE_CONFIG + `jobs:\n  tick: { every: 1s, shell: "echo tick" }\n`);
    const data = join(p.dir, "data");
    mkdirSync(data, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", data]);
    cleanups.push(() => void execFileSync("umount", ["-l", data]));
    expect((await p.run(["start"])).code).toBe(0);
    cleanups.push(() => stopForGood(p));
    expect((await p.run(["status"])).stdout).not.toMatch(/heartbeated/);
    fill(join(data, "filler"));
    await waitFor("status to say the daemon is not heartbeating", async () => {
      const s = await p.run(["status"]);
      return s.code === 0 && /^warning: the daemon has not heartbeated in the store for \S+: it cannot write there \(a full disk\?/m.test(s.stdout);
    }, 30_000);
    const json = JSON.parse((await p.run(["status", "--json"])).stdout) as { problems: string[] };
    expect(json.problems.some((x) => /has not heartbeated/.test(x))).toBe(true);
  });
});
