import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest } from "./errors.js";

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  url: URL;
}

export type Handler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  method: "GET" | "POST";
  parts: string[];
  /** "write": changes something (the token whenever one is set); "open": liveness, never asks. */
  access: "open" | "read" | "write";
  handler: Handler;
}

// Path parameters are job names and run ids: anything longer is not one of ours.
const MAX_PARAM_LENGTH = 200;

/** Method + path patterns such as `/api/v1/jobs/:name/runs`; nothing more is needed here. */
export class Router {
  private readonly routes: Route[] = [];

  get(path: string, handler: Handler, access: "open" | "read" = "read"): void {
    this.routes.push({ method: "GET", parts: path.split("/"), access, handler });
  }

  post(path: string, handler: Handler): void {
    this.routes.push({ method: "POST", parts: path.split("/"), access: "write", handler });
  }

  /** The route for this path, or why there is none: 404 (no such path) or 405 (wrong method). */
  match(method: string, pathname: string): { route: Route; params: Record<string, string> } | { status: 404 | 405; allow?: string } {
    const parts = pathname.split("/");
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchParts(route.parts, parts);
      if (!params) continue;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { status: 405, allow: [...new Set(allowed)].join(", ") } : { status: 404 };
  }
}

function matchParts(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  // The fixed segments first: a bad parameter under some other route is that route's 404.
  if (pattern.some((p, i) => !p.startsWith(":") && p !== parts[i])) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(":")) {
      let value: string;
      try {
        value = decodeURIComponent(parts[i]!);
      } catch {
        throw badRequest(`${p.slice(1)}: the path segment is not valid URL encoding`);
      }
      if (value === "" || value.length > MAX_PARAM_LENGTH) throw badRequest(`${p.slice(1)}: must be 1 to ${MAX_PARAM_LENGTH} characters`);
      params[p.slice(1)] = value;
    } else if (p !== parts[i]) {
      return null;
    }
  }
  return params;
}
