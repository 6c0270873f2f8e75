import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { StoreError } from "../errors.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** Numbered `NNN_name.sql` files of a folder, in order. Gaps or duplicates are a packaging bug. */
export function loadMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .map((file) => ({ file, match: FILE.exec(file) }))
    .filter((f): f is { file: string; match: RegExpExecArray } => f.match !== null)
    .map(({ file, match }) => ({
      version: Number(match[1]),
      name: match[2]!,
      sql: readFileSync(join(dir, file), "utf8"),
    }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations in ${dir} must be numbered 001, 002, … without gaps`);
  });
  return migrations;
}

/**
 * Refuses a store whose schema is newer than this code's migrations: an older jobclock would
 * misread (or damage) tables it does not know. `elsewhere` is what to point the store at instead.
 */
export function refuseNewerSchema(current: number, known: number, store: string, elsewhere: "database" | "schema"): void {
  if (current <= known) return;
  throw new StoreError(
    "STORE_SCHEMA_NEWER",
    `store ${store} has schema version ${current}, newer than this jobclock understands (${known}); ` +
      `upgrade jobclock, or point store at another ${elsewhere}`,
  );
}
