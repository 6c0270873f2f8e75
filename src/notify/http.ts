import { VERSION } from "../version.js";

/** What a POST came to, in the terms the delivery loop needs. */
export type PostResult =
  | { ok: true }
  | { ok: false; retryable: boolean; retryAfterMs: number | null; status: number | null; error: string };

/** Every request says what sent it, so receivers (and their logs) can tell jobclock apart. */
export const USER_AGENT = `jobclock/${VERSION}`;

/**
 * The longest Retry-After obeyed. An endpoint may answer with any number (99999999999 seconds
 * was seen): beyond this we try again anyway, and a notification whose give-up time comes first
 * gives up then.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Node fires a timer longer than this after 1 ms; no wait in notify/ may exceed it. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * POSTs with a timeout. The URL is a secret (a Slack webhook URL is a credential), so errors
 * name the notifier, never the URL.
 */
export async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, stop?: AbortSignal): Promise<PostResult> {
  let response: Response;
  try {
    const timeout = AbortSignal.timeout(Math.min(timeoutMs, MAX_TIMER_MS));
    const signal = stop ? AbortSignal.any([timeout, stop]) : timeout;
    response = await fetch(url, { method: "POST", body, headers: { ...headers, "user-agent": USER_AGENT }, signal, redirect: "error" });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs}ms` : (e.cause?.code ?? e.name);
    return { ok: false, retryable: true, retryAfterMs: null, status: null, error: why };
  }
  await response.arrayBuffer().catch(() => undefined); // drain, so the connection can be reused
  if (response.ok) return { ok: true };
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  // 429 and 5xx are worth another try; any other 4xx (a revoked webhook) will not get better.
  const retryable = response.status === 429 || response.status >= 500;
  return { ok: false, retryable, retryAfterMs, status: response.status, error: `HTTP ${response.status}` };
}

/** Retry-After is either seconds or an HTTP date; either way at most MAX_RETRY_AFTER_MS. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1_000 : Date.parse(value) - now;
  return Number.isNaN(ms) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}
