import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

interface Tracked {
  /** Requests whose headers arrived and whose response has not ended yet. */
  requests: Set<IncomingMessage>;
  /** Whether a response was ever sent on it: with no request in flight, it is an idle keep-alive one. */
  served: boolean;
  /** When it opened, its current request began or its last response ended (monotonic ms). */
  since: number;
}

/**
 * What a connection is doing, and so its turn to be closed when a newcomer needs room at the cap
 * (lowest first; within a kind, the one in that state the longest). One whose whole request
 * arrived and whose response is under way is "serving" and never closed for room.
 */
const RANK = {
  /** Answered, waiting for another request that may never come: the cheapest to close. */
  idle: 0,
  /** Its request's headers or body have not all arrived: a slow or stalled client, or a new one. */
  waiting: 1,
} as const;
type Kind = keyof typeof RANK | "serving";

const WARN_EVERY_MS = 60_000;

/**
 * Caps the open connections without letting slow clients lock everyone out. Node's own
 * `maxConnections` refuses new connections at the cap, so sockets that trickle a header (a
 * slowloris) or hold a request body back made /healthz fail. Here a newcomer at the cap closes
 * another connection instead: the idle keep-alive one that has waited longest, else the one
 * that has waited longest for its request (headers or body) to arrive. Only when every one is
 * being served is the newcomer refused.
 *
 * Why idle first: clients that reconnect as soon as they are closed get their request in at
 * once, so under a storm of them the only connections still waiting for a request are the
 * newest, and closing those closed each probe's own connection before it could speak.
 * Why a body still arriving counts as waiting: otherwise sockets that send headers and one
 * byte of body held every slot for the whole 10 s request limit, again and again.
 * Why not a grace period in which a new connection may not be closed: attackers who reconnect
 * at once then take every slot the moment it leaves its grace, and a probe arriving between
 * is refused (tried: 5 of 20 probes answered). Longest-waiting first already spares the
 * newest: a storm must cycle every other slot before it reaches a new connection, and a
 * client that sends its request promptly is being served by then.
 */
export class ConnectionGuard {
  private readonly sockets = new Map<Socket, Tracked>();
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
      this.warnAtCap("every one is being served; refusing new connections");
      socket.destroy();
      return;
    }
    this.sockets.set(socket, { requests: new Set(), served: false, since: performance.now() });
    socket.once("close", () => this.sockets.delete(socket));
  }

  private serving(req: IncomingMessage, res: ServerResponse): void {
    const tracked = this.sockets.get(req.socket);
    if (!tracked) return;
    tracked.requests.add(req);
    tracked.since = performance.now(); // waiting for its body counts from its headers
    res.once("close", () => {
      tracked.requests.delete(req);
      tracked.served = true;
      tracked.since = performance.now();
    });
  }

  private kind(tracked: Tracked): Kind {
    if (tracked.requests.size === 0) {
      if (tracked.served) return "idle";
    } else if ([...tracked.requests].every((req) => req.complete)) {
      return "serving";
    }
    // No complete headers yet, or a body still on its way (req.complete is set when it has all
    // arrived, whether or not the route has read it).
    return "waiting";
  }

  /** Closes the connection of the first Kind that has one, the longest in that state first. */
  private evictOne(): boolean {
    let pick: { socket: Socket; rank: number; since: number } | null = null;
    for (const [socket, tracked] of this.sockets) {
      const kind = this.kind(tracked);
      if (kind === "serving") continue;
      const rank = RANK[kind];
      if (!pick || rank < pick.rank || (rank === pick.rank && tracked.since < pick.since)) pick = { socket, rank, since: tracked.since };
    }
    if (!pick) return false;
    this.sockets.delete(pick.socket);
    pick.socket.destroy();
    this.warnAtCap("closing idle keep-alive connections, then the ones waiting longest for their request");
    return true;
  }

  private warnAtCap(what: string): void {
    const now = performance.now();
    if (now - this.lastWarned < WARN_EVERY_MS) return;
    this.lastWarned = now;
    this.warn(`http: ${this.cap} connections open, the limit; ${what} (said at most once a minute)`);
  }
}
