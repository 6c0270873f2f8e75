import { existsSync } from "node:fs";
import { findConfigPath, loadConfig, loadConfigLeniently, type Config } from "../config/load.js";
import { guardStoreOwner } from "../daemon/store-owner.js";
import { openStore } from "../store/open-store.js";
import type { ControlStore, OutboxStore, ReadModel, Store } from "../store/types.js";

/** What commands do with the store they open: read it, and (apply, pause, trigger) control it. */
export type CliStore = ReadModel & ControlStore & Pick<OutboxStore, "setNotifiers"> & Pick<Store, "close">;

export interface GlobalOptions {
  config?: string;
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export function configFrom(options: GlobalOptions): Config {
  return loadConfig(findConfigPath(options.config));
}

/**
 * For operational commands: works with a config whose jobs have problems, and says so. Secrets
 * these commands never use (a notifier's variable, http.token, an env_file only the service user
 * may read) are not problems for them at all, so they stay silent about those: an operator checking status needs no access to the secrets.
 */
export function operationalConfig(options: GlobalOptions): Config {
  const { config, problems } = loadConfigLeniently(findConfigPath(options.config));
  if (problems.length > 0) {
    stdio.err(`warning: ${config.path} has ${problems.length} problem(s) (\`jobclock validate\` lists them); using its store and pidfile`);
  }
  return config;
}

/**
 * The store named by the config. Reading commands pass `mustExist: false` and get null when
 * no daemon has created it yet, so they can say "nothing yet" instead of creating files.
 */
export async function storeFrom(config: Config, mustExist = true): Promise<CliStore | null> {
  guardStoreOwner(config.store); // root must not create files in the service user's store
  const path = config.store.startsWith("sqlite:") ? config.store.slice("sqlite:".length) : null;
  if (path && path !== ":memory:" && !existsSync(path) && !mustExist) return null;
  return openStore(config.store, { create: true });
}

export async function withStore<T>(config: Config, fn: (store: CliStore) => Promise<T>): Promise<T> {
  const store = (await storeFrom(config, true))!;
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
