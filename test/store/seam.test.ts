import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { numbered } from "../../src/store/postgres/postgres-seam.js";
import { all, identifier, run, type Operation } from "../../src/store/sql/seam.js";
import { SqliteExecutor } from "../../src/store/sqlite/sqlite-seam.js";

describe("the store seam", () => {
  it("numbers placeholders for PostgreSQL, leaving a `?` inside a string literal alone", () => {
    expect(numbered("UPDATE runs SET error = 'instance ' || coalesce(instance_id, '?') WHERE id = ? AND job = ?")).toEqual({
      text: "UPDATE runs SET error = 'instance ' || coalesce(instance_id, '?') WHERE id = $1 AND job = $2", placeholders: 2,
    });
    expect(numbered("SELECT 'it''s ?', ?")).toEqual({ text: "SELECT 'it''s ?', $1", placeholders: 1 });
  });

  it("refuses a name that is not an identifier where a dialect pastes one into SQL", () => {
    expect(identifier("jobs.name")).toBe("jobs.name");
    for (const bad of ["name; DROP TABLE jobs", "a'b", "x)--", ""]) expect(() => identifier(bad)).toThrow(/not an SQL identifier/);
  });

  it("holds a single-statement write to one statement on SQLite too, and rolls it back", async () => {
    const { db, exec } = sqlite();
    await expect(exec.writeOne(() => (function* () {
      yield* run("INSERT INTO t (id, flag) VALUES (1, 0)");
      yield* run("INSERT INTO t (id, flag) VALUES (2, 0)");
    })())).rejects.toThrow();
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(0);
  });

  it("counts the rows a write with RETURNING changed on SQLite, as PostgreSQL does", async () => {
    const { exec } = sqlite();
    await exec.write(() => run("INSERT INTO t (id, flag) VALUES (1, 0), (2, 0)"));
    expect(await exec.write(() => run("UPDATE t SET flag = 1 RETURNING id"))).toBe(2);
  });

  function sqlite() {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, flag INTEGER)");
    const translated: unknown[] = [];
    const exec = new SqliteExecutor(db, (error) => (translated.push(error), new Error("translated")));
    return { db, exec, translated };
  }

  it("gives each yielded statement its outcome, and binds booleans and undefined as SQLite can", async () => {
    const { exec } = sqlite();
    const op = function* (): Operation<{ changed: number; rows: unknown[] }> {
      yield* run("INSERT INTO t (id, flag) VALUES (1, ?), (2, ?)", true, undefined);
      const changed = yield* run("UPDATE t SET flag = 0 WHERE id IN (1, 2)");
      return { changed, rows: yield* all("SELECT id, flag FROM t ORDER BY id") };
    };
    expect(await exec.write(op)).toEqual({ changed: 2, rows: [{ id: 1, flag: 0 }, { id: 2, flag: 0 }] });
  });

  it("rolls a whole write back when the operation throws halfway, and translates the failure", async () => {
    const { db, exec, translated } = sqlite();
    const op = function* (): Operation<void> {
      yield* run("INSERT INTO t (id) VALUES (1)");
      yield* run("INSERT INTO t (id) VALUES (1)"); // the primary key refuses it
    };
    await expect(exec.write(op)).rejects.toThrow("translated");
    expect(translated).toHaveLength(1);
    expect(db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 0 });
  });

  it("runs a SQLite write to the end before returning: no other call can interleave with it", () => {
    const { exec } = sqlite();
    let finished = false;
    void exec.write(function* () {
      yield* run("INSERT INTO t (id) VALUES (1)");
      finished = true;
    });
    expect(finished).toBe(true);
  });
});
