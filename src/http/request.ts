import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, badRequest } from "./errors.js";

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads a request body up to MAX_BODY_BYTES. A bigger one is refused (413) without keeping it:
 * the rest is read and dropped, so the answer can still be sent on the connection.
 */
export function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = () => new HttpError(413, "TOO_LARGE", `request body over ${MAX_BODY_BYTES} bytes`, { connection: "close" });
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => (size > MAX_BODY_BYTES ? reject(tooLarge()) : resolve(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

/**
 * A mutating route's body: nothing, or a JSON object with only the `allowed` keys. Anything
 * else is refused before the route acts, so a malformed request changes nothing.
 */
export async function readJsonObject(req: IncomingMessage, allowed: readonly string[]): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === "") return {};
  const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as Content-Type: application/json (or send no body)");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("the body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw badRequest("the body must be a JSON object");
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw badRequest(`unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")}${allowed.length ? ` (allowed: ${allowed.join(", ")})` : " (this route takes none)"}`);
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...headers,
  });
  res.end(text);
}

/** Query parameters, checked: each names the parameter and the expected form when wrong. */
export class Query {
  constructor(private readonly params: URLSearchParams, allowed: readonly string[]) {
    const unknown = [...new Set(params.keys())].filter((k) => !allowed.includes(k));
    if (unknown.length > 0) throw badRequest(`unknown query parameter${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}${allowed.length ? ` (allowed: ${allowed.join(", ")})` : ""}`);
  }

  int(name: string, min: number, max: number, fallback?: number): number | undefined {
    const raw = this.params.get(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw badRequest(`${name}: "${raw}" is not a whole number from ${min} to ${max}`);
    return n;
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const raw = this.params.get(name);
    if (raw === null) return undefined;
    if (!values.includes(raw as T)) throw badRequest(`${name}: "${raw}" is not one of ${values.join(", ")}`);
    return raw as T;
  }
}
