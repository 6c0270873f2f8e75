/** What a POST came to, in the terms the delivery loop needs. */
export type PostResult =
  | { ok: true }
  | { ok: false; retryable: boolean; retryAfterMs: number | null; status: number | null; error: string };

/**
 * POSTs with a timeout. The URL is a secret (a Slack webhook URL is a credential), so errors
 * name the notifier, never the URL.
 */
export async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number, stop?: AbortSignal): Promise<PostResult> {
  let response: Response;
  try {
    const signal = stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs);
    response = await fetch(url, { method: "POST", body, headers, signal, redirect: "error" });
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

/** Retry-After is either seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1_000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
