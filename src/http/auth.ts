import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isLoopback, type HttpConfig } from "../config/http.js";
import { HttpError } from "./errors.js";

/**
 * Who may do what. With a token set, every mutating route needs `Authorization: Bearer
 * <token>`; off loopback, every read does too (runs' output can hold anything). The comparison
 * is constant-time: both sides are hashed to the same length first, then compared.
 */
export function authorize(req: IncomingMessage, config: HttpConfig, mutating: boolean): void {
  // A reverse proxy on this host makes a loopback listener reachable from anywhere: a request
  // it forwarded is treated as coming from off loopback.
  const loopback = config.loopback && !forwarded(req);
  if (config.token === null) {
    if (loopback) return;
    throw new HttpError(403, "PROXIED", "requests through a proxy need http.token set (and sent as Authorization: Bearer <token>)");
  }
  if (!mutating && loopback) return;
  const header = String(req.headers.authorization ?? "");
  const given = /^Bearer (.+)$/i.exec(header)?.[1]?.trim() ?? "";
  if (!given || !sameSecret(given, config.token)) {
    throw new HttpError(401, "UNAUTHORIZED", "send Authorization: Bearer <http.token>", { "www-authenticate": 'Bearer realm="jobclock"' });
  }
}

function forwarded(req: IncomingMessage): boolean {
  const h = req.headers;
  return h.forwarded !== undefined || h["x-forwarded-for"] !== undefined || h["x-forwarded-host"] !== undefined || h["x-real-ip"] !== undefined;
}

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Browsers are the risk on a loopback address: a page from anywhere can make the user's browser
 * send requests to 127.0.0.1. A POST from another origin is refused (browsers always send
 * Origin with one), and on loopback a Host that is not a loopback name is refused too, which
 * defeats DNS rebinding (a hostile name pointed at 127.0.0.1).
 */
export function checkOrigin(req: IncomingMessage, config: HttpConfig): void {
  const host = String(req.headers.host ?? "");
  if (config.loopback && !isLoopbackHost(host)) {
    throw new HttpError(421, "MISDIRECTED", `Host "${host}" is not this server; use http://127.0.0.1:${config.port}/`);
  }
  const origin = req.headers.origin;
  if (req.method === "POST" && origin !== undefined) {
    let originHost = "";
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = "";
    }
    if (originHost !== host) throw new HttpError(403, "CROSS_ORIGIN", "cross-origin requests are refused");
  }
}

function isLoopbackHost(host: string): boolean {
  return isLoopback(host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, ""));
}
