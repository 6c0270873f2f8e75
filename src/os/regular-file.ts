import { closeSync, constants, fstat, fstatSync, lstatSync, open, close, statSync, openSync, type Stats } from "node:fs";
import { promisify } from "node:util";

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);

/**
 * A path that names something other than a regular file (a FIFO, a socket, a device, a
 * folder). Its `code` is "ENOTREG" so that callers can explain it like a system error.
 */
export class NotRegularFileError extends Error {
  readonly code = "ENOTREG";

  constructor(readonly path: string, readonly kind: string) {
    super(`${path} is ${kind}, not a regular file`);
    this.name = "NotRegularFileError";
  }
}

export interface OpenRegularOptions {
  /** Follow a symlink at the path (module files may be symlinked by a deploy); default false. */
  follow?: boolean;
  /** For O_CREAT. */
  mode?: number;
}

/** What kind of file a stat describes, for messages ("a FIFO (named pipe)"). */
export function fileKind(st: Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isSocket()) return "a socket";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

/**
 * Opens PATH only if it is a regular file, never blocking: a FIFO opened without O_NONBLOCK
 * waits for a peer for ever (synchronously that blocks the event loop, so even SIGTERM is not
 * heard; asynchronously it holds a libuv thread-pool thread, which then keeps the process
 * from exiting). Anyone who can write the folder can put one there. The lstat before the open
 * spares a device the side effects of being opened; the fstat after it is the check that no
 * swap in between can get around. Throws NotRegularFileError, or the system error.
 */
export function openRegularSync(path: string, flags: number, options: OpenRegularOptions = {}): number {
  precheck(path, options.follow ?? false);
  let fd: number;
  try {
    fd = openSync(path, openFlags(flags, options.follow ?? false), options.mode);
  } catch (error) {
    throw notRegularOn(error, path, options.follow ?? false);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(path, fileKind(st));
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** openRegularSync off the event loop (the open and the fstat go through the thread pool, neither can block). */
export async function openRegular(path: string, flags: number, options: OpenRegularOptions = {}): Promise<number> {
  precheck(path, options.follow ?? false);
  let fd: number;
  try {
    fd = await openAsync(path, openFlags(flags, options.follow ?? false), options.mode);
  } catch (error) {
    throw notRegularOn(error, path, options.follow ?? false);
  }
  try {
    const st = await fstatAsync(fd);
    if (!st.isFile()) throw new NotRegularFileError(path, fileKind(st));
    return fd;
  } catch (error) {
    close(fd, () => {});
    throw error;
  }
}

function openFlags(flags: number, follow: boolean): number {
  // O_NONBLOCK changes nothing for a regular file on Linux; it only keeps a FIFO from blocking.
  return flags | constants.O_NONBLOCK | (follow ? 0 : constants.O_NOFOLLOW);
}

/** Refuses what is already there and not a regular file; a missing path is the open's to report. */
function precheck(path: string, follow: boolean): void {
  let st: Stats;
  try {
    st = follow ? statSync(path) : lstatSync(path);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) return; // the open reports ELOOP, which callers already explain
  if (!st.isFile()) throw new NotRegularFileError(path, fileKind(st));
}

/**
 * A FIFO with no reader, opened for writing without blocking, answers ENXIO, as does a socket:
 * say what it is rather than "no such device or address".
 */
function notRegularOn(error: unknown, path: string, follow: boolean): unknown {
  if ((error as NodeJS.ErrnoException).code !== "ENXIO") return error;
  try {
    const st = follow ? statSync(path) : lstatSync(path);
    if (!st.isFile()) return new NotRegularFileError(path, fileKind(st));
  } catch {
    // gone meanwhile: the system error says enough
  }
  return error;
}
