// Fresh PostgreSQL schemas and Redis key prefixes per child run, and their removal afterwards.
import { randomBytes } from "node:crypto";
import postgres from "postgres";

export const PG_URL = process.env.PEERS_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.PEERS_REDIS_URL ?? "redis://127.0.0.1:6379";

export function freshNames(system) {
  const id = randomBytes(4).toString("hex");
  const tag = system.replace(/[^a-z0-9]/g, "_");
  return { PG_SCHEMA: `peers_${tag}_${id}`, REDIS_PREFIX: `peers-${tag}-${id}` };
}

export function sql() {
  return postgres(PG_URL, { onnotice: () => {}, max: 1 });
}

/**
 * Drops a schema. pg-boss makes one partition table per queue, and dropping thousands of tables
 * in one transaction runs out of lock slots (max_locks_per_transaction), so tables go first, a
 * few hundred per statement.
 */
export async function dropSchema(schema) {
  const db = sql();
  try {
    const tables = await db`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ${schema} AND c.relkind = 'r' AND c.relispartition`;
    for (let i = 0; i < tables.length; i += 200) {
      const list = tables.slice(i, i + 200).map((t) => `"${schema}"."${t.relname}"`).join(", ");
      await db.unsafe(`DROP TABLE IF EXISTS ${list} CASCADE`);
    }
    await db.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await db.end();
  }
}

/** Deletes the keys under a prefix, and no others. */
export async function deleteRedisPrefix(prefix) {
  const { Redis } = await import("ioredis");
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * A fresh database, for the several-instance runs that go at the same time: graphile-worker
 * announces its migrations with a NOTIFY that is not scoped to its schema, and an instance that
 * hears another schema's migration shuts down (exit code 57). Notifications stay within a database.
 */
export async function createDatabase(name) {
  const db = sql();
  try {
    await db.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await db.end();
  }
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(name) {
  const db = sql();
  try {
    await db.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await db.end();
  }
}
