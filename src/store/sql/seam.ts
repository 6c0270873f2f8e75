import { StoreError } from "../../errors.js";

/**
 * The narrow seam every store behaviour is written once over. A shared operation is a generator
 * that yields statements (SQL with `?` placeholders) and receives each one's outcome; a driver
 * per database runs it inside one transaction:
 * - SQLite (better-sqlite3 is synchronous) drives it synchronously inside `db.transaction()`,
 *   so no other store call can interleave with it between statements;
 * - PostgreSQL drives it asynchronously inside `sql.begin()`, one round trip per statement.
 * What truly differs between the databases is named in `Dialect`, and nowhere else.
 */

export type Row = Record<string, unknown>;

/** One statement: SQL with `?` placeholders (outside string literals), and its arguments. */
export interface Statement {
  sql: string;
  args: readonly unknown[];
}

/** What a statement gave back: its rows (a SELECT, or RETURNING) and how many rows it changed. */
export interface Outcome {
  rows: Row[];
  changes: number;
}

/** A store operation written once: yields statements, receives their outcomes, returns T. */
export type Operation<T> = Generator<Statement, T, Outcome>;

/** The rows of one statement (`const rows = yield* all<JobRow>(sql, a, b)`). */
export function* all<R = Row>(sql: string, ...args: unknown[]): Generator<Statement, R[], Outcome> {
  return (yield { sql, args }).rows as R[];
}

/** The first row of one statement, or undefined. */
export function* one<R = Row>(sql: string, ...args: unknown[]): Generator<Statement, R | undefined, Outcome> {
  return (yield { sql, args }).rows[0] as R | undefined;
}

/** How many rows one statement changed. */
export function* run(sql: string, ...args: unknown[]): Generator<Statement, number, Outcome> {
  return (yield { sql, args }).changes;
}

/** A SQL fragment with its own `?` arguments, for the few places the wording differs. */
export interface Fragment {
  sql: string;
  args: unknown[];
}

/** The details in which the two databases' SQL differs. */
export interface Dialect {
  /** `column` is one of `values` (a whole list as one parameter: a JSON text, or an array). */
  inList(column: string, type: "text" | "bigint", values: readonly unknown[]): Fragment;
  /**
   * Rows given in a statement, usable after FROM: `AS alias(col type, …)`, as one or more
   * fragments: the caller runs its statement once per fragment. PostgreSQL gives one (a jsonb
   * row set: a round trip for all the rows); SQLite one per row (`SELECT ? AS col, …`): its
   * statements cost no round trip, and one cached statement per row is about twice as fast as
   * parsing a JSON text of them. Every fragment has the same SQL text (only the arguments
   * differ), and there is at least one for rows given. Types are PostgreSQL's (text, bigint, int).
   */
  recordsets(alias: string, columns: [string, "text" | "bigint" | "int"][], rows: readonly Record<string, unknown>[]): Fragment[];
  /** A boolean field of a JSON text column as 1/0, null when absent. */
  jsonFlag(column: string, key: string): string;
  /** Appended to a sub-SELECT that picks rows to claim: concurrent claimers skip each other's rows. */
  readonly skipLocked: string;
  /**
   * Tells the other processes, once the transaction commits, that the revision moved: NOTIFY on
   * PostgreSQL; nothing on SQLite, whose file watch sees any commit.
   */
  announceChange(reason: string): Operation<void>;
  /** Taken first by an apply: one apply at a time (SQLite's write transaction already is). */
  applyLock(): Operation<void>;
}

/** Bumps the revision counter (every other instance looks when it moves) and returns it. */
export function* bumpRev(d: Dialect, reason: string): Operation<number> {
  const row = yield* one<{ value: number | string }>("UPDATE meta SET value = value + 1 WHERE key = 'rev' RETURNING value");
  yield* d.announceChange(reason);
  return Number(row!.value);
}

/**
 * A table, column or alias name pasted into SQL by a dialect: only ever a constant of this
 * code, checked so a mistake cannot become an injection.
 */
export function identifier(name: string): string {
  if (!/^[a-z_][a-z0-9_.]*$/i.test(name)) throw new StoreError("STORE_INTERNAL", `not an SQL identifier: ${JSON.stringify(name)}`);
  return name;
}

/** A database behind the seam: runs operations, each in one transaction or as plain reads. */
export interface Executor {
  readonly dialect: Dialect;
  /**
   * In one write transaction; a thrown error rolls it all back. Every write goes through here,
   * even a single statement: SQLite's IMMEDIATE transaction waits for the write lock, where a
   * statement that starts as a read and then writes may fail at once as busy.
   */
  write<T>(op: (d: Dialect) => Operation<T>): Promise<T>;
  /**
   * A write of exactly one statement: atomic by itself, so PostgreSQL sends it without BEGIN
   * and COMMIT (two round trips fewer); SQLite still takes its IMMEDIATE transaction.
   */
  writeOne<T>(op: (d: Dialect) => Operation<T>): Promise<T>;
  /**
   * Without a transaction: for reads only. With `timeoutMs`, a database whose
   * connections are shared (PostgreSQL's pool) cancels the read after that long.
   */
  read<T>(op: (d: Dialect) => Operation<T>, o?: { timeoutMs?: number }): Promise<T>;
}
