import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Creates the missing folders of `dir`, outermost first, each with `mode` whatever the umask
 * (a folder made meanwhile by someone else is left alone). Not `mkdirSync(…, { recursive })`:
 * under /proc it answers ENOENT for ever and Node's recursive walk never ends. Throws the
 * failing mkdir's error, whose `path` names the folder it could not make.
 */
export function makeFolders(dir: string, mode: number): void {
  for (const d of missingFolders(dir)) {
    try {
      mkdirSync(d, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw error;
    }
    chmodSync(d, mode);
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
