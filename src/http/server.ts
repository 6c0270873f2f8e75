import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { HttpConfig } from "../config/http.js";
import { JobclockError } from "../errors.js";
import type { Logger } from "../logger.js";
import { registerApi, type ApiDeps } from "./api.js";
import { authorize, checkOrigin } from "./auth.js";
import { ConnectionGuard } from "./connection-guard.js";
import { HttpError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import { sendJson } from "./request.js";
import { Router } from "./router.js";
import { StaticFiles } from "./static-files.js";

const DASHBOARD_DIR = fileURLToPath(new URL("./dashboard", import.meta.url));

export interface HttpServerDeps {
  config: HttpConfig;
  api: Omit<ApiDeps, "auth">;
  metrics: Metrics | null;
  log: Logger;
}

/** The limits docs/api.md promises. */
export const HTTP_LIMITS = {
  maxHeaderSize: 16 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  // Node checks the header and request timeouts only this often (30 s by default, so sockets
  // lived 15–30 s past a 5 s limit): a connection outlives its limit by at most this much.
  checkEveryMs: 500,
  // A connection with nothing moving either way for this long is closed: an answer that a client
  // never reads (the request timeout covers only the request) must not hold its place for ever.
  stalledMs: 30_000,
} as const;

/**
 * The daemon's one port: the REST API under /api/v1, the dashboard at /, and /metrics. Limits
 * (HTTP_LIMITS): 16 KiB of headers and of body, 5 s to send the headers, 10 s for a whole
 * request, idle keep-alive connections closed after 5 s, 256 connections (see ConnectionGuard).
 */
export class HttpServer {
  private readonly server: Server;
  private readonly router = new Router();
  private readonly files = new StaticFiles(DASHBOARD_DIR);
  private readonly guard: ConnectionGuard;

  constructor(private readonly deps: HttpServerDeps) {
    const auth = { writes: deps.config.token !== null, reads: deps.config.token !== null && !deps.config.loopback };
    registerApi(this.router, { ...deps.api, auth });
    const limits = HTTP_LIMITS;
    this.server = createServer({
      maxHeaderSize: limits.maxHeaderSize,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkEveryMs,
    }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.timeout = limits.stalledMs; // Node closes a socket idle this long (no callback given)
    // Not server.maxConnections: it refuses new connections at the cap, which a slowloris fills.
    this.guard = new ConnectionGuard(this.server, limits.maxConnections, (message) => deps.log.warn(message));
  }

  /** Listens; a port in use or an address not on this machine is a start-up error that says so. */
  start(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = this.deps.config;
    return new Promise((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) => {
        const why = error.code === "EADDRINUSE" ? "is in use by another process" : error.code === "EADDRNOTAVAIL" ? "is not an address of this machine" : `cannot be used (${error.code})`;
        reject(new JobclockError("HTTP_LISTEN", `http.listen ${host}:${port} ${why}; set http.listen to another address or port, or http: false`));
      };
      this.server.once("error", failed);
      this.server.listen(port, host, () => {
        // From now on an error (say, out of file descriptors on accept) is logged: an
        // unhandled 'error' event would take the whole daemon down.
        this.server.off("error", failed);
        this.server.on("error", (error) => this.deps.log.error({ err: error }, "http: server error"));
        const address = this.server.address() as AddressInfo;
        const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
        resolve({ host: address.address, port: address.port, url: `http://${shown}:${address.port}/` });
      });
    });
  }

  /** Connections open now (at most HTTP_LIMITS.maxConnections). */
  get openConnections(): number {
    return this.guard.open;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      checkOrigin(req, this.deps.config);
      const url = new URL(req.url ?? "/", "http://localhost");
      const method = req.method ?? "GET";
      if ((method === "GET" || method === "HEAD") && this.files.serve(url.pathname, res, method === "HEAD")) return;
      if (url.pathname === "/metrics" && this.deps.metrics) return await this.serveMetrics(req, res, method);
      const found = this.router.match(method, url.pathname);
      if ("status" in found) {
        if (found.status === 405) throw new HttpError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed here (allowed: ${found.allow})`, { allow: found.allow! });
        throw new HttpError(404, "NOT_FOUND", `no such route: ${url.pathname} (see docs/api.md)`);
      }
      if (found.route.access !== "open") authorize(req, this.deps.config, found.route.access === "write");
      await found.route.handler({ req, res, url, params: found.params });
    } catch (error) {
      this.fail(req, res, error);
    }
  }

  private async serveMetrics(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (method !== "GET" && method !== "HEAD") throw new HttpError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed here (allowed: GET)`, { allow: "GET" });
    authorize(req, this.deps.config, false);
    const text = await this.deps.metrics!.text();
    res.writeHead(200, { "content-type": this.deps.metrics!.contentType, "cache-control": "no-store" });
    res.end(method === "HEAD" ? undefined : text);
  }

  private fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    // A client that went away mid-request (closed, reset, timed out or evicted for room) is not
    // the daemon's error: an attacker doing it in a loop would otherwise flood the log.
    if (req.socket.destroyed) return void this.deps.log.debug({ err: error }, "http: client went away before its answer");
    if (res.headersSent) return void res.destroy();
    if (error instanceof HttpError) return sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
    this.deps.log.error({ err: error }, "http: request failed");
    const message = error instanceof JobclockError ? error.message : "internal error; see the daemon's log";
    sendJson(res, 500, { error: { code: "INTERNAL", message } });
  }
}
