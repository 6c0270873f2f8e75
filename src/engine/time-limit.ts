import { StoreError } from "../errors.js";

/** How long a store call on the scheduling path may take before it counts as failed. */
export const STORE_CALL_LIMIT_MS = 10_000;

/**
 * A store call that never answers (a connection half-dead after a network cut) must not stall
 * the engine: past `ms` it counts as failed and the caller's retry takes over. That is safe for
 * every call it guards: claims are compare-and-set (a late success is looked for and started by
 * LostClaims), and recording a finish is idempotent.
 */
export function withTimeLimit<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError("STORE_TIMEOUT", `${what}: the store did not answer within ${ms}ms`, { transient: true })), ms);
    timer.unref?.();
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
