import Database from "better-sqlite3";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, project, stopForGood } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { httpSink } from "../helpers/http-sink.js";

type Project = ReturnType<typeof project>;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function daemonWithSinks(jobs: string) {
  const slack = await httpSink();
  const hook = await httpSink();
  const p: Project = project(
    BASE_CONFIG +
      `notify:\n  slack: { webhook: "${slack.url}", channel: "#dev-notify" }\n  webhooks:\n    - url: "${hook.url}"\n      secret: s3cret\n` +
      jobs,
  );
  cleanups.push(() => stopForGood(p), () => slack.close(), () => hook.close());
  expect((await p.run(["start"])).code).toBe(0);
  return { p, slack, hook };
}

const texts = (s: { delivered: { body: Record<string, unknown> }[] }) => s.delivered.map((r) => String(r.body.text));

describe("notifications from the daemon", () => {
  it("a job blocked by its own long run becomes delayed (one message), then recovers (one message)", async () => {
    const { slack, hook } = await daemonWithSinks(
      `jobs:\n  blocker:\n    every: 1s\n    overlap: skip\n    grace: 2s\n    shell: "if [ ! -f first-done ]; then touch first-done; sleep 4; fi"\n`,
    );
    await waitFor("the delayed message", () => texts(slack).some((t) => t.startsWith("blocker is delayed")), 15_000);
    await waitFor("the recovered message", () => texts(slack).some((t) => t.startsWith("blocker recovered")), 15_000);
    await new Promise((r) => setTimeout(r, 3_000)); // and nothing more while it stays healthy
    expect(texts(slack)).toEqual([expect.stringMatching(/^blocker is delayed: the slot of .* has not started \(grace 2s\)/), expect.stringMatching(/^blocker recovered/)]);
    expect(slack.delivered[0]!.body.channel).toBe("#dev-notify");
    expect(hook.delivered.map((r) => [r.body.kind, r.body.state])).toEqual([["opened", "delayed"], ["recovered", expect.stringMatching(/ok|running/)]]);
  });

  it("a failing command is reported as failing with its stderr lines, once", async () => {
    const { slack, hook } = await daemonWithSinks(
      `jobs:\n  bad:\n    every: 1s\n    shell: "echo first-problem >&2; echo second-problem >&2; exit 3"\n`,
    );
    await waitFor("the failing message", () => slack.delivered.length > 0 && hook.delivered.length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 2_500)); // it keeps failing every second: still one message
    expect(texts(slack)).toEqual([expect.stringMatching(/^bad is failing: its last run failed\. Last run: #\d+ failed .* Error: exited with code 3$/)]);
    expect(JSON.stringify(slack.delivered[0]!.body.blocks)).toContain("exited with code 3\\nfirst-problem\\nsecond-problem");
    expect(hook.delivered).toHaveLength(1);
    expect(hook.delivered[0]!.body).toMatchObject({ version: 1, kind: "opened", job: "bad", state: "failing", errorLines: ["exited with code 3", "first-problem", "second-problem"] });
    expect(hook.delivered[0]!.headers["x-jobclock-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
});

describe("notifications across a restart", () => {
  it("a notification that could not be delivered is stored, and delivered once after a restart", async () => {
    // Find a free loopback port, then leave nothing listening on it: Slack is "down".
    const probe = await httpSink();
    const port = probe.port;
    const url = probe.url;
    await probe.close();
    const p = project(BASE_CONFIG + `notify:\n  slack: { webhook: "${url}" }\njobs:\n  bad: { every: 1h, run_on_start: true, shell: "exit 1" }\n`);
    cleanups.push(() => stopForGood(p));
    await p.run(["start"]);
    const db = () => new Database(join(p.dir, "data/jobclock.db"), { readonly: true });
    await waitFor("a failed delivery attempt", () => {
      const d = db();
      try {
        return (d.prepare("SELECT attempts FROM deliveries").pluck().get() as number | undefined ?? 0) >= 1;
      } finally {
        d.close();
      }
    }, 10_000);
    expect((await p.run(["stop"])).code).toBe(0);
    const slack = await httpSink([], port); // Slack is back, at the same address
    cleanups.push(() => slack.close());
    await p.run(["start"]);
    await waitFor("the delivery", () => slack.delivered.length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(slack.delivered.map((r) => String(r.body.text))).toEqual([expect.stringMatching(/^bad is failing/)]);
  });
});

describe("jobclock notify test", () => {
  it("sends one test message to every notifier and reports each result", async () => {
    const good = await httpSink();
    const bad = await httpSink([{ status: 500 }]);
    cleanups.push(() => good.close(), () => bad.close());
    const p = project(BASE_CONFIG + `notify:\n  slack: { webhook: "${good.url}" }\n  webhooks:\n    - url: "${bad.url}"\njobs: {}\n`);
    const r = await p.run(["notify", "test"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^slack: delivered\nwebhook 127\.0\.0\.1:\d+: FAILED \(HTTP 500, may work on a retry\)\n$/);
    expect(r.stdout + r.stderr).not.toMatch(/secret-token/);
    expect(String(good.delivered[0]!.body.text)).toMatch(/^jobclock test notification/);
    const none = project(BASE_CONFIG + "jobs: {}\n");
    expect(await none.run(["notify", "test"])).toMatchObject({ code: 1, stdout: "no notifiers configured (see notify: in the config)\n" });
  });
});
