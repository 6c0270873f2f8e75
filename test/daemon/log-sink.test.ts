import { mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliSource } from "../../src/cli/source.js";
import { formatText, LogSink } from "../../src/daemon/log-sink.js";
import { LogWriter } from "../../src/daemon/log-writer.js";
import { waitFor } from "../helpers/engine-harness.js";
import { tempDir } from "../helpers/spec.js";

const T = "2026-11-26T20:10:41.123Z";

describe("text log format", () => {
  it("writes one readable line per event, with its fields", () => {
    const line = JSON.stringify({ level: 30, time: T, msg: "run succeeded", job: "sync", run: 12, durationMs: 830 });
    expect(formatText(line)).toBe(`${T} INFO  run succeeded job=sync run=12 durationMs=830\n`);
  });

  it("quotes values with spaces and shows errors by message", () => {
    const line = JSON.stringify({ level: 40, time: T, msg: "x", error: "exited with code 3", err: { message: "boom", code: "E1" } });
    expect(formatText(line)).toBe(`${T} WARN  x error="exited with code 3" err="E1: boom"\n`);
  });

  it("shows lists as lists and flattens nested objects (was running=\"[\\\"nightly-report#7\\\"]\")", () => {
    const line = JSON.stringify({
      level: 30, time: T, msg: "stopping", running: ["nightly-report#7", "backup#9"], none: [],
      added: ["a job", "b"], store: { kind: "sqlite", path: "/var/lib/jobclock/x.db", opts: { wal: true } },
      problems: [{ key: "log", text: "full disk" }],
    });
    expect(formatText(line)).toBe(
      `${T} INFO  stopping running=nightly-report#7,backup#9 none=[] added="a job",b ` +
      "store.kind=sqlite store.path=/var/lib/jobclock/x.db store.opts.wal=true problems.0.key=log problems.0.text=\"full disk\"\n",
    );
  });

  it("shows epoch milliseconds of time fields as times, and leaves other numbers alone", () => {
    const ms = Date.parse("2026-11-30T23:29:12.587Z");
    const line = JSON.stringify({ level: 30, time: T, msg: "job delayed", since: ms, slot: ms, startedAt: ms, run: 1_796_081_352_587, durationMs: 830 });
    expect(formatText(line)).toBe(
      `${T} INFO  job delayed since=2026-11-30T23:29:12.587Z slot=2026-11-30T23:29:12.587Z startedAt=2026-11-30T23:29:12.587Z run=1796081352587 durationMs=830\n`,
    );
  });

  it("quotes a list item holding a comma, so items stay apart", () => {
    const line = JSON.stringify({ level: 30, time: T, msg: "m", jobs: ["a,b", "c"] });
    expect(formatText(line)).toBe(`${T} INFO  m jobs="a,b",c\n`);
  });
});

describe("log writer", () => {
  const note = (msg: string) => `NOTE ${msg}\n`;

  it("on a failing file (ENOSPC on /dev/full): one report, lines kept (the oldest dropped past the bound), written with a note once a file works", async () => {
    const problems: (string | null)[] = [];
    const writer = new LogWriter({ label: "log file X", maxBufferBytes: 100, note, onProblem: (t) => problems.push(t) });
    const full = openSync("/dev/full", "w");
    writer.setFd(full);
    writer.push("line 1 ..............\n");
    await waitFor("the write to fail", () => problems.length > 0, 5_000);
    expect(problems).toEqual([expect.stringMatching(/^log file X cannot be written \(ENOSPC\); log lines are kept in memory/)]);
    for (let i = 2; i <= 10; i++) writer.push(`line ${i} ..............\n`); // 22 bytes each: 4 fit
    expect(writer.dropped).toBeGreaterThan(0);
    expect(writer.pendingBytes).toBeLessThanOrEqual(100 + 64 * 1024);
    await new Promise((r) => setTimeout(r, 600)); // a retry or two: still one report
    expect(problems).toHaveLength(1);
    expect(writer.writeErrors).toBeGreaterThanOrEqual(2);

    const path = join(tempDir(), "log");
    writer.setFd(openSync(path, "a"));
    await writer.drained();
    await waitFor("the file to take the kept lines", () => readFileSync(path, "utf8").includes("line 10"), 5_000);
    expect(problems).toEqual([expect.any(String), null]);
    const text = readFileSync(path, "utf8");
    expect(text).toMatch(new RegExp(`^line 1 \\.+\\nNOTE ${writer.dropped} log line\\(s\\) were dropped here`));
    expect(text.trim().split("\n").at(-1)).toBe("line 10 ..............");
    writer.closeSync();
  });

  it("never throws at the logger, whatever the descriptor", () => {
    const writer = new LogWriter({ label: "x", maxBufferBytes: 1000, note, onProblem: () => {} });
    writer.setFd(987_654); // EBADF
    expect(() => writer.push("a\n")).not.toThrow();
    expect(() => writer.closeSync()).not.toThrow();
  });
});

describe("log sink", () => {
  it("creates the log folder 0750 and the file 0640 whatever the umask (was 0777 / 0666 under umask 000)", async () => {
    const dir = tempDir();
    const file = join(dir, "logs/deeper/info.log");
    const old = process.umask(0o000);
    try {
      const sink = new LogSink({ file, level: "info", format: "text" }, false, { report: () => {} });
      await sink.open();
      sink.write(`${JSON.stringify({ level: 30, time: T, msg: "hello" })}\n`);
      await sink.close();
    } finally {
      process.umask(old);
    }
    expect(statSync(join(dir, "logs")).mode & 0o777).toBe(0o750);
    expect(statSync(join(dir, "logs/deeper")).mode & 0o777).toBe(0o750);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readFileSync(file, "utf8")).toBe(`${T} INFO  hello\n`);
  });

  it("refuses a symlink at the log path", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "target"), "");
    symlinkSync(join(dir, "target"), join(dir, "info.log"));
    const sink = new LogSink({ file: join(dir, "info.log"), level: "info", format: "text" }, false, { report: () => {} });
    await expect(sink.open()).rejects.toThrow(/cannot open log file .*info\.log: ELOOP: it is a symbolic link/);
  });

  it("a reopen onto a path that fails keeps writing to the open file, reports once, and comes back by itself", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "logs"));
    const file = join(dir, "logs/info.log");
    const reports: string[] = [];
    const problems: (string | null)[] = [];
    const sink = new LogSink({ file, level: "info", format: "json" }, false, { report: (l) => reports.push(l) });
    sink.onProblem((t) => problems.push(t));
    await sink.open();
    rmSync(join(dir, "logs"), { recursive: true }); // logrotate gone wrong: the folder replaced by a file
    writeFileSync(join(dir, "logs"), "not a folder");
    expect(await sink.reopen()).toMatch(/cannot be reopened \(ENOTDIR: a file stands where a folder of that path should be/);
    expect(await sink.reopen()).toMatch(/cannot be reopened/); // the second SIGUSR1 killed the daemon before
    sink.write('{"msg":"still here"}\n');
    expect(reports).toHaveLength(1);
    expect(sink.stats().fileOk).toBe(false);
    rmSync(join(dir, "logs"));
    mkdirSync(join(dir, "logs"));
    await waitFor("the retried reopen", () => sink.problem === null, 10_000);
    sink.write('{"msg":"back"}\n');
    await sink.close();
    expect(readFileSync(file, "utf8")).toBe('{"msg":"back"}\n');
    expect(problems).toEqual([null, expect.stringMatching(/cannot be reopened/), null]);
    expect(reports.at(-1)).toMatch(/log file .* works again/);
  });
});

describe("log-line injection", () => {
  it("a message with a newline, an escape or a Unicode line separator stays one line, escaped", () => {
    const forged = `reload by cli root@h (sudo from x)\n${T} ERROR FORGED LINE \u001b[2J\r\u2028\u0085end`;
    const out = formatText(JSON.stringify({ level: 30, time: T, msg: forged, job: "a\nb", "k\u001b": "v\u001b[31m", list: ["x\ny"] }));
    expect(out.split("\n")).toHaveLength(2); // one line and its end
    expect(out).toBe(
      `${T} INFO  reload by cli root@h (sudo from x)\\n${T} ERROR FORGED LINE \\u001b[2J\\r\\u2028\\u0085end ` +
      'job="a\\nb" k\\u001b="v\\u001b[31m" list="x\\ny"\n',
    );
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
  });

  it("a line that is not JSON is written with its control characters escaped", () => {
    expect(formatText("plain \u001b[31m text\r\n")).toBe("plain \\u001b[31m text\\r\n");
  });
});

describe("the CLI's source in the daemon's log", () => {
  const forged = `x)\n${T} ERROR FORGED LINE`;
  it("SUDO_USER is believed only as root, and cut to a plausible user name", () => {
    expect(cliSource({ SUDO_USER: "alice" }, 1000)).not.toContain("sudo from");
    expect(cliSource({ SUDO_USER: "alice" }, 0)).toMatch(/ \(sudo from alice\)$/);
    const shown = cliSource({ SUDO_USER: forged }, 0);
    expect(shown).not.toMatch(/[\n\r]/);
    expect(shown).toMatch(/ \(sudo from x2026-11-26T201041\.123ZERRORFORG\)$/); // 32 characters at most
    expect(cliSource({ SUDO_USER: "\n)(" }, 0)).not.toContain("sudo from");
    expect(cliSource({ SUDO_USER: "a".repeat(100) }, 0)).toMatch(/ \(sudo from a{32}\)$/);
  });
});
