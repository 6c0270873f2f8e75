import { StoreError } from "../errors.js";
import { redactStoreUrl, sqliteFolderProblem } from "../config/store-url.js";
import { PostgresStore } from "./postgres/postgres-store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./types.js";

export interface OpenStoreOptions {
  /** Create a missing SQLite file (the daemon and writing commands do). */
  create?: boolean;
  busyTimeoutMs?: number;
}

/** Opens `sqlite:PATH` or `postgres://…` (schemes in any case), migrating the schema as needed. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (/^sqlite:/i.test(url)) {
    const path = url.slice("sqlite:".length);
    // A folder here would surface as a bare EISDIR or "unable to open database file".
    const folder = path === ":memory:" ? null : sqliteFolderProblem(path);
    if (folder) throw new StoreError("STORE_IS_FOLDER", folder);
    return SqliteStore.open(path, { create: options.create ?? true, busyTimeoutMs: options.busyTimeoutMs });
  }
  if (/^postgres(ql)?:\/\//i.test(url)) return PostgresStore.open(url);
  throw new StoreError("STORE_URL", `store "${redactStoreUrl(url)}" is not a store URL (sqlite:./data/jobclock.db or postgres://…)`);
}
