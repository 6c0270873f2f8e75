import { statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { JobclockError } from "../errors.js";
import { userName } from "../os/users.js";

/**
 * Root running jobclock against a SQLite store that belongs to the service user would create
 * root-owned files there (the database, or its -wal and -shm companions) that the daemon, running
 * as that user, can then no longer open. Refused before anything is opened, naming the user
 * and the exact command to run instead. Not root, or a store that root owns: nothing to say.
 */
export function guardStoreOwner(storeUrl: string, argv: string[] = process.argv): void {
  if (process.geteuid?.() !== 0 || !storeUrl.startsWith("sqlite:")) return;
  const path = storeUrl.slice("sqlite:".length);
  if (path === ":memory:") return;
  const other = [ownerOf(path), ownerOf(dirname(path))].find((uid) => uid !== null && uid !== 0);
  if (other === undefined || other === null) return;
  const user = userName(other);
  throw new JobclockError(
    "STORE_OWNER",
    `this command runs as root, but the store ${path} (or its folder) belongs to ${user}: as root it would create files there ` +
      `that ${user}'s daemon cannot open. Run it as ${user}:\n  sudo -u ${user} ${commandLine(argv)}\n(or, without sudo: runuser -u ${user} -- ${commandLine(argv)})`,
    2,
  );
}

function ownerOf(path: string): number | null {
  try {
    return statSync(path).uid;
  } catch {
    return null;
  }
}

/** The command as the user typed it, ready to paste after `sudo -u USER`. */
function commandLine(argv: string[]): string {
  const [node, script, ...args] = argv;
  const program = script && basename(script) === "jobclock" ? "jobclock" : `${node} ${script}`;
  return [program, ...args.map(shellQuote)].join(" ");
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
