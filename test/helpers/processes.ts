import { readFileSync, writeFileSync } from "node:fs";

/** A process that exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

/** Appends to `path` until its file system is full (ENOSPC). */
export function fill(path: string): void {
  const chunk = Buffer.alloc(64 * 1024, 120);
  try {
    for (;;) writeFileSync(path, chunk, { flag: "a" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  }
}
