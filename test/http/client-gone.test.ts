import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpServer } from "../../src/http/server.js";
import type { Logger } from "../../src/logger.js";
import type { Store } from "../../src/store/types.js";
import { waitFor } from "../helpers/engine-harness.js";

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (obj: object | string, msg?: string) => void lines.push({ level, msg: typeof obj === "string" ? obj : msg ?? "" });
  return { lines, trace: at("trace"), debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

describe("a client that goes away mid-request", () => {
  it("is logged at debug, not as the daemon's error", async () => {
    const log = recordingLogger();
    const control = { pause: async () => {}, resume: async () => {}, trigger: async () => {} };
    const server = new HttpServer({
      config: { host: "127.0.0.1", port: 0, token: null, loopback: true },
      // The route gives up while reading the body, before it touches the store.
      api: { store: {} as Store, control, instanceId: "i", version: "test", uptimeMs: () => 0, abandonAfterMs: 3_000, now: () => 0 },
      metrics: null,
      log,
    });
    servers.push(server);
    const { port } = await server.start();
    for (let i = 0; i < 3; i++) {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => {});
      // "100 Continue" comes back once the server has the request: then the body is cut short.
      const continued = new Promise((resolve) => socket.once("data", resolve));
      socket.write("POST /api/v1/jobs/tick/trigger HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
      expect(String(await continued)).toMatch(/^HTTP\/1\.1 100 Continue/);
      socket.end("{");
      await waitFor("the server to see it gone", () => server.openConnections === 0);
    }
    await waitFor("each abort to be logged", () => log.lines.length >= 3);
    expect(log.lines.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
    expect(log.lines.map((l) => l.level)).toEqual(["debug", "debug", "debug"]);
  });
});
