import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { request } from "node:http";

/**
 * The attacker, in its own process (as a local user's would be): `count` sockets, each sending
 * `first` as soon as it connects and reconnecting the moment it is closed. It prints "closed" the
 * first time the server closes one of them, which at the start means the server is at its cap.
 */
const ATTACKER = `
const { connect } = require("node:net");
const [port, count, first] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
let said = false;
function open() {
  const socket = connect(port, "127.0.0.1", () => socket.write(first));
  socket.on("data", () => {});
  socket.on("error", () => {});
  socket.on("close", () => {
    if (!said) { said = true; process.stdout.write("closed\\n"); }
    setImmediate(open);
  });
}
for (let i = 0; i < count; i++) open();
`;

export interface Storm {
  /** Resolves once the server has closed one of the attacker's sockets (it is at its cap). */
  atCap: Promise<void>;
  stop(): Promise<void>;
}

export function startStorm(port: number, count: number, first: string): Storm {
  const child: ChildProcess = spawn(process.execPath, ["-e", ATTACKER, String(port), String(count), first], { stdio: ["ignore", "pipe", "inherit"] });
  const atCap = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("closed") && resolve());
    child.once("exit", (code) => reject(new Error(`the attacker exited (${code}) before the server closed a socket`)));
  });
  atCap.catch(() => {}); // awaited by the test; a stop() before that is not an error
  return {
    atCap,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL"); // our own child, by its handle
      await exited;
    },
  };
}

/** GET /healthz over a new connection, as an outside probe does: true when it answers 200. */
export function probe(port: number, timeoutMs = 3_000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
      res.on("error", () => resolve(false));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

/** `count` probes, one every `everyMs` (a slow probe is not overlapped by the next). */
export async function probeSeries(port: number, count: number, everyMs: number): Promise<boolean[]> {
  const results: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const started = Date.now();
    results.push(await probe(port));
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - started))));
  }
  return results;
}
