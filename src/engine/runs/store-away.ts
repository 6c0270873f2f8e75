import { StoreError } from "../../errors.js";

/**
 * Whether a failed store call looks like the store being away (a connection refused, reset or
 * timed out) rather than refusing the write (a full disk, a constraint). Only the first kind is
 * helped by trying again the moment another call gets through: a read answering says nothing
 * about a disk that is full, and retrying on every answer hammered it 20 times a second. jobclock's
 * stores say so themselves (StoreError.transient); the codes and words below are for a Store of
 * one's own given to the library.
 */
const AWAY_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH",
  "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "STORE_UNREACHABLE",
]);

export function isStoreAway(error: unknown): boolean {
  if (error instanceof StoreError) return error.transient;
  const e = error as { code?: unknown; message?: unknown } | null;
  if (e && typeof e.code === "string" && AWAY_CODES.has(e.code)) return true;
  const message = typeof e?.message === "string" ? e.message : "";
  return /did not answer within|connection (refused|closed|reset|lost|ended|terminated)|unreachable/i.test(message);
}
