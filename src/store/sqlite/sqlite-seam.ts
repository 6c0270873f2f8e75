import type Database from "better-sqlite3";
import { StoreError } from "../../errors.js";
import { identifier, type Dialect, type Executor, type Operation, type Outcome, type Row } from "../sql/seam.js";
import { StatementCache } from "./statement-cache.js";

/** What SQLite's SQL says differently: lists and row sets as JSON texts read by json_each. */
const sqliteDialect: Dialect = {
  inList: (column, _type, values) => ({ sql: `${identifier(column)} IN (SELECT value FROM json_each(?))`, args: [JSON.stringify(values)] }),
  recordsets: (alias, columns, rows) => {
    const sql = `(SELECT ${columns.map(([name]) => `? AS ${identifier(name)}`).join(", ")}) AS ${identifier(alias)}`;
    return rows.map((row) => ({ sql, args: columns.map(([name]) => row[name]) }));
  },
  jsonFlag: (column, key) => `json_extract(${identifier(column)}, '$.${identifier(key)}')`,
  skipLocked: "", // one writer at a time: there is nothing to skip
  *announceChange() {
    // Other processes notice any commit through the file watch and data_version: no message to send.
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
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;

  constructor(db: Database.Database, private readonly translate: (error: unknown) => Error) {
    this.statements = new StatementCache(db);
    // Wrapped once: db.transaction() builds five functions each call, and the hot path opens a
    // transaction for every batch of claims and of finishes.
    this.inTransaction = db.transaction((fn: () => unknown) => fn());
  }

  async write<T>(op: (d: Dialect) => Operation<T>): Promise<T> {
    return this.writeNow(op, Infinity);
  }

  /** Held to its one statement here too, so a misuse fails on SQLite's tests as on PostgreSQL. */
  async writeOne<T>(op: (d: Dialect) => Operation<T>): Promise<T> {
    return this.writeNow(op, 1);
  }

  /** A local file holds no shared connection: a long read needs no timeout. */
  async read<T>(op: (d: Dialect) => Operation<T>): Promise<T> {
    try {
      return this.drive(op(sqliteDialect));
    } catch (error) {
      throw this.translate(error);
    }
  }

  private writeNow<T>(op: (d: Dialect) => Operation<T>, most: number): T {
    return this.transaction(() => this.drive(op(sqliteDialect), most));
  }

  /** One IMMEDIATE transaction around plain better-sqlite3 calls (the store's hot path uses it directly). */
  transaction<T>(fn: () => T): T {
    try {
      return this.inTransaction.immediate(fn) as T;
    } catch (error) {
      throw this.translate(error);
    }
  }

  private drive<T>(op: Operation<T>, most = Infinity): T {
    let step = op.next();
    for (let n = 1; !step.done; n++) {
      if (n > most) throw new StoreError("STORE_INTERNAL", `a single-statement store write yielded more: ${step.value.sql}`);
      const statement = this.statements.get(step.value.sql);
      const args = step.value.args.map(toSqlite);
      // A statement that returns rows (a SELECT, or a write with RETURNING) counts them, as
      // PostgreSQL's command tag does.
      const rows = statement.reader ? (statement.all(...args) as Row[]) : null;
      const outcome: Outcome = rows ? { rows, changes: rows.length } : { rows: [], changes: statement.run(...args).changes };
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
