import type Database from "better-sqlite3";

const LIMIT = 64;

/**
 * Prepared statements for SQL built at run time in a few recurring shapes (the abandon query's
 * conditions, say): preparing costs tens of microseconds, more than running them. Bounded, so
 * a shape that varies without end (a list of ids inlined) cannot grow it.
 */
export class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= LIMIT) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
