import type Database from "better-sqlite3";
import type { Dialect, Executor, Operation, Outcome, Row } from "../sql/seam.js";
import { StatementCache } from "./statement-cache.js";

/** What SQLite's SQL says differently: lists and row sets as JSON texts read by json_each. */
export const sqliteDialect: Dialect = {
  inList: (column, _type, values) => ({ sql: `${column} IN (SELECT value FROM json_each(?))`, args: [JSON.stringify(values)] }),
  recordset: (alias, columns, rows) => ({
    sql: `(SELECT ${columns.map(([name]) => `json_extract(value, '$.${name}') AS ${name}`).join(", ")} FROM json_each(?)) AS ${alias}`,
    args: [JSON.stringify(rows)],
  }),
  jsonInt: (column, key) => `json_extract(${column}, '$.${key}')`,
  skipLocked: "", // one writer at a time: there is nothing to skip
  *bumpRev() {
    // Other processes notice any commit through the file watch and data_version: no message to send.
    const outcome: Outcome = yield { sql: "UPDATE meta SET value = value + 1 WHERE key = 'rev' RETURNING value", args: [] };
    return outcome.rows[0]!.value as number;
  },
  *applyLock() {
    // The write transaction is IMMEDIATE: it already holds the only write lock.
  },
};

/**
 * Runs shared operations on a better-sqlite3 database, synchronously: a write is one IMMEDIATE
 * transaction that nothing else can interleave with. Statements are prepared once per shape.
 */
export class SqliteExecutor implements Executor {
  readonly dialect = sqliteDialect;
  private readonly statements: StatementCache;

  constructor(private readonly db: Database.Database, private readonly translate: (error: unknown) => Error) {
    this.statements = new StatementCache(db);
  }

  async write<T>(op: (d: Dialect) => Operation<T>): Promise<T> {
    return this.writeNow(op);
  }

  async writeOne<T>(op: (d: Dialect) => Operation<T>): Promise<T> {
    return this.writeNow(op);
  }

  /** A local file holds no shared connection: a long read needs no timeout. */
  async read<T>(op: (d: Dialect) => Operation<T>): Promise<T> {
    try {
      return this.drive(op(sqliteDialect));
    } catch (error) {
      throw this.translate(error);
    }
  }

  private writeNow<T>(op: (d: Dialect) => Operation<T>): T {
    return this.transaction(() => this.drive(op(sqliteDialect)));
  }

  /** One IMMEDIATE transaction around plain better-sqlite3 calls (the store's hot path uses it directly). */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (error) {
      throw this.translate(error);
    }
  }

  private drive<T>(op: Operation<T>): T {
    let step = op.next();
    while (!step.done) {
      const statement = this.statements.get(step.value.sql);
      const args = step.value.args.map(toSqlite);
      const outcome: Outcome = statement.reader
        ? { rows: statement.all(...args) as Row[], changes: 0 }
        : { rows: [], changes: statement.run(...args).changes };
      step = op.next(outcome);
    }
    return step.value;
  }
}

/** better-sqlite3 binds no booleans and no undefined. */
function toSqlite(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}
