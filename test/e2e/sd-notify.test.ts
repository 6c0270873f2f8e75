import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BASE_CONFIG, CLI, project } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { tempDir } from "../helpers/spec.js";
import { hasTool } from "../helpers/tools.js";

// A stand-in for systemd's notification socket: prints each datagram on one line, and closes
// the descriptors sent along (systemd-notify's barrier waits for exactly that).
const RECEIVER = `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(msg.decode().replace("\\n", "|"), flush=True)
`;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

async function notifySocket(): Promise<{ path: string; lines: string[] }> {
  const path = join(tempDir("jobclock-notify-"), "notify.sock");
  const receiver = spawn("/usr/bin/python3", ["-c", RECEIVER, path], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(receiver);
  const lines: string[] = [];
  receiver.stdout!.setEncoding("utf8").on("data", (d: string) => lines.push(...d.split("\n").filter(Boolean)));
  await waitFor("the notify socket", () => lines.includes("listening"), 10_000);
  lines.splice(0);
  return { path, lines };
}

describe.skipIf(!hasTool("/usr/bin/systemd-notify", "apt-get install systemd"))("Type=notify readiness (systemd)", () => {
  it("READY=1 reaches NOTIFY_SOCKET only once start-up is complete (log written, HTTP answering)", async () => {
    const sock = await notifySocket();
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: 1h, shell: "true" }\n`);
    const daemon = spawn(process.execPath, [CLI, "--config", join(p.dir, "jobclock.yaml"), "run"], {
      cwd: p.dir, stdio: "ignore", env: { ...process.env, NOTIFY_SOCKET: sock.path, JOBCLOCK_CONFIG: "" },
    });
    children.push(daemon);
    const exited = new Promise<number | null>((r) => daemon.on("exit", (code) => r(code)));
    let logAtReady = "";
    await waitFor("READY=1", () => {
      if (!sock.lines.some((l) => l.split("|").includes("READY=1"))) return false;
      logAtReady = readFileSync(join(p.dir, "logs/info.log"), "utf8"); // read the moment it arrives
      return true;
    }, 30_000);
    expect(logAtReady).toMatch(/INFO {2}jobclock started/);
    const url = /dashboard and API on (http:\/\/\S+)/.exec(logAtReady)?.[1];
    expect(url).toBeDefined();
    expect((await fetch(`${url}healthz`)).status).toBe(200);
    const ready = sock.lines.find((l) => l.includes("READY=1"))!;
    expect(ready).toMatch(/STATUS=running, 1 job\(s\)/);
    expect(sock.lines.some((l) => l.includes("BARRIER=1"))).toBe(true); // systemd-notify waited for it to be processed
    expect(sock.lines.filter((l) => l.includes("READY=1"))).toHaveLength(1);
    daemon.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("a bad config: exit 2 and nothing on the socket (so `systemctl start` fails)", async () => {
    const sock = await notifySocket();
    const p = project(BASE_CONFIG + `jobs:\n  a: { every: soon, shell: "true" }\n`);
    const daemon = spawn(process.execPath, [CLI, "--config", join(p.dir, "jobclock.yaml"), "run"], {
      cwd: p.dir, stdio: "ignore", env: { ...process.env, NOTIFY_SOCKET: sock.path, JOBCLOCK_CONFIG: "" },
    });
    children.push(daemon);
    const code = await new Promise<number | null>((r) => daemon.on("exit", (c) => r(c)));
    expect(code).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(sock.lines).toEqual([]);
    expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
  });
});
