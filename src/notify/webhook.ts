import { createHmac } from "node:crypto";
import type { NotificationFacts } from "./facts.js";

export const SIGNATURE_HEADER = "x-jobclock-signature";
export const TIMESTAMP_HEADER = "x-jobclock-timestamp";

/**
 * The generic webhook body is the facts as JSON (with `version`). With a `secret`, the request
 * carries `X-Jobclock-Timestamp: <ms>` and `X-Jobclock-Signature: sha256=<hex>`, the HMAC-SHA256
 * of `<timestamp>.<body>`: receivers recompute it, compare in constant time, and reject old
 * timestamps to stop replays.
 */
export function webhookRequest(facts: NotificationFacts, secret: string | undefined, now: number): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(facts);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret) {
    const timestamp = String(now);
    headers[TIMESTAMP_HEADER] = timestamp;
    headers[SIGNATURE_HEADER] = `sha256=${sign(secret, timestamp, body)}`;
  }
  return { body, headers };
}

export function sign(secret: string, timestamp: string, body: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}
