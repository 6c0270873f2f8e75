import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

/** Why a config or env file could not be read, in words for a message after its path. */
export class FileReadProblem extends Error {
  constructor(readonly code: string, readonly why: string) {
    super(why);
    this.name = "FileReadProblem";
  }
}

/**
 * Reads a file the operator points jobclock at (the config, the env_file). Opened non-blocking
 * and checked with fstat on the open descriptor, so a FIFO or a device named by mistake is
 * refused instead of hanging the daemon, and what is checked is what is read.
 */
export function readTextFile(path: string, maxBytes: number): { text: string; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw describeOpenError(error as NodeJS.ErrnoException);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new FileReadProblem("EISDIR", "is a folder, not a file");
    if (!stat.isFile()) throw new FileReadProblem("ENOTFILE", "is not a regular file");
    if (stat.size > maxBytes) throw new FileReadProblem("EFBIG", `is too large (${stat.size} bytes; at most ${maxBytes})`);
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break; // shrank while we read: use what is there
      read += n;
    }
    return { text: buffer.subarray(0, read).toString("utf8"), stat };
  } catch (error) {
    if (error instanceof FileReadProblem) throw error;
    throw describeOpenError(error as NodeJS.ErrnoException);
  } finally {
    closeSync(fd);
  }
}

function describeOpenError(error: NodeJS.ErrnoException): FileReadProblem {
  const code = error.code ?? "EIO";
  switch (code) {
    case "ENOENT":
      return new FileReadProblem(code, "does not exist");
    case "EACCES":
    case "EPERM":
      return new FileReadProblem(code, "cannot be read: permission denied");
    case "ENOTDIR":
      return new FileReadProblem(code, "does not exist (a part of its path is a file, not a folder)");
    case "ELOOP":
      return new FileReadProblem(code, "is a symbolic link loop");
    default:
      return new FileReadProblem(code, `cannot be read (${code})`);
  }
}
