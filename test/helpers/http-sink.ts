import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
  at: number;
}

/** How to answer one request: a status (with headers), or hang past the client's timeout. */
export type Reply = { status: number; headers?: Record<string, string> } | { hang: true };

/**
 * A loopback HTTP server standing in for Slack or a webhook receiver: it records every request
 * and answers from a script (then 200 for the rest).
 */
export async function httpSink(script: Reply[] = [], port = 0): Promise<{ url: string; port: number; requests: Received[]; delivered: Received[]; close(): Promise<void> }> {
  const requests: Received[] = [];
  const delivered: Received[] = [];
  const hanging = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      const received = { path: req.url ?? "", headers: req.headers, raw, body: raw ? JSON.parse(raw) : {}, at: Date.now() };
      requests.push(received);
      const reply = script.shift() ?? { status: 200 };
      if ("hang" in reply) {
        const end = () => res.destroy();
        hanging.add(end);
        return;
      }
      if (reply.status < 300) delivered.push(received);
      res.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
      res.end(reply.status < 300 ? "ok" : "no");
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/services/T000/B000/secret-token`,
    port: bound,
    requests,
    delivered,
    async close() {
      for (const end of hanging) end();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
