import { closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";

/** A folder jobclock had just made was replaced (by a symlink, or a file) before its mode was set. */
export class FolderReplacedError extends Error {
  readonly code = "EFOLDERREPLACED";

  constructor(readonly path: string, what: string) {
    super(`${path} was replaced by ${what} right after jobclock made it; its mode was left alone`);
    this.name = "FolderReplacedError";
  }
}

/**
 * Creates the missing folders of `dir`, outermost first, each with `mode` whatever the umask
 * (a folder made meanwhile by someone else is left alone). Not `mkdirSync(…, { recursive })`:
 * under /proc it answers ENOENT for ever and Node's recursive walk never ends. Throws the
 * failing mkdir's error, whose `path` names the folder it could not make, or a
 * FolderReplacedError.
 */
export function makeFolders(dir: string, mode: number): void {
  for (const d of missingFolders(dir)) {
    try {
      mkdirSync(d, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw error;
    }
    setMode(d, mode);
  }
}

/**
 * chmod through a descriptor of the folder just made: a path-based chmod follows a symlink that
 * someone swapped in for it meanwhile (anyone who can write the parent can), and would change
 * the mode of whatever it points at. O_NOFOLLOW refuses the symlink, O_DIRECTORY anything that
 * is not a folder: either is a FolderReplacedError.
 */
function setMode(dir: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") throw new FolderReplacedError(dir, isSymlink(dir) ? "a symbolic link" : "something other than a folder");
    throw error;
  }
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The folders of `dir` that do not exist, outermost first: a walk up to the first that does (or cannot be looked at). */
export function missingFolders(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      lstatSync(d);
      return missing;
    } catch (error) {
      // ENOTDIR, EACCES and the like: creating the file reports it, with its path.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return missing;
      missing.unshift(d);
      if (dirname(d) === d) return missing;
    }
  }
}
