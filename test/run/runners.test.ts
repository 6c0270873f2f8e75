import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { parseConfig } from "../../src/config/load.js";
import { knownSecrets } from "../../src/config/secrets.js";
import { Cancellation } from "../../src/run/cancellation.js";
import { runAttempt } from "../../src/run/runner.js";
import { TailBuffer } from "../../src/run/tail-buffer.js";
import type { AttemptRequest } from "../../src/run/types.js";
import { FakeClock } from "../../src/testing/fake-clock.js";
import type { JobSpec } from "../../src/job-spec.js";
import { makeSpec, tempDir } from "../helpers/spec.js";

function request(spec: JobSpec, over: Partial<AttemptRequest> = {}): AttemptRequest {
  return { runId: 7, spec, slot: Date.UTC(2026, 4, 1), attempt: 1, cancel: new Cancellation(), clock: systemClock, ...over };
}

describe("command runner", () => {
  it("runs argv without a shell: spaces, $VARS and globs arrive literally", async () => {
    const spec = makeSpec("argv", { action: { kind: "command", argv: ["/bin/echo", "two words", "$HOME", "*.csv"] } });
    const result = await runAttempt(request(spec), undefined);
    expect(result).toMatchObject({ status: "succeeded", exitCode: 0, stdout: "two words $HOME *.csv\n" });
  });

  it("passes the job's env, cwd and JOBCLOCK_* variables", async () => {
    const cwd = tempDir();
    const spec = makeSpec("env", {
      action: { kind: "shell", script: 'echo "$GREETING $JOBCLOCK_JOB $JOBCLOCK_RUN_ID $JOBCLOCK_SLOT $JOBCLOCK_ATTEMPT $(pwd)"' },
      env: { GREETING: "hi" }, cwd,
    });
    const result = await runAttempt(request(spec, { attempt: 2 }), undefined);
    expect(result.stdout).toBe(`hi env 7 2026-05-01T00:00:00.000Z 2 ${cwd}\n`);
  });

  it("reports a failing exit code and keeps stderr", async () => {
    const spec = makeSpec("fail", { action: { kind: "shell", script: "echo oops >&2; exit 3" } });
    expect(await runAttempt(request(spec), undefined)).toMatchObject({ status: "failed", exitCode: 3, stderr: "oops\n", error: "exited with code 3" });
  });

  it("says clearly when the program does not exist", async () => {
    const spec = makeSpec("missing", { action: { kind: "command", argv: ["/nonexistent/tool"] } });
    expect(await runAttempt(request(spec), undefined)).toMatchObject({ status: "failed", error: expect.stringMatching(/cannot start \/nonexistent\/tool.*not found/) });
  });

  it("says that the working directory is missing, not the program, when it is the folder that is gone", async () => {
    const spec = makeSpec("nocwd", { action: { kind: "shell", script: "true" }, cwd: "/nonexistent/folder" });
    expect(await runAttempt(request(spec), undefined)).toMatchObject({
      status: "failed", error: "cannot start /bin/sh: its working directory /nonexistent/folder does not exist (cwd in the config, or the config's folder)",
    });
  });

  it("keeps only the last 64 KiB of output", async () => {
    // 200,000 numbered lines is about 1.3 MB; the tail must end with the last line.
    const spec = makeSpec("big", { action: { kind: "shell", script: "seq 1 200000" } });
    const result = await runAttempt(request(spec), undefined);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.byteLength(result.stdout)).toBeGreaterThan(60 * 1024);
    expect(result.stdout.endsWith("199999\n200000\n")).toBe(true);
  });

  it("cancels on abort with SIGTERM and reports cancelled", async () => {
    const cancel = new Cancellation();
    const spec = makeSpec("cancel", { action: { kind: "command", argv: ["sleep", "30"] } });
    const running = runAttempt(request(spec, { cancel }), undefined);
    setTimeout(() => cancel.cancel(new Error("stop now")), 100);
    expect(await running).toMatchObject({ status: "cancelled", signal: "SIGTERM", error: "stop now" });
  });
});

describe("module runner", () => {
  function moduleFile(code: string): string {
    const path = join(tempDir(), "job.mjs");
    writeFileSync(path, code);
    return path;
  }

  it("calls the default export in a worker thread with ctx", async () => {
    const path = moduleFile(`
      import { isMainThread } from "node:worker_threads";
      export default async (ctx) => {
        ctx.log("main thread?", isMainThread, ctx.job, ctx.runId, ctx.slot.toISOString(), ctx.attempt, ctx.signal.aborted);
        ctx.log.warn("careful");
        console.log("plain console works too");
      };`);
    const result = await runAttempt(request(makeSpec("mod", { action: { kind: "module", path } }), { attempt: 3 }), undefined);
    expect(result.status).toBe("succeeded");
    expect(result.stdout).toBe("main thread? false mod 7 2026-05-01T00:00:00.000Z 3 false\nplain console works too\n");
    expect(result.stderr).toBe("warn: careful\n");
  });

  it("reports a throw as failed with the stack", async () => {
    const path = moduleFile(`export default async () => { throw new Error("module broke"); };`);
    expect(await runAttempt(request(makeSpec("m", { action: { kind: "module", path } })), undefined)).toMatchObject({
      status: "failed", error: expect.stringMatching(/Error: module broke/),
    });
  });

  it("refuses a module without a default export function", async () => {
    const path = moduleFile(`export const notDefault = 1;`);
    expect(await runAttempt(request(makeSpec("m", { action: { kind: "module", path } })), undefined)).toMatchObject({
      status: "failed", error: expect.stringMatching(/has no default export function/),
    });
  });

  it("on timeout aborts ctx.signal, then terminates a worker that ignores it", async () => {
    const path = moduleFile(`export default () => new Promise(() => { setInterval(() => {}, 1000); });`);
    const clock = new FakeClock();
    const spec = makeSpec("stuck", { action: { kind: "module", path }, timeoutMs: 1_000, killGraceMs: 500 });
    const running = runAttempt(request(spec, { clock }), undefined);
    await new Promise((r) => setTimeout(r, 100));
    await clock.advance(1_500);
    expect(await running).toMatchObject({ status: "timed_out", error: expect.stringMatching(/timed out after 1s; worker terminated/) });
  });
});

describe("handler runner", () => {
  it("gives ctx.signal only to handlers that ask, aborted on cancel", async () => {
    const cancel = new Cancellation();
    let seen: AbortSignal | null = null;
    const running = runAttempt(request(makeSpec("h"), { cancel }), async (ctx) => {
      seen = ctx.signal;
      await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    });
    cancel.cancel(new Error("shutdown"));
    expect(await running).toMatchObject({ status: "cancelled", error: "shutdown" });
    expect(seen!.aborted).toBe(true);
  });

  it("captures ctx.log lines as the run's output", async () => {
    const result = await runAttempt(request(makeSpec("h")), (ctx) => {
      ctx.log("hello", 42);
      ctx.log.error("bad thing");
    });
    expect(result).toMatchObject({ status: "succeeded", stdout: "hello 42\n", stderr: "error: bad thing\n" });
  });
});

describe("TailBuffer", () => {
  it("keeps the newest bytes across chunk boundaries", () => {
    const tail = new TailBuffer(10);
    tail.write("abcdef");
    tail.write("ghijkl");
    tail.write("mn");
    expect(tail.toString()).toBe("efghijklmn");
    expect(tail.droppedBytes).toBe(4);
  });
});

describe("command runner: exit versus deadline", () => {
  it("a process that exits before its timeout is not recorded as timed out while its output drains", async () => {
    // The shell exits at once but leaves a background child holding stdout: the output drain
    // then takes its 250 ms, during which the 100 ms timeout would fire.
    const spec = makeSpec("bg", { action: { kind: "shell", script: "sleep 2 & echo started; exit 0" }, timeoutMs: 100 });
    const result = await runAttempt(request(spec), undefined);
    expect(result).toMatchObject({ status: "succeeded", exitCode: 0, stdout: "started\n" });
  });
});

describe("system clock", () => {
  it("waits past Node's 24.8-day timer limit instead of firing at once", async () => {
    let fired = false;
    const handle = systemClock.setTimeout(() => (fired = true), 30 * 86_400_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toBe(false);
    systemClock.clearTimeout(handle);
  });
});

describe("job environment", () => {
  it("inherits the daemon's environment but not jobclock's store URL, nor systemd's notify socket", async () => {
    process.env.JOBCLOCK_STORE = "postgres://app:hunter2@db/jobs";
    process.env.NOTIFY_SOCKET = "/run/systemd/notify";
    process.env.INHERITED_VAR = "yes";
    try {
      const spec = makeSpec("env", { action: { kind: "shell", script: 'echo "[$JOBCLOCK_STORE] [$NOTIFY_SOCKET] $INHERITED_VAR"' } });
      expect((await runAttempt(request(spec), undefined)).stdout).toBe("[] [] yes\n");
    } finally {
      delete process.env.JOBCLOCK_STORE;
      delete process.env.NOTIFY_SOCKET;
      delete process.env.INHERITED_VAR;
    }
  });

  it("command, shell and module jobs see the same JOBCLOCK_* variables, and none sees JOBCLOCK_STORE", async () => {
    process.env.JOBCLOCK_STORE = "postgres://app:hunter2@db/jobs";
    process.env.INHERITED_VAR = "yes";
    const cwd = tempDir();
    const printer = join(cwd, "print-env.mjs");
    // One printer for every kind: the JOBCLOCK_* names and values, the inherited var, the job's env.
    const body = `Object.entries(process.env).filter(([k]) => k.startsWith("JOBCLOCK_") || k === "INHERITED_VAR" || k === "GREETING")
      .sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => k + "=" + v).join("\\n")`;
    writeFileSync(printer, `console.log(${body});\nexport default () => {};\n`);
    const env = { GREETING: "hi", JOBCLOCK_JOB: "a job's env cannot rename it" };
    try {
      const outputs: Record<string, string> = {};
      for (const action of [
        { kind: "command" as const, argv: [process.execPath, printer] },
        { kind: "shell" as const, script: `"${process.execPath}" "${printer}"` },
        { kind: "module" as const, path: printer },
      ]) {
        const result = await runAttempt(request(makeSpec("envjob", { action, env }), { attempt: 3 }), undefined);
        expect(result.status, result.error ?? "").toBe("succeeded");
        outputs[action.kind] = result.stdout;
      }
      const expected = [
        "GREETING=hi", "INHERITED_VAR=yes", "JOBCLOCK_ATTEMPT=3", "JOBCLOCK_JOB=envjob", "JOBCLOCK_RUN_ID=7", "JOBCLOCK_SLOT=2026-05-01T00:00:00.000Z",
      ].join("\n") + "\n";
      expect(outputs).toEqual({ command: expected, shell: expected, module: expected });
    } finally {
      delete process.env.JOBCLOCK_STORE;
      delete process.env.INHERITED_VAR;
    }
  });

  it("hides every variable the config uses for its own secrets (notify:, http:, store), unless a job's env hands it over", async () => {
    const secrets = {
      SLACK_WEBHOOK_URL: "https://hooks.slack.example/services/T0/B0/SLACKSECRET",
      JOBCLOCK_HTTP_TOKEN: "TOKENSECRET-0123456789",
      HOOK_SIGNING: "SIGNINGSECRET",
      PGPASS: "PGSECRET",
      INHERITED_VAR: "yes",
    };
    Object.assign(process.env, secrets);
    const dir = tempDir();
    try {
      const config = parseConfig(
        `store: "postgres://app:\${PGPASS}@db.internal/jobs"
notify:
  slack: { webhook: "\${SLACK_WEBHOOK_URL}" }
  webhooks: [{ url: https://ops.example.com/hook, secret: "\${HOOK_SIGNING}" }]
http: { token: "\${JOBCLOCK_HTTP_TOKEN}" }
jobs:
  a: { every: 5m, shell: "env" }
  b: { every: 5m, shell: "env", env: { SLACK_WEBHOOK_URL: "\${SLACK_WEBHOOK_URL}" } }
`, join(dir, "jobclock.yaml"), process.env);
      expect(config.secrets.variables).toEqual(["HOOK_SIGNING", "JOBCLOCK_HTTP_TOKEN", "PGPASS", "SLACK_WEBHOOK_URL"].sort());
      knownSecrets.remember(config.secrets); // as the daemon does once it has read its config
      const printer = join(dir, "print-env.mjs");
      writeFileSync(printer, "console.log(Object.entries(process.env).map(([k, v]) => k + '=' + v).join('\\n'));\nexport default () => {};\n");
      for (const action of [
        { kind: "shell" as const, script: "env" },
        { kind: "command" as const, argv: ["/usr/bin/env"] },
        { kind: "module" as const, path: printer },
      ]) {
        const out = (await runAttempt(request(makeSpec("a", { action })), undefined)).stdout;
        expect(out, action.kind).toContain("INHERITED_VAR=yes"); // the rest of the environment is still inherited
        for (const [name, value] of Object.entries(secrets).filter(([n]) => n !== "INHERITED_VAR")) {
          expect(out, `${action.kind}: ${name}`).not.toContain(value);
        }
      }
      const b = config.jobs.find((j) => j.name === "b")!;
      expect((await runAttempt(request(b), undefined)).stdout).toContain(`SLACK_WEBHOOK_URL=${secrets.SLACK_WEBHOOK_URL}\n`);
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });
});
