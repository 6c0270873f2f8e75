import { StoreError } from "../errors.js";
import { redactStoreUrl } from "../config/store-url.js";
import { PostgresStore } from "./postgres/postgres-store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./types.js";

export interface OpenStoreOptions {
  /** Create a missing SQLite file (the daemon and writing commands do). */
  create?: boolean;
  busyTimeoutMs?: number;
}

/** Opens `sqlite:PATH` or `postgres://…`, migrating the schema as needed. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (url.startsWith("sqlite:")) {
    return SqliteStore.open(url.slice("sqlite:".length), { create: options.create ?? true, busyTimeoutMs: options.busyTimeoutMs });
  }
  if (/^postgres(ql)?:\/\//.test(url)) return PostgresStore.open(url);
  throw new StoreError("STORE_URL", `store "${redactStoreUrl(url)}" is not a store URL (sqlite:./data/jobclock.db or postgres://…)`);
}
