const MAX_RETRY_DELAY_MS = 3_600_000;

/** Delay before retry number `retry` (1-based): delay × 2^(retry−1), capped at one hour. */
export function retryDelay(retry: number, baseDelayMs: number): number {
  if (retry < 1) return 0;
  return Math.min(MAX_RETRY_DELAY_MS, baseDelayMs * 2 ** (retry - 1));
}
