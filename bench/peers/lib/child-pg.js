// PostgreSQL reads a workload child makes of its own system's store (the schema the parent
// named): one short-lived connection each, so they never share the system's own pool.
import postgres from "postgres";
import { store } from "./harness.js";

export async function pgQuery(text) {
  const sql = postgres(store.pgUrl, { onnotice: () => {}, max: 1 });
  try {
    return await sql.unsafe(text);
  } finally {
    await sql.end();
  }
}

/** Bytes the schema's tables, materialized views and partitioned tables take, indexes included. */
export async function schemaBytes(schema = store.pgSchema) {
  const [{ n }] = await pgQuery(`SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS n FROM pg_class c
    JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = '${schema}' AND c.relkind IN ('r', 'm', 'p')`);
  return Number(n);
}
