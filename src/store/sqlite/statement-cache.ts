import type Database from "better-sqlite3";

// The shared operations (sql/) use about 60 shapes, listRuns's filters included.
const LIMIT = 128;

/**
 * Prepared statements for the SQL the shared operations yield (sql/), some built at run time in
 * a few recurring shapes (the abandon query's conditions, say): preparing costs tens of
 * microseconds, more than running them. Bounded, so a shape that varies without end (a list of
 * ids inlined) cannot grow it.
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
