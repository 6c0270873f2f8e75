import { statSync } from "node:fs";
import { FolderReplacedError, makeFolders } from "../os/folders.js";
import { dirname } from "node:path";
import { PidfileError } from "../errors.js";
import { currentUserName, userName } from "../os/users.js";

/** The pidfile's folder, when jobclock creates it: readable by all (status, logrotate), whatever the umask. */
export const PIDFILE_DIR_MODE = 0o755;

/**
 * Creates the pidfile's missing folders. /run is a tmpfs emptied at every boot, so the usual
 * failure is a reboot having taken /run/jobclock with it: the message says how to have it
 * recreated at boot, and how to fix it now.
 */
export function preparePidfileFolder(path: string): void {
  try {
    makeFolders(dirname(path), PIDFILE_DIR_MODE);
  } catch (error) {
    if (error instanceof FolderReplacedError) {
      throw new PidfileError("PIDFILE_FOLDER", `cannot create ${error.path}, the folder of pidfile ${path}: ${error.message}. Keep the pidfile in a folder only jobclock's user can write (such as /run/jobclock)`);
    }
    throw new PidfileError("PIDFILE_FOLDER", folderMessage(path, (error as NodeJS.ErrnoException).path ?? dirname(path), error));
  }
}

/** Why the pidfile could not be created in its (existing) folder, and the fix. */
export function pidfileFolderProblem(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const dir = dirname(path);
  const me = currentUserName();
  if (code === "EACCES" || code === "EPERM") {
    return `cannot create pidfile ${path} (${code}): its folder ${dir} belongs to ${ownerOf(dir)} and ${me} may not write to it; ` +
      `\`chown ${me} ${dir}\` (or run jobclock as ${ownerOf(dir)}), or set pidfile elsewhere`;
  }
  if (code === "ENOTDIR") return `cannot create pidfile ${path}: a file stands where a folder of that path should be; move it away, or set pidfile elsewhere`;
  return `cannot create pidfile ${path} (${code || (error as Error).message}); make its folder writable for ${me}, or set pidfile elsewhere`;
}

function folderMessage(path: string, dir: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  const me = currentUserName();
  const parent = dirname(dir);
  const why = `cannot create ${dir}, the folder of pidfile ${path} (${code}: ${me} may not write to ${parent}, which belongs to ${ownerOf(parent)})`;
  const now = `\`install -d -o ${me} -g ${me} -m 0755 ${dir}\``;
  const atBoot = "copy deploy/tmpfiles.d/jobclock.conf to /etc/tmpfiles.d/ and run `systemd-tmpfiles --create /etc/tmpfiles.d/jobclock.conf` " +
    "(supervisord installs), or set RuntimeDirectory=jobclock in the systemd unit";
  if (dir.startsWith("/run/") || dir.startsWith("/var/run/")) {
    return `${why}. /run is emptied at every boot, so the folder must be made at boot: ${atBoot}. To start now: ${now}`;
  }
  return `${why}. Create it for this user: ${now}. If it is on a tmpfs such as /run (emptied at every boot), have it made at boot: ${atBoot}`;
}

function ownerOf(path: string): string {
  try {
    return userName(statSync(path).uid);
  } catch {
    return "an unknown user";
  }
}
