import Database from "better-sqlite3";
import { closeSync, constants, lstatSync, openSync, readFileSync, readSync, statSync, type Stats } from "node:fs";
import { makeFolders } from "../../os/folders.js";
import { fileKind, NotRegularFileError, openRegularSync } from "../../os/regular-file.js";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { JobclockError, StoreError } from "../../errors.js";
import { loadMigrations, refuseNewerSchema } from "../migrations.js";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations", import.meta.url));

export interface SqliteOpenOptions {
  /** How long a write waits for another process's lock before giving up. */
  busyTimeoutMs?: number;
  /** Create the file and folder if missing (the daemon does; read-only CLI commands need not). */
  create?: boolean;
}

/**
 * Opens (and migrates) a jobclock SQLite database. Every failure is turned into a StoreError
 * that names the file and the fix; a file that is not ours is never written to.
 */
export function openSqlite(path: string, options: SqliteOpenOptions = {}): Database.Database {
  const create = options.create ?? true;
  if (path !== ":memory:") prepareFile(path, create);
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: !create, timeout: options.busyTimeoutMs ?? 5_000 });
  } catch (error) {
    throw translateSqliteError(error, path);
  }
  try {
    // Reading the schema first proves the file is a database before anything writes to it.
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    migrate(db, path);
    return db;
  } catch (error) {
    db.close();
    throw translateSqliteError(error, path);
  }
}

/**
 * For `validate`: an existing store path that is not a SQLite file, said without opening it as
 * a database. Read without blocking and without following a symlink, regular files only: a
 * FIFO there would hang `validate`.
 */
export function sqliteFileProblem(url: string): string | null {
  if (!url.startsWith("sqlite:")) return null;
  const path = url.slice("sqlite:".length);
  if (path === ":memory:") return null;
  const header = Buffer.alloc(16);
  let fd: number;
  try {
    fd = openRegularSync(path, constants.O_RDONLY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null; // created at first start; a bad folder is reported elsewhere
    if (code === "ELOOP") return `store: ${path} is a symbolic link; point store at the real file`;
    // A folder has its own message, from the store URL check.
    if (error instanceof NotRegularFileError) return error.kind === "a folder" ? null : notRegularText(path, error.kind);
    return null; // unreadable here (another user's): opening the store says who owns it
  }
  try {
    const n = readSync(fd, header, 0, 16, 0);
    // An empty file is what we create ourselves before SQLite writes its header.
    if (n === 0 || header.toString("latin1") === "SQLite format 3\0") return null;
  } finally {
    closeSync(fd);
  }
  return `store: ${path} exists and is not a SQLite database; point store at a new path`;
}

function notRegularText(path: string, kind: string): string {
  return `store: ${path} is ${kind}, not a regular file; point store at a SQLite database file`;
}

/**
 * What is at the store's path: a symlink is refused whether or not it dangles (SQLite would
 * follow it, and create a world-readable database wherever it points), and so is anything but
 * a regular file. lstat, not existsSync: existsSync follows the link and calls a dangling one absent.
 */
function prepareFile(path: string, create: boolean): void {
  let st: Stats | null = null;
  try {
    st = lstatSync(path);
  } catch {
    // missing (or unreachable: creating it says why)
  }
  if (st?.isSymbolicLink()) {
    throw new StoreError("STORE_SYMLINK", `store file ${path} is a symbolic link; point store at the real file`);
  }
  if (st && !st.isFile() && !st.isDirectory()) throw new StoreError("STORE_NOT_FILE", notRegularText(path, fileKind(st)));
  if (st) return; // a folder is refused with its own message by the store URL check

  if (!create) {
    throw new StoreError("STORE_MISSING", `store file ${path} does not exist; start the daemon once, or check \`store\``);
  }
  try {
    makeFolders(dirname(path), 0o750);
    // Owner-only from the first byte: the store holds job definitions, env values included.
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return;
    throw new StoreError("STORE_UNWRITABLE", `cannot create store ${path}: ${(error as Error).message}`);
  }
}

function migrate(db: Database.Database, path: string): void {
  const migrations = loadMigrations(MIGRATIONS_DIR);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const row = db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null };
  const current = row.v ?? 0;
  refuseNewerSchema(current, migrations.length, path, "database");
  const apply = db.transaction(() => {
    for (const m of migrations.filter((m) => m.version > current)) {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        m.version, m.name, Date.now(),
      );
    }
  });
  // IMMEDIATE takes the write lock up front so two processes migrating at once serialise.
  apply.immediate();
}

/**
 * Who owns the store's files and who we are: the usual cause is a CLI command run as root that
 * created the database (or its -wal/-shm) owned by root, mode 0600, which the daemon's user
 * cannot open.
 */
function ownershipText(path: string): string {
  const uid = process.geteuid?.() ?? -1;
  const files = [path, `${path}-wal`, `${path}-shm`, dirname(path)].flatMap((p) => {
    try {
      const st = statSync(p);
      return [{ p, uid: st.uid, mode: st.mode & 0o7777, mine: st.uid === uid }];
    } catch {
      return [];
    }
  });
  const me = ownerName(uid);
  const foreign = files.filter((f) => !f.mine);
  if (foreign.length === 0) return `this process runs as ${me}, which owns the files; check the path and its permissions`;
  const list = foreign.map((f) => `${f.p} belongs to ${ownerName(f.uid)} with mode ${f.mode.toString(8).padStart(4, "0")}`).join(", ");
  if (uid !== 0 && foreign.some((f) => f.uid === 0)) {
    return `${list}, and this process runs as ${me}: a command run as root created them. ` +
      `Give them back (as root: \`chown ${me}: ${path} ${path}-wal ${path}-shm\`), and run jobclock commands as ${me} (\`sudo -u ${me} jobclock …\`)`;
  }
  const owner = ownerName(foreign[0]!.uid);
  return `${list}, and this process runs as ${me}. Run jobclock as ${owner} (\`sudo -u ${owner} jobclock …\`), ` +
    "or give the files to the user the daemon runs as (chown)";
}

function ownerName(uid: number): string {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id !== "" && Number(id) === uid) return name;
    }
  } catch {
    // no passwd file
  }
  return `uid ${uid}`;
}

export function translateSqliteError(error: unknown, path: string): Error {
  if (error instanceof JobclockError) return error;
  const code = (error as { code?: string }).code ?? "";
  const message = (error as Error).message ?? String(error);
  if (code === "SQLITE_NOTADB" || /not a database/i.test(message)) {
    return new StoreError("STORE_NOT_SQLITE", `store file ${path} is not a SQLite database; point store at a new path (the file was left untouched)`);
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new StoreError("STORE_LOCKED", `store ${path} is locked by another process; try again, or find what holds it (fuser ${path})`, { transient: true });
  }
  if (code === "SQLITE_CANTOPEN" || code.startsWith("SQLITE_READONLY") || code === "SQLITE_PERM") {
    return new StoreError("STORE_UNWRITABLE", `cannot open store ${path} for writing (${message}): ${ownershipText(path)}`);
  }
  return new StoreError("STORE_FAILED", `store ${path}: ${message}`);
}
