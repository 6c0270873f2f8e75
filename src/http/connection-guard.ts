import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

interface Tracked {
  /** Requests whose headers arrived and whose response has not ended yet. */
  inFlight: number;
  /** Whether any request on it ever sent complete headers (an idle keep-alive connection). */
  served: boolean;
}

const WARN_EVERY_MS = 60_000;

/**
 * Caps the open connections without letting slow clients lock everyone out. Node's own
 * `maxConnections` refuses new connections at the cap, so 300 sockets that trickle a header
 * (a slowloris) made /healthz fail. Here a new connection at the cap instead closes the oldest
 * connection that has not sent a complete request (never one with a request being served): the
 * newest client gets its chance, and a stalled one loses its place. Only when every connection
 * is serving a request is the new one refused.
 */
export class ConnectionGuard {
  private readonly sockets = new Map<Socket, Tracked>(); // insertion order: oldest first
  private lastWarned = -Infinity;

  constructor(
    server: Server,
    private readonly cap: number,
    private readonly warn: (message: string) => void,
  ) {
    server.on("connection", (socket: Socket) => this.admit(socket));
    server.on("request", (req: IncomingMessage, res: ServerResponse) => this.serving(req, res));
  }

  get open(): number {
    return this.sockets.size;
  }

  private admit(socket: Socket): void {
    if (this.sockets.size >= this.cap && !this.evictOne()) {
      this.warnAtCap("every one is serving a request; refusing new connections");
      socket.destroy();
      return;
    }
    this.sockets.set(socket, { inFlight: 0, served: false });
    socket.once("close", () => this.sockets.delete(socket));
  }

  private serving(req: IncomingMessage, res: ServerResponse): void {
    const tracked = this.sockets.get(req.socket);
    if (!tracked) return;
    tracked.inFlight++;
    tracked.served = true;
    res.once("close", () => tracked.inFlight--);
  }

  /** Closes the oldest connection that never sent a request, else the oldest idle keep-alive one. */
  private evictOne(): boolean {
    let idle: Socket | null = null;
    for (const [socket, tracked] of this.sockets) {
      if (tracked.inFlight > 0) continue;
      if (!tracked.served) return this.evict(socket);
      idle ??= socket;
    }
    return idle ? this.evict(idle) : false;
  }

  private evict(socket: Socket): true {
    this.sockets.delete(socket);
    socket.destroy();
    this.warnAtCap("closing the oldest that have not sent a complete request (slow or stalled clients)");
    return true;
  }

  private warnAtCap(what: string): void {
    const now = Date.now();
    if (now - this.lastWarned < WARN_EVERY_MS) return;
    this.lastWarned = now;
    this.warn(`http: ${this.cap} connections open, the limit; ${what} (said at most once a minute)`);
  }
}
