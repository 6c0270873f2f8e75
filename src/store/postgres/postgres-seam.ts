import type postgres from "postgres";
import { StoreError } from "../../errors.js";
import { identifier, type Dialect, type Executor, type Operation, type Row } from "../sql/seam.js";
import type { Sql } from "./connect.js";

type Db = Sql | postgres.TransactionSql<Record<string, never>>;

/** Every revision bump sends NOTIFY on this channel; each instance LISTENs to it. */
export const changeChannel = (schema: string) => `jobclock_${schema}`;

/** What PostgreSQL's SQL says differently: arrays, jsonb row sets, row locks, NOTIFY. */
export function postgresDialect(schema: string): Dialect {
  const channel = changeChannel(schema);
  return {
    inList: (column, type, values) => ({ sql: `${identifier(column)} = ANY(?::${type}[])`, args: [values] }),
    recordsets: (alias, columns, rows) => [{
      // Sent as text: a parameter typed jsonb would be JSON-encoded again by the driver.
      sql: `jsonb_to_recordset(?::text::jsonb) AS ${identifier(alias)}(${columns.map(([name, type]) => `${identifier(name)} ${type}`).join(", ")})`,
      args: [JSON.stringify(rows)],
    }],
    jsonFlag: (column, key) => `(${identifier(column)}::json->>'${identifier(key)}')::boolean::int`,
    // Instances claiming at the same moment take different rows instead of waiting.
    skipLocked: " FOR UPDATE SKIP LOCKED",
    *announceChange(reason) {
      // Delivered when the transaction commits: the other instances look at once.
      yield { sql: "SELECT pg_notify(?, ?)", args: [channel, reason] };
    },
    *applyLock() {
      // One apply at a time per schema: two instances starting with different configs take turns (last wins).
      yield { sql: "SELECT pg_advisory_xact_lock(hashtext(?))", args: [`jobclock-apply:${schema}`] };
    },
  };
}

/** Runs shared operations on PostgreSQL: a write inside `sql.begin()`, a read on the pool. */
export class PostgresExecutor implements Executor {
  readonly dialect: Dialect;

  constructor(private readonly sql: Sql, schema: string, private readonly translate: (error: unknown) => Error) {
    this.dialect = postgresDialect(schema);
  }

  async write<T>(op: (d: Dialect) => Operation<T>): Promise<T> {
    try {
      return (await this.sql.begin((tx) => drive(tx, op(this.dialect)))) as T;
    } catch (error) {
      throw this.translate(error);
    }
  }

  async writeOne<T>(op: (d: Dialect) => Operation<T>): Promise<T> {
    try {
      return await drive(this.sql, op(this.dialect), 1);
    } catch (error) {
      throw this.translate(error);
    }
  }

  async read<T>(op: (d: Dialect) => Operation<T>, o: { timeoutMs?: number } = {}): Promise<T> {
    try {
      if (o.timeoutMs === undefined) return await drive(this.sql, op(this.dialect));
      // A read that may not hold a pooled connection for long: SET LOCAL needs a transaction.
      return (await this.sql.begin(async (tx) => {
        await tx.unsafe(`SET LOCAL statement_timeout = ${Math.round(o.timeoutMs!)}`);
        return drive(tx, op(this.dialect));
      })) as T;
    } catch (error) {
      throw this.translate(error);
    }
  }
}

/** Runs the operation's statements in turn; `most` guards a write promised to be one statement. */
async function drive<T>(db: Db, op: Operation<T>, most = Infinity): Promise<T> {
  let step = op.next();
  for (let n = 1; !step.done; n++) {
    if (n > most) throw new StoreError("STORE_INTERNAL", `a store write outside a transaction yielded more than ${most} statement(s): ${step.value.sql}`);
    // Prepared (named) on each connection, as tagged templates are: the shapes are few and recur.
    const args = step.value.args.map((a) => (a === undefined ? null : a)) as never[];
    const { text, placeholders } = numbered(step.value.sql);
    if (placeholders !== args.length) {
      throw new StoreError("STORE_INTERNAL", `a statement has ${placeholders} placeholder(s) for ${args.length} argument(s): ${step.value.sql}`);
    }
    const result = await db.unsafe(text, args, { prepare: true });
    step = op.next({ rows: result as unknown as Row[], changes: result.count });
  }
  return step.value;
}

const numberedCache = new Map<string, { text: string; placeholders: number }>();

/**
 * `?` placeholders as `$1, $2, …`, skipping string literals (an error text may hold a `?`). The
 * shared SQL uses no comments, quoted identifiers or jsonb `?` operators; the caller checks that
 * the count matches the arguments, so one that slips in fails loudly instead of misnumbering.
 */
export function numbered(sql: string): { text: string; placeholders: number } {
  let out = numberedCache.get(sql);
  if (out !== undefined) return out;
  let n = 0;
  let quoted = false;
  let text = "";
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    text += ch === "?" && !quoted ? `$${++n}` : ch;
  }
  out = { text, placeholders: n };
  if (numberedCache.size >= 256) numberedCache.clear();
  numberedCache.set(sql, out);
  return out;
}
