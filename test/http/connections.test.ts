import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionGuard } from "../../src/http/connection-guard.js";
import { HTTP_LIMITS } from "../../src/http/server.js";
import { waitFor } from "../helpers/engine-harness.js";
import { startApp, type TestApp } from "../helpers/http-app.js";
import { probe } from "./storm.js";

// How long past its documented limit a connection may live: the server checks every 0.5 s,
// plus scheduling slack on a busy 2-core machine.
const SLACK_MS = 1_500;

const apps: TestApp[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const app of apps.splice(0)) await app.close();
});

interface Stalled {
  openedAt: number;
  closedAt: number | null;
}

/** A client that connects, sends `first`, then stalls (or trickles `trickle` once a second). */
function stalledClient(port: number, first: string, trickle?: string): Stalled {
  const rec: Stalled = { openedAt: Date.now(), closedAt: null };
  const socket = connect(port, "127.0.0.1", () => {
    rec.openedAt = Date.now();
    socket.write(first);
  });
  sockets.push(socket);
  socket.on("data", () => {}); // a 408 may come back before the close
  socket.on("error", () => {});
  socket.on("close", () => (rec.closedAt = Date.now()));
  if (trickle) {
    const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(trickle)), 1_000);
    socket.on("close", () => clearInterval(timer));
  }
  return rec;
}

describe("HTTP limits under abuse", () => {
  it("400 sockets stalled mid-header: /healthz keeps answering, and each one closes within 5 s + 1.5 s", async () => {
    const app = await startApp({});
    apps.push(app);
    const port = Number(new URL(app.url).port);
    const stalled = Array.from({ length: 400 }, () => stalledClient(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
    const results: boolean[] = [];
    // Probe, one at a time, for as long as the stalled sockets could hold the server.
    while (stalled.some((s) => s.closedAt === null) && results.length < 200) {
      results.push(await probe(port));
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor("every stalled socket to be closed", () => stalled.every((s) => s.closedAt !== null), 20_000);
    expect(results.length).toBeGreaterThanOrEqual(10);
    expect(results.filter((ok) => !ok)).toEqual([]);
    const lifetimes = stalled.map((s) => s.closedAt! - s.openedAt);
    expect(Math.max(...lifetimes)).toBeLessThanOrEqual(HTTP_LIMITS.headersTimeoutMs + SLACK_MS);
    expect(HTTP_LIMITS.headersTimeoutMs).toBe(5_000);
  });

  it("a request whose body trickles is closed within 10 s + 1.5 s", async () => {
    const app = await startApp({ a: { every: "1h", handler: () => {} } });
    apps.push(app);
    const port = Number(new URL(app.url).port);
    const trickled = stalledClient(
      port,
      "POST /api/v1/jobs/a/pause HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
      " ",
    );
    await waitFor("the trickled request to be closed", () => trickled.closedAt !== null, 20_000);
    expect(trickled.closedAt! - trickled.openedAt).toBeGreaterThanOrEqual(HTTP_LIMITS.requestTimeoutMs - 500);
    expect(trickled.closedAt! - trickled.openedAt).toBeLessThanOrEqual(HTTP_LIMITS.requestTimeoutMs + SLACK_MS);
    expect(HTTP_LIMITS.requestTimeoutMs).toBe(10_000);
  });
});

describe("ConnectionGuard: at the cap, who makes room", () => {
  it("idle keep-alive ones first, then the one waiting longest for its headers or body; one being served never", async () => {
    const held: ServerResponse[] = [];
    const hold = (path: string) => path.startsWith("/hang");
    const server = createServer((req, res) => (hold(req.url ?? "") ? held.push(res) : res.end("ok")));
    const warnings: string[] = [];
    const guard = new ConnectionGuard(server, 4, (m) => warnings.push(m));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    apps.push({ close: async () => { for (const r of held) r.end(); server.closeAllConnections(); await new Promise((r) => server.close(r)); } } as TestApp);
    const client = (first: string) => {
      const rec = stalledClient(port, first);
      return { rec, get open() { return rec.closedAt === null; } };
    };
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

    const busy = client(get("/hang"));
    await waitFor("the first request to be held", () => held.length === 1);
    // Headers and 1 byte of a 10-byte body: its handler has it, yet it is a slow client.
    const body = client("POST /hang-body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n{");
    await waitFor("the body's request to be held", () => held.length === 2);
    const stalled = client("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    await waitFor("the stalled connection to be admitted", () => guard.open === 3);
    const idle = client(get("/quick")); // answered, then kept alive: the newest, yet the first to go
    await waitFor("the keep-alive connection to be admitted", () => guard.open === 4);
    await new Promise((r) => setTimeout(r, 200));

    const busy2 = client(get("/hang2"));
    await waitFor("the idle connection to be evicted", () => !idle.open);
    await waitFor("the second request to be held", () => held.length === 3);
    expect([busy.open, body.open, stalled.open]).toEqual([true, true, true]);

    const busy3 = client(get("/hang3")); // then the one whose request began first: the body
    await waitFor("the connection holding its body back to be evicted", () => !body.open);
    await waitFor("the third request to be held", () => held.length === 4);
    expect(stalled.open).toBe(true);

    const busy4 = client(get("/hang4")); // then the stalled one
    await waitFor("the stalled connection to be evicted", () => !stalled.open);
    await waitFor("the fourth request to be held", () => held.length === 5);

    const refused = client(get("/quick")); // all four are being served: the newcomer is refused
    await waitFor("the newcomer to be refused", () => !refused.open);
    expect([busy.open, busy2.open, busy3.open, busy4.open]).toEqual([true, true, true, true]);
    expect(guard.open).toBe(4);
    // Said once (a minute), not once per connection.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^http: 4 connections open, the limit; /);
  });
});
