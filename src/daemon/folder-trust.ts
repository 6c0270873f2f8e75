import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { userName } from "../os/users.js";

export type FolderTrust = { trusted: true } | { trusted: false; why: string };

/**
 * Whether FOLDER can only have been made for USER by a trusted party, so that a pidfile USER
 * wrote in it may be believed by others (root's `start` and `stop` for a daemon running as the
 * service user in /run/jobclock). Owning the folder is not enough: mallory can make /tmp/jcm in
 * world-writable /tmp and plant a pidfile there. So the folder must belong to USER, and every
 * folder above it, up to /, must belong to root or to USER and be writable by nobody else (a
 * group-writable one only for the root group); then no other user can have made, renamed or
 * replaced any part of the path. The real path is checked, so a symlink (/var/run) cannot
 * hide a writable folder.
 */
export function folderTrustedFor(folder: string, uid: number): FolderTrust {
  let real: string;
  try {
    real = realpathSync(folder);
  } catch (error) {
    return { trusted: false, why: `its folder ${folder} cannot be looked at: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  const own = statSafe(real);
  if (!own) return { trusted: false, why: `its folder ${real} cannot be looked at` };
  if (own.uid !== uid) return { trusted: false, why: `its folder ${real} belongs to ${userName(own.uid)}` };
  for (let d = dirname(real); ; d = dirname(d)) {
    const st = statSafe(d);
    if (!st) return { trusted: false, why: `${d}, above its folder, cannot be looked at` };
    if (st.uid !== 0 && st.uid !== uid) return { trusted: false, why: `${d}, above its folder, belongs to ${userName(st.uid)}` };
    const others = (st.mode & 0o002) !== 0;
    const group = (st.mode & 0o020) !== 0 && st.gid !== 0;
    if (others || group) {
      return { trusted: false, why: `${d}, above its folder ${real}, is writable by ${others ? "every user" : "its group"}, so anyone could have made that folder` };
    }
    if (dirname(d) === d) return { trusted: true };
  }
}

function statSafe(path: string): { uid: number; gid: number; mode: number } | null {
  try {
    const st = statSync(path);
    return { uid: st.uid, gid: st.gid, mode: st.mode };
  } catch {
    return null;
  }
}
