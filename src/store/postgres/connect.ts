import postgres from "postgres";
import { fileURLToPath } from "node:url";
import { JobclockError, StoreError } from "../../errors.js";
import { badPercentEscape, redactStoreUrl } from "../../config/store-url.js";
import { loadMigrations, refuseNewerSchema } from "../migrations.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations", import.meta.url));
export const DEFAULT_SCHEMA = "jobclock";

export type Sql = postgres.Sql<Record<string, never>>;
export type Tx = postgres.TransactionSql<Record<string, never>>;

/**
 * `postgres://user:pass@host:5432/db?schema=name`: `schema` (default "jobclock") lets one
 * database hold several independent jobclock setups; `password=` is accepted as libpq does. Epoch-millisecond BIGINTs come back as
 * numbers (they are far below 2^53).
 */
export function connect(url: string): { sql: Sql; schema: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Node's "Invalid URL" error carries the whole URL (password included) in its `input`.
    throw new StoreError("STORE_URL", `store ${redactStoreUrl(url)} is not a valid PostgreSQL URL; percent-encode special characters in the user and password`);
  }
  // The driver would throw a bare "URIError: URI malformed" for a `%ZZ` in the user, password or host.
  const badEscape = badPercentEscape(parsed);
  if (badEscape) throw new StoreError("STORE_URL", `store ${redactStoreUrl(url)}: ${badEscape}`);
  const schema = parsed.searchParams.get("schema") ?? DEFAULT_SCHEMA;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new StoreError("STORE_URL", `store ${redactStoreUrl(url)}: schema "${schema}" must be a plain lower-case identifier`);
  }
  parsed.searchParams.delete("schema");
  // libpq reads `?password=`; this driver would send it to the server as a setting, which
  // refuses it ("unrecognized configuration parameter"). Pass it as the password instead.
  const password = parsed.searchParams.get("password");
  parsed.searchParams.delete("password");
  const sql = postgres(parsed.toString(), {
    ...(password !== null && { password }),
    max: 4,
    onnotice: () => {},
    // The driver's default reconnect backoff grows as 3^n / 100 s (up to 20 s): after a few
    // seconds of outage, queries waited 4–12 s after the database was back. Retry quickly
    // instead (at most every 0.5 s); the engine already limits and retries its own calls.
    backoff: (attempts: number) => Math.min(0.05 * 2 ** attempts, 0.5) * (0.5 + Math.random() / 2),
    connect_timeout: 5,
    connection: { search_path: schema, application_name: "jobclock" },
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  }) as unknown as Sql;
  return { sql, schema };
}

/**
 * Creates the schema and applies the numbered migrations under an advisory lock, so several
 * instances starting together migrate once. Refuses a schema newer than this code.
 */
export async function migrate(sql: Sql, schema: string, description: string): Promise<void> {
  const migrations = loadMigrations(MIGRATIONS_DIR);
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`jobclock:${schema}`}))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const [row] = await tx.unsafe(`SELECT max(version) AS v FROM "${schema}".schema_migrations`);
    const current = Number(row?.v ?? 0);
    refuseNewerSchema(current, migrations.length, description, "schema");
    for (const m of migrations.filter((m) => m.version > current)) {
      await tx.unsafe(`SET LOCAL search_path TO "${schema}"`);
      await tx.unsafe(m.sql);
      await tx.unsafe(`INSERT INTO "${schema}".schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [m.version, m.name, Date.now()]);
    }
  });
}

// Connection faults (the driver's and the socket's) and the server's "not now" answers: worth another try.
const TRANSIENT = new Set([
  "ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ETIMEDOUT", "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED",
  "57P01", "57P02", "57P03", "53300", "40001", "40P01", "55P03",
]);

/** Every PostgreSQL failure as a StoreError, transient or not, with a message that names the store (redacted) and the fix. */
export function translatePgError(error: unknown, description: string): Error {
  if (error instanceof JobclockError) return error;
  const e = error as { code?: string; message?: string };
  const code = e.code ?? "";
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "CONNECT_TIMEOUT" || code === "EHOSTUNREACH") {
    return new StoreError("STORE_UNREACHABLE", `store ${description} is unreachable (${code}); check that PostgreSQL runs and the URL is right`, { transient: true });
  }
  if (code === "28P01" || code === "28000") return new StoreError("STORE_AUTH", `store ${description}: authentication failed; check the user and password`);
  if (code === "3D000") return new StoreError("STORE_MISSING", `store ${description}: the database does not exist; create it first`);
  if (TRANSIENT.has(code)) return new StoreError("STORE_UNAVAILABLE", `store ${description}: ${e.message ?? code} (${code}); retrying`, { transient: true });
  return new StoreError("STORE_FAILED", `store ${description}: ${e.message ?? String(error)}`);
}
